"""SD-VLM processor for LLaVA-OneVision: OneVision's processor plus depth pooled onto its tiles' patch cells.

`processor(images=..., text=..., depth=...)` returns OneVision's inputs and `depth_values`
`(num_images, max_tiles, grid, grid)` float32: cell (r, c) of tile t of image i is the depth under
vision patch (r, c) of `pixel_values[i, t]`, pooled from the original depth map by area over its
valid pixels (0 = no valid pixel: padding, a hole, or a batch-padding tile). The tiling follows the
image processor's settings (`depth_geometry_llava_onevision`), in torch, never the image processor.
"""

import math

import numpy as np
import torch
from transformers import LlavaOnevisionProcessor
from transformers.feature_extraction_utils import BatchFeature

from .configuration_sdvlm import DEFAULT_DEPTH_ESTIMATOR
from .depth_geometry_llava_onevision import anyres_depth_cells
from .depth_inputs import DepthProcessorMixin


class SDVLMLlavaOnevisionProcessor(DepthProcessorMixin, LlavaOnevisionProcessor):
    r"""[`LlavaOnevisionProcessor`] that also pools depth maps onto the patch cells of its tiles.

    Images only, by design: it has no video processor attribute, because without torchvision
    transformers has no video processor class (a processor with one cannot even be built, nor saved
    with `video_processor=None`) and depth comes one map per image. Videos raise a ValueError; use
    `LlavaOnevisionProcessor` for them.

    Args:
        image_processor, tokenizer, num_image_tokens, vision_feature_select_strategy, chat_template,
        image_token, video_token, vision_aspect_ratio: as for [`LlavaOnevisionProcessor`].
        patch_size (`int`, *optional*): the vision tower's patch size; default `tile // sqrt(num_image_tokens)`
            (14 for the released OneVision checkpoints: 384 px tiles, 27 x 27 patches).
        depth_estimator, estimate_missing_depth, depth_png_scale: as for [`SDVLMProcessor`].
    """

    def __init__(
        self,
        image_processor=None,
        tokenizer=None,
        num_image_tokens=None,
        vision_feature_select_strategy=None,
        chat_template=None,
        image_token="<image>",
        video_token="<video>",
        vision_aspect_ratio="anyres_max_9",
        patch_size=None,
        depth_estimator=DEFAULT_DEPTH_ESTIMATOR,
        estimate_missing_depth=True,
        depth_png_scale=0.001,
        depth_convention=None,
        **kwargs,
    ):
        if patch_size is not None and not (isinstance(patch_size, int) and patch_size > 0):
            raise ValueError(f"patch_size must be a positive integer or None, got {patch_size!r}")
        self.patch_size = patch_size
        self.init_depth(depth_estimator, estimate_missing_depth, depth_png_scale, depth_convention)
        super().__init__(
            image_processor=image_processor,
            tokenizer=tokenizer,
            num_image_tokens=num_image_tokens,
            vision_feature_select_strategy=vision_feature_select_strategy,
            chat_template=chat_template,
            image_token=image_token,
            video_token=video_token,
            vision_aspect_ratio=vision_aspect_ratio,
            **kwargs,
        )

    def __call__(self, images=None, text=None, videos=None, depth=None, estimate_depth: bool | None = None,
                 depth_kind="metric", **kwargs):
        """OneVision's processing of images plus `depth_values`.

        Args:
            images, text: as for [`LlavaOnevisionProcessor`]; `videos` must be None.
            depth: None, or one depth map per image (see [`SDVLMProcessor.__call__`]), pixel-aligned
                with the ORIGINAL image; nested like `images` for multi-image samples.
            estimate_depth: override `estimate_missing_depth` for this call.
            depth_kind: what `depth` holds, `"metric"` (meters; integer maps millimetres) or `"inverse"`
                (relative inverse depth); converted to the model's `depth_convention` (`depth_inputs`).

        Returns:
            [`BatchFeature`] with OneVision's keys and `depth_values` `(num_images, max_tiles, grid, grid)`
            float32 when depth is given or estimated.
        """
        if videos is not None:
            raise ValueError(
                "SDVLMLlavaOnevisionProcessor takes images only (depth is one map per image); "
                "process videos with LlavaOnevisionProcessor"
            )
        outputs = super().__call__(images=images, text=text, **kwargs)
        if isinstance(depth, (list, tuple)) and any(isinstance(sample, (list, tuple)) for sample in depth):
            depth = [depth_map for sample in depth for depth_map in sample]
        arrays = self.resolve_depth(images, depth, estimate_depth, depth_kind)  # in the model's depth_convention
        if arrays is None:
            return outputs
        tiled = [int(n) == 1 for n in outputs["batch_num_images"] for _ in range(int(n))]
        depth_values = self.pool_depth_maps(arrays, tiled, **kwargs)
        outputs.update(BatchFeature({"depth_values": depth_values}, tensor_type=kwargs.get("return_tensors")))
        return outputs

    def _tiling(self, **kwargs) -> dict:
        """`anyres_depth_cells` settings from the image processor's settings for this call (call kwargs win)."""
        # Read directly (call kwargs, flat or in `images_kwargs`, then the image processor's), as the
        # image processor resolves them: `_merge_kwargs` would cost more than the depth pooling itself.
        images_kwargs = kwargs.get("images_kwargs") or {}

        def setting(name):
            value = kwargs.get(name, images_kwargs.get(name))
            return value if value is not None else getattr(self.image_processor, name, None)

        size, crop_size = setting("size") or {}, setting("crop_size") or {}
        shortest = size.get("shortest_edge")
        side = size.get("height") or shortest
        tile = crop_size.get("height") or side
        if not (shortest or size.get("height") == size.get("width")) or tile != side:
            raise ValueError(
                "depth tiling needs square tiles of the resize size (as in every OneVision checkpoint); "
                f"got size={size} crop_size={crop_size or None}"
            )
        if setting("do_center_crop"):
            raise ValueError("depth tiling does not support do_center_crop=True (OneVision does not crop)")
        grid = math.isqrt(self.num_image_tokens)
        return {
            "image_grid_pinpoints": setting("image_grid_pinpoints"),
            "tile": tile,
            "patch": self.patch_size or tile // grid,
        }

    def pool_depth_maps(self, arrays, tiled: list[bool], **kwargs) -> np.ndarray:
        """Pool validated depth arrays (from `resolve_depth`) onto the patch cells of each image's tiles.

        Args:
            arrays: one `(H, W)` float32 array per image, at the original image's size.
            tiled: per image, whether it is anyres-tiled (False in a multi-image sample).

        Returns:
            `(num_images, max_tiles, grid, grid)` float32; images with fewer tiles are padded with 0
            (invalid) tiles, as `pixel_values` are padded with zero tiles.
        """
        tiling = self._tiling(**kwargs)
        cells = [
            anyres_depth_cells(torch.from_numpy(array), tiled=is_tiled, **tiling)
            for array, is_tiled in zip(arrays, tiled)
        ]
        padded = np.zeros((len(cells), max(len(c) for c in cells), *cells[0].shape[1:]), dtype=np.float32)
        for index, image_cells in enumerate(cells):
            padded[index, : len(image_cells)] = image_cells.numpy()
        return padded


SDVLMLlavaOnevisionProcessor.register_for_auto_class("AutoProcessor")

__all__ = ["SDVLMLlavaOnevisionProcessor"]
