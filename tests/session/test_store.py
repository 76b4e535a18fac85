"""The session store (issue 14): transactions, many windows and processes on one store, crashes, bad stores.

Real processes, not mocks: children edit the same store as the test, are killed with SIGKILL, or run with a file
size limit (a disk that fills).
"""

import json
import os
import queue
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from s2label.errors import OutputError, S2LabelWarning, SessionError
from s2label.session.label_session import LabelSession
from s2label.session.store import SessionStore, is_store
from tests.conftest import stored_log

ROOT = Path(__file__).resolve().parents[2]


def child(script: str, *args: str, **kwargs) -> subprocess.Popen:
    """A Python process running ``script`` from the repository root (so ``tests.conftest`` imports)."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def names(session_or_log) -> list[str]:
    return [e["name"] for e in session_or_log.edits if e["op"] == "rename"]


# --- many windows, one session ------------------------------------------------------------------------------

def test_two_windows_see_each_others_edits_and_lose_none(blob_parts, tmp_path):
    """The issue's case: rename in one window, rename in a second, reopen: both renames are there."""
    path = tmp_path / "session.sqlite"
    first = LabelSession(*blob_parts, autosave=path, annotator="ana")
    second = LabelSession.load(path, *blob_parts, annotator="ben")
    heard = []
    second.observe(heard.append)
    first.rename(0, "water")
    assert second.behind and second.label(0).name == "cluster 0"  # not yet: after its next edit or a sync
    second.rename(1, "forest")  # catches up first, then applies its own
    assert [e["op"] for e in heard] == ["sync", "rename"] and heard[0]["annotators"] == ["ana"]
    assert heard[0]["message"] == "brought in 1 edit by ana from another window"
    assert [lab.name for lab in second.labels[:2]] == ["water", "forest"]
    assert [lab.name for lab in LabelSession.load(path, *blob_parts).labels[:2]] == ["water", "forest"]
    assert first.sync() and first.label(1).name == "forest" and not first.sync()
    assert [r["annotator"] for r in first.annotations] == ["ana", "ben"]


def test_undo_acts_on_ones_own_edits_and_says_when_anothers_stands_between(blob_parts, tmp_path):
    path = tmp_path / "session.sqlite"
    ana = LabelSession(*blob_parts, autosave=path, annotator="ana")
    ben = LabelSession.load(path, *blob_parts, annotator="ben")
    ana.rename(0, "water")
    ben.rename(1, "forest")
    with pytest.raises(SessionError, match=r"the last edit \(rename 'cluster 1' to 'forest'\) is ben's.*ana's own "
                                           r"edits.*ben can undo it there"):
        ana.undo()
    assert ana.label(1).name == "forest" and stored_log(path).position == 2  # nothing undone, nothing written
    ben.undo()
    ana.undo()  # now its own edit is the last one
    assert [lab.name for lab in LabelSession.load(path, *blob_parts).labels[:2]] == ["cluster 0", "cluster 1"]
    with pytest.raises(SessionError, match=r"the next edit \(rename 'cluster 0' to 'water'\) is ana's"):
        ben.redo()
    ana.redo()
    ben.redo()
    ben.undo()
    ana.rename(2, "sand")  # a new edit ends what can be redone: ben's undone rename is dropped, not deleted
    assert ben.sync() and not ben.can_redo and ben.label(2).name == "sand"
    assert names(LabelSession.load(path, *blob_parts)) == ["water", "sand"]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM edits WHERE dropped = 1").fetchone()[0] == 1


def test_a_prepared_edit_is_not_committed_over_another_windows_edit(blob_parts, tmp_path):
    path = tmp_path / "session.sqlite"
    first = LabelSession(*blob_parts, autosave=path)
    first.create_label("near", [30])
    first.create_label("far", [210])
    second = LabelSession.load(path, *blob_parts)
    prepared = first.prepare_propagation()
    second.assign([100], 4)
    assert not first.commit_prepared(prepared)  # outdated by the other window's edit: nothing written
    assert first.label_of(100) == 4 and [e["op"] for e in stored_log(path).edits] == ["create", "create", "assign"]
    assert first.commit_prepared(first.prepare_propagation())


