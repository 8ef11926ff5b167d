"""Cost of depth in the processor: an SD-VLM processor call with `depth=` vs the same call without.

Per family, at the family's released preprocessing settings (LLaVA-1.5: pad to square, 336 px, patch
14; Qwen2.5-VL: smart_resize to 28-px cells, 640x480 -> 644x476; Qwen3-VL: 32-px cells, at least
256 x 256 pixels; OneVision: 384-px anyres tiles), on a 640x480 RGB frame with a float
depth map (all valid, and with 10% holes): `processor(images, text, depth=...)` and
`processor(images, text)` (the plain family processing; depth estimation off) are timed by
`sdvlm.bench_timing.paired_ratio`: warm-up, then interleaved pairs in alternating order, this
process's CPU time on one thread (so other work on a shared machine counts less); each ratio is the
median over pairs of time(with depth) / time(without), printed with its quartiles. The last line is
the worst ratio:

    processor_overhead_ratio=<x>

Run: `python benchmarks/bench_depth_processor.py [--repeats 41 --threads 1 --wall_time]` (CPU, about
two minutes).
"""

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy/torch load their thread pools

import numpy as np
import torch
from PIL import Image
from transformers import LlavaOnevisionImageProcessor, Qwen2VLImageProcessor

from modeling_sdvlm import SDVLMLlavaOnevisionProcessor, SDVLMQwen2_5_VLProcessor, SDVLMQwen3VLProcessor
from modeling_sdvlm.processing_sdvlm import llava15_processor
from modeling_sdvlm.tiny import build_tiny_tokenizer
from sdvlm.bench_timing import paired_ratio, use_cpu_time

HEIGHT, WIDTH = 480, 640
PROMPT = "<image>How far is the chair from the table?"
QWEN_PROMPT = "<|vision_start|><|image_pad|><|vision_end|>How far is the chair from the table?"


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


def llava_processor():
    """Original LLaVA-1.5's preprocessing: pad to a square, 336 px, 14-px patches (576 tokens)."""
    return llava15_processor(build_tiny_tokenizer([PROMPT]), 336, 14, estimate_missing_depth=False)


def qwen2_5_vl_processor():
    """Qwen2.5-VL's released preprocessing: 14-px patches, 2 x 2 merge, at most 12845056 pixels."""
    image_processor = Qwen2VLImageProcessor(patch_size=14, merge_size=2, temporal_patch_size=2,
                                            min_pixels=3136, max_pixels=12845056)
    tokenizer = build_tiny_tokenizer([QWEN_PROMPT], family="qwen2_5_vl")
    return SDVLMQwen2_5_VLProcessor(image_processor=image_processor, tokenizer=tokenizer, estimate_missing_depth=False)


def qwen3_vl_processor():
    """Qwen3-VL's released preprocessing: 16-px patches, 2 x 2 merge, 65536..16777216 pixels, mean/std 0.5."""
    image_processor = Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2, min_pixels=65536,
                                            max_pixels=16777216, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    tokenizer = build_tiny_tokenizer([QWEN_PROMPT], family="qwen3_vl")
    return SDVLMQwen3VLProcessor(image_processor=image_processor, tokenizer=tokenizer, estimate_missing_depth=False)


FAMILIES = {
    "llava": llava_processor,
    "qwen2_5_vl": qwen2_5_vl_processor,
    "qwen3_vl": qwen3_vl_processor,
    "llava_onevision": llava_onevision_processor,
}
PROMPTS = {"qwen2_5_vl": QWEN_PROMPT, "qwen3_vl": QWEN_PROMPT}


def depth_maps(generator):
    dense = generator.uniform(0.5, 6.0, (HEIGHT, WIDTH)).astype(np.float32)
    holes = dense.copy()
    holes[generator.random((HEIGHT, WIDTH)) < 0.1] = 0.0
    return {"dense": dense, "holes": holes}


def measure(name, repeats):
    processor = FAMILIES[name]()
    generator = np.random.default_rng(0)
    image = Image.fromarray(generator.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8))
    call = dict(images=[image], text=[PROMPTS.get(name, PROMPT)], return_tensors="pt")
    ratios = {}
    for kind, depth in depth_maps(generator).items():
        result = paired_ratio(lambda: processor(**call), lambda: processor(**call, depth=[depth]), repeats)
        ratios[kind] = result.ratio
        print(f"{name} {kind:>5}: {result}")
    return max(ratios.values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=41, help="interleaved pairs per measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 = least noisy)")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--wall_time", action="store_true", help="time wall time, not this process's CPU time")
    parser.add_argument("--cpu_time", action="store_true", help="CPU time (the default; accepted for older commands)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    use_cpu_time(not args.wall_time)
    worst = max(measure(name, args.repeats) for name in args.families)
    print(f"processor_overhead_ratio={worst:.4f}")


if __name__ == "__main__":
    main()
