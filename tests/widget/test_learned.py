"""explore's first look: the spectral clusters at once, the learned ones swapped in when trained."""

import dataclasses
import time

import numpy as np
import pytest
import torch

import s2label
from s2label.encoders.encoder import GNNConfig
from s2label.pipeline.background import JOB_PREFIX
from s2label.pipeline.run_folder import SESSION_FILE, is_finished
from s2label.session.label_session import LabelSession

pytestmark = pytest.mark.learned  # each test trains a (tiny) encoder in a child process: ~10 s


@pytest.fixture(scope="module")
def small():
    return s2label.sample_scene(window=((600, 760), (600, 760)))


@pytest.fixture
def learned(tiny_cnn):
    """explore's options of a learned run of seconds (``steps``: a longer one)."""
    def options(steps=None, **more):
        cnn = tiny_cnn if steps is None else dataclasses.replace(tiny_cnn, steps=steps)
        return dict(cnn=cnn, gnn=GNNConfig(epochs=10), progress=False, **more)
    return options


def test_opens_on_the_first_look_and_switches_by_itself_before_any_edit(small, learned, tmp_path):
    start = time.monotonic()
    ex = s2label.explore(small, out=tmp_path, **learned())
    assert time.monotonic() - start < 30  # no training before the map (a 160 px scene: a few seconds)
    assert ex.session.embeddings.encoder == "spectral" and ex.learned.state == "running"
    assert ex.session.autosave_path == tmp_path / "spectral" / SESSION_FILE
    assert ex.learned_box.layout.display is None and "Training the learned encoder" in ex.learned_text.value
    assert ex.wait_for_learned(120)
    assert ex.session.embeddings.encoder == "cnn-gnn" and ex.learned_box.layout.display == "none"
    assert ex.session.autosave_path == tmp_path / SESSION_FILE and is_finished(tmp_path)
    assert not list(tmp_path.glob(f"{JOB_PREFIX}*"))  # the job's folder is gone
    ex.close()


def test_edits_on_the_first_look_carry_over_when_asked(small, learned, tmp_path):
    ex = s2label.explore(small, out=tmp_path, **learned())
    first = ex.session
    water = first.labels[0].id
    ex.session.rename(water, "water")
    ex.session.assign([3, 4], water)
    assert ex.wait_for_learned(120)
    # ready, but not switched: the researcher has edits; the job's folder (and its copy of the scene) is gone
    assert ex.session is first and ex.learned_button.layout.display is None
    assert not list(tmp_path.glob(f"{JOB_PREFIX}*"))
    assert "ready" in ex.learned_text.value
    ex.learned_button.click()
    assert ex.session.embeddings.encoder == "cnn-gnn" and ex.learned_box.layout.display == "none"
    new_water = ex.session.label_by_name("water").id
    assert [ex.session.label_of(s) for s in (3, 4)] == [new_water] * 2
    assert "carried over 1 label(s), 2 segment(s) set by hand" in ex.status.value
    # the first look's session is as it was; after a restart the learned session, with the carried edits
    kept = LabelSession.load(tmp_path / "spectral" / SESSION_FILE, first.segmentation, first.embeddings,
                             first.clustering, autosave=False)
    assert kept.label(water).name == "water" and len(kept.edits) == 2
    ex.close()
    again = s2label.explore(small, out=tmp_path, **learned())
    assert again.session.embeddings.encoder == "cnn-gnn" and again.learned is None
    assert again.session.label_of(3) == again.session.label_by_name("water").id
    # the map, panel and legend show the new session
    assert "water" in [row.name.value for row in again.panel.children]
    again.close()


def test_a_restart_during_training_keeps_the_first_look_and_its_edits(small, learned, tmp_path):
    ex = s2label.explore(small, out=tmp_path, **learned(steps=5000))
    ex.session.rename(ex.session.labels[0].id, "field")
    ex.close()  # stops the training: no run, no job folder
    assert not is_finished(tmp_path) and not list(tmp_path.glob(f"{JOB_PREFIX}*"))
    report = (tmp_path / "spectral" / "report.json").read_text()
    again = s2label.explore(small, out=tmp_path, **learned())
    assert (tmp_path / "spectral" / "report.json").read_text() == report  # the first look reused
    assert again.session.labels[0].name == "field" and again.learned.state == "running"
    assert again.wait_for_learned(120) and again.learned_button.layout.display is None  # edits: asks first
    again.close()
    # and restarted once more after training, before switching: the first look, offering the switch
    third = s2label.explore(small, out=tmp_path, **learned())
    assert third.session.embeddings.encoder == "spectral" and third.learned is None
    assert third.learned_button.layout.display is None
    carried = third.switch_to_learned()
    assert carried.labels and third.session.label_by_name("field")
    third.close()


def test_a_second_window_follows_the_same_training_and_the_first_switch(small, learned, tmp_path):
    one = s2label.explore(small, out=tmp_path, **learned(steps=300))
    two = s2label.explore(small, out=tmp_path, **learned(steps=300))
    assert two.learned.folder == one.learned.folder  # one training, followed by both
    one.session.rename(one.session.labels[0].id, "lake")
    two.bring_in()
    assert one.wait_for_learned(180) and two.wait_for_learned(180)
    assert one.switch_to_learned() is not None
    assert two.switch_to_learned() is None  # the first window's session is opened, nothing carried twice
    assert two.session.label_by_name("lake").id == one.session.label_by_name("lake").id
    one.close()
    two.close()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_failed_training_is_reported_and_the_first_look_stays_usable(small, learned, tmp_path):
    ex = s2label.explore(small, out=tmp_path, **learned(device="cuda"))
    assert ex.wait_for_learned(120)
    assert "could not be trained" in ex.learned_text.value and "CUDA" in ex.learned_text.value
    assert ex.session.embeddings.encoder == "spectral" and not is_finished(tmp_path)
    ex.session.rename(ex.session.labels[0].id, "still works")
    assert np.any(ex.session.label_of_segment() == ex.session.labels[0].id)
    ex.close()


def test_background_false_runs_the_whole_pipeline_first(small, learned, tmp_path):
    ex = s2label.explore(small, out=tmp_path, background=False, **learned())
    assert ex.session.embeddings.encoder == "cnn-gnn" and ex.learned is None
    assert ex.learned_box.layout.display == "none"
    ex.close()
