"""Tests of SDVLMProcessor: depth geometry, input types, depth estimation, chat template, bad input."""

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import (
    AutoProcessor,
    CLIPImageProcessor,
    LlavaImageProcessor,
)

from modeling_sdvlm import SDVLMProcessor
from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor
from sdvlm.testing import tiny_depth_estimator

IMAGE_SIZE, PATCH = 64, 8
PROMPT = "USER: <image>\nHow far is the chair? ASSISTANT:"


def ramp_image(height, width):
    """An image whose red channel encodes x and green channel y, and depths 1 + x and 1 + y."""
    x = np.arange(width)[None, :].repeat(height, 0)
    y = np.arange(height)[:, None].repeat(width, 1)
    red = np.round(255 * x / (width - 1))
    green = np.round(255 * y / (height - 1))
    rgb = np.stack([red, green, np.full((height, width), 128)], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb), (1.0 + x).astype(np.float32), (1.0 + y).astype(np.float32)


def clip_style_processor():
    """llava-hf/llava-1.5's geometry: CLIP resize of the shortest edge, then a center crop (no pad)."""
    tiny = build_tiny_processor(texts=["How far is the chair?"], image_size=IMAGE_SIZE, patch_size=PATCH)
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    )
    return SDVLMProcessor(
        image_processor=image_processor,
        tokenizer=tiny.tokenizer,
        patch_size=PATCH,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        estimate_missing_depth=False,
        depth_convention="metric",
    )


def stretch_processor():
    """A plain resize to the square input size (no pad, no crop): the aspect ratio is not kept."""
    tiny = build_tiny_processor(
        texts=["How far is the chair?"], image_size=IMAGE_SIZE, patch_size=PATCH, depth_convention="metric"
    )
    tiny.image_processor = LlavaImageProcessor(
        do_pad=False, do_center_crop=False, size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    )
    return tiny


# The geometry tests use "metric" processors: meters pass through unconverted, so values compare directly.
PROCESSORS = {
    "pad_to_square": lambda: build_tiny_processor(
        texts=["How far is the chair?"], image_size=IMAGE_SIZE, patch_size=PATCH, depth_convention="metric"
    ),
    "clip_resize_crop": clip_style_processor,
    "stretch_resize": stretch_processor,
}


@pytest.fixture(scope="module")
def processor():
    return PROCESSORS["pad_to_square"]()


def erode(mask, radius):
    """Pixels whose whole (2r+1)^2 neighbourhood is in `mask`."""
    tensor = torch.from_numpy(mask.astype(np.float32))[None, None]
    return (-torch.nn.functional.max_pool2d(-tensor, 2 * radius + 1, 1, radius))[0, 0].numpy() > 0.5


# --- geometry -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(PROCESSORS))
@pytest.mark.parametrize("height, width", [(40, 72), (72, 40), (37, 101)])
def test_depth_pixels_lie_under_the_same_image_pixels(kind, height, width):
    processor = PROCESSORS[kind]()
    image_processor = processor.image_processor
    mean = np.array(image_processor.image_mean)[:, None, None]
    std = np.array(image_processor.image_std)[:, None, None]
    image, depth_x, depth_y = ramp_image(height, width)
    for channel, depth, extent in ((0, depth_x, width), (1, depth_y, height)):
        out = processor(images=[image], text=[PROMPT], depth=[depth], return_tensors="pt")
        assert out["depth_values"].shape == (1, IMAGE_SIZE, IMAGE_SIZE) == out["pixel_values"].shape[:1] + out["pixel_values"].shape[2:]
        assert out["depth_values"].dtype == torch.float32
        # The coordinate the image processor put at each output pixel, read back from the colour.
        image_coordinate = (out["pixel_values"][0].numpy() * std + mean)[channel] * (extent - 1)
        depth = out["depth_values"][0].numpy()
        valid = depth > 0
        if kind == "pad_to_square":
            # Padding is invalid; the valid band has the image's share of the square.
            assert abs(valid.mean() - min(height, width) / max(height, width)) < 0.05
        else:
            assert valid.all()
        # Away from the padding border (where the bicubic image mixes in the pad colour), the depth
        # is the same coordinate to a fraction of an original pixel.
        inner = erode(valid, 3)
        assert inner.sum() > 500
        error = np.abs(image_coordinate - (depth - 1.0))[inner]
        assert error.max() < 0.5, f"misaligned by {error.max():.2f} px"


