"""Configuration of SD-VLM on Qwen3-VL: `Qwen3VLConfig` plus the shared depth settings."""

from huggingface_hub.dataclasses import strict
from transformers import Qwen3VLConfig

from .configuration_sdvlm import SDVLMDepthConfig, checked_depth_value


@strict
class SDVLMQwen3VLConfig(Qwen3VLConfig, SDVLMDepthConfig):
    r"""
    [`Qwen3VLConfig`] plus SD-VLM's depth settings (see [`SDVLMConfig`]) and `depth_in_deepstack`.

    The encoding is added to the merged visual tokens (32 x 32-pixel cells of the `smart_resize`d
    image: patch 16, 2 x 2 merge) that replace the image placeholders in the language model's input.

    Args:
        depth_in_deepstack (`bool`, defaults to `False`):
            Also add the encoding to the deepstack features, the intermediate vision features that
            Qwen3-VL adds to the hidden states of its first language-model layers at the image
            positions. Off by default: those additions accumulate in the residual stream, so the
            encoding would enter it once per deepstack layer (4 times with 3 deepstack layers),
            scaled unlike SD-VLM's single addition to the input tokens, and the deepstack mergers
            of a pretrained checkpoint never saw it. The input-token encoding already reaches every
            layer through the residual stream.

    Example:

    >>> from modeling_sdvlm import SDVLMQwen3VLConfig
    >>> config = SDVLMQwen3VLConfig(text_config={"hidden_size": 64, "head_dim": 16})
    >>> config.model_type, config.depth_in_deepstack
    ('sdvlm_qwen3_vl', False)
    """

    model_type = "sdvlm_qwen3_vl"

    depth_in_deepstack: bool = False

    def __setattr__(self, name, value):
        if name == "depth_in_deepstack" and not isinstance(value, bool):
            raise ValueError(f"depth_in_deepstack must be True or False, got {value!r}")
        super().__setattr__(name, checked_depth_value(name, value))


__all__ = ["SDVLMQwen3VLConfig"]
