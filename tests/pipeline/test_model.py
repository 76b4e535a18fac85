import json

import numpy as np
import pytest
import torch

import s2label
from s2label.clustering.clusterer import cluster
from s2label.encoders.encoder import GNNConfig, fit_embed
from s2label.errors import ModelError
from s2label.io.datasets import sample_scene_path
from s2label.pipeline.model import MODEL_VERSION, load_model, save_model


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    from s2label.encoders.encoder import CNNConfig

    scene = s2label.sample_scene(window=((600, 728), (600, 728)), bands=["B02", "B03", "B04", "B08"])
    seg = s2label.segment(scene, segment_size=80)
    graph = s2label.build_graph(seg)
    cnn = CNNConfig(steps=20, tile=32, features=8, width=8, batch_size=4)
    enc, emb = fit_embed(scene, seg, graph, encoder="cnn-gnn", cnn=cnn, gnn=GNNConfig(epochs=20))
    clus = cluster(emb, reduce="pca", min_cluster_size=5)
    folder = save_model(tmp_path_factory.mktemp("m") / "model", enc, clus.model,
                        segmentation={"segment_size": 80, "compactness": 0.1, "method": "slic"})
    return scene, seg, graph, enc, emb, clus, folder


def test_save_load_gives_identical_embeddings_and_labels(fitted):
    scene, seg, graph, enc, emb, clus, folder = fitted
    assert {p.name for p in folder.iterdir()} == {"model.json", "cnn.pt", "gnn.pt", "clusterer.npz"}
    loaded = load_model(folder)
    assert loaded.bands == ("B02", "B03", "B04", "B08") and loaded.encoder.encoder == "cnn-gnn"
    assert loaded.segmentation == {"segment_size": 80, "compactness": 0.1, "method": "slic"}
    again = loaded.encoder.encode(scene, seg, graph)
    np.testing.assert_allclose(again.vectors, emb.vectors, atol=1e-5)
    labels = loaded.clusterer.predict(again.vectors)
    np.testing.assert_array_equal(labels, clus.cluster)


def test_weights_are_plain_state_dicts(fitted):
    folder = fitted[-1]
    state = torch.load(folder / "cnn.pt", weights_only=True)  # no pickled code needed
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    with np.load(folder / "clusterer.npz", allow_pickle=False) as arrays:
        assert "train" in arrays and arrays["labels"].dtype == np.int32


def _copy(folder, tmp_path):
    import shutil

    dst = tmp_path / "copy"
    shutil.copytree(folder, dst)
    return dst


def test_corrupted_weights_are_refused(fitted, tmp_path):
    folder = _copy(fitted[-1], tmp_path)
    raw = bytearray((folder / "cnn.pt").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (folder / "cnn.pt").write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="cnn.pt: file is corrupt"):
        load_model(folder)


def test_truncated_weights_with_a_matching_checksum_are_refused(fitted, tmp_path):
    from s2label._digest import file_sha256

    folder = _copy(fitted[-1], tmp_path)
    (folder / "gnn.pt").write_bytes((folder / "gnn.pt").read_bytes()[:100])
    meta = json.loads((folder / "model.json").read_text())
    meta["files"]["gnn.pt"] = file_sha256(folder / "gnn.pt")
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="gnn.pt: cannot read network weights"):
        load_model(folder)


def test_weights_of_another_architecture_are_refused(fitted, tmp_path):
    folder = _copy(fitted[-1], tmp_path)
    meta = json.loads((folder / "model.json").read_text())
    meta["cnn"]["config"]["width"] = 16
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="do not fit the recorded CNN"):
        load_model(folder)


def test_missing_or_foreign_folders(tmp_path, fitted):
    with pytest.raises(ModelError, match="no such model folder"):
        load_model(tmp_path / "nope")
    with pytest.raises(ModelError, match="no model.json"):
        load_model(tmp_path)
    folder = _copy(fitted[-1], tmp_path)
    (folder / "clusterer.npz").unlink()
    with pytest.raises(ModelError, match="clusterer.npz: file of the model is missing"):
        load_model(folder)
    meta = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps(meta | {"version": MODEL_VERSION + 1}))
    with pytest.raises(ModelError, match="newer"):
        load_model(folder)
    (folder / "model.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_model(folder)


def test_scene_with_other_bands_is_refused(fitted, tmp_path):
    folder = fitted[-1]
    other = s2label.sample_scene(window=((0, 128), (0, 128)), bands=["B02", "B03", "B04", "B8A"])
    with pytest.raises(ModelError, match="trained on bands B02, B03, B04, B08"):
        s2label.run(other, model=folder, progress=False)
    # read from disk with the model's bands picked automatically
    result = s2label.run(sample_scene_path(), model=folder, progress=False,
                         read_options={"window": ((0, 128), (0, 128))})
    assert result.scene.bands == ("B02", "B03", "B04", "B08")
