"""Depth inputs of every SD-VLM processor: conversion, validation and estimation, family-independent.

Every family's processor turns the user's depth maps into arrays with `DepthProcessorMixin.depth_arrays`,
which calls `convert_depth_map` on each map: that function is the one place where a depth input
(numpy / torch / PIL, its dtype and units) becomes a `(H, W)` float32 array. Only the geometry
(how the array reaches the token grid) differs between families.
"""

import numpy as np
import torch
from PIL import Image
from transformers.image_utils import get_image_size, make_flat_list_of_images, to_numpy_array
from transformers.utils import logging

from .configuration_sdvlm import DEFAULT_DEPTH_ESTIMATOR

logger = logging.get_logger(__name__)


class _EstimatorSlot:
    """Holds the lazily loaded depth model; copies are empty so `to_dict` never deep-copies a model."""

    def __init__(self):
        self.model = None
        self.image_processor = None

    def __deepcopy__(self, memo):
        return _EstimatorSlot()


def image_hw(image) -> tuple[int, int]:
    """`(height, width)` of a PIL image or an array/tensor image."""
    if isinstance(image, Image.Image):
        return image.height, image.width
    return tuple(get_image_size(to_numpy_array(image)))


def convert_depth_map(depth, index: int, png_scale: float) -> np.ndarray:
    """One depth map as a `(H, W)` float32 array, validated.

    Integer depth of any container (16-bit PIL image, integer numpy array or torch tensor, e.g. a
    uint16 PNG read by cv2 or imageio) holds millimetres and is scaled by `png_scale`; float depth
    is taken as is (meters or relative). 0 and non-finite mark invalid pixels; negative values and
    maps without any valid pixel are errors naming the map's `index`.
    """
    if isinstance(depth, Image.Image):
        array = np.asarray(depth)
    elif torch.is_tensor(depth):
        array = depth.detach().cpu().numpy()
    elif isinstance(depth, np.ndarray):
        array = depth
    else:
        raise ValueError(
            f"depth map {index} has unsupported type {type(depth).__name__}; "
            "use a (H, W) numpy array, torch tensor or 16-bit PIL image"
        )
    if array.ndim != 2:
        raise ValueError(f"depth map {index} has shape {tuple(array.shape)}; expected (height, width)")
    if array.dtype.kind not in "fiu":
        raise ValueError(f"depth map {index} has non-numeric dtype {array.dtype}")
    if array.dtype.kind in "iu":
        array = array.astype(np.float32) * np.float32(png_scale)
    else:
        array = array.astype(np.float32, copy=False)
    finite = np.isfinite(array)
    if (array[finite] < 0).any():
        raise ValueError(f"depth map {index} has negative values; depth must be >= 0 (0 marks invalid pixels)")
    if not (finite & (array > 0)).any():
        raise ValueError(f"depth map {index} has no valid pixel (all values are 0 or non-finite)")
    return array


