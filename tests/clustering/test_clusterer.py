import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from s2label.clustering.clusterer import (
    SegmentClusterer,
    assign_noise_to_nearest,
    cluster,
    default_min_cluster_size,
    predict_clustering,
)
from s2label.encoders.embeddings import Embeddings
from s2label.errors import ClusteringError, S2LabelWarning


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
    keep = c.cluster >= 0
    assert adjusted_rand_score(truth[keep], c.cluster[keep]) > 0.99
    assert c.probabilities.shape == c.outlier_scores.shape == (len(X),)
    assert set(c.condensed_tree.dtype.names) >= {"parent", "child", "lambda_val", "child_size"}
    assert c.embedding.shape == (len(X), 3 if reduce != "none" else 4)
    assert c.params["min_cluster_size"] == min_size
    assert c.sizes().sum() == (c.cluster >= 0).sum()


def test_outlier_is_noise_with_high_score():
    X, _ = _blobs()
    X = np.vstack([X, [[20, -20, 20, -20]]])
    c = cluster(_emb(X), min_cluster_size=15, reduce="pca")
    assert c.cluster[-1] == -1
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
    labels, strengths = model.approximate_predict(new)
    mapping = {t: np.bincount(model.labels_[(truth == t) & (model.labels_ >= 0)]).argmax() for t in range(3)}
    assert np.mean(labels == np.array([mapping[t] for t in new_truth])) > 0.9
    assert strengths.shape == (30,) and (strengths[labels >= 0] > 0.5).all()
    far, far_strength = model.approximate_predict(np.full((1, 4), 50.0))  # unlike every training segment
    assert far.tolist() == [-1] and far_strength.tolist() == [0.0]
    with pytest.raises(ClusteringError, match="X has 3 features, but SegmentClusterer is expecting 4"):
        model.predict(new[:, :3])


def test_persistence_as_plain_arrays_round_trips():
    X, _ = _blobs()
    model = SegmentClusterer(min_cluster_size=15, reduce="pca").fit(X)
    arrays = model.to_arrays()
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in arrays.values())
    again = SegmentClusterer.from_arrays(arrays, model.get_params())
    new, _ = _blobs(seed=9, n=7)
    np.testing.assert_array_equal(again.predict(new), model.predict(new))
    np.testing.assert_array_equal(again.labels_, model.labels_)
    broken = dict(arrays, labels=arrays["labels"][:-1])
    with pytest.raises(ClusteringError, match="do not fit"):
        SegmentClusterer.from_arrays(broken, model.get_params())


def test_predict_clustering_keeps_the_tree():
    X, _ = _blobs()
    c = cluster(_emb(X), min_cluster_size=15, reduce="pca")
    p = predict_clustering(c.model, _emb(X[:20]))
    assert p.cluster.shape == (20,) and p.params["predicted"] is True
    assert p.condensed_tree is c.condensed_tree
    np.testing.assert_array_equal(p.cluster, c.cluster[:20])


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
    from s2label.encoders.spectral import spectral_features
    from s2label.segmentation.superpixels import segment

    seg = segment(real_crop, segment_size=150)
    emb = spectral_features(real_crop, seg)
    c = cluster(emb)
    assert c.n_clusters >= 2
    ndwi = emb.vectors[:, emb.feature_names.index("NDWI")]
    labels = c.cluster_noise_assigned()
    # water segments and dry-land segments hardly share clusters
    shared = np.intersect1d(labels[ndwi > 0.2], labels[ndwi < -0.3])
    assert np.isin(labels[ndwi > 0.2], shared).mean() < 0.1


# --- fitting on a sample (millions of segments) ------------------------------------------------------------

