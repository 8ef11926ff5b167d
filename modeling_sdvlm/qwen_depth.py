"""What the Qwen families (Qwen2.5-VL, Qwen3-VL) share for depth, model side and processor side.

Qwen's image tokens are a raster over the `(grid_h / m, grid_w / m)` merged cells (m = 2) of the
image as `smart_resize` resized it (a plain resize, no pad or crop), so token `(i, j)` of an image
of `H x W` source pixels covers source rows `[i * H / (grid_h / m), (i + 1) * H / (grid_h / m))`
and the matching columns. The processor pools depth at the SOURCE resolution onto exactly those
cells (`pool_depth_to_tokens`) and hands the model one value per image token, `depth_values`
`(num_image_tokens,)`, concatenated over images like `pixel_values`; the model fills, normalises,
encodes and adds (`encode_token_depths`).

A family's `forward`s are built by `depth_plumbing` around `QwenDepthModelMixin.encode_images_with_depth`:
`depth_values` named in their signature (generate() only passes named arguments), consumed before the
plain forward hands `**kwargs` on to the language model.
"""

import functools

import numpy as np
import torch
from transformers.feature_extraction_utils import BatchFeature
from transformers.utils import is_torchvision_available

from .configuration_sdvlm import DEFAULT_DEPTH_ESTIMATOR
from .depth_encoding import add_depth_encoding, area_pool_depth, encode_token_depths, token_depth, uniform_edges
from .depth_inputs import DepthProcessorMixin, check_depth_values, warn_empty_cells


