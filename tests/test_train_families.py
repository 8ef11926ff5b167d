"""sdvlm-train, sdvlm-evaluate's loader and the shared prompt path with the Qwen families' checkpoints."""

import pytest
import torch
from safetensors.torch import load_file
from transformers import Qwen2_5_VLForConditionalGeneration, Qwen3VLForConditionalGeneration

from modeling_sdvlm.families import FAMILIES
from sdvlm.collator import SDVLMDataCollator
from sdvlm.testing import train_tiny_lora, write_tiny_checkpoint

PLAIN = {"qwen2_5_vl": Qwen2_5_VLForConditionalGeneration, "qwen3_vl": Qwen3VLForConditionalGeneration}


def plain_checkpoint(small_msmu, folder, family):
    """A plain transformers checkpoint of the family (its own model class), with the SD-VLM processor
    files (the plain processor needs torchvision to be built here)."""
    sdvlm = write_tiny_checkpoint(folder / "sdvlm", small_msmu, family=family)
    model = FAMILIES[family].model_class.from_pretrained(sdvlm)
    plain = PLAIN[family](model.config)
    plain.load_state_dict(model.state_dict())
    plain.save_pretrained(folder / "plain")
    FAMILIES[family].processor_class.from_pretrained(sdvlm).save_pretrained(folder / "plain")
    return folder / "plain", load_file(str(folder / "plain" / "model.safetensors"))


@pytest.mark.parametrize("family", sorted(PLAIN))
def test_lora_from_a_plain_checkpoint_moves_lora_only(small_msmu, tmp_path, family):
    checkpoint, initial = plain_checkpoint(small_msmu, tmp_path, family)
    plain_keys = {name: tensor for name, tensor in FAMILIES[family].model_class.from_pretrained(checkpoint).state_dict().items()}
    out, trained = train_tiny_lora(small_msmu, checkpoint, tmp_path / "out")
    lora = [name for name, param in trained.items() if "lora_" in name]
    assert lora and all(".language_model." in name for name in lora)
    assert not any(param.requires_grad for name, param in trained.items() if ".visual." in name and "merger" not in name)
    assert any(trained[name].abs().sum() > 0 for name in lora if "lora_B" in name), "LoRA did not move"
    for name, param in trained.items():
        if "lora_" not in name and "modules_to_save" not in name:
            base = name.replace("base_model.model.", "").replace(".base_layer", "").replace(".original_module", "")
            assert torch.equal(param.detach(), plain_keys[base]), f"base weight {name} changed"
    assert initial  # the plain checkpoint had weights to start from
    from sdvlm.evaluation import generate_answers, load_for_inference

    model, processor = load_for_inference(out)
    assert type(model) is FAMILIES[family].model_class and model.config.use_depth
    from datasets import load_dataset

    test = load_dataset(str(small_msmu))["test"]
    answers = generate_answers(model, processor, test, batch_size=2, max_new_tokens=3, progress=False)
    assert len(answers) == len(test)


@pytest.mark.parametrize("family", sorted(PLAIN))
def test_collator_carries_the_families_image_keys(small_msmu, tmp_path, family):
    from datasets import load_dataset

    processor = FAMILIES[family].processor_class.from_pretrained(write_tiny_checkpoint(tmp_path, small_msmu, family=family))
    rows = list(load_dataset(str(small_msmu))["train"].select(range(2)))
    batch = SDVLMDataCollator(processor=processor)(rows)
    assert {"pixel_values", "image_grid_thw", "depth_values", "mm_token_type_ids"} <= set(batch)
    image_id = processor.image_token_id
    assert torch.equal(batch["mm_token_type_ids"] == 1, batch["input_ids"] == image_id)
    assert batch["depth_values"].numel() == int((batch["input_ids"] == image_id).sum())
    assert (batch["labels"][batch["input_ids"] == image_id] == -100).all()


@pytest.mark.parametrize("family", sorted(PLAIN))
def test_space_answers_with_a_checkpoint_of_the_family(small_msmu, tmp_path, family):
    import numpy as np
    from PIL import Image

    from sdvlm.space import load_space_module

    load_space_module()  # puts the Space's modules on the path
    from space_model import SpaceModel

    space = SpaceModel.load(str(write_tiny_checkpoint(tmp_path, small_msmu, family=family)))
    image = Image.fromarray(np.full((40, 64, 3), 90, np.uint8))
    depth = np.linspace(0.5, 4.0, 40 * 64, dtype=np.float32).reshape(40, 64)
    prediction = space.predict(image, "How far is the red box from the camera?", depth=depth)
    rows, cols = (size // 16 for size in prediction.model_view.shape[:2])
    assert isinstance(prediction.answer, str) and prediction.grid.shape == (rows, cols)
