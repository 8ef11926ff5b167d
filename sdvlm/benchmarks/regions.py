"""Regions drawn on the image for models without region inputs (SpatialRGPT-Bench's `<mask>`s).

SpatialRGPT feeds each region as a mask token; a plain VLM such as SD-VLM gets the regions drawn
and the question naming them "Region [i]" (the benchmark's own `text_q` wording). The drawing:

- region i gets colour `PALETTE[i % len(PALETTE)]`;
- with a mask (COCO RLE in `rle`), the mask is tinted with that colour at 35 % opacity;
- its box (from `bbox`, else the mask's bounding box; clamped to the image like the official
  `clamp_box` in AnjieCheng/SpatialRGPT `llava/eval/eval_spatial.py`) is outlined, the line
  width max(2, shorter side / 200) pixels;
- the label "Region [i]" in white on a tag of that colour, at the box's top-left corner (inside
  the box when the box touches the top edge), with PIL's default font at max(12, shorter side / 40) px.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PALETTE = ((230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240))
MASK_OPACITY = 0.35


def region_name(index: int) -> str:
    return f"Region [{index}]"


def decode_rle(rle: dict) -> np.ndarray:
    """A COCO RLE (`{"size": [h, w], "counts": str | list}`) -> (h, w) bool mask (pycocotools)."""
    from pycocotools import mask as coco_mask

    if isinstance(rle.get("counts"), list):  # uncompressed RLE: pycocotools wants it compressed
        rle = coco_mask.frPyObjects(rle, *rle["size"])
    counts = rle["counts"]
    rle = {"size": list(rle["size"]), "counts": counts.encode() if isinstance(counts, str) else counts}
    return coco_mask.decode(rle).astype(bool)


def clamp_box(box, width: int, height: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (float(v) for v in box)
    x1, x2 = (min(max(v, 0.0), width) for v in (x1, x2))
    y1, y2 = (min(max(v, 0.0), height) for v in (y1, y2))
    return int(x1), int(y1), int(x2), int(y2)


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def draw_regions(image: Image.Image, boxes=None, masks=None) -> Image.Image:
    """A copy of `image` with regions drawn as documented above.

    Args:
        image: the benchmark image.
        boxes: None or one [x1, y1, x2, y2] per region (pixels).
        masks: None or one (H, W) bool mask per region, image-sized.
    """
    image = image.convert("RGB")
    width, height = image.size
    count = len(masks) if masks is not None else len(boxes or [])
    if masks is not None:
        canvas = np.asarray(image, dtype=np.float32).copy()
        for index, mask in enumerate(masks):
            if mask.shape != (height, width):
                raise ValueError(f"mask of {region_name(index)} is {mask.shape}, the image is {(height, width)}")
            color = np.array(PALETTE[index % len(PALETTE)], dtype=np.float32)
            canvas[mask] = (1 - MASK_OPACITY) * canvas[mask] + MASK_OPACITY * color
        image = Image.fromarray(canvas.round().astype(np.uint8))
    draw = ImageDraw.Draw(image)
    line = max(2, min(width, height) // 200)
    font = ImageFont.load_default(size=max(12, min(width, height) // 40))
    for index in range(count):
        box = clamp_box(boxes[index], width, height) if boxes is not None else mask_box(masks[index])
        if box is None:
            continue
        color = PALETTE[index % len(PALETTE)]
        draw.rectangle(box, outline=color, width=line)
        label = region_name(index)
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        tag_w, tag_h = right - left + 2 * line, bottom - top + 2 * line
        x, y = box[0], box[1] - tag_h if box[1] >= tag_h else box[1]
        draw.rectangle((x, y, x + tag_w, y + tag_h), fill=color)
        draw.text((x + line - left, y + line - top), label, fill=(255, 255, 255), font=font)
    return image


__all__ = ["PALETTE", "MASK_OPACITY", "region_name", "decode_rle", "clamp_box", "mask_box", "draw_regions"]
