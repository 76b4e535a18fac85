"""Wall time and peak resident memory of pipeline stages (for reports and benchmarks)."""

from __future__ import annotations

import contextlib
import resource
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import psutil

__all__ = ["StageRecord", "Profiler", "peak_rss_mb", "available_memory_bytes"]

_MB = 1024 * 1024


def available_memory_bytes() -> int:
    """Memory the system can give this process now without swapping (``psutil``'s *available*)."""
    return int(psutil.virtual_memory().available)


def peak_rss_mb() -> float:
    """Peak resident set size of this process since it started, in MiB (Linux ``ru_maxrss``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass(frozen=True)
class StageRecord:
    """One stage's wall seconds, the peak RSS seen while it ran, and the RSS when it ended (MiB)."""

    name: str
    seconds: float
    peak_rss_mb: float
    rss_after_mb: float


@dataclass
class Profiler:
    """Records :class:`StageRecord` s; RSS is sampled by a background thread every ``interval`` seconds.

    Examples
    --------
    >>> prof = Profiler()
    >>> with prof.stage("sleep"):
    ...     time.sleep(0.01)
    >>> prof.records[0].name, prof.records[0].seconds >= 0.01
    ('sleep', True)
    """

    interval: float = 0.005
    records: list[StageRecord] = field(default_factory=list)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        proc = psutil.Process()
        peak = [proc.memory_info().rss]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(self.interval):
                peak[0] = max(peak[0], proc.memory_info().rss)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        start = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - start
            stop.set()
            thread.join()
            rss = proc.memory_info().rss
            self.records.append(StageRecord(name, seconds, max(peak[0], rss) / _MB, rss / _MB))

    def as_dict(self) -> dict[str, dict[str, float]]:
        """``{stage: {"seconds", "peak_rss_mb", "rss_after_mb"}}`` rounded for reports."""
        out: dict[str, dict[str, float]] = {}
        for rec in self.records:
            d = asdict(rec)
            d.pop("name")
            out[rec.name] = {k: round(v, 3) for k, v in d.items()}
        return out

    @property
    def total_seconds(self) -> float:
        return sum(r.seconds for r in self.records)
