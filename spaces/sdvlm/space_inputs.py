"""Reading and checking what a visitor uploads: the image, the optional depth map, the question.

Every check raises `InputError` with a message that says what to fix; the app shows it with
`gr.Error` and keeps serving. Nothing here imports gradio, so the checks are testable alone.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Configurable limits (the app and `sdvlm-space` pass their own values; these are the defaults).
MAX_IMAGE_PIXELS = 4096 * 4096  # larger photos are slow to encode and never help a 336px vision tower
MAX_QUESTION_CHARS = 500
DEPTH_SUFFIXES = (".png", ".npy")
ORIENTATION_KEY = "exif_orientation"  # key in the loaded image's `info`: the EXIF orientation applied
EXIF_ORIENTATION_TAG = 0x0112
# What ImageOps.exif_transpose does for each EXIF orientation; load_depth applies the same to depth.
EXIF_TRANSPOSE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class InputError(ValueError):
    """A visitor's input cannot be used; the message says what to fix."""


def load_image(path: str | Path, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Open an uploaded image as RGB, upright (EXIF orientation applied).

    Returns a PIL image of any size and aspect ratio up to `max_pixels` (width * height).
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            # Our limit is the one that matters; Pillow's own bomb warning would only add noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)  # lazy: reads the header only, so the size check is cheap
    except Image.DecompressionBombError as error:
        raise InputError(
            f"The image is far over the pixel limit of {max_pixels:,} ({error}). Downscale it "
            "(for example to at most 2048 px on the long side) and upload it again."
        ) from error
    except (UnidentifiedImageError, OSError) as error:
        raise InputError(
            f"The uploaded file '{path.name}' is not an image that can be read "
            f"({type(error).__name__}). Upload a PNG, JPEG or WebP photo."
        ) from error
    width, height = image.size
    if width * height > max_pixels:
        raise InputError(
            f"The image is {width}x{height} = {width * height:,} pixels, over the limit of "
            f"{max_pixels:,}. Downscale it (for example to at most 2048 px on the long side) "
            "and upload it again."
        )
    try:
        orientation = exif_orientation(image)
        image = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, ValueError) as error:  # truncated or corrupt pixel data
        raise InputError(
            f"The image '{path.name}' is damaged and cannot be decoded ({error}). "
            "Upload an intact PNG, JPEG or WebP file."
        ) from error
    image.info[ORIENTATION_KEY] = orientation  # for load_depth: a depth map stored as the camera wrote the photo
    return image


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation tag (1 = upright as stored, 2-8 = flipped and/or rotated)."""
    orientation = image.getexif().get(EXIF_ORIENTATION_TAG, 1)
    return orientation if orientation in EXIF_TRANSPOSE else 1


def load_depth(path: str | Path, image_size: tuple[int, int], orientation: int = 1) -> np.ndarray:
    """Read a depth map that goes with the image: a 16-bit PNG in millimetres or a `.npy` in meters.

    `image_size` is the image's upright (width, height), `orientation` the EXIF orientation that
    `load_image` applied to it (`image.info["exif_orientation"]`). A depth map at the upright size is
    used as it is; one at the size the photo was stored in (width and height swapped: a rotated
    phone photo) gets the same rotation as the image. The size is checked from the file's header,
    before a pixel is decoded, so a small file that claims a huge map costs nothing. Returns a
    float32 (H, W) array in meters with 0 where the depth is invalid (0 in the PNG, non-finite in
    the .npy).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in DEPTH_SUFFIXES:
        raise InputError(
            f"The depth file '{path.name}' has the suffix '{suffix}'; upload a 16-bit PNG in "
            "millimetres (.png) or a NumPy array in meters (.npy)."
        )
    width, height = image_size
    transpose = EXIF_TRANSPOSE.get(orientation)
    swaps_axes = orientation in (5, 6, 7, 8) and width != height
    reader = _NpyDepth(path) if suffix == ".npy" else _PngDepth(path)
    shape = reader.shape  # (H, W) from the header alone
    if shape != (height, width) and not (swaps_axes and shape == (width, height)):
        stored = f" ({height}x{width} as stored, before its EXIF rotation)" if orientation in (5, 6, 7, 8) else ""
        raise InputError(
            f"The depth map is {shape[1]}x{shape[0]} (width x height) but the image is "
            f"{width}x{height} upright{stored}; upload the depth map recorded with this image, pixel-aligned "
            "and at the same size."
        )
    depth = reader.read()
    if depth.shape != (height, width):
        # Matches the photo as stored (before its EXIF rotation): rotate the depth the same way.
        depth = np.asarray(Image.fromarray(depth.astype(np.float32)).transpose(transpose), dtype=np.float32)
    depth = np.where(np.isfinite(depth), depth, 0.0).astype(np.float32)
    if (depth < 0).any():
        raise InputError(
            f"The depth map '{path.name}' has negative values (min {depth.min():.3g}); depth must "
            "be distances >= 0, with 0 meaning invalid."
        )
    if not (depth > 0).any():
        raise InputError(
            f"The depth map '{path.name}' has no valid pixel (all 0 or non-finite); upload a real "
            "depth map or leave the field empty to have depth estimated."
        )
    return depth


