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

from .depth_encoding import matrix_bands, value_range

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
    names = ("shortest_edge", "longest_edge", "max_height", "max_width", "height", "width")
    settings = tuple(_read(size, name) for name in names)
    try:
        output = _resize_output_size(height, width, *settings)
    except TypeError:  # an unhashable setting (a list): not cached
        output = _resize_output_size.__wrapped__(height, width, *settings)
    if output is None:
        raise ValueError(
            f"unsupported image processor size {size!r}: need shortest_edge, height/width or max_height/max_width"
        )
    return output


@functools.lru_cache(maxsize=64)
def _resize_output_size(height, width, shortest, longest, max_height, max_width, size_height, size_width):
    """`resize_output_size` from the size's settings (None: unsupported), once per image size and settings."""
    if shortest and longest:
        return tuple(get_size_with_aspect_ratio((height, width), shortest, longest))
    if shortest:
        probe = torch.empty(1, height, width)
        return tuple(
            get_resize_output_image_size(
                probe, size=shortest, default_to_square=False, input_data_format=ChannelDimension.FIRST
            )
        )
    if max_height and max_width:
        return tuple(get_image_size_for_max_height_width((height, width), max_height, max_width))
    if size_height and size_width:
        return (size_height, size_width)
    return None


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
def _padded_geometry(height: int, width: int, out_size: tuple[int, int]) -> tuple:
    """`(share, box, floor, dense_divisor)`: the `image_share` (a tensor); `box`, the slices of the
    smallest rectangle holding the output pixels on the image; the least divisor of a resized valid
    weight over the box, 1e-12 on the image and `inf` off it (a scalar 1e-12 when the box is all
    image, as for every centred pad), so `weighted / maximum(weight, floor)` is the masked mean on
    the image and exactly 0 off it in one pass; and that divisor for an all-valid map, whose weight
    is the share (numpy, over the box)."""
    # The share by the same banded products as the depth they divide (`_resize` itself is wrong for
    # outputs one pixel wide: torch 2.13's kernel gives every row of a one-column tensor the first
    # row's value, and an all-0 share then made a dense map's depth ~1e12 there).
    share = torch.from_numpy(_banded_resize(height, width, out_size, True)(np.ones((height, width), np.float32))[0])
    inside = (share >= image_threshold(share)).numpy()
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    box = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
    floor = np.where(inside[box], np.float32(1e-12), np.float32(np.inf))
    divisor = np.maximum(share.numpy()[box], floor)
    return share, box, np.float32(1e-12) if inside[box].all() else floor, divisor


def _divide_on_image(weighted: np.ndarray, divisor: np.ndarray, box: tuple, in_place: bool = False) -> np.ndarray:
    """`weighted / divisor` over `box`, 0 elsewhere (padding): a new float32 array, or `weighted` itself."""
    out = weighted if in_place else np.zeros(weighted.shape, np.float32)
    np.divide(weighted[box], divisor, out=out[box])
    if in_place:
        rows, cols = box
        out[: rows.start], out[rows.stop :], out[:, : cols.start], out[:, cols.stop :] = 0, 0, 0, 0
    return out


# Output pixels per matrix product of `_BandedResize`: larger blocks mean fewer calls but more zero
# weights multiplied (12-16 were fastest for 640x480 -> 336, against 4-48).
RESIZE_BLOCK = 16


@functools.lru_cache(maxsize=8)
def _axis_weights(length: int, out_length: int) -> np.ndarray:
    """`(out_length, length)` float32: the weights `_resize` gives each input pixel along one axis,
    read off torch by resizing the identity (so they are its own values), 512 of its rows at a time."""
    weights = np.empty((out_length, length), np.float32)
    for start in range(0, length, 512):
        pixels = torch.arange(start, min(start + 512, length))
        eye = torch.zeros(len(pixels), 1, 1, length)
        eye[torch.arange(len(pixels)), 0, 0, pixels] = 1.0
        weights[:, start : start + len(pixels)] = _resize(eye, (1, out_length))[:, 0, 0].T.numpy()
    return weights


