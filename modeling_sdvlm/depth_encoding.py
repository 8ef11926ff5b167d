"""The depth-encoding core every SD-VLM family shares (LLaVA-1.5, Qwen2.5-VL, Qwen3-VL, OneVision).

A family differs only in how its visual tokens map to pixels. Whatever that map, the depth path is:

1. pool depth onto the token grid from VALID pixels only (> 0 and finite; 0 marks invalid):
   `pool_depth_cells` for cells of whole pixels of an already aligned map (LLaVA's patches), or
   `area_pool_depth` at the source resolution for any rectangles in source pixels (a resize, a
   tile, a crop): each cell is the area-weighted mean of the valid source pixels it overlaps, so
   5% scattered valid pixels, a 1x5000 image or a single valid pixel pool correctly;
2. `fill_empty_cells`: a cell with no valid pixel (padding, a hole) takes the mean of the valid
   cells of its image, so it stays inside the image's range;
3. `normalize_depth`: per image `(d - min) / (max - min + 1e-9)` ("minmax") or as given ("none"),
   times `depth_scale`;
4. `depth_positional_encoding` in float32, cast to the features' dtype and added to the projected
   tokens (`add_depth_encoding`).

`encode_token_depth` runs steps 2-4 on one image's per-token depth, and `encode_token_depths` on
several images' per-token depth concatenated, as the Qwen processors give it.
Each step is a few whole-batch tensor ops: at the sizes of a forward pass their count, not their
arithmetic, is most of the depth path's cost.

>>> depth = torch.tensor([[[1.0, 3.0, 0.0, 0.0], [1.0, 3.0, 0.0, 0.0]]])  # (1, 2, 4), right half invalid
>>> fill_empty_cells(pool_depth_cells(depth, 2)).tolist()
[[[2.0, 2.0]]]
>>> area_pool_depth(torch.tensor([[0.0, 4.0, 0.0, 0.0, 0.0]]), uniform_edges(1, 1), uniform_edges(5, 1))
(tensor([[4.]]), tensor([[0.2000]]))
"""

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

# Added to the min-max denominator, as in the authors' code, so a flat depth grid maps to 0.
MINMAX_EPS = 1e-9


@functools.lru_cache(maxsize=16)
def _frequencies(dim: int, base: float, device: torch.device) -> torch.Tensor:
    """`w_k = 1 / base^(k / (dim/2))`, float32, cached: they depend on the config only."""
    half = dim // 2
    exponents = torch.arange(half, dtype=torch.float32, device=device) / half
    return 1.0 / (base**exponents)


def depth_positional_encoding(depth: torch.Tensor, dim: int, base: float = 10000.0) -> torch.Tensor:
    """Interleaved sin/cos encoding of scalar depths (the paper's DPE).

    `w_k = 1 / base^(k / (dim/2))` for `k = 0..dim/2-1`; `PE[..., 2k] = sin(d * w_k)` and
    `PE[..., 2k+1] = cos(d * w_k)`. Always computed in float32 (fp16 angles are too coarse at
    large depth values); callers cast the result to their features' dtype.

    Args:
        depth: `(batch, tokens)` depth values (any float dtype).
        dim: encoding width, even (the language model's hidden size).
        base: frequency base.

    Returns:
        `(batch, tokens, dim)` float32.

    >>> pe = depth_positional_encoding(torch.tensor([[0.0, 1.0]]), dim=4)
    >>> pe.shape
    torch.Size([1, 2, 4])
    >>> pe[0, 0].tolist()  # sin(0), cos(0) for every frequency
    [0.0, 1.0, 0.0, 1.0]
    """
    if dim <= 0 or dim % 2:
        raise ValueError(f"depth_positional_encoding needs a positive even dim, got {dim}")
    if depth.dim() != 2:
        raise ValueError(f"depth must have shape (batch, tokens), got {tuple(depth.shape)}")
    angles = depth.to(torch.float32).unsqueeze(-1) * _frequencies(dim, float(base), depth.device)
    sin, cos = angles.sin(), angles.cos()
    if angles.device.type in ("cpu", "cuda"):
        # Interleave sin, cos as the (real, imag) pairs of a complex tensor, read back as float32: the
        # same values as `torch.stack((sin, cos), dim=-1)` (both are plain copies) at a fraction of the
        # cost (a last-axis stack is a slow strided copy on CPU: ~6x slower for LLaVA-1.5's 576 x 4096).
        return torch.complex(sin, cos).view(torch.float32)
    # stack on a new last axis then flatten: (.., half, 2) -> sin, cos interleaved.
    return torch.stack((sin, cos), dim=-1).flatten(-2)


