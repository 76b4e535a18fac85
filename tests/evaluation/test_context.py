"""Tests of s2label.evaluation.context: the paper's context consistency (SSIM and spectral angle)."""

import numpy as np
import pytest

from s2label.errors import ClusteringError, SegmentationError
from s2label.evaluation import context
from s2label.evaluation.context import context_consistency
from s2label.segmentation.graph import build_graph
from s2label.segmentation.superpixels import Segmentation


def test_pair_similarity_equals_one_skimage_call_per_pair():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, (6, 4, 16, 16))
    b = 0.5 * a + rng.uniform(0, 0.5, a.shape)
    b[0] = 3 * a[0]  # same spectral direction: angle 0
    ssim, angle = context._pair_similarity(a, b, data_range=1.0)
    expected = [structural_similarity(x, y, channel_axis=0, data_range=1.0) for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(ssim, expected, rtol=1e-9)
    assert angle[0] == pytest.approx(0.0, abs=1e-6)
    x, y = a[3, :, 5, 7], b[3, :, 5, 7]
    one_pixel = np.arccos(x @ y / np.linalg.norm(x) / np.linalg.norm(y))
    assert 0 < one_pixel < 1 and angle[1:].min() > 0.05
    np.testing.assert_allclose(context._pair_similarity(a[3:4, :, 5:6, 7:8].repeat(7, 2).repeat(7, 3),
                                                         b[3:4, :, 5:6, 7:8].repeat(7, 2).repeat(7, 3), 1.0)[1],
                               [one_pixel])


def _checkerboard_case(scene_factory):
    """4 x 4 blocks of 16 px in a checkerboard of two textures with different spectra; the vectors
    name each block's texture, so the nearest non-neighbours (diagonals) have identical patches."""
    rng = np.random.default_rng(3)
    texture = rng.uniform(0.5, 1.5, (2, 16, 16))
    spectra = np.array([[0.05, 0.08, 0.04, 0.40], [0.30, 0.25, 0.20, 0.10]])
    kind = np.indices((4, 4)).sum(axis=0) % 2
    data = np.zeros((4, 64, 64), np.float32)
    seg_labels = np.zeros((64, 64), np.int32)
    for (i, j), t in np.ndenumerate(kind):
        data[:, 16 * i:16 * i + 16, 16 * j:16 * j + 16] = spectra[t][:, None, None] * texture[t]
        seg_labels[16 * i:16 * i + 16, 16 * j:16 * j + 16] = 4 * i + j + 1
    scene = scene_factory(data)
    seg = Segmentation(seg_labels, scene.transform, scene.crs)
    vectors = np.eye(2)[kind.ravel()] + 0.01
    return scene, seg, build_graph(seg), vectors


def test_context_consistency_on_a_checkerboard(scene_factory):
    scene, seg, graph, vectors = _checkerboard_case(scene_factory)
    cc = context_consistency(scene, seg, graph, vectors, k=5, patch=16)
    assert cc.n_queries == 16 and cc.n_pairs == 80
    assert cc.ssim == pytest.approx(1.0) and cc.spectral_angle < 1e-6
    # random non-neighbour partners are of the other texture 8 - degree times in 15 - degree
    assert cc.ssim_random < 0.9 and cc.spectral_angle_random > 0.1
    # a block with an invalid pixel is neither queried nor retrieved
    valid = np.ones((64, 64), bool)
    valid[20, 20] = False
    holed = scene_factory(scene.data, valid=valid)
    assert context_consistency(holed, seg, graph, vectors).n_queries == 15
    with pytest.raises(SegmentationError, match="need patch >= 7 px"):
        context_consistency(scene, seg, graph, vectors, patch=5)
    with pytest.raises(SegmentationError, match="segments"):
        context_consistency(scene, seg, graph, vectors[:-1])
    with pytest.raises(ClusteringError, match="60x60 px patch"):
        context_consistency(scene, seg, graph, vectors, patch=60)
    # the old keyword and attribute still work until 0.3
    with pytest.warns(FutureWarning, match=r"context_consistency\(window=...\) is now"):
        old = context_consistency(scene, seg, graph, vectors, k=5, window=16)
    with pytest.warns(FutureWarning, match="ContextConsistency.window is now ContextConsistency.patch"):
        assert old.window == 16 and old == cc


def test_context_consistency_beats_random_pairs_on_real_crop(crop_result):
    r = crop_result
    cc = context_consistency(r.scene, r.segmentation, r.graph, r.embeddings.vectors, n_queries=200, k=5)
    assert cc.n_queries == 200 and cc.n_pairs == 1000
    assert cc.ssim > cc.ssim_random + 0.05
    assert cc.spectral_angle < 0.75 * cc.spectral_angle_random
    again = context_consistency(r.scene, r.segmentation, r.graph, r.embeddings.vectors, n_queries=200, k=5)
    assert again == cc  # seeded