# ChatML as Qwen's released templates lay it out (`<|im_start|>role\n ... <|im_end|>\n`, an image as
# `<|vision_start|><|image_pad|><|vision_end|>`), without their default system turn and tools; for
# the tiny builders. Real checkpoints bring their own template.
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}{{ '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
    "{% endfor %}{% endif %}{{ '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def image_token_counts(image_grid_thw: torch.Tensor, merge_size: int) -> list[int]:
    """Visual tokens per image: `t * h * w / merge_size^2` for each `(t, h, w)` row (in Python: one tensor op,
    where every op of the depth path costs a cold kernel inside a forward pass)."""
    return [frames * height * width // merge_size**2 for frames, height, width in image_grid_thw.tolist()]


def pool_depth_to_tokens(arrays, image_grid_thw, merge_size: int) -> np.ndarray:
    """One pooled depth value per Qwen image token, from source-resolution depth maps.

    Args:
        arrays: one `(H, W)` float32 array per image, at the original image's size (validated by
            `DepthProcessorMixin.resolve_depth`).
        image_grid_thw: `(num_images, 3)` patch grid of each image, as the image processor returned it.
        merge_size: the spatial merge (2): a token is `merge_size x merge_size` patches.

    Returns:
        `(num_image_tokens,)` float32, images concatenated, each a raster over its token grid;
        0 where a token's pixels hold no valid depth (reported, naming the image).
    """
    # Small steps in numpy, and the token grid's edges cached: beside the image processor each torch op
    # costs tens of microseconds.
    grids = np.asarray(image_grid_thw).tolist()
    if len(grids) != len(arrays):
        raise ValueError(f"wrong number of depth maps: got {len(arrays)} for {len(grids)} images")
    pooled = []
    for index, (array, (frames, grid_h, grid_w)) in enumerate(zip(arrays, grids)):
        if frames != 1:
            raise ValueError(f"image {index} has {frames} temporal groups; depth is supported for still images only")
        rows, cols = grid_h // merge_size, grid_w // merge_size
        means, _ = area_pool_depth(torch.from_numpy(array), *_token_edges(*array.shape, rows, cols), finite=True)
        means = means.numpy().reshape(-1)
        warn_empty_cells(index, int(np.count_nonzero(means == 0)), rows * cols)
        pooled.append(means)
    return pooled[0] if len(pooled) == 1 else np.concatenate(pooled)


@functools.lru_cache(maxsize=32)
def _token_edges(height: int, width: int, rows: int, cols: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Source-pixel edges of a `rows x cols` token grid over an `height x width` map (read-only)."""
    return uniform_edges(height, rows), uniform_edges(width, cols)


def depth_token_counts(depth_values, image_grid_thw, merge_size: int) -> list[int]:
    """The tokens per image of `(num_image_tokens,)` depth, or raise naming the mismatch."""
    if not torch.is_tensor(depth_values) or depth_values.dim() != 1:
        shape = tuple(depth_values.shape) if torch.is_tensor(depth_values) else type(depth_values).__name__
        raise ValueError(
            f"depth_values must be a 1-D tensor with one value per image token (num_image_tokens,), got {shape}; "
            "build it with the family's SD-VLM processor"
        )
    if not depth_values.is_floating_point():
        raise ValueError(f"depth_values must be a float tensor (meters or relative depth), got {depth_values.dtype}")
    if image_grid_thw is None:
        raise ValueError("depth_values need image_grid_thw to know each image's token grid")
    counts = image_token_counts(image_grid_thw, merge_size)
    if depth_values.numel() != sum(counts):
        raise ValueError(
            f"depth_values has {depth_values.numel()} values but the images have {sum(counts)} tokens "
            f"(per image: {counts}); pass the depth_values the processor returned with these images"
        )
    return counts


class QwenDepthModelMixin:
    """`get_image_features` with `depth_values`, for a Qwen family's base model class.

    Subclasses put it before the transformers class: `class SDVLMQwen2_5_VLModel(QwenDepthModelMixin,
    Qwen2_5_VLModel)`, and set `forward = depth_model_forward(Qwen2_5_VLModel.forward)` (`depth_plumbing`).
    """

    def get_image_features(self, pixel_values, image_grid_thw=None, depth_values=None, **kwargs):
        """The family's projected image features, plus the depth encoding when depth is given.

        Args:
            pixel_values: `(num_patches, C * T * P * P)` as the image processor returned them.
            image_grid_thw: `(num_images, 3)`.
            depth_values: `(num_image_tokens,)` per-token depth from the family's SD-VLM processor
                (float, meters or relative; 0 = no valid pixel), or None (no depth: the result is
                the plain model's exactly). Ignored when `config.use_depth` is False.

        Returns:
            The plain output (a tuple with `return_dict=False`); `pooler_output` is a tuple of
            `(tokens, hidden)` features per image, depth-encoded.
        """
        return_dict = kwargs.pop("return_dict", True)
        outputs = super().get_image_features(pixel_values, image_grid_thw, return_dict=True, **kwargs)
        if depth_values is not None and self.config.use_depth:
            counts = depth_token_counts(depth_values, image_grid_thw, self.visual.spatial_merge_size)
            check_depth_values(depth_values, self.config.depth_convention)  # plausible, as LLaVA's
            self.add_depth(outputs, encode_token_depths(depth_values, counts, self.config))
        return outputs if return_dict else outputs.to_tuple()

    def depth_grid(self, depth_values, image_grid_thw) -> list[torch.Tensor]:
        """The values the encoding sees, per image as its `(rows, cols)` token grid (for display).

        Args:
            depth_values: `(num_image_tokens,)`; image_grid_thw: `(num_images, 3)`.
        """
        merge = self.visual.spatial_merge_size
        per_image = depth_values.split(depth_token_counts(depth_values, image_grid_thw, merge))
        shapes = (image_grid_thw[:, 1:] // merge).tolist()
        return [token_depth(values, self.config, index).view(*shape) for index, (values, shape) in
                enumerate(zip(per_image, shapes))]

    def add_depth(self, outputs, encodings: list[torch.Tensor]) -> None:
        """Add each image's `(tokens, hidden)` encoding to its features (in place on `outputs`)."""
        outputs.pooler_output = tuple(add_depth_encoding(outputs.pooler_output, encodings))

    def encode_images_with_depth(self, arguments: dict, depth_values) -> dict:
        """Encode the images with their depth ahead of the plain forward, which knows nothing of depth.

        Returns the forward's arguments with the pixels consumed (None) and their depth-encoded
        features in `mm_encoder_outputs` (videos too, since the plain forward takes either pixels or
        precomputed outputs, not both).
        """
        mm_encoder_outputs = arguments.get("mm_encoder_outputs")
        if mm_encoder_outputs is not None and mm_encoder_outputs.get("image") is not None:
            raise ValueError(
                "pass either pixel_values with depth_values or precomputed mm_encoder_outputs, not both "
                "(precomputed image features skip the depth encoding)"
            )
        # Extra keywords arrive bound under "kwargs"; the plain forward wants them flat again.
        extra = arguments.pop("kwargs", {})
        if arguments.get("pixel_values") is None:
            if arguments.get("pixel_values_videos") is not None:
                raise ValueError(
                    "depth_values came with a video but no image: depth is encoded into image tokens only, "
                    "videos take no depth"
                )
            # generate() re-sends depth at every decoding step, after the images were encoded.
            return {**arguments, **extra}
        # The plain forward hands its **kwargs to the vision calls too, but always asks them for outputs.
        vision_kwargs = {**extra, "return_dict": True}
        outputs = dict(mm_encoder_outputs or {})
        outputs["image"] = self.get_image_features(
            arguments["pixel_values"], arguments.get("image_grid_thw"), depth_values=depth_values, **vision_kwargs
        )
        if arguments.get("pixel_values_videos") is not None:
            outputs["video"] = self.get_video_features(
                arguments["pixel_values_videos"], arguments.get("video_grid_thw"), **vision_kwargs
            )
        return {**arguments, **extra, "pixel_values": None, "pixel_values_videos": None, "mm_encoder_outputs": outputs}


class QwenDepthProcessorMixin(DepthProcessorMixin):
    """`__call__(..., depth=...)` for a Qwen family's processor: `depth_values` `(num_image_tokens,)`,
    per image token the area-weighted mean of the valid depth pixels under its cell of the
    `smart_resize`d image, pooled at the depth map's own resolution in torch (never through the PIL
    image processor, which would clip and round depth).

    Subclasses put it before the transformers processor: `class SDVLMQwen2_5_VLProcessor(
    QwenDepthProcessorMixin, Qwen2_5_VLProcessor)`.

    Args:
        image_processor, tokenizer, video_processor, chat_template: as for the plain processor
            (`video_processor` may be None: an image-only processor, e.g. without torchvision).
        depth_estimator, estimate_missing_depth, depth_png_scale, depth_convention: see
            [`DepthProcessorMixin`].
    """

    def __init__(
        self,
        image_processor=None,
        tokenizer=None,
        video_processor=None,
        chat_template=None,
        depth_estimator=DEFAULT_DEPTH_ESTIMATOR,
        estimate_missing_depth=True,
        depth_png_scale=0.001,
        depth_convention=None,
        **kwargs,
    ):
        self.init_depth(depth_estimator, estimate_missing_depth, depth_png_scale, depth_convention)
        super().__init__(image_processor, tokenizer, video_processor, chat_template=chat_template, **kwargs)

    @classmethod
    def get_attributes(cls):
        attributes = super().get_attributes()
        # Without torchvision transformers has no video processor class at all: the processor is then
        # image-only (built, saved and loaded without one).
        return attributes if is_torchvision_available() else [name for name in attributes if name != "video_processor"]

    def __call__(self, images=None, text=None, videos=None, depth=None, estimate_depth: bool | None = None,
                 depth_kind="metric", **kwargs):
        """The plain processing plus `depth_values`.

        Args:
            images, text, videos: as for the plain processor.
            depth: None, or one depth map per image (a single map for a single image), pixel-aligned
                with the ORIGINAL image: a `(H, W)` numpy array / torch tensor / 16-bit PIL image;
                see `read_depth_map` for units. 0 and non-finite mark invalid pixels.
            estimate_depth: override `estimate_missing_depth` for this call.
            depth_kind: what `depth` holds, `"metric"` (meters; integer maps millimetres) or `"inverse"`
                (relative inverse depth); converted to the model's `depth_convention` (`depth_inputs`).

        Returns:
            [`BatchFeature`] with the plain keys and `depth_values` `(num_image_tokens,)` float32
            (one pooled value per image token, images concatenated) when depth is given or estimated.
        """
        if depth is not None and videos is not None and images is None:
            raise ValueError("depth was given with videos only: depth maps are for images, videos take no depth")
        outputs = super().__call__(images=images, text=text, videos=videos, **kwargs)
        arrays = self.resolve_depth(images, depth, estimate_depth, depth_kind)  # in the model's depth_convention
        if arrays is None:
            return outputs
        depth_values = pool_depth_to_tokens(arrays, outputs["image_grid_thw"], self.image_processor.merge_size)
        return_tensors = kwargs.get("return_tensors")
        outputs.update(BatchFeature({"depth_values": depth_values}, tensor_type=return_tensors))
        return outputs


__all__ = [
    "QWEN_CHAT_TEMPLATE",
    "QwenDepthProcessorMixin",
    "QwenDepthModelMixin",
    "depth_token_counts",
    "image_token_counts",
    "pool_depth_to_tokens",
]
