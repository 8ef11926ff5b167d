"""SD-VLM processor on Qwen2.5-VL: Qwen2.5-VL's processor plus depth pooled onto its image tokens.

`processor(images=..., text=..., depth=...)` returns Qwen2.5-VL's inputs and `depth_values`
`(num_image_tokens,)` float32: per image token, the area-weighted mean of the valid depth pixels
under its 28 x 28-pixel cell of the `smart_resize`d image, computed at the depth map's own
resolution in torch (never through the PIL image processor, which would clip and round depth).
"""

from transformers import Qwen2_5_VLProcessor

from .qwen_depth import QwenDepthProcessorMixin


class SDVLMQwen2_5_VLProcessor(QwenDepthProcessorMixin, Qwen2_5_VLProcessor):
    r"""[`Qwen2_5_VLProcessor`] that also pools depth maps onto the image tokens.

    Args:
        image_processor, tokenizer, video_processor, chat_template: as for [`Qwen2_5_VLProcessor`]
            (`video_processor` may be None: an image-only processor, e.g. without torchvision).
        depth_estimator, estimate_missing_depth, depth_png_scale: see [`DepthProcessorMixin`].

    Everything depth-related is in [`QwenDepthProcessorMixin`]; this class only names the family.
    """


SDVLMQwen2_5_VLProcessor.register_for_auto_class("AutoProcessor")

__all__ = ["SDVLMQwen2_5_VLProcessor"]