class _BandedResize:
    """`_resize` of one `(H, W)` map, or of its centred pad-to-square, as two banded matrix products.

    Separable like torch's (width pass, then height pass) with torch's own weights, on the image's
    pixels only: the padding is zeros, which add nothing, so it is never built. Each product covers
    `RESIZE_BLOCK` outputs and the inputs they weigh: the same sums as torch's in the same order,
    bit-identical where BLAS accumulates them as torch does (measured: downscales up to 2x, so every
    case of `benchmarks/depth_parity.py`, 640x480 -> 336 included), else within float32 rounding
    (measured on stronger downscales: 5.3e-7 relative at most, 2.8e-6 for a map with holes from
    2000x1500 to 1x13, a sum over millions of pixels); about 3x faster than torch's
    antialiased kernel on CPU. Output pixels with no weight on the image stay 0. (Outputs one pixel
    wide are the exception, where torch 2.13's kernel is wrong and these products are right.)
    """

    def __init__(self, height: int, width: int, out_size: tuple[int, int], pad: bool):
        side_h, side_w = (max(height, width),) * 2 if pad else (height, width)
        top, left = (side_h - height) // 2, (side_w - width) // 2
        self.out_size = out_size
        rows = _axis_weights(side_h, out_size[0])[:, top : top + height]
        cols = _axis_weights(side_w, out_size[1])[:, left : left + width]
        self.rows, self.row_bands = matrix_bands(rows, RESIZE_BLOCK)
        self.cols, self.col_bands = matrix_bands(cols, RESIZE_BLOCK)
        # A resize's outputs between the first and last weighted ones all have weight (its support is
        # contiguous), so the bands cover them all and `__call__` may leave its width pass uninitialised.
        for (first, last), bands in ((self.rows, self.row_bands), (self.cols, self.col_bands)):
            if sum(stop - start for start, stop, *_ in bands) != last - first:
                raise RuntimeError(f"resize weights {height}x{width} -> {out_size} are not contiguous")
        # The width pass multiplies by the transposed blocks: `(H, hi - lo) @ (hi - lo, outputs)`.
        self.col_bands = [(start, stop, lo, hi, block.T.copy()) for start, stop, lo, hi, block in self.col_bands]

    def __call__(self, *maps: np.ndarray) -> list[np.ndarray]:
        """Each `(H, W)` float32 map resized to `(out_h, out_w)` float32, all in one new array (the
        maps side by side share the height pass's products)."""
        (row0, row1), (col0, col1) = self.rows, self.cols
        width = col1 - col0
        narrow = np.empty((maps[0].shape[0], len(maps) * width), np.float32)
        offsets = range(0, narrow.shape[1], width)
        for offset, depth in zip(offsets, maps):
            for start, stop, lo, hi, block in self.col_bands:
                np.matmul(depth[:, lo:hi], block, out=narrow[:, offset + start : offset + stop])
        tall = np.zeros((self.out_size[0], narrow.shape[1]), np.float32)
        for start, stop, lo, hi, block in self.row_bands:
            np.matmul(block, narrow[lo:hi], out=tall[row0 + start : row0 + stop])
        if width == self.out_size[1]:
            return [tall[:, offset : offset + width] for offset in offsets]
        resized = np.zeros((len(maps), *self.out_size), np.float32)  # padded columns (a portrait map)
        for index, offset in enumerate(offsets):
            resized[index, :, col0:col1] = tall[:, offset : offset + width]
        return list(resized)


