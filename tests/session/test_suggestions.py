"""Tests of s2label.session.suggestions: propagation, the review queue, similar segments, provenance."""

import json
import threading

import numpy as np
import pytest

import s2label
from s2label.errors import SessionError
from s2label.session.label_session import UNLABELLED, LabelSession
from tests.conftest import stored_log
from tests.session.conftest import blob_label


def test_create_label_and_similarity(session):
    new = session.create_label("my fields", [5, 6, 7])
    assert new == 4 and session.label(new).source == "manual"
    assert [session.label_of(s) for s in (5, 6, 7)] == [new] * 3
    sim = session.similar([200])
    chosen = sim.select(0.9)
    water = session.label_from_similarity(sim, 0.9, "like 200")
    lab = session.label(water)
    assert lab.source == "similar" and lab.details["positives"] == [200] and lab.details["threshold"] == 0.9
    assert set(np.flatnonzero(session.label_of_segment() == water) + 1) == set(chosen.tolist())
    assert set(chosen.tolist()) <= set(range(181, 241))  # segment 200 is in the far blob
    with pytest.raises(SessionError, match="lower the threshold"):
        session.label_from_similarity(sim, 2.0, "nothing")
    with pytest.raises(SessionError, match="already used"):
        session.create_label("My Fields")
    first, second = blob_label(session, 0), blob_label(session, 1)
    session.assign([70], first)  # segment 70 lies in the second blob
    table = {row["label"]: row for row in session.label_table()}
    assert table[water]["provenance"] == "similar" and table[new]["provenance"] == "manual"
    assert table[first]["provenance"] == "automatic+manual" and table[first]["n_manual"] == 1
    assert table[second]["provenance"] == "automatic" and table[second]["n_manual"] == 0


def test_noise_queue_and_segment_info(session, blob_parts):
    session.assign([10, 11], UNLABELLED)
    queue = session.noise_queue()
    scores = blob_parts[2].outlier_scores[queue - 1]
    assert set(queue.tolist()) >= {10, 11}
    assert np.all(np.diff(scores) <= 0)
    info = session.segment_info(10)
    assert info["label"] == UNLABELLED and info["name"] == "unlabelled" and info["area_px"] == 1
    for bad in (0, 241, "3", 2.0):
        with pytest.raises(SessionError):
            session.segment_info(bad)


def test_propagation_recovers_planted_classes_from_one_hand_label_each(session, blob_parts):
    """Four blobs, one hand label in each: every segment of a blob gets its blob's label, with a probability."""
    made = [session.create_label(f"class {k}", [k * 60 + 30]) for k in range(4)]
    session.propagate()
    labels = session.label_of_segment()
    for k, lid in enumerate(made):
        assert (labels[k * 60:(k + 1) * 60] == lid).mean() >= 0.95, k
    provenance = session.provenance()
    assert set(provenance[[29, 89, 149, 209]]) == {"manual"}  # rows of segments 30, 90, 150, 210
    assert (provenance == "predicted").sum() >= 0.95 * 236
    p = session.probabilities()
    assert p[29] == 1.0 and 0.25 < float(np.median(p[provenance == "predicted"])) <= 1.0
    assert session.describe(session.position - 1).startswith("propagate the labels given")


def test_propagation_never_changes_a_hand_label_and_undoes_exactly(session, blob_parts, tmp_path):
    a, b = session.create_label("near", [1, 4, 5]), session.create_label("far", [200])
    session.assign([2, 3], b)  # by hand, against the embedding: two blob-0 segments called "far"
    before = session.label_of_segment().copy()
    session.propagate()
    labels = session.label_of_segment()
    assert labels[1] == labels[2] == b and labels[0] == a  # hand labels win
    assert (labels[3:60] == a).mean() > 0.9 and (labels[180:240] == b).mean() > 0.9
    session.undo()
    np.testing.assert_array_equal(session.label_of_segment(), before)
    session.redo()
    np.testing.assert_array_equal(session.label_of_segment(), labels)
    session.assign([10], b)  # a hand label after the propagation wins too
    assert session.label_of(10) == b
    session.delete(a)  # a label deleted after a propagation: its predicted segments are unlabelled, not stale
    assert (session.label_of_segment()[3:60] == UNLABELLED).mean() > 0.9