@pytest.mark.parametrize("kind", sorted(PROCESSORS))
def test_depth_cell_lies_under_the_vision_patch(kind):
    processor = PROCESSORS[kind]()
    model = build_tiny_model(processor, depth_normalization="none", depth_scale=1.0)
    image, depth_x, _ = ramp_image(40, 72)
    out = processor(images=[image], text=[PROMPT], depth=[depth_x], return_tensors="pt")
    grid = model.model.depth_grid(out["depth_values"])[0].numpy()
    image_processor = processor.image_processor
    red = out["pixel_values"][0, 0].numpy() * image_processor.image_std[0] + image_processor.image_mean[0]
    patch_x = red.reshape(8, PATCH, 8, PATCH).mean(axis=(1, 3)) * 71  # the x the patch sees
    cell_valid = (out["depth_values"][0].numpy() > 0).reshape(8, PATCH, 8, PATCH).all(axis=(1, 3))
    assert cell_valid.sum() >= 32
    np.testing.assert_allclose(grid[cell_valid] - 1.0, patch_x[cell_valid], atol=0.5)


def test_per_call_image_settings_apply_to_depth_too(processor):
    image, depth, _ = ramp_image(40, 72)
    per_call = processor(images=[image], text=[PROMPT], depth=[depth], do_pad=False, return_tensors="pt")
    clip = clip_style_processor()(images=[image], text=[PROMPT], depth=[depth], return_tensors="pt")
    torch.testing.assert_close(per_call["pixel_values"], clip["pixel_values"], rtol=0, atol=0)
    torch.testing.assert_close(per_call["depth_values"], clip["depth_values"], rtol=0, atol=0)
    assert (per_call["depth_values"] > 0).all()


def test_pad_region_is_invalid_and_keeps_its_place(processor):
    image = Image.new("RGB", (60, 20), (10, 200, 30))
    out = processor(images=[image], text=[PROMPT], depth=[np.full((20, 60), 3.0, np.float32)], return_tensors="pt")
    depth = out["depth_values"][0]
    rows_valid = (depth > 0).any(dim=1)
    # 20/60 of 64 rows, centred: rows ~21..42
    assert rows_valid.sum().item() in (21, 22, 23)
    assert not rows_valid[:20].any() and not rows_valid[44:].any()
    torch.testing.assert_close(depth[depth > 0], torch.full_like(depth[depth > 0], 3.0))


def test_invalid_pixels_do_not_leak_into_valid_ones(processor):
    depth = np.full((64, 128), 2.0, np.float32)
    depth[:, :64] = 0.0
    depth[10:20, 80:90] = np.nan
    out = processor(images=[Image.new("RGB", (128, 64))], text=[PROMPT], depth=[depth], return_tensors="pt")
    values = out["depth_values"][0]
    assert torch.isfinite(values).all()
    valid = values > 0
    # Every valid output pixel is exactly the valid input value: no averaging with the zeros/NaNs.
    torch.testing.assert_close(values[valid], torch.full_like(values[valid], 2.0))
    # The invalid left half stays invalid (128x64 padded to 128x128, resized to 64: columns < 32).
    assert not valid[:, :31].any() and valid[28:44, 34:].all() and not valid[22:25, 41:44].any()


def test_batch_of_images_of_different_sizes(processor):
    images = [ramp_image(40, 72)[0], ramp_image(72, 40)[0]]
    depths = [ramp_image(40, 72)[1], ramp_image(72, 40)[2]]
    out = processor(images=images, text=[PROMPT, PROMPT], depth=depths, return_tensors="pt", padding=True)
    assert out["depth_values"].shape == (2, IMAGE_SIZE, IMAGE_SIZE)
    for index in range(2):
        alone = processor(images=[images[index]], text=[PROMPT], depth=[depths[index]], return_tensors="pt")
        torch.testing.assert_close(out["depth_values"][index], alone["depth_values"][0])


# --- depth input types --------------------------------------------------------------------------


def test_numpy_torch_and_16bit_pil_depth_agree(processor):
    rng = np.random.default_rng(0)
    millimetres = rng.integers(300, 9000, size=(30, 50)).astype(np.uint16)
    millimetres[:3, :4] = 0  # invalid
    image = Image.new("RGB", (50, 30))
    meters = millimetres.astype(np.float32) / 1000.0
    results = []
    for depth in (meters, torch.from_numpy(meters), Image.fromarray(millimetres)):
        results.append(processor(images=image, text=PROMPT, depth=depth, return_tensors="pt")["depth_values"])
    assert Image.fromarray(millimetres).mode.startswith("I;16")
    torch.testing.assert_close(results[0], results[1], rtol=0, atol=0)
    torch.testing.assert_close(results[0], results[2], rtol=1e-6, atol=1e-6)


