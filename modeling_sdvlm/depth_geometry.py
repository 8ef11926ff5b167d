"""Apply to a depth map exactly the geometry an image processor applies to its image.

LLaVA-style image processors pad to a square (original LLaVA, `LlavaImageProcessor(do_pad=True)`),
resize (shortest edge, or height x width) and center-crop (CLIP). The depth map goes through the
same steps with the same output sizes and crop offsets, so depth pixel (y, x) lies under
`pixel_values[..., y, x]` and the patch cell (i, j) of the depth lies under vision patch (i, j).
The authors' code pooled the UNPADDED depth while CLIP saw the padded image; this fixes that.

Invalid depth (0 or non-finite) never leaks into valid pixels: resizing is a normalised,
mask-weighted bilinear average (antialiased), so an output pixel is the weighted mean of the valid
input pixels under its footprint. Padding is invalid (0) and keeps its place: an output pixel
belongs to the image when at least half of its resampling weight lies on the image (not the
padding), and then it is valid as soon as any valid depth pixel lies under it. So sparse depth
(5-40% valid pixels scattered at random: real sensors, reprojected lidar) stays valid where the
image is, instead of vanishing (the former "half the weight must be valid depth" rule kept 9% of a
30%-valid map at 336 px).
"""

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F
from transformers.image_transforms import get_resize_output_image_size, get_size_with_aspect_ratio
from transformers.image_utils import ChannelDimension, get_image_size_for_max_height_width

from .depth_encoding import value_range

# An output pixel belongs to the image (not the padding) when at least this share of its
# resampling weight lies on the image.
MIN_IMAGE_WEIGHT = 0.5


def _read(settings, name):
    """A setting from a dict or an object (SizeDict, image processor attributes)."""
    if settings is None:
        return None
    if isinstance(settings, dict):
        return settings.get(name)
    return getattr(settings, name, None)


def pad_to_square(depth: torch.Tensor) -> torch.Tensor:
    """Pad `(H, W)` with zeros (invalid) to the longest edge, centred as `LlavaImageProcessor.pad_to_square`."""
    height, width = depth.shape
    side = max(height, width)
    left, top = (side - width) // 2, (side - height) // 2
    return F.pad(depth, (left, side - width - left, top, side - height - top))


def resize_output_size(height: int, width: int, size) -> tuple[int, int]:
    """The `(height, width)` a transformers image processor resizes an image of this size to."""
    shortest, longest = _read(size, "shortest_edge"), _read(size, "longest_edge")
    if shortest and longest:
        return tuple(get_size_with_aspect_ratio((height, width), shortest, longest))
    if shortest:
        probe = torch.empty(1, height, width)
        return tuple(
            get_resize_output_image_size(
                probe, size=shortest, default_to_square=False, input_data_format=ChannelDimension.FIRST
            )
        )
    if _read(size, "max_height") and _read(size, "max_width"):
        max_height, max_width = _read(size, "max_height"), _read(size, "max_width")
        return tuple(get_image_size_for_max_height_width((height, width), max_height, max_width))
    if _read(size, "height") and _read(size, "width"):
        return (_read(size, "height"), _read(size, "width"))
    raise ValueError(
        f"unsupported image processor size {size!r}: need shortest_edge, height/width or max_height/max_width"
    )


def image_threshold(image_share: torch.Tensor) -> float:
    """The image share above which a resized pixel belongs to the image: `MIN_IMAGE_WEIGHT`, or
    less for an image thinner than one output pixel (1x5000 padded to a square), whose best-covered
    pixels then stand for it."""
    return min(MIN_IMAGE_WEIGHT, 0.5 * float(image_share.max()))