def test_propagation_replays_after_a_restart(blob_parts, tmp_path):
    path = tmp_path / "s.json"
    s = LabelSession(*blob_parts, autosave=path)
    s.rename(s.label_of(1), "water")  # a named cluster: weak examples
    s.create_label("odd", [200])
    s.propagate(alpha=0.8, k=5)
    resumed = LabelSession.load(path, *blob_parts)
    np.testing.assert_array_equal(resumed.label_of_segment(), s.label_of_segment())
    np.testing.assert_array_equal(resumed.probabilities(), s.probabilities())


def test_propagation_needs_two_labels(session):
    with pytest.raises(SessionError, match="nothing to propagate"):
        session.propagate()  # unnamed clusters are no examples
    session.create_label("only", [5])
    with pytest.raises(SessionError, match="at least two labels"):
        session.propagate()
    assert [e["op"] for e in session.edits] == ["create"]  # refused: no trace
    session.create_label("other", [100])
    with pytest.raises(SessionError, match="alpha"):
        session.propagate(alpha=1.5)


def test_propagation_on_a_real_scene_follows_its_clusters(crop_result):
    """Two hand labels on the real crop, in its two largest clusters: the propagation gives most of each cluster
    its label (the segment graph and the clustering space agree), and keeps both hand labels."""
    s = LabelSession.from_result(crop_result)
    clusters = np.asarray(crop_result.clustering.cluster)
    big = np.argsort(np.bincount(clusters[clusters >= 0]))[-2:]
    areas = crop_result.segmentation.areas()
    seeds = [int(np.flatnonzero(clusters == c)[np.argmax(areas[clusters == c])] + 1) for c in big]
    made = [s.create_label(f"class {c}", [seed]) for c, seed in zip(big, seeds, strict=True)]
    s.propagate()
    labels = s.label_of_segment()
    assert [s.label_of(seed) for seed in seeds] == made
    for c, lid in zip(big, made, strict=True):
        assert (labels[clusters == c] == lid).mean() > 0.7, c
    assert (s.provenance() == "predicted").mean() > 0.9


def test_review_queue_ranks_by_uncertainty_and_spreads_out(session, blob_parts):
    seg, emb, clustering = blob_parts
    graph = s2label.build_graph(seg)
    touching = set(zip(*graph.edge_index.tolist(), strict=True))
    # before any propagation: by outlier score, spread out, never a hand label
    session.assign([int(np.argmax(clustering.outlier_scores)) + 1], 0)
    queue = session.review_queue(12)
    rows = queue - 1
    assert len(queue) == 12 and not session.manual_rows()[rows].any()
    scores = np.asarray(clustering.outlier_scores)[rows]
    assert np.all(np.diff(scores) <= 1e-12)  # most unusual first
    assert not any((a, b) in touching for a in rows for b in rows if a != b)  # no two touching
    # after a propagation: the smallest margins first
    for k in range(4):
        session.create_label(f"class {k}", [k * 60 + 30])
    session.propagate()
    queue = session.review_queue(8)
    margins = np.asarray(session._states[session.position].predicted[2])[queue - 1]
    eligible = ~session.manual_rows()
    assert margins[0] == pytest.approx(margins.min()) == pytest.approx(np.asarray(
        session._states[session.position].predicted[2])[eligible].min())
    assert np.all(np.diff(margins) >= -1e-9)
    assert not any((a, b) in touching for a in queue - 1 for b in queue - 1 if a != b)
    with pytest.raises(SessionError, match="at least 1"):
        session.review_queue(0)


def test_export_carries_provenance_and_probability_of_a_propagation(blob_parts, tmp_path):
    s = LabelSession(*blob_parts)
    a = s.create_label("near", [30])
    s.create_label("far", [210])
    s.propagate()
    table = {row["label"]: row for row in s.label_table()}
    assert table[a]["provenance"] == "predicted+manual" and table[a]["n_manual"] == 1
    assert table[a]["n_predicted"] == table[a]["n_segments"] - 1 and 0 < table[a]["probability"] <= 1
    doc = json.loads(s.export(tmp_path / "labels.geojson").read_text())
    props = {f["properties"]["name"]: f["properties"] for f in doc["features"]}
    assert props["far"]["provenance"] == "predicted+manual" and props["far"]["n_predicted"] > 0
    assert 0 < props["far"]["probability"] <= 1


