"""Tiny, offline LLaVA-OneVision-shaped SD-VLM builders (SigLIP tower, Qwen2 language model).

The tiling is OneVision's at a small scale: square tiles of `image_size`, pinpoints every
`a x b` tiles up to 3 x 3 (the released checkpoints go to 6 x 6 tiles of 384 px). The tiny
tokenizer and chat template are the LLaVA tiny preset's (`tiny.build_tiny_tokenizer`,
vicuna_v1), so training and evaluation run the same prompt path for every tiny family.

>>> from modeling_sdvlm.tiny import build_tiny_tokenizer
>>> processor = build_tiny_llava_onevision_processor(build_tiny_tokenizer(["How far?"]))
>>> model = build_tiny_llava_onevision_model(processor)
>>> model.config.model_type, processor.num_image_tokens
('sdvlm_llava_onevision', 16)
"""

from transformers import LlavaOnevisionImageProcessor, Qwen2Config, SiglipVisionConfig

from .configuration_sdvlm_llava_onevision import SDVLMLlavaOnevisionConfig
from .modeling_sdvlm_llava_onevision import SDVLMLlavaOnevisionForConditionalGeneration
from .processing_sdvlm import VICUNA_V1_CHAT_TEMPLATE
from .processing_sdvlm_llava_onevision import SDVLMLlavaOnevisionProcessor
from .tiny_common import TinySizes, seeded_tiny_model


def tiny_pinpoints(tile: int, most: int = 3) -> list[list[int]]:
    """OneVision-style `image_grid_pinpoints`: every `a x b` grid of tiles, `a, b <= most`."""
    return [[tile * rows, tile * cols] for rows in range(1, most + 1) for cols in range(1, most + 1)]


def build_tiny_llava_onevision_processor(
    tokenizer,
    image_size: int = 32,
    patch_size: int = 8,
    vision_aspect_ratio: str = "anyres_max_9",
    estimate_missing_depth: bool = False,
    **processor_kwargs,
) -> SDVLMLlavaOnevisionProcessor:
    """An [`SDVLMLlavaOnevisionProcessor`] with OneVision's anyres tiling at `image_size` px tiles.

    Args:
        tokenizer: e.g. from `tiny.build_tiny_tokenizer`.
        image_size, patch_size: the vision tower's tile side and patch size.
        vision_aspect_ratio: `"anyres_max_<n>"`: grids above ~n tiles of tokens are downsampled.
        estimate_missing_depth: estimate depth when none is given (off: offline use).
    """
    image_processor = LlavaOnevisionImageProcessor(
        size={"height": image_size, "width": image_size}, image_grid_pinpoints=tiny_pinpoints(image_size)
    )
    return SDVLMLlavaOnevisionProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        num_image_tokens=(image_size // patch_size) ** 2,
        vision_feature_select_strategy="full",
        chat_template=VICUNA_V1_CHAT_TEMPLATE,
        vision_aspect_ratio=vision_aspect_ratio,
        patch_size=patch_size,
        estimate_missing_depth=estimate_missing_depth,
        **processor_kwargs,
    )


def tiny_llava_onevision_config(processor: SDVLMLlavaOnevisionProcessor, **overrides) -> SDVLMLlavaOnevisionConfig:
    """An `SDVLMLlavaOnevisionConfig` matching `processor` (vocabulary, tiles, patch size, tokens).

    Args:
        processor: from [`build_tiny_llava_onevision_processor`].
        overrides: model sizes (`TinySizes` fields: `vision_hidden_size`, `vision_layers`,
            `text_hidden_size`, `text_layers`, `num_heads`) and any `SDVLMLlavaOnevisionConfig` field
            (`use_depth`, `vision_aspect_ratio`, ...).
    """
    sizes = TinySizes.pop_from(overrides)
    tokenizer = processor.tokenizer
    image_processor = processor.image_processor
    vision_config = SiglipVisionConfig(
        **sizes.vision_fields(),
        image_size=image_processor.size["height"],
        patch_size=processor.patch_size,
        vision_use_head=False,
    )
    settings = dict(
        vision_config=vision_config,
        text_config=Qwen2Config(**sizes.text_fields(tokenizer)),
        image_token_index=processor.image_token_id,
        video_token_index=processor.video_token_id,
        image_grid_pinpoints=image_processor.image_grid_pinpoints,
        vision_aspect_ratio=processor.vision_aspect_ratio,
        vision_feature_select_strategy=processor.vision_feature_select_strategy,
        vision_feature_layer=-1,
        depth_estimator=processor.depth_estimator,
    )
    settings.update(overrides)
    return SDVLMLlavaOnevisionConfig(**settings)


def build_tiny_llava_onevision_model(
    processor: SDVLMLlavaOnevisionProcessor, seed: int = 0, **overrides
) -> SDVLMLlavaOnevisionForConditionalGeneration:
    """A randomly initialised tiny OneVision SD-VLM (deterministic for a seed); see [`tiny_llava_onevision_config`]."""
    config = tiny_llava_onevision_config(processor, **overrides)
    return seeded_tiny_model(SDVLMLlavaOnevisionForConditionalGeneration, config, processor.tokenizer, seed)


__all__ = [
    "build_tiny_llava_onevision_model",
    "build_tiny_llava_onevision_processor",
    "tiny_llava_onevision_config",
    "tiny_pinpoints",
]