def test_merging_a_colleagues_copy_brings_in_their_edits_once(blob_parts, tmp_path):
    mine = LabelSession(*blob_parts, autosave=tmp_path / "mine.sqlite", annotator="ana")
    mine.rename(0, "water")
    copy = tmp_path / "colleague.json"
    mine.save(copy)
    theirs = LabelSession.load(copy, *blob_parts, annotator="ben")  # migrated into colleague.sqlite
    theirs.rename(1, "forest")
    theirs.rename(2, "dune")
    mine.delete(2)  # meanwhile, here
    assert mine.merge_from(theirs.autosave_path) == (1, 1)  # 'forest' comes in; the rename of label 2 cannot
    assert mine.merge_from(theirs) == (0, 1)  # nothing new the second time
    assert [lab.name for lab in mine.labels[:2]] == ["water", "forest"] and 2 not in {lab.id for lab in mine.labels}
    assert [r["annotator"] for r in mine.annotations] == ["ana", "ana", "ben"]
    assert mine.annotations[2]["time"] == theirs.annotations[1]["time"]  # kept as it was made


def test_two_processes_500_interleaved_edits_each_land_in_one_order(blob_parts, tmp_path):
    """Two processes edit one store at random moments, 500 edits each: at the end both, and a third process
    opening it afresh, hold all 1,000 edits in the same order, each process's own in the order it made them."""
    path = tmp_path / "session.sqlite"
    LabelSession(*blob_parts, autosave=path)
    script = f"""
    import json, os, random, sys, time
    from s2label.session.label_session import LabelSession
    from tests.conftest import make_blob_parts
    who = int(sys.argv[1])
    s = LabelSession.load({str(path)!r}, *make_blob_parts(), annotator=f"p{{who}}")
    open({str(tmp_path)!r} + f"/ready{{who}}", "w").close()
    while not os.path.exists({str(tmp_path)!r} + "/go"):
        time.sleep(0.005)
    rng = random.Random(who)
    for i in range(500):
        if i % 2:
            s.rename(2 * who + i % 4 // 2, f"p{{who}}-{{i}}")
        else:
            s.assign([who * 120 + i % 120 + 1], 2 * who + 1)
        time.sleep(rng.uniform(0, 0.003))
    open({str(tmp_path)!r} + f"/done{{who}}", "w").close()
    while not all(os.path.exists({str(tmp_path)!r} + f"/done{{k}}") for k in (0, 1)):
        time.sleep(0.01)
    s.sync()
    print(json.dumps([s.edits, s.annotations, s.label_of_segment().tolist()]))
    """
    procs = [child(script, str(k)) for k in (0, 1)]
    deadline = time.monotonic() + 600
    while not all((tmp_path / f"ready{k}").exists() for k in (0, 1)) and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "go").touch()
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    (edits0, records0, labels0), (edits1, records1, labels1) = (json.loads(out) for out, _ in outs)
    third = LabelSession.load(path, *blob_parts)
    assert len(third.edits) == 1000 and list(third.edits) == edits0 == edits1
    assert [r["annotator"] for r in third.annotations] == [r["annotator"] for r in records0]
    assert third.label_of_segment().tolist() == labels0 == labels1
    for who in (0, 1):
        own = [e for e, r in zip(third.edits, third.annotations, strict=True) if r["annotator"] == f"p{who}"]
        assert [e.get("name") for e in own][1::2] == [f"p{who}-{i}" for i in range(1, 500, 2)]
        assert [e.get("segments") for e in own][::2] == [[who * 120 + i % 120 + 1] for i in range(0, 500, 2)]
    runs = np.diff([r["annotator"] == "p0" for r in third.annotations]).astype(bool).sum()
    assert runs > 20, "the two processes did not interleave"


# --- crashes ------------------------------------------------------------------------------------------------

