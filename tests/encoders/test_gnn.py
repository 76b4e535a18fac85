import numpy as np
import pytest
import torch

from s2label.encoders.gnn import GNNConfig, GraphEncoder, train_gnn
from s2label.errors import S2LabelError
from s2label.segmentation.graph import build_graph


def test_four_node_graph_encoder_is_order_invariant():
    torch.manual_seed(0)
    enc = GraphEncoder(in_channels=3, hidden_channels=8, out_channels=4).eval()
    x = torch.randn(4, 3)
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3, 0, 3], [1, 0, 2, 1, 3, 2, 3, 0]])
    out = enc(x, edge_index)
    assert out.shape == (4, 4)
    # the same graph with its edges listed in another order, and with the nodes renumbered
    shuffled = edge_index[:, torch.randperm(edge_index.shape[1])]
    torch.testing.assert_close(enc(x, shuffled), out)
    perm = torch.tensor([2, 0, 3, 1])
    inverse = torch.argsort(perm)
    torch.testing.assert_close(enc(x[perm], inverse[edge_index]), out[perm])


def test_dgi_training_lowers_its_loss_and_keeps_own_features():
    labels = np.repeat(np.repeat(np.arange(1, 37).reshape(6, 6), 4, axis=0), 4, axis=1)
    graph = build_graph(labels)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(36, 5)).astype(np.float32)
    model = train_gnn(x, graph, config=GNNConfig(hidden_channels=16, out_channels=8, epochs=80), seed=0)
    assert np.mean(model.losses[-10:]) < np.mean(model.losses[:10])
    out = model.transform(x, graph)
    assert out.shape == (36, 5 + 8)
    own = (x - x.mean(0)) / x.std(0)
    np.testing.assert_allclose(out[:, :5], own, atol=1e-5)  # the segment's own features, kept
    again = train_gnn(x, graph, config=GNNConfig(hidden_channels=16, out_channels=8, epochs=80), seed=0)
    np.testing.assert_array_equal(again.transform(x, graph), out)


def test_isolated_segments_are_handled():
    labels = np.array([[1, 1, 0, 3], [2, 2, 0, 0]])
    graph = build_graph(labels)
    assert graph.isolated().tolist() == [2]
    x = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    model = train_gnn(x, graph, config=GNNConfig(hidden_channels=8, out_channels=4, epochs=5))
    assert np.isfinite(model.transform(x, graph)).all()


def test_bad_node_features():
    graph = build_graph(np.array([[1, 2], [3, 4]]))
    with pytest.raises(S2LabelError, match="do not fit"):
        train_gnn(np.zeros((3, 2), np.float32), graph)
    bad = np.zeros((4, 2), np.float32)
    bad[1, 1] = np.nan
    with pytest.raises(S2LabelError, match="NaN"):
        train_gnn(bad, graph)
    model = train_gnn(np.random.default_rng(0).random((4, 2)).astype(np.float32), graph,
                      config=GNNConfig(epochs=2))
    with pytest.raises(S2LabelError, match="columns"):
        model.transform(np.zeros((4, 3), np.float32), graph)


def test_a_large_graph_is_trained_on_whole_regions_and_embedded_whole(real_crop):
    from s2label.encoders.gnn import training_nodes
    from s2label.encoders.spectral import spectral_features
    from s2label.segmentation.superpixels import segment

    seg = segment(real_crop, segment_size=40)
    graph = build_graph(seg)
    x = spectral_features(real_crop, seg).vectors
    nodes = training_nodes(graph, 400, seed=1)
    assert 400 <= nodes.size < 600 and graph.num_nodes > 1000
    sub = graph.subgraph(nodes)
    sub.validate()
    assert sub.degree().mean() > 0.8 * graph.degree().mean()        # regions, not scattered nodes
    np.testing.assert_array_equal(training_nodes(graph, 400, seed=1), nodes)
    model = train_gnn(x, graph, config=GNNConfig(epochs=10, max_train_nodes=400), seed=1)
    out = model.transform(x, graph)
    assert out.shape == (graph.num_nodes, x.shape[1] + 32)
    h = out[:, x.shape[1]:]                                          # standardised over the whole graph
    np.testing.assert_allclose(h.mean(axis=0), 0, atol=1e-4)
    full = train_gnn(x, graph, config=GNNConfig(epochs=10), seed=1)
    assert not np.allclose(full.transform(x, graph), out)            # the sample did change the training
