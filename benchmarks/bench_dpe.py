"""Cost of the depth encoding: SD-VLM with depth vs LLaVA without, same weights and inputs.

For a small and a medium config, `forward` and `generate` of `LlavaForConditionalGeneration` and
`SDVLMForConditionalGeneration` (with `depth_values`) run in interleaved repeats in one process, so
machine noise hits both alike; each ratio is the median over repeats of time(SD-VLM) / time(LLaVA).
The last line is the worst ratio over the configs:

    forward_overhead_ratio=<x> generate_overhead_ratio=<y>

Run: `python benchmarks/bench_dpe.py [--repeats 15 --threads 1]` (CPU, under 2 minutes).
"""

import argparse
import statistics
import time

import torch
from tqdm import tqdm
from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

from modeling_sdvlm import SDVLMConfig, SDVLMForConditionalGeneration

CONFIGS = {
    # name: (vision width, vision layers, image size, patch, text width, text layers, vocab)
    "small": (128, 2, 112, 14, 256, 2, 2048),
    "medium": (256, 4, 224, 14, 512, 4, 4096),
}
BATCH, TEXT_TOKENS, NEW_TOKENS = 2, 24, 8


def build_pair(name):
    vision, vision_layers, image, patch, text, text_layers, vocab = CONFIGS[name]
    kwargs = dict(
        vision_config=CLIPVisionConfig(
            hidden_size=vision,
            intermediate_size=vision * 4,
            num_hidden_layers=vision_layers,
            num_attention_heads=4,
            image_size=image,
            patch_size=patch,
        ),
        text_config=LlamaConfig(
            vocab_size=vocab,
            hidden_size=text,
            intermediate_size=text * 3,
            num_hidden_layers=text_layers,
            num_attention_heads=8,
            num_key_value_heads=8,
            pad_token_id=0,
            eos_token_id=2,
        ),
        image_token_index=vocab - 1,
        image_seq_length=(image // patch) ** 2,
    )
    torch.manual_seed(0)
    sdvlm = SDVLMForConditionalGeneration(SDVLMConfig(**kwargs)).eval()
    llava = LlavaForConditionalGeneration(LlavaConfig(**kwargs)).eval()
    llava.load_state_dict(sdvlm.state_dict())
    grid = image // patch
    generator = torch.Generator().manual_seed(0)
    text_ids = torch.randint(3, vocab - 1, (BATCH, TEXT_TOKENS), generator=generator)
    input_ids = torch.cat([text_ids[:, :4], torch.full((BATCH, grid * grid), vocab - 1), text_ids[:, 4:]], dim=1)
    inputs = {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "pixel_values": torch.randn(BATCH, 3, image, image, generator=generator),
    }
    depth = torch.rand(BATCH, image, image, generator=generator) * 5 + 0.1
    return llava, sdvlm, inputs, depth


def timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


@torch.no_grad()
def measure(name, repeats):
    llava, sdvlm, inputs, depth = build_pair(name)
    gen = dict(max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False)
    runs = {
        "forward": (lambda: llava(**inputs), lambda: sdvlm(**inputs, depth_values=depth)),
        "generate": (lambda: llava.generate(**inputs, **gen), lambda: sdvlm.generate(**inputs, depth_values=depth, **gen)),
    }
    ratios = {}
    for kind, (run_llava, run_sdvlm) in runs.items():
        run_llava(), run_sdvlm()  # warm-up
        times = {"llava": [], "sdvlm": []}
        for repeat in tqdm(range(repeats), desc=f"{name} {kind}", leave=False):
            # Alternate which goes first so neither always runs on a warmer cache.
            order = (("llava", run_llava), ("sdvlm", run_sdvlm))
            for label, run in order if repeat % 2 == 0 else order[::-1]:
                times[label].append(timed(run))
        llava_median, sdvlm_median = statistics.median(times["llava"]), statistics.median(times["sdvlm"])
        # Median of the per-repeat ratios: the two runs of a repeat are adjacent in time and share
        # the machine's load, so their ratio is steadier than a ratio of separate medians.
        ratios[kind] = statistics.median(s / l for s, l in zip(times["sdvlm"], times["llava"]))
        print(
            f"{name:>6} {kind:>8}: llava {llava_median * 1e3:8.2f} ms  sdvlm+depth {sdvlm_median * 1e3:8.2f} ms  "
            f"ratio {ratios[kind]:.4f}"
        )
    return ratios


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="interleaved repeats per measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 = least noisy)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = {name: measure(name, args.repeats) for name in args.configs}
    worst_forward = max(result["forward"] for result in results.values())
    worst_generate = max(result["generate"] for result in results.values())
    print(f"forward_overhead_ratio={worst_forward:.4f} generate_overhead_ratio={worst_generate:.4f}")


if __name__ == "__main__":
    main()
