"""Cost of the depth encoding: SD-VLM with depth vs the plain model without, same weights and inputs.

Per family (LLaVA-1.5; Qwen2.5-VL and Qwen3-VL with as many image tokens as LLaVA; LLaVA-OneVision
with an anyres-tiled non-square image) and for a small and a medium config, `forward` and `generate`
of the plain transformers class and the SD-VLM class (with `depth_values`) are timed by
`sdvlm.bench_timing.paired_ratio`: warm-up, then interleaved pairs in alternating order, this
process's CPU time on one thread (machine load counts less); each ratio is the median over pairs of
time(SD-VLM) / time(plain), printed with its quartiles. Then, at the real language-model widths
(LLaVA-1.5-7B 4096, Qwen2.5-VL-7B 3584, Qwen3-VL-8B 4096), the depth path for 256 image tokens
(pool/fill/normalise, fp32 encoding, add) is timed against ONE decoder layer of that width on the
same 256 tokens plus 32 of text (`--skip_real_width` leaves it out). The last line is the worst ratio over the families and configs:

    forward_overhead_ratio=<x> generate_overhead_ratio=<y>

Run: `python benchmarks/bench_dpe.py [--repeats 25 --threads 1 --configs small medium --families llava
qwen2_5_vl qwen3_vl llava_onevision --wall_time --skip_real_width]` (CPU, several minutes).
"""

import argparse
import functools
import os
import statistics

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch loads its thread pool

import torch
from transformers import (
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaOnevisionConfig,
    LlamaModel,
    LlavaOnevisionForConditionalGeneration,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2Config,
    Qwen3VLForConditionalGeneration,
    SiglipVisionConfig,
)
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VLTextConfig, Qwen2_5_VLTextModel
from transformers.models.qwen3_vl.modeling_qwen3_vl import Qwen3VLTextConfig, Qwen3VLTextModel

from modeling_sdvlm import (
    SDVLMConfig,
    SDVLMForConditionalGeneration,
    SDVLMLlavaOnevisionConfig,
    SDVLMLlavaOnevisionForConditionalGeneration,
    SDVLMQwen2_5_VLConfig,
    SDVLMQwen2_5_VLForConditionalGeneration,
    SDVLMQwen3VLConfig,
    SDVLMQwen3VLForConditionalGeneration,
)
from modeling_sdvlm.depth_encoding import (
    add_depth_encoding,
    depth_positional_encoding,
    encode_token_depth,
    fill_empty_cells,
    normalize_depth,
    pool_depth_cells,
)
from modeling_sdvlm.tiny_llava_onevision import tiny_pinpoints
from sdvlm.bench_timing import paired_ratio, timed, use_cpu_time

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


QWEN_CLASSES = {
    "qwen2_5_vl": (SDVLMQwen2_5_VLConfig, SDVLMQwen2_5_VLForConditionalGeneration, Qwen2_5_VLForConditionalGeneration),
    "qwen3_vl": (SDVLMQwen3VLConfig, SDVLMQwen3VLForConditionalGeneration, Qwen3VLForConditionalGeneration),
}


def build_qwen_pair(family, name):
    """A Qwen family at the config's sizes; images twice the side, so 2 x 2 merging leaves LLaVA's token count."""
    _, _, image, patch, text, _, vocab = CONFIGS[name]
    vision_kwargs, text_kwargs = tower_kwargs(name)
    side = image // patch  # tokens per side
    vision_config = dict(depth=vision_kwargs["num_hidden_layers"], hidden_size=vision_kwargs["hidden_size"],
                         intermediate_size=vision_kwargs["intermediate_size"], num_heads=4, out_hidden_size=text,
                         patch_size=patch, spatial_merge_size=2, temporal_patch_size=2)
    head_dim = text // text_kwargs["num_attention_heads"]
    mrope = [head_dim // 2 - 2 * (head_dim // 6), head_dim // 6, head_dim // 6]
    text_config = {**text_kwargs, "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0,
                                                       "mrope_section": mrope}}
    if family == "qwen2_5_vl":
        vision_config.update(window_size=8 * patch, fullatt_block_indexes=[vision_config["depth"] - 1])
    else:
        vision_config.update(num_position_embeddings=(2 * side) ** 2, deepstack_visual_indexes=[0])
        text_config.update(head_dim=head_dim)
    config_class, sdvlm_class, plain_class = QWEN_CLASSES[family]
    config = config_class(vision_config=vision_config, text_config=text_config, image_token_id=vocab - 1,
                          video_token_id=vocab - 2, vision_start_token_id=vocab - 3, vision_end_token_id=vocab - 4)
    torch.manual_seed(0)
    sdvlm = sdvlm_class(config).eval()
    plain = plain_class(config).eval()
    plain.load_state_dict(sdvlm.state_dict())
    generator = torch.Generator().manual_seed(0)
    tokens = side * side
    text_ids = torch.randint(3, vocab - 5, (BATCH, TEXT_TOKENS), generator=generator)
    input_ids = torch.cat([text_ids[:, :4], torch.full((BATCH, tokens), vocab - 1), text_ids[:, 4:]], dim=1)
    inputs = {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "mm_token_type_ids": (input_ids == vocab - 1).long(),
        "image_grid_thw": torch.tensor([[1, 2 * side, 2 * side]] * BATCH),
        "pixel_values": torch.randn(BATCH * 4 * tokens, 3 * 2 * patch * patch, generator=generator),
    }
    depth = torch.rand(BATCH * tokens, generator=generator) * 5 + 0.1
    return plain, sdvlm, inputs, depth


