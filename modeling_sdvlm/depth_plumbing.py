"""How every family's SD-VLM classes sit on their plain transformers classes (LLaVA-1.5, LLaVA-OneVision,
Qwen2.5-VL, Qwen3-VL); what depth means for each family's tokens lives in the family's own module.

- `depth_model_forward(parent_forward)`: a base model's `forward` that takes `depth_values`, has the
  family's `encode_images_with_depth(arguments, depth_values)` encode the images with their depth, and
  hands the result to the plain forward (which knows nothing of depth).
- `depth_generation_forward(parent_forward)`: a ForConditionalGeneration `forward` that names
  `depth_values` (generate() only passes arguments `forward` names) and hands it on to the base model.
- `DepthGenerationMixin`: the ForConditionalGeneration class built around the family's SD-VLM base model.
- `register_depth_family`: the Auto-class and checkpoint-renaming registrations.

Without depth every class computes exactly what its plain class computes.
"""

import functools
import inspect

from torch import nn
from transformers.conversion_mapping import get_checkpoint_conversion_mapping, register_checkpoint_conversion_mapping


def with_depth_parameter(function, parent):
    """Give `function` the signature of `parent` plus a keyword `depth_values=None` before `**kwargs`.

    generate() passes only the arguments `forward` names, and reads them from `inspect.signature` at
    every decoding step for auto-registered models; a precomputed `__signature__` makes that a lookup.
    """
    signature = inspect.signature(parent)
    parameters = list(signature.parameters.values())
    depth = inspect.Parameter("depth_values", inspect.Parameter.KEYWORD_ONLY, default=None)
    if parameters[-1].kind is inspect.Parameter.VAR_KEYWORD:
        parameters.insert(len(parameters) - 1, depth)
    else:
        parameters.append(depth)
    function.__signature__ = signature.replace(parameters=parameters)
    return function


def depth_model_forward(parent_forward):
    """A base model's `forward`: `depth_values` encoded into the image tokens by
    `self.encode_images_with_depth(arguments, depth_values)`, then the plain forward (bit-identical to
    it without depth). `arguments` are the ones the caller passed, bound to the plain signature (extra
    keywords under `"kwargs"`); it returns the arguments for the plain forward."""
    signature = inspect.signature(parent_forward)

    @functools.wraps(parent_forward)
    def forward(self, *args, depth_values=None, **kwargs):
        if depth_values is None:
            return parent_forward(self, *args, **kwargs)
        arguments = signature.bind(self, *args, **kwargs).arguments
        arguments.pop("self")
        return parent_forward(self, **self.encode_images_with_depth(arguments, depth_values))

    return with_depth_parameter(forward, parent_forward)


def depth_generation_forward(parent_forward):
    """A ForConditionalGeneration `forward` naming `depth_values` and handing it to the base model."""

    @functools.wraps(parent_forward)
    def forward(self, *args, depth_values=None, **kwargs):
        if depth_values is not None:
            kwargs["depth_values"] = depth_values
        return parent_forward(self, *args, **kwargs)

    return with_depth_parameter(forward, parent_forward)


class DepthGenerationMixin:
    """A family's SD-VLM ForConditionalGeneration: the plain class around the SD-VLM base model.

    Put it before the plain class and name the base model: `class SDVLMForConditionalGeneration(
    DepthGenerationMixin, LlavaForConditionalGeneration)` with `depth_model_class = SDVLMModel` and
    `forward = depth_generation_forward(LlavaForConditionalGeneration.forward)`. `generate` encodes the
    images (and their depth) once before the first forward pass, so depth is used at prefill only;
    decoding steps reuse the cached keys and values.
    """

    depth_model_class: type  # the family's SD-VLM base model

    def __init__(self, config):
        # Skip the plain class's __init__, which would build a plain base model only to be replaced;
        # the submodules and parameter names are the plain class's exactly.
        mro = type(self).__mro__
        plain = mro[mro.index(DepthGenerationMixin) + 1]
        super(plain, self).__init__(config)
        self.model = self.depth_model_class(config)
        self.lm_head = nn.Linear(config.text_config.hidden_size, config.text_config.vocab_size, bias=False)
        self.post_init()

    def get_image_features(self, *args, depth_values=None, **kwargs):
        """The base model's `get_image_features` (its arguments, plus `depth_values`)."""
        return self.model.get_image_features(*args, depth_values=depth_values, **kwargs)


def register_depth_family(config_class, model_class, generation_class, renamings: dict[str, str]) -> None:
    """Register a family's classes for the Auto classes (so `save_pretrained` writes `auto_map` and copies
    the code) and its checkpoint renamings.

    Args:
        renamings: our model type or class name -> the plain family's, whose checkpoint key renamings
            (legacy layouts of the released checkpoints) apply to ours too, the parameters being the same.
            Saving reverses them, so a checkpoint keeps the plain class's key layout.

    Called in each family's modeling file, so the copy loaded with `trust_remote_code` registers too.
    """
    for ours, plain in renamings.items():
        register_checkpoint_conversion_mapping(ours, get_checkpoint_conversion_mapping(plain), overwrite=True)
    config_class.register_for_auto_class()
    model_class.register_for_auto_class("AutoModel")
    generation_class.register_for_auto_class("AutoModelForImageTextToText")


__all__ = [
    "DepthGenerationMixin",
    "depth_generation_forward",
    "depth_model_forward",
    "register_depth_family",
    "with_depth_parameter",
]
