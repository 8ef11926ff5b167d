"""Tests of the SD-VLM model: DPE, depth pooling, exactness against LLaVA, loading, generation, bad input.

Tiny random configs are built here (a ModelTester in the style of transformers' Llava tests), so
nothing is downloaded.
"""

import json
import math

import numpy as np
import pytest
import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForImageTextToText,
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
)

from modeling_sdvlm import SDVLMConfig, SDVLMForConditionalGeneration, SDVLMModel, depth_positional_encoding
from modeling_sdvlm.depth_encoding import masked_pool_depth_cells, pool_depth_cells
from sdvlm.remote_code_check import flat_scene, run_remote_checkpoint


class SDVLMModelTester:
    """Builds a tiny random SD-VLM config and matching inputs (2 layers, width 32, 16 image tokens)."""

    def __init__(self, batch_size=2, image_size=32, patch_size=8, text_len=7, vocab_size=99, **config_overrides):
        self.batch_size = batch_size
        self.image_size = image_size
        self.patch_size = patch_size
        self.grid = image_size // patch_size
        self.text_len = text_len
        self.vocab_size = vocab_size
        self.image_token_id = vocab_size - 1
        self.config_overrides = config_overrides

    def config_kwargs(self):
        vision_config = CLIPVisionConfig(
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=self.image_size,
            patch_size=self.patch_size,
            projection_dim=32,
        )
        text_config = LlamaConfig(
            vocab_size=self.vocab_size,
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=256,
            pad_token_id=0,
            bos_token_id=1,
            eos_token_id=2,
        )
        kwargs = dict(
            vision_config=vision_config,
            text_config=text_config,
            image_token_index=self.image_token_id,
            image_seq_length=self.grid * self.grid,
            vision_feature_select_strategy="default",
            vision_feature_layer=-2,
        )
        kwargs.update(self.config_overrides)
        return kwargs

    def get_config(self, **overrides):
        return SDVLMConfig(**{**self.config_kwargs(), **overrides})

    def num_image_tokens(self, config):
        return self.grid * self.grid + (1 if config.vision_feature_select_strategy == "full" else 0)

    def prepare_inputs(self, config, seed=0):
        generator = torch.Generator().manual_seed(seed)
        n_image = self.num_image_tokens(config)
        text = torch.randint(3, self.vocab_size - 1, (self.batch_size, self.text_len), generator=generator)
        image_tokens = torch.full((self.batch_size, n_image), self.image_token_id)
        input_ids = torch.cat([text[:, :2], image_tokens, text[:, 2:]], dim=1)
        pixel_values = torch.randn(self.batch_size, 3, self.image_size, self.image_size, generator=generator)
        depth_values = torch.rand(self.batch_size, self.image_size, self.image_size, generator=generator) * 5 + 0.5
        return {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "pixel_values": pixel_values,
            "depth_values": depth_values,
        }

    def build_model(self, config, seed=0):
        torch.manual_seed(seed)
        return SDVLMForConditionalGeneration(config).eval()


@pytest.fixture(scope="module")
def tester():
    return SDVLMModelTester()


@pytest.fixture(scope="module")
def config(tester):
    return tester.get_config()


@pytest.fixture(scope="module")
def model(tester, config):
    return tester.build_model(config)


@pytest.fixture(scope="module")
def inputs(tester, config):
    return tester.prepare_inputs(config)


def without_depth(inputs):
    return {k: v for k, v in inputs.items() if k != "depth_values"}


# --- the encoding -------------------------------------------------------------------------------


