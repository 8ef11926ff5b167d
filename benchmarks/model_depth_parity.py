"""Parity of the models' depth path across code versions: logits WITH depth saved by one tree, compared with another.

Every family's tiny model (`build_tiny_model`; OneVision with and without downsampling, LLaVA's "full"
strategy, Qwen3-VL's deepstack option), each as built, with `depth_normalization="none"` and with an
amplitude of 0.3; five kinds of depth (dense, 30 % holes, 10 % NaN, 5 % sparse, a large hole) on a batch
of two images of different sizes and on one image; bf16 on dense depth; and the small models of
`bench_dpe.py` (forward and generate). `save` writes the inputs too, and `check` runs the new tree's
models on those saved inputs, so a change of the processors does not count: only the models' depth path.

    PYTHONPATH=<old tree> python benchmarks/model_depth_parity.py save ref.safetensors
    PYTHONPATH=<new tree> python benchmarks/model_depth_parity.py check ref.safetensors

`check` prints every output that is not torch.equal with its largest absolute difference, then
`<identical>/<all> identical; largest absolute difference <x>`.
"""

import argparse
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch loads its thread pool

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from bench_dpe import FAMILIES as BENCH_FAMILIES
from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor, build_tiny_tokenizer
from modeling_sdvlm.tiny_llava_onevision import build_tiny_llava_onevision_model, build_tiny_llava_onevision_processor

PROMPT = "How far is it?"
SIZES = [(20, 50), (50, 40)]
VARIANTS = {"": {}, "none": dict(depth_normalization="none", depth_scale=1.0), "amp": dict(depth_pe_amplitude=0.3)}


def depth_map(height, width, seed, kind):
    generator = np.random.default_rng(100 + seed)
    depth = generator.uniform(0.5, 4.0, (height, width)).astype(np.float32)
    if kind == "holes":
        depth[generator.random((height, width)) < 0.3] = 0
    elif kind == "nan":
        depth[generator.random((height, width)) < 0.1] = np.nan
    elif kind == "sparse":
        depth[generator.random((height, width)) < 0.95] = 0
    elif kind == "block":
        depth[: height // 2, : width // 3] = 0
    return depth


def models():
    """`(name, processor, model, prompt)` for every family and variant."""
    for aspect in ("anyres_max_9", "anyres_max_1"):
        processor = build_tiny_llava_onevision_processor(build_tiny_tokenizer(["<image>" + PROMPT]),
                                                         vision_aspect_ratio=aspect)
        for variant, overrides in VARIANTS.items():
            model = build_tiny_llava_onevision_model(processor, text_hidden_size=32, **overrides)
            yield f"llava_onevision/{aspect}/{variant}", processor, model, "<image>" + PROMPT
    for family in ("llava", "qwen2_5_vl", "qwen3_vl"):
        processor = build_tiny_processor(texts=[PROMPT], family=family)
        message = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": PROMPT}]}]
        prompt = processor.apply_chat_template(message, add_generation_prompt=True)
        extra = {"deepstack": dict(depth_in_deepstack=True)} if family == "qwen3_vl" else {}
        for variant, overrides in {**VARIANTS, **extra}.items():
            yield f"{family}/{variant}", processor, build_tiny_model(processor, family=family, **overrides), prompt
        if family == "llava":
            full = build_tiny_processor(texts=[PROMPT], vision_feature_select_strategy="full")
            yield "llava/full", full, build_tiny_model(full, family=family), prompt


def cases():
    """`(name, model, inputs, generate)`: the inputs as this tree's processors build them."""
    for name, processor, model, prompt in models():
        images = [Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))
                  for seed, (h, w) in enumerate(SIZES)]
        for kind in ("dense", "holes", "nan", "sparse", "block"):
            depth = [depth_map(h, w, seed, kind) for seed, (h, w) in enumerate(SIZES)]
            batch = processor(images=images, text=[prompt] * 2, depth=depth, return_tensors="pt", padding=True)
            yield f"{name}/{kind}/batch", model.eval(), dict(batch), False
            one = processor(images=images[:1], text=[prompt], depth=depth[:1], return_tensors="pt")
            yield f"{name}/{kind}/one", model, dict(one), False
        if name.endswith("/"):  # each family as built, in bf16
            batch = dict(processor(images=images, text=[prompt] * 2, return_tensors="pt", padding=True,
                                   depth=[depth_map(h, w, seed, "dense") for seed, (h, w) in enumerate(SIZES)]))
            batch["pixel_values"] = batch["pixel_values"].to(torch.bfloat16)
            yield f"{name}/bf16", model.to(torch.bfloat16), batch, False
    for family, build in BENCH_FAMILIES.items():
        _, sdvlm, inputs, depth = build("small")
        yield f"bench/{family}/forward", sdvlm, {**inputs, "depth_values": depth}, False
        yield f"bench/{family}/generate", sdvlm, {**inputs, "depth_values": depth}, True


@torch.no_grad()
def run(model, inputs, generate):
    if generate:
        return model.generate(**inputs, max_new_tokens=8, min_new_tokens=8, do_sample=False).float()
    return model(**inputs).logits.float()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["save", "check"])
    parser.add_argument("path")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    reference = load_file(args.path) if args.mode == "check" else None
    saved, identical, total, largest = {}, 0, 0, 0.0
    for name, model, inputs, generate in cases():
        if reference is not None:
            inputs = {key: reference[f"{name}|input|{key}"] for key in inputs}
        output = run(model, inputs, generate)
        if reference is None:
            saved.update({f"{name}|input|{key}": value.clone() for key, value in inputs.items()})
            saved[f"{name}|output"] = output.clone()
            continue
        expected = reference[f"{name}|output"]
        total += 1
        if torch.equal(torch.nan_to_num(output), torch.nan_to_num(expected)):
            identical += 1
            continue
        difference = float((output - expected).abs().max())
        largest = max(largest, difference)
        print(f"{name}: largest absolute difference {difference:.3g}")
    if reference is None:
        save_file(saved, args.path)
        print(f"saved {sum(key.endswith('|output') for key in saved)} outputs to {args.path}")
    else:
        print(f"{identical}/{total} identical; largest absolute difference {largest:.3g}")
        return 0 if identical == total else 1


if __name__ == "__main__":
    sys.exit(main())