def config_depth_encoding(depth: torch.Tensor, config) -> torch.Tensor:
    """Step 4 as a config sets it: `depth_pe_amplitude * depth_positional_encoding(depth, D, depth_pe_base)`.

    Args:
        depth: `(batch, tokens)` values from `normalize_depth` (already scaled by `depth_scale`).
        config: any SD-VLM config.

    Returns:
        `(batch, tokens, text_config.hidden_size)` float32.
    """
    encoding = depth_positional_encoding(depth, config.text_config.hidden_size, config.depth_pe_base)
    amplitude = config.depth_pe_amplitude
    # `x * 1.0 == x` exactly: the default amplitude needs no pass over the encoding.
    return encoding if amplitude == 1.0 else encoding * amplitude


def _raise_if_negative(depth: torch.Tensor) -> None:
    """ValueError naming the first image (dim 0) with a negative value."""
    lowest = depth.flatten(1).amin(dim=1)
    if bool((lowest < 0).any()):
        index = int((lowest < 0).nonzero()[0, 0])
        raise ValueError(f"depth map {index} has negative values; depth must be >= 0 (0 marks invalid pixels)")


def pool_depth_cells(depth: torch.Tensor, cell: int) -> torch.Tensor:
    """Mean of the valid pixels of each `cell x cell` block of aligned depth maps.

    Args:
        depth: `(num_images, height, width)`; 0 or non-finite = invalid, negative = error.
        cell: block side in pixels (the patch size); remainder rows/columns are dropped, like a
            patch convolution.

    Returns:
        `(num_images, height // cell, width // cell)` float32; 0 where a block has no valid pixel.
    """
    depth = depth.to(torch.float32)
    # Fast path, the common case: every pixel finite and > 0. Then every block's masked mean is its
    # plain mean; bit-identical to `masked_pool_depth_cells` (the valid share of a full block is
    # exactly 1.0). avg_pool2d takes the maps as the channels of one (C, H, W) input.
    lowest, highest = depth_extremes(depth)
    if lowest > 0 and highest < math.inf:  # False for NaN too
        return F.avg_pool2d(depth, cell)
    return masked_pool_depth_cells(depth, cell)


def masked_pool_depth_cells(depth: torch.Tensor, cell: int) -> torch.Tensor:
    """`pool_depth_cells` without its all-valid fast path (same arguments and result)."""
    depth = depth.to(torch.float32)
    # Non-finite -> 0 (invalid) in one op; negative values are an error.
    depth = torch.nan_to_num(depth, nan=0.0, posinf=0.0, neginf=0.0)
    _raise_if_negative(depth)
    valid = (depth > 0).to(torch.float32)
    # One pooling pass over (valid depth, validity): per block the mean of valid depth times the
    # valid share, and the valid share.
    pooled = F.avg_pool2d(torch.stack([depth, valid], dim=1), cell)
    sums, shares = pooled[:, 0], pooled[:, 1]
    return torch.where(shares > 0, sums / shares.clamp(min=1e-12), 0.0)


def depth_extremes(values: torch.Tensor) -> tuple[float, float]:
    """`(min, max)` of a tensor in the model's depth path (NaN when it holds one). amin and amax, not
    `value_range`: inside a forward pass every kernel not run recently is cold, and these two are the
    ones `check_depth_values` and `fill_empty_cells` run (measured: numpy's reductions there cost 6x)."""
    return float(values.amin()), float(values.amax())


def value_range(depth: torch.Tensor) -> tuple[float, float]:
    """`(min, max)` of a tensor (NaN when it holds one); numpy's reductions are faster on CPU tensors."""
    if depth.device.type == "cpu" and not depth.requires_grad:
        array = depth.numpy()
        return float(array.min()), float(array.max())
    lowest, highest = torch.aminmax(depth)
    return float(lowest), float(highest)


def uniform_edges(length: int, cells: int) -> torch.Tensor:
    """`(cells + 1,)` float64 edges splitting `[0, length)` source pixels into equal cells (a plain resize)."""
    return torch.linspace(0.0, float(length), cells + 1, dtype=torch.float64)


