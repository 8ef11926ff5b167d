"""Convert an SD-VLM checkpoint in the authors' LLaVA layout into an `sdvlm` transformers checkpoint.

The authors' code (a LLaVA-1.5 fork) saves `LlavaLlamaForCausalLM` weights:
`model.embed_tokens`, `model.layers.*`, `model.norm`, `lm_head`, `model.mm_projector.{0,2}.*`,
`model.vision_tower.vision_tower.*` (CLIP), plus `depth.*` (its Depth-Anything copy) and the unused
`depth_projector.*`. The DPE itself has no weights. The output is a safetensors checkpoint with its
processor (tokenizer with an `<image>` token, LLaVA's pad-to-square image geometry, the vicuna_v1
chat template) that `AutoModelForImageTextToText` / `AutoProcessor` load. `depth.*` is dropped: the
depth model is loaded by its own transformers id (`config.depth_estimator`).

Usage:

    sdvlm-convert --input_dir /path/to/SD-VLM-7B --output_dir sdvlm-7b-hf \\
        [--vision_config openai/clip-vit-large-patch14-336]
"""

import argparse
import json
import logging
import re
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoTokenizer, CLIPVisionConfig, CLIPVisionModel, LlamaConfig

from .configuration_sdvlm import SDVLMConfig
from .modeling_sdvlm import SDVLMForConditionalGeneration
from .processing_sdvlm import SDVLMProcessor, llava15_processor

logger = logging.getLogger(__name__)

# (authors' key pattern, transformers key template); the first match wins.
KEY_RENAMES = (
    (r"^model\.mm_projector\.0\.(.+)$", r"model.multi_modal_projector.linear_1.\1"),
    (r"^model\.mm_projector\.2\.(.+)$", r"model.multi_modal_projector.linear_2.\1"),
    (r"^model\.vision_tower\.vision_tower\.vision_model\.(.+)$", r"model.vision_tower.\1"),
    (r"^model\.(embed_tokens|layers|norm)\.(.+)$", r"model.language_model.\1.\2"),
    (r"^lm_head\.(.+)$", r"lm_head.\1"),
)
# Weights with no place in SD-VLM-on-transformers: the depth model (loaded by its own id) and the
# authors' depth projector, which their forward pass never uses.
DROPPED_PREFIXES = ("depth.", "model.depth.", "depth_projector.", "model.depth_projector.")
TEXT_CONFIG_FIELDS = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "rms_norm_eps",
    "max_position_embeddings",
    "rope_theta",
    "hidden_act",
    "bos_token_id",
    "eos_token_id",
)


def load_original_state_dict(input_dir: Path) -> dict[str, torch.Tensor]:
    """All tensors of the checkpoint's `*.safetensors` (or, failing that, `*.bin`) files."""
    files = sorted(input_dir.glob("*.safetensors"))
    state: dict[str, torch.Tensor] = {}
    if files:
        for file in files:
            state.update(load_file(file))
        return state
    files = sorted(input_dir.glob("pytorch_model*.bin"))
    if not files:
        raise FileNotFoundError(f"no *.safetensors or pytorch_model*.bin weights in {input_dir}")
    for file in files:
        # weights_only=True: the restricted unpickler that loads tensors and never runs code.
        state.update(torch.load(file, map_location="cpu", weights_only=True, mmap=True))
    return state


