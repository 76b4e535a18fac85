"""Where a run's tile tasks (and :func:`s2label.run_many`'s scenes) run: in this process, or on any
:class:`concurrent.futures.Executor` — a ``ThreadPoolExecutor``, a ``ProcessPoolExecutor``, or a Dask
cluster's ``client.get_executor()``. One interface, :class:`Tasks`, for all of them.

On a Dask executor the tasks' inputs and outputs stay on the workers (a task's result is passed to the tasks
that need it without coming back to this process); on another executor results come back here and are passed
on as values.

Examples
--------
>>> from concurrent.futures import ThreadPoolExecutor
>>> with ThreadPoolExecutor(2) as pool:
...     tasks = Tasks(pool)
...     squares = tasks.map(pow, [(k, 2) for k in range(4)], name="square")
...     tasks.gather(squares), tasks.n_workers
([0, 1, 4, 9], 2)
>>> Tasks().gather(Tasks().map(pow, [(3, 2)], name="square"))
[9]
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import importlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from tqdm.auto import tqdm

__all__ = ["Tasks", "local_client"]

#: What s2label's tile tasks import; :meth:`Tasks.start` has every worker import it up front.
TASK_MODULES = ("s2label.segmentation.stitch", "s2label.encoders.cnn")


def _import_modules(names: Sequence[str]) -> list[str]:
    for name in names:
        importlib.import_module(name)
    return list(names)


@contextlib.contextmanager
def local_client(workers: int) -> Iterator[Any]:
    """A ``dask.distributed`` client of a ``LocalCluster`` of ``workers`` single-threaded processes.

    Dask's nannies set ``OMP_NUM_THREADS=1`` and the like in the *calling* process too; they are put back on
    exit, so later work in this process (and its subprocesses) keeps all its threads.
    """
    from dask.distributed import Client, LocalCluster

    environ = dict(os.environ)
    try:
        with LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
    finally:
        for key in set(os.environ) - set(environ):
            del os.environ[key]
        os.environ.update(environ)


def _dask_client(executor: Any) -> Any:
    """The ``dask.distributed.Client`` behind a Dask executor (``client.get_executor()``), else None."""
    if type(executor).__module__.startswith("distributed."):
        return getattr(executor, "_client", None)
    return None


class Tasks:
    """Submit functions to an executor, or call them at once in this process when there is none.

    A handle returned by :meth:`submit`, :meth:`map` or :meth:`scatter` can be passed to later :meth:`submit`
    calls: on Dask it is a Dask future (the data moves between workers), elsewhere the value or a
    :class:`concurrent.futures.Future` whose value is passed on.

    Parameters
    ----------
    executor : concurrent.futures.Executor, optional
        ``None``: in this process, one task after the other.
    retries : int
        On Dask: times a task that raised is rerun (a task on a lost worker is rescheduled by Dask itself).
    """

    def __init__(self, executor: cf.Executor | None = None, *, retries: int = 1) -> None:
        self.executor = executor
        self.retries = retries
        self.client = _dask_client(executor)

    @classmethod
    def for_client(cls, client: Any, *, retries: int = 1) -> Tasks:
        """Tasks on a ``dask.distributed.Client``'s cluster."""
        return cls(client.get_executor(), retries=retries)

    @property
    def distributed(self) -> bool:
        """Whether the tasks run outside this process's main thread (on an executor)."""
        return self.executor is not None

    @property
    def n_workers(self) -> int:
        """How many tasks run at once (1 in process)."""
        if self.client is not None:
            return max(len(self.client.scheduler_info()["workers"]), 1)
        return int(getattr(self.executor, "_max_workers", 1) or 1)

    def start(self, modules: Sequence[str] = TASK_MODULES) -> None:
        """Have every Dask worker import ``modules`` now (a no-op elsewhere).

        A fresh worker process takes seconds to import torch and s2label; done here, that start-up is paid
        once, on all workers at the same time, and not inside the first stage's tasks.
        """
        if self.client is not None:
            self.client.run(_import_modules, list(modules))

    def scatter(self, value: Any, *, broadcast: bool = True) -> Any:
        """Send ``value`` to the Dask workers once (big arguments shared by many tasks); elsewhere the value."""
        if self.client is None:
            return value
        return self.client.scatter(value, broadcast=broadcast, hash=False)

    def submit(self, fn: Callable[..., Any], *args: Any, key: str = "") -> Any:
        """``fn(*args)`` as a task; its handle."""
        if self.client is not None:
            return self.client.submit(fn, *args, key=key or None, pure=False, retries=self.retries)
        args = tuple(a.result() if isinstance(a, cf.Future) else a for a in args)
        if self.executor is None:
            return fn(*args)
        return self.executor.submit(fn, *args)

    def map(self, fn: Callable[..., Any], argss: Sequence[tuple[Any, ...]], *, name: str,
            progress: bool = False) -> list[Any]:
        """``fn(*args)`` for each tuple of ``argss``: the handles, in order (a progress bar while in process)."""
        if self.executor is None:
            return [fn(*args) for args in tqdm(argss, desc=name, disable=not progress, leave=False)]
        token = os.urandom(4).hex()
        return [self.submit(fn, *args, key=f"s2label-{name.replace(' ', '-')}-{token}-{i}")
                for i, args in enumerate(argss)]

    def _wait(self, handles: Sequence[Any], on_done: Callable[[], Any] | None) -> None:
        """Wait for every handle, calling ``on_done`` as each completes."""
        if self.client is not None:
            from dask.distributed import as_completed
            done: Any = as_completed(list(handles))
        else:
            done = cf.as_completed(list(handles))
        for _ in done:
            if on_done is not None:
                on_done()

    def gather(self, handles: Sequence[Any], *, name: str = "", progress: bool = False) -> list[Any]:
        """The values of ``handles``, in order (with a progress bar as they complete).

        Raises
        ------
        S2LabelError
            When a Dask task lost its workers too many times, or was cancelled.
        """
        if self.executor is None:
            return list(handles)
        bar = tqdm(total=len(handles), desc=name, disable=not progress, leave=False)
        self._wait(handles, bar.update)
        bar.close()
        if self.client is None:
            return [h.result() for h in handles]
        from distributed import KilledWorker

        from s2label.errors import S2LabelError

        try:
            return list(self.client.gather(list(handles)))
        except (KilledWorker, cf.CancelledError) as exc:
            # a task whose workers kept dying fails with KilledWorker; tasks that depend on it may be
            # cancelled and forgotten first, and report that instead
            raise S2LabelError(f"a {name or 'Dask'} task lost its worker too many times (each worker running it "
                               f"died) or was cancelled: the run is abandoned and nothing was written "
                               f"({type(exc).__name__}: {exc})") from exc

    def settle(self, handles: Sequence[Any], *, name: str = "", progress: bool = False,
               on_done: Callable[[], None] | None = None) -> list[tuple[Any, BaseException | None]]:
        """Each handle's ``(value, None)``, or ``(None, error)`` for a task that raised; in order.

        Unlike :meth:`gather`, one failed task does not hide the others' results. ``on_done`` is called as
        each task completes.
        """
        if self.executor is None:
            for _ in handles:
                if on_done is not None:
                    on_done()
            return [(h, None) for h in handles]
        self._wait(handles, on_done)
        out: list[tuple[Any, BaseException | None]] = []
        for h in handles:
            try:
                out.append((h.result(), None))
            except Exception as exc:  # the task itself failed: reported with its result
                out.append((None, exc))
        return out
