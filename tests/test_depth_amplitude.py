"""`depth_pe_amplitude`: the factor on the depth encoding, for every family (validated, saved, applied)."""

import json

import numpy as np
import pytest
import torch
from huggingface_hub.errors import StrictDataclassFieldValidationError
from PIL import Image
from transformers import AutoConfig, AutoModelForImageTextToText

from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor
from sdvlm.model_inputs import question_inputs

FAMILIES = ("llava", "qwen2_5_vl", "qwen3_vl", "llava_onevision")


@pytest.fixture(scope="module", params=FAMILIES)
def family(request):
    return request.param


@pytest.fixture(scope="module")
def processor(family):
    return build_tiny_processor(texts=["How far? 1.5 m"], image_size=32, patch_size=4 if family.startswith("qwen") else 8,
                                family=family)


@pytest.fixture(scope="module")
def inputs(processor):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    depth = rng.uniform(0.5, 6.0, (32, 32)).astype(np.float32)
    return question_inputs(processor, [image], ["How far?"], depth=[depth])


def language_model_embeddings(model, inputs, with_depth=True) -> torch.Tensor:
    """`(batch, seq, hidden)` embeddings the language model receives (image tokens included)."""
    seen = {}
    hook = model.model.language_model.register_forward_pre_hook(
        lambda module, args, kwargs: seen.update(embeds=kwargs["inputs_embeds"].detach().clone()), with_kwargs=True)
    try:
        with torch.no_grad():
            model(**{k: v for k, v in inputs.items() if with_depth or k != "depth_values"})
    finally:
        hook.remove()
    return seen["embeds"]


def test_default_is_the_papers_unit_encoding(processor, family):
    assert build_tiny_model(processor, family=family).config.depth_pe_amplitude == 1.0


def test_amplitude_scales_exactly_the_added_encoding(processor, family, inputs):
    unit = build_tiny_model(processor, family=family).eval()
    scaled = build_tiny_model(processor, family=family, depth_pe_amplitude=0.25).eval()
    plain = language_model_embeddings(unit, inputs, with_depth=False)
    unit_pe = language_model_embeddings(unit, inputs) - plain
    scaled_pe = language_model_embeddings(scaled, inputs) - plain
    assert unit_pe.abs().amax() > 0.5  # the depth really reached the image tokens
    torch.testing.assert_close(scaled_pe, 0.25 * unit_pe, atol=1e-5, rtol=0)
    assert torch.equal(language_model_embeddings(scaled, inputs, with_depth=False), plain)


def test_amplitude_round_trips_through_save_and_load(processor, family, inputs, tmp_path):
    model = build_tiny_model(processor, family=family, depth_pe_amplitude=0.03).eval()
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["depth_pe_amplitude"] == 0.03
    assert AutoConfig.from_pretrained(tmp_path).depth_pe_amplitude == 0.03
    loaded = AutoModelForImageTextToText.from_pretrained(tmp_path).eval()
    assert loaded.config.depth_pe_amplitude == 0.03
    with torch.no_grad():
        assert torch.equal(loaded(**inputs).logits, model(**inputs).logits)
    assert AutoConfig.from_pretrained(tmp_path, depth_pe_amplitude=2).depth_pe_amplitude == 2.0


@pytest.mark.parametrize("value", [0.0, -0.5, float("inf"), float("nan"), True, "0.1"])
def test_bad_amplitude_is_refused_at_construction_and_at_load(processor, family, value, tmp_path):
    # Wrong types are refused by the strict dataclass first (its own error class), bad numbers by the
    # depth-field check (ValueError); both errors name the field.
    error = ValueError if isinstance(value, float) else StrictDataclassFieldValidationError
    message = r"depth_pe_amplitude must be a finite number > 0, got" if isinstance(value, float) else "depth_pe_amplitude"
    with pytest.raises(error, match=message):
        build_tiny_model(processor, family=family, depth_pe_amplitude=value)
    build_tiny_model(processor, family=family).config.save_pretrained(tmp_path)
    with pytest.raises(error, match=message):
        AutoConfig.from_pretrained(tmp_path, depth_pe_amplitude=value)
