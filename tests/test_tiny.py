"""Tests of the offline tiny builders (tokenizer, processor, model) other areas rely on."""

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoTokenizer

from modeling_sdvlm import SDVLMForConditionalGeneration, SDVLMProcessor
from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor, build_tiny_tokenizer, tiny_sdvlm_config

TEXTS = ["What is the height of the white table?", "The table is 0.75 m tall.", "How many chairs are there?", "3"]


@pytest.fixture(scope="module")
def processor():
    return build_tiny_processor(texts=TEXTS)


def test_numbers_are_digit_by_digit_and_decode_back(processor):
    tokenizer = processor.tokenizer
    assert tokenizer.tokenize("12.05 m") == ["1", "2", ".", "0", "5", " ", "m"]
    for text in ["The table is 0.75 m tall.", "The table is 1234.5678 meters, 3 x 4?"]:
        ids = tokenizer(text)["input_ids"]
        assert ids[0] == tokenizer.bos_token_id
        assert tokenizer.unk_token_id not in ids
        assert tokenizer.decode(ids, skip_special_tokens=True) == text


def test_vicuna_template_has_no_unknown_words(processor):
    conversation = [
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": TEXTS[0]}]},
        {"role": "assistant", "content": [{"type": "text", "text": TEXTS[1]}]},
    ]
    prompt = processor.apply_chat_template(conversation)
    ids = processor.tokenizer(prompt)["input_ids"]
    assert processor.tokenizer.unk_token_id not in ids
    assert processor.tokenizer.decode(ids[1:]) == prompt
    assert processor.tokenizer.convert_tokens_to_ids("<image>") == processor.image_token_id
    assert processor.tokenizer("zebra")["input_ids"] == [processor.tokenizer.bos_token_id, processor.tokenizer.unk_token_id]


def test_special_tokens_and_padding_side():
    tokenizer = build_tiny_tokenizer(["a b"])
    assert tokenizer.convert_ids_to_tokens(list(range(5))) == ["<unk>", "<s>", "</s>", "<pad>", "<image>"]
    assert tokenizer.padding_side == "left" and tokenizer.image_token == "<image>"
    batch = tokenizer(["a", "a b"], padding=True)
    assert batch["input_ids"][0][0] == tokenizer.pad_token_id


def test_vocabulary_is_deterministic_and_saves(tmp_path):
    first, second = build_tiny_tokenizer(TEXTS), build_tiny_tokenizer(list(reversed(TEXTS)))
    assert first.get_vocab() == second.get_vocab()
    first.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded.tokenize("0.75 m") == first.tokenize("0.75 m")
    assert loaded("0.75 m")["input_ids"] == first("0.75 m")["input_ids"]


def test_tiny_model_matches_its_processor(processor):
    config = tiny_sdvlm_config(processor, depth_normalization="none", depth_scale=10.0)
    assert config.text_config.vocab_size == len(processor.tokenizer)
    assert config.image_token_id == processor.image_token_id
    assert config.vision_config.image_size == 64 and config.vision_config.patch_size == 8
    assert config.depth_normalization == "none" and config.depth_scale == 10.0
    assert isinstance(processor, SDVLMProcessor) and processor.image_processor.do_pad


def test_tiny_model_is_seeded(processor):
    a, b, c = build_tiny_model(processor, seed=1), build_tiny_model(processor, seed=1), build_tiny_model(processor, seed=2)
    assert isinstance(a, SDVLMForConditionalGeneration)
    weight = "model.language_model.embed_tokens.weight"
    assert torch.equal(a.state_dict()[weight], b.state_dict()[weight])
    assert not torch.equal(a.state_dict()[weight], c.state_dict()[weight])


def test_end_to_end_generate_with_depth(processor):
    model = build_tiny_model(processor)
    conversation = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": TEXTS[0]}]}]
    prompt = processor.apply_chat_template(conversation, add_generation_prompt=True)
    images = [Image.new("RGB", (80, 48), (120, 30, 200)), Image.new("RGB", (40, 60), (10, 10, 10))]
    depths = [np.linspace(0.5, 5.0, 48 * 80, dtype=np.float32).reshape(48, 80), np.full((60, 40), 2.0, np.float32)]
    inputs = processor(images=images, text=[prompt, prompt], depth=depths, return_tensors="pt", padding=True)
    assert (inputs["input_ids"] == processor.image_token_id).sum(dim=1).tolist() == [64, 64]
    output = model.generate(**inputs, max_new_tokens=4, do_sample=False, min_new_tokens=4)
    assert output.shape == (2, inputs["input_ids"].shape[1] + 4)
    assert all(isinstance(text, str) for text in processor.batch_decode(output[:, inputs["input_ids"].shape[1] :]))
