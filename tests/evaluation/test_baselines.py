"""Tests of s2label.evaluation.baselines: k-means on pixels and on segment vectors."""

import numpy as np
import pytest

import s2label
from s2label.errors import ClusteringError
from s2label.evaluation import baselines
from s2label.evaluation.baselines import pixel_kmeans, segment_kmeans
from s2label.evaluation.measures import (
    named_cluster_accuracy,
    rotate_scene,
    rotation_stability,
)


def test_pixel_kmeans_is_stable_under_rotation_on_real_data(real_crop):
    before = pixel_kmeans(real_crop, 5, seed=0)
    after = pixel_kmeans(rotate_scene(real_crop, k=1), 5, seed=0)
    assert rotation_stability(before, after, k=1) > 0.95


def test_pixel_kmeans_finds_quadrants_and_marks_invalid_pixels(quadrant_scene, monkeypatch):
    valid = np.ones(quadrant_scene.shape, bool)
    valid[:3, :3] = False
    scene = s2label.Scene(quadrant_scene.data, quadrant_scene.bands, quadrant_scene.transform, quadrant_scene.crs,
                          valid)
    truth = np.repeat(np.repeat(np.array([[0, 1], [2, 3]]), 30, axis=0), 30, axis=1)
    labels = pixel_kmeans(scene, 4, sample=500)
    assert labels.dtype == np.int32 and (labels[:3, :3] == -2).all() and (labels[valid] >= 0).all()
    assert named_cluster_accuracy(labels, truth + 1).accuracy_strict == 1.0
    monkeypatch.setattr(baselines, "_CHUNK_PIXELS", 7)  # prediction in many chunks: same answer
    np.testing.assert_array_equal(pixel_kmeans(scene, 4, sample=500), labels)
    with pytest.raises(ClusteringError):
        pixel_kmeans(scene, 0)


def test_segment_kmeans_separates_blobs():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 0.1, (20, 3)), rng.normal(4, 0.1, (30, 3))])
    labels = segment_kmeans(X, 2, seed=1)
    assert labels.shape == (50,) and len(set(labels[:20])) == 1 and len(set(labels[20:])) == 1
    assert labels[0] != labels[-1]
    with pytest.raises(ClusteringError, match="NaN"):
        segment_kmeans(np.full((5, 2), np.nan), 2)
    with pytest.raises(ClusteringError, match="clusters"):
        segment_kmeans(X, 51)


def test_pixel_kmeans_against_the_aberystwyth_reference(aber):
    scene, ref = aber
    acc = named_cluster_accuracy(pixel_kmeans(scene, 4, seed=0), ref)
    # data README: ARI 0.56 / NMI 0.53 for pixel k-means k=4 (unstandardised); standardised gives ~0.52
    assert 0.4 < acc.ari < 0.7 and 0.4 < acc.nmi < 0.7
    majority = 430325 / 880710
    assert acc.accuracy_strict > majority + 0.15 and acc.accuracy_assigned == acc.accuracy_strict
    assert acc.n_clusters == 4 and acc.noise_fraction == 0.0 and acc.n_pixels == 880710
    assert 4 in acc.names.values()  # water gets a cluster of its own
