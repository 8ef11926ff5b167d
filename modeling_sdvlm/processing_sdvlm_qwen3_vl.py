"""SD-VLM processor on Qwen3-VL: Qwen3-VL's processor plus depth pooled onto its image tokens.

`processor(images=..., text=..., depth=...)` returns Qwen3-VL's inputs and `depth_values`
`(num_image_tokens,)` float32: per image token, the area-weighted mean of the valid depth pixels
under its 32 x 32-pixel cell of the `smart_resize`d image, computed at the depth map's own
resolution in torch (never through the PIL image processor, which would clip and round depth).
"""

from transformers import Qwen3VLProcessor

from .qwen_depth import QwenDepthProcessorMixin


class SDVLMQwen3VLProcessor(QwenDepthProcessorMixin, Qwen3VLProcessor):
    r"""[`Qwen3VLProcessor`] that also pools depth maps onto the image tokens.

    Args:
        image_processor, tokenizer, video_processor, chat_template: as for [`Qwen3VLProcessor`]
            (`video_processor` may be None: an image-only processor, e.g. without torchvision).
        depth_estimator, estimate_missing_depth, depth_png_scale: see [`DepthProcessorMixin`].

    Everything depth-related is in [`QwenDepthProcessorMixin`]; this class only names the family.
    """


SDVLMQwen3VLProcessor.register_for_auto_class("AutoProcessor")

__all__ = ["SDVLMQwen3VLProcessor"]
