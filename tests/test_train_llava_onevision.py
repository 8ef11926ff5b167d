"""sdvlm-train, the collator and sdvlm-evaluate's loader with a LLaVA-OneVision checkpoint."""

import pytest
import torch
from transformers import LlavaOnevisionForConditionalGeneration

from modeling_sdvlm.families import FAMILIES
from sdvlm.collator import SDVLMDataCollator
from sdvlm.testing import train_tiny_lora, write_tiny_checkpoint

FAMILY = FAMILIES["llava_onevision"]


def test_collator_carries_onevision_image_keys_and_depth_tiles(small_msmu, tmp_path):
    from datasets import load_dataset

    processor = FAMILY.processor_class.from_pretrained(write_tiny_checkpoint(tmp_path, small_msmu, family="llava_onevision"))
    rows = list(load_dataset(str(small_msmu))["train"].select(range(2)))
    batch = SDVLMDataCollator(processor=processor)(rows)
    assert {"pixel_values", "image_sizes", "depth_values"} <= set(batch)
    assert batch["depth_values"].shape[:2] == batch["pixel_values"].shape[:2]
    image_id = processor.image_token_id
    assert (batch["labels"][batch["input_ids"] == image_id] == -100).all()


def test_lora_from_a_plain_onevision_checkpoint_moves_lora_only(small_msmu, tmp_path):
    sdvlm = write_tiny_checkpoint(tmp_path / "sdvlm", small_msmu, family="llava_onevision")
    model = FAMILY.model_class.from_pretrained(sdvlm)
    plain = LlavaOnevisionForConditionalGeneration(model.config)
    plain.load_state_dict(model.state_dict())
    plain.save_pretrained(tmp_path / "plain")
    FAMILY.processor_class.from_pretrained(sdvlm).save_pretrained(tmp_path / "plain")
    start = dict(FAMILY.model_class.from_pretrained(tmp_path / "plain").state_dict())
    out, trained = train_tiny_lora(small_msmu, tmp_path / "plain", tmp_path / "out")
    lora = [name for name, param in trained.items() if "lora_" in name]
    assert lora and all(".language_model." in name for name in lora)
    assert not any(param.requires_grad for name, param in trained.items() if ".vision_tower." in name)
    assert any(trained[name].abs().sum() > 0 for name in lora if "lora_B" in name), "LoRA did not move"
    for name, param in trained.items():
        if "lora_" not in name and "modules_to_save" not in name:
            base = name.replace("base_model.model.", "").replace(".base_layer", "").replace(".original_module", "")
            assert torch.equal(param.detach(), start[base]), f"base weight {name} changed"
    from datasets import load_dataset

    from sdvlm.evaluation import generate_answers, load_for_inference

    model, processor = load_for_inference(out)
    assert type(model) is FAMILY.model_class and model.config.use_depth
    test = load_dataset(str(small_msmu))["test"]
    answers = generate_answers(model, processor, test, batch_size=2, max_new_tokens=3, progress=False)
    assert len(answers) == len(test)


def test_space_answers_with_a_onevision_checkpoint_and_shows_the_base_view_grid(small_msmu, tmp_path):
    import numpy as np
    from PIL import Image

    from sdvlm.space import load_space_module

    load_space_module()  # puts the Space's modules on the path
    from space_model import SpaceModel

    checkpoint = write_tiny_checkpoint(tmp_path, small_msmu, family="llava_onevision")
    space = SpaceModel.load(str(checkpoint))
    image = Image.fromarray(np.full((40, 64, 3), 90, np.uint8))
    depth = np.linspace(0.5, 4.0, 40 * 64, dtype=np.float32).reshape(40, 64)
    prediction = space.predict(image, "How far is the red box from the camera?", depth=depth)
    tile, patch = space.model.config.vision_config.image_size, space.model.config.vision_config.patch_size
    assert isinstance(prediction.answer, str)
    assert prediction.model_view.shape == (tile, tile, 3)  # the base view: the image squashed to one tile
    assert prediction.grid.shape == (tile // patch, tile // patch)
    # the grid is what the encoding sees: near (inverse depth, larger) at the top, far at the bottom
    assert prediction.grid[0].mean() > prediction.grid[-1].mean()
