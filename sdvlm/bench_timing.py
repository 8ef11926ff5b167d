"""The clock the benchmark scripts time with: wall time by default; with `--cpu_time` this process's CPU
time only (with one thread, time the machine gives to other processes then does not count: for shared,
busy machines). Scripts call `use_cpu_time(args.cpu_time)` once, then `timed(function)`."""

from __future__ import annotations

import time
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


__all__ = ["CLOCK", "timed", "use_cpu_time"]
