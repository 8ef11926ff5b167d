"""Depth rendered as an image, for the "depth as image" and "depth as extra tokens" ablation rows.

The paper's two baselines that give depth to the vision tower instead of encoding it:
- depth as image: the rendered depth map fused into the photo (an even blend), one image, the
  same number of image tokens as without depth;
- depth as extra tokens: the rendered depth map as a second image through the same vision tower
  and projector, twice the image tokens.

Rendering: a fixed metric range (0 to `max_depth` meters, not per-image min-max, so the absolute
scale a distance question needs survives) mapped to grey levels, near = bright; invalid pixels
(0, non-finite) black. Grey in all three channels: the vision tower sees one value per pixel.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# Indoor rooms of the synthetic source and of ScanNet stay within 10 m.
RENDER_MAX_DEPTH = 10.0


def render_depth(depth: np.ndarray, size: tuple[int, int] | None = None, max_depth: float = RENDER_MAX_DEPTH) -> Image.Image:
    """(H, W) meters -> an RGB PIL image of size `size` ((W, H); default the map's own).

    >>> render_depth(np.array([[0.0, 5.0, 10.0]], np.float32)).getpixel((1, 0))
    (128, 128, 128)
    """
    depth = np.nan_to_num(np.asarray(depth, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    valid = depth > 0
    level = np.where(valid, 255.0 * (1.0 - np.clip(depth / max_depth, 0.0, 1.0)), 0.0)
    grey = np.round(level).astype(np.uint8)
    image = Image.fromarray(np.stack([grey] * 3, axis=-1), mode="RGB")
    return image if size is None or image.size == tuple(size) else image.resize(size, Image.Resampling.BILINEAR)


def fuse_depth(image: Image.Image, depth: np.ndarray, weight: float = 0.5) -> Image.Image:
    """The photo and its rendered depth blended with `weight` on the depth (same size as the photo)."""
    image = image.convert("RGB")
    return Image.blend(image, render_depth(depth, image.size), weight)


__all__ = ["RENDER_MAX_DEPTH", "render_depth", "fuse_depth"]
