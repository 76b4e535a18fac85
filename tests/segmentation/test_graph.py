import numpy as np
import pytest
from skimage import graph as skgraph

from s2label.errors import SegmentationError
from s2label.segmentation.graph import SegmentGraph, build_graph
from s2label.segmentation.superpixels import segment


def test_four_node_graph():
    # 1 1 2
    # 3 4 2   -> pairs (1,2) (1,3) (1,4) (2,4) (3,4), boundary lengths counted by pixel edges
    labels = np.array([[1, 1, 2], [3, 4, 2]])
    g = build_graph(labels)
    g.validate()
    assert g.num_nodes == 4 and g.num_edges == 5
    assert g.pairs().tolist() == [[0, 1], [0, 2], [0, 3], [1, 3], [2, 3]]
    adj = g.adjacency().toarray()
    assert adj[0, 1] == 1 and adj[0, 3] == 1 and adj[1, 3] == 1 and adj[2, 3] == 1 and adj[0, 2] == 1
    assert g.areas.tolist() == [2, 2, 1, 1]
    np.testing.assert_allclose(g.centroids[0], [0, 0.5])
    np.testing.assert_allclose(g.centroids[1], [0.5, 2])
    assert g.neighbours(3).tolist() == [0, 1, 2]


def test_boundary_length_counts_shared_pixel_edges():
    labels = np.zeros((4, 6), int)
    labels[:, :3] = 1
    labels[:, 3:] = 2
    g = build_graph(labels)
    assert g.num_edges == 1 and g.edge_weight.tolist() == [4.0, 4.0]


def test_nodata_is_not_a_node_and_isolated_segments_are_found():
    labels = np.array([[1, 1, 0, 0, 0],
                       [1, 1, 0, 3, 0],
                       [2, 2, 0, 0, 0]])
    g = build_graph(labels)
    assert g.num_nodes == 3 and g.pairs().tolist() == [[0, 1]]
    assert g.isolated().tolist() == [2]


def test_agrees_with_skimage_rag_on_real_segments(real_crop):
    seg = segment(real_crop, segment_size=150)
    g = build_graph(seg)
    g.validate()
    rag = skgraph.RAG(seg.ids, connectivity=1)
    rag.remove_nodes_from([0]) if 0 in rag else None
    ours = {(int(a) + 1, int(b) + 1) for a, b in g.pairs()}
    theirs = {tuple(sorted((int(a), int(b)))) for a, b in rag.edges()}
    assert ours == theirs and len(ours) > 500
    assert set(rag.nodes()) == set(range(1, seg.n_segments + 1))


def test_to_pyg_is_a_valid_undirected_graph(real_crop):
    from torch_geometric.utils import is_undirected

    seg = segment(real_crop, segment_size=200)
    g = build_graph(seg)
    x = np.random.default_rng(0).random((g.num_nodes, 5)).astype(np.float32)
    data = g.to_pyg(x)
    assert data.validate(raise_on_error=True)
    assert data.num_nodes == g.num_nodes and data.x.shape == (g.num_nodes, 5)
    assert is_undirected(data.edge_index) and data.edge_weight.shape[0] == data.edge_index.shape[1]
    with pytest.raises(SegmentationError, match="rows"):
        g.to_pyg(x[:-1])


def test_validate_catches_broken_graphs():
    g = build_graph(np.array([[1, 2], [3, 3]]))
    broken = SegmentGraph(g.edge_index[:, :-1], g.edge_weight[:-1], g.centroids, g.areas)
    with pytest.raises(SegmentationError, match="not undirected"):
        broken.validate()
    loops = SegmentGraph(np.array([[0], [0]], np.int64), np.ones(1, np.float32), g.centroids, g.areas)
    with pytest.raises(SegmentationError, match="self-loops"):
        loops.validate()
    out_of_range = SegmentGraph(np.array([[0, 9], [9, 0]], np.int64), np.ones(2, np.float32), g.centroids, g.areas)
    with pytest.raises(SegmentationError, match="outside"):
        out_of_range.validate()


@pytest.mark.parametrize("chunk_rows", [1, 7, 100])
def test_the_graph_built_by_row_chunks_is_the_same(real_crop, chunk_rows):
    seg = segment(real_crop, segment_size=150)
    whole, chunked = build_graph(seg), build_graph(seg, chunk_rows=chunk_rows)
    np.testing.assert_array_equal(whole.edge_index, chunked.edge_index)
    np.testing.assert_array_equal(whole.edge_weight, chunked.edge_weight)
    np.testing.assert_array_equal(whole.centroids, chunked.centroids)
    np.testing.assert_array_equal(whole.areas, chunked.areas)
    with pytest.raises(SegmentationError, match="chunk_rows"):
        build_graph(seg, chunk_rows=0)
