"""Configuration of SD-VLM: LLaVA plus the Depth Positional Encoding (DPE) switches.

Every ablation switch of the paper lives here, so a saved checkpoint says exactly how depth is
used; the model never changes these values at run time.
"""

import math
from typing import Literal

from huggingface_hub.dataclasses import strict
from transformers import LlavaConfig, PreTrainedConfig

DEFAULT_DEPTH_ESTIMATOR = "depth-anything/Depth-Anything-V2-Large-hf"
# What a depth encoding can have been trained on (see `modeling_sdvlm.depth_inputs`).
DEPTH_CONVENTIONS = ("inverse", "metric")


@strict
class SDVLMDepthConfig(PreTrainedConfig):
    r"""
    The depth settings every SD-VLM family's config shares (see [`SDVLMConfig`] for their meaning).

    A family config subclasses its transformers config and this class, e.g.
    `class SDVLMQwen2_5_VLConfig(Qwen2_5_VLConfig, SDVLMDepthConfig)`, and defines a `__setattr__`
    calling `checked_depth_value` so every assignment of a depth field is checked (`@strict` binds
    each class's own `__setattr__`, so it cannot be inherited from here).
    """

    use_depth: bool = True
    depth_scale: int | float = 100.0
    depth_normalization: Literal["minmax", "none"] | str = "minmax"
    depth_pe_base: int | float = 10000.0
    depth_pe_amplitude: int | float = 1.0
    depth_estimator: str = DEFAULT_DEPTH_ESTIMATOR
    depth_convention: Literal["inverse", "metric"] | str | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        # A plain checkpoint's config.json carries the plain model_type ("llava", "qwen2_5_vl"); loaded
        # into an SD-VLM class it is an SD-VLM config (and must say so, or transformers would treat
        # the custom class as the plain one).
        self.__dict__.pop("model_type", None)
        if self.depth_convention is None:
            self.depth_convention = default_depth_convention(self.depth_normalization)
        hidden_size = self.get_text_config().hidden_size
        if hidden_size % 2:
            # The encoding interleaves sin and cos pairs over the language model's width.
            raise ValueError(f"text_config.hidden_size must be even for the depth encoding, got {hidden_size}")


def default_depth_convention(depth_normalization: str) -> str:
    """The convention of a config that sets none: raw values ("none") only mean something in meters;
    min-max normalised ones are the authors' relative inverse depth."""
    return "metric" if depth_normalization == "none" else "inverse"


def checked_depth_value(name: str, value):
    """The value to store for config attribute `name`: depth fields validated, others unchanged.

    Every SD-VLM config calls it from its own `__setattr__`, so depth fields are checked on every
    assignment, not only in `__init__` (`from_pretrained(path, depth_scale=...)` sets overrides after
    construction)."""
    return _checked_depth_field(name, value) if name in _DEPTH_FIELDS else value


