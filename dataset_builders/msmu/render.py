"""A small numpy ray caster for box rooms: exact metric depth and instance masks, no GPU.

One ray per pixel center (pixel (u, v) looks along ((u - cx) / fx, (v - cy) / fy, 1) in the camera
frame, x right, y down, z forward). Because that direction has unit z, the ray parameter of a hit IS
its depth along the optical axis, so the depth map is exact, not a re-projection.

>>> import numpy as np
>>> room = Room(size=np.array([4.0, 4.0, 3.0]))
>>> cam = camera_pose(np.array([2.0, 0.5, 1.0]), heading=np.pi / 2, pitch=0.0)
>>> out = render_boxes(room, [], np.array([10.0, 10.0, 4.0, 3.0]), cam, 8, 6)
>>> out.depth.shape, float(out.depth[3, 4])  # the far wall at y=4 is 3.5 m ahead
((6, 8), 3.5)
"""

from dataclasses import dataclass, field

import numpy as np

from .camera import box_pixel_rect, camera_pose, pixel_rays, project, world_rays  # noqa: F401  (re-exported)
from .geometry import face_normals, ray_box_hits

# Sunlight-like key light from above and to the side: faces of a box get visibly different shades.
_LIGHT = np.array([0.35, 0.55, 0.76])
_LIGHT = _LIGHT / np.linalg.norm(_LIGHT)


@dataclass
class Room:
    """An axis-aligned room [0, sx] x [0, sy] x [0, sz] (meters, z up) with coloured surfaces."""

    size: np.ndarray
    floor_rgb: tuple = (150, 120, 90)
    wall_rgb: tuple = ((200, 200, 195), (190, 195, 200), (205, 200, 185), (195, 190, 190))
    ceiling_rgb: tuple = (235, 235, 235)
    tile: float = 0.5  # floor tile side in meters: a texture that carries perspective, like real floors


@dataclass
class Box:
    id: int
    center: np.ndarray
    size: np.ndarray
    yaw: float
    rgb: tuple


@dataclass
class Rendering:
    image: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32 meters along the optical axis
    instance: np.ndarray  # (H, W) int32 box id of the visible surface, -1 for room surfaces
    masks: dict = field(default_factory=dict)  # box id -> (H, W) bool


def _room_hits(room: Room, origin: np.ndarray, dirs: np.ndarray):
    """Exit point of rays from inside the room: (t (N,), surface index (N,)): 0-3 walls (x=0,
    x=max, y=0, y=max), 4 floor, 5 ceiling."""
    size = np.asarray(room.size, dtype=np.float64)
    t = np.full(len(dirs), np.inf)
    surface = np.zeros(len(dirs), dtype=np.int8)
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(3):
            d = dirs[:, k].astype(np.float64)
            t_k = np.where(d > 0, (size[k] - origin[k]) / d, -origin[k] / d)
            t_k[d == 0] = np.inf
            better = t_k < t
            t = np.where(better, t_k, t)
            surface = np.where(better, 2 * k + (d > 0), surface)
    return t, surface


def render_boxes(room: Room, boxes: list, intrinsics: np.ndarray, pose: np.ndarray, width: int, height: int) -> Rendering:
    """Ray-cast a room and its boxes from a camera inside the room.

    intrinsics (4,) fx fy cx cy; pose (4, 4) camera-to-world -> `Rendering` with (H, W) maps.
    """
    rot, origin = pose[:3, :3], pose[:3, 3]
    dirs_world = world_rays(intrinsics, pose, width, height)
    depth, surface = _room_hits(room, origin, dirs_world)
    instance = np.full(depth.shape, -1, dtype=np.int32)
    colour = np.zeros(dirs_world.shape, dtype=np.float64)

    # Room colours: a floor with tiles whose shade alternates, walls and ceiling flat.
    points = origin + dirs_world * depth[:, None]
    wall_rgb = np.asarray(room.wall_rgb, dtype=np.float64)
    for index in range(4):
        colour[surface == index] = wall_rgb[index] * 0.9
    colour[surface == 5] = np.asarray(room.ceiling_rgb, dtype=np.float64) * 0.95
    floor = surface == 4
    tiles = (np.floor(points[floor, 0] / room.tile) + np.floor(points[floor, 1] / room.tile)) % 2
    colour[floor] = np.asarray(room.floor_rgb, dtype=np.float64) * (0.82 + 0.18 * tiles)[:, None]

    grid = np.arange(width * height).reshape(height, width)
    for box in boxes:
        rect = box_pixel_rect(box.center, box.size, box.yaw, intrinsics, pose, width, height)
        if rect is None:
            continue
        u0, u1, v0, v1 = rect
        idx = grid[v0:v1, u0:u1].ravel()
        t = ray_box_hits(origin, dirs_world[idx], box.center, box.size, box.yaw)
        closer = t < depth[idx]
        idx, t = idx[closer], t[closer]
        depth[idx] = t
        instance[idx] = box.id
        n = face_normals(origin, dirs_world[idx], t, box.center, box.size, box.yaw)
        shade = 0.45 + 0.55 * np.clip(n @ _LIGHT, 0.0, 1.0)
        colour[idx] = np.asarray(box.rgb, dtype=np.float64) * shade[:, None]

    image = np.clip(colour, 0, 255).astype(np.uint8).reshape(height, width, 3)
    instance = instance.reshape(height, width)
    masks = {box.id: instance == box.id for box in boxes}
    return Rendering(image=image, depth=depth.astype(np.float32).reshape(height, width), instance=instance, masks=masks)


__all__ = ["Room", "Box", "Rendering", "camera_pose", "pixel_rays", "world_rays", "project", "box_pixel_rect", "render_boxes"]
