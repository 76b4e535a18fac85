import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from s2label.cluster import (
    SegmentClusterer,
    assign_noise_to_nearest,
    cluster,
    default_min_cluster_size,
    predict_clustering,
)
from s2label.embeddings import Embeddings
from s2label.errors import ClusteringError


def _blobs(seed=0, n=80, centers=((0, 0, 0, 0), (4, 4, 0, 0), (0, 4, 4, 0))):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(c, 0.3, (n, 4)) for c in centers])
    truth = np.repeat(np.arange(len(centers)), n)
    return X, truth


def _emb(X):
    return Embeddings(X, np.arange(1, len(X) + 1), "spectral")


@pytest.mark.parametrize("reduce, min_size", [("pca", 15), ("umap", 40), ("none", 15)])
def test_finds_planted_clusters(reduce, min_size):
    X, truth = _blobs()
    c = cluster(_emb(X), min_cluster_size=min_size, reduce=reduce, n_components=3)
    assert c.n_clusters == 3 and c.noise_fraction < 0.1
    keep = c.labels >= 0
    assert adjusted_rand_score(truth[keep], c.labels[keep]) > 0.99
    assert c.probabilities.shape == c.outlier_scores.shape == (len(X),)
    assert set(c.condensed_tree.dtype.names) >= {"parent", "child", "lambda_val", "child_size"}
    assert c.embedding.shape == (len(X), 3 if reduce != "none" else 4)
    assert c.params["min_cluster_size"] == min_size
    assert c.sizes().sum() == (c.labels >= 0).sum()


def test_outlier_is_noise_with_high_score():
    X, _ = _blobs()
    X = np.vstack([X, [[20, -20, 20, -20]]])
    c = cluster(_emb(X), min_cluster_size=15, reduce="pca")
    assert c.labels[-1] == -1
    assert c.outlier_scores[-1] >= np.quantile(c.outlier_scores, 0.99)


def test_no_cluster_may_hold_more_than_half():
    # one big blob that HDBSCAN's excess of mass would keep whole, beside a small one
    rng = np.random.default_rng(0)
    big = np.concatenate([rng.normal((0, 0), 0.5, (300, 2)), rng.normal((1.5, 0), 0.5, (300, 2))])
    X = np.vstack([big, rng.normal((10, 10), 0.3, (60, 2))])
    capped = SegmentClusterer(reduce="none", min_cluster_size=30).fit(X)
    assert np.bincount(capped.labels_[capped.labels_ >= 0]).max() <= 0.5 * len(X)
    free = SegmentClusterer(reduce="none", min_cluster_size=30, max_cluster_fraction=1.0).fit(X)
    assert np.bincount(free.labels_[free.labels_ >= 0]).max() > 0.5 * len(X)


def test_predict_assigns_new_points_to_the_right_cluster():
    X, truth = _blobs()
    model = SegmentClusterer(min_cluster_size=15, reduce="pca").fit(X)
    new, new_truth = _blobs(seed=5, n=10)
    labels, strengths = model.predict(new)
    mapping = {t: np.bincount(model.labels_[(truth == t) & (model.labels_ >= 0)]).argmax() for t in range(3)}
    assert np.mean(labels == np.array([mapping[t] for t in new_truth])) > 0.9
    assert strengths.shape == (30,) and (strengths[labels >= 0] > 0.5).all()
    far, far_strength = model.predict(np.full((1, 4), 50.0))  # unlike every training segment
    assert far.tolist() == [-1] and far_strength.tolist() == [0.0]
    with pytest.raises(ClusteringError, match="dimensions"):
        model.predict(new[:, :3])


def test_persistence_as_plain_arrays_round_trips():
    X, _ = _blobs()
    model = SegmentClusterer(min_cluster_size=15, reduce="pca").fit(X)
    arrays = model.to_arrays()
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in arrays.values())
    again = SegmentClusterer.from_arrays(arrays, model.get_params())
    new, _ = _blobs(seed=9, n=7)
    np.testing.assert_array_equal(again.predict(new)[0], model.predict(new)[0])
    np.testing.assert_array_equal(again.labels_, model.labels_)
    broken = dict(arrays, labels=arrays["labels"][:-1])
    with pytest.raises(ClusteringError, match="do not fit"):
        SegmentClusterer.from_arrays(broken, model.get_params())


def test_predict_clustering_keeps_the_tree():
    X, _ = _blobs()
    c = cluster(_emb(X), min_cluster_size=15, reduce="pca")
    p = predict_clustering(c.model, _emb(X[:20]))
    assert p.labels.shape == (20,) and p.params["predicted"] is True
    assert p.condensed_tree is c.condensed_tree
    np.testing.assert_array_equal(p.labels, c.labels[:20])


def test_deterministic_with_umap():
    X, _ = _blobs()
    a = SegmentClusterer(min_cluster_size=40, n_components=3, random_state=3).fit(X)
    b = SegmentClusterer(min_cluster_size=40, n_components=3, random_state=3).fit(X)
    assert a.embedding_.shape == (len(X), 3)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)


def test_noise_gets_nearest_cluster():
    labels = np.array([0, 0, 1, 1, -1, -1])
    space = np.array([[0.0], [0.1], [5.0], [5.1], [0.3], [4.0]])
    assert assign_noise_to_nearest(labels, space).tolist() == [0, 0, 1, 1, 0, 1]


def test_bad_embeddings():
    with pytest.raises(ClusteringError, match="too few"):
        SegmentClusterer().fit(np.zeros((3, 2)))
    X, _ = _blobs()
    X[7, 2] = np.nan
    with pytest.raises(ClusteringError, match="NaN .* row 7"):
        SegmentClusterer().fit(X)
    with pytest.raises(ClusteringError, match="unknown reduction"):
        SegmentClusterer(reduce="tsne").fit(_blobs()[0])


def test_default_min_cluster_size_scales_with_n():
    assert default_min_cluster_size(100) == 5
    assert default_min_cluster_size(20_000) == 200


def test_spectral_clusters_of_real_crop_split_water_and_land(real_crop):
    from s2label.features import spectral_features
    from s2label.segment import segment

    seg = segment(real_crop, segment_size=150)
    emb = spectral_features(real_crop, seg)
    c = cluster(emb)
    assert c.n_clusters >= 2
    ndwi = emb.vectors[:, emb.feature_names.index("NDWI")]
    labels = c.labels_noise_assigned()
    # water segments and dry-land segments hardly share clusters
    shared = np.intersect1d(labels[ndwi > 0.2], labels[ndwi < -0.3])
    assert np.isin(labels[ndwi > 0.2], shared).mean() < 0.1
