"""SD-VLM in transformers: LLaVA with a Depth Positional Encoding.

Importing this package registers model_type "sdvlm" with AutoConfig, AutoModel,
AutoModelForImageTextToText and AutoProcessor.

>>> import modeling_sdvlm
>>> from transformers import AutoConfig
>>> type(AutoConfig.for_model("sdvlm")).__name__
'SDVLMConfig'
"""

from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText, AutoProcessor

from .configuration_sdvlm import SDVLMConfig
from .modeling_sdvlm import SDVLMForConditionalGeneration, SDVLMModel, depth_positional_encoding
from .processing_sdvlm import SDVLMProcessor
from .configuration_sdvlm_llava_onevision import SDVLMLlavaOnevisionConfig
from .modeling_sdvlm_llava_onevision import SDVLMLlavaOnevisionForConditionalGeneration, SDVLMLlavaOnevisionModel
from .processing_sdvlm_llava_onevision import SDVLMLlavaOnevisionProcessor

AutoConfig.register("sdvlm", SDVLMConfig, exist_ok=True)
AutoModel.register(SDVLMConfig, SDVLMModel, exist_ok=True)
AutoModelForImageTextToText.register(SDVLMConfig, SDVLMForConditionalGeneration, exist_ok=True)
AutoProcessor.register(SDVLMConfig, SDVLMProcessor, exist_ok=True)
AutoConfig.register("sdvlm_llava_onevision", SDVLMLlavaOnevisionConfig, exist_ok=True)
AutoModel.register(SDVLMLlavaOnevisionConfig, SDVLMLlavaOnevisionModel, exist_ok=True)
AutoModelForImageTextToText.register(
    SDVLMLlavaOnevisionConfig, SDVLMLlavaOnevisionForConditionalGeneration, exist_ok=True
)
AutoProcessor.register(SDVLMLlavaOnevisionConfig, SDVLMLlavaOnevisionProcessor, exist_ok=True)

__all__ = [
    "SDVLMConfig",
    "SDVLMModel",
    "SDVLMForConditionalGeneration",
    "SDVLMProcessor",
    "depth_positional_encoding",
    "SDVLMLlavaOnevisionConfig",
    "SDVLMLlavaOnevisionModel",
    "SDVLMLlavaOnevisionForConditionalGeneration",
    "SDVLMLlavaOnevisionProcessor",
]
