"""Pinhole camera geometry: pixel rays, projection, back-projection and intrinsics conversions.

Conventions (see `scene.py`): camera frame x right, y down, z forward (OpenCV); a pose is the 4x4
camera-to-world matrix; intrinsics are (fx, fy, cx, cy) in pixels with pixel centres at integer
coordinates.

>>> intrinsics_vector(np.array([[500.0, 0, 320], [0, 510, 240], [0, 0, 1]])).tolist()
[500.0, 510.0, 320.0, 240.0]
>>> pts = backproject(np.full((2, 2), 2.0, np.float32), np.array([1.0, 1.0, 0.5, 0.5]), np.eye(4))
>>> pts[0].round(3).tolist(), pts[3].round(3).tolist()
([-1.0, -1.0, 2.0], [1.0, 1.0, 2.0])
"""

import numpy as np

from .geometry import box_corners, rotate_components

_NEAR = 1e-3


def intrinsics_vector(intrinsics) -> np.ndarray:
    """(4,) fx, fy, cx, cy from 4 numbers, a 3x3 K or a 4x4 K (ScanNet's `intrinsic_*.txt`).

    Raises ValueError naming the shape for anything else, or when K is not a pinhole matrix (skew,
    a last row other than 0 0 1)."""
    try:
        k = np.asarray(intrinsics, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"intrinsics must be numbers ({err})") from None
    if k.shape == (4,):
        return k.copy()
    if k.shape in ((3, 3), (4, 4)):
        k3 = k[:3, :3]
        if abs(k3[0, 1]) > 1e-6 * abs(k3[0, 0]) or not np.allclose(k3[2], [0, 0, 1]) or k3[1, 0] != 0:
            raise ValueError(f"intrinsics matrix is not a pinhole K [[fx,0,cx],[0,fy,cy],[0,0,1]]: {k3.tolist()}")
        return np.array([k3[0, 0], k3[1, 1], k3[0, 2], k3[1, 2]])
    raise ValueError(f"intrinsics must be 4 numbers (fx, fy, cx, cy) or a 3x3 / 4x4 K matrix, got shape {k.shape}")


def scale_intrinsics(intrinsics, sx: float, sy: float) -> np.ndarray:
    """Intrinsics of an image resized by (sx, sy): pixel centres sit at integer coordinates, so
    cx maps as (cx + 0.5) * sx - 0.5."""
    fx, fy, cx, cy = intrinsics_vector(intrinsics)
    return np.array([fx * sx, fy * sy, (cx + 0.5) * sx - 0.5, (cy + 0.5) * sy - 0.5])


def backproject(depth: np.ndarray, intrinsics, pose: np.ndarray) -> np.ndarray:
    """(H, W) depth along the optical axis (meters, 0 = invalid) -> (H * W, 3) world points,
    row-major over pixels; invalid pixels give NaN rows."""
    height, width = depth.shape
    rays = pixel_rays(intrinsics, width, height)
    z = np.where(depth > 0, depth, np.nan).reshape(-1, 1).astype(np.float64)
    cam = rays * z
    return cam @ np.asarray(pose, dtype=np.float64)[:3, :3].T + np.asarray(pose, dtype=np.float64)[:3, 3]


def rotate_quarter(image: np.ndarray, depth: np.ndarray, intrinsics, pose: np.ndarray, turns: int):
    """Turn a frame by `turns` x 90 degrees counter-clockwise (`np.rot90`), keeping it consistent:
    (image, depth, intrinsics, pose) of the turned frame. A pixel (u', v') of the turned image is
    (W - 1 - v', u') of the old one, so the new camera axes are x' = y, y' = -x, z' = z."""
    fx, fy, cx, cy = intrinsics_vector(intrinsics)
    pose = np.asarray(pose, np.float64).copy()
    to_old = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    for _ in range(turns % 4):
        width = depth.shape[1]
        fx, fy, cx, cy = fy, fx, cy, width - 1 - cx
        image, depth = np.rot90(image), np.rot90(depth)
        pose[:3, :3] = pose[:3, :3] @ to_old
    return np.ascontiguousarray(image), np.ascontiguousarray(depth), np.array([fx, fy, cx, cy]), pose


