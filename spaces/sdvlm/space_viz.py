"""Pictures of what the model was told: the depth map in colour and the depth-encoding patch grid.

Figures are drawn with matplotlib's object API on an Agg canvas (never pyplot), so concurrent
requests do not share global figure state.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

DEPTH_CMAP = "turbo"
GRID_CMAP = "viridis"
MAX_ANNOTATED_CELLS = 100  # above this the per-cell numbers become unreadable


def depth_figure(depth: np.ndarray, label: str, max_side: int = 640) -> Image.Image:
    """Colour a (H, W) depth map with a colour bar; invalid pixels (0) are drawn black.

    `label` names the unit, e.g. "depth (m)" or "relative inverse depth (larger = nearer)".
    Returns an RGB PIL image.
    """
    depth = np.asarray(depth, dtype=np.float32)
    valid = depth > 0
    shown = np.ma.masked_where(~valid, depth)
    height, width = depth.shape
    scale = max_side / max(height, width)
    figure = Figure(figsize=(max(width * scale, 200) / 100 + 1.2, max(height * scale, 200) / 100 + 0.4), dpi=100)
    axes = figure.add_subplot()
    lo, hi = (float(depth[valid].min()), float(depth[valid].max())) if valid.any() else (0.0, 1.0)
    # Invalid pixels as "bad" values of the colour map: the axes background is hidden with the axis.
    cmap = matplotlib.colormaps[DEPTH_CMAP].with_extremes(bad="black")
    mappable = axes.imshow(shown, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
    axes.set_axis_off()
    figure.colorbar(mappable, ax=axes, fraction=0.046, pad=0.02, label=label)
    return _render(figure)


def grid_figure(model_view: np.ndarray, grid: np.ndarray, max_side: int = 480) -> Image.Image:
    """Overlay the (grid_h, grid_w) patch grid that the depth encoding sees on the square image
    the vision tower sees (`model_view`, (S, S, 3) uint8), one coloured cell per image token.

    Cells are upsampled by nearest neighbour so each covers exactly its patch; small grids get
    their values written in the cells. Returns an RGB PIL image.
    """
    grid = np.asarray(grid, dtype=np.float32)
    grid_h, grid_w = grid.shape
    side = model_view.shape[0]
    figure = Figure(figsize=(max_side / 100 + 1.4, max_side / 100 + 0.4), dpi=100)
    axes = figure.add_subplot()
    axes.imshow(model_view, extent=(0, side, side, 0))
    mappable = axes.imshow(grid, cmap=GRID_CMAP, alpha=0.6, extent=(0, side, side, 0), interpolation="nearest")
    # Cell borders make the token layout explicit: one cell = one image token.
    for row in range(1, grid_h):
        axes.axhline(row * side / grid_h, color="white", linewidth=0.4, alpha=0.6)
    for col in range(1, grid_w):
        axes.axvline(col * side / grid_w, color="white", linewidth=0.4, alpha=0.6)
    if grid_h * grid_w <= MAX_ANNOTATED_CELLS:
        for row in range(grid_h):
            for col in range(grid_w):
                axes.text(
                    (col + 0.5) * side / grid_w, (row + 0.5) * side / grid_h, f"{grid[row, col]:.0f}",
                    ha="center", va="center", fontsize=7, color="white",
                )
    axes.set_axis_off()
    axes.set_title(f"{grid_h}x{grid_w} depth-encoding grid (one cell per image token)", fontsize=9)
    figure.colorbar(mappable, ax=axes, fraction=0.046, pad=0.02, label="value encoded")
    return _render(figure)


def view_figure(model_view: np.ndarray, title: str, max_side: int = 480) -> Image.Image:
    """The square image the vision tower sees (`model_view`, (S, S, 3) uint8), drawn as large as
    `grid_figure` draws it, for a model that is given no depth. Returns an RGB PIL image."""
    side = model_view.shape[0]
    figure = Figure(figsize=(max_side / 100 + 1.4, max_side / 100 + 0.4), dpi=100)
    axes = figure.add_subplot()
    axes.imshow(model_view, extent=(0, side, side, 0), interpolation="nearest")
    axes.set_axis_off()
    axes.set_title(title, fontsize=9)
    return _render(figure)


def model_view_image(pixel_values: np.ndarray, mean: list[float], std: list[float]) -> np.ndarray:
    """Undo the image processor's normalisation: (3, S, S) float -> (S, S, 3) uint8."""
    pixels = np.asarray(pixel_values, dtype=np.float32)
    pixels = pixels * np.asarray(std, dtype=np.float32)[:, None, None] + np.asarray(mean, dtype=np.float32)[:, None, None]
    return (np.clip(pixels.transpose(1, 2, 0), 0.0, 1.0) * 255).round().astype(np.uint8)


def _render(figure: Figure) -> Image.Image:
    figure.tight_layout()
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


__all__ = ["DEPTH_CMAP", "GRID_CMAP", "depth_figure", "grid_figure", "view_figure", "model_view_image"]
