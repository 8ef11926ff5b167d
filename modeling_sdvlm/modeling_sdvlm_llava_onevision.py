"""SD-VLM on LLaVA-OneVision: the depth encoding added to OneVision's packed visual tokens.

OneVision projects every tile (the base view, then the anyres grid) separately and then packs them
(`pack_image_features`: tile order, unpadding, optional bilinear downsampling, a newline token after
every row of the grid and after a single-tile image). The depth of each tile is pooled over the
vision patch cells and then packed by that same method, so each visual token gets the depth of
exactly the pixels its features come from; newline tokens get no encoding.

Like the LLaVA class, the encoding has no parameters: a plain `LlavaOnevisionForConditionalGeneration`
checkpoint loads with no missing or unexpected keys, and without depth the model computes exactly
what the plain class computes.
"""

import math

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence
from transformers import LlavaOnevisionForConditionalGeneration, LlavaOnevisionModel
from transformers.models.llava_onevision.modeling_llava_onevision import image_size_to_num_patches
from transformers.utils.generic import can_return_tuple, merge_with_config_defaults

from .configuration_sdvlm_llava_onevision import SDVLMLlavaOnevisionConfig
from .depth_encoding import add_depth_encoding, config_depth_encoding, depth_extremes, fill_empty_cells, normalize_depth
from .depth_inputs import check_depth_values
from .depth_plumbing import DepthGenerationMixin, depth_generation_forward, depth_model_forward, register_depth_family
from .llava_depth import LlavaDepthModelMixin

# Channels packed like the features where packing downsamples: depth (0 = none), "has depth", "is a visual token".
_PACK_CHANNELS = 3
# Packing geometries kept per model (a batch's image sizes and tiling each make one).
_PACKING_CACHE_SIZE = 256
# The probe's second channel, frac(cell number * this): a different value for neighbouring cells.
_PROBE_STEP = 0.6180339887


def _valid_cells(cells: torch.Tensor) -> torch.Tensor:
    """`cells` with non-finite values set to 0 (no depth), or a ValueError when one is negative."""
    lowest, highest = depth_extremes(cells)
    if lowest >= 0 and highest < math.inf:  # the common case (False for NaN): nothing to replace
        return cells
    cells = torch.nan_to_num(cells, nan=0.0, posinf=0.0, neginf=0.0)
    if bool((cells < 0).any()):
        raise ValueError("depth_values have negative values; depth must be >= 0 (0 marks no valid pixel)")
    return cells


def _needs_tiling(image_sizes, batch_num_images) -> list[bool]:
    """Per image whether it is tiled (anyres): all of them, or only the single images of their samples."""
    if batch_num_images is None:
        return [True] * len(image_sizes)
    return [int(n) == 1 for n in batch_num_images for _ in range(int(n))]


