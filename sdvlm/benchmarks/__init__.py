"""Spatial benchmarks for `sdvlm-evaluate --benchmark NAME`: loaders into evaluation rows and
each benchmark's official scoring (see `base.py` for the row layout)."""

from __future__ import annotations

from . import msmu, qspatial, spatialrgpt, vsibench
from .base import Benchmark

BENCHMARKS: dict[str, Benchmark] = {
    bench.name: bench
    for bench in (msmu.BENCHMARK, qspatial.benchmark("QSpatial_plus"), qspatial.benchmark("QSpatial_scannet"),
                  spatialrgpt.BENCHMARK, vsibench.BENCHMARK)
}


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; expected one of {sorted(BENCHMARKS)}")
    return BENCHMARKS[name]


__all__ = ["BENCHMARKS", "Benchmark", "get_benchmark"]
