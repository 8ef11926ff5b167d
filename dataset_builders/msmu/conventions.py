"""The MSMU build contract's small facts, each stated once and imported everywhere.

- `IMAGE_TOKEN`: the placeholder the human turn of every conversation starts with.
- Depth on disk: 16-bit PNG in millimetres (`DEPTH_UNITS_PER_METER` units per meter), 0 = invalid;
  in memory: float32 meters. `meters_to_depth_units` / `depth_units_to_meters` convert.
- The question categories (`CATEGORY_NAMES`, the authors' MSMU-Bench `type` names) and which of
  them are numeric (`QUANTITATIVE`) live in `templates` beside the phrasings; they are re-exported
  here so that one import gives the whole contract.

>>> depth_units_to_meters(meters_to_depth_units(np.array([[1.5, 0.0, np.nan]]))).tolist()
[[1.5, 0.0, 0.0]]
"""

import numpy as np

from .templates import CATEGORY_NAMES, QUANTITATIVE

IMAGE_TOKEN = "<image>"
DEPTH_UNITS_PER_METER = 1000.0  # 16-bit depth PNGs hold millimetres (ScanNet, NYU, ARKitScenes, ScanNet++)
MAX_DEPTH_PNG_METERS = 65535 / DEPTH_UNITS_PER_METER


def meters_to_depth_units(depth: np.ndarray) -> np.ndarray:
    """(H, W) float meters -> (H, W) uint16 millimetres; invalid (<= 0 or non-finite) -> 0, clipped
    at 65.535 m."""
    depth = np.asarray(depth, dtype=np.float64)
    units = np.where(np.isfinite(depth) & (depth > 0), np.round(depth * DEPTH_UNITS_PER_METER), 0.0)
    return np.clip(units, 0, 65535).astype(np.uint16)


def depth_units_to_meters(array: np.ndarray) -> np.ndarray:
    """(H, W) integer millimetres (as a 16-bit PNG loads) -> (H, W) float32 meters, 0 stays 0."""
    return np.asarray(array).astype(np.float32) / np.float32(DEPTH_UNITS_PER_METER)


__all__ = ["IMAGE_TOKEN", "DEPTH_UNITS_PER_METER", "MAX_DEPTH_PNG_METERS", "CATEGORY_NAMES", "QUANTITATIVE",
           "meters_to_depth_units", "depth_units_to_meters"]
