"""Test the converter: a tiny checkpoint in the authors' LLaVA layout -> sdvlm checkpoint -> same logits."""

import json
import logging

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from tokenizers import Regex, Tokenizer, models, pre_tokenizers
from transformers import AutoModelForImageTextToText, AutoProcessor, CLIPVisionConfig, PreTrainedTokenizerFast

from modeling_sdvlm import SDVLMForConditionalGeneration, SDVLMProcessor
from modeling_sdvlm.convert_sdvlm_original_to_hf import convert_sdvlm_checkpoint, main, rename_state_dict
from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor

PROMPT = "USER: <image>\nHow far is the chair? ASSISTANT:"


def to_original_key(key: str) -> str:
    """transformers key -> the authors' LLaVA key (the inverse of the converter's renaming)."""
    if key.startswith("model.language_model."):
        return "model." + key.removeprefix("model.language_model.")
    if key.startswith("model.multi_modal_projector.linear_1."):
        return "model.mm_projector.0." + key.removeprefix("model.multi_modal_projector.linear_1.")
    if key.startswith("model.multi_modal_projector.linear_2."):
        return "model.mm_projector.2." + key.removeprefix("model.multi_modal_projector.linear_2.")
    if key.startswith("model.vision_tower."):
        return "model.vision_tower.vision_tower.vision_model." + key.removeprefix("model.vision_tower.")
    assert key.startswith("lm_head."), key
    return key


def write_original_checkpoint(folder, reference, tokenizer, vision_dir):
    """The authors' layout: LlavaLlamaForCausalLM config + weights, with depth.* and depth_projector.*."""
    folder.mkdir(parents=True)
    text = reference.config.text_config
    state = {to_original_key(k): v.clone().contiguous() for k, v in reference.state_dict().items()}
    generator = torch.Generator().manual_seed(0)
    state["model.depth.pretrained.blocks.0.attn.qkv.weight"] = torch.randn(12, 4, generator=generator)
    state["depth.depth_head.scratch.output_conv1.weight"] = torch.randn(3, 3, generator=generator)
    state["model.depth_projector.weight"] = torch.randn(text.hidden_size, 1, generator=generator)
    save_file(state, folder / "model.safetensors")
    config = {
        "architectures": ["LlavaLlamaForCausalLM"],
        "model_type": "llava_llama",
        "vocab_size": text.vocab_size,
        "hidden_size": text.hidden_size,
        "intermediate_size": text.intermediate_size,
        "num_hidden_layers": text.num_hidden_layers,
        "num_attention_heads": text.num_attention_heads,
        "num_key_value_heads": text.num_key_value_heads,
        "rms_norm_eps": text.rms_norm_eps,
        "max_position_embeddings": text.max_position_embeddings,
        "hidden_act": "silu",
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "mm_vision_tower": str(vision_dir),
        "mm_hidden_size": reference.config.vision_config.hidden_size,
        "mm_projector_type": "mlp2x_gelu",
        "mm_vision_select_layer": reference.config.vision_feature_layer,
        "mm_vision_select_feature": "patch",
        "image_aspect_ratio": "pad",
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    tokenizer.save_pretrained(folder)


def test_converted_checkpoint_gives_the_same_logits(tmp_path, caplog):
    processor = build_tiny_processor(texts=["How far is the chair?"], image_size=32, patch_size=8)
    reference = build_tiny_model(processor, seed=3, vision_feature_layer=-2, text_hidden_size=32)
    vision_dir = tmp_path / "clip"
    reference.config.vision_config.save_pretrained(vision_dir)
    original = tmp_path / "original"
    write_original_checkpoint(original, reference, processor.tokenizer, vision_dir)

    with caplog.at_level(logging.WARNING):
        output = convert_sdvlm_checkpoint(original, tmp_path / "converted")
    assert "dropped 3 depth-model tensors (depth.*, depth_projector.*)" in caplog.text
    assert (output / "model.safetensors").is_file() and not list(output.glob("*.bin"))

    model = AutoModelForImageTextToText.from_pretrained(output).eval()
    converted_processor = AutoProcessor.from_pretrained(output)
    assert type(model) is SDVLMForConditionalGeneration and type(converted_processor) is SDVLMProcessor
    assert model.config.depth_normalization == "minmax" and model.config.depth_scale == 100.0
    # The authors trained on relative inverse depth: the checkpoint says so, in config and processor.
    assert json.loads((output / "config.json").read_text())["depth_convention"] == "inverse"
    assert model.config.depth_convention == converted_processor.depth_convention == "inverse"
    assert converted_processor.image_processor.do_pad is True
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 40, 3), dtype=np.uint8))
    depth = np.linspace(0.5, 4.0, 24 * 40, dtype=np.float32).reshape(24, 40)
    inputs = converted_processor(images=[image], text=[PROMPT], depth=[depth], return_tensors="pt")
    expected_inputs = processor(images=[image], text=[PROMPT], depth=[depth], return_tensors="pt")
    # Meters in, 1 / d out (before the geometry): the nearest pixel (0.5 m) is the largest value.
    assert inputs["depth_values"].max() == pytest.approx(1 / 0.5, rel=0.01)
    for key in expected_inputs:
        torch.testing.assert_close(inputs[key], expected_inputs[key], rtol=0, atol=0)
    with torch.no_grad():
        torch.testing.assert_close(model(**inputs).logits, reference(**inputs).logits, rtol=0, atol=0)
        no_depth = {k: v for k, v in inputs.items() if k != "depth_values"}
        torch.testing.assert_close(model(**no_depth).logits, reference(**no_depth).logits, rtol=0, atol=0)