@strict
class SDVLMConfig(LlavaConfig, SDVLMDepthConfig):
    r"""
    [`LlavaConfig`] plus the depth settings of SD-VLM (arXiv 2509.17664).

    The value the encoding sees for each vision patch is
    `depth_scale * normalise(masked_mean_of_the_patch's_valid_depth_pixels)`, and the encoding is
    `depth_pe_amplitude * depth_positional_encoding(value, text_config.hidden_size, depth_pe_base)`,
    added to the projected image tokens.

    Args:
        use_depth (`bool`, defaults to `True`):
            Add the depth encoding to the image tokens when `depth_values` are given. With `False`
            the model is exactly LLaVA (the no-depth baseline) and ignores any depth it is given.
        depth_scale (`float`, defaults to `100.0`):
            The authors' alpha: the normalised depth is multiplied by it before encoding. Must be
            finite and > 0.
        depth_normalization (`"minmax"` or `"none"`, defaults to `"minmax"`):
            `"minmax"`: the authors' per-image min-max over the pooled grid,
            `(d - min) / (max - min + 1e-9)`, so values are in [0, 1] before scaling (works for
            relative depth such as Depth-Anything's inverse depth). `"none"`: the pooled values are
            used as given (e.g. meters), still multiplied by `depth_scale` (set it to 1.0 to encode
            raw values).
        depth_pe_base (`float`, defaults to `10000.0`):
            Base of the sinusoid frequencies, `w_k = 1 / base^(k / (D/2))`. Must be finite and > 1.
        depth_pe_amplitude (`float`, defaults to `1.0`):
            Factor on the encoding before it is added: each encoded token has norm
            `depth_pe_amplitude * sqrt(D / 2)` (sin^2 + cos^2 = 1 per pair). `1.0` is the paper's
            encoding, what the authors' checkpoints were trained with. A model trained from scratch
            at a small width wants less: at D = 128 the unit encoding has norm 8 while freshly
            initialised projected image tokens have norm ~0.2-0.6, so the encoding swamps the image
            content (the tiny preset sets it; see `sdvlm.presets`). Must be finite and > 0.
        depth_estimator (`str`, defaults to `"depth-anything/Depth-Anything-V2-Large-hf"`):
            transformers id or path of the depth model used when no depth is given (the relative
            Depth-Anything-V2 ViT-L, as in the paper).
        depth_convention (`"inverse"` or `"metric"`, defaults to `"inverse"`, or `"metric"` with
            `depth_normalization="none"`):
            The depth the encoding was trained on. `"inverse"`: relative inverse depth (disparity,
            larger = nearer, no unit), as Depth-Anything's relative models give and the authors'
            checkpoints use; the processor turns metric depth `d` into `1 / d` per valid pixel.
            `"metric"`: meters (larger = farther), used as given; relative estimates are refused
            unless the estimator is a metric one. Left unset (None), it follows
            `depth_normalization` at construction (`default_depth_convention`); a saved config
            always holds the resolved value. See `modeling_sdvlm.depth_inputs`.

    Example:

    >>> from modeling_sdvlm import SDVLMConfig
    >>> config = SDVLMConfig(depth_normalization="none", depth_scale=10.0)
    >>> config.model_type, config.use_depth, config.depth_scale, config.depth_convention
    ('sdvlm', True, 10.0, 'metric')
    >>> SDVLMConfig().depth_convention
    'inverse'
    >>> SDVLMConfig(depth_normalization="log")
    Traceback (most recent call last):
    ...
    ValueError: depth_normalization must be 'minmax' or 'none', got 'log'
    """

    model_type = "sdvlm"

    def __setattr__(self, name, value):
        super().__setattr__(name, checked_depth_value(name, value))


_DEPTH_FIELDS = ("use_depth", "depth_scale", "depth_normalization", "depth_pe_base", "depth_pe_amplitude", "depth_estimator",
                 "depth_convention")


def _checked_depth_field(name: str, value):
    """The value to store for a depth setting, or a ValueError naming the field and the bad value."""
    if name == "use_depth":
        if not isinstance(value, bool):
            raise ValueError(f"use_depth must be True or False, got {value!r}")
        return value
    if name == "depth_normalization":
        if value not in ("minmax", "none"):
            raise ValueError(f"depth_normalization must be 'minmax' or 'none', got {value!r}")
        return value
    if name == "depth_convention":
        if value is not None and value not in DEPTH_CONVENTIONS:  # None: resolved in __post_init__
            raise ValueError(f"depth_convention must be one of {', '.join(map(repr, DEPTH_CONVENTIONS))}, got {value!r}")
        return value
    if name == "depth_estimator":
        if not isinstance(value, str) or not value:
            raise ValueError(f"depth_estimator must be a non-empty model id or path, got {value!r}")
        return value
    lowest = 1.0 if name == "depth_pe_base" else 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > lowest):
        raise ValueError(f"{name} must be a finite number > {lowest:g}, got {value!r}")
    return float(value)


__all__ = ["SDVLMConfig", "SDVLMDepthConfig", "DEFAULT_DEPTH_ESTIMATOR", "DEPTH_CONVENTIONS", "checked_depth_value",
           "default_depth_convention"]