def upright_turns(pose: np.ndarray) -> int:
    """The quarter turns (`rotate_quarter`) after which the camera's down axis points most down
    in a z-up world (as ARKitScenes' threedod/benchmark_scripts/rectify_im.py decides it)."""
    rot = np.asarray(pose, np.float64)[:3, :3]
    to_old = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    downs = [(rot @ np.linalg.matrix_power(to_old, k))[2, 1] for k in range(4)]
    return int(np.argmin(downs))


def camera_pose(position: np.ndarray, heading: float, pitch: float) -> np.ndarray:
    """(4, 4) camera-to-world pose of a level camera at `position` looking along `heading` (radians
    from world +x, counter-clockwise) tilted down by `pitch` radians."""
    forward = np.array([np.cos(pitch) * np.cos(heading), np.cos(pitch) * np.sin(heading), -np.sin(pitch)])
    right = np.array([np.sin(heading), -np.cos(heading), 0.0])
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([right, down, forward], axis=1)
    pose[:3, 3] = position
    return pose


def pixel_rays(intrinsics: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H * W, 3) camera-frame ray directions with unit z, row-major over pixels."""
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    return np.stack([(u.ravel() - cx) / fx, (v.ravel() - cy) / fy, np.ones(u.size)], axis=1)


def world_rays(intrinsics: np.ndarray, pose: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H * W, 3) float32 world-frame ray directions (unit camera z), row-major over pixels."""
    return world_ray_planes(intrinsics, pose, width, height).reshape(3, -1).T.copy()


def world_ray_planes(intrinsics: np.ndarray, pose: np.ndarray, width: int, height: int) -> np.ndarray:
    """(3, H, W) float32: the x, y, z planes of `world_rays`, bit for bit. A camera ray is
    ((u - cx) / fx, (v - cy) / fy, 1), so each world component is a column term plus a row term plus
    a constant: built by broadcasting, from W + H numbers instead of H * W rays."""
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    across = ((np.arange(width, dtype=np.float64) - cx) / fx).astype(np.float32)
    down = ((np.arange(height, dtype=np.float64) - cy) / fy).astype(np.float32)
    one = np.ones(1, np.float32)
    planes = rotate_components((across[None, :], down[:, None], one[:, None]), np.asarray(pose)[:3, :3])
    return np.stack([np.broadcast_to(p, (height, width)) for p in planes])


def project(points_world: np.ndarray, intrinsics: np.ndarray, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World points (N, 3) -> (pixel uv (N, 2), camera depth z (N,))."""
    cam = (points_world - pose[:3, 3]) @ pose[:3, :3]
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    z = cam[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = np.stack([fx * cam[:, 0] / z + cx, fy * cam[:, 1] / z + cy], axis=1)
    return uv, z


def box_pixel_rect(box_center, box_size, yaw, intrinsics, pose, width, height):
    """Bounding pixel rectangle (u0, u1, v0, v1), end-exclusive, of a box's projection, clipped to
    the image; the whole image when part of the box lies behind the camera; None when off-image."""
    uv, z = project(box_corners(box_center, box_size, yaw), intrinsics, pose)
    if np.all(z <= _NEAR):
        return None
    if np.any(z <= _NEAR):
        return 0, width, 0, height
    u0, v0 = np.floor(uv.min(axis=0)).astype(int)
    u1, v1 = np.ceil(uv.max(axis=0)).astype(int) + 1
    u0, v0, u1, v1 = max(u0, 0), max(v0, 0), min(u1, width), min(v1, height)
    if u0 >= u1 or v0 >= v1:
        return None
    return u0, u1, v0, v1


__all__ = ["intrinsics_vector", "scale_intrinsics", "backproject", "rotate_quarter", "upright_turns", "camera_pose", "pixel_rays", "world_rays", "world_ray_planes",
           "project", "box_pixel_rect"]