@functools.lru_cache(maxsize=32)
def _banded_resize(height: int, width: int, out_size: tuple[int, int], pad: bool) -> _BandedResize:
    """`_BandedResize` of a geometry, built once (read-only)."""
    return _BandedResize(height, width, out_size, pad)


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
    resize = _banded_resize(*depth.shape, tuple(out_size), padded_from is not None)
    array = depth.numpy()
    if all_valid:
        # Dense depth (the common case): every image pixel valid, so the valid weight is the image
        # share (1 without padding): one channel, the mask is geometry.
        (resized,) = resize(array)
        if padded_from is None:
            return torch.from_numpy(resized), None
        share, box, _, divisor = _padded_geometry(*padded_from, tuple(out_size))
        return torch.from_numpy(_divide_on_image(resized, divisor, box, in_place=True)), share  # ours: a new array
    resized, weight = resize(array, torch.sign(depth).numpy())  # the valid mask, 1 or 0: depth is >= 0
    # Where no valid pixel weighs (weight 0) the weighted depth is 0 too (a non-negative kernel): 0 / floor = 0.
    if padded_from is None:
        return torch.from_numpy(resized / np.maximum(weight, np.float32(1e-12), out=weight)), None
    share, box, floor, _ = _padded_geometry(*padded_from, tuple(out_size))
    return torch.from_numpy(_divide_on_image(resized, np.maximum(weight[box], floor, out=weight[box]), box)), share


@functools.lru_cache(maxsize=32)
def _image_mask(shape: tuple[int, int], pad: bool, out_size, crop) -> np.ndarray:
    """`align_depth`'s image mask for a geometry (read-only): `shape` of the map, `pad`ded to a
    square or not, resized to `out_size` (None: no resize), center-cropped to `crop` (None: no crop)."""
    if pad:
        square = (max(shape),) * 2
        inside = image_share(*shape, out_size) if out_size not in (None, square) else pad_to_square(torch.ones(shape))
    else:
        inside = torch.ones(out_size or shape)
    if crop is not None:
        inside = center_crop(inside, {"height": crop[0], "width": crop[1]})
    mask = inside.numpy() >= image_threshold(inside)  # numpy compares faster on CPU
    mask.flags.writeable = False
    return mask


def center_crop(depth: torch.Tensor, crop_size) -> torch.Tensor:
    """Center-crop `(H, W)` as transformers' image processors do (zero-padding when the crop is larger)."""
    crop_height, crop_width = _read(crop_size, "height"), _read(crop_size, "width")
    height, width = depth.shape
    if (crop_height, crop_width) == (height, width):  # LLaVA-1.5's: the resize already gave the crop size
        return depth
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
    all_valid=None,
):
    """Map one depth map through the image processor's geometry.

    Args:
        depth: `(H, W)` float32 at the original image's size; 0 or non-finite = invalid.
        do_pad, do_resize, size, do_center_crop, crop_size: the image processor's settings.
        return_image_mask: also return the `(H', W')` bool mask of output pixels on the image
            (False on padding).
        all_valid: whether every pixel is valid, when the caller knows it and that the map holds no
            NaN or inf (e.g. `to_model_depth`'s output, valid where > 0); None: read from the map.

    Returns:
        `(H', W')` float32 aligned with the processed image; 0 = invalid or padding (and the mask).

    >>> d = torch.arange(1.0, 7.0).reshape(2, 3)
    >>> align_depth(d, do_pad=True, do_resize=False).tolist()
    [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [0.0, 0.0, 0.0]]
    """
    depth = depth.to(torch.float32)
    if all_valid is None:
        lowest, highest = value_range(depth)
        if not (math.isfinite(lowest) and math.isfinite(highest)):  # NaN fails both
            depth = torch.nan_to_num(depth, nan=0.0, posinf=0.0, neginf=0.0)
        all_valid = lowest > 0 and math.isfinite(highest)
    shape = tuple(depth.shape)
    pad = do_pad and shape[0] != shape[1]
    out_size = None
    if do_resize:
        out_size = tuple(resize_output_size(*((max(shape),) * 2 if pad else shape), size))
        depth, _ = masked_resize(depth, out_size, pad=pad, all_valid=all_valid)
    elif pad:
        depth = pad_to_square(depth)
    if do_center_crop:
        depth = center_crop(depth, crop_size)
    if not return_image_mask:
        return depth
    crop = (_read(crop_size, "height"), _read(crop_size, "width")) if do_center_crop else None
    return depth, torch.from_numpy(_image_mask(shape, pad, out_size, crop).copy())  # geometry only: cached


__all__ = ["align_depth", "center_crop", "image_share", "masked_resize", "pad_to_square", "resize_output_size"]
