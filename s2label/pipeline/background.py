"""A learned run in a child process, published into its run folder only once it has finished.

:func:`s2label.explore` shows the first look (:mod:`s2label.pipeline.first_look`) at once and trains the learned
encoder here, in another process, so the kernel and the explorer stay responsive. The child works in a job
folder inside the run folder (``out/.learned-<id>/``: the pickled scene and options, its log, its own run
folder); when its run has finished it moves the files into ``out``, ``report.json`` last, so ``out`` holds a
finished run or none: a job stopped, killed or crashed at any moment leaves no half-written run (only a job
folder, removed by the next job). The child stops by itself when the process that started it ends (a kernel
restart), and runs at a lower priority than the kernel.

Examples
--------
>>> log = ("s2label:  38%|###8      | 3/8 [00:09<00:15, 3.1s/stage, train]"
...        "\\rtrain cnn:  40%|####  | 120/300 [00:20<00:30]")
>>> p = parse_progress(log)
>>> p.stage, round(p.fraction, 3), p.text
('train', 0.425, 'train cnn 40% (stage 4 of 8: train)')
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s2label.errors import OutputError, S2LabelError
from s2label.io.scene import Scene
from s2label.pipeline.options import RunOptions
from s2label.pipeline.run_folder import REPORT_FILE, is_finished

__all__ = ["LearnedRun", "Progress", "parse_progress", "remove_stale_jobs", "publish", "JOB_PREFIX"]

#: The job folders' names begin so (inside the run folder).
JOB_PREFIX = ".learned-"
_JOB_FILE, _LOG_FILE, _ERROR_FILE, _PID_FILE, _RUN_DIR = "job.pkl", "log.txt", "error.txt", "pid", "run"
_BAR = re.compile(r"^\s*(?P<desc>[^:|]+?):\s+(?P<pct>\d+)%\|.*?\|\s*(?P<n>\d+)/(?P<total>\d+)(?P<rest>.*)$")


@dataclass(frozen=True)
class Progress:
    """How far a learned run has gone.

    Attributes
    ----------
    fraction : float
        0 to 1, over the run's stages (the stage under way counted by its own bar).
    stage : str
        The stage under way (``""`` before the first).
    text : str
        One line for a person.
    """

    fraction: float
    stage: str
    text: str


def parse_progress(log: str) -> Progress:
    """The progress shown by the last progress bars of a run's log (tqdm's lines, separated by ``\\r``).

    Parameters
    ----------
    log : str
        The run's log so far: the outer ``s2label`` bar over the stages and the bars within a stage.

    Returns
    -------
    Progress
        ``Progress(0.0, "", "starting")`` before the first stage bar.
    """
    outer: tuple[int, int, str] | None = None
    inner: tuple[str, int] | None = None
    for line in re.split(r"[\r\n]+", log):
        bar = _BAR.match(line)
        if bar is None:
            continue
        if bar["desc"] == "s2label":
            stage = bar["rest"].rstrip("] ").rsplit(",", 1)[-1].strip() if "," in bar["rest"] else ""
            outer, inner = (int(bar["n"]), int(bar["total"]), stage), None
        else:
            inner = (bar["desc"].strip(), int(bar["pct"]))
    if outer is None:
        return Progress(0.0, "", "starting")
    done, total, stage = outer
    within = inner[1] / 100 if inner is not None else 0.0
    fraction = min(1.0, (done + within) / max(total, 1))
    where = f"stage {min(done + 1, total)} of {total}: {stage}" if stage else f"stage {done + 1} of {total}"
    text = f"{inner[0]} {inner[1]}% ({where})" if inner is not None else where
    return Progress(fraction, stage, text)


class LearnedRun:
    """Train and run a learned encoder on a scene in a child process; publish the run into ``out`` when done.

    Parameters
    ----------
    scene : Scene
        The scene (pickled to the child: the same pixels, whatever options read them).
    out : path
        The run folder. It must not hold a finished run.
    options : RunOptions
        The run's options (the first look and the progress bars are set by the job).
    python : str
        The interpreter of the child (default: this one).

    Attributes
    ----------
    folder : Path
        The job folder (``out/.learned-<id>``).

    Examples
    --------
    >>> job = LearnedRun(scene, "run", RunOptions()).start()  # doctest: +SKIP
    >>> job.state, job.progress().text                          # doctest: +SKIP
    ('running', 'train cnn 40% (stage 4 of 8: train)')
    """

    def __init__(self, scene: Scene, out: str | os.PathLike[str], options: RunOptions, *,
                 python: str = sys.executable) -> None:
        self.scene, self.out, self.options, self.python = scene, Path(out), options, python
        self.folder = self.out / f"{JOB_PREFIX}{uuid.uuid4().hex[:12]}"
        self._process: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None  # of a child another process started (:meth:`find`)
        self._stopped = False

    @classmethod
    def find(cls, out: str | os.PathLike[str]) -> LearnedRun | None:
        """The learned run a child (of this or another process) is running for ``out`` now, if any: followed,
        not owned (:meth:`stop` then only stops following it)."""
        for folder in sorted(Path(out).glob(f"{JOB_PREFIX}*")):
            try:
                pid = int((folder / _PID_FILE).read_text())
            except (OSError, ValueError):
                continue
            if _alive(pid):
                job = cls.__new__(cls)
                job.scene, job.out, job.options, job.python = None, Path(out), None, sys.executable
                job.folder, job._process, job._pid, job._stopped = folder, None, pid, False
                return job
        return None

    def start(self) -> LearnedRun:
        """Write the job and start the child; returns ``self``.

        Raises
        ------
        OutputError
            ``out`` holds a finished run already, or the job cannot be written.
        """
        if is_finished(self.out):
            raise OutputError("holds a finished run already", path=self.out)
        remove_stale_jobs(self.out)
        try:
            self.folder.mkdir(parents=True)
            with open(self.folder / _JOB_FILE, "wb") as fh:
                pickle.dump({"scene": self.scene, "options": self.options, "out": str(self.out)}, fh,
                            protocol=pickle.HIGHEST_PROTOCOL)
            log = open(self.folder / _LOG_FILE, "wb")  # noqa: SIM115 - handed to the child
        except OSError as exc:
            raise OutputError(f"cannot write the training job ({exc.strerror or exc})", path=self.folder) from None
        with log:
            self._process = subprocess.Popen(
                [self.python, "-m", "s2label.pipeline.background", str(self.folder), str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        (self.folder / _PID_FILE).write_text(str(self._process.pid))  # found by other windows from now on
        return self

    @property
    def state(self) -> str:
        """``"running"``, ``"finished"`` (``out`` holds the run), ``"failed"`` or ``"stopped"``."""
        if self._stopped:
            return "stopped"
        if self._pid is not None:  # another process's child: only its folder and the run folder tell
            if _alive(self._pid):
                return "running"
            return "finished" if is_finished(self.out) else "failed"
        if self._process is None or self._process.poll() is None:
            return "running" if self._process is not None else "stopped"
        return "finished" if self._process.returncode == 0 and is_finished(self.out) else "failed"

    def progress(self) -> Progress:
        """What the child's progress bars say now."""
        try:
            with open(self.folder / _LOG_FILE, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - 8192))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return Progress(0.0, "", "starting")
        return Progress(1.0, "", "finished") if self.state == "finished" else parse_progress(text)

    @property
    def error(self) -> str | None:
        """Why the child failed (one line), or ``None``."""
        if self.state != "failed":
            return None
        with contextlib.suppress(OSError):
            return (self.folder / _ERROR_FILE).read_text().strip()
        if self._process is None:
            return "the training process (started by another window) ended without finishing"
        code = self._process.returncode
        if code < 0:
            name = signal.Signals(-code).name
            return f"the training process was killed ({name}{': out of memory?' if name == 'SIGKILL' else ''})"
        return f"the training process ended with status {code}"

    def wait(self, timeout: float | None = None) -> str:
        """Wait for the child to end (at most ``timeout`` seconds); returns :attr:`state`."""
        end = None if timeout is None else time.monotonic() + timeout
        while self._pid is not None and _alive(self._pid) and (end is None or time.monotonic() < end):
            time.sleep(0.2)
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout)
        return self.state

    def stop(self) -> None:
        """Stop the child (if this process started it) and remove its job folder; ``out`` is left as it was."""
        self._stopped = True
        if self._pid is not None:
            return  # followed, not owned
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def cleanup(self) -> None:
        """Remove the job folder of a child this process started, once it has ended (its log goes with it)."""
        if self._process is not None and self._process.poll() is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def remove_stale_jobs(out: str | os.PathLike[str]) -> list[Path]:
    """Remove the job folders in ``out`` whose child no longer runs; returns them.

    A folder without a process id younger than a minute is kept: another window may be starting it.

    Parameters
    ----------
    out : str or path-like
        The run folder.

    Returns
    -------
    list of pathlib.Path
        The job folders removed.
    """
    removed = []
    for folder in Path(out).glob(f"{JOB_PREFIX}*"):
        try:
            pid = int((folder / _PID_FILE).read_text())
        except (OSError, ValueError):
            pid = None
        if pid is not None and _alive(pid):
            continue
        if pid is None and time.time() - folder.stat().st_mtime < 60:
            continue  # another window is starting it
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def publish(run_dir: Path, out: Path) -> None:
    """Move a finished run's files from ``run_dir`` into ``out``, ``report.json`` last (after removing a stale
    one), so that ``out`` holds the whole run or is not finished.

    Parameters
    ----------
    run_dir : pathlib.Path
        The finished run's folder (emptied).
    out : pathlib.Path
        The run folder; a folder of the same name as one moved in is replaced.
    """
    (out / REPORT_FILE).unlink(missing_ok=True)
    for item in sorted(run_dir.iterdir()):
        if item.name == REPORT_FILE:
            continue
        target = out / item.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(item, target)
    os.replace(run_dir / REPORT_FILE, out / REPORT_FILE)