@pytest.mark.parametrize("base", [10000.0, 100.0])
def test_dpe_matches_an_independent_loop(base):
    depth = np.array([[0.0, 0.37, 12.5, 99.9], [100.0, 3.0, 50.25, 1e-3]])
    dim = 16
    expected = np.zeros(depth.shape + (dim,))
    for b in range(depth.shape[0]):
        for t in range(depth.shape[1]):
            for k in range(dim // 2):
                angle = depth[b, t] / base ** (k / (dim / 2))
                expected[b, t, 2 * k] = math.sin(angle)
                expected[b, t, 2 * k + 1] = math.cos(angle)
    got = depth_positional_encoding(torch.tensor(depth, dtype=torch.float32), dim, base)
    assert got.dtype == torch.float32 and got.shape == (2, 4, dim)
    np.testing.assert_allclose(got.numpy(), expected, atol=2e-5)


def test_dpe_is_float32_for_half_inputs_and_rejects_odd_width():
    pe = depth_positional_encoding(torch.tensor([[1.5, 80.0]], dtype=torch.float16), 8)
    assert pe.dtype == torch.float32
    with pytest.raises(ValueError, match="even dim"):
        depth_positional_encoding(torch.ones(1, 2), 7)
    with pytest.raises(ValueError, match="batch, tokens"):
        depth_positional_encoding(torch.ones(2), 8)


# --- pooling, normalisation ---------------------------------------------------------------------


def crafted_depth():
    """A 1x16x16 map, 8-pixel patches (2x2 cells), with invalid pixels of every kind."""
    depth = torch.empty(1, 16, 16)
    depth[0, :8, :8] = 2.0
    depth[0, 0, 0] = 0.0  # invalid: zero
    depth[0, 1, 1] = float("nan")  # invalid: NaN
    depth[0, 2, 2] = float("inf")  # invalid: inf
    depth[0, 3, 3] = 6.0  # one valid outlier in cell (0, 0)
    depth[0, :8, 8:] = 4.0
    depth[0, 8:, :8] = 0.0  # cell (1, 0) has no valid pixel at all
    depth[0, 8:, 8:] = float("nan")
    depth[0, 12, 12] = 8.0  # cell (1, 1): a single valid pixel
    return depth


def test_depth_grid_is_a_masked_mean_with_fallback(tester):
    model = tester.build_model(tester.get_config(depth_normalization="none", depth_scale=1.0, image_size=16))
    model.config.vision_config.patch_size = 8
    grid = model.model.depth_grid(crafted_depth())
    cell00 = (2.0 * 60 + 6.0) / 61  # 64 pixels, 3 invalid, one is 6.0
    valid_cells = [cell00, 4.0, 8.0]
    expected = torch.tensor([[[cell00, 4.0], [sum(valid_cells) / 3, 8.0]]])
    assert grid.dtype == torch.float32
    torch.testing.assert_close(grid, expected, rtol=0, atol=1e-6)


def test_depth_grid_minmax_and_scale(tester):
    model = tester.build_model(tester.get_config(depth_normalization="minmax", depth_scale=100.0))
    depth = torch.rand(2, 32, 32) * 3 + 1
    grid = model.model.depth_grid(depth)
    pooled = depth.reshape(2, 4, 8, 4, 8).mean(dim=(2, 4))
    low = pooled.flatten(1).min(1).values[:, None, None]
    high = pooled.flatten(1).max(1).values[:, None, None]
    # float32 pooling in a different summation order: agree to 1e-5 of the 0..100 range
    torch.testing.assert_close(grid, (pooled - low) / (high - low + 1e-9) * 100.0, rtol=0, atol=1e-3)
    assert grid.flatten(1).min(1).values.abs().max() < 1e-4
    assert (grid.flatten(1).max(1).values - 100.0).abs().max() < 1e-3


def test_encoding_is_bitwise_the_stacked_sin_cos_formula():
    depth = torch.rand(3, 50) * 100
    for dim in (2, 8, 256):
        half = dim // 2
        frequencies = 1.0 / (10000.0 ** (torch.arange(half, dtype=torch.float32) / half))
        angles = depth[..., None] * frequencies
        expected = torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(-2)
        got = depth_positional_encoding(depth, dim)
        assert got.dtype == torch.float32 and got.shape == (3, 50, dim)
        assert torch.equal(got, expected)


def test_depth_grid_all_valid_fast_path_matches_the_masked_path(model):
    # An all-valid map takes the fast path; the same map plus one invalid cell-corner pixel per image
    # takes the masked path. Cells untouched by the invalid pixel must agree bit for bit, pre-scaling.
    patch = model.config.vision_config.patch_size
    depth = torch.rand(2, 32, 32) * 7 + 0.25
    fast = pool_depth_cells(depth, patch)
    masked = masked_pool_depth_cells(depth, patch)
    assert torch.equal(fast, masked)
    holed = depth.clone()
    holed[:, 0, 0] = float("nan")
    grid_holed = model.model.depth_grid(holed)
    grid_fast = model.model.depth_grid(depth)
    assert torch.isfinite(grid_holed).all() and not torch.equal(grid_holed, grid_fast)


def test_depth_grid_is_per_image(tester, model):
    depth = torch.rand(2, 32, 32) + 0.5
    together = model.model.depth_grid(depth)
    alone = torch.cat([model.model.depth_grid(depth[i : i + 1]) for i in range(2)])
    torch.testing.assert_close(together, alone)


def test_nan_and_inf_pixels_count_as_invalid(model, inputs):
    depth = inputs["depth_values"].clone()
    depth[0, :5, :7] = 0.0
    with_nan = depth.clone()
    with_nan[0, :5, :4] = float("nan")
    with_nan[0, :5, 4:7] = float("inf")
    torch.testing.assert_close(model.model.depth_grid(with_nan), model.model.depth_grid(depth), rtol=0, atol=0)


# --- exactness against LLaVA ----------------------------------------------------------------------


def llava_twin(tester, model):
    llava = LlavaForConditionalGeneration(LlavaConfig(**tester.config_kwargs())).eval()
    missing, unexpected = llava.load_state_dict(model.state_dict(), strict=True)
    assert not missing and not unexpected
    return llava


def test_without_depth_logits_are_bit_identical_to_llava(tester, model, inputs):
    llava = llava_twin(tester, model)
    with torch.no_grad():
        reference = llava(**without_depth(inputs)).logits
        no_depth_given = model(**without_depth(inputs)).logits
    assert torch.equal(reference, no_depth_given)


def test_use_depth_false_ignores_depth_bit_identically(tester, model, inputs):
    baseline = tester.build_model(tester.get_config(use_depth=False))
    baseline.load_state_dict(model.state_dict())
    llava = llava_twin(tester, model)
    with torch.no_grad():
        reference = llava(**without_depth(inputs)).logits
        got = baseline(**inputs).logits
    assert torch.equal(reference, got)


def test_plain_llava_checkpoint_loads_with_no_missing_keys(tester, model, inputs, tmp_path):
    llava = llava_twin(tester, model)
    llava.save_pretrained(tmp_path)
    loaded, info = SDVLMForConditionalGeneration.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == set() or not info["missing_keys"]
    assert not info["unexpected_keys"] and not info["mismatched_keys"]
    assert isinstance(loaded.config, SDVLMConfig) and loaded.config.use_depth
    with torch.no_grad():
        assert torch.equal(loaded.eval()(**without_depth(inputs)).logits, llava(**without_depth(inputs)).logits)
        # and the loaded model does use depth
        assert not torch.equal(loaded(**inputs).logits, llava(**without_depth(inputs)).logits)



def test_new_layout_llava_checkpoint_loads_with_no_missing_keys(tester, model, inputs, tmp_path):
    # transformers 5 module names (`model.language_model.*`, `lm_head.*`), as a raw state dict.
    from safetensors.torch import save_file

    llava = llava_twin(tester, model)
    LlavaConfig(**tester.config_kwargs()).save_pretrained(tmp_path)
    state = {name: tensor.contiguous() for name, tensor in llava.state_dict().items()}
    assert any(name.startswith("model.language_model.") for name in state)
    save_file(state, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    loaded, info = SDVLMForConditionalGeneration.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    with torch.no_grad():
        assert torch.equal(loaded.eval()(**without_depth(inputs)).logits, llava(**without_depth(inputs)).logits)


def _saved_tensors(pretrained, directory):
    from safetensors.torch import load_file

    pretrained.save_pretrained(directory)
    return load_file(str(directory / "model.safetensors"))


def test_saved_key_names_are_exactly_plain_llavas(tester, model, tmp_path):
    """SD-VLM writes the checkpoint key layout plain `LlavaForConditionalGeneration.save_pretrained`
    writes (in transformers 5.x that is the llava-hf legacy `language_model.model.*` layout, restored
    by Llava's checkpoint conversion mapping), with the same tensors under the same names."""
    llava = llava_twin(tester, model)
    llava_saved = _saved_tensors(llava, tmp_path / "llava")
    sdvlm_saved = _saved_tensors(model, tmp_path / "sdvlm")
    assert sorted(sdvlm_saved) == sorted(llava_saved)
    for name, tensor in llava_saved.items():
        assert torch.equal(sdvlm_saved[name], tensor), name
    # and each loads back into the other with nothing missing or unexpected
    for cls, directory in ((SDVLMForConditionalGeneration, "llava"), (LlavaForConditionalGeneration, "sdvlm")):
        _, info = cls.from_pretrained(tmp_path / directory, output_loading_info=True)
        assert not info["missing_keys"] and not info["unexpected_keys"], (cls.__name__, info)


# --- depth reaches the image tokens ---------------------------------------------------------------


def test_depth_adds_exactly_the_encoding_to_image_features(model, inputs):
    pixel_values, depth = inputs["pixel_values"], inputs["depth_values"]
    with torch.no_grad():
        plain = model.model.get_image_features(pixel_values=pixel_values).pooler_output
        encoded = model.model.get_image_features(pixel_values=pixel_values, depth_values=depth).pooler_output
        grid = model.model.depth_grid(depth).flatten(1)
    expected_pe = depth_positional_encoding(grid, model.config.text_config.hidden_size)
    for index in range(len(plain)):
        torch.testing.assert_close(encoded[index] - plain[index], expected_pe[index], atol=1e-5, rtol=0)


def test_full_strategy_leaves_cls_unencoded(tester):
    config = tester.get_config(vision_feature_select_strategy="full")
    model = tester.build_model(config)
    inputs = tester.prepare_inputs(config)
    with torch.no_grad():
        plain = model.model.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output
        encoded = model.model.get_image_features(**{k: inputs[k] for k in ("pixel_values", "depth_values")}).pooler_output
        logits = model(**inputs).logits
    assert plain[0].shape[0] == tester.grid**2 + 1
    torch.testing.assert_close(encoded[0][0], plain[0][0], rtol=0, atol=0)
    assert not torch.allclose(encoded[0][1:], plain[0][1:])
    assert torch.isfinite(logits).all()


def test_depth_changes_logits_in_both_model_classes(model, inputs):
    other_depth = inputs["depth_values"].flip(-1)
    with torch.no_grad():
        no_depth = model(**without_depth(inputs)).logits
        with_depth = model(**inputs).logits
        flipped = model(**{**inputs, "depth_values": other_depth}).logits
        # TRL calls the base model directly: depth must matter there too.
        base_plain = model.model(**without_depth(inputs)).last_hidden_state
        base_depth = model.model(**inputs).last_hidden_state
    assert not torch.allclose(no_depth, with_depth)
    assert not torch.allclose(with_depth, flipped)
    assert not torch.allclose(base_plain, base_depth)
    torch.testing.assert_close(model.lm_head(base_depth), with_depth)


def test_half_precision_features_get_a_float32_encoding_cast_down(tester, inputs):
    model = tester.build_model(tester.get_config()).to(torch.bfloat16)
    with torch.no_grad():
        features = model.model.get_image_features(
            pixel_values=inputs["pixel_values"].to(torch.bfloat16), depth_values=inputs["depth_values"]
        ).pooler_output
    assert features[0].dtype == torch.bfloat16


# --- save / load / Auto classes / remote code ------------------------------------------------------


def test_save_load_and_auto_classes_round_trip(model, inputs, tmp_path):
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "sdvlm" and saved["depth_scale"] == 100.0
    assert saved["auto_map"]["AutoModelForImageTextToText"] == "modeling_sdvlm.SDVLMForConditionalGeneration"
    assert type(AutoConfig.from_pretrained(tmp_path)) is SDVLMConfig
    auto = AutoModelForImageTextToText.from_pretrained(tmp_path).eval()
    direct = SDVLMForConditionalGeneration.from_pretrained(tmp_path).eval()
    base = AutoModel.from_pretrained(tmp_path).eval()
    assert type(auto) is SDVLMForConditionalGeneration and type(base) is SDVLMModel
    with torch.no_grad():
        expected = model(**inputs).logits
        assert torch.equal(auto(**inputs).logits, expected)
        assert torch.equal(direct(**inputs).logits, expected)
        assert torch.equal(model.lm_head(base(**inputs).last_hidden_state), expected)


def test_checkpoint_loads_with_trust_remote_code_without_the_package(tmp_path, repo_root):
    from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor

    processor = build_tiny_processor(texts=["How far?"], image_size=32, patch_size=8)
    model = build_tiny_model(processor, text_hidden_size=32)
    remote = run_remote_checkpoint(model, processor, tmp_path, repo_root, "USER: <image>\nHow far? ASSISTANT:", 24, 40)
    for name in ("modeling_sdvlm.py", "configuration_sdvlm.py", "processing_sdvlm.py", "depth_geometry.py", "depth_plumbing.py",
                 "llava_depth.py"):
        assert (tmp_path / "checkpoint" / name).is_file(), f"{name} was not copied beside the checkpoint"
    assert not remote["model"].startswith("modeling_sdvlm."), remote["model"]
    assert remote["model"].endswith("SDVLMForConditionalGeneration")
    assert remote["processor"].endswith("SDVLMProcessor") and not remote["processor"].startswith("modeling_sdvlm.")
    image, depth = flat_scene(24, 40)
    inputs = processor(images=[image], text=["USER: <image>\nHow far? ASSISTANT:"], depth=[depth], return_tensors="pt")
    with torch.no_grad():
        local = model(**inputs).logits[0, -1]
    assert remote["depth_sum"] == pytest.approx(float(inputs["depth_values"].sum()), rel=1e-6)
    np.testing.assert_allclose(remote["logits"], local.numpy(), rtol=1e-5, atol=1e-5)


# --- generation ---------------------------------------------------------------------------------


def test_generate_with_depth_equals_a_manual_greedy_loop(model, inputs):
    steps = 6
    with torch.no_grad():
        generated = model.generate(**inputs, max_new_tokens=steps, do_sample=False, min_new_tokens=steps)
        ids, mask = inputs["input_ids"], inputs["attention_mask"]
        for _ in range(steps):
            # Full recomputation (no cache), depth encoded into the image tokens every time.
            logits = model(
                input_ids=ids,
                attention_mask=mask,
                pixel_values=inputs["pixel_values"],
                depth_values=inputs["depth_values"],
            ).logits
            next_token = logits[:, -1].argmax(-1, keepdim=True)
            ids = torch.cat([ids, next_token], dim=1)
            mask = torch.cat([mask, torch.ones_like(next_token)], dim=1)
        without = model.generate(**without_depth(inputs), max_new_tokens=steps, do_sample=False, min_new_tokens=steps)
    assert torch.equal(generated, ids)
    assert generated.shape[1] == inputs["input_ids"].shape[1] + steps
    assert without.shape == generated.shape


# --- bad input ----------------------------------------------------------------------------------


def test_wrong_depth_shape_raises(model, inputs):
    bad = {**inputs, "depth_values": inputs["depth_values"][:, :, :-1]}
    with pytest.raises(ValueError, match=r"depth map shape \(32, 31\) does not match"):
        model(**bad)
    with pytest.raises(ValueError, match="num_images, height, width"):
        model(**{**inputs, "depth_values": inputs["depth_values"][:, None]})


def test_wrong_number_of_depth_maps_raises(model, inputs):
    with pytest.raises(ValueError, match="wrong number of depth maps: 1 depth maps for 2 images"):
        model(**{**inputs, "depth_values": inputs["depth_values"][:1]})


def test_all_invalid_depth_map_raises_with_its_index(model, inputs):
    depth = inputs["depth_values"].clone()
    depth[1] = 0.0
    depth[1, :3, :3] = float("nan")
    with pytest.raises(ValueError, match="depth map 1 has no valid pixel"):
        model(**{**inputs, "depth_values": depth})


def test_negative_depth_raises_with_its_index(model, inputs):
    depth = inputs["depth_values"].clone()
    depth[1, 5, 5] = -0.1
    with pytest.raises(ValueError, match="depth map 1 has negative values"):
        model(**{**inputs, "depth_values": depth})


def test_image_token_feature_mismatch_raises_with_the_row(model, inputs):
    ids = inputs["input_ids"].clone()
    ids[1, 2] = 5  # row 1 loses one image token
    for depth in (None, inputs["depth_values"]):
        with pytest.raises(ValueError, match=r"image-token / feature mismatch.*first suspicious batch row: 1"):
            model(**{**without_depth(inputs), "input_ids": ids, "depth_values": depth})


def test_image_token_feature_mismatch_raises_even_with_torch_checks_disabled(model, inputs, monkeypatch):
    # LLaVA's own check is skipped under TRANSFORMERS_DISABLE_TORCH_CHECK=1; SD-VLM's is explicit.
    monkeypatch.setenv("TRANSFORMERS_DISABLE_TORCH_CHECK", "1")
    ids = inputs["input_ids"].clone()
    ids[1, 2] = 5
    with pytest.raises(ValueError, match=r"image-token / feature mismatch.*first suspicious batch row: 1"):
        model(**{**inputs, "input_ids": ids})


def test_depth_without_pixels_raises(model, inputs):
    with pytest.raises(ValueError, match="depth_values were given without pixel_values"):
        model(input_ids=inputs["input_ids"][:, :2], depth_values=inputs["depth_values"])


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"depth_normalization": "log"}, "depth_normalization must be 'minmax' or 'none'"),
        ({"depth_scale": 0.0}, "depth_scale must be a finite number > 0"),
        ({"depth_scale": float("inf")}, "depth_scale must be a finite number > 0"),
        ({"depth_pe_base": 1.0}, "depth_pe_base must be a finite number > 1"),
        ({"depth_estimator": ""}, "depth_estimator must be a non-empty"),
    ],
)
def test_config_validation(tester, overrides, message):
    with pytest.raises(ValueError, match=message):
        tester.get_config(**overrides)


def test_config_overrides_at_load_are_validated_too(tester, tmp_path):
    tester.get_config().save_pretrained(tmp_path)
    loaded = SDVLMConfig.from_pretrained(tmp_path, use_depth=False, depth_scale=5, depth_normalization="none")
    assert (loaded.use_depth, loaded.depth_scale, loaded.depth_normalization) == (False, 5.0, "none")
    with pytest.raises(ValueError, match="depth_normalization must be 'minmax' or 'none', got 'log'"):
        SDVLMConfig.from_pretrained(tmp_path, depth_normalization="log")
    with pytest.raises(ValueError, match="depth_scale must be a finite number > 0"):
        SDVLMConfig.from_pretrained(tmp_path, depth_scale=-1.0)


def test_config_rejects_odd_text_width(tester):
    kwargs = tester.config_kwargs()
    kwargs["text_config"] = LlamaConfig(hidden_size=33, num_attention_heads=3, num_key_value_heads=3, head_dim=12, vocab_size=99)
    with pytest.raises(ValueError, match="hidden_size must be even"):
        SDVLMConfig(**kwargs)
