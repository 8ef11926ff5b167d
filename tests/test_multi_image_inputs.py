"""Several images of one question (video frames, photos) reach the processor as one multi-image sample.

LLaVA-OneVision's processor tells a multi-image sample (one base tile per image) from single images
(each tiled anyres) only by the nesting of `images`; flat, every frame of a video was tiled.
"""

import numpy as np
import torch
from PIL import Image

from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor
from sdvlm.benchmarks.run import generate_multi_image_answers
from sdvlm.conversation import render_prompt
from sdvlm.depth_cache import DepthCache
from sdvlm.model_inputs import question_inputs


def test_frames_of_a_question_are_one_multi_image_sample_for_onevision(tmp_path):
    processor = build_tiny_processor(texts=["How many chairs?"], image_size=32, patch_size=8, family="llava_onevision")
    model = build_tiny_model(processor, family="llava_onevision")
    rng = np.random.default_rng(0)
    frames = [Image.fromarray(rng.integers(0, 255, (40, 90, 3), dtype=np.uint8)) for _ in range(2)]
    cache = DepthCache(tmp_path, estimate_fn=lambda images: [np.full((i.height, i.width), 2.0, np.float32) for i in images],
                       estimator="constant", depth_kind="metric")
    seen = []

    def generate(**inputs):
        seen.append(inputs)
        return torch.cat([inputs["input_ids"], inputs["input_ids"][:, -1:]], dim=1)

    model.generate = generate
    question = "How many chairs?"
    generate_multi_image_answers(model, processor, [{"question": question}] * 2, lambda row: frames, batch_size=2,
                                 depth_cache=cache, progress=False)
    (inputs,) = seen
    depth = [np.full((40, 90), 2.0, np.float32)] * 4
    expected = processor(images=[frames, frames], text=[render_prompt(processor, question, 2)] * 2, depth=depth,
                         padding=True, padding_side="left", return_tensors="pt")
    assert inputs["batch_num_images"].tolist() == [2, 2] and inputs["pixel_values"].shape[1] == 1  # one tile each
    for key in ("input_ids", "pixel_values", "image_sizes", "depth_values"):
        assert torch.equal(inputs[key], expected[key]), key
    # Single images (and the ablation's photo + depth pair, as the collator trains them) stay flat: tiled.
    single = question_inputs(processor, [frames[0]], [question])
    assert single["batch_num_images"].tolist() == [1] and single["pixel_values"].shape[1] > 1
