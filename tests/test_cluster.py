import numpy as np
import pytest

from s2label.cluster import SegmentClusterer, assign_noise_to_nearest, cluster, default_min_cluster_size
from s2label.embeddings import Embeddings
from s2label.errors import ClusteringError


def _blobs(seed=0, n=80, centers=((0, 0, 0, 0), (4, 4, 0, 0), (0, 4, 4, 0))):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(c, 0.3, (n, 4)) for c in centers])
    truth = np.repeat(np.arange(len(centers)), n)
    return X, truth


def test_finds_planted_clusters():
    X, truth = _blobs()
    c = cluster(Embeddings(X, np.arange(1, len(X) + 1), "spectral"), min_cluster_size=15)
    assert c.n_clusters == 3 and c.noise_fraction < 0.1
    from sklearn.metrics import adjusted_rand_score

    keep = c.labels >= 0
    assert adjusted_rand_score(truth[keep], c.labels[keep]) > 0.99
    assert c.probabilities.shape == c.outlier_scores.shape == (len(X),)
    assert set(c.condensed_tree.dtype.names) >= {"parent", "child", "lambda_val", "child_size"}
    assert c.embedding.shape[0] == len(X) and c.params["min_cluster_size"] == 15
    assert c.sizes().sum() == (c.labels >= 0).sum()


def test_outlier_is_noise_with_high_score():
    X, _ = _blobs()
    X = np.vstack([X, [[20, -20, 20, -20]]])
    c = cluster(Embeddings(X, np.arange(1, len(X) + 1), "spectral"), min_cluster_size=15)
    assert c.labels[-1] == -1
    assert c.outlier_scores[-1] >= np.quantile(c.outlier_scores, 0.99)


def test_predict_assigns_new_points_to_the_right_cluster():
    X, truth = _blobs()
    model = SegmentClusterer(min_cluster_size=15).fit(X)
    new, new_truth = _blobs(seed=5, n=10)
    labels, strengths = model.predict(new)
    mapping = {t: np.bincount(model.labels_[truth == t][model.labels_[truth == t] >= 0]).argmax() for t in range(3)}
    expected = np.array([mapping[t] for t in new_truth])
    assert np.mean(labels == expected) > 0.9 and strengths.shape == (30,)
    with pytest.raises(ClusteringError, match="dimensions"):
        model.predict(new[:, :3])


def test_deterministic():
    X, _ = _blobs()
    a = SegmentClusterer(min_cluster_size=15).fit(X).labels_
    b = SegmentClusterer(min_cluster_size=15).fit(X).labels_
    np.testing.assert_array_equal(a, b)


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
    assert default_min_cluster_size(20_000) == 100


def test_spectral_clusters_of_real_crop_split_water_and_land(real_crop):
    from s2label.features import spectral_features
    from s2label.segment import segment

    seg = segment(real_crop, segment_size=150)
    emb = spectral_features(real_crop, seg)
    c = cluster(emb)
    assert c.n_clusters >= 2
    ndwi = emb.vectors[:, emb.feature_names.index("NDWI")]
    water = ndwi > 0.2
    labels = c.labels_noise_assigned()
    # water segments and dry-land segments hardly share clusters
    shared = np.intersect1d(labels[water], labels[ndwi < -0.3])
    share = np.isin(labels[water], shared).mean()
    assert share < 0.1