def _watch_parent(parent: int, publishing: threading.Lock) -> None:
    """End this process when the one that started it has ended (unless it is publishing: that takes ms)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent and not _alive(parent):
            with publishing:
                os._exit(3)


def _child(folder: Path, parent: int) -> int:
    """The child's work: run the job, publish it; on an error write its message to ``error.txt``."""
    publishing = threading.Lock()
    threading.Thread(target=_watch_parent, args=(parent, publishing), daemon=True).start()
    with contextlib.suppress(OSError):
        os.nice(5)  # the kernel and the explorer first
    try:
        from s2label.pipeline.runner import run

        with open(folder / _JOB_FILE, "rb") as fh:
            job: dict[str, Any] = pickle.load(fh)
        options: RunOptions = job["options"].replace(first_look=False, progress=True)
        run(job["scene"], options, out=folder / _RUN_DIR)
        with publishing:
            publish(folder / _RUN_DIR, Path(job["out"]))
    except Exception as exc:  # noqa: BLE001 - the child's top level: every failure is reported to the explorer
        message = str(exc) if isinstance(exc, S2LabelError) else f"{type(exc).__name__}: {exc}"
        (folder / _ERROR_FILE).write_text(message)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover - the child (tested through LearnedRun)
    sys.exit(_child(Path(sys.argv[1]), int(sys.argv[2])))
