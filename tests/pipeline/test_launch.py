import numpy as np
import pytest

import s2label
from s2label.errors import OutputError, SceneError
from s2label.pipeline.launch import SESSION_FILE, load_run
from s2label.widget import ClusterExplorer

FAST = dict(encoder="spectral", reduce="pca", progress=False)


def test_explore_runs_then_resumes_after_a_restart(real_crop, tmp_path):
    out = tmp_path / "run"
    first = s2label.explore(real_crop, out=out, **FAST)
    assert isinstance(first, ClusterExplorer)
    assert (out / "clusters.geojson").is_file() and (out / SESSION_FILE).is_file()
    label = first.session.labels[0].id
    first.panel.children[0].name.value = "river"
    first.session.merge([label, first.session.labels[1].id])
    report = (out / "report.json").read_text()
    # a new kernel: nothing in memory, the same call
    again = s2label.explore(real_crop, out=out, **FAST)
    assert (out / "report.json").read_text() == report  # the finished run was reused, not recomputed
    assert again.session.label(label).name == "river"
    np.testing.assert_array_equal(again.session.label_of_segment(), first.session.label_of_segment())
    assert again.session.can_undo
    with pytest.raises(OutputError, match="labelling session of the previous run"):
        s2label.explore(real_crop, out=out, rerun=True, **FAST)


def test_load_run_checks_the_folder(real_crop, tmp_path, crop_cnn_gnn):
    with pytest.raises(OutputError, match="missing report.json"):
        load_run(tmp_path, real_crop)
    other = s2label.sample_scene(window=((0, 300), (0, 300)))
    with pytest.raises(SceneError, match="another scene"):
        load_run(crop_cnn_gnn.out_dir, other)


def test_load_run_of_the_default_pipeline(crop_cnn_gnn, real_crop):
    """A cnn-gnn run on the real crop, loaded back: same segments, embeddings, clusters and hierarchy."""
    loaded = load_run(crop_cnn_gnn.out_dir, real_crop)
    np.testing.assert_array_equal(loaded.segmentation.ids, crop_cnn_gnn.segmentation.ids)
    np.testing.assert_allclose(loaded.embeddings.vectors, crop_cnn_gnn.embeddings.vectors)
    np.testing.assert_array_equal(loaded.clustering.cluster, crop_cnn_gnn.clustering.cluster)
    explorer = s2label.explore(loaded)
    assert not explorer.session.hierarchy.flat
    assert explorer.session.autosave_path == crop_cnn_gnn.out_dir / SESSION_FILE