def test_a_prepared_propagation_commits_the_edit_propagate_writes_or_nothing(blob_parts, tmp_path):
    """prepare_propagation computes off the log (nothing changes); commit_prepared appends exactly the edit and
    labels of propagate() (autosaved, heard, undone like any edit), and refuses once the session moved on."""
    path = tmp_path / "s.json"
    s = LabelSession(*blob_parts, autosave=path)
    heard = []
    s.observe(heard.append)
    near, far = s.create_label("near", [30]), s.create_label("far", [210])
    before = s.label_of_segment().copy()
    prepared = s.prepare_propagation(alpha=0.8, k=5)
    assert (prepared.position, prepared.n_edits) == (2, 2) and len(s.edits) == 2
    np.testing.assert_array_equal(s.label_of_segment(), before)
    assert s.commit_prepared(prepared)
    reference = LabelSession(*blob_parts)
    reference.create_label("near", [30])
    reference.create_label("far", [210])
    reference.propagate(alpha=0.8, k=5)
    assert s.edits == reference.edits and s.edits[-1] == {"op": "propagate", "alpha": 0.8, "k": 5, "spatial": 0.5}
    np.testing.assert_array_equal(s.label_of_segment(), reference.label_of_segment())
    np.testing.assert_array_equal(s.probabilities(), reference.probabilities())
    assert heard[-1]["op"] == "propagate" and heard[-1]["description"] == reference.describe(2)
    np.testing.assert_array_equal(LabelSession.load(path, *blob_parts).label_of_segment(), s.label_of_segment())
    assert not s.commit_prepared(prepared)  # once only: the session is past it
    s.undo()
    np.testing.assert_array_equal(s.label_of_segment(), before)
    # outdated by an edit, or by an undo: nothing changes, nothing is heard or written
    for move in (lambda: s.assign([1], far), s.undo):
        stale = s.prepare_propagation()
        move()
        edits, labels, n_heard, saved = s.edits, s.label_of_segment().copy(), len(heard), stored_log(path)
        assert not s.commit_prepared(stale)
        assert s.edits == edits and len(heard) == n_heard and stored_log(path) == saved
        np.testing.assert_array_equal(s.label_of_segment(), labels)
    # computed in another thread while this one reads: the same result
    done = []
    worker = threading.Thread(target=lambda: done.append(s.prepare_propagation()))
    worker.start()
    s.review_queue(5)
    worker.join(60)
    assert s.commit_prepared(done[0]) and s.label_of(30) == near and s.edits[-1]["op"] == "propagate"
    one = LabelSession(*blob_parts)
    one.create_label("only", [5])
    with pytest.raises(SessionError, match="at least two labels"):
        one.prepare_propagation()  # raised as propagate() raises it
    assert [e["op"] for e in one.edits] == ["create"]


def test_prepared_commits_from_a_thread_and_edits_from_this_one_never_interleave(blob_parts, tmp_path):
    """A worker preparing and committing propagations while this thread edits: every edit is kept, and the
    labels in memory are those the log replays to after a restart."""
    path = tmp_path / "s.json"
    s = LabelSession(*blob_parts, autosave=path)
    near, far = s.create_label("near", [30]), s.create_label("far", [210])
    committed = []

    def worker():
        for _ in range(8):
            committed.append(s.commit_prepared(s.prepare_propagation()))

    thread = threading.Thread(target=worker)
    thread.start()
    for i in range(24):
        s.assign([40 + i], (near, far)[i % 2])
    thread.join(120)
    assert not thread.is_alive() and len(committed) == 8
    ops = [e["op"] for e in s.edits]
    assert ops.count("assign") == 24 and ops.count("propagate") == committed.count(True)
    resumed = LabelSession.load(path, *blob_parts)
    assert resumed.edits == s.edits
    np.testing.assert_array_equal(resumed.label_of_segment(), s.label_of_segment())
    np.testing.assert_array_equal(resumed.probabilities(), s.probabilities())
