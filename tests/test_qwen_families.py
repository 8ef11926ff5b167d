"""SD-VLM on Qwen2.5-VL and Qwen3-VL: exactness against the plain classes, token alignment, loading,
generation, batching and bad input. Tiny configs of the families' own config classes, no download."""


import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from transformers import (
    AutoConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen3VLForConditionalGeneration,
)

from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor
from sdvlm.family_checks import assert_auto_logits_match, load_with_auto_classes
from sdvlm.remote_code_check import flat_scene, run_remote_checkpoint

PLAIN = {"qwen2_5_vl": Qwen2_5_VLForConditionalGeneration, "qwen3_vl": Qwen3VLForConditionalGeneration}
PATCH, IMAGE_SIZE = 8, 96  # 16-px token cells, at most 96 x 96 pixels (36 tokens)
MESSAGES = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "How far?"}]}]


@pytest.fixture(scope="module", params=sorted(PLAIN))
def family(request):
    return request.param


@pytest.fixture(scope="module")
def processor(family):
    return build_tiny_processor(texts=["How far? 1.5 m"], image_size=IMAGE_SIZE, patch_size=PATCH, family=family)


@pytest.fixture(scope="module")
def model(processor, family):
    return build_tiny_model(processor, family=family)


@pytest.fixture(scope="module")
def plain(model, family):
    plain = PLAIN[family](model.config).eval()
    plain.load_state_dict(model.state_dict())
    return plain


def prompt(processor):
    return processor.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)


def scene(height, width, seed=0):
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
    depth = rng.uniform(1.0, 3.0, (height, width)).astype(np.float32)
    return image, depth


def encode(processor, images, depths, **kwargs):
    texts = [prompt(processor)] * len(images)
    return processor(images=images, text=texts, depth=depths, return_tensors="pt", padding=True, **kwargs)


def without_depth(inputs):
    return {key: value for key, value in inputs.items() if key != "depth_values"}


# --- exactness against the plain classes -----------------------------------------------------------


def test_without_depth_logits_are_bit_identical_to_the_plain_class(processor, model, plain):
    inputs = encode(processor, *map(list, zip(scene(60, 100))))
    with torch.no_grad():
        assert torch.equal(model(**without_depth(inputs)).logits, plain(**without_depth(inputs)).logits)
        assert not torch.equal(model(**inputs).logits, plain(**without_depth(inputs)).logits)


def test_use_depth_false_ignores_depth_bit_identically(processor, family, plain):
    no_depth = build_tiny_model(processor, family=family, use_depth=False)
    inputs = encode(processor, *map(list, zip(scene(60, 100))))
    with torch.no_grad():
        assert torch.equal(no_depth(**inputs).logits, plain(**without_depth(inputs)).logits)


def test_plain_checkpoint_loads_with_no_missing_keys_and_saves_its_layout(processor, model, plain, tmp_path):
    plain.save_pretrained(tmp_path / "plain")
    loaded, info = type(model).from_pretrained(tmp_path / "plain", output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    assert loaded.config.model_type == model.config.model_type
    inputs = encode(processor, *map(list, zip(scene(60, 100))))
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval()(**inputs).logits, model(**inputs).logits, rtol=0, atol=0)
    model.save_pretrained(tmp_path / "ours")
    keys = {}
    for name in ("plain", "ours"):
        with safe_open(tmp_path / name / "model.safetensors", "pt") as handle:
            keys[name] = set(handle.keys())
    assert keys["plain"] == keys["ours"]


# --- alignment --------------------------------------------------------------------------------------


def covered_tokens(height, width, grid_thw, square):
    """Raster indices of the tokens whose source rectangle overlaps `square` (top, left, side), computed
    from the token grid alone: token (i, j) covers rows [i*H/rows, (i+1)*H/rows) and the same for columns."""
    _, grid_h, grid_w = grid_thw
    rows, cols = grid_h // 2, grid_w // 2
    top, left, side = square
    covered = set()
    for i in range(rows):
        for j in range(cols):
            row_overlap = min((i + 1) * height / rows, top + side) - max(i * height / rows, top)
            col_overlap = min((j + 1) * width / cols, left + side) - max(j * width / cols, left)
            if row_overlap > 0 and col_overlap > 0:
                covered.add(i * cols + j)
    return covered


