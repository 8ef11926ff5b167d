"""SD-VLM processor on Qwen3-VL: its processor plus depth pooled onto the 32 x 32-pixel token cells.

Everything depth-related is shared with Qwen2.5-VL in [`QwenDepthProcessorMixin`] (`qwen_depth`).
"""

from transformers import Qwen3VLProcessor

from .qwen_depth import QwenDepthProcessorMixin


class SDVLMQwen3VLProcessor(QwenDepthProcessorMixin, Qwen3VLProcessor):
    r"""[`Qwen3VLProcessor`] with `depth=`; arguments and outputs: see [`QwenDepthProcessorMixin`]."""


SDVLMQwen3VLProcessor.register_for_auto_class("AutoProcessor")

__all__ = ["SDVLMQwen3VLProcessor"]