@functools.lru_cache(maxsize=64)
def _cached_overlap(edges: tuple[float, ...], length: int) -> torch.Tensor:
    """`(cells, length)` float64 overlap (0..1) of cell `[edges[i], edges[i+1])` with pixel `[p, p+1)`:
    geometry only, so built once per (grid, size) (read-only)."""
    edges = torch.tensor(edges, dtype=torch.float64)
    pixels = torch.arange(length, dtype=torch.float64)
    low = torch.maximum(edges[:-1, None], pixels[None, :])
    high = torch.minimum(edges[1:, None], pixels[None, :] + 1)
    return (high - low).clamp(min=0)


def matrix_bands(weights: np.ndarray, block: int) -> tuple[tuple[int, int], list]:
    """A banded `(outputs, inputs)` matrix cut into blocks of `block` rows, for products that skip its zeros.

    Returns the rows `[first, last)` with any weight and, for each block of them holding a weight,
    `(start, stop, lo, hi, rows)`: rows `first + [start, stop)` weigh only inputs `[lo, hi)`, by the
    contiguous `rows` (`weights[first + start : first + stop, lo:hi]`). The other rows are all 0.
    """
    weighted = np.flatnonzero(weights.any(axis=1))
    first, last = int(weighted[0]), int(weighted[-1]) + 1
    bands = []
    for start in range(0, last - first, block):
        rows = weights[first + start : min(first + start + block, last)]
        inputs = np.flatnonzero(rows.any(axis=0))
        if len(inputs):
            lo, hi = int(inputs[0]), int(inputs[-1]) + 1
            bands.append((start, start + len(rows), lo, hi, np.ascontiguousarray(rows[:, lo:hi])))
    return (first, last), bands


# Cell rows per product of the row pass of `area_pool_depth_grids` (4 was fastest of 1-16 on a
# 640x480 map pooled to Qwen's and OneVision's grids).
POOL_ROW_BLOCK = 4


class _PoolGeometry:
    """What `area_pool_depth_grids` needs of its grids over an `(H, W)` map, built once (read-only).

    `rows` `(sum of grid rows, H)`: every grid's row overlaps stacked, as float32 `matrix_bands`
    (`row_range`, `row_bands`), for one banded product with the map; per grid its slice of those
    rows, `cols` `(W, grid_w)` float64 numpy (transposed column overlaps), `full` `(grid_h, grid_w)`
    the weight of an all-valid map and `area` the cells' areas. The products run in numpy: far less
    per-call overhead than torch on CPU.
    """

    def __init__(self, grids: tuple, height: int, width: int):
        rows, self.grids = [], []
        start = 0
        for row_edges, col_edges in grids:
            row_overlap = _cached_overlap(row_edges, height).numpy()
            col_overlap = _cached_overlap(col_edges, width).numpy()
            rows.append(row_overlap)
            full = row_overlap.sum(axis=1)[:, None] * col_overlap.sum(axis=1)[None, :]
            area = np.diff(row_edges)[:, None] * np.diff(col_edges)[None, :]
            self.grids.append((slice(start, start + len(row_overlap)), col_overlap.T.copy(), full, area))
            start += len(row_overlap)
        rows = np.concatenate(rows).astype(np.float32)
        self.row_count = len(rows)
        self.row_range, self.row_bands = matrix_bands(rows, POOL_ROW_BLOCK)

    def row_pass(self, depth: np.ndarray) -> np.ndarray:
        """`rows @ depth` as float64 `(sum of grid rows, W)`: float32 banded products on the map's rows
        under each block of cell rows only (a cell row covers a few dozen of the map's rows)."""
        first = self.row_range[0]
        sums = np.zeros((self.row_count, depth.shape[1]), np.float32)
        for start, stop, lo, hi, rows in self.row_bands:
            np.matmul(rows, depth[lo:hi], out=sums[first + start : first + stop])
        return sums.astype(np.float64)


@functools.lru_cache(maxsize=32)
def _pool_geometry(grids: tuple, height: int, width: int) -> _PoolGeometry:
    """`_PoolGeometry` of grids given as tuples of float64 edges, built once per (grids, size)."""
    return _PoolGeometry(grids, height, width)