def _resize(tensor: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    """Antialiased bilinear resize of `(N, C, H, W)` (a normalised kernel: constants stay constant)."""
    return F.interpolate(tensor, size=out_size, mode="bilinear", align_corners=False, antialias=True)


def image_share(height: int, width: int, out_size: tuple[int, int]) -> torch.Tensor:
    """`(out_h, out_w)` share of each resized pixel's weight on the image of a centred pad-to-square
    of an `height x width` image. Geometry only, so computed once per size (read-only)."""
    return _padded_geometry(height, width, tuple(out_size))[0]


@functools.lru_cache(maxsize=32)
def _padded_geometry(height: int, width: int, out_size: tuple[int, int]) -> tuple[torch.Tensor, ...]:
    """`(share, floor, dense_divisor)`: the `image_share`; the least divisor of a resized valid
    weight, 1e-12 on the image and `inf` off it (padding), so `weighted / maximum(weight, floor)` is
    the masked mean on the image and exactly 0 off it in one pass (what a `torch.where` on the mask
    gives, faster); and that divisor for an all-valid map, whose weight is the share."""
    share = _resize(pad_to_square(torch.ones(height, width))[None, None], out_size)[0, 0]
    floor = torch.where(share >= image_threshold(share), 1e-12, torch.inf)
    return share, floor, torch.maximum(share, floor)


def _resize_padded(depth: torch.Tensor, out_size: tuple[int, int], pad: bool) -> torch.Tensor:
    """`_resize` of `(H, W)`, or of its centred pad-to-square when `pad`, as `(out_h, out_w)`.

    The antialiased resize runs along the width first, then the height, so the zero rows of a
    landscape pad-to-square are added after the width pass (bit-identical to padding first, on a
    third less data); a portrait map, whose padding is columns, is padded first.
    """
    height, width = depth.shape
    if pad and height < width:
        narrow = _resize(depth[None, None], (height, out_size[1]))
        top = (width - height) // 2
        return _resize(F.pad(narrow, (0, 0, top, width - height - top)), out_size)[0, 0]
    if pad:
        depth = pad_to_square(depth)
    return _resize(depth[None, None], out_size)[0, 0]


def masked_resize(depth: torch.Tensor, out_size: tuple[int, int], pad: bool = False, all_valid: bool = False):
    """Resize `(H, W)` depth to `out_size` without mixing invalid (0) pixels into valid ones.

    Args:
        depth: `(H, W)` float32 at the image's size, 0 = invalid (no negative or non-finite values).
        out_size: `(height, width)`.
        pad: resize the centred pad-to-square of `depth` (the padding is off the image).
        all_valid: every pixel of `depth` is > 0 (known to the caller): the valid weight is then
            geometry and only depth is resized.

    Returns:
        `(depth, share)` resized: depth is 0 off the image and where no valid pixel lies under an
        output pixel; share is the resized image share (None without padding).
    """
    padded_from = tuple(depth.shape) if pad and depth.shape[0] != depth.shape[1] else None
    if padded_from is None and tuple(depth.shape) == tuple(out_size):
        return depth, None
    if padded_from is not None and (max(padded_from),) * 2 == tuple(out_size):
        return pad_to_square(depth), pad_to_square(torch.ones(padded_from))
    resized = _resize_padded(depth, out_size, padded_from is not None)
    if all_valid:
        # Dense depth (the common case): every image pixel valid, so the valid weight is the image
        # share (1 without padding): one channel, the mask is geometry.
        if padded_from is None:
            return resized, None
        share, _, divisor = _padded_geometry(*padded_from, tuple(out_size))
        return resized / divisor, share
    valid = torch.from_numpy((depth.numpy() > 0).astype(np.float32))  # numpy compares several times faster
    weight = _resize_padded(valid, out_size, padded_from is not None)
    # Where no valid pixel weighs (weight 0) the weighted depth is 0 too (a non-negative kernel): 0 / floor = 0.
    if padded_from is None:
        return resized / weight.clamp(min=1e-12), None
    share, floor, _ = _padded_geometry(*padded_from, tuple(out_size))
    return resized / torch.maximum(weight, floor), share


def center_crop(depth: torch.Tensor, crop_size) -> torch.Tensor:
    """Center-crop `(H, W)` as transformers' image processors do (zero-padding when the crop is larger)."""
    crop_height, crop_width = _read(crop_size, "height"), _read(crop_size, "width")
    height, width = depth.shape
    if crop_width > width or crop_height > height:
        pad_left = (crop_width - width) // 2 if crop_width > width else 0
        pad_top = (crop_height - height) // 2 if crop_height > height else 0
        pad_right = (crop_width - width + 1) // 2 if crop_width > width else 0
        pad_bottom = (crop_height - height + 1) // 2 if crop_height > height else 0
        depth = F.pad(depth, (pad_left, pad_right, pad_top, pad_bottom))
        height, width = depth.shape
    top = int((height - crop_height) / 2.0)
    left = int((width - crop_width) / 2.0)
    return depth[top : top + crop_height, left : left + crop_width]


def align_depth(
    depth: torch.Tensor,
    do_pad=False,
    do_resize=True,
    size=None,
    do_center_crop=False,
    crop_size=None,
    return_image_mask=False,
):
    """Map one depth map through the image processor's geometry.

    Args:
        depth: `(H, W)` float32 at the original image's size; 0 or non-finite = invalid.
        do_pad, do_resize, size, do_center_crop, crop_size: the image processor's settings.
        return_image_mask: also return the `(H', W')` bool mask of output pixels on the image
            (False on padding).

    Returns:
        `(H', W')` float32 aligned with the processed image; 0 = invalid or padding (and the mask).

    >>> d = torch.arange(1.0, 7.0).reshape(2, 3)
    >>> align_depth(d, do_pad=True, do_resize=False).tolist()
    [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [0.0, 0.0, 0.0]]
    """
    depth = depth.to(torch.float32)
    lowest, highest = value_range(depth)
    if not (math.isfinite(lowest) and math.isfinite(highest)):  # NaN fails both
        depth = torch.nan_to_num(depth, nan=0.0, posinf=0.0, neginf=0.0)
    pad = do_pad and depth.shape[0] != depth.shape[1]
    inside = None
    if do_resize:
        side = max(depth.shape)
        out_size = resize_output_size(*((side, side) if pad else depth.shape), size)
        all_valid = lowest > 0 and math.isfinite(highest)
        depth, inside = masked_resize(depth, out_size, pad=pad, all_valid=all_valid)
    elif pad:
        inside = pad_to_square(torch.ones(depth.shape))
        depth = pad_to_square(depth)
    if inside is None and return_image_mask:
        inside = torch.ones_like(depth)
    if do_center_crop:
        depth = center_crop(depth, crop_size)
        inside = None if inside is None else center_crop(inside, crop_size)
    if not return_image_mask:
        return depth
    return depth, torch.from_numpy(inside.numpy() >= image_threshold(inside))  # numpy compares faster on CPU


__all__ = ["align_depth", "center_crop", "image_share", "masked_resize", "pad_to_square", "resize_output_size"]
