"""Configuration of SD-VLM on LLaVA-OneVision: `LlavaOnevisionConfig` plus the depth switches."""

from huggingface_hub.dataclasses import strict
from transformers import LlavaOnevisionConfig

from .configuration_sdvlm import _DEPTH_FIELDS, DEFAULT_DEPTH_ESTIMATOR, _checked_depth_field


@strict
class SDVLMLlavaOnevisionConfig(LlavaOnevisionConfig):
    r"""
    [`LlavaOnevisionConfig`] plus SD-VLM's depth settings, with the meaning and checks of
    [`SDVLMConfig`]: `use_depth`, `depth_scale`, `depth_normalization`, `depth_pe_base`,
    `depth_estimator`.

    How depth maps to OneVision's tokens: every tile (the base view, then the anyres grid) is pooled
    over its vision patch cells; the pooled cells then go through the model's own
    `pack_image_features` (tile order, unpadding, optional downsampling), so each packed visual
    token gets the depth of exactly the pixels its features come from. The row newline tokens get
    no encoding. `"minmax"` normalises over all visual tokens of one image (base view and grid
    together), so every tile of an image shares one depth scale.

    Example:

    >>> from modeling_sdvlm import SDVLMLlavaOnevisionConfig
    >>> config = SDVLMLlavaOnevisionConfig(depth_scale=10.0)
    >>> config.model_type, config.use_depth, config.depth_scale
    ('sdvlm_llava_onevision', True, 10.0)
    """

    model_type = "sdvlm_llava_onevision"

    use_depth: bool = True
    depth_scale: int | float = 100.0
    depth_normalization: str = "minmax"
    depth_pe_base: int | float = 10000.0
    depth_estimator: str = DEFAULT_DEPTH_ESTIMATOR

    def __setattr__(self, name, value):
        # Checked on every assignment: `from_pretrained(path, depth_scale=...)` sets overrides late.
        if name in _DEPTH_FIELDS:
            value = _checked_depth_field(name, value)
        super().__setattr__(name, value)

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        # A plain LLaVA-OneVision config.json says "llava_onevision"; loaded here it is an SD-VLM config.
        self.__dict__.pop("model_type", None)
        hidden_size = self.text_config.hidden_size
        if hidden_size % 2:
            raise ValueError(f"text_config.hidden_size must be even for the depth encoding, got {hidden_size}")


__all__ = ["SDVLMLlavaOnevisionConfig"]
