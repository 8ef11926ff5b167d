"""LLaVA-OneVision's anyres tiling, followed by depth at the source resolution.

`LlavaOnevisionImageProcessor` turns one image into tiles of side `S`: first the whole image
resized (squashed) to `S x S` (the base tile), then the image resized into the best of
`image_grid_pinpoints` keeping its aspect ratio, zero-padded (centred) to that resolution and cut
into a row-major grid of tiles. An image of a multi-image sample is not tiled: it is padded to a
square and resized (one tile). The vision tower then sees `grid x grid` patches of `patch` pixels
per tile (pixels past `grid * patch` are dropped, as by its patch convolution).

Each of those patch cells is a rectangle of the ORIGINAL image (partly or wholly outside it over
padding). Depth is pooled straight onto them with `area_pool_depth_grids` (base tile and grid in
one pass over the map): the area-weighted mean of the valid source pixels under the cell, never a
resampling of the map (which would blur depth across cells) and never the image processor
(without torchvision it runs PIL, which rejects values above 1 and rounds to 8 bits).
"""

import torch
from transformers.image_processing_utils import get_patch_output_size, select_best_resolution
from transformers.image_utils import ChannelDimension

from .depth_encoding import area_pool_depth_grids


def _cell_edges(length: int, tile: int, grid: int, patch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Edges along one axis of a row of tiles covering `length` pixels, and which cells are patches.

    Returns `(edges, is_patch)`: contiguous `(cells + 1,)` edges in canvas pixels and a `(cells,)`
    bool mask; the cells that are not patches are the strips past `grid * patch` in each tile.
    """
    edges, is_patch = [0], []
    for start in range(0, length, tile):
        for index in range(grid):
            edges.append(start + (index + 1) * patch)
            is_patch.append(True)
        if grid * patch < tile:
            edges.append(start + tile)
            is_patch.append(False)
    return torch.tensor(edges, dtype=torch.float64), torch.tensor(is_patch)


def _canvas_grid(canvas_hw, offset_yx, scale_yx, tile, grid, patch) -> tuple:
    """The patch cells of a canvas cut into tiles, in source pixels, for `area_pool_depth_grids`.

    Canvas pixel `c` along an axis is source pixel `(c - offset) * scale`. Returns
    `((row_edges, col_edges), (row_is_patch, col_is_patch))`.
    """
    axes = [_cell_edges(length, tile, grid, patch) for length in canvas_hw]
    edges = tuple((edges - offset) * scale for (edges, _), offset, scale in zip(axes, offset_yx, scale_yx))
    return edges, tuple(is_patch for _, is_patch in axes)


def _pool_canvases(depth, canvases) -> list[torch.Tensor]:
    """Per canvas `(tiles_y * grid, tiles_x * grid)` patch-cell depth, the map read once for all."""
    pooled = area_pool_depth_grids(depth, [edges for edges, _ in canvases])
    return [means[rows][:, cols] for (means, _), (_, (rows, cols)) in zip(pooled, canvases)]


def _tiles(cells: torch.Tensor, grid: int) -> torch.Tensor:
    """`(tiles_y * grid, tiles_x * grid)` -> `(tiles_y * tiles_x, grid, grid)`, tiles row-major."""
    tiles_y, tiles_x = cells.shape[0] // grid, cells.shape[1] // grid
    return cells.view(tiles_y, grid, tiles_x, grid).permute(0, 2, 1, 3).reshape(-1, grid, grid)


def anyres_depth_cells(
    depth: torch.Tensor, image_grid_pinpoints: list, tile: int, patch: int, tiled: bool = True
) -> torch.Tensor:
    """Depth pooled onto the vision patch cells of every tile LLaVA-OneVision makes of one image.

    Args:
        depth: `(H, W)` depth at the original image's size; 0 or non-finite = invalid.
        image_grid_pinpoints: the image processor's candidate resolutions `[[height, width], ...]`.
        tile: the tile side `S` (the vision tower's image size).
        patch: the vision tower's patch size.
        tiled: False for an image of a multi-image sample (padded to a square, one tile).

    Returns:
        `(num_tiles, grid, grid)` float32, `grid = tile // patch`: the base tile, then the grid tiles
        row by row (the order of `pixel_values`); 0 where a cell covers no valid pixel (padding).

    >>> cells = anyres_depth_cells(torch.ones(4, 8), [[4, 4], [4, 8]], tile=4, patch=2)
    >>> tuple(cells.shape), cells.min().item()  # base + a 1x2 grid of 2x2 cells, no padding
    ((3, 2, 2), 1.0)
    """
    height, width = depth.shape
    grid = tile // patch
    if not tiled:
        # Padded to a `side x side` square (centred), then resized to the tile.
        side = max(height, width)
        offset = ((side - height) // 2 * tile / side, (side - width) // 2 * tile / side)
        square = _canvas_grid((tile, tile), offset, (side / tile, side / tile), tile, grid, patch)
        return _pool_canvases(depth, [square])[0][None]
    base = _canvas_grid((tile, tile), (0, 0), (height / tile, width / tile), tile, grid, patch)
    best_height, best_width = select_best_resolution((height, width), image_grid_pinpoints)
    new_height, new_width = get_patch_output_size(
        depth[None], (best_height, best_width), input_data_format=ChannelDimension.FIRST
    )
    # Centred padding, the odd pixel after: as the image processor's `_get_padding_size`.
    top, left = (best_height - new_height) // 2, (best_width - new_width) // 2
    scale = (height / new_height, width / new_width)
    canvas = _canvas_grid((best_height, best_width), (top, left), scale, tile, grid, patch)
    base_cells, canvas_cells = _pool_canvases(depth, [base, canvas])
    return torch.cat([base_cells[None], _tiles(canvas_cells, grid)])


__all__ = ["anyres_depth_cells"]
