"""Depth maps in memory layouts torch cannot wrap as they are, and images smaller than one token cell.

Every family's processor hands the checked depth arrays to torch; a flipped view (negative strides, e.g.
`np.fliplr` as a flip augmentation makes) must give the same depth_values as its contiguous copy, and an
image below one patch must get its depth aligned like its pixels (the model then names the size problem).
"""

import numpy as np
import pytest
from PIL import Image

from modeling_sdvlm.tiny import build_tiny_processor, build_tiny_tokenizer
from modeling_sdvlm.tiny_llava_onevision import build_tiny_llava_onevision_processor

QUESTION = "How far?"
MESSAGES = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": QUESTION}]}]
PROCESSORS = {
    "llava": lambda convention: build_tiny_processor(
        texts=[QUESTION], image_size=64, patch_size=8, depth_convention=convention
    ),
    "qwen2_5_vl": lambda convention: build_tiny_processor(
        texts=[QUESTION], image_size=56, patch_size=14, family="qwen2_5_vl", depth_convention=convention
    ),
    "llava_onevision": lambda convention: build_tiny_llava_onevision_processor(
        build_tiny_tokenizer([f"<image> {QUESTION}"]), depth_convention=convention
    ),
}


def prompt(processor, family):
    if family == "llava":
        return f"<image> {QUESTION}"
    return processor.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)


@pytest.mark.parametrize("convention", ["metric", "inverse"])
@pytest.mark.parametrize("family", sorted(PROCESSORS))
def test_flipped_depth_view_gives_the_depth_of_its_copy(family, convention):
    processor = PROCESSORS[family](convention)
    depth = np.random.default_rng(0).uniform(1.0, 4.0, (40, 60)).astype(np.float32)
    flipped = np.fliplr(depth)
    assert flipped.strides[1] < 0
    image, text = Image.new("RGB", (60, 40)), prompt(processor, family)
    view = processor(images=[image], text=[text], depth=[flipped], return_tensors="pt")["depth_values"]
    copy = processor(images=[image], text=[text], depth=[flipped.copy()], return_tensors="pt")["depth_values"]
    assert (view == copy).all() and (copy > 0).any()


def test_image_smaller_than_one_patch_gets_its_depth_aligned():
    processor = PROCESSORS["llava"]("metric")
    depth = np.full((3, 5), 2.0, np.float32)
    out = processor(
        images=[Image.new("RGB", (5, 3))], text=[f"<image> {QUESTION}"], depth=[depth],
        do_resize=False, do_pad=False, do_center_crop=False, return_tensors="pt",
    )
    assert tuple(out["pixel_values"].shape[-2:]) == (3, 5)
    assert out["depth_values"].shape == (1, 3, 5) and bool((out["depth_values"] == 2.0).all())
