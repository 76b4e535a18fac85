import json
import os

import numpy as np
import pytest
import rasterio

from s2label.clustering.clusterer import predict_clustering
from s2label.errors import SessionError
from s2label.session.label_session import UNLABELLED, LabelSession
from tests.conftest import stored_log
from tests.session.conftest import blob_label


def snapshot(session):
    return session.label_of_segment().copy(), session.labels


# --- the starting point -------------------------------------------------------------------------------

def test_starts_as_hdbscan_clusters(session, blob_parts):
    clustering = blob_parts[2]
    np.testing.assert_array_equal(session.label_of_segment(), clustering.cluster)
    assert [lab.id for lab in session.labels] == [0, 1, 2, 3]
    assert [lab.name for lab in session.labels] == ["cluster 0", "cluster 1", "cluster 2", "cluster 3"]
    assert len({lab.colour for lab in session.labels}) == 4
    assert session.counts() == {0: 60, 1: 60, 2: 60, 3: 60}
    assert session.areas_px() == {0: 60, 1: 60, 2: 60, 3: 60}
    assert not session.can_undo and not session.can_redo and session.edits == ()


def test_parts_from_different_runs_are_refused(blob_parts, crop_result):
    with pytest.raises(SessionError, match="describe different segments"):
        LabelSession(blob_parts[0], blob_parts[1], crop_result.clustering)
    with pytest.raises(SessionError, match="different runs"):
        LabelSession(blob_parts[0], crop_result.embeddings, crop_result.clustering)


# --- every edit ---------------------------------------------------------------------------------------

def test_rename(session):
    session.rename(2, "  Broadleaf\tforest ")
    assert session.label(2).name == "Broadleaf forest"
    assert session.label_by_name("broadleaf FOREST").id == 2
    session.rename(2, "Broadleaf forest")  # the same name again is fine
    for bad, message in [("", "cannot be empty"), ("   ", "cannot be empty"), (None, "must be text"),
                         ("x" * 500, "at most"), ("a\x00b", "control characters")]:
        with pytest.raises(SessionError, match=message):
            session.rename(1, bad)
    with pytest.raises(SessionError, match="already used by label 2"):
        session.rename(1, "BROADLEAF FOREST")
    with pytest.raises(SessionError, match="no label 9"):
        session.rename(9, "water")
    assert len(session.edits) == 2  # refused edits leave no trace


def test_names_are_stored_never_evaluated(session):
    text = "__import__('os').system('touch /tmp/s2label-pwned')"
    session.rename(0, text)
    assert session.label(0).name == text
    assert not os.path.exists("/tmp/s2label-pwned")


def test_colour_and_hide(session):
    session.set_colour(1, "#ABCDEF")
    assert session.label(1).colour == "#abcdef"
    for bad in ("red", "#12345", "#ggg000", 3):
        with pytest.raises(SessionError, match="colour"):
            session.set_colour(1, bad)
    session.hide([1, 3])
    assert [lab.hidden for lab in session.labels] == [False, True, False, True]
    session.show(3)
    assert session.label(3).hidden is False and session.label(1).hidden is True
    with pytest.raises(SessionError, match="no label 7"):
        session.hide(7)


def test_merge(session):
    a, b = blob_label(session, 0), blob_label(session, 1)
    session.rename(b, "grass")
    kept = session.merge([a, b], name="grass")  # the name of a label merged away may be reused
    assert kept == a
    assert session.label(a).name == "grass"
    assert session.counts()[a] == 120
    assert [lab.id for lab in session.labels] == sorted({0, 1, 2, 3} - {b})
    assert session.label(a).details["merged_from"] == [a, b]
    with pytest.raises(SessionError, match="itself"):
        session.merge([a, a])
    with pytest.raises(SessionError, match="itself"):
        session.merge([a])
    with pytest.raises(SessionError, match=f"no label {b}"):
        session.merge([a, b])
    other = blob_label(session, 2)
    with pytest.raises(SessionError, match="already used"):
        session.merge([other, blob_label(session, 3)], name="GRASS")