def test_a_process_killed_at_50_random_moments_loses_no_acknowledged_edit(blob_parts, tmp_path):
    """A child applies edits in a loop and prints each acknowledged one; it is killed with SIGKILL at 50 random
    moments (a fork of one warm process, so each starts in milliseconds). After each kill the store opens, is
    intact and holds every acknowledged edit, in order."""
    path = tmp_path / "session.sqlite"
    LabelSession(*blob_parts, autosave=path)
    zygote = child(f"""
    import os, sys
    from s2label.session.label_session import LabelSession
    from tests.conftest import make_blob_parts
    parts = make_blob_parts()
    print("ready", flush=True)
    for line in sys.stdin:
        run = int(line)
        pid = os.fork()
        if pid == 0:  # the child: open the store afresh and edit until killed
            try:
                s = LabelSession.load({str(path)!r}, *parts)
            except BaseException as exc:
                print("failed", repr(exc).replace(" ", "_"), flush=True)
                os._exit(1)
            os.write(1, f"open {{run}}\\n".encode())  # one write: a kill never leaves half a line
            for i in range(100000):
                s.rename(i % 4, f"r{{run}}-{{i}}")
                os.write(1, f"ack {{run}} r{{run}}-{{i}}\\n".encode())
        print("pid", run, pid, flush=True)
        os.waitpid(pid, 0)
        print("dead", run, flush=True)
    """, stdin=subprocess.PIPE, bufsize=1)
    lines: queue.Queue[list[str]] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.split()) for line in zygote.stdout], daemon=True).start()

    def read() -> list[str]:
        try:
            return lines.get(timeout=120)
        except queue.Empty:
            zygote.kill()
            pytest.fail(f"the editing process stopped answering: {zygote.communicate()[1]}")

    rng = random.Random(14)
    acknowledged: list[str] = []
    try:
        assert read() == ["ready"]
        for run in range(50):
            zygote.stdin.write(f"{run}\n")
            zygote.stdin.flush()
            pid, opened, n_ack, target = None, False, 0, rng.randint(0, 25)
            while pid is None or not opened or n_ack < target:
                words = read()
                if words[0] == "pid":
                    pid = int(words[2])
                elif words[0] == "open":
                    opened = True
                elif words[0] == "ack":
                    acknowledged.append(words[2])
                    n_ack += 1
                elif words[0] == "dead":
                    pytest.fail(f"the editing process died by itself: {words}")
            time.sleep(rng.uniform(0, 0.004))  # anywhere in the next edit: before, inside or after its commit
            os.kill(pid, signal.SIGKILL)
            for words in iter(read, ["dead", str(run)]):
                if words[0] == "ack":
                    acknowledged.append(words[2])  # printed before the kill landed
            with sqlite3.connect(path) as db:
                assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            held = names(LabelSession.load(path, *blob_parts, autosave=False))
            for k in range(run + 1):  # each run's acknowledged edits, and at most the one in flight at the kill
                mine, acked = [n for n in held if n.startswith(f"r{k}-")], [n for n in acknowledged
                                                                            if n.startswith(f"r{k}-")]
                assert mine[: len(acked)] == acked and len(mine) <= len(acked) + 1, (run, k)
    finally:
        zygote.kill()
        zygote.communicate()
    assert len(acknowledged) > 300


# --- bad stores: clear messages, nothing overwritten ---------------------------------------------------------

