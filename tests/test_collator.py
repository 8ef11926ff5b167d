"""SDVLMDataCollator: labels keep only the assistant's tokens; depth_values lie under pixel_values."""

import numpy as np
import pytest
import torch
from datasets import load_dataset

from sdvlm.collator import IGNORE_INDEX, SDVLMDataCollator
from sdvlm.conversation import render_segments
from sdvlm.testing import write_tiny_msmu


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from modeling_sdvlm.tiny import build_tiny_processor

    folder = write_tiny_msmu(tmp_path_factory.mktemp("msmu"), num_train_frames=4, num_test_frames=2)
    rows = load_dataset(str(folder))["train"]
    processor = build_tiny_processor(texts=list(rows["question"]) + list(rows["answer"]), image_size=32, patch_size=8)
    return processor, rows


def test_labels_are_the_assistant_tokens_only(tiny):
    processor, rows = tiny
    examples = [rows[0], rows[1], rows[2]]  # different lengths: padding is exercised
    batch = SDVLMDataCollator(processor=processor)(examples)
    tokenizer = processor.tokenizer
    for b, example in enumerate(examples):
        labels = batch["labels"][b]
        kept = labels[labels != IGNORE_INDEX].tolist()
        # Exactly the answer and the end of turn, as the template renders it.
        assert tokenizer.decode(kept) == f" {example['answer']}</s>"
        # Image, padding and prompt positions are all masked.
        assert (labels[batch["input_ids"][b] == processor.image_token_id] == IGNORE_INDEX).all()
        assert (labels[batch["attention_mask"][b] == 0] == IGNORE_INDEX).all()
        assert batch["attention_mask"][b].sum() == len(kept) + (labels[batch["attention_mask"][b] == 1] == IGNORE_INDEX).sum()
        # Kept tokens sit where the same ids are in input_ids (no shift: the model shifts).
        positions = (labels != IGNORE_INDEX).nonzero().flatten()
        assert torch.equal(batch["input_ids"][b, positions], labels[positions])
    assert (batch["input_ids"] == processor.image_token_id).sum(dim=1).tolist() == [16, 16, 16]


@pytest.mark.parametrize("convention", ["metric", "inverse"])
def test_depth_values_aligned_with_pixel_values(tiny, convention, monkeypatch):
    processor, rows = tiny
    monkeypatch.setattr(processor, "depth_convention", convention)
    batch = SDVLMDataCollator(processor=processor)([rows[0], rows[2]])
    assert batch["pixel_values"].shape == (2, 3, 32, 32)
    assert batch["depth_values"].shape == (2, 32, 32) and batch["depth_values"].dtype == torch.float32
    for b, index in enumerate((0, 2)):
        depth = np.asarray(rows[index]["depth"], dtype=np.float32) / 1000.0
        box = depth < 4.9  # the box is nearer than the 5 m background
        # The dataset's millimetres reach the model as meters, or as 1 / meters for an "inverse" model.
        expected = depth if convention == "metric" else 1.0 / depth
        assert torch.allclose(batch["depth_values"][b], torch.from_numpy(expected), atol=1e-3)
        # The box's pixels differ in colour from the grey background at exactly those positions.
        grey = batch["pixel_values"][b, :, ~torch.from_numpy(box)]
        coloured = batch["pixel_values"][b, :, torch.from_numpy(box)]
        assert grey.std(dim=1).max() < 1e-4 and (coloured.mean(dim=1) - grey.mean(dim=1)).abs().max() > 0.1


def test_no_depth_mode_and_missing_depth(tiny):
    processor, rows = tiny
    batch = SDVLMDataCollator(processor=processor, use_depth=False)([rows[0]])
    assert "depth_values" not in batch
    example = {k: v for k, v in rows[0].items() if k != "depth"}
    with pytest.raises(ValueError, match="neither a 'depth' map nor a 'depth_key'"):
        SDVLMDataCollator(processor=processor)([example])


def test_multi_turn_masks_every_assistant_turn(tiny):
    processor, rows = tiny
    example = dict(rows[0])
    example["conversations"] = example["conversations"] + [
        {"from": "human", "value": "Is there a red box in the image?"}, {"from": "gpt", "value": "Yes"}]
    segments = render_segments(processor, example["conversations"])
    assert [is_assistant for _, is_assistant in segments] == [False, True, False, True]
    batch = SDVLMDataCollator(processor=processor)([example])
    kept = batch["labels"][0][batch["labels"][0] != IGNORE_INDEX].tolist()
    assert processor.tokenizer.decode(kept) == f" {example['answer']}</s> Yes</s>"


def test_bad_conversation_raises(tiny):
    processor, rows = tiny
    example = dict(rows[0])
    example["conversations"] = [{"from": "human", "value": "<image>\nHow far?"}]
    with pytest.raises(ValueError, match="must end with an assistant"):
        SDVLMDataCollator(processor=processor)([example])
    example["conversations"] = [{"from": "gpt", "value": "x"}, {"from": "human", "value": "y"}]
    with pytest.raises(ValueError, match="turn 0"):
        SDVLMDataCollator(processor=processor)([example])


class CountingEstimator:
    def __init__(self):
        self.calls = 0

    def __call__(self, images, *args, **kwargs):
        self.calls += 1
        return [np.ones((image.height, image.width), np.float32) for image in images]


def test_collator_never_runs_the_depth_estimator(tiny, monkeypatch):
    """The no-depth baseline (and the depth run, whose depth comes from the dataset or the cache)
    must not run Depth-Anything per step, though the processor estimates missing depth by default."""
    processor, rows = tiny
    counter = CountingEstimator()
    monkeypatch.setattr(processor, "estimate_depth", counter)
    monkeypatch.setattr(processor, "estimate_missing_depth", True)
    no_depth = [{k: v for k, v in rows[i].items() if k != "depth"} for i in (0, 1)]
    batch = SDVLMDataCollator(processor=processor, use_depth=False)(no_depth)
    assert "depth_values" not in batch and counter.calls == 0
    batch = SDVLMDataCollator(processor=processor)([rows[0], rows[1]])
    assert batch["depth_values"].shape == (2, 32, 32) and counter.calls == 0
