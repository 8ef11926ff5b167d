"""Which annotated objects a frame really shows: mask area, truncation and occlusion.

- area: visible mask pixels as a fraction of the image;
- truncation: the fraction of the box's projected outline (convex hull of its 8 projected corners)
  that falls outside the image; 1.0 when part of the box is behind the camera;
- occlusion, from the depth test: the box alone is ray-cast over its pixel rectangle; a pixel of that
  silhouette that is not in the object's mask, whose depth is nearer than the box surface there, is
  occluded; occlusion = occluded / (occluded + mask pixels). Silhouette pixels where the depth map is
  farther than the box (the box is looser than a real object) or invalid count for neither.

>>> VisibilityConfig(max_occlusion=1.5)
Traceback (most recent call last):
...
ValueError: VisibilityConfig.max_occlusion must lie in [0, 1], got 1.5
"""

from dataclasses import dataclass

import numpy as np

from .camera import box_pixel_rect, project, world_ray_planes
from .geometry import box_corners, ray_box_entry
from .scene import Frame, SceneObject


@dataclass(frozen=True)
class VisibilityConfig:
    """Thresholds an object must pass to be asked about.

    Args:
        min_area: smallest visible mask area as a fraction of the image.
        min_pixels: smallest visible mask area in pixels (guards tiny images).
        max_truncation: largest fraction of the projected box outside the image.
        max_occlusion: largest occluded fraction from the depth test.
        depth_tolerance: meters by which a surface must be nearer than the box to occlude it.
    """

    min_area: float = 0.004
    min_pixels: int = 12
    max_truncation: float = 0.3
    max_occlusion: float = 0.5
    depth_tolerance: float = 0.02

    def __post_init__(self):
        for name in ("min_area", "max_truncation", "max_occlusion"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"VisibilityConfig.{name} must lie in [0, 1], got {value}")
        if self.min_pixels < 1:
            raise ValueError(f"VisibilityConfig.min_pixels must be >= 1, got {self.min_pixels}")
        if self.depth_tolerance < 0:
            raise ValueError(f"VisibilityConfig.depth_tolerance must be >= 0, got {self.depth_tolerance}")



@dataclass(frozen=True)
class Visibility:
    object_id: int
    pixels: int
    area: float
    truncation: float
    occlusion: float
    visible: bool  # passes every threshold


def _convex_hull(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise hull of 2D points (Andrew's monotone chain)."""
    pts = sorted(map(tuple, points))
    if len(pts) <= 2:
        return np.array(pts)

    def half(seq):
        out = []
        for p in seq:
            while len(out) >= 2 and (out[-1][0] - out[-2][0]) * (p[1] - out[-2][1]) - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0]) <= 0:
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(reversed(pts))
    return np.array(lower[:-1] + upper[:-1])


def _area(poly: np.ndarray) -> float:
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _clip(poly: np.ndarray, width: float, height: float) -> np.ndarray:
    """Sutherland-Hodgman clip of a polygon against the image rectangle [0, W] x [0, H]."""
    planes = [(0, 0.0, 1), (0, width, -1), (1, 0.0, 1), (1, height, -1)]
    out = list(map(np.asarray, poly))
    for axis, bound, sign in planes:
        if not out:
            break
        src, out = out, []
        for i, cur in enumerate(src):
            prev = src[i - 1]
            cur_in, prev_in = sign * (cur[axis] - bound) >= 0, sign * (prev[axis] - bound) >= 0
            if cur_in != prev_in:
                t = (bound - prev[axis]) / (cur[axis] - prev[axis])
                out.append(prev + t * (cur - prev))
            if cur_in:
                out.append(cur)
    return np.array(out)


def truncation(obj: SceneObject, intrinsics: np.ndarray, pose: np.ndarray, width: int, height: int) -> float:
    """Fraction of the projected box outside the image (pixel centers span [-0.5, W - 0.5])."""
    uv, z = project(box_corners(obj.center, obj.size, obj.yaw), intrinsics, pose)
    if np.any(z <= 1e-3):
        return 1.0
    hull = _convex_hull(uv + 0.5)
    total = _area(hull)
    if total <= 0:
        return 1.0
    return float(np.clip(1.0 - _area(_clip(hull, width, height)) / total, 0.0, 1.0))


def occlusion(obj: SceneObject, frame: Frame, mask: np.ndarray, tolerance: float, rays=None) -> float:
    """Occluded fraction of the object's silhouette, from the depth test (see module docstring).

    rays: the frame's (3, H, W) world ray planes from `camera.world_ray_planes`, to share between
    objects; only the box's pixel rectangle of them is used.
    """
    height, width = frame.depth.shape
    rect = box_pixel_rect(obj.center, obj.size, obj.yaw, frame.intrinsics, frame.pose, width, height)
    visible = int(np.count_nonzero(mask))
    if rect is None:
        return 1.0 if visible == 0 else 0.0
    u0, u1, v0, v1 = rect
    if rays is None:
        rays = world_ray_planes(frame.intrinsics, frame.pose, width, height)
    t = ray_box_entry(frame.pose[:3, 3], rays[:, v0:v1, u0:u1], obj.center, obj.size, obj.yaw)
    depth = frame.depth[v0:v1, u0:u1]
    in_mask = mask[v0:v1, u0:u1]
    occluded = int(np.count_nonzero(np.isfinite(t) & ~in_mask & (depth > 0) & (depth < t - tolerance)))
    if occluded + visible == 0:
        return 1.0
    return occluded / (occluded + visible)


def frame_visibility(objects: list[SceneObject], frame: Frame, config: VisibilityConfig) -> dict[int, Visibility]:
    """Visibility of every object with at least one mask pixel in `frame` (id -> Visibility)."""
    height, width = frame.depth.shape
    out = {}
    rays = None
    for obj in objects:
        mask = frame.instance_masks.get(obj.id)
        if mask is None:
            continue
        if mask.shape != (height, width):
            raise ValueError(
                f"frame {frame.frame_id}: mask of object {obj.id} has shape {mask.shape}, depth has {(height, width)}"
            )
        pixels = int(np.count_nonzero(mask))
        if pixels == 0:
            continue
        area = pixels / float(height * width)
        trunc = truncation(obj, frame.intrinsics, frame.pose, width, height)
        if rays is None:
            rays = world_ray_planes(frame.intrinsics, frame.pose, width, height)
        occ = occlusion(obj, frame, mask, config.depth_tolerance, rays)
        ok = (
            area >= config.min_area
            and pixels >= config.min_pixels
            and trunc <= config.max_truncation
            and occ <= config.max_occlusion
        )
        out[obj.id] = Visibility(obj.id, pixels, area, trunc, occ, ok)
    return out


__all__ = ["VisibilityConfig", "Visibility", "truncation", "occlusion", "frame_visibility"]
