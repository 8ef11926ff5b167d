"""Depth maps as the training and evaluation code hands them to the processor: float32 meters.

MSMU stores ground-truth depth as 16-bit PNG in millimetres (0 = invalid); the code that reads
depth itself (depth as prompt, noise) sees (H, W) float32 meters. The processor then converts
meters to the model's depth convention (`modeling_sdvlm.depth_inputs`).
"""

from __future__ import annotations

import numpy as np
from PIL import Image  # noqa: F401  (used by the doctest)

from dataset_builders.msmu.conventions import DEPTH_UNITS_PER_METER
from modeling_sdvlm.depth_inputs import read_depth_map


def depth_to_meters(depth) -> np.ndarray:
    """A 16-bit PNG depth image or an integer array (millimetres), or a float array (meters)
    -> (H, W) float32 meters, by the processor's own reading rules (`depth_inputs.read_depth_map`):
    integer dtype means millimetres whatever the container; 8-bit images are refused.

    >>> depth_to_meters(Image.fromarray(np.array([[1500, 0]], dtype=np.uint16))).tolist()
    [[1.5, 0.0]]
    >>> depth_to_meters(np.array([[1500, 0]], dtype=np.uint16)).tolist()
    [[1.5, 0.0]]
    """
    return read_depth_map(depth, png_scale=1.0 / DEPTH_UNITS_PER_METER)


def add_depth_noise(depth: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """The paper's robustness study: i.i.d. Gaussian noise of std `sigma` (in the depth's units,
    meters for ground truth) on every valid pixel; invalid pixels (0) stay invalid and noisy values
    are clipped to 1 mm so that they stay valid depths.

    Per-pixel noise is partly averaged away by the patch pooling of the encoding; that is the
    point of the study (how robust is DPE to a noisy depth sensor or estimator).
    """
    if sigma < 0:
        raise ValueError(f"depth noise sigma must be >= 0, got {sigma}")
    if sigma == 0:
        return depth
    valid = depth > 0
    noisy = depth + rng.normal(0.0, sigma, size=depth.shape).astype(np.float32)
    return np.where(valid, np.maximum(noisy, 1e-3), 0.0).astype(np.float32)


__all__ = ["depth_to_meters", "add_depth_noise"]
