"""SD-VLM on Qwen3-VL: the depth encoding added to Qwen3-VL's merged image tokens (and, when
`config.depth_in_deepstack`, to its deepstack features).

No parameters are added: a plain Qwen3-VL checkpoint loads with no missing or unexpected keys, and
without depth the model computes exactly what `Qwen3VLForConditionalGeneration` computes.
"""

from torch import nn
from transformers import Qwen3VLForConditionalGeneration, Qwen3VLModel

from .configuration_sdvlm_qwen3_vl import SDVLMQwen3VLConfig
from .depth_encoding import add_depth_encoding
from .qwen_depth import QwenDepthGenerationMixin, QwenDepthModelMixin, depth_generation_forward, depth_model_forward


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


class SDVLMQwen3VLForConditionalGeneration(QwenDepthGenerationMixin, Qwen3VLForConditionalGeneration):
    """[`Qwen3VLForConditionalGeneration`] with SD-VLM's depth encoding; `forward`/`generate` take `depth_values`."""

    config: SDVLMQwen3VLConfig
    config_class = SDVLMQwen3VLConfig
    forward = depth_generation_forward(Qwen3VLForConditionalGeneration.forward)

    def __init__(self, config: SDVLMQwen3VLConfig):
        # Skip the plain __init__ (it would build a plain Qwen3VLModel only to be replaced).
        super(Qwen3VLForConditionalGeneration, self).__init__(config)
        self.model = SDVLMQwen3VLModel(config)
        self.lm_head = nn.Linear(config.text_config.hidden_size, config.text_config.vocab_size, bias=False)
        self.post_init()


SDVLMQwen3VLConfig.register_for_auto_class()
SDVLMQwen3VLModel.register_for_auto_class("AutoModel")
SDVLMQwen3VLForConditionalGeneration.register_for_auto_class("AutoModelForImageTextToText")

__all__ = ["SDVLMQwen3VLModel", "SDVLMQwen3VLForConditionalGeneration"]
