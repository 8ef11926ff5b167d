"""Checks on every frame where it enters the pipeline: bad inputs fail loudly, naming scene and frame.

A source may hand over frames with the usual mistakes of RGB-D data (masks loaded from PNGs as
0/255, depth in millimetres, a transposed image, a 3x3 K, a world-to-camera pose); each of these
produced silently wrong questions before. `validate_frame` returns the frame with its intrinsics as
(fx, fy, cx, cy) (a 3x3 or 4x4 K is converted) and NaN depth as 0 (invalid), and raises `SceneError`
(so `skip_bad_scenes` skips the scene) for anything else that does not hold:

- image (H, W, 3) uint8 and depth (H, W) float meters of the same H, W;
- depth finite where valid, >= 0, with some valid pixel, and plausible in meters: a median valid
  depth above `MAX_MEDIAN_DEPTH` meters is millimetre-like and refused with a hint;
- intrinsics with positive focal lengths and the principal point near the image centre
  (`principal_point_problem`: intrinsics of another resolution fail);
- pose a rigid camera-to-world transform (orthonormal rotation, det +1, last row 0 0 0 1) with
  gravity along world -z: the camera's down axis must not point up (`MAX_DOWN_AXIS_UP`), which an
  upside-down world or a world-to-camera pose gives;
- instance masks boolean (H, W) for known object ids; objects with mask pixels whose boxes all
  lie behind the camera mean the pose is inverted.

>>> import numpy as np
>>> from .scene import Frame
>>> frame = Frame("0", np.zeros((4, 6, 3), np.uint8), np.full((4, 6), 2000.0, np.float32),
...               np.array([5.0, 5.0, 3.0, 2.0]), np.eye(4), {})
>>> validate_frame("scene0", frame, [])
Traceback (most recent call last):
...
dataset_builders.msmu.scene.SceneError: scene scene0, frame 0: depth looks like millimetres (median 2000 m); pass meters (e.g. `depth_units_to_meters(png)`, which divides by 1000)
"""

import dataclasses

import numpy as np

from .camera import intrinsics_vector
from .scene import Frame, SceneError, SceneObject

MAX_MEDIAN_DEPTH = 20.0  # meters: indoor RGB-D frames have median depths of 1-5 m
MAX_DEPTH = 1000.0  # meters: larger valid values are corrupt (the model's plausible range is far below)
MAX_DOWN_AXIS_UP = 0.5  # cos(60 deg): the camera's "down" may point at most this much up in the world
RIGID_TOLERANCE = 1e-3
MAX_PRINCIPAL_OFFSET = 0.25  # |cx - W/2| <= 0.25 W (and the same for cy): real cameras sit near the centre


def _fail(scene_id: str, frame_id, message: str):
    raise SceneError(f"scene {scene_id}, frame {frame_id}: {message}")


def principal_point_problem(intrinsics, width: int, height: int) -> str | None:
    """Why (fx, fy, cx, cy) cannot belong to a `width` x `height` image, or None: the principal
    point must lie within `MAX_PRINCIPAL_OFFSET` of the image size from its centre, which catches
    intrinsics of another resolution (a colour K with depth frames, a resized image)."""
    cx, cy = float(intrinsics[2]), float(intrinsics[3])
    if abs(cx - width / 2) > MAX_PRINCIPAL_OFFSET * width or abs(cy - height / 2) > MAX_PRINCIPAL_OFFSET * height:
        return (f"principal point ({cx:.1f}, {cy:.1f}) is far from the centre of the {width}x{height} image: "
                "the intrinsics are for another resolution")
    return None


