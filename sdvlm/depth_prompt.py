"""The paper's "depth as prompt" ablation: the depth map itself written into the question as text.

The text is built from the depth map alone, the input every depth model has at test time: the map
is area-pooled over its valid pixels onto a `grid x grid` raster of the image (the same pooling
the depth encoding uses, `modeling_sdvlm.depth_encoding.area_pool_depth`) and the cells are
written in meters, one decimal, row by row from the top left. At the tiny preset's 4x4 grid this
is exactly the information DPE adds to the 16 image tokens, given to a no-DPE model through text
instead. No annotation (boxes, names, masks) enters it.

    question + " Depth grid: 2.1 2.3 1.9 1.8 / 2.0 ... ."
"""

from __future__ import annotations

import numpy as np
import torch

from .collator import example_depth

DEPTH_PROMPT_GRID = 4
DEPTH_PROMPT_PREFIX = " Depth grid:"
ROW_SEPARATOR = "/"
# What the text adds to a tokenizer's vocabulary (the tiny word-level tokenizer is built from texts).
DEPTH_PROMPT_WORDS = f"{DEPTH_PROMPT_PREFIX} {ROW_SEPARATOR} ? ."


def depth_grid(depth: np.ndarray, grid: int = DEPTH_PROMPT_GRID) -> np.ndarray:
    """`(grid, grid)` mean of the valid pixels (> 0, finite) under each cell of an `(H, W)` map; NaN
    where a cell has none."""
    from modeling_sdvlm.depth_encoding import area_pool_depth, uniform_edges

    depth = np.asarray(depth, dtype=np.float32)
    height, width = depth.shape
    means, share = area_pool_depth(torch.from_numpy(depth), uniform_edges(height, grid), uniform_edges(width, grid))
    return np.where(share.numpy() > 0, means.numpy(), np.nan)


def depth_prompt_text(example: dict, depth_cache=None, grid: int = DEPTH_PROMPT_GRID) -> str:
    """' Depth grid: r0c0 r0c1 ... / r1c0 ... .' in meters ('?' for a cell without valid depth).

    >>> depth_prompt_text({"depth": np.full((8, 8), 2.0, np.float32)}, grid=2)
    ' Depth grid: 2.0 2.0 / 2.0 2.0 .'
    """
    cells = depth_grid(example_depth(example, depth_cache), grid)
    rows = [" ".join("?" if np.isnan(value) else f"{value:.1f}" for value in row) for row in cells]
    return f"{DEPTH_PROMPT_PREFIX} " + f" {ROW_SEPARATOR} ".join(rows) + " ."


def add_depth_prompt(example: dict, depth_cache=None, grid: int = DEPTH_PROMPT_GRID) -> dict:
    """`datasets.map` function: append the depth text to the question and the first human turn."""
    text = depth_prompt_text(example, depth_cache, grid)
    conversations = [dict(turn) for turn in example["conversations"]]
    conversations[0]["value"] = conversations[0]["value"] + text
    return {"question": example["question"] + text, "conversations": conversations}


__all__ = ["DEPTH_PROMPT_GRID", "DEPTH_PROMPT_PREFIX", "DEPTH_PROMPT_WORDS", "depth_grid", "depth_prompt_text", "add_depth_prompt"]