def test_split_follows_the_hierarchy(session):
    h = session.hierarchy
    near = [blob_label(session, k) for k in range(3)]
    far = blob_label(session, 3)
    node = session.label(far).nodes[0]
    children = h.children(node)
    sizes = {c: int(h.size[np.searchsorted(h.nodes, c)]) for c in children}
    parts = session.split(far)
    assert parts[0] == far and len(parts) == len(children)
    assert [session.label(p).nodes for p in parts] == [(c,) for c in children]
    counts = session.counts()
    assert sorted(counts[p] for p in parts) == sorted(sizes.values())
    # segments that fell out of the split cluster itself are unlabelled now, the near blobs untouched
    assert (session.label_of_segment()[180:] == UNLABELLED).sum() == 60 - sum(sizes.values())
    assert all(session.counts()[n] == 60 for n in near)
    assert session.label(parts[1]).details == {"split_from": far}
    leaf = next(p for p in parts if not h.children(session.label(p).nodes[0]))
    with pytest.raises(SessionError, match="leaf of the HDBSCAN hierarchy"):
        session.split(leaf)
    made = session.create_label("by hand", [1])
    with pytest.raises(SessionError, match="made by hand"):
        session.split(made)


def test_recut_coarser_and_finer_keeps_names(session, blob_parts):
    levels = session.granularity_levels()
    assert levels[:4] == [1, 2, 3, 4]
    session.rename(blob_label(session, 3), "far")
    session.recut(1)  # the far blob and the near ones
    assert session.level == 1 and len(session.labels) == 2
    assert session.label(blob_label(session, 3)).name == "far"  # its node is still in the cut
    near = blob_label(session, 0)
    assert near not in (0, 1, 2, 3) and session.counts()[near] > 170
    assert blob_label(session, 1) == blob_label(session, 2) == near
    session.recut(None)  # back to HDBSCAN's own clusters, with their first ids
    np.testing.assert_array_equal(session.label_of_segment(), blob_parts[2].cluster)
    assert session.label(blob_label(session, 3)).name == "far"
    session.recut(0)  # the root alone, but "far" is the researcher's: it stays, the rest is one label
    assert len(session.labels) == 2 and (session.label_of_segment() >= 0).mean() > 0.9
    assert session.counts()[blob_label(session, 3)] == 60
    with pytest.raises(SessionError, match="granularity level"):
        session.recut(len(levels))


def test_recut_round_trip_keeps_names_merges_colours_and_hand_labels(session, blob_parts):
    """Issue 12, item 1: a granularity change never drops what the researcher did."""
    labels = blob_parts[2].cluster
    a, b, c, far = (blob_label(session, k) for k in range(4))
    session.merge([a, b])  # merged "cluster a": the researcher's now, though unnamed
    session.rename(far, "salt marsh")
    session.set_colour(c, "#123456")
    session.assign([2], far)  # one segment of blob 0 set by hand
    mine = {lab.id: (lab.name, lab.colour) for lab in session.labels}
    before = session.label_of_segment().copy()
    options = session.granularity_options()
    for level in (0, 1, len(session.granularity_levels()) - 1, None):
        session.recut(level)
        assert {lab.id: (lab.name, lab.colour) for lab in session.labels if lab.id in mine} == mine, level
        np.testing.assert_array_equal(session.label_of_segment(), before)  # every segment where it was
        if level is not None:
            assert len(session.labels) == options[level]
    assert session.label_of(2) == far and session.label(a).details["merged_from"] == [a, b]
    assert (labels[session.label_of_segment() == a] >= 0).all()


def test_recut_coarser_re_cuts_only_what_the_researcher_left(session):
    far = blob_label(session, 3)
    # the near blob that splits off first; the other two stay one node until the last split
    depth = lambda k: session.hierarchy.depth(session.label(blob_label(session, k)).nodes[0])  # noqa: E731
    first, *pair = sorted(range(3), key=depth)
    session.rename(blob_label(session, first), "water")
    expected = session.granularity_options()[1]
    session.recut(1)  # the far blob alone, the near three as one node: but "water" stays whole
    water = blob_label(session, first)
    assert session.counts()[water] == 60 and session.label(water).name == "water"
    assert len(session.labels) == expected == 3  # the other two near blobs are re-cut coarser: one label
    assert blob_label(session, pair[0]) == blob_label(session, pair[1]) not in (-1, water, far)
    assert session.label_of(181) == far  # untouched, in the cut at level 1 with its id
    assert [session.describe(i) for i in range(2)] == [f"rename 'cluster {water}' to 'water'",
                                                        f"re-cut to {len(session.labels)} labels (level 1)"]


def test_assign_by_hand_wins_and_follows_merges(session):
    a, b, c = (blob_label(session, k) for k in range(3))
    session.assign([1, 2, 3], b)
    assert [session.label_of(s) for s in (1, 2, 3, 4)] == [b, b, b, a]
    session.assign([2], UNLABELLED)
    assert session.label_of(2) == UNLABELLED
    assert session.segment_info(1)["manual"] and not session.segment_info(4)["manual"]
    session.merge([c, b])  # b's hand-assigned segments follow b into c
    assert session.label_of(1) == session.label_of(3) == c
    session.delete(c)
    assert session.label_of(1) == UNLABELLED and session.counts().get(c) is None
    for bad, message in [([0], "no segment 0"), ([241], "no segment 241")]:
        with pytest.raises(SessionError, match=message):
            session.assign(bad, a)
    with pytest.raises(ValueError):
        session.assign(["one"], a)
    with pytest.raises(SessionError, match="no label 42"):
        session.assign([5], 42)


