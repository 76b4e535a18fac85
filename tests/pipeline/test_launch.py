import numpy as np
import pytest

import s2label
from s2label.errors import OutputError
from s2label.pipeline.run_folder import SESSION_FILE
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


