"""``s2label._tasks``: one interface for tasks run in this process, on a concurrent.futures executor or on Dask."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from s2label._tasks import Tasks, local_client


def _square(x: int) -> int:
    return x * x


def _fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


def _has(module: str) -> bool:
    return module in sys.modules


def test_tasks_in_process_call_at_once():
    tasks = Tasks()
    assert not tasks.distributed and tasks.n_workers == 1
    assert tasks.map(_square, [(2,), (3,)], name="square") == [4, 9]
    assert tasks.gather(tasks.map(_square, [(4,)], name="square")) == [16]
    tasks.start()   # nothing to start


def test_tasks_on_a_thread_pool_pass_results_on_in_order():
    with ThreadPoolExecutor(3) as pool:
        tasks = Tasks(pool)
        assert tasks.distributed and tasks.n_workers == 3 and tasks.client is None
        squares = tasks.map(_square, [(k,) for k in range(6)], name="square")
        # a handle passed to a later task gives that task its value
        fourth = tasks.gather([tasks.submit(_square, squares[2])])
        assert tasks.gather(squares) == [0, 1, 4, 9, 16, 25] and fourth == [16]


def test_settle_reports_each_failure_beside_the_other_results():
    done = []
    with ThreadPoolExecutor(2) as pool:
        tasks = Tasks(pool)
        settled = tasks.settle(tasks.map(_fail_on_three, [(k,) for k in range(5)], name="x"),
                               on_done=lambda: done.append(1))
    assert [v for v, e in settled] == [0, 1, 2, None, 4]
    assert [type(e).__name__ if e else None for _, e in settled] == [None, None, None, "ValueError", None]
    assert len(done) == 5
    with pytest.raises(ValueError, match="three"):       # gather does not hide it
        with ThreadPoolExecutor(2) as pool:
            Tasks(pool).gather(Tasks(pool).map(_fail_on_three, [(3,)], name="x"))


@pytest.mark.dask
def test_start_has_every_worker_import_up_front():
    environ = dict(os.environ)
    with local_client(2) as client:
        tasks = Tasks.for_client(client)
        assert tasks.client is client and tasks.n_workers == 2
        assert not any(client.run(_has, "wave").values())      # a module nothing here imports
        tasks.start(["wave"])
        has = client.run(_has, "wave")
        assert len(has) == 2 and all(has.values())
        assert tasks.gather(tasks.map(_square, [(2,), (3,)], name="square")) == [4, 9]
        settled = tasks.settle(tasks.map(_fail_on_three, [(2,), (3,)], name="x"))
        assert settled[0] == (2, None) and isinstance(settled[1][1], ValueError)
    assert dict(os.environ) == environ
