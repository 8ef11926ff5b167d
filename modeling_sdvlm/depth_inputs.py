"""Depth inputs of every SD-VLM processor: reading, validation, the depth-convention conversion and
estimation, family-independent.

The one place of the unit and convention rules. Every family's processor turns the user's depth
maps into arrays with `DepthProcessorMixin.depth_arrays`, which reads each map with
`read_depth_map` (numpy / torch / PIL, dtype and units -> `(H, W)` float32) and checks and converts
it with `to_model_depth` to the depth convention of the model; so training, evaluation, the depth cache and
the Space (which all hand depth to a processor) convert the same way. The model checks
`depth_values` with `check_depth_values`. Only the geometry (how the array reaches the token grid)
differs between families.

Depth conventions (`SDVLMConfig.depth_convention`, what the encoding was trained on):
- `"inverse"`: relative inverse depth (disparity), larger = nearer, no unit: Depth-Anything's
  relative models, the authors' checkpoints. Metric depth `d` becomes `1 / d` per valid pixel; with
  min-max normalisation the unknown scale and shift of any relative estimate `a / d + b` cancel.
- `"metric"`: meters, larger = farther, used as given.

Depth kinds (what a map handed to the processor holds, `depth_kind=` on the call):
- `"metric"` (default): meters in float maps, millimetres in integer maps (16-bit PNG).
- `"inverse"`: already inverse or relative (e.g. your own Depth-Anything relative estimate).
A `"metric"` model refuses `"inverse"` depth: a relative map has no scale to recover meters from.

>>> to_model_depth(np.array([[2.0, 0.0, 4.0]], np.float32), "inverse", kind="metric").tolist()
[[0.5, 0.0, 0.25]]
>>> to_model_depth(np.array([[2.0, 0.0, 4.0]], np.float32), "metric", kind="metric").tolist()
[[2.0, 0.0, 4.0]]
"""

import numpy as np
import torch
from PIL import Image
from transformers.image_utils import get_image_size, make_flat_list_of_images, to_numpy_array
from transformers.utils import logging

from .configuration_sdvlm import DEFAULT_DEPTH_ESTIMATOR, DEPTH_CONVENTIONS

logger = logging.get_logger(__name__)

DEPTH_KINDS = DEPTH_CONVENTIONS

# What to estimate meters with (Depth-Anything-V2's metric fine-tunes).
METRIC_DEPTH_ESTIMATOR = "depth-anything/Depth-Anything-V2-Metric-Indoor-Large-hf"
METRIC_DEPTH_ESTIMATOR_OUTDOOR = "depth-anything/Depth-Anything-V2-Metric-Outdoor-Large-hf"
# transformers depth models whose output is meters (Depth-Anything says so in `depth_estimation_type`).
METRIC_ESTIMATOR_MODEL_TYPES = ("zoedepth", "glpn", "depth_pro")
# Plausible metric depth, meters: 0.1 mm to 10 km. Outside it a map is in the wrong unit or broken
# (3e38 overflows the pooling to inf and the logits to NaN).
MIN_METRIC_DEPTH = 1e-4
MAX_METRIC_DEPTH = 1e4
# The float32 inverse of the floor: an inverted metric map whose values stay below it has no valid
# depth below the floor.
_INVERSE_OF_MIN_METRIC = float(np.float32(1.0) / np.float32(MIN_METRIC_DEPTH))
# Relative inverse depth has no unit; this only keeps float32 pooling far from overflow.
MAX_INVERSE_DEPTH = 1e12
# PIL modes holding a measurement: 16/32-bit integers (millimetres) and 32-bit float.
INTEGER_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I")
FLOAT_DEPTH_MODES = ("F",)



class DepthEstimatorUnavailable(OSError):
    """The depth estimator cannot be loaded; the message names it and says what to do instead."""


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


