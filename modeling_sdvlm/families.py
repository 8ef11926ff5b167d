"""The SD-VLM families in one table: which classes serve which checkpoints, and their module names.

Training, evaluation and the Space look a checkpoint's family up here (from its config.json
`model_type`, plain or SD-VLM) instead of naming LLaVA's classes, so any family's checkpoint works
with every entry point.

>>> family_for_model_type("qwen2_5_vl").name, family_for_model_type("sdvlm").name
('qwen2_5_vl', 'llava')
"""

from dataclasses import dataclass

from .configuration_sdvlm import SDVLMConfig
from .configuration_sdvlm_llava_onevision import SDVLMLlavaOnevisionConfig
from .configuration_sdvlm_qwen2_5_vl import SDVLMQwen2_5_VLConfig
from .configuration_sdvlm_qwen3_vl import SDVLMQwen3VLConfig
from .modeling_sdvlm import SDVLMForConditionalGeneration
from .modeling_sdvlm_llava_onevision import SDVLMLlavaOnevisionForConditionalGeneration
from .modeling_sdvlm_qwen2_5_vl import SDVLMQwen2_5_VLForConditionalGeneration
from .modeling_sdvlm_qwen3_vl import SDVLMQwen3VLForConditionalGeneration
from .processing_sdvlm import SDVLMProcessor
from .processing_sdvlm_llava_onevision import SDVLMLlavaOnevisionProcessor
from .processing_sdvlm_qwen2_5_vl import SDVLMQwen2_5_VLProcessor
from .processing_sdvlm_qwen3_vl import SDVLMQwen3VLProcessor


@dataclass(frozen=True)
class Family:
    """One family: its SD-VLM classes, the plain model types they load, and module names.

    `projector`: name of the module that maps vision features into the language model (trained in
    full next to LoRA, the authors' recipe); `vision_tower`: attribute of the base model holding the
    vision encoder (frozen with `--freeze_vision_tower`).
    """

    name: str
    plain_model_type: str
    config_class: type
    model_class: type
    processor_class: type
    projector: str
    vision_tower: str

    @property
    def model_types(self) -> tuple[str, str]:
        return self.config_class.model_type, self.plain_model_type


FAMILIES = {
    family.name: family
    for family in (
        Family("llava", "llava", SDVLMConfig, SDVLMForConditionalGeneration, SDVLMProcessor,
               "multi_modal_projector", "vision_tower"),
        Family("qwen2_5_vl", "qwen2_5_vl", SDVLMQwen2_5_VLConfig, SDVLMQwen2_5_VLForConditionalGeneration,
               SDVLMQwen2_5_VLProcessor, "merger", "visual"),
        Family("qwen3_vl", "qwen3_vl", SDVLMQwen3VLConfig, SDVLMQwen3VLForConditionalGeneration,
               SDVLMQwen3VLProcessor, "merger", "visual"),
        Family("llava_onevision", "llava_onevision", SDVLMLlavaOnevisionConfig,
               SDVLMLlavaOnevisionForConditionalGeneration, SDVLMLlavaOnevisionProcessor,
               "multi_modal_projector", "vision_tower"),
    )
}


def family_for_model_type(model_type: str) -> Family:
    """The family serving a config.json `model_type` (the SD-VLM one or the plain one)."""
    for family in FAMILIES.values():
        if model_type in family.model_types:
            return family
    known = sorted(name for family in FAMILIES.values() for name in family.model_types)
    raise ValueError(f"no SD-VLM family for model_type {model_type!r}; supported: {', '.join(known)}")


def family_of_checkpoint(path, revision: str | None = None) -> Family:
    """The family of a checkpoint folder or Hub id, read from its config.json."""
    from transformers import PretrainedConfig

    config_dict, _ = PretrainedConfig.get_config_dict(str(path), revision=revision)
    if "model_type" not in config_dict:
        raise ValueError(f"{path}: config.json has no model_type")
    return family_for_model_type(config_dict["model_type"])


def family_of_processor(processor) -> Family:
    """The family of an SD-VLM processor instance (subclasses checked before their bases)."""
    matches = [family for family in FAMILIES.values() if isinstance(processor, family.processor_class)]
    if not matches:
        raise ValueError(f"not an SD-VLM processor: {type(processor).__name__}")
    return max(matches, key=lambda family: len(family.processor_class.__mro__))


__all__ = ["FAMILIES", "Family", "family_for_model_type", "family_of_checkpoint", "family_of_processor"]
