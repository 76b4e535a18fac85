import math

import numpy as np
import pytest

import s2label
from s2label.encoders.encoder import CNNConfig, GNNConfig
from s2label.evaluation.compare import METHODS, compare_methods, to_markdown

FAST = dict(cnn=CNNConfig(steps=20, tile=32, features=8, width=8, batch_size=4), gnn=GNNConfig(epochs=20),
            cluster_options={"reduce": "pca"}, context_queries=40, segment_size=120)


@pytest.fixture(scope="module")
def aber_crop(aberystwyth_dir):
    from s2label.evaluation.measures import load_reference

    scene = s2label.read_scene(aberystwyth_dir / "sen2_20210527_aber_10band_mosaic.tif", scale=1e-3,
                               window=((300, 500), (300, 500)))
    return scene, load_reference(aberystwyth_dir / "sen2_20210527_aber_cls_aligned.tif", scene)


def test_every_method_scored_on_real_reference_data(aber_crop):
    scene, reference = aber_crop
    scores = compare_methods(scene, reference=reference, **FAST)
    assert [s.method for s in scores] == list(METHODS)
    by = {s.method: s for s in scores}
    k = by["cnn-gnn"].n_clusters
    assert by["pixel-kmeans"].n_clusters == by["mean-spectra-kmeans"].n_clusters == max(k, 2)
    for s in scores:
        assert 0 <= s.accuracy_strict <= s.accuracy_assigned <= 1
        assert -0.5 < s.ari <= 1 and 0 <= s.nmi <= 1
        assert not math.isnan(s.rotation_ari) and not math.isnan(s.rotation_ari_retrain)
    for s in scores[1:]:  # segment methods
        assert 0 <= s.fragmentation <= 1 and s.ssim > s.ssim_random - 0.05
        assert 0 <= s.spectral_angle < s.spectral_angle_random
    assert by["pixel-kmeans"].rotation_ari == 1.0 and by["mean-spectra-kmeans"].noise_fraction == 0.0
    for s in scores:  # each method's label map, for plots: on the scene's grid, its clusters, its noise
        assert s.labels is not None and s.labels.shape == scene.shape
        assert np.unique(s.labels[s.labels >= 0]).size == s.n_clusters
        assert "labels" not in s.to_dict() and "accuracy_strict" in s.to_dict()
    cnn_gnn_map = by["cnn-gnn"].labels
    assert math.isclose(np.mean(cnn_gnn_map[scene.valid] == -1), by["cnn-gnn"].noise_fraction, abs_tol=0.1)
    # majority naming can never do worse than naming everything the most common class
    majority = np.bincount(reference[reference > 0]).max() / (reference > 0).sum()
    assert all(s.accuracy_assigned >= majority - 1e-9 for s in scores)


def test_without_reference_and_markdown(real_crop):
    scores = compare_methods(real_crop, methods=("mean-spectra-kmeans",), rotation=False, retrain_rotation=False,
                             **FAST)
    assert [s.method for s in scores] == ["mean-spectra-kmeans", "cnn-gnn"]
    assert all(math.isnan(s.accuracy_strict) and math.isnan(s.rotation_ari) for s in scores)
    table = to_markdown(scores).splitlines()
    assert table[0].startswith("| method | clusters | noise") and "acc. strict" not in table[0]
    assert len(table) == 4 and table[2].startswith("| mean-spectra-kmeans |")


def test_unknown_method(real_crop):
    with pytest.raises(ValueError, match="unknown method"):
        compare_methods(real_crop, methods=("dbscan",))
