"""SD-VLM processor on Qwen2.5-VL: its processor plus depth pooled onto the 28 x 28-pixel token cells.

Everything depth-related is shared with Qwen3-VL in [`QwenDepthProcessorMixin`] (`qwen_depth`).
"""

from transformers import Qwen2_5_VLProcessor

from .qwen_depth import QwenDepthProcessorMixin


class SDVLMQwen2_5_VLProcessor(QwenDepthProcessorMixin, Qwen2_5_VLProcessor):
    r"""[`Qwen2_5_VLProcessor`] with `depth=`; arguments and outputs: see [`QwenDepthProcessorMixin`]."""


SDVLMQwen2_5_VLProcessor.register_for_auto_class("AutoProcessor")

__all__ = ["SDVLMQwen2_5_VLProcessor"]