def check_choice(name: str, value, choices=DEPTH_CONVENTIONS) -> str:
    """`value` if it is one of `choices`, else a ValueError naming `name`."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")
    return value


def _check_not_empty(array: np.ndarray, index: int) -> None:
    """An empty map has no extremes to read (numpy's min of nothing raises) and no valid pixel."""
    if not array.size:
        raise ValueError(f"depth map {index} is empty (shape {tuple(array.shape)}); it has no valid pixel")


def read_depth_map(depth, index: int = 0, png_scale: float = 0.001) -> np.ndarray:
    """One depth map as a `(H, W)` float32 array, integer maps scaled by `png_scale` (millimetres -> meters).

    Accepts a numpy array, a torch tensor (any float dtype, bfloat16 included) or a PIL image of mode
    `I;16`/`I` (millimetres) or `F` (float). 8-bit and colour images are refused: they are
    visualisations, not measurements, and so are empty maps. `index` names the map in errors.
    """
    if isinstance(depth, Image.Image):
        if depth.mode not in INTEGER_DEPTH_MODES + FLOAT_DEPTH_MODES:
            raise ValueError(
                f"depth map {index} is a PIL image of mode {depth.mode!r} (8-bit or colour: a picture of depth, "
                "not a measurement); pass a 16-bit PNG in millimetres (mode 'I;16'), a float array in meters, "
                "or a float array of relative inverse depth with depth_kind='inverse'"
            )
        array = np.asarray(depth)
    elif torch.is_tensor(depth):
        tensor = depth.detach().cpu()
        if tensor.is_floating_point() and tensor.dtype not in (torch.float32, torch.float64):
            tensor = tensor.float()  # numpy has no bfloat16
        array = tensor.numpy()
    elif isinstance(depth, np.ndarray):
        array = depth
    else:
        raise ValueError(
            f"depth map {index} has unsupported type {type(depth).__name__}; "
            "use a (H, W) numpy array, torch tensor or 16-bit PIL image"
        )
    if array.ndim != 2:
        raise ValueError(f"depth map {index} has shape {tuple(array.shape)}; expected (height, width)")
    _check_not_empty(array, index)
    if array.dtype.kind not in "fiu":
        raise ValueError(f"depth map {index} has dtype {array.dtype}; expected float (meters) or integer (millimetres)")
    if array.dtype.kind in "iu":
        # Divided by units per meter (1000 for millimetres): exact for whole millimetres, 1500 -> 1.5.
        return array.astype(np.float32) / np.float32(1.0 / png_scale)
    if array.dtype.itemsize > 4:
        finite = array[np.isfinite(array)]
        if finite.size and float(np.abs(finite).max()) > np.finfo(np.float32).max:
            # float32 would turn these into inf, i.e. silently invalid pixels
            raise ValueError(f"depth map {index} has values beyond float32's range (up to {np.abs(finite).max():.3g})")
    return array.astype(np.float32, copy=False)


def check_depth_kind(convention: str, kind: str, estimator: str | None = None) -> None:
    """Raise a ValueError when depth of `kind` cannot feed a model of `convention`.

    Only relative (inverse) depth for a `"metric"` model is refused; `estimator` names where it came from.
    """
    check_choice("depth_convention", convention)
    check_choice("depth_kind", kind, DEPTH_KINDS)
    if convention == "metric" and kind == "inverse":
        source = f"the depth estimator '{estimator}' gives" if estimator else "the depth given is"
        raise ValueError(
            f"this model's depth_convention is 'metric' (it was trained on meters), but {source} relative inverse "
            "depth (no scale, larger = nearer). Pass metric depth in meters (depth=...), or estimate meters with a "
            f"metric estimator: depth_estimator='{METRIC_DEPTH_ESTIMATOR}' (indoor scenes) or "
            f"'{METRIC_DEPTH_ESTIMATOR_OUTDOOR}' (outdoors)"
        )


def check_depth_range(array: np.ndarray, index: int, kind: str) -> np.ndarray:
    """The mask of valid pixels (finite and > 0) of a float map, after checking that they are plausible.

    Negative values, a map without a valid pixel, and values outside the plausible range of `kind`
    (metric: `MIN_METRIC_DEPTH`..`MAX_METRIC_DEPTH` meters; inverse: at most `MAX_INVERSE_DEPTH`)
    are ValueErrors naming map `index`.
    """
    low, high = float(array.min()), float(array.max())
    _check_valid_depth(array, index, kind, low, high)
    return array > 0 if low >= 0 and high < np.inf else np.isfinite(array) & (array > 0)


def _check_valid_depth(array: np.ndarray, index: int, kind: str, low: float, high: float) -> None:
    """`check_depth_range`'s checks, given the map's extremes `low`, `high` (NaN when it holds a NaN)."""
    if low >= 0 and high < np.inf:  # fast path: finite and non-negative, so valid is > 0, its maximum `high`
        holes = np.count_nonzero(array == 0)  # counting a boolean map is several times faster than a float one
        if holes == array.size:
            raise ValueError(f"depth map {index} has no valid pixel (all values are 0 or non-finite)")
        # Counting is cheaper than copying the valid pixels out: their minimum only matters to a metric
        # map, and only when a valid pixel lies below the floor (then it is read for the error message).
        if kind != "metric" or np.count_nonzero(array < MIN_METRIC_DEPTH) == holes:
            check_plausible(MIN_METRIC_DEPTH if kind == "metric" else 0.0, high, index, kind)
            return
        valid = array > 0
    else:
        finite = np.isfinite(array)
        if (array[finite] < 0).any():
            raise ValueError(f"depth map {index} has negative values; depth must be >= 0 (0 marks invalid pixels)")
        valid = finite & (array > 0)
        if not valid.any():
            raise ValueError(f"depth map {index} has no valid pixel (all values are 0 or non-finite)")
    values = array[valid]  # copied once for both extremes
    check_plausible(float(values.min()), float(values.max()), index, kind)


def check_plausible(low: float, high: float, index: int, kind: str) -> None:
    """Raise naming map `index` when its valid depth `low..high` is implausible for `kind`."""
    if kind == "metric" and not (MIN_METRIC_DEPTH <= low and high <= MAX_METRIC_DEPTH):
        raise ValueError(
            f"depth map {index} has metric depth from {low:.3g} to {high:.3g} m, outside the plausible "
            f"{MIN_METRIC_DEPTH:g}..{MAX_METRIC_DEPTH:g} m: float maps are meters and integer maps millimetres "
            "(mark invalid pixels with 0; pass relative inverse depth with depth_kind='inverse')"
        )
    if kind == "inverse" and high > MAX_INVERSE_DEPTH:
        raise ValueError(
            f"depth map {index} has inverse depth up to {high:.3g}, above the supported {MAX_INVERSE_DEPTH:g}; "
            "rescale the map (an inverse model only uses its relative values)"
        )


def _invert_holes(array: np.ndarray) -> np.ndarray | None:
    """`1 / array` of a finite, non-negative float32 map, holes (0 and -0.0) back to 0 in place: two
    vectorised passes, no masked division. None when a valid value's inverse overflows too (below
    3e-39, far under any floor): it must not pass as a hole, and numpy tells the two apart (a hole is
    a division by zero, that value an overflow)."""
    try:
        with np.errstate(divide="ignore", over="raise"):
            inverse = np.reciprocal(array)
    except FloatingPointError:
        return None
    torch.from_numpy(inverse).nan_to_num_(posinf=0.0, neginf=0.0)
    return inverse


def to_model_depth(array: np.ndarray, convention: str, kind: str = "metric", index: int = 0,
                   estimator: str | None = None) -> np.ndarray:
    """A checked `(H, W)` float map of `kind` in the model's `convention`; 0 marks invalid pixels.

    0 and non-finite values mark invalid pixels; negative values, empty maps, maps without any valid
    pixel and implausible depth (`check_depth_range`) are errors naming the map's `index`.

    `"inverse"` model: metric depth becomes `1 / d` on valid pixels, inverse depth stays as it is.
    `"metric"` model: meters as given; inverse depth is refused (see `check_depth_kind`).
    """
    check_depth_kind(convention, kind, estimator)
    _check_not_empty(array, index)
    invert = convention == "inverse" and kind == "metric"
    low, high = float(array.min()), float(array.max())  # NaN propagates and fails every test below
    finite = low >= 0 and high < np.inf  # False for NaN too
    if finite and low > 0:  # dense (the common case: estimated depth): no masks
        check_plausible(low, high, index, kind)
        return np.float32(1.0) / array if invert else array.astype(np.float32, copy=False)
    inverse = _invert_holes(array) if finite and invert and array.dtype == np.float32 else None
    if inverse is not None:
        # The inverse's maximum checks the valid depth in one pass: below 1 / MIN_METRIC_DEPTH (rounded)
        # every valid meter is >= MIN_METRIC_DEPTH (rounding is monotonic), above 0 a pixel is valid.
        if 0 < float(inverse.max()) < _INVERSE_OF_MIN_METRIC:
            check_plausible(MIN_METRIC_DEPTH, high, index, kind)
        else:  # no valid pixel, or one below the floor: the checks that name it
            _check_valid_depth(array, index, kind, low, high)
        return inverse
    _check_valid_depth(array, index, kind, low, high)
    if finite and array.dtype == np.float32 and not invert:  # holes are already 0
        return array
    valid = np.isfinite(array) & (array > 0)
    if invert:
        return np.divide(1.0, array, out=np.zeros(array.shape, np.float32), where=valid)
    return np.where(valid, array, np.float32(0.0)).astype(np.float32, copy=False)


def estimator_depth_kind(estimator: str, model=None) -> str:
    """`"metric"` when the depth estimator outputs meters, else `"inverse"` (relative, larger = nearer).

    From the loaded model's config where there is one (Depth-Anything's `depth_estimation_type`, or a
    metric model family), else from the id: metric Depth-Anything ids contain "metric".
    """
    config = getattr(model, "config", None)
    if config is not None:
        estimation_type = getattr(config, "depth_estimation_type", None)
        if estimation_type is not None:
            return "metric" if estimation_type == "metric" else "inverse"
        if getattr(config, "model_type", None) in METRIC_ESTIMATOR_MODEL_TYPES:
            return "metric"
    return "metric" if "metric" in str(estimator).lower() else "inverse"


def check_depth_values(depth_values: torch.Tensor, convention: str) -> None:
    """Check `depth_values` handed to the model: a float tensor in its `convention`, plausible values.

    Integer tensors are refused (millimetre maps go through the processor), as are values above the
    convention's bound (`MAX_METRIC_DEPTH` meters, `MAX_INVERSE_DEPTH`), which would overflow to NaN.
    """
    if not depth_values.is_floating_point():
        raise ValueError(
            f"depth_values has dtype {depth_values.dtype}; the model takes float depth in its depth_convention "
            f"('{convention}': {'meters' if convention == 'metric' else 'inverse depth'}) as SDVLMProcessor returns "
            "it. Integer (millimetre) maps go through the processor: processor(images=..., depth=...)"
        )
    bound = MAX_METRIC_DEPTH if convention == "metric" else MAX_INVERSE_DEPTH
    if not depth_values.numel():
        return
    highest = float(depth_values.amax())  # one reduction in the common case
    if not highest <= bound:  # NaN, inf or too large: non-finite pixels are invalid, look at the finite ones
        highest = float(torch.where(torch.isfinite(depth_values), depth_values, 0).amax())
    if highest > bound:
        raise ValueError(
            f"depth_values reach {highest:.3g}, above the plausible {bound:g} for a '{convention}' model; "
            "pass depth through SDVLMProcessor, which converts and checks it"
        )


def bind_depth_convention(processor, config) -> None:
    """Give `processor` its model's depth convention, or raise when it already holds another one.

    A processor saved before conventions existed has none and takes the model's.
    """
    current = getattr(processor, "depth_convention", None)
    if current is None:
        processor.depth_convention = config.depth_convention
    elif current != config.depth_convention:
        raise ValueError(
            f"the processor converts depth for depth_convention={current!r} but the model was trained on "
            f"{config.depth_convention!r}; set the same depth_convention in processor_config.json and config.json"
        )


def report_empty_cells(depth: torch.Tensor, on_image: torch.Tensor, cell: int, index: int) -> int:
    """Warn, naming the image, about token cells on the image that hold no valid depth pixel.

    Such cells (a hole wider than a token) take the image's mean depth in the model; padding cells
    are not reported. Returns their number.

    Args:
        depth: `(H, W)` aligned depth, 0 = invalid; on_image: `(H, W)` bool, False on padding;
        cell: token cell side in pixels; index: the image's index in the call.
    """
    rows, cols = depth.shape[0] // cell, depth.shape[1] // cell
    if not (rows and cols):  # no whole cell
        return 0
    # Depth is >= 0, so a block holds a valid pixel when its sum is > 0 (remainder rows/columns dropped).
    # Summed over the cell's rows, then its columns, in numpy: far cheaper on CPU than torch pooling.
    has_depth = _cell_reduce(depth.numpy(), cell, rows, cols, np.add) > 0
    has_image = _cell_reduce(on_image.numpy(), cell, rows, cols, np.logical_or)
    empty = int(np.count_nonzero(has_image & ~has_depth))
    warn_empty_cells(index, empty, int(np.count_nonzero(has_image)))
    return empty


def _cell_reduce(values: np.ndarray, cell: int, rows: int, cols: int, ufunc) -> np.ndarray:
    """`(rows, cols)`: `ufunc` reduced over each `cell x cell` block of `values` (`(H, W)`)."""
    per_row = ufunc.reduce(values[: rows * cell, : cols * cell].reshape(rows, cell, cols * cell), axis=1)
    return ufunc.reduce(per_row.reshape(rows, cols, cell), axis=2)


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
    estimate_depth, depth_kind)` in `__call__` to get one validated float32 array per image in the
    model's depth convention (or None), and maps those arrays through its own geometry; the mixin adds
    `depth_values` to its `model_input_names`.

    Settings (saved with the processor):
        depth_estimator (`str`): transformers id or path of the depth model used when no depth is
            given (relative Depth-Anything-V2 Large by default, as in the paper).
        estimate_missing_depth (`bool`): estimate depth when `depth=` is not given.
        depth_png_scale (`float`): factor applied to INTEGER depth (millimetres by convention) to get
            meters; float depth is meters (or relative inverse depth, with `depth_kind="inverse"`).
        depth_convention (`"inverse"`, `"metric"` or None): the depth the model was trained on, its
            `config.depth_convention`; the arrays are produced in it. None (a processor saved before
            conventions existed) means unbound: `from_pretrained` takes the checkpoint's config.json
            value, `bind_depth_convention` the model's; an unbound processor converts for
            `"inverse"`, the config's default.
    """

    @property
    def model_input_names(self) -> list[str]:
        return super().model_input_names + ["depth_values"]

    def init_depth(self, depth_estimator=DEFAULT_DEPTH_ESTIMATOR, estimate_missing_depth=True, depth_png_scale=0.001,
                   depth_convention=None):
        if not isinstance(depth_estimator, str) or not depth_estimator:
            raise ValueError(f"depth_estimator must be a non-empty model id or path, got {depth_estimator!r}")
        if not (isinstance(depth_png_scale, (int, float)) and depth_png_scale > 0):
            raise ValueError(f"depth_png_scale must be a number > 0, got {depth_png_scale!r}")
        self.depth_estimator = depth_estimator
        self.estimate_missing_depth = bool(estimate_missing_depth)
        self.depth_png_scale = float(depth_png_scale)
        self.depth_convention = None if depth_convention is None else check_choice("depth_convention", depth_convention)
        self._estimator = _EstimatorSlot()

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        """[`ProcessorMixin.from_pretrained`]; a processor saved without a depth convention takes the
        one of the checkpoint's config.json (when there is one)."""
        processor = super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        if processor.depth_convention is None:
            from .configuration_sdvlm import SDVLMConfig

            hub = {name: kwargs[name] for name in ("revision", "cache_dir", "token", "local_files_only") if name in kwargs}
            try:
                processor.depth_convention = SDVLMConfig.from_pretrained(pretrained_model_name_or_path, **hub).depth_convention
            except (OSError, ValueError):  # no config.json beside it: stays unbound
                pass
        return processor

    @property
    def model_depth_convention(self) -> str:
        """The convention the depth arrays are produced in (an unbound processor: `"inverse"`)."""
        return self.depth_convention or "inverse"

    def estimated_depth_kind(self) -> str:
        """`"metric"` when the depth estimator gives meters, else `"inverse"` (see `estimator_depth_kind`)."""
        return estimator_depth_kind(self.depth_estimator, self._estimator.model)

    def depth_arrays(self, images, depth, depth_kind: str | list[str] = "metric") -> list[np.ndarray]:
        """Validated `(H, W)` float32 arrays in the model's depth convention, one per image, each the
        size of its image (0 = invalid), C-contiguous and writable (torch wraps them without a copy).

        Args:
            images: flat list of the original images.
            depth: one map per image (a single map for a single image).
            depth_kind: `"metric"` or `"inverse"`, for all maps or one per map.
        """
        if not isinstance(depth, (list, tuple)):
            depth = [depth]
        if len(depth) != len(images):
            raise ValueError(f"wrong number of depth maps: got {len(depth)} for {len(images)} images")
        kinds = list(depth_kind) if isinstance(depth_kind, (list, tuple)) else [depth_kind] * len(depth)
        if len(kinds) != len(depth):
            raise ValueError(f"wrong number of depth kinds: got {len(kinds)} for {len(depth)} depth maps")
        arrays = []
        for index, (image, depth_map, kind) in enumerate(zip(images, depth, kinds)):
            check_choice(f"depth_kind of depth map {index}", kind, DEPTH_KINDS)
            array = read_depth_map(depth_map, index, self.depth_png_scale)  # values checked by to_model_depth
            size = image_hw(image)
            if tuple(array.shape) != tuple(size):
                raise ValueError(
                    f"depth map {index} has shape {tuple(array.shape)} but its image is {size} (height, width); "
                    "depth must be pixel-aligned with the original image"
                )
            array = to_model_depth(array, self.model_depth_convention, kind, index)
            # The user's own memory may come back unchanged: a view torch cannot wrap (negative strides,
            # e.g. np.fliplr) or a read-only buffer (a PIL image's) is copied, once, here for every family.
            arrays.append(np.require(array, requirements=("C", "W")))
        return arrays

    def resolve_depth(self, images, depth, estimate_depth: bool | None = None,
                      depth_kind: str | list[str] = "metric") -> list[np.ndarray] | None:
        """The depth arrays of a call: the given maps, else estimated ones, else None.

        Args:
            images: the call's images (any nesting), or None.
            depth: None or one map per image.
            estimate_depth: override `estimate_missing_depth` for this call.
            depth_kind: what the given maps hold (see `depth_arrays`); estimates have their
                estimator's kind, and relative ones are refused for a "metric" model before the
                estimator runs.
        """
        if images is None:
            if depth is not None:
                raise ValueError("depth was given without images; pass one depth map per image")
            return None
        flat_images = make_flat_list_of_images(images)
        if depth is None:
            if not (self.estimate_missing_depth if estimate_depth is None else estimate_depth):
                return None
            check_depth_kind(self.model_depth_convention, self.estimated_depth_kind(), self.depth_estimator)
            depth = self.estimate_depth(flat_images)
            depth_kind = self.estimated_depth_kind()
        return self.depth_arrays(flat_images, depth, depth_kind)

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

        try:
            model = AutoModelForDepthEstimation.from_pretrained(self.depth_estimator)
            image_processor = AutoImageProcessor.from_pretrained(self.depth_estimator)
        except (OSError, ValueError) as error:  # offline, a wrong id, or a folder without a depth model
            raise DepthEstimatorUnavailable(
                f"the depth estimator '{self.depth_estimator}' could not be loaded ({error}). Pass depth maps with "
                "depth=..., set a local depth_estimator (processor.depth_estimator = '/path/to/a/depth/model' or "
                "processor.set_depth_estimator(model)), or turn estimation off (estimate_missing_depth=False, or "
                "estimate_depth=False on the call)"
            ) from error
        if torch.cuda.is_available():
            model = model.to("cuda")
        self.set_depth_estimator(model, image_processor)

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


__all__ = [
    "DEPTH_CONVENTIONS", "DEPTH_KINDS", "METRIC_DEPTH_ESTIMATOR", "METRIC_DEPTH_ESTIMATOR_OUTDOOR",
    "MIN_METRIC_DEPTH", "MAX_METRIC_DEPTH", "MAX_INVERSE_DEPTH", "DepthEstimatorUnavailable", "DepthProcessorMixin",
    "bind_depth_convention", "check_choice", "check_depth_kind", "check_depth_range", "check_depth_values",
    "estimator_depth_kind", "image_hw", "read_depth_map", "report_empty_cells", "to_model_depth",
    "warn_empty_cells",
]
