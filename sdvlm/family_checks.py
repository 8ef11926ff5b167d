"""Checks that the per-family model tests (LLaVA, LLaVA-OneVision, Qwen) run the same way.

One place for the reference computations the families are compared against: a cache-free greedy loop
for `generate`, and the Auto classes reloading a saved checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModel, AutoModelForImageTextToText, AutoProcessor


def greedy_without_cache(model, inputs: dict, steps: int) -> torch.Tensor:
    """(batch, prompt + steps) ids: `steps` greedy tokens, the full prompt recomputed every step without a
    cache (so depth is encoded into the image tokens every time), to compare `model.generate` against."""
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    with torch.no_grad():
        for _ in range(steps):
            step_inputs = {**inputs, "input_ids": ids, "attention_mask": mask}
            next_token = model(**step_inputs, use_cache=False).logits[:, -1].argmax(-1, keepdim=True)
            ids = torch.cat([ids, next_token], dim=1)
            mask = torch.cat([mask, torch.ones_like(next_token)], dim=1)
    return ids


def load_with_auto_classes(folder: str | Path) -> tuple:
    """(AutoModelForImageTextToText, AutoModel, AutoProcessor) loaded from `folder`, models in eval mode."""
    auto = AutoModelForImageTextToText.from_pretrained(folder).eval()
    base = AutoModel.from_pretrained(folder).eval()
    return auto, base, AutoProcessor.from_pretrained(folder)


def assert_auto_logits_match(model, auto, base, inputs: dict) -> None:
    """The reloaded full model and the reloaded base model (through `model.lm_head`) give `model`'s logits."""
    with torch.no_grad():
        expected = model(**inputs).logits
        assert torch.equal(auto(**inputs).logits, expected)
        assert torch.equal(model.lm_head(base(**inputs).last_hidden_state), expected)


__all__ = ["assert_auto_logits_match", "greedy_without_cache", "load_with_auto_classes"]
