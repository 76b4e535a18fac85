"""Running functions as Dask tasks, or in this process when no cluster is asked for: one interface for both."""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from typing import Any

from tqdm.auto import tqdm

__all__ = ["Tasks", "local_client"]

#: What s2label's window tasks import; :meth:`Tasks.start` has every worker import it up front.
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


class Tasks:
    """Submit functions to a Dask client, or call them at once in this process when ``client`` is None.

    A handle returned by :meth:`submit` or :meth:`scatter` is a ``Future`` on Dask and the value itself in
    process; either can be passed to later :meth:`submit` calls (Dask then moves the data between workers).

    Parameters
    ----------
    client : dask.distributed.Client, optional
    retries : int
        Times Dask reruns a task that raised (a task on a lost worker is rescheduled by Dask itself).
    """

    def __init__(self, client: Any = None, *, retries: int = 1) -> None:
        self.client = client
        self.retries = retries

    @property
    def distributed(self) -> bool:
        return self.client is not None

    def start(self, modules: Sequence[str] = TASK_MODULES) -> None:
        """Have every worker import ``modules`` now (a no-op in process).

        A fresh worker process takes seconds to import torch and s2label; done here, that start-up is paid
        once, on all workers at the same time, and not inside the first stage's tasks. Workers that join later
        import on their first task as usual.
        """
        if self.client is not None:
            self.client.run(_import_modules, list(modules))

    def scatter(self, value: Any) -> Any:
        """Send ``value`` to every worker once (big arguments shared by many tasks)."""
        return value if self.client is None else self.client.scatter(value, broadcast=True, hash=False)

    def submit(self, fn: Callable[..., Any], *args: Any, key: str) -> Any:
        if self.client is None:
            return fn(*args)
        return self.client.submit(fn, *args, key=key, pure=False, retries=self.retries)

    def map(self, fn: Callable[..., Any], argss: Sequence[tuple[Any, ...]], *, name: str,
            progress: bool = False) -> list[Any]:
        """``fn(*args)`` for each tuple of ``argss``: the handles, in order (a progress bar while in process)."""
        if self.client is None:
            return [fn(*args) for args in tqdm(argss, desc=name, disable=not progress, leave=False)]
        token = os.urandom(4).hex()
        return [self.submit(fn, *args, key=f"s2label-{name}-{token}-{i}") for i, args in enumerate(argss)]

    def gather(self, handles: Sequence[Any], *, name: str = "", progress: bool = False) -> list[Any]:
        """The values of ``handles``, in order (on Dask, with a progress bar as they complete)."""
        if self.client is None:
            return list(handles)
        from dask.distributed import as_completed
        from distributed import KilledWorker

        from s2label.errors import S2LabelError

        bar = tqdm(total=len(handles), desc=name, disable=not progress, leave=False)
        for _ in as_completed(list(handles)):
            bar.update()
        bar.close()
        try:
            return list(self.client.gather(list(handles)))
        except (KilledWorker, CancelledError) as exc:
            # a task whose workers kept dying fails with KilledWorker; tasks that depend on it may be
            # cancelled and forgotten first, and report that instead
            raise S2LabelError(f"a {name or 'Dask'} task lost its worker too many times (each worker running it "
                               f"died) or was cancelled: the run is abandoned and nothing was written "
                               f"({type(exc).__name__}: {exc})") from exc