@pytest.mark.parametrize("height, width, square", [(64, 96, (16, 32, 16)), (120, 200, (37, 61, 23))])
def test_a_depth_square_changes_exactly_the_tokens_it_covers(processor, family, height, width, square):
    model = build_tiny_model(processor, family=family, depth_normalization="none", depth_scale=1.0)
    image, depth = scene(height, width)
    top, left, side = square
    changed_depth = depth.copy()
    changed_depth[top : top + side, left : left + side] = 2.0 + depth[top : top + side, left : left + side]
    base, changed = encode(processor, [image], [depth]), encode(processor, [image], [changed_depth])
    grid = base["image_grid_thw"][0].tolist()
    expected = covered_tokens(height, width, grid, square)
    with torch.no_grad():
        features = [
            model.model.get_image_features(
                inputs["pixel_values"], inputs["image_grid_thw"], depth_values=inputs["depth_values"]
            ).pooler_output[0]
            for inputs in (base, changed)
        ]
    moved = set((features[0] - features[1]).abs().amax(dim=1).nonzero().flatten().tolist())
    assert moved == expected and 0 < len(expected) < grid[1] * grid[2] // 4
    if (height, width) == (grid[1] * PATCH, grid[2] * PATCH):
        # No resize here: an image square on token-cell boundaries changes the same tokens' patches,
        # read from pixel_values' own layout (patches grouped 2 x 2 per token, in token order).
        pixels = np.asarray(image).copy()
        pixels[top : top + side, left : left + side] = 255 - pixels[top : top + side, left : left + side]
        other = encode(processor, [Image.fromarray(pixels)], [depth])
        patch_moved = (other["pixel_values"] - base["pixel_values"]).abs().amax(dim=1).nonzero().flatten()
        assert set((patch_moved // 4).tolist()) == expected


# --- loading, remote code, generation, batching ----------------------------------------------------


def test_save_load_and_auto_classes_round_trip(processor, model, tmp_path):
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    assert type(AutoConfig.from_pretrained(tmp_path)) is type(model.config)
    auto, base, loaded_processor = load_with_auto_classes(tmp_path)
    assert type(auto) is type(model) and type(base) is type(model.model)
    assert type(loaded_processor) is type(processor) and loaded_processor.depth_estimator == processor.depth_estimator
    inputs = encode(loaded_processor, *map(list, zip(scene(60, 100))))
    assert_auto_logits_match(model, auto, base, inputs)


@pytest.mark.slow
def test_checkpoint_loads_with_trust_remote_code_without_the_package(processor, model, tmp_path, repo_root):
    remote = run_remote_checkpoint(model, processor, tmp_path, repo_root, prompt(processor), 60, 100)
    assert not remote["model"].startswith("modeling_sdvlm.") and remote["model"].endswith(type(model).__name__)
    assert remote["processor"].endswith(type(processor).__name__) and not remote["processor"].startswith("modeling_")
    image, depth = flat_scene(60, 100)
    inputs = processor(images=[image], text=[prompt(processor)], depth=[depth], return_tensors="pt")
    with torch.no_grad():
        local = model(**inputs).logits[0, -1]
    np.testing.assert_allclose(remote["logits"], local.numpy(), rtol=1e-5, atol=1e-5)


def test_generate_with_depth_equals_a_manual_greedy_loop(processor, model):
    inputs = encode(processor, *map(list, zip(scene(60, 100))))
    # The untrained model may pick an image or video placeholder token; the loop below re-reads the whole
    # sequence with the pixels, where one more placeholder would not match the image's features. Both
    # decoders are kept off them (which one the model picks depends on the processor's depth convention,
    # which build_tiny_model sets, so on which tests ran first).
    placeholders = [model.config.image_token_id, model.config.video_token_id]
    generated = model.generate(**inputs, max_new_tokens=5, do_sample=False, suppress_tokens=placeholders)
    generated = generated[0, inputs["input_ids"].shape[1] :]
    ids, mask, types = inputs["input_ids"], inputs["attention_mask"], inputs["mm_token_type_ids"]
    manual = []
    with torch.no_grad():
        for _ in range(5):
            step = {**inputs, "input_ids": ids, "attention_mask": mask, "mm_token_type_ids": types}
            logits = model(**step).logits[0, -1]
            logits[placeholders] = -torch.inf
            token = logits.argmax()
            manual.append(int(token))
            ids = torch.cat([ids, token.view(1, 1)], dim=1)
            mask = torch.cat([mask, torch.ones(1, 1, dtype=mask.dtype)], dim=1)
            types = torch.cat([types, torch.zeros(1, 1, dtype=types.dtype)], dim=1)
    assert generated.tolist() == manual
    without = model.generate(**without_depth(inputs), max_new_tokens=5, do_sample=False)
    assert without.shape[1] == inputs["input_ids"].shape[1] + 5


def test_batch_of_two_images_of_different_sizes(processor, model):
    scenes = [scene(60, 100, seed=1), scene(90, 50, seed=2)]
    batch = encode(processor, [s[0] for s in scenes], [s[1] for s in scenes])
    singles = [encode(processor, [image], [depth]) for image, depth in scenes]
    torch.testing.assert_close(batch["depth_values"], torch.cat([s["depth_values"] for s in singles]), rtol=0, atol=0)
    with torch.no_grad():
        logits = model(**batch).logits[:, -1]
        for row, single in enumerate(singles):
            torch.testing.assert_close(logits[row], model(**single).logits[0, -1], rtol=1e-4, atol=1e-4)


# --- bad input --------------------------------------------------------------------------------------


def test_depth_of_the_wrong_length_shape_or_dtype_is_a_clear_error(processor, model):
    inputs = encode(processor, *map(list, zip(scene(60, 100))))
    count = inputs["depth_values"].numel()
    cases = [
        (inputs["depth_values"][:-1], f"depth_values has {count - 1} values but the images have {count} tokens"),
        (inputs["depth_values"][None], "must be a 1-D tensor with one value per image token"),
        (inputs["depth_values"].long(), "must be a float tensor"),
        (-inputs["depth_values"], "depth map 0 has negative values"),
        (torch.zeros(count), "depth map 0 has no valid pixel"),
    ]
    for depth_values, message in cases:
        with pytest.raises(ValueError, match=message):
            model(**{**inputs, "depth_values": depth_values})


def test_depth_with_precomputed_features_is_refused_and_without_pixels_ignored(processor, model):
    inputs = encode(processor, *map(list, zip(scene(60, 100))))
    features = model.model.get_image_features(inputs["pixel_values"], inputs["image_grid_thw"], return_dict=True)
    precomputed = {**without_depth(inputs), "pixel_values": None, "mm_encoder_outputs": {"image": features}}
    with pytest.raises(ValueError, match="either pixel_values with depth_values or precomputed mm_encoder_outputs"):
        model(**precomputed, depth_values=inputs["depth_values"])
    text_only = processor(text=["How far?"], return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(model(**text_only, depth_values=inputs["depth_values"]).logits, model(**text_only).logits)


def test_extra_keywords_reach_the_language_model_when_depth_comes_without_pixels(processor, model):
    # generate()'s decoding steps send depth with no pixels, beside keywords such as output_attentions.
    inputs = encode(processor, *map(list, zip(scene(60, 100))))
    text_only = processor(text=["How far?"], return_tensors="pt")
    with torch.no_grad():
        plain = model(**text_only, output_attentions=True)
        with_depth = model(**text_only, depth_values=inputs["depth_values"], output_attentions=True)
    assert plain.attentions is not None and len(with_depth.attentions) == len(plain.attentions)
    assert all(torch.equal(a, b) for a, b in zip(with_depth.attentions, plain.attentions))


def test_processor_bad_depth_inputs_name_the_problem(processor):
    image, depth = scene(60, 100)
    cases = [
        (dict(images=[image, image], depth=[depth]), "wrong number of depth maps: got 1 for 2 images"),
        (dict(images=[image], depth=[depth[:50]]), r"depth map 0 has shape \(50, 100\) but its image is \(60, 100\)"),
        (dict(images=[image], depth=[np.full((60, 100), np.nan, np.float32)]), "depth map 0 has no valid pixel"),
        (dict(depth=[depth]), "depth was given without images"),
        (dict(videos=[[image, image]], depth=[depth]), "videos take no depth"),
    ]
    for kwargs, message in cases:
        count = len(kwargs.get("images", [])) or 1
        text = [prompt(processor)] * count if "images" in kwargs else ["How far?"]
        with pytest.raises(ValueError, match=message):
            processor(text=text, return_tensors="pt", **kwargs)


def test_sparse_depth_and_empty_cells_are_reported_naming_the_image(processor, model, caplog):
    image, depth = scene(120, 200)
    rng = np.random.default_rng(3)
    sparse = np.where(rng.random(depth.shape) < 0.05, depth, 0.0).astype(np.float32)
    inputs = encode(processor, [image], [sparse])
    assert (inputs["depth_values"] > 0).all()  # 5% valid pixels reach every token
    single = np.zeros_like(depth)
    single[60, 100] = 2.0
    with caplog.at_level("WARNING"):
        inputs = encode(processor, [image], [single])
    assert "depth map 0:" in caplog.text and "have no valid depth pixel" in caplog.text
    with torch.no_grad():
        assert torch.isfinite(model(**inputs).logits).all()
