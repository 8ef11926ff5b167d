"""The SD-VLM training collator: TRL's vision-language collator plus `depth_values`.

Each example is an MSMU row: `image` (PIL), `conversations` (LLaVA turns) and its depth, either a
`depth` column (16-bit PNG in millimetres, or a float array in meters) or a `depth_key` into a
`DepthCache` (estimated once, before training). The collator renders the conversation with the
processor's vicuna_v1 chat template, lets the processor expand `<image>` and resize the image and
its depth map together (so `depth_values[b]` lies pixel-for-pixel under `pixel_values[b]`), and
builds labels that keep only the assistant's tokens: the system prompt, the question, every image
token and every padding token are -100.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

from .conversation import example_images, render_segments
from .depth import depth_to_meters
from .depth_cache import DepthCache
from .model_inputs import image_inputs, model_inputs, prompt_adds_bos

IGNORE_INDEX = -100


def example_depth(example: dict, depth_cache: DepthCache | None = None) -> np.ndarray:
    """The (H, W) float32 depth map of one example: its `depth` column (meters), else its cached
    estimate (of the kind `example_depth_kind` names)."""
    if example.get("depth") is not None:
        return depth_to_meters(example["depth"])
    if example.get("depth_key") is not None:
        if depth_cache is None:
            raise ValueError("example has a 'depth_key' but the collator was given no depth_cache")
        return depth_cache.get(example["depth_key"])
    raise ValueError("example has neither a 'depth' map nor a 'depth_key' (train with --use_depth false?)")


def example_depth_kind(example: dict, depth_cache: DepthCache | None = None) -> str:
    """What `example_depth` returns: "metric" for the dataset's depth, else the cache's kind."""
    if example.get("depth") is not None or depth_cache is None:
        return "metric"
    return depth_cache.depth_kind


@dataclass
class SDVLMDataCollator(DataCollatorForVisionLanguageModeling):
    """Batches MSMU rows into `input_ids, attention_mask, pixel_values, depth_values, labels`.

    Shapes: input_ids / attention_mask / labels (B, T) padded on the right; the processor's image
    entries as the family's processor returns them (LLaVA: pixel_values (B, 3, S, S) and
    depth_values (B, S, S) float32 in the model's depth convention (the processor converts),
    0 = invalid; Qwen: flat patches, image_grid_thw and one depth value per image token, plus
    mm_token_type_ids). depth_values only with `use_depth`.

    Args (beyond TRL's): use_depth: batch depth maps (False for the no-depth baseline);
    depth_cache: where `depth_key` rows find their estimated maps.
    """

    use_depth: bool = True
    depth_cache: DepthCache | None = None

    def torch_call(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        tokenizer = self.processor.tokenizer
        per_example = [example_images(example) for example in examples]
        images = [image for row in per_example for image in row]
        segments = [render_segments(self.processor, example["conversations"], len(row))
                    for example, row in zip(examples, per_example)]
        depth = [example_depth(example, self.depth_cache) for example in examples] if self.use_depth else None
        kinds = [example_depth_kind(example, self.depth_cache) for example in examples] if self.use_depth else "metric"
        prompts = [rows[0][0] for rows in segments]
        # One processor call for the first prompt (it carries the image): it expands <image> into the
        # patch tokens and resizes image and depth together. Later segments are plain text.
        # Depth is never estimated here: it comes from the dataset or from the cache filled once
        # before training, and the no-depth baseline needs none at all. The processor converts each
        # map (of its kind) to the model's depth convention.
        first = model_inputs(self.processor, images, prompts, depth, depth_kind=kinds, padding_side="right")
        rows_ids, rows_labels = [], []
        for b, rows in enumerate(segments):
            ids = first["input_ids"][b][first["attention_mask"][b].bool()].tolist()
            labels = [IGNORE_INDEX] * len(ids)
            for index, (text, is_assistant) in enumerate(rows):
                if index == 0:
                    continue
                tokens = tokenizer(text, add_special_tokens=False)["input_ids"]
                ids += tokens
                labels += tokens if is_assistant else [IGNORE_INDEX] * len(tokens)
            if self.max_length is not None and len(ids) > self.max_length:
                image_id = getattr(self.processor, "image_token_id", None)
                if image_id is not None and image_id in ids[self.max_length :]:
                    raise ValueError(
                        f"example {b}: max_length={self.max_length} would cut image tokens "
                        f"(sequence has {len(ids)} tokens); raise max_length"
                    )
                ids, labels = ids[: self.max_length], labels[: self.max_length]
            if all(label == IGNORE_INDEX for label in labels):
                raise ValueError(f"example {b}: no assistant tokens to train on")
            rows_ids.append(ids)
            rows_labels.append(labels)

        length = max(len(ids) for ids in rows_ids)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        pad_id = tokenizer.pad_token_id
        if pad_id is None:
            raise ValueError("the tokenizer has no pad token")
        input_ids = torch.full((len(rows_ids), length), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows_ids), length), dtype=torch.long)
        labels = torch.full((len(rows_ids), length), IGNORE_INDEX, dtype=torch.long)
        for b, (ids, row_labels) in enumerate(zip(rows_ids, rows_labels)):
            input_ids[b, : len(ids)] = torch.tensor(ids)
            attention_mask[b, : len(ids)] = 1
            labels[b, : len(ids)] = torch.tensor(row_labels)

        # Every image-side key of the family (pixel_values, image_grid_thw / image_sizes, depth_values).
        batch = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels, **image_inputs(first)}
        if "mm_token_type_ids" in first:
            # Qwen's 3D rope finds the image tokens by type: rebuilt for the assembled rows.
            batch["mm_token_type_ids"] = torch.tensor(self.processor.create_mm_token_type_ids(input_ids.tolist()))
        return batch


__all__ = ["IGNORE_INDEX", "SDVLMDataCollator", "example_depth", "example_depth_kind", "prompt_adds_bos"]
