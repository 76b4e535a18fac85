"""Who made each edit: annotators recorded, kept, exported, and one annotator's view (s2label/session_annotators.py)."""

import getpass
import json

import pytest

from s2label.errors import SessionError
from s2label.evaluation.inter_annotator import agreement
from s2label.session.label_session import LabelSession


def parts(result):
    return result.segmentation, result.embeddings, result.clustering


def test_each_edit_records_its_annotator_and_time_and_they_are_kept(crop_result, tmp_path):
    path = tmp_path / "session.json"
    ana = LabelSession.from_result(crop_result, autosave=path, annotator="ana")
    a, b, c = (lab.id for lab in ana.labels[:3])
    ana.rename(a, "water")
    ana.merge([b, c], name="field")
    assert [r["annotator"] for r in ana.annotations] == ["ana", "ana"]
    assert all(r["time"].endswith("+00:00") for r in ana.annotations)
    ben = LabelSession.load(path, *parts(crop_result), annotator="ben")  # a colleague opens the same run
    assert ben.annotations == ana.annotations
    ben.rename(b, "grass")
    assert [r["annotator"] for r in ben.annotations] == ["ana", "ana", "ben"]
    assert ben.label_annotators()[b] == ["ana", "ben"] and ben.label_annotators()[a] == ["ana"]
    doc = json.loads(ben.export(tmp_path / "labels.geojson").read_text())
    props = {f["properties"]["name"]: f["properties"] for f in doc["features"]}
    assert props["grass"]["annotators"] == "ana,ben" and props["water"]["annotators"] == "ana"
    ben.undo()  # an undone edit's record goes with it when the log moves on
    ben.rename(b, "meadow")
    assert [r["annotator"] for r in ben.annotations] == ["ana", "ana", "ben"]
    assert LabelSession(*parts(crop_result)).annotator == getpass.getuser()


def test_one_annotators_view_and_their_agreement(crop_result, tmp_path):
    path = tmp_path / "session.json"
    ana = LabelSession.from_result(crop_result, autosave=path, annotator="ana")
    a, b, c = (lab.id for lab in ana.labels[:3])
    ana.rename(a, "water")
    ana.rename(b, "field")
    reeds = ana.create_label("reeds", [int(ana.label_of_segment().argmax()) + 1])
    ben = LabelSession.load(path, *parts(crop_result), annotator="ben")
    ben.rename(a, "sea")
    ben.merge([b, c], name="pasture")
    ben.rename(reeds, "reed bed")  # a label ana made: left out of ben's own view
    view_ana, view_ben = ben.view_of("ana"), ben.view_of("ben")
    assert {"water", "field", "reeds"} <= {lab.name for lab in view_ana.labels} and view_ana.skipped == 0
    names_ben = {lab.name for lab in view_ben.labels}
    assert {"sea", "pasture"} <= names_ben and not names_ben & {"water", "field", "reeds", "reed bed"}
    assert view_ben.skipped == 1 and [r["annotator"] for r in view_ben.annotations] == ["ben", "ben"]
    result = agreement(view_ana, view_ben)  # different names for the same areas: no agreement on them
    assert result.iou.get("water", 0.0) == 0.0 and result.iou.get("sea", 0.0) == 0.0
    assert result.confusion[result.labels.index("water"), result.labels.index("sea")] > 0


def test_a_file_without_annotations_loads_and_a_damaged_list_is_refused(crop_result, old_session_file, tmp_path):
    old = old_session_file(tmp_path / "old.json")
    session = LabelSession.load(old, *parts(crop_result), annotator="ana")
    assert {r["annotator"] for r in session.annotations} == {None} and session.label_annotators() == {}
    doc = json.loads(old.read_text())
    doc["annotations"] = [{"annotator": "ana"}]  # one record for six edits
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(SessionError, match="annotations"):
        LabelSession.load(bad, *parts(crop_result))