def report_empty_cells(depth: torch.Tensor, on_image: torch.Tensor, cell: int, index: int) -> int:
    """Warn, naming the image, about token cells on the image that hold no valid depth pixel.

    Such cells (a hole wider than a token) take the image's mean depth in the model; padding cells
    are not reported. Returns their number.

    Args:
        depth: `(H, W)` aligned depth, 0 = invalid; on_image: `(H, W)` bool, False on padding;
        cell: token cell side in pixels; index: the image's index in the call.
    """
    height, width = (size // cell * cell for size in depth.shape)
    blocks = (height // cell, cell, width // cell, cell)
    has_depth = (depth[:height, :width] > 0).reshape(blocks).any(dim=3).any(dim=1)
    has_image = on_image[:height, :width].reshape(blocks).any(dim=3).any(dim=1)
    empty = int((has_image & ~has_depth).sum())
    warn_empty_cells(index, empty, int(has_image.sum()))
    return empty


def warn_empty_cells(index: int, empty: int, total: int) -> None:
    """Say, naming the image, that `empty` of its `total` token cells hold no valid depth pixel."""
    if empty:
        logger.warning(
            f"depth map {index}: {empty} of {total} token cells on the image have no valid depth pixel; "
            "they take the image's mean depth"
        )


class DepthProcessorMixin:
    """Depth settings, conversion and estimation shared by the SD-VLM processors of every family.

    A processor subclass calls `init_depth(...)` in its `__init__`, `resolve_depth(images, depth,
    estimate_depth)` in `__call__` to get one validated float32 array per image (or None), and maps
    those arrays through its own geometry.

    Settings (saved with the processor):
        depth_estimator (`str`): transformers id or path of the depth model used when no depth is
            given (relative Depth-Anything-V2 Large by default, as in the paper).
        estimate_missing_depth (`bool`): estimate depth when `depth=` is not given.
        depth_png_scale (`float`): factor applied to INTEGER depth (millimetres by convention) to get
            meters; float depth is taken as it is.
    """

    def init_depth(self, depth_estimator=DEFAULT_DEPTH_ESTIMATOR, estimate_missing_depth=True, depth_png_scale=0.001):
        if not isinstance(depth_estimator, str) or not depth_estimator:
            raise ValueError(f"depth_estimator must be a non-empty model id or path, got {depth_estimator!r}")
        if not (isinstance(depth_png_scale, (int, float)) and depth_png_scale > 0):
            raise ValueError(f"depth_png_scale must be a number > 0, got {depth_png_scale!r}")
        self.depth_estimator = depth_estimator
        self.estimate_missing_depth = bool(estimate_missing_depth)
        self.depth_png_scale = float(depth_png_scale)
        self._estimator = _EstimatorSlot()

    def depth_arrays(self, images, depth) -> list[np.ndarray]:
        """Validated `(H, W)` float32 arrays, one per image, each the size of its image.

        Args:
            images: flat list of the original images.
            depth: one map per image (a single map for a single image).
        """
        if not isinstance(depth, (list, tuple)):
            depth = [depth]
        if len(depth) != len(images):
            raise ValueError(f"wrong number of depth maps: got {len(depth)} for {len(images)} images")
        arrays = []
        for index, (image, depth_map) in enumerate(zip(images, depth)):
            array = convert_depth_map(depth_map, index, self.depth_png_scale)
            size = image_hw(image)
            if tuple(array.shape) != tuple(size):
                raise ValueError(
                    f"depth map {index} has shape {tuple(array.shape)} but its image is {size} (height, width); "
                    "depth must be pixel-aligned with the original image"
                )
            arrays.append(array)
        return arrays

    def resolve_depth(self, images, depth, estimate_depth: bool | None = None) -> list[np.ndarray] | None:
        """The depth arrays of a call: the given maps, else estimated ones, else None.

        Args:
            images: the call's images (any nesting), or None.
            depth: None or one map per image.
            estimate_depth: override `estimate_missing_depth` for this call.
        """
        if images is None:
            if depth is not None:
                raise ValueError("depth was given without images; pass one depth map per image")
            return None
        flat_images = make_flat_list_of_images(images)
        if depth is None:
            if not (self.estimate_missing_depth if estimate_depth is None else estimate_depth):
                return None
            depth = self.estimate_depth(flat_images)
        return self.depth_arrays(flat_images, depth)

    def set_depth_estimator(self, model, image_processor=None) -> None:
        """Use an already-built depth model (e.g. a `DepthAnythingForDepthEstimation`).

        Args:
            model: a transformers depth-estimation model returning `predicted_depth`.
            image_processor: its image processor; default, Depth-Anything's preprocessing
                (518 px, aspect kept, multiple of 14, ImageNet mean/std).
        """
        if image_processor is None:
            from transformers import DPTImageProcessor

            image_processor = DPTImageProcessor(
                size={"height": 518, "width": 518},
                keep_aspect_ratio=True,
                ensure_multiple_of=14,
                resample=Image.Resampling.BICUBIC,
                image_mean=[0.485, 0.456, 0.406],
                image_std=[0.229, 0.224, 0.225],
            )
        self._estimator.model = model.eval()
        self._estimator.image_processor = image_processor

    def _load_depth_estimator(self) -> None:
        from transformers import AutoImageProcessor, AutoModelForDepthEstimation

        model = AutoModelForDepthEstimation.from_pretrained(self.depth_estimator)
        if torch.cuda.is_available():
            model = model.to("cuda")
        self.set_depth_estimator(model, AutoImageProcessor.from_pretrained(self.depth_estimator))

    @torch.no_grad()
    def estimate_depth(self, images, batch_size: int = 8) -> list[np.ndarray]:
        """Estimate one depth map per image with the configured depth model (loaded once, lazily).

        Images of the same size are batched together, on the depth model's device.

        Args:
            images: one image or a list.
            batch_size: images per forward pass.

        Returns:
            list of `(H, W)` float32 arrays at each original image's size (Depth-Anything's relative
            depth: larger = nearer; clamped at 0).
        """
        if self._estimator.model is None:
            self._load_depth_estimator()
        model, image_processor = self._estimator.model, self._estimator.image_processor
        flat = [
            image.convert("RGB") if isinstance(image, Image.Image) else image
            for image in make_flat_list_of_images(images)
        ]
        sizes = [image_hw(image) for image in flat]
        results: list[np.ndarray | None] = [None] * len(flat)
        by_size: dict[tuple[int, int], list[int]] = {}
        for index, size in enumerate(sizes):
            by_size.setdefault(size, []).append(index)
        for size, indices in by_size.items():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                inputs = image_processor(images=[flat[i] for i in chunk], return_tensors="pt")
                inputs = {k: v.to(model.device) for k, v in inputs.items()}
                predicted = image_processor.post_process_depth_estimation(
                    model(**inputs), target_sizes=[size] * len(chunk)
                )
                for i, item in zip(chunk, predicted):
                    results[i] = item["predicted_depth"].float().clamp(min=0).cpu().numpy().reshape(size)
        return results


__all__ = ["DepthProcessorMixin", "convert_depth_map", "image_hw", "report_empty_cells", "warn_empty_cells"]
