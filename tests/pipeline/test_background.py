"""The learned run in a child process: progress, publishing only a finished run, stopping, failing."""

import dataclasses
import subprocess
import sys
import textwrap
import time

import pytest
import torch

import s2label
from s2label.encoders.encoder import GNNConfig
from s2label.errors import OutputError
from s2label.pipeline.background import JOB_PREFIX, LearnedRun, parse_progress, remove_stale_jobs
from s2label.pipeline.options import RunOptions
from s2label.pipeline.run_folder import RUN_FILES, is_finished, load_run


@pytest.fixture(scope="module")
def small():
    """160 x 160 px of the real default scene: a learned run of seconds."""
    return s2label.sample_scene(window=((600, 760), (600, 760)))


def quick(cnn, *, steps=None, **more):
    cnn = cnn if steps is None else dataclasses.replace(cnn, steps=steps)
    return RunOptions.from_keywords(cnn=cnn, gnn=GNNConfig(epochs=10), reduce="pca", **more)


def test_progress_from_the_bars_of_a_log():
    assert parse_progress("").text == "starting" and parse_progress("").fraction == 0
    log = ("s2label:  12%|#2   | 1/8 [00:01<00:07, 1.0s/stage, train]\rtrain cnn:  50%|#####     | 150/300 "
           "[00:30<00:30, 5.0it/s]\n")
    p = parse_progress(log)
    assert (p.stage, p.fraction, p.text) == ("train", (1 + 0.5) / 8, "train cnn 50% (stage 2 of 8: train)")
    # a new stage of the outer bar resets the inner one
    p = parse_progress(log + "\rs2label:  62%|######2   | 5/8 [00:40<00:10, 8.0s/stage, gnn]")
    assert (p.stage, p.fraction, p.text) == ("gnn", 5 / 8, "stage 6 of 8: gnn")


def test_a_learned_run_publishes_a_finished_run_and_its_progress_moves(small, tiny_cnn, tmp_path):
    job = LearnedRun(small, tmp_path, quick(tiny_cnn)).start()
    seen = set()
    while job.state == "running":
        seen.add(job.progress().stage)
        names = {p.name for p in tmp_path.iterdir()}
        assert "report.json" not in names or set(RUN_FILES) <= names  # a finished run is a whole one
        time.sleep(0.3)
    assert job.state == "finished", job.error
    assert {"train"} <= seen and job.progress().fraction == 1.0
    assert set(RUN_FILES) <= {p.name for p in tmp_path.iterdir()}
    result = load_run(tmp_path, small)
    assert result.embeddings.encoder == "cnn-gnn" and result.report["params"]["encoder"] == "cnn-gnn"
    assert not (tmp_path / "spectral").exists()  # the job writes no first look of its own
    job.cleanup()
    assert not list(tmp_path.glob(f"{JOB_PREFIX}*"))
    with pytest.raises(OutputError, match="finished run already"):
        LearnedRun(small, tmp_path, quick(tiny_cnn)).start()


def test_stopping_mid_training_leaves_no_run(small, tiny_cnn, tmp_path):
    job = LearnedRun(small, tmp_path, quick(tiny_cnn, steps=5000)).start()
    deadline = time.monotonic() + 120
    while job.progress().stage != "train" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.state == "running"
    job.stop()
    assert job.state == "stopped" and list(tmp_path.iterdir()) == []


def test_the_child_ends_with_the_process_that_started_it(small, tiny_cnn, tmp_path):
    """A kernel restart mid-training: the child stops by itself; the next job clears its folder."""
    import pickle

    (tmp_path / "job.pkl").write_bytes(pickle.dumps((small, quick(tiny_cnn, steps=5000))))
    parent = textwrap.dedent(f"""
        import os, pickle, time
        from s2label.pipeline.background import LearnedRun
        scene, options = pickle.load(open({str(tmp_path / "job.pkl")!r}, "rb"))
        job = LearnedRun(scene, {str(tmp_path / "out")!r}, options).start()
        while not (job.folder / "pid").exists():
            time.sleep(0.1)
        print((job.folder / "pid").read_text(), flush=True)
        os._exit(0)  # gone without closing anything, as a killed kernel
    """)
    proc = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, timeout=120)
    pid = int(proc.stdout.strip())
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(pid)
    out = tmp_path / "out"
    assert not is_finished(out) and [p.name.startswith(JOB_PREFIX) for p in out.iterdir()] == [True]
    assert len(remove_stale_jobs(out)) == 1 and list(out.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_failed_training_says_why(small, tiny_cnn, tmp_path):
    job = LearnedRun(small, tmp_path, quick(tiny_cnn, device="cuda")).start()
    assert job.wait(120) == "failed"
    assert "no CUDA device" in job.error and not is_finished(tmp_path)


def _alive(pid):
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