def test_a_store_on_a_read_only_folder(blob_parts, tmp_path, read_only_dir):
    with pytest.raises(OutputError, match="cannot write here"):
        LabelSession(*blob_parts, autosave=read_only_dir / "session.sqlite")
    assert list(read_only_dir.iterdir()) == []
    # a run folder that turned read-only (a colleague's share): it can be read, not edited
    folder = tmp_path / "run"
    folder.mkdir()
    s = LabelSession(*blob_parts, autosave=folder / "session.sqlite")
    s.rename(0, "water")
    s.close()
    with pytest.raises(SessionError, match="was closed"):
        s.rename(1, "after closing")  # nothing could save it: refused, not kept in memory only
    assert s.label(1).name == "cluster 1"
    before = (folder / "session.sqlite").read_bytes()
    subprocess.run(["chattr", "-i", str(read_only_dir)], check=False)
    read_only_dir.rmdir()
    shutil.copytree(folder, read_only_dir)
    subprocess.run(["chattr", "+i", str(read_only_dir)] if os.geteuid() == 0 else ["chmod", "555", str(read_only_dir)],
                   check=True)
    with pytest.raises(OutputError, match="read-only: open it with autosave=False"):
        LabelSession.load(read_only_dir / "session.sqlite", *blob_parts)
    looked = LabelSession.load(read_only_dir / "session.sqlite", *blob_parts, autosave=False)
    assert looked.label(0).name == "water" and looked.autosave_path is None
    assert (read_only_dir / "session.sqlite").read_bytes() == before
    assert sorted(p.name for p in read_only_dir.iterdir()) == ["session.sqlite"]


def test_a_store_from_another_scene_is_refused(blob_parts, crop_result, tmp_path):
    path = tmp_path / "session.sqlite"
    LabelSession(*blob_parts, autosave=path).rename(0, "water")
    before = path.read_bytes()
    for autosave in (True, False):
        with pytest.raises(SessionError, match="another scene or clustering"):
            LabelSession.load(path, crop_result.segmentation, crop_result.embeddings, crop_result.clustering,
                              autosave=autosave)
    with pytest.raises(SessionError, match="another scene or clustering"):
        LabelSession.open(path, crop_result.segmentation, crop_result.embeddings, crop_result.clustering)
    assert path.read_bytes() == before


def _damage_pages(data: bytes) -> bytes:
    """Overwrite the middle pages of an SQLite file (4 KiB pages) with garbage, leaving the header."""
    page = 4096
    pages = bytearray(data)
    for start in range(page, len(data) - page, page * 2):
        pages[start + 8: start + 200] = bytes(range(192))
    return bytes(pages)