def test_integer_depth_is_millimetres_whatever_the_container(processor):
    """A uint16 PNG read by cv2/imageio (numpy) or turned into a tensor is millimetres, like the
    16-bit PIL image: integer dtype means millimetres, float dtype means meters."""
    rng = np.random.default_rng(1)
    millimetres = rng.integers(300, 9000, size=(30, 50)).astype(np.uint16)
    image = Image.new("RGB", (50, 30))
    meters = processor(images=image, text=PROMPT, depth=millimetres.astype(np.float32) / 1000.0,
                       return_tensors="pt")["depth_values"]
    for depth in (millimetres, millimetres.astype(np.int32), torch.from_numpy(millimetres.astype(np.int32)),
                  Image.fromarray(millimetres)):
        out = processor(images=image, text=PROMPT, depth=depth, return_tensors="pt")["depth_values"]
        torch.testing.assert_close(out, meters, rtol=1e-6, atol=1e-6)
    assert float(meters.max()) < 10.0  # meters, not millimetres


def test_nan_and_inf_are_invalid_like_zero(processor):
    depth = np.full((32, 48), 4.0, np.float32)
    zeros = depth.copy()
    zeros[5:9, 5:20] = 0.0
    weird = depth.copy()
    weird[5:9, 5:12] = np.nan
    weird[5:9, 12:20] = np.inf
    image = Image.new("RGB", (48, 32))
    a = processor(images=[image], text=[PROMPT], depth=[zeros], return_tensors="pt")["depth_values"]
    b = processor(images=[image], text=[PROMPT], depth=[weird], return_tensors="pt")["depth_values"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_numpy_return_type(processor):
    out = processor(images=[Image.new("RGB", (48, 32))], text=[PROMPT], depth=[np.ones((32, 48), np.float32)], return_tensors="np")
    assert isinstance(out["depth_values"], np.ndarray) and out["depth_values"].dtype == np.float32


# --- bad input ----------------------------------------------------------------------------------


def bad_call(processor, depth, images=None):
    images = images or [Image.new("RGB", (48, 32)), Image.new("RGB", (20, 20))]
    return processor(images=images, text=[PROMPT] * len(images), depth=depth, return_tensors="pt", padding=True)


def test_wrong_depth_shape_names_the_index(processor):
    with pytest.raises(ValueError, match=r"depth map 1 has shape \(20, 21\) but its image is \(20, 20\)"):
        bad_call(processor, [np.ones((32, 48)), np.ones((20, 21))])
    with pytest.raises(ValueError, match=r"depth map 0 has shape \(32, 48, 1\); expected \(height, width\)"):
        bad_call(processor, [np.ones((32, 48, 1)), np.ones((20, 20))])


def test_wrong_number_of_depth_maps(processor):
    with pytest.raises(ValueError, match="wrong number of depth maps: got 1 for 2 images"):
        bad_call(processor, [np.ones((32, 48))])


def test_all_invalid_depth_names_the_index(processor):
    with pytest.raises(ValueError, match="depth map 1 has no valid pixel"):
        bad_call(processor, [np.ones((32, 48)), np.full((20, 20), np.nan)])
    with pytest.raises(ValueError, match="depth map 0 has no valid pixel"):
        bad_call(processor, [np.zeros((32, 48)), np.ones((20, 20))])


def test_negative_depth_names_the_index(processor):
    depth = np.ones((20, 20))
    depth[3, 3] = -1.0
    with pytest.raises(ValueError, match="depth map 1 has negative values"):
        bad_call(processor, [np.ones((32, 48)), depth])


def test_unsupported_depth_type_and_depth_without_images(processor):
    with pytest.raises(ValueError, match="depth map 0 has unsupported type list"):
        bad_call(processor, [[[1.0]], np.ones((20, 20))])
    with pytest.raises(ValueError, match="depth was given without images"):
        processor(text=["hello"], depth=[np.ones((4, 4))])


def test_processor_arguments_are_validated():
    tiny = build_tiny_processor()
    with pytest.raises(ValueError, match="depth_png_scale"):
        SDVLMProcessor(image_processor=tiny.image_processor, tokenizer=tiny.tokenizer, patch_size=8, depth_png_scale=0)
    with pytest.raises(ValueError, match="depth_estimator"):
        SDVLMProcessor(image_processor=tiny.image_processor, tokenizer=tiny.tokenizer, patch_size=8, depth_estimator="")


# --- estimated depth ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def depth_anything_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-depth-anything")
    for part in tiny_depth_estimator():  # the model and its image processor
        part.save_pretrained(path)
    return path


def test_estimate_depth_with_an_injected_model(processor):
    model, image_processor = tiny_depth_estimator()
    calls = []
    model.register_forward_hook(lambda module, args, output: calls.append(1))
    estimating = build_tiny_processor(texts=["How far is the chair?"])
    estimating.set_depth_estimator(model, image_processor)
    images = [ramp_image(40, 72)[0], ramp_image(50, 30)[0], ramp_image(40, 72)[0].transpose(Image.FLIP_LEFT_RIGHT)]
    maps = estimating.estimate_depth(images)
    assert [m.shape for m in maps] == [(40, 72), (50, 30), (40, 72)]
    assert all(m.dtype == np.float32 and (m >= 0).all() and (m > 0).mean() > 0.5 for m in maps)
    assert len(calls) == 2  # batched: one forward per distinct image size
    # The same image alone gives the same map as in the batch.
    np.testing.assert_allclose(estimating.estimate_depth([images[2]])[0], maps[2], rtol=1e-4, atol=1e-5)


def test_processor_estimates_missing_depth_from_a_saved_estimator(depth_anything_dir):
    estimating = build_tiny_processor(
        texts=["How far is the chair?"], depth_estimator=str(depth_anything_dir), estimate_missing_depth=True
    )
    image = ramp_image(40, 72)[0]
    out = estimating(images=[image], text=[PROMPT], return_tensors="pt")
    expected = estimating.estimate_depth([image])
    given = estimating(images=[image], text=[PROMPT], depth=expected, depth_kind="inverse", return_tensors="pt")
    torch.testing.assert_close(out["depth_values"], given["depth_values"])
    skipped = estimating(images=[image], text=[PROMPT], estimate_depth=False, return_tensors="pt")
    assert "depth_values" not in skipped
    model = build_tiny_model(estimating)
    generated = model.generate(**out, max_new_tokens=3, do_sample=False)
    assert generated.shape[1] == out["input_ids"].shape[1] + 3


def test_no_depth_and_no_estimation_gives_llava_inputs(processor):
    out = processor(images=[Image.new("RGB", (48, 32))], text=[PROMPT], return_tensors="pt")
    assert set(out) == {"input_ids", "attention_mask", "pixel_values"}


# --- chat template, save / load -----------------------------------------------------------------


def test_vicuna_v1_chat_template(processor):
    system = (
        "A chat between a curious user and an artificial intelligence assistant. The assistant gives helpful, "
        "detailed, and polite answers to the user's questions."
    )
    conversation = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "How far is the chair?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "1.25 m"}]},
        {"role": "user", "content": "And the table?"},
    ]
    assert processor.apply_chat_template(conversation[:2]) == f"{system} USER: <image>\nHow far is the chair? ASSISTANT: 1.25 m</s>"
    assert processor.apply_chat_template(conversation[:1], add_generation_prompt=True) == (
        f"{system} USER: <image>\nHow far is the chair? ASSISTANT:"
    )
    assert processor.apply_chat_template(conversation, add_generation_prompt=True) == (
        f"{system} USER: <image>\nHow far is the chair? ASSISTANT: 1.25 m</s> USER: And the table? ASSISTANT:"
    )


def test_save_and_load_round_trip_with_auto_processor(tmp_path, processor):
    import modeling_sdvlm  # noqa: F401  (registers AutoProcessor for "sdvlm")

    custom = build_tiny_processor(texts=["How far is the chair?"], depth_estimator="some/depth-model", depth_png_scale=0.0001)
    model = build_tiny_model(custom)
    custom.save_pretrained(tmp_path)
    model.config.save_pretrained(tmp_path)
    loaded = AutoProcessor.from_pretrained(tmp_path)
    assert type(loaded) is SDVLMProcessor
    assert loaded.depth_estimator == "some/depth-model" and loaded.depth_png_scale == 0.0001
    assert loaded.estimate_missing_depth is False and loaded.chat_template == custom.chat_template
    assert loaded.image_processor.do_pad is True
    image, depth, _ = ramp_image(40, 72)
    a = custom(images=[image], text=[PROMPT], depth=[depth], return_tensors="pt")
    b = loaded(images=[image], text=[PROMPT], depth=[depth], return_tensors="pt")
    assert set(a) == set(b)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    assert "depth_values" in loaded.model_input_names
