"""Images as the LLaVA image processor takes them: 3-channel, with a clear error for what cannot be one.

transformers' image utilities infer the channel axis from the shape and fail with opaque errors on
`(H, W)` grey or `(H, W, 4)` RGBA numpy arrays; PIL images are converted by the image processor
itself. Here grey arrays get three equal channels and RGBA arrays lose their alpha (as PIL's
`convert("RGB")` does), so every image reaches the processor in a layout it reads.

>>> import numpy as np
>>> [image.shape for image in as_rgb_images([np.zeros((4, 5), np.uint8), np.zeros((4, 5, 4), np.uint8)])]
[(4, 5, 3), (4, 5, 3)]
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from PIL import Image


def as_rgb_image(image, index: int = 0):
    """One image (PIL, numpy or torch) in a layout the image processor reads; `index` names it in errors."""
    if isinstance(image, Image.Image):
        return image
    if torch.is_tensor(image):
        array = image.detach().cpu()
        array = (array.float() if array.dtype == torch.bfloat16 else array).numpy()
    elif isinstance(image, np.ndarray):
        array = image
    else:
        raise ValueError(f"image {index} has unsupported type {type(image).__name__}; use a PIL image, numpy array or torch tensor")
    if array.dtype.kind not in "fiub" or array.size == 0:
        raise ValueError(f"image {index} has dtype {array.dtype} and shape {array.shape}; expected numeric pixels")
    if array.dtype.kind == "b":
        array = array.astype(np.uint8) * 255
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"image {index} has non-finite (NaN or inf) pixel values")
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=-1)
    if array.ndim == 3:
        if array.shape[-1] == 1 and array.shape[0] not in (1, 3):
            return np.repeat(array, 3, axis=-1)
        if array.shape[-1] == 4 and array.shape[0] not in (1, 3):
            return array[..., :3]
        if array.shape[-1] == 3 or array.shape[0] == 3:
            return image if array is image else array
    if array.ndim == 4:  # a batch (N, H, W, C) / (N, C, H, W): LLaVA's processor splits it
        return image
    raise ValueError(
        f"image {index} has shape {tuple(array.shape)}; expected (H, W, 3) or (3, H, W) colour, (H, W) grey "
        "or (H, W, 4) RGBA pixels"
    )


def as_rgb_images(images):
    """`images` (one image, a list, or a list of lists) with every image passed through `as_rgb_image`."""
    if isinstance(images, (list, tuple)):
        counter = itertools.count()

        def convert(item):
            if isinstance(item, (list, tuple)):
                return [convert(inner) for inner in item]
            return as_rgb_image(item, next(counter))

        return convert(images)
    return as_rgb_image(images)


__all__ = ["as_rgb_image", "as_rgb_images"]