# --- undo / redo --------------------------------------------------------------------------------------

def test_undo_redo_any_number_of_steps(session):
    history = [snapshot(session)]
    steps = [lambda s: s.rename(0, "a"), lambda s: s.merge([0, 1]), lambda s: s.assign([200, 201], 0),
             lambda s: s.hide(2), lambda s: s.set_colour(3, "#000000"), lambda s: s.split(0),
             lambda s: s.create_label("new", [100]), lambda s: s.recut(2), lambda s: s.recut(None)]
    for step in steps:
        step(session)
        history.append(snapshot(session))
    for k in range(len(steps), 0, -1):
        session.undo()
        labels, labs = history[k - 1]
        np.testing.assert_array_equal(session.label_of_segment(), labels)
        assert session.labels == labs
    with pytest.raises(SessionError, match="nothing to undo"):
        session.undo()
    for k in range(1, len(steps) + 1):
        session.redo()
        np.testing.assert_array_equal(session.label_of_segment(), history[k][0])
        assert session.labels == history[k][1]
    with pytest.raises(SessionError, match="nothing to redo"):
        session.redo()
    # a new edit after undo drops the undone tail
    session.undo()
    session.undo()
    session.rename(3, "z")
    assert not session.can_redo and len(session.edits) == len(steps) - 1


def test_observers_hear_edits_undo_and_redo(session):
    events = []
    session.observe(events.append)
    session.rename(0, "a")
    session.undo()
    session.redo()
    session.unobserve(events.append)
    session.hide(0)
    assert [e["op"] for e in events] == ["rename", "undo", "redo"]
    assert [e["description"] for e in events] == ["rename 'cluster 0' to 'a'"] * 3  # undo/redo say what


# --- saving, loading, safety --------------------------------------------------------------------------

def test_autosave_and_resume_after_restart(blob_parts, tmp_path):
    path = tmp_path / "labels.sqlite"
    s = LabelSession(*blob_parts, autosave=path)
    s.rename(0, "water")
    s.merge([1, 2], name="fields")
    s.assign([5], 3)
    s.split(3)
    s.hide(0)
    s.undo()  # the undone edit is kept for redo across the restart
    log = stored_log(path)
    assert log.position == 4 and len(log.edits) == 5 and log.edits[0] == {"op": "rename", "label": 0, "name": "water"}
    resumed = LabelSession.load(path, *blob_parts)
    np.testing.assert_array_equal(resumed.label_of_segment(), s.label_of_segment())
    assert resumed.labels == s.labels and resumed.can_redo
    resumed.redo()
    assert resumed.label(0).hidden
    assert LabelSession.load(path, *blob_parts).label(0).hidden  # the redo was autosaved too
    with pytest.raises(SessionError, match="already holds a session"):
        LabelSession(*blob_parts, autosave=path)
    opened = LabelSession.open(path, *blob_parts)
    assert opened.label_by_name("fields").id == 1


