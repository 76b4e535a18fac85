import numpy as np
import pytest

import s2label
from s2label.clustering.clusterer import cluster
from s2label.encoders.encoder import ENCODERS, CNNConfig, GNNConfig, SegmentEncoder, embed, fit_embed
from s2label.errors import ClusteringError, S2LabelError


@pytest.fixture(scope="module")
def small_real():
    scene = s2label.sample_scene(window=((600, 728), (600, 728)), bands=["B02", "B03", "B04", "B08", "B11"])
    seg = s2label.segment(scene, segment_size=100)
    return scene, seg, s2label.build_graph(seg)


@pytest.mark.parametrize("encoder, dim", [("spectral", 5 * 2 + 2), ("cnn", 8), ("cnn-gnn", 8 + 6)])
def test_shapes_of_every_encoder(small_real, tiny_cnn, encoder, dim):
    scene, seg, graph = small_real
    emb = embed(scene, seg, graph, encoder=encoder, cnn=tiny_cnn, gnn=GNNConfig(out_channels=6, epochs=20))
    assert emb.vectors.shape == (seg.n_segments, dim) and emb.encoder == encoder
    assert np.isfinite(emb.vectors).all() and emb.vectors.dtype == np.float32
    np.testing.assert_array_equal(emb.segment_ids, np.arange(1, seg.n_segments + 1))


def test_same_seed_same_embeddings(small_real, tiny_cnn):
    scene, seg, graph = small_real
    opts = dict(encoder="cnn-gnn", cnn=tiny_cnn, gnn=GNNConfig(epochs=20))
    a = embed(scene, seg, graph, seed=4, **opts).vectors
    b = embed(scene, seg, graph, seed=4, **opts).vectors
    c = embed(scene, seg, graph, seed=5, **opts).vectors
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_fitted_encoder_reproduces_its_training_embeddings(small_real, tiny_cnn):
    scene, seg, graph = small_real
    enc, emb = fit_embed(scene, seg, graph, encoder="cnn-gnn", cnn=tiny_cnn, gnn=GNNConfig(epochs=10))
    np.testing.assert_allclose(enc.encode(scene, seg, graph).vectors, emb.vectors, atol=1e-5)
    assert set(enc.timings) == {"train_cnn", "cnn_features", "train_gnn"}


def test_another_scene_with_the_same_bands(small_real, tiny_cnn):
    scene, seg, graph = small_real
    enc, _ = fit_embed(scene, seg, graph, encoder="cnn", cnn=tiny_cnn)
    other = s2label.sample_scene(window=((1200, 1300), (100, 260)), bands=list(scene.bands))
    other_seg = s2label.segment(other, segment_size=100)
    assert enc.encode(other, other_seg).vectors.shape == (other_seg.n_segments, 8)
    lacking = s2label.sample_scene(window=((0, 64), (0, 64)), bands=["B02", "B03", "B04"])
    with pytest.raises(S2LabelError, match="needs band"):
        enc.encode(lacking, s2label.segment(lacking, segment_size=64))


def test_unknown_encoder(small_real):
    scene, seg, graph = small_real
    with pytest.raises(S2LabelError, match="unknown encoder 'resnet'"):
        embed(scene, seg, graph, encoder="resnet")
    assert ENCODERS == ("cnn-gnn", "cnn", "spectral")


def test_fewer_segments_than_a_batch(scene_factory):
    """A scene with a handful of segments embeds fine; clustering them says clearly it cannot."""
    from scipy.ndimage import gaussian_filter

    data = gaussian_filter(np.random.default_rng(0).random((4, 32, 32)), sigma=(0, 4, 4))
    scene = scene_factory(data)
    seg = s2label.segment(scene, n_segments=6)
    emb = embed(scene, seg, encoder="cnn-gnn", cnn=CNNConfig(steps=3, tile=16, batch_size=16, features=4, width=4),
                gnn=GNNConfig(epochs=3))
    assert emb.vectors.shape[0] == seg.n_segments < 16
    with pytest.raises(ClusteringError, match="too few to cluster"):
        cluster(emb)


def test_spectral_encoder_object(small_real):
    scene, seg, _ = small_real
    enc = SegmentEncoder("spectral", scene.bands)
    np.testing.assert_array_equal(enc.encode(scene, seg).vectors,
                                  s2label.embed(scene, seg, encoder="spectral").vectors)
