"""Tests of SD-VLM on LLaVA-OneVision: exactness against the plain class, loading, depth alignment
through the anyres tiling and packing, save/load, remote code, generation, batches, bad input.

Everything is built from tiny configs of OneVision's own classes (SigLIP tower, Qwen2 language
model, `LlavaOnevisionImageProcessor` with small pinpoints): nothing is downloaded.
"""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import (
    AutoConfig,
    LlavaOnevisionConfig,
    LlavaOnevisionForConditionalGeneration,
)
from transformers.image_utils import PILImageResampling

from modeling_sdvlm import (
    SDVLMLlavaOnevisionConfig,
    SDVLMLlavaOnevisionForConditionalGeneration,
    SDVLMLlavaOnevisionModel,
    SDVLMLlavaOnevisionProcessor,
)
from modeling_sdvlm.depth_geometry_llava_onevision import anyres_depth_cells
from modeling_sdvlm.depth_inputs import to_model_depth
from modeling_sdvlm.tiny import build_tiny_tokenizer
from modeling_sdvlm.tiny_llava_onevision import (
    build_tiny_llava_onevision_model,
    build_tiny_llava_onevision_processor,
)
from sdvlm.family_checks import assert_auto_logits_match, greedy_without_cache, load_with_auto_classes
from sdvlm.remote_code_check import flat_scene, run_remote_checkpoint

PROMPT = "<image>How far is it?"


@pytest.fixture(scope="module")
def processor():
    return build_tiny_llava_onevision_processor(build_tiny_tokenizer([PROMPT]))


@pytest.fixture(scope="module")
def model(processor):
    return build_tiny_llava_onevision_model(processor, text_hidden_size=32)


