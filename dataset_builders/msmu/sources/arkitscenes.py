"""ARKitScenes 3DOD scans for the MSMU pipeline: oriented boxes, low-resolution depth, poses.

Layout of the 3DOD download (apple/ARKitScenes threedod/README.md and the data loader
threedod/benchmark_scripts/utils/tenFpsDataLoader.py)::

    root/<video_id>/<video_id>_3dod_annotation.json        boxes: data[i].label and
        data[i].segments.obbAligned.{centroid (3), axesLengths (3), normalizedAxes (9)}
    root/<video_id>/<video_id>_frames/lowres_wide/<video_id>_<ts>.png              RGB
    root/<video_id>/<video_id>_frames/lowres_depth/<video_id>_<ts>.png             uint16 mm
    root/<video_id>/<video_id>_frames/lowres_wide_intrinsics/<video_id>_<ts>.pincam
    root/<video_id>/<video_id>_frames/lowres_wide.traj

`root` is the 3DOD split folder (`.../3dod/Training`), its parent, or one video folder. Facts taken
from the data loader: frame ids are the timestamp part of the depth file names; a `.pincam` is
one line `w h fx fy cx cy`, looked up at the timestamp or +-0.001 s; a `.traj` line is
`ts ax ay az tx ty tz` (rotation as an angle-axis vector), the world-to-camera transform, whose
inverse is the camera-to-world pose (`TrajStringToMatrix`), keyed by the timestamp rounded to 3
decimals and matched within 0.005 s; depth is millimetres (`/ 1000`); depth pixels back-project
OpenCV-style (`generate_point`). Boxes are in the same world frame, z up (box_utils.py rotates
boxes about z), with FULL sizes (`extract_gt`: "full-sizes (no halving!)"); box corners are
`normalizedAxes.reshape(3, 3).T @ local` (`compute_box_3d`), so the rows of that matrix are
the box's axes in the world. Unknown labels are skipped as `extract_gt` does.

Videos held sideways or upside down (ARKitScenes records the sky direction) are turned upright by
quarter turns chosen from the pose, as threedod/benchmark_scripts/rectify_im.py does, with the
intrinsics and pose turned alike. Masks come from the depth pixels inside each box
(`rgbd.scene_from_rgbd`). The 3DOD annotation
boxes every instance of its 17 classes, so those are the existence vocabulary and the labels count
as exhaustive for them.
"""

import logging
import math
from pathlib import Path

import numpy as np
from PIL import Image

from ..camera import rotate_quarter, scale_intrinsics, upright_turns
from ..scene import Scene, SceneError
from .rgbd import Box3D, RGBDFrame, box_from_axes, read_depth, scene_from_rgbd
from .scannet import _select_frames
from .scannet_io import read_image, read_json
from .scannet_labels import clean_category

logger = logging.getLogger(__name__)

# threedod/benchmark_scripts/utils/taxonomy.py class_names
CLASS_NAMES = ("cabinet", "refrigerator", "shelf", "stove", "bed", "sink", "washer", "toilet", "bathtub", "oven",
               "dishwasher", "fireplace", "stool", "chair", "table", "tv_monitor", "sofa")


def angle_axis_matrix(vector) -> np.ndarray:
    """Rodrigues: an angle-axis vector (radians) -> (3, 3) rotation."""
    vector = np.asarray(vector, np.float64)
    angle = float(np.linalg.norm(vector))
    if angle < 1e-12:
        return np.eye(3)
    x, y, z = vector / angle
    cross = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]])
    return np.eye(3) + math.sin(angle) * cross + (1 - math.cos(angle)) * cross @ cross


