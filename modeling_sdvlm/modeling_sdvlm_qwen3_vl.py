"""SD-VLM on Qwen3-VL: the depth encoding added to Qwen3-VL's merged image tokens (and, when
`config.depth_in_deepstack`, to its deepstack features).

No parameters are added: a plain Qwen3-VL checkpoint loads with no missing or unexpected keys, and
without depth the model computes exactly what `Qwen3VLForConditionalGeneration` computes.
"""

from transformers import Qwen3VLForConditionalGeneration, Qwen3VLModel

from .configuration_sdvlm_qwen3_vl import SDVLMQwen3VLConfig
from .depth_encoding import add_depth_encoding
from .depth_plumbing import DepthGenerationMixin, depth_generation_forward, depth_model_forward, register_depth_family
from .qwen_depth import QwenDepthModelMixin


class SDVLMQwen3VLModel(QwenDepthModelMixin, Qwen3VLModel):
    """[`Qwen3VLModel`] whose image features carry the depth encoding.

    `forward(..., depth_values=...)`: `depth_values` `(num_image_tokens,)` from [`SDVLMQwen3VLProcessor`].
    """

    config: SDVLMQwen3VLConfig
    config_class = SDVLMQwen3VLConfig
    forward = depth_model_forward(Qwen3VLModel.forward)

    def add_depth(self, outputs, encodings):
        """The input-token encoding, plus the same encoding on every deepstack level if configured."""
        super().add_depth(outputs, encodings)
        if self.config.depth_in_deepstack:
            outputs.deepstack_features = [
                tuple(add_depth_encoding(level, encodings)) for level in outputs.deepstack_features
            ]


class SDVLMQwen3VLForConditionalGeneration(DepthGenerationMixin, Qwen3VLForConditionalGeneration):
    """[`Qwen3VLForConditionalGeneration`] with SD-VLM's depth encoding; `forward`/`generate` take `depth_values`."""

    config: SDVLMQwen3VLConfig
    config_class = SDVLMQwen3VLConfig
    depth_model_class = SDVLMQwen3VLModel
    forward = depth_generation_forward(Qwen3VLForConditionalGeneration.forward)


# transformers has no checkpoint renamings for Qwen3-VL (its checkpoints have the current layout).
register_depth_family(SDVLMQwen3VLConfig, SDVLMQwen3VLModel, SDVLMQwen3VLForConditionalGeneration, {})

__all__ = ["SDVLMQwen3VLModel", "SDVLMQwen3VLForConditionalGeneration"]
