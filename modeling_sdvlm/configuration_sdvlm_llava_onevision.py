"""Configuration of SD-VLM on LLaVA-OneVision: `LlavaOnevisionConfig` plus the shared depth settings."""

from huggingface_hub.dataclasses import strict
from transformers import LlavaOnevisionConfig

from .configuration_sdvlm import SDVLMDepthConfig, checked_depth_value


@strict
class SDVLMLlavaOnevisionConfig(LlavaOnevisionConfig, SDVLMDepthConfig):
    r"""
    [`LlavaOnevisionConfig`] plus SD-VLM's depth settings (`use_depth`, `depth_scale`,
    `depth_normalization`, `depth_pe_base`, `depth_pe_amplitude`, `depth_estimator`; see [`SDVLMConfig`]).

    How depth maps to OneVision's tokens: every tile (the base view, then the anyres grid) has its
    depth pooled over its vision patch cells by the processor; the model packs those cells with
    OneVision's own `pack_image_features` (tile order, unpadding, optional bilinear downsampling),
    so each visual token gets the depth of exactly the pixels its features come from. The row
    newline tokens get no encoding. `"minmax"` normalises over all visual tokens of one image (base
    view and grid together), so the tiles of an image share one depth scale. A plain
    `llava_onevision` config.json loads into this class.

    Example:

    >>> from modeling_sdvlm import SDVLMLlavaOnevisionConfig
    >>> config = SDVLMLlavaOnevisionConfig(depth_scale=10.0)
    >>> config.model_type, config.use_depth, config.depth_scale
    ('sdvlm_llava_onevision', True, 10.0)
    """

    model_type = "sdvlm_llava_onevision"

    def __setattr__(self, name, value):
        super().__setattr__(name, checked_depth_value(name, value))


__all__ = ["SDVLMLlavaOnevisionConfig"]