class SDVLMLlavaOnevisionModel(LlavaDepthModelMixin, LlavaOnevisionModel):
    """[`LlavaOnevisionModel`] whose packed image features carry the depth encoding.

    `forward(..., depth_values=...)`: the processor's per-tile cells are encoded into the image tokens
    (the other arguments are OneVision's); ignored when `config.use_depth` is False. The depth logic
    lives here, in the base model, because TRL's SFTTrainer (and any code using `model.base_model`)
    calls this class directly.
    """

    config: SDVLMLlavaOnevisionConfig
    config_class = SDVLMLlavaOnevisionConfig
    forward = depth_model_forward(LlavaOnevisionModel.forward)
    # The call OneVision's forward makes (vision_aspect_ratio from the config, as there), plus depth.
    image_feature_arguments = (
        "image_sizes", "vision_feature_layer", "vision_feature_select_strategy", "batch_num_images"
    )
    checks_unused_depth = False

    def tiles_per_image(self, image_sizes: torch.Tensor, batch_num_images=None) -> list[int]:
        """The number of tiles of each image, as `get_image_features` counts them."""
        tile = self.config.vision_config.image_size
        return [
            image_size_to_num_patches(size, self.config.image_grid_pinpoints, tile) if tiled else 1
            for size, tiled in zip(image_sizes, _needs_tiling(image_sizes, batch_num_images))
        ]

    def depth_token_values(
        self,
        depth_values: torch.Tensor,
        image_sizes: torch.Tensor,
        vision_aspect_ratio: str,
        batch_num_images=None,
        num_extra_tokens: int = 0,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], list[int]]:
        """Each image's pooled depth in the order of its packed visual tokens, one row per image.

        The per-tile patch cells are packed by OneVision's own `pack_image_features` (`_depth_packing`):
        where packing only moves cells (no downsampling), by its cached gather of the cells (only the
        gathered cells are checked); where it downsamples (bilinear), by packing depth and validity with
        the features' weights, so a token's depth is the weighted mean of its valid cells.

        Args:
            depth_values: `(num_images, max_tiles, grid, grid)` as the processor returns it (padded
                tiles are ignored) or `(total_tiles, grid, grid)`; 0 = no valid pixel.
            image_sizes: `(num_images, 2)` original (height, width).
            vision_aspect_ratio, batch_num_images: as for `get_image_features`.
            num_extra_tokens: tokens in front of each tile's patch tokens (a CLS kept by the
                `"full"` strategy); like newlines they are not visual.

        Returns:
            `(rows, not_visual, lengths)`: `(num_images, max_tokens)` float32 depth (0 = no valid depth,
            and on the tokens that are not visual: newlines, CLS, row padding), the `(row, token)`
            indices of those tokens, and each image's number of tokens.
        """
        if torch.is_tensor(depth_values):
            check_depth_values(depth_values, self.config.depth_convention)  # float, in its convention, plausible
        padded = torch.is_tensor(depth_values) and depth_values.dim() == 4
        counts, gathers = self._depth_packing(
            image_sizes, vision_aspect_ratio, batch_num_images, num_extra_tokens,
            depth_values.shape[1] if padded else None,
        )
        self._check_depth_tiles(depth_values, counts)
        depth_values = depth_values.to(device=self.image_newline.device, dtype=torch.float32)
        if gathers is not None:
            index, keep, not_visual, lengths = gathers
            return _valid_cells(depth_values.flatten()[index] * keep), not_visual, lengths
        if padded:  # the real tiles of every image, batch padding dropped
            depth_values = torch.cat([image[:count] for image, count in zip(depth_values, counts)])
        cells = _valid_cells(depth_values.flatten(1))
        channels = torch.stack([cells, (cells > 0).to(torch.float32), torch.ones_like(cells)], dim=-1)
        if num_extra_tokens:
            channels = F.pad(channels, (0, 0, num_extra_tokens, 0))
        packed, lengths = self.pack_image_features(
            list(torch.split(channels, counts, dim=0)),
            image_sizes,
            image_newline=channels.new_zeros(_PACK_CHANNELS),
            vision_aspect_ratio=vision_aspect_ratio,
        )
        weighted, weight, is_visual = pad_sequence(packed, batch_first=True).unbind(-1)
        rows = torch.where(weight > 0, weighted / weight.clamp(min=1e-12), 0.0)
        return rows, (is_visual < 0.5).nonzero(as_tuple=True), lengths.tolist()

    def _depth_packing(self, image_sizes, vision_aspect_ratio: str, batch_num_images, num_extra_tokens: int,
                       max_tiles: int | None):
        """`(tiles per image, gathers)`: `gathers` is `(index, keep, not_visual, lengths)` where packing only
        moves cells, `index` `(num_images, max_tokens)` picking each token's cell from the flattened
        `depth_values` (`(num_images, max_tiles, grid, grid)`, or `(total_tiles, grid, grid)` when `max_tiles`
        is None) and `keep` 0.0 where a token is not visual (newline, CLS, row padding), else 1.0; None where
        packing downsamples.

        Both depend on the geometry only (image sizes, tiling, packing settings): they are found once per
        geometry, by OneVision's own `pack_image_features` (`_image_packing`), and kept on the model.
        """
        sizes = torch.as_tensor(image_sizes)
        tiled = _needs_tiling(sizes, batch_num_images)
        vision, device = self.config.vision_config, self.image_newline.device
        key = (vision.image_size, vision.patch_size, str(self.config.image_grid_pinpoints), vision_aspect_ratio,
               num_extra_tokens, max_tiles, device, tuple(map(tuple, sizes.tolist())), tuple(tiled))
        cache = self.__dict__.setdefault("_depth_packings", {})
        if key not in cache:
            if len(cache) >= _PACKING_CACHE_SIZE:
                cache.clear()
            counts, indices = zip(*(self._image_packing(size, image_tiled, vision_aspect_ratio, num_extra_tokens)
                                    for size, image_tiled in zip(sizes, tiled)))
            gathers = None
            if all(index is not None for index in indices):
                cells = (vision.image_size // vision.patch_size) ** 2
                tiles_before = [image * max_tiles if max_tiles else sum(counts[:image]) for image in range(len(counts))]
                # The images' 1-based cells (0 = none) as indices into the flattened depth_values; tokens that
                # are not visual read cell 0, times `keep` = 0.
                index = pad_sequence([torch.where(cell > 0, cell - 1 + tiles * cells, 0)
                                      for cell, tiles in zip(indices, tiles_before)], batch_first=True)
                keep = pad_sequence([(cell > 0).to(torch.float32) for cell in indices], batch_first=True)
                gathers = (index.to(device), keep.to(device), (keep == 0).nonzero(as_tuple=True),
                           [len(cell) for cell in indices])
            cache[key] = list(counts), gathers
        return cache[key]

    def _image_packing(self, size: torch.Tensor, tiled: bool, vision_aspect_ratio: str, num_extra_tokens: int):
        """`(tiles, index)` of one image: `index` `(tokens,)` the cell (1-based; 0 = none) each packed token
        copies, or None when packing mixes cells.

        Found by packing a probe of two channels per cell, its number and a value that differs from its
        neighbours': a token copies a cell exactly when it holds both of that cell's values.
        """
        tile, patch = self.config.vision_config.image_size, self.config.vision_config.patch_size
        count = image_size_to_num_patches(size, self.config.image_grid_pinpoints, tile) if tiled else 1
        number = torch.arange(1, count * (tile // patch) ** 2 + 1, dtype=torch.float32)
        probe = torch.stack([number, torch.frac(number * _PROBE_STEP)], dim=-1)
        tiles = F.pad(probe.view(count, -1, 2), (0, 0, num_extra_tokens, 0)).to(self.image_newline.device)
        packed, _ = self.pack_image_features(
            [tiles], size[None], image_newline=tiles.new_zeros(2), vision_aspect_ratio=vision_aspect_ratio
        )
        packed = packed[0].cpu()
        index = packed[:, 0].round().clamp(0, len(number)).long()
        copies = torch.equal(packed, F.pad(probe, (0, 0, 1, 0))[index])  # row 0: newline and CLS tokens hold 0
        return count, index if copies else None

    def _check_depth_tiles(self, depth_values, counts: list[int]) -> None:
        """Raise naming the mismatch unless `depth_values` holds the tiles of every image (`counts` per image):
        `(num_images, max_tiles, grid, grid)` (batch padding ignored) or `(total_tiles, grid, grid)`."""
        grid = self.config.vision_config.image_size // self.config.vision_config.patch_size
        if not torch.is_tensor(depth_values) or depth_values.dim() not in (3, 4):
            shape = tuple(depth_values.shape) if torch.is_tensor(depth_values) else type(depth_values).__name__
            raise ValueError(
                "depth_values must be a tensor of shape (num_images, max_tiles, grid, grid) or "
                f"(total_tiles, grid, grid), got {shape}"
            )
        if tuple(depth_values.shape[-2:]) != (grid, grid):
            raise ValueError(
                f"depth_values hold {tuple(depth_values.shape[-2:])} cells per tile but the vision tower has "
                f"{(grid, grid)} patches per tile; pass the processor's depth_values (pooled per patch)"
            )
        if depth_values.dim() == 3:
            if depth_values.shape[0] != sum(counts):
                raise ValueError(
                    f"wrong number of depth tiles: {depth_values.shape[0]} for {sum(counts)} image tiles "
                    f"(per image: {counts})"
                )
            return
        if depth_values.shape[0] != len(counts):
            raise ValueError(f"wrong number of depth maps: {depth_values.shape[0]} depth maps for {len(counts)} images")
        if depth_values.shape[1] < max(counts):
            raise ValueError(
                f"depth_values hold {depth_values.shape[1]} tiles per image but image "
                f"{counts.index(max(counts))} has {max(counts)} tiles"
            )

    @merge_with_config_defaults
    @can_return_tuple
    def get_image_features(
        self,
        pixel_values: torch.Tensor,
        image_sizes: torch.Tensor,
        vision_feature_layer: int | list[int] | None = None,
        vision_feature_select_strategy: str | None = None,
        vision_aspect_ratio: str | None = None,
        batch_num_images: torch.LongTensor | None = None,
        depth_values: torch.Tensor | None = None,
        **kwargs,
    ):
        """OneVision's packed image features, plus the depth encoding when depth is given.

        Args:
            pixel_values: `(num_images, max_tiles, 3, S, S)` or `(total_tiles, 3, S, S)`.
            image_sizes: `(num_images, 2)` original (height, width).
            depth_values: the processor's per-tile patch-cell depth, `(num_images, max_tiles, grid, grid)`
                (tiles as in `pixel_values`) or `(total_tiles, grid, grid)`, or None (no depth: the result
                is OneVision's exactly). Ignored when `config.use_depth` is False.

        Returns:
            OneVision's output; `pooler_output` is a list of `(tokens, hidden)` packed features per
            image. Newline tokens (and a CLS kept by the `"full"` strategy) get no encoding.
        """
        outputs = self.plain_image_features(
            pixel_values=pixel_values, image_sizes=image_sizes, vision_feature_layer=vision_feature_layer,
            vision_feature_select_strategy=vision_feature_select_strategy, vision_aspect_ratio=vision_aspect_ratio,
            batch_num_images=batch_num_images, **kwargs
        )
        if depth_values is None or not self.config.use_depth:
            return outputs
        grid = self.config.vision_config.image_size // self.config.vision_config.patch_size
        tokens_per_tile = outputs.last_hidden_state.shape[1] - (1 if vision_feature_select_strategy == "default" else 0)
        rows, not_visual, lengths = self.depth_token_values(
            depth_values,
            image_sizes,
            vision_aspect_ratio,
            batch_num_images,
            num_extra_tokens=tokens_per_tile - grid * grid,
        )
        features = outputs.pooler_output
        for index, (feature, length) in enumerate(zip(features, lengths)):
            if feature.shape[0] != length:
                raise ValueError(
                    f"image {index}: {feature.shape[0]} image features but its depth packs to {length} tokens; "
                    "the depth tiles do not match the image tiles"
                )
        encoding = config_depth_encoding(self._encoded_values(rows), self.config)
        encoding[not_visual] = 0.0  # newline (and CLS) tokens get no encoding
        outputs.pooler_output = add_depth_encoding(features, [pe[:length] for pe, length in zip(encoding, lengths)])
        return outputs

    def _encoded_values(self, rows: torch.Tensor) -> torch.Tensor:
        """`(num_images, max_tokens)`: each image's token depth filled, normalised and scaled (one row each).

        Newline (and row-padding) tokens hold 0 like empty cells, so they take the image's mean, inside
        its range (min-max unchanged); the caller zeroes their encoding.
        """
        return normalize_depth(fill_empty_cells(rows), self.config.depth_normalization, self.config.depth_scale)

    def depth_grid(self, depth_values, image_sizes, batch_num_images=None) -> list[torch.Tensor]:
        """The values the encoding sees on each image's first tile (the base view), `(grid, grid)`, for display.

        Args:
            depth_values, image_sizes, batch_num_images: as for `get_image_features` (a SigLIP tower: no CLS).
        """
        aspect_ratio = self.config.vision_aspect_ratio
        rows, _, _ = self.depth_token_values(depth_values, image_sizes, aspect_ratio, batch_num_images)
        grid = self.config.vision_config.image_size // self.config.vision_config.patch_size
        return [row[: grid * grid].view(grid, grid) for row in self._encoded_values(rows)]


class SDVLMLlavaOnevisionForConditionalGeneration(DepthGenerationMixin, LlavaOnevisionForConditionalGeneration):
    """[`LlavaOnevisionForConditionalGeneration`] with SD-VLM's depth encoding; `forward`/`generate` take
    `depth_values` (the processor's per-tile cells; None = no depth), encoded by [`SDVLMLlavaOnevisionModel`]."""

    config: SDVLMLlavaOnevisionConfig
    config_class = SDVLMLlavaOnevisionConfig
    depth_model_class = SDVLMLlavaOnevisionModel
    forward = depth_generation_forward(LlavaOnevisionForConditionalGeneration.forward)


# Same parameters as OneVision, so OneVision's checkpoint renamings apply.
register_depth_family(
    SDVLMLlavaOnevisionConfig,
    SDVLMLlavaOnevisionModel,
    SDVLMLlavaOnevisionForConditionalGeneration,
    {"sdvlm_llava_onevision": "llava_onevision", "SDVLMLlavaOnevisionModel": "LlavaOnevisionModel"},
)

__all__ = ["SDVLMLlavaOnevisionModel", "SDVLMLlavaOnevisionForConditionalGeneration"]