FAMILIES = {
    "llava": build_pair,
    "qwen2_5_vl": functools.partial(build_qwen_pair, "qwen2_5_vl"),
    "qwen3_vl": functools.partial(build_qwen_pair, "qwen3_vl"),
    "llava_onevision": build_llava_onevision_pair,
}


@torch.no_grad()
def measure(family, name, repeats):
    plain, sdvlm, inputs, depth = FAMILIES[family](name)
    gen = dict(max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False)
    runs = {
        "forward": (lambda: plain(**inputs), lambda: sdvlm(**inputs, depth_values=depth)),
        "generate": (lambda: plain.generate(**inputs, **gen), lambda: sdvlm.generate(**inputs, depth_values=depth, **gen)),
    }
    ratios = {}
    for kind, (run_plain, run_sdvlm) in runs.items():
        result = paired_ratio(run_plain, run_sdvlm, repeats)
        ratios[kind] = result.ratio
        print(f"{family:>15} {name:>6} {kind:>8}: {result}")
    return ratios


# Real language-model widths: (hidden, intermediate, heads, kv heads, head_dim).
REAL_WIDTHS = {
    "llava": (4096, 11008, 32, 32, 128),  # Vicuna-7B of LLaVA-1.5-7B
    "qwen2_5_vl": (3584, 18944, 28, 4, 128),  # Qwen2.5-VL-7B
    "qwen3_vl": (4096, 12288, 32, 8, 128),  # Qwen3-VL-8B
}
REAL_TOKENS, REAL_TEXT = 256, 32


def one_layer_model(family):
    hidden, intermediate, heads, kv_heads, head_dim = REAL_WIDTHS[family]
    common = dict(vocab_size=64, hidden_size=hidden, intermediate_size=intermediate, num_hidden_layers=1,
                  num_attention_heads=heads, num_key_value_heads=kv_heads)
    if family == "llava":
        return LlamaModel(LlamaConfig(**common)).eval()
    rope = {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]}
    if family == "qwen2_5_vl":
        return Qwen2_5_VLTextModel(Qwen2_5_VLTextConfig(**common, rope_parameters=rope)).eval()
    return Qwen3VLTextModel(Qwen3VLTextConfig(**common, head_dim=head_dim, rope_parameters=rope)).eval()


@torch.no_grad()
def depth_vs_layer(family, repeats):
    """(depth path ms, one decoder layer ms) at the family's real width."""
    hidden = REAL_WIDTHS[family][0]
    layer_model = one_layer_model(family)
    embeds = torch.randn(1, REAL_TOKENS + REAL_TEXT, hidden)
    features = [torch.randn(REAL_TOKENS, hidden)]
    config = SDVLMConfig(text_config={"hidden_size": hidden})
    side = int(REAL_TOKENS**0.5)
    if family == "llava":
        pixels = torch.rand(1, side * 14, side * 14) * 5 + 0.1

        def depth_path():
            grid = normalize_depth(fill_empty_cells(pool_depth_cells(pixels, 14)), "minmax", 100.0).flatten(1)
            return add_depth_encoding(features, depth_positional_encoding(grid, hidden))
    else:
        values = torch.rand(REAL_TOKENS) * 5 + 0.1

        def depth_path():
            return add_depth_encoding(features, [encode_token_depth(values, config)])

    def layer():
        return layer_model(inputs_embeds=embeds)

    layer(), depth_path()  # warm-up
    times = {"layer": [], "depth": []}
    for _ in range(repeats):
        times["layer"].append(timed(layer))
        times["depth"].append(timed(depth_path))
    layer_s, depth_s = statistics.median(times["layer"]), statistics.median(times["depth"])
    print(f"{family:>10} real width {hidden}: depth path {depth_s * 1e3:7.2f} ms for {REAL_TOKENS} tokens, "
          f"one decoder layer {layer_s * 1e3:8.2f} ms ({depth_s / layer_s:.4f} of a layer)")
    return depth_s, layer_s


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=25, help="interleaved pairs per measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 = least noisy)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--wall_time", action="store_true", help="time wall time, not this process's CPU time")
    parser.add_argument("--cpu_time", action="store_true", help="CPU time (the default; accepted for older commands)")
    parser.add_argument("--skip_real_width", action="store_true", help="leave out the real-width comparison")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    use_cpu_time(not args.wall_time)
    results = {
        (family, name): measure(family, name, args.repeats) for family in args.families for name in args.configs
    }
    if not args.skip_real_width:
        for family in (family for family in args.families if family in REAL_WIDTHS):
            depth_vs_layer(family, max(3, args.repeats // 5))
    worst_forward = max(result["forward"] for result in results.values())
    worst_generate = max(result["generate"] for result in results.values())
    print(f"forward_overhead_ratio={worst_forward:.4f} generate_overhead_ratio={worst_generate:.4f}")


if __name__ == "__main__":
    main()