def test_corrupt_session_file_is_reported_and_kept(blob_parts, tmp_path):
    """``session.json``, the portable file: saved atomically with a ``.bak``; a damaged one is refused, untouched."""
    path = tmp_path / "s.json"
    s = LabelSession(*blob_parts)
    s.rename(0, "water")
    s.save(path)
    s.rename(1, "fields")
    s.save(path)  # the .bak now holds the session after the first rename
    good = path.read_text()
    path.write_text(good[: len(good) // 2])  # cut short
    with pytest.raises(SessionError, match=r"not valid JSON.*previous good version is kept in .*s\.json\.bak"):
        LabelSession.load(path, *blob_parts)
    with pytest.raises(SessionError, match="not valid JSON"):
        LabelSession.open(path, *blob_parts)
    assert path.read_text() == good[: len(good) // 2]  # never overwritten
    assert not (tmp_path / "s.sqlite").exists()  # nothing migrated from a damaged file
    backup = LabelSession.load(path.with_name("s.json.bak"), *blob_parts, autosave=False)
    assert backup.label(0).name == "water"
    for content, message in [("[1, 2]", "not an s2label session"), ('{"format": "s2label-session", "version": 99}',
                                                                    "version 99"),
                             ('{"format": "s2label-session", "version": 1, "edits": {}, "position": 0}',
                              "damaged edit log")]:
        path.write_text(content)
        with pytest.raises(SessionError, match=message):
            LabelSession.load(path, *blob_parts)


def test_edit_log_that_cannot_be_replayed(blob_parts, tmp_path):
    path = tmp_path / "s.json"
    s = LabelSession(*blob_parts)
    s.rename(0, "water")
    s.rename(1, "fields")
    doc = json.loads(s.save(path).read_text())
    doc["edits"][1] = {"op": "rename", "label": 77, "name": "x"}
    path.write_text(json.dumps(doc))
    with pytest.raises(SessionError, match="edit 2 of 2 cannot be replayed.*no label 77"):
        LabelSession.load(path, *blob_parts)
    doc["edits"][1] = {"op": "__import__('os')", "label": 1}
    path.write_text(json.dumps(doc))
    with pytest.raises(SessionError, match="unknown edit"):
        LabelSession.load(path, *blob_parts)


def test_file_from_another_scene_is_refused(blob_parts, crop_result, tmp_path):
    path = tmp_path / "s.json"
    LabelSession(*blob_parts, autosave=path).rename(0, "water")
    with pytest.raises(SessionError, match="another scene"):
        LabelSession.load(path, crop_result.segmentation, crop_result.embeddings, crop_result.clustering)


def test_predicted_clustering_cannot_be_recut(blob_parts):
    seg, emb, clustering = blob_parts
    s = LabelSession(seg, emb, predict_clustering(clustering.model, emb))
    s.merge([0, 1])
    with pytest.raises(SessionError, match="saved model"):
        s.split(0)
    with pytest.raises(SessionError, match="saved model"):
        s.recut(1)


# --- on the real scene --------------------------------------------------------------------------------

def test_real_session_export(crop_cnn_gnn, tmp_path):
    s = LabelSession.from_result(crop_cnn_gnn, autosave=tmp_path / "session.sqlite")
    assert s.spectra.shape == (crop_cnn_gnn.segmentation.n_segments, 13) and "B8A" in s.segment_info(1)["spectrum"]
    ids = [lab.id for lab in s.labels]
    assert len(ids) >= 3
    s.rename(ids[0], "water")
    s.merge(ids[1:3], name="fields")
    s.hide(ids[1])
    s.assign([1, 2], ids[0])
    s.export(tmp_path / "labels.geojson")
    s.export(tmp_path / "labels.gpkg")
    s.export(tmp_path / "labels.tif")
    doc = json.loads((tmp_path / "labels.geojson").read_text())
    props = {f["properties"]["name"]: f["properties"] for f in doc["features"]}
    assert "unlabelled" not in props and len(props) == len(s.labels)
    assert props["fields"]["clusters"] == f"{ids[1]},{ids[2]}" and props["fields"]["provenance"] == "automatic"
    assert props["water"]["provenance"] == "automatic+manual" and props["water"]["n_manual"] >= 1
    assert props["fields"]["hidden"] is True and props["water"]["hidden"] is False
    assert sum(p["n_segments"] for p in props.values()) == int((s.label_of_segment() >= 0).sum())
    with rasterio.open(tmp_path / "labels.tif") as src:
        raster = src.read(1)
        names = json.loads(src.tags()["S2LABEL_NAMES"])
    assert names[str(ids[0])] == "water"
    np.testing.assert_array_equal(raster[crop_cnn_gnn.segmentation.ids == 1], ids[0] + 1)  # palette code: id + 1
    shown = s.polygons(include_hidden=False)
    assert "fields" not in {p["name"] for p in shown.properties}
    with pytest.raises(SessionError, match="use .geojson, .gpkg or .tif"):
        s.export(tmp_path / "labels.shp")
    resumed = LabelSession.load(tmp_path / "session.json", crop_cnn_gnn.segmentation, crop_cnn_gnn.embeddings,
                                crop_cnn_gnn.clustering)
    np.testing.assert_array_equal(resumed.label_of_segment(), s.label_of_segment())


# --- merging names -------------------------------------------------------------------------------------------

def test_merge_takes_the_name_the_researcher_gave(session):
    a, b, c = (blob_label(session, k) for k in range(3))
    session.rename(b, "grass")
    session.merge([a, b, c])  # no name asked for: the one the researcher gave wins over "cluster a"
    assert session.label(a).name == "grass" and session.label(a).edited
    session.undo()
    session.merge([a, c])  # none named: the first label's name
    assert session.label(a).name == f"cluster {a}"
    assert session.describe(session.position - 1) == f"merge 'cluster {a}', 'cluster {c}' into 'cluster {a}'"
