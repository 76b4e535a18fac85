"""``s2label._dask``: one interface for tasks run in this process or on a Dask cluster."""

from __future__ import annotations

import os
import sys

import pytest

from s2label._dask import Tasks, local_client


def _square(x: int) -> int:
    return x * x


def _has(module: str) -> bool:
    return module in sys.modules


def test_tasks_in_process_call_at_once():
    tasks = Tasks()
    assert not tasks.distributed
    assert tasks.map(_square, [(2,), (3,)], name="square") == [4, 9]
    assert tasks.gather(tasks.map(_square, [(4,)], name="square")) == [16]
    tasks.start()   # nothing to start


@pytest.mark.dask
def test_start_has_every_worker_import_up_front():
    environ = dict(os.environ)
    with local_client(2) as client:
        tasks = Tasks(client)
        assert not any(client.run(_has, "wave").values())      # a module nothing here imports
        tasks.start(["wave"])
        has = client.run(_has, "wave")
        assert len(has) == 2 and all(has.values())
        assert tasks.gather(tasks.map(_square, [(2,), (3,)], name="square")) == [4, 9]
    assert dict(os.environ) == environ
