"""Depth conventions (issue 17): every checkpoint says which depth it was trained on, and the processor
turns a user's depth into exactly that; training, evaluation, the depth cache and the Space share the one
conversion of `modeling_sdvlm.depth_inputs`."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from modeling_sdvlm import SDVLMConfig, SDVLMProcessor, depth_positional_encoding
from modeling_sdvlm.depth_inputs import METRIC_DEPTH_ESTIMATOR, to_model_depth
from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor
from sdvlm.testing import tiny_depth_estimator

PROMPT = "USER: <image>\nHow far is the chair? ASSISTANT:"


def tiny_pair(convention, **processor_kwargs):
    processor = build_tiny_processor(texts=["How far is the chair?"], image_size=32, patch_size=8, **processor_kwargs)
    model = build_tiny_model(processor, depth_convention=convention)
    return processor, model


@pytest.fixture(scope="module")
def inverse_pair():
    return tiny_pair("inverse")


@pytest.fixture(scope="module")
def metric_pair():
    return tiny_pair("metric")


def test_config_field_is_validated_saved_and_loaded(tmp_path):
    assert SDVLMConfig().depth_convention == "inverse"  # the authors' checkpoints
    assert SDVLMConfig(depth_normalization="none").depth_convention == "metric"  # raw values: meters
    with pytest.raises(ValueError, match="depth_convention must be one of 'inverse', 'metric', got 'disparity'"):
        SDVLMConfig(depth_convention="disparity")
    config = SDVLMConfig(depth_convention="metric")
    config.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["depth_convention"] == "metric"
    assert SDVLMConfig.from_pretrained(tmp_path).depth_convention == "metric"
    with pytest.raises(ValueError, match="depth_convention must be"):
        SDVLMConfig.from_pretrained(tmp_path, depth_convention="meters")


def test_processor_saves_its_convention_and_a_legacy_one_takes_the_config(tmp_path, metric_pair):
    processor, model = metric_pair
    processor.save_pretrained(tmp_path / "new")
    model.config.save_pretrained(tmp_path / "new")
    assert SDVLMProcessor.from_pretrained(tmp_path / "new").depth_convention == "metric"
    # A processor saved before conventions existed (no field) takes config.json's.
    processor.save_pretrained(tmp_path / "legacy")
    model.config.save_pretrained(tmp_path / "legacy")
    saved = json.loads((tmp_path / "legacy" / "processor_config.json").read_text())
    saved.pop("depth_convention")
    (tmp_path / "legacy" / "processor_config.json").write_text(json.dumps(saved))
    assert SDVLMProcessor.from_pretrained(tmp_path / "legacy").depth_convention == "metric"


def test_meters_become_inverse_depth_for_an_inverse_model_and_stay_meters_for_a_metric_one(inverse_pair, metric_pair):
    image = Image.new("RGB", (32, 32), (90, 120, 30))
    depth = np.full((32, 32), 2.0, np.float32)
    depth[:, :16] = 4.0
    depth[0, 0] = 0.0  # invalid stays invalid
    inverse = inverse_pair[0](images=[image], text=[PROMPT], depth=[depth], return_tensors="pt")["depth_values"][0]
    metric = metric_pair[0](images=[image], text=[PROMPT], depth=[depth], return_tensors="pt")["depth_values"][0]
    assert inverse[5, 5] == pytest.approx(0.25) and inverse[5, 25] == pytest.approx(0.5) and inverse[0, 0] == 0
    assert metric[5, 5] == pytest.approx(4.0) and metric[5, 25] == pytest.approx(2.0) and metric[0, 0] == 0
    # Millimetre PNGs are meters first, then the same conversion.
    png = Image.fromarray((depth * 1000).astype(np.uint16))
    from_png = inverse_pair[0](images=[image], text=[PROMPT], depth=[png], return_tensors="pt")["depth_values"][0]
    torch.testing.assert_close(from_png, inverse)
    # Already-inverse depth passes as it is.
    given_inverse = inverse_pair[0](images=[image], text=[PROMPT], depth=[to_model_depth(depth, "inverse")],
                                    depth_kind="inverse", return_tensors="pt")["depth_values"][0]
    torch.testing.assert_close(given_inverse, inverse)


def encoding(processor, model, image, depth, kind):
    depth_values = processor(images=[image], text=[PROMPT], depth=[depth], depth_kind=kind,
                             return_tensors="pt")["depth_values"]
    grid = model.model.depth_grid(depth_values).flatten(1)
    return grid, depth_positional_encoding(grid, model.config.text_config.hidden_size, model.config.depth_pe_base)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    height=st.integers(8, 40),
    width=st.integers(8, 40),
    scale=st.floats(1e-2, 1e2),
    shift_ratio=st.floats(0.0, 10.0),
    invalid_share=st.floats(0.0, 0.3),
)
def test_inverse_model_encodes_metric_depth_like_any_affine_inverse_estimate(
    inverse_pair, seed, height, width, scale, shift_ratio, invalid_share
):
    """Metric d and a / d + b (a > 0) give the same encoding: an "inverse" model sees 1 / d, and the
    min-max over the pooled grid removes the unknown scale and shift of a relative estimate."""
    processor, model = inverse_pair
    # b up to 10 a: a shift far above the map's own spread would only test float32's resolution.
    shift = shift_ratio * scale
    rng = np.random.default_rng(seed)
    depth = rng.uniform(0.3, 8.0, (height, width)).astype(np.float32)
    depth[rng.random((height, width)) < invalid_share] = 0.0
    depth[height // 2, width // 2] = 1.0  # at least one valid pixel
    valid = depth > 0
    relative = np.where(valid, scale / np.where(valid, depth, 1.0) + shift, 0.0).astype(np.float32)
    image = Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
    grid_metric, pe_metric = encoding(processor, model, image, depth, "metric")
    grid_relative, pe_relative = encoding(processor, model, image, relative, "inverse")
    # depth_scale = 100: grid values span 0..100; float32 rounding of the affine map stays far below 0.05.
    torch.testing.assert_close(grid_relative, grid_metric, atol=0.05, rtol=0)
    torch.testing.assert_close(pe_relative, pe_metric, atol=0.05, rtol=0)


def test_inverse_encoding_is_not_the_metric_one(inverse_pair, metric_pair):
    """The guard the property test needs: meters fed as they are would encode near as far."""
    image = Image.new("RGB", (32, 32))
    depth = np.tile(np.linspace(1.0, 5.0, 32, dtype=np.float32), (32, 1))
    grid_inverse, _ = encoding(*inverse_pair, image, depth, "metric")
    grid_metric, _ = encoding(*metric_pair, image, depth, "metric")
    assert grid_inverse[0, 0] > grid_inverse[0, 3] and grid_metric[0, 0] < grid_metric[0, 3]


def test_metric_model_refuses_relative_depth_and_names_the_estimator(metric_pair):
    processor, _ = metric_pair
    image = Image.new("RGB", (40, 24))
    with pytest.raises(ValueError, match=f"depth_convention is 'metric'.*{METRIC_DEPTH_ESTIMATOR}"):
        processor(images=[image], text=[PROMPT], depth=[np.ones((24, 40), np.float32)], depth_kind="inverse")
    relative, relative_processor = tiny_depth_estimator()
    estimating = build_tiny_processor(texts=["How far is the chair?"], image_size=32, patch_size=8,
                                      depth_convention="metric", estimate_missing_depth=True)
    estimating.set_depth_estimator(relative, relative_processor)
    with pytest.raises(ValueError, match="depth estimator 'depth-anything/Depth-Anything-V2-Large-hf' gives relative"):
        estimating(images=[image], text=[PROMPT])
    # A metric estimator (Depth-Anything's depth_estimation_type="metric") feeds it as meters.
    relative.config.depth_estimation_type = "metric"
    assert estimating.estimated_depth_kind() == "metric"
    estimated = estimating.estimate_depth([image])[0]
    out = estimating(images=[image], text=[PROMPT], return_tensors="pt")
    assert out["depth_values"].max() == pytest.approx(float(estimated.max()), rel=0.05)


def test_inverting_holes_and_the_floor_check():
    # -0.0 passes as a hole: it inverts to -inf, which must become 0 like +0.0's inf (was -3.4e38).
    holes = np.array([[2.0, -0.0, 0.0, 4.0]], np.float32)
    assert to_model_depth(holes, "inverse", "metric").tolist() == [[0.5, 0.0, 0.0, 0.25]]
    # The one-pass check on the inverse still refuses a valid pixel just below the floor (1e-4 m) and
    # a map of holes only, with the messages of the full check.
    below = np.array([[0.0, np.nextafter(np.float32(1e-4), np.float32(0)), 1.0]], np.float32)
    with pytest.raises(ValueError, match="metric depth from 0.0001 to 1 m, outside the plausible"):
        to_model_depth(below, "inverse", "metric")
    at_floor = np.array([[0.0, 1e-4, 1.0]], np.float32)
    assert to_model_depth(at_floor, "inverse", "metric")[0, 1] == np.float32(1.0) / np.float32(1e-4)
    with pytest.raises(ValueError, match="has no valid pixel"):
        to_model_depth(np.zeros((2, 2), np.float32), "inverse", "metric")
    # A valid value so small that its inverse overflows to inf like a hole's (subnormal meters) is
    # refused as below the floor, not silently made a hole.
    with pytest.raises(ValueError, match="metric depth from 1e-39 to 1 m, outside"):
        to_model_depth(np.array([[0.0, 1e-39, 1.0]], np.float32), "inverse", "metric")


def test_relative_estimate_feeds_an_inverse_model_as_it_is():
    relative, relative_processor = tiny_depth_estimator()
    processor = build_tiny_processor(texts=["How far is the chair?"], image_size=32, patch_size=8,
                                     depth_convention="inverse", estimate_missing_depth=True)
    processor.set_depth_estimator(relative, relative_processor)
    image = Image.new("RGB", (32, 32), (10, 200, 90))
    estimated = processor.estimate_depth([image])[0]
    out = processor(images=[image], text=[PROMPT], return_tensors="pt")
    given_back = processor(images=[image], text=[PROMPT], depth=[estimated], depth_kind="inverse", return_tensors="pt")
    torch.testing.assert_close(out["depth_values"], given_back["depth_values"])


def test_depth_cache_maps_go_through_the_conversion(tmp_path, inverse_pair):
    from sdvlm.collator import SDVLMDataCollator
    from sdvlm.depth_cache import DepthCache, cache_key

    processor, _ = inverse_pair
    image = Image.new("RGB", (32, 32), (50, 60, 70))
    relative = np.full((32, 32), 3.0, np.float32)
    cache = DepthCache(tmp_path, estimate_fn=lambda images: [relative for _ in images], estimator="e", depth_kind="inverse")
    [key] = cache.fill([image])
    assert key == cache_key(image, "e")
    row = {"image": image, "depth_key": key,
           "conversations": [{"from": "human", "value": "<image>\nHow far is the chair?"}, {"from": "gpt", "value": "2 m"}]}
    batch = SDVLMDataCollator(processor=processor, depth_cache=cache)([row])
    assert float(batch["depth_values"].max()) == pytest.approx(3.0)  # inverse already: not inverted again
    metric_row = {**row, "depth": (np.full((32, 32), 2000, np.uint16))}
    batch = SDVLMDataCollator(processor=processor, depth_cache=cache)([metric_row])
    assert float(batch["depth_values"].max()) == pytest.approx(0.5)  # 2 m -> 1 / 2
    with pytest.raises(ValueError, match="depth_kind must be one of"):
        DepthCache(tmp_path, depth_kind="relative")


def test_space_shows_the_convention_and_refuses_relative_estimates_for_a_metric_model(tmp_path, metric_pair):
    from sdvlm.space import load_space_module

    load_space_module()
    from space_model import SpaceModel

    processor, model = metric_pair
    space_model = SpaceModel(model, processor, max_new_tokens=2)
    assert space_model.depth_convention == "metric" and "**metric**" in space_model.convention_note
    image = Image.new("RGB", (40, 24))
    with pytest.raises(ValueError, match=f"depth_convention is 'metric'.*{METRIC_DEPTH_ESTIMATOR}"):
        space_model.answer(image, "How far is the chair?")
    assert isinstance(space_model.answer(image, "How far is the chair?", np.full((24, 40), 2.0, np.float32)), str)


def test_space_page_names_the_loaded_models_convention(tmp_path):
    from test_space import build_space_assets, make_app

    app = make_app(build_space_assets(tmp_path), num_examples=0)
    notes = [component["props"].get("value") for component in app.demo.config["components"]
             if component["props"].get("elem_id") == "depth-convention"]
    assert notes == [app.model.convention_note] and "**inverse**" in notes[0]
    assert app.model.depth_convention == app.model.model.config.depth_convention == "inverse"


def test_training_loads_with_the_convention_it_will_use(tmp_path):
    from sdvlm.testing import write_tiny_checkpoint, write_tiny_msmu
    from sdvlm.train import SDVLMModelConfig, load_model_and_processor

    data = write_tiny_msmu(tmp_path / "msmu", num_train_frames=2, num_test_frames=1)
    ckpt = write_tiny_checkpoint(tmp_path / "ckpt", data)  # saved as "inverse"
    model, processor = load_model_and_processor(SDVLMModelConfig(model_name_or_path=str(ckpt)))
    assert model.config.depth_convention == processor.depth_convention == "inverse"
    model, processor = load_model_and_processor(SDVLMModelConfig(model_name_or_path=str(ckpt), depth_convention="metric"))
    assert model.config.depth_convention == processor.depth_convention == "metric"
    # A checkpoint from before conventions (no field): the default of the run's normalization.
    config = json.loads((ckpt / "config.json").read_text())
    config.pop("depth_convention")
    (ckpt / "config.json").write_text(json.dumps(config))
    processor_config = json.loads((ckpt / "processor_config.json").read_text())
    processor_config.pop("depth_convention")
    (ckpt / "processor_config.json").write_text(json.dumps(processor_config))
    model, processor = load_model_and_processor(SDVLMModelConfig(model_name_or_path=str(ckpt), depth_normalization="none"))
    assert model.config.depth_convention == processor.depth_convention == "metric"