def check_question(question: str | None, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """Strip the question and check it is there and not too long."""
    question = (question or "").strip()
    if not question:
        raise InputError("The question is empty; type a question about the image, e.g. "
                         "'How far is the chair from the camera?'.")
    if len(question) > max_chars:
        raise InputError(f"The question has {len(question)} characters; keep it under {max_chars}.")
    return question


class _NpyDepth:
    """A `.npy` depth file: header (shape, dtype) checked against the file's length on opening, the
    array read only by `read()`. An uploaded .npy is untrusted data: never unpickled."""

    def __init__(self, path: Path):
        self.path = path
        fix = "Save it with numpy.save(path, depth_in_meters) as a float (H, W) array."
        try:
            with open(path, "rb") as handle:
                version = np.lib.format.read_magic(handle)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
                else:
                    raise ValueError(f"unsupported .npy format version {version}")
                data_start = handle.tell()
        except (ValueError, OSError, EOFError, SyntaxError) as error:
            raise InputError(f"The depth file '{path.name}' is not a readable NumPy array ({error}). {fix}") from error
        if dtype.hasobject:
            raise InputError(f"The depth file '{path.name}' is not a readable NumPy array (it holds Python "
                             f"objects, which are never unpickled here). {fix}")
        if len(shape) == 3 and shape[-1] == 1:
            shape = shape[:2]
        if len(shape) != 2 or dtype.kind not in "iuf":
            raise InputError(f"The depth array '{path.name}' has shape {shape} and dtype {dtype}; it must be a "
                             "numeric (H, W) array in meters.")
        claimed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        available = path.stat().st_size - data_start
        if claimed != available:
            raise InputError(f"The depth file '{path.name}' is not a readable NumPy array: its header claims "
                             f"shape {shape} of {dtype} ({claimed:,} bytes) but the file holds {available:,} bytes of "
                             f"data. {fix}")
        self.shape = tuple(int(n) for n in shape)

    def read(self) -> np.ndarray:
        try:
            depth = np.load(self.path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise InputError(f"The depth file '{self.path.name}' is not a readable NumPy array ({error}).") from error
        return depth.reshape(self.shape).astype(np.float32)


class _PngDepth:
    """A 16-bit PNG depth file in millimetres: mode and size read from the header on opening (Pillow
    decodes nothing until `read()`)."""

    MODES = ("I;16", "I;16B", "I;16L", "I")  # how Pillow opens 16-bit greyscale PNGs

    def __init__(self, path: Path):
        self.path = path
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size check below decides
                with Image.open(path) as png:
                    mode, (width, height), kind = png.mode, png.size, png.format
        except Image.DecompressionBombError as error:
            raise InputError(f"The depth PNG '{path.name}' claims far more pixels than any photo this Space takes "
                             f"({error}); upload the depth map recorded with the photo, at the photo's size.") from error
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
            raise InputError(f"The depth file '{path.name}' is not a readable PNG ({type(error).__name__}); upload "
                             "a 16-bit single-channel PNG in millimetres.") from error
        # 8-bit PNGs would be a colour visualisation, not a measurement: refused, never silently misread.
        if kind != "PNG" or mode not in self.MODES:
            raise InputError(f"The depth PNG '{path.name}' has mode {mode}; it must be a 16-bit single-channel PNG "
                             "in millimetres (as Kinect/ScanNet/NYU depth is stored), not a colour picture.")
        self.shape = (height, width)

    def read(self) -> np.ndarray:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size was checked already
                with Image.open(self.path) as png:
                    png.load()
                    depth = np.asarray(png)
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
            raise InputError(f"The depth file '{self.path.name}' is not a readable PNG ({type(error).__name__}: "
                             f"{error}); upload an intact 16-bit PNG in millimetres.") from error
        return depth.astype(np.float32) / 1000.0


__all__ = [
    "InputError",
    "MAX_IMAGE_PIXELS",
    "MAX_QUESTION_CHARS",
    "DEPTH_SUFFIXES",
    "load_image",
    "load_depth",
    "check_question",
    "exif_orientation",
    "ORIENTATION_KEY",
]
