"""SUN RGB-D frames for the MSMU pipeline, from the votenet / mmdetection3d export.

Layout: `sunrgbd_trainval/` as votenet's `sunrgbd/matlab/extract_rgbd_data_v2.m` writes it (and
mmdetection3d's `data/sunrgbd` README reuses)::

    root/image/000001.jpg    colour image
    root/depth/000001.mat    variable `instance`: (N, 6) points x y z r g b in upright depth
                             coordinates (x right, y forward, z up), one per valid depth pixel
    root/calib/000001.txt    line 1: Rtilt (9 numbers), line 2: K (9 numbers), both column-major
    root/label/000001.txt    one box a line: class xmin ymin w h cx cy cz w l h ox oy

Facts taken from the public tools (facebookresearch/votenet sunrgbd/sunrgbd_utils.py,
open-mmlab/mmdetection3d tools/dataset_converters/sunrgbd_data_utils.py):

- calib lines reshape with `order='F'`; points and boxes are in the upright depth frame, which
  is tilted by Rtilt from the depth camera: p_camera = flip(Rtilt^T p_upright) with
  flip(x, y, z) = (x, -z, y). So this frame's camera-to-world pose is R = Rtilt @ flip^T, no
  translation: the tilt is in the pose, and "above"/"below" follow gravity.
- label sizes are HALF extents: mmdetection3d's size = 2 * (l, w, h) = 2 * (data[9], data[8],
  data[10]) along the box's own x (the heading), y and z; the heading is
  atan2(oy, ox) counter-clockwise about z (votenet writes -atan2 and rotates by its negative:
  the same box).
- the points come from the depth map with MATLAB's 1-based pixel grid (`meshgrid(1:W, 1:H)` in
  the SUN RGB-D toolbox's read_3d_pts_general.m), so the 0-based principal point is K's minus 1;
  projecting the points back with it gives the depth map at the image's resolution.

Each frame is its own scene (SUN RGB-D has no scans); masks come from the depth pixels inside each
box (`rgbd.scene_from_rgbd`). SUN RGB-D boxes many classes but not every object (no pillows in
many bedrooms), so the existence vocabulary defaults to the ten detection classes and the labels
are marked not exhaustive (the builder warns).
"""

from pathlib import Path

import numpy as np

from ..scene import Scene, SceneError
from .matfile import read_mat_matrix
from .rgbd import Box3D, RGBDFrame, scene_from_rgbd
from .scannet_io import read_image
from .scannet_labels import clean_category

# votenet's type2class / mmdetection3d's SUNRGBDData.classes, as cleaned names.
DETECTION_CLASSES = tuple(clean_category(c) for c in (
    "bed", "table", "sofa", "chair", "toilet", "desk", "dresser", "night_stand", "bookshelf", "bathtub"))
# camera (x right, y down, z forward) <- upright depth (x right, y forward, z up), votenet flip_axis_to_camera
FLIP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def read_calib(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(Rtilt (3, 3), K (3, 3)) from a calib file (two lines of 9 numbers, column-major)."""
    try:
        lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
        rtilt, k = (np.array([float(v) for v in line]).reshape(3, 3, order="F") for line in lines[:2])
    except FileNotFoundError as err:
        raise SceneError(f"{path}: file is missing") from err
    except (ValueError, IndexError) as err:
        raise SceneError(f"{path}: expected two lines of 9 numbers (Rtilt, K) ({err})") from err
    if len(lines) < 2 or not np.allclose(rtilt.T @ rtilt, np.eye(3), atol=1e-3):
        raise SceneError(f"{path}: Rtilt is not a rotation")
    return rtilt, k


def read_labels(path: Path) -> list[Box3D]:
    """Boxes of a label file in the upright depth (world) frame, full sizes, heading as yaw."""
    boxes = []
    try:
        text = path.read_text()
    except FileNotFoundError as err:
        raise SceneError(f"{path}: file is missing") from err
    except (OSError, UnicodeDecodeError) as err:
        raise SceneError(f"{path}: not a readable text file ({err})") from err
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        words = line.split()
        try:
            values = [float(v) for v in words[1:13]]
        except ValueError as err:
            raise SceneError(f"{path}: line {number} has a non-number ({err})") from err
        if len(values) != 12:
            raise SceneError(f"{path}: line {number} needs a class and 12 numbers "
                             f"(xmin ymin w h cx cy cz w l h ox oy), got {len(values)}")
        center = np.array(values[4:7])
        half_w, half_l, half_h = values[7:10]
        size = 2.0 * np.array([half_l, half_w, half_h])
        yaw = float(np.arctan2(values[11], values[10]))
        boxes.append(Box3D(words[0], center, size, yaw, id=number - 1))
    return boxes


def depth_from_points(points: np.ndarray, rtilt: np.ndarray, intrinsics: np.ndarray, shape: tuple) -> np.ndarray:
    """(N, >=3) upright-depth points -> (H, W) float32 depth along the optical axis (nearest
    point per pixel; 0 where none)."""
    cam = points[:, :3] @ (FLIP @ rtilt.T).T
    fx, fy, cx, cy = intrinsics
    z = cam[:, 2]
    keep = z > 1e-3
    u = np.rint(fx * cam[keep, 0] / z[keep] + cx).astype(np.int64)
    v = np.rint(fy * cam[keep, 1] / z[keep] + cy).astype(np.int64)
    z = z[keep]
    inside = (u >= 0) & (u < shape[1]) & (v >= 0) & (v < shape[0])
    depth = np.full(shape, np.inf)
    np.minimum.at(depth, (v[inside], u[inside]), z[inside])
    return np.where(np.isfinite(depth), depth, 0.0).astype(np.float32)


class SUNRGBDSource:
    """SUN RGB-D frames under `root` (`sunrgbd_trainval`, see the module docstring); scene ids are
    the six-digit frame numbers. `box_margin` as in `rgbd.RGBDSource`."""

    categories = DETECTION_CLASSES
    exhaustive_labels = False

    def __init__(self, root, box_margin: float = 0.03):
        self.root = Path(root)
        if (self.root / "sunrgbd_trainval").is_dir():
            self.root = self.root / "sunrgbd_trainval"
        if not (self.root / "label").is_dir():
            raise SceneError(f"{self.root}: no label/ folder (expected the sunrgbd_trainval export layout)")
        self.box_margin = float(box_margin)

    def scene_ids(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "label").glob("*.txt"))

    def load(self, scene_id: str) -> Scene:
        rtilt, k = read_calib(self.root / "calib" / f"{scene_id}.txt")
        image = read_image(self.root / "image" / f"{scene_id}.jpg", "RGB")
        points = read_mat_matrix(self.root / "depth" / f"{scene_id}.mat", "instance")
        if points.ndim != 2 or points.shape[1] < 3:
            raise SceneError(f"{self.root / 'depth' / f'{scene_id}.mat'}: 'instance' must be (N, 6) points, "
                             f"got shape {points.shape}")
        intrinsics = np.array([k[0, 0], k[1, 1], k[0, 2] - 1.0, k[1, 2] - 1.0])  # 1-based -> 0-based
        depth = depth_from_points(points, rtilt, intrinsics, image.shape[:2])
        pose = np.eye(4)
        pose[:3, :3] = rtilt @ FLIP.T
        boxes = read_labels(self.root / "label" / f"{scene_id}.txt")
        return scene_from_rgbd(scene_id, [RGBDFrame(scene_id, image, depth, intrinsics, pose)], boxes, self.box_margin)


__all__ = ["SUNRGBDSource", "DETECTION_CLASSES", "read_calib", "read_labels", "depth_from_points"]
