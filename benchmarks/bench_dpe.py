"""Cost of the depth encoding: SD-VLM with depth vs the plain model without, same weights and inputs.

Per family (LLaVA-1.5; LLaVA-OneVision with an anyres-tiled non-square image) and for a small and a
medium config, `forward` and `generate` of the plain transformers class and the SD-VLM class (with
`depth_values`) run in interleaved repeats in one process, so machine noise hits both alike; each
ratio is the median over repeats of time(SD-VLM) / time(plain). The last line is the worst ratio
over the families and configs:

    forward_overhead_ratio=<x> generate_overhead_ratio=<y>

Run: `python benchmarks/bench_dpe.py [--repeats 15 --threads 1 --families llava llava_onevision
--cpu_time]` (CPU, a few minutes).
"""

import argparse
import statistics
import time

import torch
from tqdm import tqdm
from transformers import (
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaOnevisionConfig,
    LlavaOnevisionForConditionalGeneration,
    Qwen2Config,
    SiglipVisionConfig,
)

from modeling_sdvlm import (
    SDVLMConfig,
    SDVLMForConditionalGeneration,
    SDVLMLlavaOnevisionConfig,
    SDVLMLlavaOnevisionForConditionalGeneration,
)
from modeling_sdvlm.tiny_llava_onevision import tiny_pinpoints

CONFIGS = {
    # name: (vision width, vision layers, image size, patch, text width, text layers, vocab)
    "small": (128, 2, 112, 14, 256, 2, 2048),
    "medium": (256, 4, 224, 14, 512, 4, 4096),
}
BATCH, TEXT_TOKENS, NEW_TOKENS = 2, 24, 8


def tower_kwargs(name):
    """`(vision, text)` config kwargs of a size in CONFIGS, shared by the families' tower classes."""
    vision, vision_layers, image, patch, text, text_layers, vocab = CONFIGS[name]
    vision_kwargs = dict(
        hidden_size=vision,
        intermediate_size=vision * 4,
        num_hidden_layers=vision_layers,
        num_attention_heads=4,
        image_size=image,
        patch_size=patch,
    )
    text_kwargs = dict(
        vocab_size=vocab,
        hidden_size=text,
        intermediate_size=text * 3,
        num_hidden_layers=text_layers,
        num_attention_heads=8,
        num_key_value_heads=8,
        pad_token_id=0,
        eos_token_id=2,
    )
    return vision_kwargs, text_kwargs


def build_pair(name):
    _, _, image, patch, _, _, vocab = CONFIGS[name]
    vision_kwargs, text_kwargs = tower_kwargs(name)
    kwargs = dict(
        vision_config=CLIPVisionConfig(**vision_kwargs),
        text_config=LlamaConfig(**text_kwargs),
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


def build_llava_onevision_pair(name):
    """OneVision at the config's sizes: a 1.5 x 1.8-tile image -> base + 2 x 2 tiles, unpadded, row newlines."""
    _, _, tile, patch, _, _, vocab = CONFIGS[name]
    vision_kwargs, text_kwargs = tower_kwargs(name)
    kwargs = dict(
        vision_config=SiglipVisionConfig(**vision_kwargs, vision_use_head=False),
        text_config=Qwen2Config(**text_kwargs),
        image_token_index=vocab - 1,
        video_token_index=vocab - 2,
        image_grid_pinpoints=tiny_pinpoints(tile),
    )
    torch.manual_seed(0)
    sdvlm = SDVLMLlavaOnevisionForConditionalGeneration(SDVLMLlavaOnevisionConfig(**kwargs)).eval()
    plain = LlavaOnevisionForConditionalGeneration(LlavaOnevisionConfig(**kwargs)).eval()
    plain.load_state_dict(sdvlm.state_dict())
    image_sizes = torch.tensor([[tile * 3 // 2, tile * 9 // 5]] * BATCH)
    tiles = max(sdvlm.model.tiles_per_image(image_sizes))
    generator = torch.Generator().manual_seed(0)
    pixel_values = torch.randn(BATCH, tiles, 3, tile, tile, generator=generator)
    with torch.no_grad():
        tokens = plain.model.get_image_features(pixel_values, image_sizes).pooler_output[0].shape[0]
    text_ids = torch.randint(3, vocab - 2, (BATCH, TEXT_TOKENS), generator=generator)
    input_ids = torch.cat([text_ids[:, :4], torch.full((BATCH, tokens), vocab - 1), text_ids[:, 4:]], dim=1)
    inputs = {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "pixel_values": pixel_values,
        "image_sizes": image_sizes,
    }
    grid = tile // patch
    depth = torch.rand(BATCH, tiles, grid, grid, generator=generator) * 5 + 0.1
    return plain, sdvlm, inputs, depth


FAMILIES = {"llava": build_pair, "llava_onevision": build_llava_onevision_pair}


# Wall time by default; `--cpu_time` counts this process's CPU time only (with one thread, time the
# machine gives to other processes then does not count: for shared, busy machines).
CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCK["wall"]


def timed(function):
    start = clock()
    function()
    return clock() - start


@torch.no_grad()
def measure(family, name, repeats):
    llava, sdvlm, inputs, depth = FAMILIES[family](name)
    gen = dict(max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False)
    runs = {
        "forward": (lambda: llava(**inputs), lambda: sdvlm(**inputs, depth_values=depth)),
        "generate": (lambda: llava.generate(**inputs, **gen), lambda: sdvlm.generate(**inputs, depth_values=depth, **gen)),
    }
    ratios = {}
    for kind, (run_llava, run_sdvlm) in runs.items():
        run_llava(), run_sdvlm()  # warm-up
        times = {"llava": [], "sdvlm": []}
        for repeat in tqdm(range(repeats), desc=f"{family} {name} {kind}", leave=False):
            # Alternate which goes first so neither always runs on a warmer cache.
            order = (("llava", run_llava), ("sdvlm", run_sdvlm))
            for label, run in order if repeat % 2 == 0 else order[::-1]:
                times[label].append(timed(run))
        llava_median, sdvlm_median = statistics.median(times["llava"]), statistics.median(times["sdvlm"])
        # Median of the per-repeat ratios: the two runs of a repeat are adjacent in time and share
        # the machine's load, so their ratio is steadier than a ratio of separate medians.
        ratios[kind] = statistics.median(s / l for s, l in zip(times["sdvlm"], times["llava"]))
        print(
            f"{family:>15} {name:>6} {kind:>8}: plain {llava_median * 1e3:8.2f} ms  "
            f"sdvlm+depth {sdvlm_median * 1e3:8.2f} ms  "
            f"ratio {ratios[kind]:.4f}"
        )
    return ratios


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="interleaved repeats per measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 = least noisy)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--cpu_time", action="store_true", help="time this process's CPU time, not wall time")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    global clock
    clock = CLOCK["cpu" if args.cpu_time else "wall"]
    results = {
        (family, name): measure(family, name, args.repeats) for family in args.families for name in args.configs
    }
    worst_forward = max(result["forward"] for result in results.values())
    worst_generate = max(result["generate"] for result in results.values())
    print(f"forward_overhead_ratio={worst_forward:.4f} generate_overhead_ratio={worst_generate:.4f}")


if __name__ == "__main__":
    main()
