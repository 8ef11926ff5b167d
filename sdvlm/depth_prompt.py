"""The paper's "depth as prompt" ablation: each object's depth written into the question as text.

For every annotated object of the frame, the depth map is read in a small window around the
projection of the object's 3D box center (camera frame, x right, y down, z forward, with the
frame's pinhole intrinsics); the median of the valid pixels there is that object's depth. The
question then ends with e.g. " Depths: the white table 2.31 m, the chair 1.20 m." and the model,
trained without DPE, reads depth as text.
"""

from __future__ import annotations

import numpy as np

from .collator import example_depth

# Window half-size as a fraction of the object's projected smallest extent: small enough to stay
# on the object, large enough to average over sensor noise.
WINDOW_FRACTION = 0.25


def object_region_depth(depth: np.ndarray, intrinsics, center, size) -> float | None:
    """Median valid depth (meters) around the projected box center; None when it is off-image or
    the window holds no valid pixel."""
    fx, fy, cx, cy = (float(value) for value in intrinsics)
    x, y, z = (float(value) for value in center)
    if z <= 0:
        return None
    u, v = fx * x / z + cx, fy * y / z + cy
    height, width = depth.shape
    if not (0 <= u < width and 0 <= v < height):
        return None
    radius = max(1, int(WINDOW_FRACTION * fx * min(float(s) for s in size) / z))
    window = depth[max(0, int(v) - radius) : int(v) + radius + 1, max(0, int(u) - radius) : int(u) + radius + 1]
    valid = window[window > 0]
    return float(np.median(valid)) if valid.size else None


def depth_prompt_text(example: dict, depth_cache=None) -> str:
    """' Depths: the <name> <d> m, ...' for the frame's objects, nearest first ('' if none)."""
    depth = example_depth(example, depth_cache)
    entries = []
    for obj in example.get("objects") or []:
        value = object_region_depth(depth, example["intrinsics"], obj["center"], obj["size"])
        if value is not None:
            entries.append((value, obj["name"]))
    if not entries:
        return ""
    entries.sort()
    return " Depths: " + ", ".join(f"the {name} {value:.2f} m" for value, name in entries) + "."


def add_depth_prompt(example: dict, depth_cache=None) -> dict:
    """`datasets.map` function: append the depth text to the question and the first human turn."""
    text = depth_prompt_text(example, depth_cache)
    conversations = [dict(turn) for turn in example["conversations"]]
    conversations[0]["value"] = conversations[0]["value"] + text
    return {"question": example["question"] + text, "conversations": conversations}


__all__ = ["object_region_depth", "depth_prompt_text", "add_depth_prompt"]
