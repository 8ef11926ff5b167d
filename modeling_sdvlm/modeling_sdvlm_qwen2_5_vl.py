"""SD-VLM on Qwen2.5-VL: the depth encoding added to Qwen2.5-VL's merged image tokens.

No parameters are added: a plain Qwen2.5-VL checkpoint (e.g. `Qwen/Qwen2.5-VL-7B-Instruct`) loads
with no missing or unexpected keys, and without depth the model computes exactly what
`Qwen2_5_VLForConditionalGeneration` computes.
"""

from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLModel

from .configuration_sdvlm_qwen2_5_vl import SDVLMQwen2_5_VLConfig
from .depth_plumbing import DepthGenerationMixin, depth_generation_forward, depth_model_forward, register_depth_family
from .qwen_depth import QwenDepthModelMixin


class SDVLMQwen2_5_VLModel(QwenDepthModelMixin, Qwen2_5_VLModel):
    """[`Qwen2_5_VLModel`] whose image features carry the depth encoding.

    `forward(..., depth_values=...)`: `depth_values` `(num_image_tokens,)` from
    [`SDVLMQwen2_5_VLProcessor`]; the depth logic lives here, in the base model, because TRL's
    SFTTrainer calls `model.base_model` directly.
    """

    config: SDVLMQwen2_5_VLConfig
    config_class = SDVLMQwen2_5_VLConfig
    forward = depth_model_forward(Qwen2_5_VLModel.forward)


class SDVLMQwen2_5_VLForConditionalGeneration(DepthGenerationMixin, Qwen2_5_VLForConditionalGeneration):
    """[`Qwen2_5_VLForConditionalGeneration`] with SD-VLM's depth encoding; `forward`/`generate` take
    `depth_values`."""

    config: SDVLMQwen2_5_VLConfig
    config_class = SDVLMQwen2_5_VLConfig
    depth_model_class = SDVLMQwen2_5_VLModel
    forward = depth_generation_forward(Qwen2_5_VLForConditionalGeneration.forward)


# Same parameters as Qwen2.5-VL, so the same legacy-key renamings (`visual.*`, `model.layers.*` of
# the released checkpoints).
register_depth_family(
    SDVLMQwen2_5_VLConfig,
    SDVLMQwen2_5_VLModel,
    SDVLMQwen2_5_VLForConditionalGeneration,
    {
        "SDVLMQwen2_5_VLForConditionalGeneration": "Qwen2_5_VLForConditionalGeneration",
        "SDVLMQwen2_5_VLModel": "Qwen2_5_VLModel",
    },
)

__all__ = ["SDVLMQwen2_5_VLModel", "SDVLMQwen2_5_VLForConditionalGeneration"]
