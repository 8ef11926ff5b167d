"""SD-VLM on Qwen2.5-VL: the depth encoding added to Qwen2.5-VL's merged image tokens.

No parameters are added: a plain Qwen2.5-VL checkpoint (e.g. `Qwen/Qwen2.5-VL-7B-Instruct`) loads
with no missing or unexpected keys, and without depth the model computes exactly what
`Qwen2_5_VLForConditionalGeneration` computes.
"""

from torch import nn
from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLModel
from transformers.conversion_mapping import get_checkpoint_conversion_mapping, register_checkpoint_conversion_mapping

from .configuration_sdvlm_qwen2_5_vl import SDVLMQwen2_5_VLConfig
from .qwen_depth import QwenDepthGenerationMixin, QwenDepthModelMixin, depth_generation_forward, depth_model_forward


class SDVLMQwen2_5_VLModel(QwenDepthModelMixin, Qwen2_5_VLModel):
    """[`Qwen2_5_VLModel`] whose image features carry the depth encoding.

    `forward(..., depth_values=...)`: `depth_values` `(num_image_tokens,)` from
    [`SDVLMQwen2_5_VLProcessor`]; the depth logic lives here, in the base model, because TRL's
    SFTTrainer calls `model.base_model` directly.
    """

    config: SDVLMQwen2_5_VLConfig
    config_class = SDVLMQwen2_5_VLConfig
    forward = depth_model_forward(Qwen2_5_VLModel.forward)


class SDVLMQwen2_5_VLForConditionalGeneration(QwenDepthGenerationMixin, Qwen2_5_VLForConditionalGeneration):
    """[`Qwen2_5_VLForConditionalGeneration`] with SD-VLM's depth encoding; `forward`/`generate` take
    `depth_values`. generate() encodes the images (and their depth) once, before the first step."""

    config: SDVLMQwen2_5_VLConfig
    config_class = SDVLMQwen2_5_VLConfig
    forward = depth_generation_forward(Qwen2_5_VLForConditionalGeneration.forward)

    def __init__(self, config: SDVLMQwen2_5_VLConfig):
        # Skip the plain __init__, which would build a plain Qwen2_5_VLModel only to be replaced; the
        # submodules and parameter names are the plain class's exactly.
        super(Qwen2_5_VLForConditionalGeneration, self).__init__(config)
        self.model = SDVLMQwen2_5_VLModel(config)
        self.lm_head = nn.Linear(config.text_config.hidden_size, config.text_config.vocab_size, bias=False)
        self.post_init()


# Same parameters as Qwen2.5-VL, so the same legacy-key renamings (`visual.*`, `model.layers.*` of
# the released checkpoints); registered here so the remote-code copy registers them as well.
for _ours, _plain in (
    (SDVLMQwen2_5_VLForConditionalGeneration, Qwen2_5_VLForConditionalGeneration),
    (SDVLMQwen2_5_VLModel, Qwen2_5_VLModel),
):
    register_checkpoint_conversion_mapping(
        _ours.__name__, get_checkpoint_conversion_mapping(_plain.__name__), overwrite=True
    )

SDVLMQwen2_5_VLConfig.register_for_auto_class()
SDVLMQwen2_5_VLModel.register_for_auto_class("AutoModel")
SDVLMQwen2_5_VLForConditionalGeneration.register_for_auto_class("AutoModelForImageTextToText")

__all__ = ["SDVLMQwen2_5_VLModel", "SDVLMQwen2_5_VLForConditionalGeneration"]