def noise_image(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def noise_depth(height, width, seed=0):
    return np.random.default_rng(seed).uniform(0.5, 4.0, (height, width)).astype(np.float32)


@pytest.fixture(scope="module")
def inputs(processor):
    """A batch of two non-square images of different sizes (different tilings), with depth."""
    sizes = [(20, 50), (50, 40)]
    images = [Image.fromarray(noise_image(h, w, seed)) for seed, (h, w) in enumerate(sizes)]
    depth = [noise_depth(h, w, seed) for seed, (h, w) in enumerate(sizes)]
    return dict(processor(images=images, text=[PROMPT, PROMPT], depth=depth, return_tensors="pt", padding=True))


def without_depth(inputs):
    return {k: v for k, v in inputs.items() if k != "depth_values"}


def plain_twin(model):
    """The plain `LlavaOnevisionForConditionalGeneration` with the same config values and weights."""
    config = LlavaOnevisionConfig(**{k: v for k, v in model.config.to_dict().items() if k != "model_type"})
    plain = LlavaOnevisionForConditionalGeneration(config).eval()
    plain.load_state_dict(model.state_dict())
    return plain


# --- exactness against the plain class, loading --------------------------------------------------


def test_without_depth_or_with_use_depth_false_logits_are_bit_identical_to_plain(processor, model, inputs):
    plain = plain_twin(model)
    off = build_tiny_llava_onevision_model(processor, text_hidden_size=32, use_depth=False)
    with torch.no_grad():
        reference = plain(**without_depth(inputs)).logits
        assert torch.equal(model(**without_depth(inputs)).logits, reference)
        assert torch.equal(off(**inputs).logits, reference)
        assert not torch.equal(model(**inputs).logits, reference)


def test_plain_checkpoint_loads_with_no_missing_or_unexpected_keys(model, inputs, tmp_path):
    plain = plain_twin(model)
    plain.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["model_type"] == "llava_onevision"
    loaded, info = SDVLMLlavaOnevisionForConditionalGeneration.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert isinstance(loaded.config, SDVLMLlavaOnevisionConfig) and loaded.config.use_depth
    with torch.no_grad():
        assert torch.equal(loaded.eval()(**without_depth(inputs)).logits, plain(**without_depth(inputs)).logits)


def test_saved_keys_are_exactly_plain_onevisions(model, tmp_path):
    from safetensors.torch import load_file

    model.save_pretrained(tmp_path / "sdvlm")
    plain_twin(model).save_pretrained(tmp_path / "plain")
    ours, theirs = (load_file(str(tmp_path / name / "model.safetensors")) for name in ("sdvlm", "plain"))
    assert sorted(ours) == sorted(theirs)
    assert all(torch.equal(ours[name], theirs[name]) for name in theirs)
    _, info = LlavaOnevisionForConditionalGeneration.from_pretrained(tmp_path / "sdvlm", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]


# --- depth alignment through tiling and packing ---------------------------------------------------


def changed_tokens(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    return (before != after).any(dim=-1)


# (image height, width, square top, left, side). Integer resize factors everywhere (base tile and
# grid), with the square's edges on multiples of the factors: then the image processor's NEAREST
# resampling samples, in every patch cell, exactly pixels of the source area the cell covers, so
# "the tokens whose pixels the square covers" has one meaning for the image and for the depth.
ALIGNMENT_CASES = [
    (16, 64, 6, 30, 6),  # 1 x 2 tiles, padded rows (unpadded by the packing), square across tiles
    (64, 96, 24, 24, 24),  # 2 x 3 tiles, square across a tile row and a tile column
]


@pytest.mark.parametrize("vision_aspect_ratio", ["anyres_max_9", "anyres_max_1"])
def test_a_depth_square_changes_exactly_the_tokens_whose_pixels_it_covers(vision_aspect_ratio):
    """Truth from the image path: with a vision tower reduced to its patch embedding (features of a
    token depend on its own patch only), the tokens whose features change when the IMAGE changes on
    the square, after OneVision's own tiling, packing, unpadding and (anyres_max_1) downsampling."""
    processor = build_tiny_llava_onevision_processor(
        build_tiny_tokenizer([PROMPT]), vision_aspect_ratio=vision_aspect_ratio
    )
    model = build_tiny_llava_onevision_model(
        processor, vision_layers=1, vision_feature_layer=-2, depth_normalization="none", depth_scale=1.0
    )
    tilings = set()
    for height, width, top, left, side in ALIGNMENT_CASES:
        image = noise_image(height, width)
        changed_image = image.copy()
        changed_image[top : top + side, left : left + side] = 255 - image[top : top + side, left : left + side]
        depth = noise_depth(height, width)
        changed_depth = depth.copy()
        changed_depth[top : top + side, left : left + side] += 3.0

        def run(pixels, depth_map):
            batch = processor(
                images=[Image.fromarray(pixels)],
                text=[PROMPT],
                depth=[depth_map],
                return_tensors="pt",
                resample=PILImageResampling.NEAREST,
            )
            with torch.no_grad():
                plain = model.model.get_image_features(batch["pixel_values"], batch["image_sizes"])
                encoded = model.model.get_image_features(
                    batch["pixel_values"], batch["image_sizes"], depth_values=batch["depth_values"]
                )
            return batch, plain.pooler_output[0], encoded.pooler_output[0]

        batch, plain, encoded = run(image, depth)
        _, plain_changed_image, _ = run(changed_image, depth)
        _, _, encoded_changed_depth = run(image, changed_depth)
        tilings.add(int(batch["pixel_values"].shape[1]))
        covered = changed_tokens(plain, plain_changed_image)
        assert covered.any() and not covered.all()
        assert torch.equal(changed_tokens(encoded, encoded_changed_depth), covered), (height, width)
        # newline tokens (the packed image_newline) get no encoding, with either depth
        newline = (plain == model.model.image_newline).all(dim=-1)
        assert int(newline.sum()) > 0
        assert torch.equal(encoded[newline], plain[newline])
        assert torch.equal(encoded_changed_depth[newline], plain[newline])
    assert len(tilings) == len(ALIGNMENT_CASES)  # the resolutions are tiled differently


def test_multi_image_sample_depth_follows_the_untiled_images(processor, model):
    """Images of a multi-image sample are padded to a square, one tile each, newline after each."""
    images = [Image.fromarray(noise_image(16, 32, 1)), Image.fromarray(noise_image(40, 20, 2))]
    depth = [noise_depth(16, 32, 1), noise_depth(40, 20, 2)]
    batch = processor(images=[images], text=["<image><image>How far is it?"], depth=[depth], return_tensors="pt")
    assert batch["batch_num_images"].tolist() == [2] and tuple(batch["depth_values"].shape[:2]) == (2, 1)
    # 16 x 32 padded to 32 x 32: the top and bottom quarter of the cells are padding (no depth)
    cells = batch["depth_values"][0, 0]
    assert (cells[[0, 3]] == 0).all() and (cells[1:3] > 0).all()
    with torch.no_grad():
        logits = model(**batch).logits
        assert not torch.equal(logits, model(**without_depth(batch)).logits)
        assert torch.equal(model(**without_depth(batch)).logits, plain_twin(model)(**without_depth(batch)).logits)


# --- the processor ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(20, 50), (45, 100), (100, 45), (33, 33)])
def test_processor_depth_tiles_follow_the_image_tiles(processor, size):
    """Depth cells are empty exactly where the processed image tile is padding, per tile, and
    depth above 1 reaches the cells unclipped and unrounded."""
    height, width = size
    image = Image.fromarray(np.full((height, width, 3), 200, dtype=np.uint8))
    depth = np.full((height, width), 5.3, dtype=np.float32)
    batch = processor(images=[image], text=[PROMPT], depth=[depth], do_normalize=False, return_tensors="pt")
    pixels, cells = batch["pixel_values"][0], batch["depth_values"][0]
    patch = processor.patch_size
    grid = pixels.shape[-1] // patch
    assert cells.shape == (pixels.shape[0], grid, grid)
    image_in_cell = pixels.abs().amax(dim=1).view(-1, grid, patch, grid, patch).amax(dim=(2, 4)) > 0
    assert torch.equal(cells > 0, image_in_cell)
    # 5.3 m in the model's depth convention (1 / 5.3 for the default "inverse" model), to float32 rounding
    # of the pooling's float32 row pass (8-bit rounding or clipping would be off by far more)
    expected = float(to_model_depth(depth, processor.model_depth_convention)[0, 0])
    torch.testing.assert_close(cells[image_in_cell], torch.full_like(cells[image_in_cell], expected), rtol=1e-6, atol=0)


def test_processor_pads_depth_tiles_like_pixel_tiles(inputs):
    counts = [3, 5]  # 20x50 -> base + 1x2 tiles; 50x40 -> base + 2x2 tiles
    assert inputs["pixel_values"].shape[:2] == inputs["depth_values"].shape[:2] == (2, max(counts))
    assert (inputs["depth_values"][0, counts[0] :] == 0).all()
    assert (inputs["depth_values"][1] > 0).any(dim=(1, 2)).all()


def test_anyres_depth_cells_pool_by_area_over_valid_pixels():
    # 8 x 8, one tile of 8 px with 4-px patches (2 x 2 cells); left half 2.0 with a hole, right half 6.0
    depth = torch.full((8, 8), 6.0)
    depth[:, :4] = 2.0
    depth[:4, :4] = 0.0  # a hole covering cell (0, 0) of the grid tile
    cells = anyres_depth_cells(depth, [[8, 8]], tile=8, patch=4)
    assert cells.shape == (2, 2, 2)
    assert torch.equal(cells[1], torch.tensor([[0.0, 6.0], [2.0, 6.0]]))


@pytest.mark.parametrize("vision_aspect_ratio, gathers", [("anyres_max_9", True), ("anyres_max_1", False)])
def test_cached_packing_gathers_exactly_what_packing_the_cells_gives(vision_aspect_ratio, gathers, monkeypatch):
    """Without downsampling the depth path copies cells by a cached index found from the model's own
    packing; with it (anyres_max_1) it packs the cells at every call. Both give the packed cells bit for bit."""
    processor = build_tiny_llava_onevision_processor(
        build_tiny_tokenizer([PROMPT]), vision_aspect_ratio=vision_aspect_ratio
    )
    model = build_tiny_llava_onevision_model(processor, text_hidden_size=32).model
    sizes = [(20, 50), (50, 40), (64, 96)]
    depth = [noise_depth(h, w, seed) for seed, (h, w) in enumerate(sizes)]
    depth[0][:6, :9] = 0.0  # empty cells stay empty (0) on both paths
    batch = processor(images=[Image.fromarray(noise_image(h, w)) for h, w in sizes], text=[PROMPT] * 3,
                      depth=depth, return_tensors="pt", padding=True)
    arguments = (batch["depth_values"], batch["image_sizes"], vision_aspect_ratio)
    rows, not_visual, lengths = model.depth_token_values(*arguments)
    counts, cached = model._depth_packing(batch["image_sizes"], vision_aspect_ratio, None, 0, batch["depth_values"].shape[1])
    assert (cached is not None) == gathers and counts == model.tiles_per_image(batch["image_sizes"])
    tiles = torch.cat([image[:count] for image, count in zip(batch["depth_values"], counts)])  # (total_tiles, ...)
    assert torch.equal(model.depth_token_values(tiles, *arguments[1:])[0], rows)
    monkeypatch.setattr(type(model), "_depth_packing", lambda self, *args: (counts, None))
    packed_rows, packed_not_visual, packed_lengths = model.depth_token_values(*arguments)
    assert torch.equal(rows, packed_rows) and lengths == packed_lengths
    assert all(torch.equal(a, b) for a, b in zip(not_visual, packed_not_visual))
    assert (rows == 0).any() and len(set(lengths)) == 3


# --- batches, generation --------------------------------------------------------------------------


def test_a_batch_of_two_images_of_different_sizes_matches_each_alone(processor, model, inputs):
    with torch.no_grad():
        batched = model.model.get_image_features(
            inputs["pixel_values"], inputs["image_sizes"], depth_values=inputs["depth_values"]
        ).pooler_output
        for index in range(2):
            alone = model.model.get_image_features(
                inputs["pixel_values"][index : index + 1],
                inputs["image_sizes"][index : index + 1],
                depth_values=inputs["depth_values"][index : index + 1],
            ).pooler_output[0]
            torch.testing.assert_close(batched[index], alone, rtol=1e-5, atol=1e-5)
        assert batched[0].shape[0] != batched[1].shape[0]
        logits = model(**inputs).logits
    assert torch.isfinite(logits).all()


def test_generate_with_depth_equals_a_manual_greedy_loop(model, inputs):
    steps = 5
    with torch.no_grad():
        generated = model.generate(**inputs, max_new_tokens=steps, min_new_tokens=steps, do_sample=False)
    ids = greedy_without_cache(model, inputs, steps)
    assert torch.equal(generated, ids)


# --- save / load / Auto classes / remote code -----------------------------------------------------


def test_save_load_and_auto_classes_round_trip(processor, model, inputs, tmp_path):
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "sdvlm_llava_onevision"
    assert saved["auto_map"]["AutoModelForImageTextToText"] == (
        "modeling_sdvlm_llava_onevision.SDVLMLlavaOnevisionForConditionalGeneration"
    )
    assert type(AutoConfig.from_pretrained(tmp_path)) is SDVLMLlavaOnevisionConfig
    auto, base, loaded_processor = load_with_auto_classes(tmp_path)
    assert type(auto) is SDVLMLlavaOnevisionForConditionalGeneration and type(base) is SDVLMLlavaOnevisionModel
    assert type(loaded_processor) is SDVLMLlavaOnevisionProcessor and loaded_processor.patch_size == 8
    image, depth = Image.fromarray(noise_image(20, 50)), noise_depth(20, 50)
    again = loaded_processor(images=[image], text=[PROMPT], depth=[depth], return_tensors="pt")
    first = processor(images=[image], text=[PROMPT], depth=[depth], return_tensors="pt")
    assert all(torch.equal(again[key], first[key]) for key in first)
    assert_auto_logits_match(model, auto, base, inputs)


@pytest.mark.slow
def test_checkpoint_loads_with_trust_remote_code_without_the_package(processor, model, tmp_path, repo_root):
    remote = run_remote_checkpoint(model, processor, tmp_path, repo_root, PROMPT, 20, 50)
    assert remote["model"].endswith("SDVLMLlavaOnevisionForConditionalGeneration")
    assert remote["processor"].endswith("SDVLMLlavaOnevisionProcessor")
    assert not remote["model"].startswith("modeling_sdvlm.") and not remote["processor"].startswith("modeling_sdvlm.")
    image, depth = flat_scene(20, 50)
    local = processor(images=[image], text=[PROMPT], depth=[depth], return_tensors="pt")
    with torch.no_grad():
        logits = model(**local).logits[0, -1]
    assert remote["depth"] == local["depth_values"].flatten().tolist()
    np.testing.assert_allclose(remote["logits"], logits.numpy(), rtol=1e-5, atol=1e-5)


# --- bad input ------------------------------------------------------------------------------------


def test_model_rejects_bad_depth_with_clear_errors(model, inputs):
    pixel_values, image_sizes, depth = inputs["pixel_values"], inputs["image_sizes"], inputs["depth_values"]
    features = model.model.get_image_features
    cases = [
        (depth[..., :3, :3], r"\(3, 3\) cells per tile but the vision tower has \(4, 4\)"),
        (depth[:1], "1 depth maps for 2 images"),
        (depth[:, :4], "hold 4 tiles per image but image 1 has 5 tiles"),
        (depth.flatten(0, 1)[:7], r"7 for 8 image tiles \(per image: \[3, 5\]\)"),
        (depth[0, 0], "must be a tensor of shape"),
        (-depth, "negative values"),
        (torch.cat([torch.zeros_like(depth[:1]), depth[1:]]), "depth map 0 has no valid pixel"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError, match=message):
            features(pixel_values, image_sizes, depth_values=bad)
    with pytest.raises(ValueError, match="without pixel_values"):
        model(input_ids=inputs["input_ids"], depth_values=depth)
    with torch.no_grad():
        encoded = model.model.get_image_features(pixel_values, image_sizes, return_dict=True)
    with pytest.raises(ValueError, match="not both"):
        model(**inputs, mm_encoder_outputs={"image": encoded})


def test_processor_rejects_bad_depth_with_clear_errors(processor):
    image = Image.fromarray(noise_image(20, 50))
    call = dict(images=[image], text=[PROMPT], return_tensors="pt")
    with pytest.raises(ValueError, match=r"depth map 0 has shape \(50, 20\) but its image is \(20, 50\)"):
        processor(**call, depth=[noise_depth(50, 20)])
    with pytest.raises(ValueError, match="wrong number of depth maps: got 2 for 1 images"):
        processor(**call, depth=[noise_depth(20, 50)] * 2)
    with pytest.raises(ValueError, match="depth map 0 has negative values"):
        processor(**call, depth=[-noise_depth(20, 50)])
    with pytest.raises(ValueError, match="takes images only"):
        processor(text=["<video>"], videos=[np.zeros((2, 32, 32, 3), np.uint8)])
    with pytest.raises(ValueError, match="depth was given without images"):
        processor(text=["How far is it?"], depth=[noise_depth(20, 50)])
    with pytest.raises(ValueError, match="do_center_crop"):
        processor(**call, depth=[noise_depth(20, 50)], do_center_crop=True, crop_size={"height": 32, "width": 32})
    with pytest.raises(ValueError, match="patch_size must be a positive integer"):
        SDVLMLlavaOnevisionProcessor(
            image_processor=processor.image_processor, tokenizer=processor.tokenizer, patch_size=0
        )


@pytest.mark.parametrize(
    "overrides, message",
    [({"depth_scale": 0.0}, "depth_scale must be"), ({"depth_normalization": "log"}, "depth_normalization must")],
)
def test_config_validates_depth_settings(overrides, message):
    with pytest.raises(ValueError, match=message):
        SDVLMLlavaOnevisionConfig(**overrides)
    config = SDVLMLlavaOnevisionConfig()
    with pytest.raises(ValueError, match=message):
        setattr(config, *next(iter(overrides.items())))
