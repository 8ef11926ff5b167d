"""The depth path's own time inside real forward passes, per family (the small configs of `bench_dpe.py`).

`bench_dpe.py` gives the end-to-end ratio, whose quartiles on a shared machine are wider than the
depth path itself. This script times only the depth path, where it runs: from the return of the plain
`get_image_features` (vision tower and projector) to the return of the SD-VLM `get_image_features`
(checks, pooling, fill, normalisation, fp32 encoding, add). Inside a forward pass every kernel the
depth path runs has been evicted by the vision tower, so each one costs far more than in a tight loop:
this is the cost the forward ratio sees. Forwards of SD-VLM with depth and of the plain model alternate;
each line gives the median over `--forwards` of the depth path and its share of the plain forward
(this process's CPU time on one thread for the forward; wall time for the depth path, which has no
waits).

Run: `python benchmarks/bench_depth_in_situ.py [--forwards 100 --families llava qwen2_5_vl ...]`
"""

import argparse
import functools
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch loads its thread pool

import torch
from transformers import LlavaModel, LlavaOnevisionModel, Qwen2_5_VLModel, Qwen3VLModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_dpe import FAMILIES  # noqa: E402  (the same models and inputs)

from modeling_sdvlm import (  # noqa: E402
    SDVLMLlavaOnevisionModel,
    SDVLMModel,
    SDVLMQwen2_5_VLModel,
    SDVLMQwen3VLModel,
)

# family: (plain base model class, SD-VLM base model class)
CLASSES = {
    "llava": (LlavaModel, SDVLMModel),
    "qwen2_5_vl": (Qwen2_5_VLModel, SDVLMQwen2_5_VLModel),
    "qwen3_vl": (Qwen3VLModel, SDVLMQwen3VLModel),
    "llava_onevision": (LlavaOnevisionModel, SDVLMLlavaOnevisionModel),
}


def stamping(function, stamps: dict, key: str):
    """`function`, writing the perf_counter time of its return to `stamps[key]`."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        result = function(*args, **kwargs)
        stamps[key] = time.perf_counter()
        return result

    return wrapper


@torch.no_grad()
def measure(family: str, forwards: int) -> tuple[float, float]:
    """`(median depth path seconds, median plain forward seconds)` over `forwards` alternating forwards."""
    plain_class, sdvlm_class = CLASSES[family]
    stamps = {}
    # Both are class attributes of this process only: the plain one stamps when the vision part ends,
    # the SD-VLM one when its depth part ends (the plain model's forwards stamp too, unread).
    plain_class.get_image_features = stamping(plain_class.get_image_features, stamps, "plain")
    sdvlm_class.get_image_features = stamping(sdvlm_class.get_image_features, stamps, "sdvlm")
    plain, sdvlm, inputs, depth = FAMILIES[family]("small")
    depth_path, plain_forward = [], []
    for step in range(forwards + 2):  # two warm-up pairs
        sdvlm(**inputs, depth_values=depth)
        depth_path.append(stamps["sdvlm"] - stamps["plain"])
        start = time.process_time()
        plain(**inputs)
        plain_forward.append(time.process_time() - start)
    return statistics.median(depth_path[2:]), statistics.median(plain_forward[2:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forwards", type=int, default=100, help="forwards of each model per family")
    parser.add_argument("--families", nargs="+", default=list(CLASSES), choices=list(CLASSES))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for family in args.families:
        depth_s, forward_s = measure(family, args.forwards)
        print(f"{family:>16} small: depth path in the forward {depth_s * 1e6:7.0f} us, plain forward "
              f"{forward_s * 1e3:7.2f} ms ({depth_s / forward_s:.4f} of it)")


if __name__ == "__main__":
    main()
