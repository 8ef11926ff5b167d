"""SD-VLM in transformers: LLaVA with a Depth Positional Encoding.

Importing this package registers the model types "sdvlm" (LLaVA-1.5), "sdvlm_qwen2_5_vl" and
"sdvlm_qwen3_vl", "sdvlm_llava_onevision" with AutoConfig, AutoModel, AutoModelForImageTextToText and AutoProcessor.

>>> import modeling_sdvlm
>>> from transformers import AutoConfig
>>> type(AutoConfig.for_model("sdvlm")).__name__
'SDVLMConfig'
"""

from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText, AutoProcessor

from .configuration_sdvlm import SDVLMConfig
from .configuration_sdvlm_qwen2_5_vl import SDVLMQwen2_5_VLConfig
from .configuration_sdvlm_qwen3_vl import SDVLMQwen3VLConfig
from .modeling_sdvlm import SDVLMForConditionalGeneration, SDVLMModel, depth_positional_encoding
from .modeling_sdvlm_qwen2_5_vl import SDVLMQwen2_5_VLForConditionalGeneration, SDVLMQwen2_5_VLModel
from .modeling_sdvlm_qwen3_vl import SDVLMQwen3VLForConditionalGeneration, SDVLMQwen3VLModel
from .processing_sdvlm import SDVLMProcessor
from .configuration_sdvlm_llava_onevision import SDVLMLlavaOnevisionConfig
from .modeling_sdvlm_llava_onevision import SDVLMLlavaOnevisionForConditionalGeneration, SDVLMLlavaOnevisionModel
from .processing_sdvlm_llava_onevision import SDVLMLlavaOnevisionProcessor
from .processing_sdvlm_qwen2_5_vl import SDVLMQwen2_5_VLProcessor
from .processing_sdvlm_qwen3_vl import SDVLMQwen3VLProcessor

for _config, _model, _generation, _processor in (
    (SDVLMConfig, SDVLMModel, SDVLMForConditionalGeneration, SDVLMProcessor),
    (SDVLMQwen2_5_VLConfig, SDVLMQwen2_5_VLModel, SDVLMQwen2_5_VLForConditionalGeneration, SDVLMQwen2_5_VLProcessor),
    (SDVLMQwen3VLConfig, SDVLMQwen3VLModel, SDVLMQwen3VLForConditionalGeneration, SDVLMQwen3VLProcessor),
    (
        SDVLMLlavaOnevisionConfig,
        SDVLMLlavaOnevisionModel,
        SDVLMLlavaOnevisionForConditionalGeneration,
        SDVLMLlavaOnevisionProcessor,
    ),
):
    AutoConfig.register(_config.model_type, _config, exist_ok=True)
    AutoModel.register(_config, _model, exist_ok=True)
    AutoModelForImageTextToText.register(_config, _generation, exist_ok=True)
    AutoProcessor.register(_config, _processor, exist_ok=True)

__all__ = [
    "SDVLMConfig",
    "SDVLMModel",
    "SDVLMForConditionalGeneration",
    "SDVLMProcessor",
    "SDVLMQwen2_5_VLConfig",
    "SDVLMQwen2_5_VLForConditionalGeneration",
    "SDVLMQwen2_5_VLModel",
    "SDVLMQwen2_5_VLProcessor",
    "SDVLMQwen3VLConfig",
    "SDVLMQwen3VLForConditionalGeneration",
    "SDVLMQwen3VLModel",
    "SDVLMQwen3VLProcessor",
    "depth_positional_encoding",
    "SDVLMLlavaOnevisionConfig",
    "SDVLMLlavaOnevisionModel",
    "SDVLMLlavaOnevisionForConditionalGeneration",
    "SDVLMLlavaOnevisionProcessor",
]
