"""Cost of depth in the processor: an SD-VLM processor call with `depth=` vs the same call without.

Per family, at the family's released preprocessing settings, on a 640x480 RGB frame with a float
depth map (all valid, and with 10% holes): `processor(images, text, depth=...)` and
`processor(images, text)` (the plain family processing; depth estimation off) run in interleaved
repeats in one process; each ratio is the median over repeats of time(with depth) / time(without).
The last line is the worst ratio:

    processor_overhead_ratio=<x>

Run: `python benchmarks/bench_depth_processor.py [--repeats 15 --threads 1]` (CPU, about a minute).
"""

import argparse
import statistics
import time

import numpy as np
import torch
from PIL import Image
from transformers import LlavaOnevisionImageProcessor

from modeling_sdvlm import SDVLMLlavaOnevisionProcessor
from modeling_sdvlm.tiny import build_tiny_tokenizer

HEIGHT, WIDTH = 480, 640
PROMPT = "<image>How far is the chair from the table?"


def llava_onevision_processor():
    """OneVision's released preprocessing: 384-px tiles, the default 6 x 6 pinpoints, 27 x 27 SigLIP patches."""
    return SDVLMLlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(),
        tokenizer=build_tiny_tokenizer([PROMPT]),
        num_image_tokens=27 * 27,
        vision_feature_select_strategy="full",
        patch_size=14,
        estimate_missing_depth=False,
    )


FAMILIES = {"llava_onevision": llava_onevision_processor}


def depth_maps(generator):
    dense = generator.uniform(0.5, 6.0, (HEIGHT, WIDTH)).astype(np.float32)
    holes = dense.copy()
    holes[generator.random((HEIGHT, WIDTH)) < 0.1] = 0.0
    return {"dense": dense, "holes": holes}


def timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def measure(name, repeats):
    processor = FAMILIES[name]()
    generator = np.random.default_rng(0)
    image = Image.fromarray(generator.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8))
    call = dict(images=[image], text=[PROMPT], return_tensors="pt")
    ratios = {}
    for kind, depth in depth_maps(generator).items():
        runs = {"plain": lambda: processor(**call), "depth": lambda: processor(**call, depth=[depth])}
        for run in runs.values():
            run()  # warm-up
        times = {label: [] for label in runs}
        for repeat in range(repeats):
            order = list(runs.items()) if repeat % 2 == 0 else list(runs.items())[::-1]
            for label, run in order:
                times[label].append(timed(run))
        ratios[kind] = statistics.median(d / p for d, p in zip(times["depth"], times["plain"]))
        print(
            f"{name} {kind:>5}: plain {statistics.median(times['plain']) * 1e3:7.2f} ms  "
            f"with depth {statistics.median(times['depth']) * 1e3:7.2f} ms  ratio {ratios[kind]:.4f}"
        )
    return max(ratios.values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="interleaved repeats per measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 = least noisy)")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    worst = max(measure(name, args.repeats) for name in args.families)
    print(f"processor_overhead_ratio={worst:.4f}")


if __name__ == "__main__":
    main()
