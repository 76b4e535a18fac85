import numpy as np
import pytest

from s2label.clustering.similar import SimilarityIndex, find_similar
from s2label.encoders.embeddings import Embeddings
from s2label.errors import S2LabelError


def test_planted_segments_of_a_synthetic_scene_come_first(scene_factory):
    """A field of noise with eight planted 6x6 patches of one material: one example finds the other seven."""
    import s2label

    rng = np.random.default_rng(0)
    data = 0.1 + 0.02 * rng.standard_normal((4, 96, 96)).astype(np.float32)
    from scipy.ndimage import gaussian_filter

    data = gaussian_filter(data, sigma=(0, 2, 2))
    planted = [(8, 8), (8, 60), (30, 30), (50, 80), (70, 12), (80, 50), (40, 60), (60, 40)]
    mask = np.zeros((96, 96), bool)
    for r, c in planted:
        data[:, r:r + 6, c:c + 6] = np.array([0.05, 0.3, 0.06, 0.45])[:, None, None]
        mask[r:r + 6, c:c + 6] = True
    scene = scene_factory(data)
    seg = s2label.segment(scene, segment_size=36, compactness=0.05)
    emb = s2label.embed(scene, seg, encoder="spectral")
    # segments made only of the planted material (one that caught a background pixel has a spread, unlike them)
    share = np.bincount(seg.ids.ravel(), weights=mask.ravel())[1:] / seg.areas()
    planted_ids = set((np.flatnonzero(share == 1.0) + 1).tolist())
    assert len(planted_ids) >= 6
    ranked = find_similar(emb, [min(planted_ids)])
    n = len(planted_ids)
    assert set(ranked.top(n).tolist()) == planted_ids
    assert ranked.scores[n - 1] > ranked.scores[n] + 0.2  # a clear gap after the planted ones
    assert set(ranked.select(threshold=float(ranked.scores[n - 1])).tolist()) == planted_ids


def test_negatives_push_scores_down():
    v = np.array([[1.0, 0.0, 0.0], [0.9, 0.3, 0.0], [0.9, 0.0, 0.3], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    emb = Embeddings(v, np.arange(1, 6), "spectral")
    plain = find_similar(emb, [1])
    pushed = find_similar(emb, [1], negatives=[4])
    assert plain.score_of([2])[0] == pytest.approx(plain.score_of([3])[0], abs=1e-6)
    assert pushed.score_of([2])[0] < pushed.score_of([3])[0]  # segment 2 leans towards the negative
    assert pushed.positives == (1,) and pushed.negatives == (4,)


def test_selection_and_ranking_are_consistent():
    rng = np.random.default_rng(3)
    emb = Embeddings(rng.normal(size=(200, 6)), np.arange(1, 201), "cnn")
    sim = find_similar(emb, [5, 9])
    assert (np.diff(sim.scores) <= 0).all() and sorted(sim.segment_ids.tolist()) == list(range(1, 201))
    for t in (0.9, 0.3, -0.2):
        chosen = sim.select(t)
        assert (sim.score_of(chosen) >= t).all()
        assert len(chosen) == int((sim.scores >= t).sum())


def test_bad_examples():
    emb = Embeddings(np.eye(4), np.array([1, 2, 3, 4]), "spectral")
    with pytest.raises(S2LabelError, match="at least one positive"):
        find_similar(emb, [])
    with pytest.raises(S2LabelError, match="segment 9 is not among"):
        find_similar(emb, [9])
    with pytest.raises(S2LabelError, match="both positive and negative"):
        find_similar(emb, [1], negatives=[1])


def test_index_answers_queries_on_100k_segments():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(100_000, 64))
    v[[9, 19, 29, 49]] = v[9] + 0.05 * rng.normal(size=(4, 64))  # segments 10, 20, 30 and 50 are alike
    index = SimilarityIndex(Embeddings(v, np.arange(1, 100_001), "cnn-gnn"))
    sim = index.query([10, 20, 30], negatives=[40])
    assert sim.segment_ids.shape == (100_000,) and set(sim.top(4).tolist()) == {10, 20, 30, 50}
    np.testing.assert_array_equal(index.query([7]).scores, find_similar(Embeddings(v, np.arange(1, 100_001), "x"),
                                                                        [7]).scores)
