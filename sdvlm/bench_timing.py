"""The clock and the A/B protocol the benchmark scripts time with.

Clock: wall time by default; with `use_cpu_time(True)` this process's CPU time only (with one thread,
time the machine gives to other processes then does not count: for shared, busy machines). Scripts
call `use_cpu_time(...)` once, then `timed(function)` or `paired_ratio(plain, other, repeats)`.

`paired_ratio` is how an overhead ratio is measured: warm-up calls of both, then `repeats` pairs
run back to back in alternating order (ABBA: neither side always runs on the warmer cache); the
ratio is the median of the per-pair ratios (the two runs of a pair share the machine's load, so
their ratio is steadier than a ratio of separate medians), reported with its quartiles.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
_active = {"clock": CLOCK["wall"]}


def use_cpu_time(cpu_time: bool) -> None:
    """Time with `time.process_time` when `cpu_time`, else with `time.perf_counter`."""
    _active["clock"] = CLOCK["cpu" if cpu_time else "wall"]


def timed(function: Callable[[], object]) -> float:
    """Seconds one call of `function` takes on the active clock."""
    clock = _active["clock"]
    start = clock()
    function()
    return clock() - start


@dataclass
class PairedRatio:
    """`other / plain` over interleaved pairs: the median ratio, its quartiles, each side's median seconds."""

    ratio: float
    low: float
    high: float
    plain_s: float
    other_s: float

    def __str__(self) -> str:
        return (f"plain {self.plain_s * 1e3:8.2f} ms  other {self.other_s * 1e3:8.2f} ms  "
                f"ratio {self.ratio:.4f} (quartiles {self.low:.4f}-{self.high:.4f})")


def paired_ratio(plain: Callable[[], object], other: Callable[[], object], repeats: int,
                 warmup: int = 2) -> PairedRatio:
    """Median over `repeats` interleaved pairs of time(other) / time(plain), after `warmup` calls of each."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        plain(), other()
    plain_times, other_times = [], []
    for repeat in range(repeats):
        if repeat % 2 == 0:
            plain_times.append(timed(plain))
            other_times.append(timed(other))
        else:
            other_times.append(timed(other))
            plain_times.append(timed(plain))
    ratios = [o / p for o, p in zip(other_times, plain_times)]
    low, _, high = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios[0],) * 3
    return PairedRatio(statistics.median(ratios), low, high, statistics.median(plain_times),
                       statistics.median(other_times))


__all__ = ["CLOCK", "PairedRatio", "paired_ratio", "timed", "use_cpu_time"]