def read_traj(path: Path) -> dict[str, np.ndarray]:
    """timestamp ("%.3f") -> (4, 4) camera-to-world, from a `.traj` file."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError as err:
        raise SceneError(f"{path}: file is missing") from err
    except (OSError, UnicodeDecodeError) as err:
        raise SceneError(f"{path}: not a readable text file ({err})") from err
    poses = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            values = [float(v) for v in line.split()]
        except ValueError as err:
            raise SceneError(f"{path}: line {number} is not numbers ({err})") from err
        if len(values) != 7:
            raise SceneError(f"{path}: line {number} needs 7 numbers (ts, angle-axis, translation), got {len(values)}")
        world_to_camera = np.eye(4)
        world_to_camera[:3, :3] = angle_axis_matrix(values[1:4])
        world_to_camera[:3, 3] = values[4:7]
        poses[f"{round(values[0], 3):.3f}"] = np.linalg.inv(world_to_camera)
    return poses


def read_pincam(path: Path) -> tuple[tuple[int, int], np.ndarray]:
    """((width, height), (fx, fy, cx, cy)) from a `.pincam` line `w h fx fy cx cy`."""
    try:
        values = [float(v) for v in path.read_text().split()]
    except FileNotFoundError as err:
        raise SceneError(f"{path}: file is missing") from err
    except ValueError as err:
        raise SceneError(f"{path}: not numbers ({err})") from err
    if len(values) != 6:
        raise SceneError(f"{path}: expected 6 numbers (w h fx fy cx cy), got {len(values)}")
    return (int(values[0]), int(values[1])), np.array(values[2:6])


def read_annotation(path: Path) -> list[Box3D]:
    """Gravity-aligned boxes of a `*_3dod_annotation.json` (unknown labels skipped)."""
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise SceneError(f"{path}: expected an object with a 'data' list of boxes")
    if data.get("skipped"):
        raise SceneError(f"{path}: the annotation is marked 'skipped' (the scan was not annotated)")
    boxes = []
    for index, item in enumerate(data["data"]):
        try:
            label = str(item["label"])
            obb = item["segments"]["obbAligned"]
            center, lengths = np.asarray(obb["centroid"], np.float64), np.asarray(obb["axesLengths"], np.float64)
            axes = np.asarray(obb["normalizedAxes"], np.float64).reshape(3, 3).T
        except (KeyError, TypeError, ValueError) as err:
            raise SceneError(f"{path}: data[{index}] needs label and segments.obbAligned "
                             f"(centroid, axesLengths, normalizedAxes) ({err!r})") from err
        if "_".join(label.replace("-", " ").replace("/", " ").split()) not in CLASS_NAMES:
            logger.info("%s: data[%d] has the unknown label %r; skipped", path, index, label)
            continue
        try:
            center, size, yaw = box_from_axes(center, lengths, axes, f"{path} data[{index}] ({label})")
        except ValueError as err:
            raise SceneError(str(err)) from None
        boxes.append(Box3D(label, center, size, yaw, id=index))
    return boxes


class ARKitScenesSource:
    """ARKitScenes 3DOD videos under `root` (see the module docstring).

    Args:
        root: the split folder, its parent, or one video folder.
        max_frames_per_scene: keep at most this many frames, evenly spread over the video.
        box_margin: as in `rgbd.RGBDSource`.
    """

    categories = tuple(clean_category(c) for c in CLASS_NAMES)
    exhaustive_labels = True

    def __init__(self, root, max_frames_per_scene: int | None = 12, box_margin: float = 0.03):
        self.root = Path(root)
        if not self.root.is_dir():
            raise SceneError(f"{self.root}: ARKitScenes root folder is missing")
        self.max_frames_per_scene = max_frames_per_scene
        self.box_margin = float(box_margin)
        folders = [self.root] + sorted(p for p in self.root.iterdir() if p.is_dir())
        folders += [q for p in folders[1:] for q in sorted(p.iterdir()) if q.is_dir()]  # Training/<video>
        self._dirs = {p.name: p for p in folders if (p / f"{p.name}_3dod_annotation.json").is_file()}

    def scene_ids(self) -> list[str]:
        return sorted(self._dirs)

    def load(self, scene_id: str) -> Scene:
        folder = self._dirs[scene_id]
        frames_dir = folder / f"{scene_id}_frames"
        boxes = read_annotation(folder / f"{scene_id}_3dod_annotation.json")
        poses = read_traj(frames_dir / "lowres_wide.traj")
        stamps = [p.stem.split("_")[1] for p in (frames_dir / "lowres_depth").glob(f"{scene_id}_*.png")]
        if not stamps:
            raise SceneError(f"{frames_dir / 'lowres_depth'}: no depth frames")
        frames = []
        for stamp in _select_frames(stamps, 1, self.max_frames_per_scene):
            pose = _nearest(poses, stamp)
            if pose is None:
                logger.info("%s: skipping frame %s (no pose in lowres_wide.traj)", scene_id, stamp)
                continue
            pincam = _pincam_path(frames_dir, scene_id, stamp)
            (width, height), intrinsics = read_pincam(pincam)
            image = read_image(frames_dir / "lowres_wide" / f"{scene_id}_{stamp}.png", "RGB")
            depth = read_depth(frames_dir / "lowres_depth" / f"{scene_id}_{stamp}.png")
            if image.shape[:2] != (height, width):
                raise SceneError(f"{pincam}: intrinsics are for {width}x{height}, the image is "
                                 f"{image.shape[1]}x{image.shape[0]}")
            if image.shape[:2] != depth.shape:
                sx, sy = depth.shape[1] / width, depth.shape[0] / height
                image = np.asarray(Image.fromarray(image).resize(depth.shape[::-1], Image.BILINEAR))
                intrinsics = scale_intrinsics(intrinsics, sx, sy)
            turns = upright_turns(pose)  # videos shot sideways or upside down are turned upright
            image, depth, intrinsics, pose = rotate_quarter(image, depth, intrinsics, pose, turns)
            frames.append(RGBDFrame(stamp, image, depth, intrinsics, pose))
        return scene_from_rgbd(scene_id, frames, boxes, self.box_margin)


def _nearest(poses: dict, stamp: str):
    if stamp in poses:
        return poses[stamp]
    close = [k for k in poses if abs(float(k) - float(stamp)) < 0.005]
    return poses[min(close, key=lambda k: abs(float(k) - float(stamp)))] if close else None


def _pincam_path(frames_dir: Path, scene_id: str, stamp: str) -> Path:
    folder = frames_dir / "lowres_wide_intrinsics"
    for candidate in (stamp, f"{float(stamp) - 0.001:.3f}", f"{float(stamp) + 0.001:.3f}"):
        path = folder / f"{scene_id}_{candidate}.pincam"
        if path.is_file():
            return path
    raise SceneError(f"{folder / f'{scene_id}_{stamp}.pincam'}: file is missing (also tried +-0.001 s)")


__all__ = ["ARKitScenesSource", "CLASS_NAMES", "angle_axis_matrix", "read_traj", "read_pincam", "read_annotation"]
