"""Configuration of SD-VLM on Qwen2.5-VL: `Qwen2_5_VLConfig` plus the shared depth settings."""

from huggingface_hub.dataclasses import strict
from transformers import Qwen2_5_VLConfig

from .configuration_sdvlm import SDVLMDepthConfig, checked_depth_value


@strict
class SDVLMQwen2_5_VLConfig(Qwen2_5_VLConfig, SDVLMDepthConfig):
    r"""
    [`Qwen2_5_VLConfig`] plus SD-VLM's depth settings (`use_depth`, `depth_scale`,
    `depth_normalization`, `depth_pe_base`, `depth_pe_amplitude`, `depth_estimator`; see [`SDVLMConfig`]).

    The encoding is added to the merged visual tokens (after the vision tower's patch merger, the
    projection into the language model) of each image: one value per token, pooled from the valid
    depth pixels of its 28 x 28-pixel cell of the `smart_resize`d image. A plain `qwen2_5_vl`
    config.json loads into this class.

    Example:

    >>> from modeling_sdvlm import SDVLMQwen2_5_VLConfig
    >>> config = SDVLMQwen2_5_VLConfig(depth_scale=10.0, text_config={"hidden_size": 64})
    >>> config.model_type, config.use_depth, config.depth_scale
    ('sdvlm_qwen2_5_vl', True, 10.0)
    """

    model_type = "sdvlm_qwen2_5_vl"

    def __setattr__(self, name, value):
        super().__setattr__(name, checked_depth_value(name, value))


__all__ = ["SDVLMQwen2_5_VLConfig"]