def test_sampled_fit_finds_the_planted_clusters():
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 6, (4, 5))
    truth = np.repeat(np.arange(4), 1000)
    emb = Embeddings(centres[truth] + rng.normal(0, 0.4, (4000, 5)), np.arange(1, 4001), "spectral")
    sampled = cluster(emb, reduce="pca", sample=400)
    assert sampled.params["fit_rows"] == 400 and sampled.cluster.shape == (4000,)
    assert adjusted_rand_score(truth, sampled.cluster_noise_assigned()) > 0.99
    # the fitted rows keep HDBSCAN's own answer, the others are predicted with a vote strength
    rows = np.sort(np.random.default_rng(0).choice(4000, 400, replace=False))
    np.testing.assert_array_equal(sampled.cluster[rows], sampled.model.labels_)
    assert ((sampled.probabilities >= 0) & (sampled.probabilities <= 1)).all()
    # the hierarchy of a sampled fit describes the sample only: the session gets a flat one
    from s2label.clustering.hierarchy import ClusterHierarchy

    assert ClusterHierarchy.from_clustering(sampled).flat


def test_sample_auto_and_bad_sample(monkeypatch):
    import sys

    cluster_module = sys.modules["s2label.clustering.clusterer"]
    rng = np.random.default_rng(0)
    emb = Embeddings(np.concatenate([rng.normal(0, .2, (300, 3)), rng.normal(4, .2, (300, 3))]),
                     np.arange(1, 601), "spectral")
    assert "fit_rows" not in cluster(emb, reduce="pca").params  # 600 segments: all fitted
    monkeypatch.setattr(cluster_module, "AUTO_SAMPLE", 200)
    auto = cluster(emb, reduce="pca")
    assert auto.params["fit_rows"] == 200 and auto.n_clusters >= 2
    assert not set(auto.cluster[:300].tolist()) & set(auto.cluster[300:].tolist()) - {-1}  # the blobs stay apart
    assert "fit_rows" not in cluster(emb, reduce="pca", sample=None).params
    with pytest.raises(ClusteringError, match="at least"):
        cluster(emb, sample=3)
    with pytest.raises(ClusteringError, match="'auto' or None"):
        cluster(emb, sample="half")


def test_sample_agreement_on_real_segments(real_crop):
    import s2label
    from s2label.evaluation.measures import sample_agreement

    seg = s2label.segment(real_crop, segment_size=30)  # ~2,450 segments
    emb = s2label.embed(real_crop, seg, encoder="spectral")
    agreement = sample_agreement(emb, emb.n // 4, reduce="pca")
    assert agreement.n_segments == emb.n and agreement.fit_rows == emb.n // 4
    assert agreement.clusters_full >= 2 and agreement.clusters_sampled >= 2
    # measured 0.77 with noise assigned (0.47 with noise as a label); a random labelling scores ~0
    assert agreement.ari_assigned > 0.5 and agreement.ari > 0.2
    full = cluster(emb, reduce="pca", sample=None)
    again = sample_agreement(emb, emb.n // 4, full=full, reduce="pca")  # a full fit made once, reused
    assert again.ari == agreement.ari and np.isnan(again.seconds_full) and again.seconds_sampled > 0
    shuffled = np.random.default_rng(0).permutation(full.cluster)
    assert adjusted_rand_score(full.cluster, shuffled) < 0.05


@parametrize_with_checks([SegmentClusterer(reduce="pca", min_cluster_size=5),
                          SegmentClusterer(reduce="none", min_cluster_size=5)])
def test_segment_clusterer_is_a_scikit_learn_estimator(estimator, check):
    """scikit-learn's own estimator checks (clone, get/set_params, fit(X, y=None), fit_predict, unfitted and bad
    input errors, n_features_in_, pickling, ...), on the reductions that need no numba compile."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", S2LabelWarning)  # some checks fit data with no cluster in it
        check(estimator)


def test_predict_returns_labels_and_clone_keeps_the_params():
    X, _ = _blobs()
    model = SegmentClusterer(reduce="pca", min_cluster_size=10, random_state=3)
    twin = clone(model).set_params(min_cluster_size=12)
    assert twin.get_params()["min_cluster_size"] == 12 and model.get_params()["random_state"] == 3
    labels = model.fit_predict(X)
    np.testing.assert_array_equal(labels, model.labels_)
    predicted = model.predict(X[:5])
    assert predicted.dtype == np.int32 and predicted.shape == (5,)
    np.testing.assert_array_equal(predicted, model.approximate_predict(X[:5])[0])