def test_tokenizer_without_image_token_gets_one_and_padded_embeddings(tmp_path):
    words = ["<unk>", "<s>", "</s>", "How", "far", "?", " ", "\n", "USER", ":", "ASSISTANT", "<", ">", "image"]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[A-Za-z]+|\s|[^\sA-Za-z]"), behavior="isolated")
    llama_like = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    processor = build_tiny_processor(image_size=32, patch_size=8)
    reference = build_tiny_model(processor, seed=0, text_hidden_size=32, vision_feature_layer=-2)
    # Shrink the reference's vocabulary to the original tokenizer's (as in a Vicuna checkpoint).
    state = reference.state_dict()
    for key in ("model.language_model.embed_tokens.weight", "lm_head.weight"):
        state[key] = state[key][: len(words)].clone()
    reference.config.text_config.vocab_size = len(words)
    shrunk = SDVLMForConditionalGeneration(reference.config)
    shrunk.load_state_dict(state)
    vision_dir = tmp_path / "clip"
    CLIPVisionConfig(**reference.config.vision_config.to_dict()).save_pretrained(vision_dir)
    write_original_checkpoint(tmp_path / "original", shrunk, llama_like, vision_dir)

    main(["--input_dir", str(tmp_path / "original"), "--output_dir", str(tmp_path / "out"), "--pad_to_multiple_of", "8"])
    model = AutoModelForImageTextToText.from_pretrained(tmp_path / "out").eval()
    converted_processor = AutoProcessor.from_pretrained(tmp_path / "out")
    tokenizer = converted_processor.tokenizer
    assert tokenizer.convert_tokens_to_ids("<image>") == len(words) == model.config.image_token_id
    assert tokenizer.pad_token == "<pad>"
    embeddings = model.get_input_embeddings().weight
    assert embeddings.shape[0] == 16  # 14 words + <image> + <pad> = 16, a multiple of 8
    torch.testing.assert_close(embeddings[: len(words)], state["model.language_model.embed_tokens.weight"])
    torch.testing.assert_close(embeddings[len(words)], state["model.language_model.embed_tokens.weight"].mean(0))
    image = Image.new("RGB", (40, 24), (200, 10, 10))
    inputs = converted_processor(images=[image], text=[PROMPT], depth=[np.ones((24, 40), np.float32)], return_tensors="pt")
    assert (inputs["input_ids"] == model.config.image_token_id).sum() == 16
    generated = model.generate(**inputs, max_new_tokens=2, do_sample=False)
    assert generated.shape[1] == inputs["input_ids"].shape[1] + 2


def test_unknown_keys_are_rejected_by_name():
    with pytest.raises(ValueError, match="unexpected key 'model.something_else.weight'"):
        rename_state_dict({"model.something_else.weight": torch.zeros(1)})
    renamed, dropped = rename_state_dict({"depth.x": torch.zeros(1), "model.mm_projector.2.bias": torch.zeros(1)})
    assert dropped == ["depth.x"] and list(renamed) == ["model.multi_modal_projector.linear_2.bias"]
