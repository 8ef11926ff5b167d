"""Parity of the processors' `depth_values` across code versions: save them with one tree, compare with another.

Every family's processor at its released settings (the ones `bench_depth_processor.py` builds), both
depth conventions, three image sizes (480x640, 300x200, 333x517) and six kinds of map (dense, 10%
holes, 5% sparse, 10% NaN, a uint16 PIL image in millimetres, a large hole): 144 processor calls.

    PYTHONPATH=<old tree> python benchmarks/depth_parity.py save ref.safetensors
    PYTHONPATH=<new tree> python benchmarks/depth_parity.py check ref.safetensors [--rtol 1e-6]

`check` prints the calls whose values are not torch.equal with their largest relative difference,
requires the same shape, dtype and zero pattern everywhere, and exits non-zero above `--rtol`.
"""

import argparse
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from bench_depth_processor import FAMILIES, PROMPT, PROMPTS

SIZES = [(480, 640), (300, 200), (333, 517)]


def depth_maps(generator, height, width):
    dense = generator.uniform(0.5, 6.0, (height, width)).astype(np.float32)
    holes = dense.copy()
    holes[generator.random((height, width)) < 0.1] = 0
    sparse = np.zeros_like(dense)
    keep = generator.random((height, width)) < 0.05
    sparse[keep] = dense[keep]
    nan = dense.copy()
    nan[generator.random((height, width)) < 0.1] = np.nan
    millimetres = Image.fromarray((dense * 1000).astype(np.uint16))
    big_hole = dense.copy()
    big_hole[: height // 3, : width // 2] = 0
    return dict(dense=dense, holes=holes, sparse=sparse, nan=nan, uint16=millimetres, big_hole=big_hole)


def all_depth_values() -> dict[str, torch.Tensor]:
    values = {}
    for family, build in FAMILIES.items():
        processor = build()
        for convention in ("inverse", "metric"):
            processor.depth_convention = convention
            for height, width in SIZES:
                generator = np.random.default_rng(height * width)
                image = Image.fromarray(generator.integers(0, 256, (height, width, 3), dtype=np.uint8))
                for kind, depth in depth_maps(generator, height, width).items():
                    batch = processor(images=[image], text=[PROMPTS.get(family, PROMPT)], depth=[depth],
                                      return_tensors="pt")
                    values[f"{family}/{convention}/{height}x{width}/{kind}"] = batch["depth_values"].clone()
    return values


def compare(reference: dict, values: dict, rtol: float) -> bool:
    worst, equal = 0.0, 0
    for key, value in values.items():
        expected = reference[key]
        if expected.shape != value.shape or expected.dtype != value.dtype:
            raise SystemExit(f"{key}: {tuple(value.shape)} {value.dtype} vs {tuple(expected.shape)} {expected.dtype}")
        if torch.equal(expected, value):
            equal += 1
            continue
        if not torch.equal(expected == 0, value == 0):
            raise SystemExit(f"{key}: the cells without valid depth differ")
        relative = ((value.double() - expected.double()).abs() / expected.double().abs().clamp(min=1e-30)).max().item()
        worst = max(worst, relative)
        print(f"{key}: largest relative difference {relative:.3g} ({int((value != expected).sum())} of {value.numel()})")
    print(f"{equal}/{len(values)} torch.equal; largest relative difference {worst:.3g} (allowed {rtol:g})")
    return worst <= rtol


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["save", "check"])
    parser.add_argument("path")
    parser.add_argument("--rtol", type=float, default=1e-6)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    values = all_depth_values()
    if args.mode == "save":
        save_file(values, args.path)  # safetensors: the reference is read back without unpickling
        print(f"saved {len(values)} depth_values to {args.path}")
        return
    if not compare(load_file(args.path), values, args.rtol):
        sys.exit(1)


if __name__ == "__main__":
    main()
