import numpy as np
import pytest

from s2label.clustering.clusterer import predict_clustering
from s2label.clustering.hierarchy import ClusterHierarchy
from s2label.errors import SessionError


def test_reproduces_hdbscan_labels(blob_parts):
    _, _, clustering = blob_parts
    h = ClusterHierarchy.from_clustering(clustering)
    assert not h.flat
    assert len(h.selected) == clustering.n_clusters == 4
    np.testing.assert_array_equal(h.assign(h.selected), clustering.cluster)
    # the four blobs are the four selected clusters, 60 segments each
    for k in range(4):
        assert np.unique(clustering.cluster[k * 60:(k + 1) * 60]).size == 1


def test_levels_split_one_node_at_a_time(blob_parts):
    h = ClusterHierarchy.from_clustering(blob_parts[2])
    sizes = h.level_sizes()
    assert sizes[:4] == [1, 2, 3, 4]
    assert sizes == sorted(sizes) and h.n_levels == len(sizes)
    root_only = h.assign(h.level_cut(0))
    assert set(np.unique(root_only)) <= {-1, 0} and (root_only == 0).mean() > 0.9
    far = h.assign(h.level_cut(1))
    # level 1 separates the far blob (segments 181-240) from the three near ones
    assert np.unique(far[180:][far[180:] >= 0]).size == 1
    assert np.unique(far[:180][far[:180] >= 0]).size == 1
    assert far[0] != far[200]
    # the last level is every leaf of the hierarchy
    last = h.level_cut(h.n_levels - 1)
    assert all(not h.children(n) for n in last)
    with pytest.raises(SessionError, match="granularity level"):
        h.level_cut(h.n_levels)


def test_children_and_cut_checks(blob_parts):
    h = ClusterHierarchy.from_clustering(blob_parts[2])
    root = int(h.nodes[0])
    kids = h.children(root)
    assert len(kids) == 2 and all(h.parent_of(k) == root for k in kids)
    assert h.ancestors(kids[0]) == [kids[0], root]
    h.check_cut(kids)
    with pytest.raises(SessionError, match="under another node"):
        h.check_cut([root, kids[0]])
    with pytest.raises(SessionError, match="no cluster node"):
        h.children(10**6)


def test_predicted_clustering_is_flat(blob_parts):
    _, emb, clustering = blob_parts
    predicted = predict_clustering(clustering.model, emb)
    h = ClusterHierarchy.from_clustering(predicted)
    assert h.flat and h.n_levels == 1 and h.children(0) == ()
    np.testing.assert_array_equal(h.assign(h.selected), predicted.cluster)


def test_real_clustering_hierarchy(crop_cnn_gnn):
    """On the real crop (cnn-gnn, UMAP + HDBSCAN) the selected cut is found in the tree and reproduces the labels."""
    clustering = crop_cnn_gnn.clustering
    h = ClusterHierarchy.from_clustering(clustering)
    assert not h.flat
    np.testing.assert_array_equal(h.assign(h.selected), clustering.cluster)
    sizes = h.level_sizes()
    assert sizes[0] == 1 and sizes[-1] >= clustering.n_clusters