def test_a_damaged_store_is_refused_and_left_as_it_is(blob_parts, tmp_path):
    path = tmp_path / "session.sqlite"
    s = LabelSession(*blob_parts, autosave=path)
    for i in range(300):
        s.rename(i % 4, f"name {i}")
    s.close()
    good = path.read_bytes()
    assert len(good) > 5 * 4096
    not_a_store = tmp_path / "other.sqlite"
    with sqlite3.connect(not_a_store) as db:
        db.execute("CREATE TABLE t (x)")
    cases = {"garbage": (b"\x00\x01 not a database" * 500, "not an SQLite database"),
             "cut short": (good[: len(good) // 2], "damaged"),
             "damaged pages": (_damage_pages(good), "damaged"),
             "another database": (not_a_store.read_bytes(), "not an s2label session store")}
    for case, (content, message) in cases.items():
        path.write_bytes(content)
        for call in (lambda: LabelSession.load(path, *blob_parts), lambda: LabelSession.open(path, *blob_parts),
                     lambda: LabelSession.load(path, *blob_parts, autosave=False)):
            with pytest.raises(SessionError, match=message):
                call()
        assert path.read_bytes() == content, case  # never overwritten, never "repaired" into a new session
    path.write_bytes(good)
    with sqlite3.connect(path) as db:  # a row another program wrote badly
        db.execute("UPDATE edits SET edit = '{not json' WHERE seq = 7")
    with pytest.raises(SessionError, match="edit row 7 is not JSON"):
        LabelSession.load(path, *blob_parts)
    with sqlite3.connect(path) as db:
        db.execute("""UPDATE edits SET edit = '{"op": "rename", "label": 99, "name": "x"}' WHERE seq = 7""")
    with pytest.raises(SessionError, match="edit 7 of 300 cannot be replayed.*no label 99"):
        LabelSession.load(path, *blob_parts)


def test_a_disk_that_fills_keeps_the_last_good_state(blob_parts, tmp_path):
    """A child edits under a file-size limit (RLIMIT_FSIZE, as a full disk answers): the edit that cannot be
    written is refused with a clear message and not kept in memory either; every acknowledged edit is in the
    store, which stays intact and usable once there is room again."""
    path = tmp_path / "session.sqlite"
    LabelSession(*blob_parts, autosave=path).rename(0, "water")
    proc = child(f"""
    import json, resource, signal
    from s2label.errors import OutputError
    from s2label.session.label_session import LabelSession
    from tests.conftest import make_blob_parts
    s = LabelSession.load({str(path)!r}, *make_blob_parts())
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
    done, errors = 0, []
    for i in range(5000):
        try:
            s.assign(list(range(1, 241)), i % 4)  # big edits, to fill the limit quickly
            done += 1
        except OutputError as exc:
            errors.append(str(exc))
            if len(errors) == 3:
                break
    print(json.dumps({{"done": done, "errors": errors, "in_memory": len(s.edits)}}))
    """)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert result["done"] > 10 and len(result["errors"]) == 3
    assert "the change was not made" in result["errors"][0] and "disk full" in result["errors"][0]
    assert result["in_memory"] == 1 + result["done"]  # the refused edits are not kept in memory either
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again = LabelSession.load(path, *blob_parts)
    assert len(again.edits) == 1 + result["done"] and again.label(0).name == "water"
    again.rename(1, "room again")
    assert stored_log(path).edits[-1]["name"] == "room again"


# --- the old format: session.json -----------------------------------------------------------------------------

def test_an_old_session_file_is_migrated_once_and_kept(crop_result, old_session_file, tmp_path):
    """``session-before-pixel-labels.json`` (written by an s2label without the store): opening it migrates it into
    ``session.sqlite`` beside it, once; the file is left byte for byte; later edits go to the store."""
    parts = (crop_result.segmentation, crop_result.embeddings, crop_result.clustering)
    old = old_session_file(tmp_path / "session.json")
    original = old.read_bytes()
    session = LabelSession.open(old, *parts)
    assert session.autosave_path == tmp_path / "session.sqlite" and is_store(session.autosave_path)
    assert [e["op"] for e in session.edits] == ["rename", "rename", "merge", "assign", "propagate"]
    assert session.can_redo and old.read_bytes() == original
    assert SessionStore.open(session.autosave_path, writable=False).info["migrated_from"] == "session.json"
    session.rename(session.labels[-1].id, "after the migration")
    for again in (LabelSession.open(old, *parts), LabelSession.load(tmp_path / "session.sqlite", *parts)):
        assert again.edits[-1]["name"] == "after the migration" and len(again.edits) == 6  # not migrated twice
    assert old.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir() if "sqlite-" not in p.name) == ["session.json", "session.sqlite"]
    old.write_bytes(original.replace(b'"water"', b'"lake"'))  # an older s2label kept using the file
    with pytest.warns(S2LabelWarning, match="changed after it was migrated.*merge_from"):
        LabelSession.open(old, *parts)
    memory = LabelSession.load(old_session_file(tmp_path / "copy.json"), *parts, autosave=False)  # read only
    assert memory.autosave_path is None and len(memory.edits) == 5


def test_save_writes_the_portable_file_or_another_store(blob_parts, tmp_path):
    s = LabelSession(*blob_parts, autosave=tmp_path / "session.sqlite")
    s.rename(0, "water")
    s.hide(1)
    s.undo()
    assert s.save() == tmp_path / "session.sqlite"  # the store holds everything already
    doc = json.loads(s.save(tmp_path / "export.json").read_text())
    assert doc["format"] == "s2label-session" and doc["position"] == 1 and len(doc["edits"]) == 2
    copy = s.save(tmp_path / "copy.sqlite")
    again = LabelSession.load(copy, *blob_parts, autosave=False)
    assert again.edits == s.edits and again.can_redo and again.annotations == s.annotations