def check_pose(pose, where: str, gravity: bool = True) -> np.ndarray:
    """(4, 4) float64 camera-to-world, or ValueError saying `where` and what is wrong; `gravity`
    also checks that the camera is not upside down in a z-up world."""
    try:
        pose = np.asarray(pose, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: pose must be a 4x4 matrix of numbers ({err})") from None
    if pose.shape != (4, 4):
        raise ValueError(f"{where}: pose must be a 4x4 camera-to-world matrix, got shape {pose.shape}")
    if not np.all(np.isfinite(pose)):
        raise ValueError(f"{where}: pose has non-finite entries")
    if not np.allclose(pose[3], [0, 0, 0, 1], atol=RIGID_TOLERANCE):
        raise ValueError(f"{where}: pose's last row must be 0 0 0 1, got {pose[3].tolist()}")
    rot = pose[:3, :3]
    det = float(np.linalg.det(rot))
    if abs(det) < 1e-6:
        raise ValueError(f"{where}: pose rotation is singular (det {det:.3g})")
    if np.abs(rot.T @ rot - np.eye(3)).max() > RIGID_TOLERANCE or det < 0:
        raise ValueError(f"{where}: pose is not a rigid transform (rotation not orthonormal with det +1; det {det:.4f})")
    if gravity and rot[2, 1] > MAX_DOWN_AXIS_UP:
        raise ValueError(
            f"{where}: the camera's down axis points up in the world (z component {rot[2, 1]:.2f}); the pose "
            "must be camera-to-world (OpenCV camera: x right, y down, z forward) in a world with z up "
            "(is it world-to-camera, or an OpenGL camera?)"
        )
    return pose


def validate_frame(scene_id: str, frame: Frame, objects: list[SceneObject]) -> Frame:
    """The checked frame (intrinsics as 4 numbers, NaN depth as 0); `SceneError` naming scene and frame."""
    fid = frame.frame_id
    image, depth = np.asarray(frame.image), np.asarray(frame.depth)
    if depth.ndim != 2:
        _fail(scene_id, fid, f"depth must be (H, W), got shape {depth.shape}")
    if depth.dtype.kind in "iub":
        _fail(scene_id, fid, f"depth is {depth.dtype}; pass float meters (16-bit millimetre PNGs: `depth_units_to_meters`)")
    height, width = depth.shape
    if image.ndim != 3 or image.shape[2] != 3:
        _fail(scene_id, fid, f"image must be (H, W, 3) RGB, got shape {image.shape}")
    if image.dtype != np.uint8:
        _fail(scene_id, fid, f"image must be uint8 RGB (0-255), got {image.dtype}")
    if image.shape[:2] != (height, width):
        hint = " (transposed?)" if image.shape[:2] == (width, height) else ""
        _fail(scene_id, fid, f"image is {image.shape[1]}x{image.shape[0]} but depth is {width}x{height}{hint}")
    depth = np.where(np.isnan(depth), 0, depth).astype(np.float32)
    if np.isinf(depth).any() or (depth < 0).any():
        _fail(scene_id, fid, "depth has negative or infinite values (0 marks invalid pixels)")
    valid = depth[depth > 0]
    if valid.size == 0:
        _fail(scene_id, fid, "depth has no valid pixel (all zero)")
    median = float(np.median(valid))
    if median > MAX_MEDIAN_DEPTH:
        _fail(scene_id, fid, f"depth looks like millimetres (median {median:.0f} m); pass meters "
                             "(e.g. `depth_units_to_meters(png)`, which divides by 1000)")
    if float(valid.max()) > MAX_DEPTH:
        _fail(scene_id, fid, f"depth has implausible values up to {float(valid.max()):.3g} m")
    try:
        intrinsics = intrinsics_vector(frame.intrinsics)
    except ValueError as err:
        _fail(scene_id, fid, str(err))
    fx, fy, cx, cy = intrinsics
    if not np.all(np.isfinite(intrinsics)) or fx <= 0 or fy <= 0:
        _fail(scene_id, fid, f"intrinsics need finite positive focal lengths, got {intrinsics.tolist()}")
    problem = principal_point_problem(intrinsics, width, height)
    if problem:
        _fail(scene_id, fid, problem)
    try:
        pose = check_pose(frame.pose, f"scene {scene_id}, frame {fid}")
    except ValueError as err:
        raise SceneError(str(err)) from None
    by_id = {o.id: o for o in objects}
    masks = {}
    for object_id, mask in frame.instance_masks.items():
        mask = np.asarray(mask)
        if object_id not in by_id:
            _fail(scene_id, fid, f"mask for object id {object_id}, which the scene does not have")
        if mask.dtype != np.bool_:
            values = np.unique(mask)[:4].tolist()
            _fail(scene_id, fid, f"mask of object {object_id} is {mask.dtype} (values {values}...), not boolean; "
                                 "pass `mask > 0` for masks loaded from images")
        if mask.shape != (height, width):
            _fail(scene_id, fid, f"mask of object {object_id} has shape {mask.shape}, depth has {(height, width)}")
        masks[object_id] = mask
    seen = [by_id[i] for i, m in masks.items() if m.any()]
    if seen:
        z = np.array([(np.asarray(o.center, np.float64) - pose[:3, 3]) @ pose[:3, 2] for o in seen])
        if np.all(z < 0):
            _fail(scene_id, fid, f"all {len(seen)} objects with mask pixels lie behind the camera: is the pose "
                                 "world-to-camera? (camera-to-world expected)")
    return dataclasses.replace(frame, image=image, depth=depth, intrinsics=intrinsics.astype(np.float32),
                               pose=pose, instance_masks=masks)


def validate_objects(scene_id: str, objects: list[SceneObject]) -> None:
    """Unique ids, finite centres, positive finite sizes; `SceneError` naming the object."""
    seen = set()
    for obj in objects:
        if obj.id in seen:
            raise SceneError(f"scene {scene_id}: object id {obj.id} appears twice")
        seen.add(obj.id)
        center, size = np.asarray(obj.center, np.float64), np.asarray(obj.size, np.float64)
        if center.shape != (3,) or size.shape != (3,) or not np.all(np.isfinite(center)) or not np.all(np.isfinite(size)):
            raise SceneError(f"scene {scene_id}: object {obj.id} ({obj.category}) needs a finite center and size of 3 numbers")
        if np.any(size <= 0):
            raise SceneError(f"scene {scene_id}: object {obj.id} ({obj.category}) has a non-positive size {size.tolist()}")
        if not np.isfinite(obj.yaw):
            raise SceneError(f"scene {scene_id}: object {obj.id} ({obj.category}) has a non-finite yaw")


__all__ = ["validate_frame", "validate_objects", "check_pose", "principal_point_problem", "MAX_MEDIAN_DEPTH", "MAX_DEPTH", "MAX_DOWN_AXIS_UP"]