def area_pool_depth(
    depth: torch.Tensor, row_edges: torch.Tensor, col_edges: torch.Tensor, finite: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Area-weighted mean of the valid source pixels under each cell of a grid (source resolution).

    Cell `(i, j)` is the rectangle `[row_edges[i], row_edges[i+1]) x [col_edges[j], col_edges[j+1])`
    in source pixel coordinates (fractional; parts outside the map count as invalid, like padding).
    Each source pixel contributes its overlap area; invalid pixels (0, non-finite) contribute
    nothing. Two small matrix products, no resampling of the map: exact for any grid size.

    Args:
        depth: `(H, W)` source depth; 0 or non-finite = invalid; must have no negative value.
        row_edges, col_edges: `(grid_h + 1,)` and `(grid_w + 1,)` increasing edges.
        finite: the caller knows `depth` holds no NaN or inf (e.g. `to_model_depth`'s output): one
            reduction over the map instead of two.

    Returns:
        `(means, valid_share)`, both `(grid_h, grid_w)` float32: the valid mean (0 where the cell
        has no valid pixel) and the share of the cell's area on valid pixels.
    """
    return area_pool_depth_grids(depth, [(row_edges, col_edges)], finite)[0]


def area_pool_depth_grids(depth: torch.Tensor, grids, finite: bool = False) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """[`area_pool_depth`] of several grids over one map, reading the map once (e.g. the tiles of an image).

    The pass over the map (rows) runs in float32 on the map as it is, no float64 copy: a cell row sums
    a few dozen pixels, so the means stay within about 1e-7 relative of a float64 pooling (at most
    1.6e-7 measured on 640x480 maps); the small pass over columns and the division run in float64,
    in numpy (processor-side work on CPU tensors).

    Args:
        depth: `(H, W)` CPU tensor as for `area_pool_depth`.
        grids: a list of `(row_edges, col_edges)`.
        finite: as for `area_pool_depth`.

    Returns:
        One `(means, valid_share)` per grid, as `area_pool_depth` returns them.
    """
    height, width = depth.shape
    key = tuple((tuple(rows.tolist()), tuple(cols.tolist())) for rows, cols in grids)
    geometry = _pool_geometry(key, height, width)
    depth = depth.to(torch.float32)
    if finite:
        dense = float(depth.numpy().min()) > 0
    else:
        lowest, highest = value_range(depth)
        dense = lowest > 0 and highest < math.inf  # False for NaN too
        if not dense and not (highest < math.inf and lowest > -math.inf):  # non-finite values (NaN fails both)
            depth = torch.nan_to_num(depth, nan=0.0, posinf=0.0, neginf=0.0)
    # Invalid pixels are 0 here (negative ones are refused upstream): depth is its own masked map.
    row_sums = geometry.row_pass(depth.numpy())
    if not dense:
        # The fast path, the common case (estimated depth), skips this: with every pixel valid, a cell's
        # valid weight is its overlap with the map (`full`).
        row_weights = geometry.row_pass(torch.sign(depth).numpy())  # sign: 1 valid, 0 hole
    pooled = []
    for rows, cols, full, area in geometry.grids:
        sums = row_sums[rows] @ cols
        weight = full if dense else row_weights[rows] @ cols
        means = np.divide(sums, weight, out=np.zeros_like(sums), where=weight > 0)
        pooled.append((torch.from_numpy(means.astype(np.float32)), torch.from_numpy((weight / area).astype(np.float32))))
    return pooled


def fill_empty_cells(grid: torch.Tensor) -> torch.Tensor:
    """Give cells without valid depth (0) the mean of their image's valid cells.

    Args:
        grid: `(num_images, ...)` pooled depth, 0 = no valid pixel.

    Returns:
        same shape; a ValueError names the first image with no valid cell at all.
    """
    if grid.numel() and float(grid.amin()) > 0:  # every cell valid (the common case): one reduction, False for NaN
        return grid
    dims = tuple(range(1, grid.dim()))
    cell_valid = grid > 0  # here some cell is not (or the grid is empty)
    valid_cells = cell_valid.sum(dim=dims, keepdim=True)
    counts = valid_cells.view(-1).tolist()
    if 0 in counts:
        raise ValueError(f"depth map {counts.index(0)} has no valid pixel (all values are 0 or non-finite)")
    return torch.where(cell_valid, grid, grid.sum(dim=dims, keepdim=True) / valid_cells)


def normalize_depth(grid: torch.Tensor, normalization: str, scale: float) -> torch.Tensor:
    """Per-image `"minmax"` to [0, 1] (`(d - min) / (max - min + 1e-9)`) or `"none"`, times `scale`.

    Args:
        grid: `(num_images, ...)` pooled depth with every cell valid.
    """
    if normalization == "minmax":
        rows = grid if grid.dim() == 2 else grid.flatten(1)
        # amin / amax: the kernels the depth path's checks just ran (warm), unlike aminmax's.
        low, high = rows.amin(dim=1, keepdim=True), rows.amax(dim=1, keepdim=True)
        # In place on the fresh difference: the roundings of `(grid - low) / (high - low + eps) * scale`.
        rows = (rows - low).div_(high - low + MINMAX_EPS).mul_(scale)
        return rows if grid.dim() == 2 else rows.view(grid.shape)
    if normalization != "none":
        raise ValueError(f"depth_normalization must be 'minmax' or 'none', got {normalization!r}")
    return grid * scale


def token_depth(values: torch.Tensor, config, index: int = 0) -> torch.Tensor:
    """Steps 2-3 for one image's per-token depth: the values the encoding sees (filled, normalised, scaled).

    Args:
        values: `(tokens,)` pooled depth of one image in token order, 0 = no valid pixel.
        config: any SD-VLM config (`depth_normalization`, `depth_scale`).
        index: the image's index, for error messages.

    Returns:
        `(tokens,)` float32.
    """
    values = values.to(torch.float32)
    if values.numel():
        lowest, highest = (float(value) for value in torch.aminmax(values))
        if lowest > 0 and highest < math.inf:  # every token valid (the common case): one reduction, no fill
            return normalize_depth(values[None], config.depth_normalization, config.depth_scale)[0]
    values = torch.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    if bool((values < 0).any()):
        raise ValueError(f"depth map {index} has negative values; depth must be >= 0 (0 marks invalid pixels)")
    if not bool((values > 0).any()):
        raise ValueError(f"depth map {index} has no valid pixel (all values are 0 or non-finite)")
    return normalize_depth(fill_empty_cells(values[None]), config.depth_normalization, config.depth_scale)[0]


def encode_token_depth(values: torch.Tensor, config, index: int = 0) -> torch.Tensor:
    """Steps 2-4 for one image's per-token depth: `token_depth`, then the encoding.

    Returns:
        `(tokens, text_config.hidden_size)` float32 encoding.
    """
    return config_depth_encoding(token_depth(values, config, index)[None], config)[0]


def encode_token_depths(values: torch.Tensor, counts: list[int], config) -> list[torch.Tensor]:
    """Steps 2-4 for several images' per-token depth, concatenated (as the Qwen processors give it).

    Each image is filled and normalised on its own (`token_depth`); the encoding runs once for all.

    Args:
        values: `(sum(counts),)` pooled depth, images one after another; 0 = no valid pixel.
        counts: tokens per image.
        config: any SD-VLM config.

    Returns:
        Per image its `(count, text_config.hidden_size)` float32 encoding.
    """
    values = values.to(torch.float32)
    lowest, highest = depth_extremes(values)
    if lowest > 0 and highest < math.inf and len(set(counts)) == 1:
        # The common case, every token valid and images of one size: one row per image, no per-image ops.
        depth = normalize_depth(values.view(len(counts), -1), config.depth_normalization, config.depth_scale)
        return list(config_depth_encoding(depth, config).unbind(0))
    depth = torch.cat([token_depth(image, config, index) for index, image in enumerate(values.split(counts))])
    return list(config_depth_encoding(depth[None], config)[0].split(counts))


def add_depth_encoding(features: list[torch.Tensor], encodings, skip_first: int = 0) -> list[torch.Tensor]:
    """`feature + encoding` per image, the encoding cast to the feature's dtype and device.

    Args:
        features: per image `(tokens, hidden)` projected visual tokens.
        encodings: per image `(tokens - skip_first, hidden)` float32 encodings (a list or a batched tensor).
        skip_first: leading tokens that get no encoding (LLaVA's CLS with the "full" strategy).
    """
    encoded = []
    for feature, encoding in zip(features, encodings):
        encoding = encoding.to(device=feature.device, dtype=feature.dtype)
        if skip_first:
            encoding = F.pad(encoding, (0, 0, skip_first, 0))
        encoded.append(feature + encoding)
    return encoded


__all__ = [
    "MINMAX_EPS",
    "add_depth_encoding",
    "area_pool_depth",
    "area_pool_depth_grids",
    "config_depth_encoding",
    "depth_extremes",
    "depth_positional_encoding",
    "encode_token_depth",
    "encode_token_depths",
    "fill_empty_cells",
    "masked_pool_depth_cells",
    "matrix_bands",
    "normalize_depth",
    "pool_depth_cells",
    "token_depth",
    "uniform_edges",
    "value_range",
]