def rename_state_dict(original: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Map the authors' keys to transformers' keys.

    Returns:
        `(renamed, dropped)`: the converted tensors and the dropped keys (`depth.*`,
        `depth_projector.*`). Any other unknown key raises a ValueError naming it.
    """
    renamed, dropped = {}, []
    for key, tensor in original.items():
        if key.startswith(DROPPED_PREFIXES):
            dropped.append(key)
            continue
        for pattern, template in KEY_RENAMES:
            if re.match(pattern, key):
                renamed[re.sub(pattern, template, key)] = tensor
                break
        else:
            raise ValueError(f"unexpected key {key!r} in the original checkpoint: not part of the LLaVA/SD-VLM layout")
    return renamed, dropped


def build_config(
    original_config: dict, vision_config: CLIPVisionConfig, image_token_id: int, vocab_size: int, pad_token_id: int
) -> SDVLMConfig:
    """SD-VLM config from the authors' `config.json` (LLaVA fields) and the CLIP vision config."""
    text_kwargs = {name: original_config[name] for name in TEXT_CONFIG_FIELDS if name in original_config}
    text_kwargs.update(vocab_size=vocab_size, pad_token_id=pad_token_id)
    select_feature = original_config.get("mm_vision_select_feature", "patch")
    if select_feature not in ("patch", "cls_patch"):
        raise ValueError(f"unsupported mm_vision_select_feature {select_feature!r} (expected 'patch' or 'cls_patch')")
    projector = original_config.get("mm_projector_type", "mlp2x_gelu")
    if projector != "mlp2x_gelu":
        raise ValueError(f"unsupported mm_projector_type {projector!r}: LLaVA-1.5 / SD-VLM use 'mlp2x_gelu'")
    grid = vision_config.image_size // vision_config.patch_size
    return SDVLMConfig(
        vision_config=vision_config,
        text_config=LlamaConfig(**text_kwargs),
        image_token_index=image_token_id,
        image_seq_length=grid * grid,
        vision_feature_select_strategy="default" if select_feature == "patch" else "full",
        vision_feature_layer=original_config.get("mm_vision_select_layer", -2),
        projector_hidden_act="gelu",
        pad_token_id=pad_token_id,
        # The authors' DPE: relative Depth-Anything-V2 depth (inverse: larger = nearer), min-max per
        # image, alpha = 100. "inverse" makes the processor turn a user's meters into 1/d.
        use_depth=True,
        depth_normalization="minmax",
        depth_scale=100.0,
        depth_convention="inverse",
    )


def build_processor(tokenizer, vision_config: CLIPVisionConfig, config: SDVLMConfig, pad_to_square: bool) -> SDVLMProcessor:
    """LLaVA-1.5's preprocessing: optional pad to square, CLIP resize + center crop, CLIP mean/std."""
    return llava15_processor(
        tokenizer,
        vision_config.image_size,
        vision_config.patch_size,
        config.vision_feature_select_strategy,
        pad_to_square,
        depth_estimator=config.depth_estimator,
        depth_convention=config.depth_convention,
    )


def resize_embeddings(state: dict[str, torch.Tensor], vocab_size: int) -> None:
    """Grow `embed_tokens` and `lm_head` to `vocab_size` rows; new rows are the mean of the old ones.

    The `<image>` row is never read (its positions receive image features); the mean keeps any
    padding rows harmless, as in transformers' own LLaVA conversion.
    """
    for key in ("model.language_model.embed_tokens.weight", "lm_head.weight"):
        weight = state[key]
        if weight.shape[0] > vocab_size:
            raise ValueError(f"{key} has {weight.shape[0]} rows, more than the tokenizer's vocabulary of {vocab_size}")
        extra = vocab_size - weight.shape[0]
        if extra:
            mean = weight.float().mean(dim=0, keepdim=True).to(weight.dtype)
            state[key] = torch.cat([weight, mean.expand(extra, -1)])


def convert_sdvlm_checkpoint(
    input_dir: str | Path,
    output_dir: str | Path,
    vision_config: str | Path | None = None,
    pad_to_multiple_of: int = 64,
) -> Path:
    """Convert the authors' checkpoint in `input_dir` to an `sdvlm` checkpoint in `output_dir`.

    Args:
        input_dir: folder with the authors' `config.json`, tokenizer and weights.
        output_dir: where the transformers checkpoint and processor are written.
        vision_config: id or path of the CLIP vision config (default: the checkpoint's
            `mm_vision_tower`). Its weights are read from the checkpoint, or, when the checkpoint has
            none (plain LLaVA saves), from this id.
        pad_to_multiple_of: the embedding matrix is padded to a multiple of this (64, as llava-hf).

    Returns:
        `output_dir` as a Path.
    """
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    original_config = json.loads((input_dir / "config.json").read_text())
    vision_id = vision_config or original_config.get("mm_vision_tower")
    if vision_id is None:
        raise ValueError("the checkpoint's config.json has no mm_vision_tower; pass vision_config")
    loaded_vision = AutoConfig.from_pretrained(vision_id)
    clip_vision = getattr(loaded_vision, "vision_config", loaded_vision)

    state, dropped = rename_state_dict(load_original_state_dict(input_dir))
    if dropped:
        prefixes = sorted({key.removeprefix("model.").split(".")[0] for key in dropped})
        logger.warning(
            "dropped %d depth-model tensors (%s.*): SD-VLM on transformers loads the depth model by its own id "
            "(config.depth_estimator)",
            len(dropped),
            ".*, ".join(prefixes),
        )
    if not any(key.startswith("model.vision_tower.") for key in state):
        vision_state = CLIPVisionModel.from_pretrained(vision_id).state_dict()
        state.update({f"model.vision_tower.{k.removeprefix('vision_model.')}": v for k, v in vision_state.items()})

    tokenizer = AutoTokenizer.from_pretrained(input_dir)
    added = {}
    if "<image>" not in tokenizer.get_vocab():
        added["extra_special_tokens"] = ["<image>"]
    if tokenizer.pad_token is None:
        added["pad_token"] = "<pad>"
    if added:
        tokenizer.add_special_tokens(added)
    image_token_id = tokenizer.convert_tokens_to_ids("<image>")
    rows = state["model.language_model.embed_tokens.weight"].shape[0]
    vocab_size = max(len(tokenizer), rows)
    vocab_size = -(-vocab_size // pad_to_multiple_of) * pad_to_multiple_of if vocab_size > rows else rows
    resize_embeddings(state, vocab_size)

    config = build_config(original_config, clip_vision, image_token_id, vocab_size, tokenizer.pad_token_id)
    dtype = state["lm_head.weight"].dtype
    # Build on the meta device and adopt the checkpoint's tensors: no second copy of a 7B model.
    with torch.device("meta"):
        model = SDVLMForConditionalGeneration(config)
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if missing or unexpected:
        raise ValueError(f"converted weights do not fit SD-VLM: missing {sorted(missing)}, unexpected {sorted(unexpected)}")
    model.config.dtype = dtype
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(output_dir)
    processor = build_processor(
        tokenizer, clip_vision, config, pad_to_square=original_config.get("image_aspect_ratio", "pad") == "pad"
    )
    processor.save_pretrained(output_dir)
    return output_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input_dir", required=True, help="the authors' checkpoint folder (LLaVA layout)")
    parser.add_argument("--output_dir", required=True, help="where to write the sdvlm checkpoint and processor")
    parser.add_argument("--vision_config", default=None, help="CLIP vision config id or path (default: mm_vision_tower)")
    parser.add_argument("--pad_to_multiple_of", type=int, default=64, help="pad the vocabulary to a multiple of this")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    output = convert_sdvlm_checkpoint(args.input_dir, args.output_dir, args.vision_config, args.pad_to_multiple_of)
    print(f"wrote {output}")


__all__ = ["convert_sdvlm_checkpoint", "rename_state_dict", "load_original_state_dict", "main"]

if __name__ == "__main__":
    main()
