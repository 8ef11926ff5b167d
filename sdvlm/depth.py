"""Depth maps as the training and evaluation code hands them to the processor: float32 meters.

MSMU stores ground-truth depth as 16-bit PNG in millimetres (0 = invalid); the processor accepts
float arrays, so the conversion happens once here and every caller sees (H, W) float32 meters.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from dataset_builders.msmu.conventions import depth_units_to_meters


def depth_to_meters(depth) -> np.ndarray:
    """A 16-bit PNG depth image or an integer array (millimetres), or a float array (meters)
    -> (H, W) float32 meters. Integer dtype means millimetres whatever the container, as in the
    processor (`depth_png_scale`): a uint16 PNG read by cv2 or imageio is millimetres too.

    >>> depth_to_meters(Image.fromarray(np.array([[1500, 0]], dtype=np.uint16))).tolist()
    [[1.5, 0.0]]
    >>> depth_to_meters(np.array([[1500, 0]], dtype=np.uint16)).tolist()
    [[1.5, 0.0]]
    """
    if isinstance(depth, Image.Image):
        if depth.mode not in ("I;16", "I;16B", "I;16L", "I"):
            raise ValueError(f"depth image must be 16-bit (millimetres), got PIL mode {depth.mode!r}")
        return depth_units_to_meters(np.asarray(depth))
    if hasattr(depth, "detach"):  # a torch tensor
        depth = depth.detach().cpu().numpy()
    array = np.asarray(depth)
    if array.ndim != 2:
        raise ValueError(f"depth must be a 2-D (H, W) map, got shape {array.shape}")
    if array.dtype.kind in "iu":
        return depth_units_to_meters(array)
    return array.astype(np.float32, copy=False)


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
