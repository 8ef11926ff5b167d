"""MSMU from any RGB-D scan: posed frames + gravity-aligned 3D boxes -> `Scene`s.

What you provide, per scene:

- frames (`RGBDFrame`): RGB (H, W, 3) uint8, metric depth (H, W) float32 meters along the optical
  axis (0 = invalid), intrinsics (fx, fy, cx, cy, or a 3x3 K) and the 4x4 camera-to-world pose
  (OpenCV camera: x right, y down, z forward; world: meters, z up against gravity);
- boxes (`Box3D`): category, center, size (extents along the box's own x, y and the vertical) and
  yaw about gravity (radians, counter-clockwise seen from above), in the world frame, or in the
  camera frame of one frame (`frame_id`; yaw then counts from that camera's x axis).

What the source derives: each frame's instance masks are the depth pixels whose back-projected 3D
point lies inside a box (enlarged by `box_margin` meters; a pixel inside several boxes goes to the
smallest). Depth is the visible surface, so these masks are depth-tested: an occluded part of a
box has no pixel. Names are the category with the mean colour word of the object's pixels ("white
table"), unless a box names itself. Boxes become the scene graph (`SceneObject`s).

Python API::

    from dataset_builders.msmu import build_msmu
    from dataset_builders.msmu.sources.rgbd import Box3D, RGBDFrame, RGBDSource

    frame = RGBDFrame("0", rgb, depth_m, [fx, fy, cx, cy], camera_to_world)
    boxes = [Box3D("chair", center=[1.0, 2.0, 0.45], size=[0.5, 0.5, 0.9], yaw=0.3)]
    build_msmu(RGBDSource({"my_room": ([frame], boxes)}), "msmu_mine")

Folder layout for `--source rgbd --root DIR` (`RGBDFolderSource`): `DIR/<scene_id>/scene.json`
(or `DIR/scene.json` for one scene) with paths relative to the scene folder::

    {"frames": [{"id": "0", "image": "rgb/0.jpg", "depth": "depth/0.png",
                 "intrinsics": [fx, fy, cx, cy], "pose": [[...4x4 camera-to-world...]]}],
     "boxes": [{"category": "chair", "center": [x, y, z], "size": [sx, sy, sz], "yaw": 0.0,
                "frame": "0" (optional: the box is in that frame's camera frame), "name": "..."}],
     "depth_scale": 1000, "categories": ["chair", ...], "exhaustive_labels": false}

Depth files are 16-bit PNGs in `depth_scale` units per meter (default millimetres) or `.npy` float
meters. `categories` (default: the classes of the boxes) is the existence vocabulary; set
`exhaustive_labels` true only when every object of those classes is boxed.
"""

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..camera import backproject
from ..conventions import DEPTH_UNITS_PER_METER
from ..geometry import yaw_matrix
from ..scene import Frame, Scene, SceneError, SceneObject
from ..validation import check_pose, validate_frame
from .scannet_io import read_image, read_json, read_npy
from .scannet_labels import clean_category, color_name

logger = logging.getLogger(__name__)
MAX_BOX_TILT_DEG = 5.0  # a box whose vertical axis leans more is not gravity-aligned
# A scan has some frame whose camera "down" is within 60 deg of gravity; when none has, the world is
# most likely y-up (ARKit, OpenGL), which no single frame can prove (a top-down shot looks the same).
MIN_DOWN_COMPONENT = 0.5


@dataclass
class RGBDFrame:
    frame_id: str
    image: np.ndarray  # (H, W, 3) uint8 RGB
    depth: np.ndarray  # (H, W) float32 meters, 0 = invalid
    intrinsics: np.ndarray  # (4,) fx, fy, cx, cy, or a 3x3 K
    pose: np.ndarray  # (4, 4) camera-to-world


@dataclass
class Box3D:
    category: str
    center: np.ndarray  # (3,) meters
    size: np.ndarray  # (3,) extents along the box's own x, y (horizontal) and the vertical
    yaw: float = 0.0  # about gravity, radians, counter-clockwise seen from above
    name: str | None = None  # default: colour word + category
    frame_id: str | None = None  # None: world frame; else the camera frame of that frame
    id: int | None = None  # default: position in the list
    attributes: dict = field(default_factory=dict)


def box_from_axes(center, lengths, axes, where: str) -> tuple[np.ndarray, np.ndarray, float]:
    """An oriented box given by its local axes -> (center, size, yaw) of a gravity-aligned box.

    axes (3, 3): column k is the world direction of the box's k-th local axis, `lengths[k]` long.
    The column nearest to world z is the height; yaw is the heading of the first other column.
    Raises ValueError naming `where` when no axis is within `MAX_BOX_TILT_DEG` of vertical.
    """
    axes = np.asarray(axes, np.float64)
    lengths = np.asarray(lengths, np.float64)
    up = int(np.argmax(np.abs(axes[2])))
    tilt = math.degrees(math.acos(min(1.0, abs(float(axes[2, up])) / max(np.linalg.norm(axes[:, up]), 1e-12))))
    if tilt > MAX_BOX_TILT_DEG:
        raise ValueError(f"{where}: box is not gravity-aligned (its most vertical axis leans {tilt:.1f} deg)")
    first, second = [k for k in range(3) if k != up]
    yaw = math.atan2(axes[1, first], axes[0, first])
    return np.asarray(center, np.float64), np.array([lengths[first], lengths[second], lengths[up]]), yaw


def box_masks(depth: np.ndarray, intrinsics, pose: np.ndarray, objects: list[SceneObject],
              margin: float) -> dict[int, np.ndarray]:
    """Object id -> (H, W) bool mask of the valid depth pixels whose 3D point lies in its box
    (enlarged by `margin`); a pixel inside several boxes goes to the smallest box."""
    height, width = depth.shape
    points = backproject(depth, intrinsics, pose)
    valid = np.flatnonzero(np.isfinite(points[:, 0]))
    points = points[valid]
    owner = np.full(height * width, -1, np.int64)
    volume = np.full(height * width, np.inf)
    for obj in objects:
        local = (points - np.asarray(obj.center, np.float64)) @ yaw_matrix(float(obj.yaw))
        inside = np.all(np.abs(local) <= np.asarray(obj.size, np.float64) / 2 + margin, axis=1)
        index = valid[inside]
        size = float(np.prod(obj.size))
        better = index[size < volume[index]]
        owner[better], volume[better] = obj.id, size
    return {int(i): (owner == i).reshape(height, width) for i in np.unique(owner) if i >= 0}


def _world_box(box: Box3D, poses: dict, scene_id: str) -> tuple[np.ndarray, float]:
    center, yaw = np.asarray(box.center, np.float64), float(box.yaw)
    if box.frame_id is None:
        return center, yaw
    if box.frame_id not in poses:
        raise SceneError(f"scene {scene_id}: box {box.category!r} is in the camera frame of frame {box.frame_id!r}, "
                         "which the scene does not have")
    rot, origin = poses[box.frame_id][:3, :3], poses[box.frame_id][:3, 3]
    return rot @ center + origin, yaw + math.atan2(rot[1, 0], rot[0, 0])


def scene_from_rgbd(scene_id: str, frames, boxes: list[Box3D], box_margin: float = 0.02) -> Scene:
    """Frames + boxes -> a `Scene` with depth-tested box masks (see the module docstring).

    Frames are validated first (`validation.validate_frame`: shapes, meters, intrinsics, pose); a
    frame in which no depth pixel falls in any box while many would with the inverted pose raises
    `SceneError` (a world-to-camera pose).
    """
    checked = [validate_frame(scene_id, Frame(str(f.frame_id), f.image, f.depth, f.intrinsics, f.pose, {}), [])
               for f in frames]
    poses = {f.frame_id: f.pose for f in checked}
    if checked and all(f.pose[2, 1] > -MIN_DOWN_COMPONENT for f in checked):
        logger.warning("scene %s: in no frame does the camera's down axis point down (world z component below -%.1f): "
                       "is the world y-up? The pose must be camera-to-world in a world with z up against gravity, "
                       "or above/below answers are wrong", scene_id, MIN_DOWN_COMPONENT)
    objects, given_names = [], {}
    for index, box in enumerate(boxes):
        box = _checked_box(box, f"scene {scene_id}: box {index}")
        category = clean_category(box.category)
        if category is None:
            logger.info("scene %s: box %d (%s) is structure or a placeholder label; skipped", scene_id, index, box.category)
            continue
        center, yaw = _world_box(box, poses, scene_id)
        object_id = index if box.id is None else int(box.id)
        objects.append(SceneObject(id=object_id, category=category, name=category, center=center,
                                   size=np.asarray(box.size, np.float64), yaw=yaw, attributes=dict(box.attributes)))
        if box.name:
            given_names[object_id] = box.name
    out_frames, colors = [], {}
    for frame in checked:
        masks = box_masks(frame.depth, frame.intrinsics, frame.pose, objects, box_margin)
        if objects and not masks:
            _check_not_inverted(scene_id, frame, objects, box_margin)
        for object_id, mask in masks.items():
            total = colors.setdefault(object_id, [np.zeros(3), 0])
            total[0] += frame.image[mask].sum(axis=0)
            total[1] += int(mask.sum())
        out_frames.append(Frame(frame.frame_id, frame.image, frame.depth, frame.intrinsics, frame.pose, masks))
    for obj in objects:
        if obj.id in given_names:
            obj.name = given_names[obj.id]
        elif obj.id in colors:
            color = color_name(colors[obj.id][0] / colors[obj.id][1])
            obj.name, obj.attributes["color"] = f"{color} {obj.category}", color
    return Scene(scene_id=scene_id, objects=objects, frames=out_frames)


def _checked_box(box: Box3D, where: str) -> Box3D:
    """The box with numeric fields as float arrays / floats, or `SceneError` saying what is wrong."""
    try:
        center, size = np.asarray(box.center, np.float64), np.asarray(box.size, np.float64)
        yaw = float(box.yaw)
    except (TypeError, ValueError) as err:
        raise SceneError(f"{where}: center and size must be 3 numbers and yaw a number ({err})") from None
    if center.shape != (3,) or size.shape != (3,) or not np.all(np.isfinite(center)) or not np.all(np.isfinite(size)):
        raise SceneError(f"{where}: center and size must be 3 finite numbers, got {center.tolist()}, {size.tolist()}")
    if np.any(size <= 0) or not math.isfinite(yaw):
        raise SceneError(f"{where}: size must be positive and yaw finite, got {size.tolist()}, {yaw}")
    for name in ("category", "name", "frame_id"):
        value = getattr(box, name)
        if not (isinstance(value, str) or (value is None and name != "category")):
            raise SceneError(f"{where}: {name} must be a string, got {value!r}")
    if box.id is not None and not isinstance(box.id, (int, np.integer)):
        raise SceneError(f"{where}: id must be an integer, got {box.id!r}")
    return Box3D(box.category, center, size, yaw, box.name, box.frame_id, box.id, dict(box.attributes))


def _check_not_inverted(scene_id: str, frame: Frame, objects: list[SceneObject], margin: float) -> None:
    inverted = np.linalg.inv(frame.pose)
    hits = sum(int(m.sum()) for m in box_masks(frame.depth, frame.intrinsics, inverted, objects, margin).values())
    if hits >= max(20, frame.depth.size // 1000):
        raise SceneError(f"scene {scene_id}, frame {frame.frame_id}: no depth pixel lies in any box, but {hits} do "
                         "with the inverted pose: the pose looks world-to-camera (camera-to-world expected)")
    logger.info("scene %s, frame %s: no depth pixel lies in any of the %d boxes", scene_id, frame.frame_id, len(objects))


def _scene_meta(path: Path):
    """The parsed `scene.json`, or `SceneError` naming it when it is not JSON or its
    `categories` is not a list of names."""
    meta = read_json(path)
    names = meta.get("categories") if isinstance(meta, dict) else None
    if names is not None and not (isinstance(names, list) and all(isinstance(c, str) for c in names)):
        raise SceneError(f"{path}: categories must be a list of class names, got {names!r}")
    return meta


def _select(items: list, max_count: int | None) -> list:
    if max_count is None or len(items) <= max_count:
        return list(items)
    return [items[i] for i in np.linspace(0, len(items) - 1, max_count).round().astype(int)]


class RGBDSource:
    """Scenes held in memory: {scene_id: (frames, boxes)}, frames a list of `RGBDFrame` (or a
    callable returning one, for lazy loading) and boxes a list of `Box3D`.

    Args:
        categories: the classes existence negatives are drawn from (default: the boxes' classes).
        exhaustive_labels: whether every object of those classes is boxed (the builder warns if not).
        box_margin: meters by which a box is enlarged when its pixels are collected.
    """

    def __init__(self, scenes: dict, categories=None, exhaustive_labels: bool = False, box_margin: float = 0.02):
        if box_margin < 0:
            raise ValueError(f"box_margin must be >= 0, got {box_margin}")
        self.scenes = dict(scenes)
        self.box_margin = float(box_margin)
        self.exhaustive_labels = bool(exhaustive_labels)
        if categories is None:
            found = {clean_category(b.category) for _, boxes in self.scenes.values() for b in boxes}
            categories = sorted(c for c in found if c)
        self.categories = tuple(categories)

    def scene_ids(self) -> list[str]:
        return list(self.scenes)

    def load(self, scene_id: str) -> Scene:
        frames, boxes = self.scenes[scene_id]
        frames = frames() if callable(frames) else frames
        return scene_from_rgbd(scene_id, frames, boxes, self.box_margin)


def read_depth(path: Path, units_per_meter: float = DEPTH_UNITS_PER_METER) -> np.ndarray:
    """A depth file -> (H, W) float32 meters: a 16-bit PNG (`units_per_meter`) or a float `.npy`."""
    path = Path(path)
    if path.suffix == ".npy":
        depth = read_npy(path)
        if depth.dtype.kind != "f":
            raise SceneError(f"{path}: a .npy depth map must be float meters, got {depth.dtype}")
        return depth.astype(np.float32)
    raw = read_image(path)
    if raw.ndim != 2 or raw.dtype not in (np.uint16, np.int32):
        raise SceneError(f"{path}: expected a single-channel 16-bit depth PNG, got {raw.dtype} {raw.shape}")
    return raw.astype(np.float32) / np.float32(units_per_meter)


class RGBDFolderSource:
    """Scenes in the `--source rgbd` folder layout (see the module docstring).

    Args:
        root: a folder of scene folders, or one scene folder (holding `scene.json`).
        max_frames_per_scene: keep at most this many frames, evenly spread (None = all).
        box_margin: as in `RGBDSource`.
    """

    def __init__(self, root, max_frames_per_scene: int | None = None, box_margin: float = 0.02):
        self.root = Path(root)
        if not self.root.is_dir():
            raise SceneError(f"{self.root}: rgbd root folder is missing")
        if max_frames_per_scene is not None and max_frames_per_scene < 1:
            raise ValueError(f"max_frames_per_scene must be >= 1 or None, got {max_frames_per_scene}")
        self.max_frames_per_scene = max_frames_per_scene
        self.box_margin = float(box_margin)
        if (self.root / "scene.json").is_file():
            self._dirs = {self.root.name: self.root}
        else:
            self._dirs = {p.name: p for p in sorted(self.root.iterdir()) if (p / "scene.json").is_file()}
        # A scene.json that does not read fails that scene's `load` (so `skip_bad_scenes` skips it),
        # not the whole source: it just adds nothing to the vocabulary.
        metas = []
        for folder in self._dirs.values():
            try:
                metas.append(_scene_meta(folder / "scene.json"))
            except SceneError as err:
                logger.warning("%s; its classes are left out of the existence vocabulary", err)
                metas.append(None)
        named = [m.get("categories") for m in metas if isinstance(m, dict) and m.get("categories")]
        if named:
            self.categories = tuple(sorted({clean_category(c) for cs in named for c in cs} - {None}))
        else:
            found = {clean_category(b.get("category", "")) for m in metas if isinstance(m, dict)
                     for b in m.get("boxes", []) if isinstance(b, dict)}
            self.categories = tuple(sorted(found - {None}))
        self.exhaustive_labels = bool(metas) and all(isinstance(m, dict) and m.get("exhaustive_labels") for m in metas)

    def scene_ids(self) -> list[str]:
        return list(self._dirs)

    def load(self, scene_id: str) -> Scene:
        folder = self._dirs[scene_id]
        path = folder / "scene.json"
        meta = _scene_meta(path)
        try:
            scale = float(meta.get("depth_scale", DEPTH_UNITS_PER_METER))
            boxes = [Box3D(category=b["category"], center=b["center"], size=b["size"], yaw=b.get("yaw", 0.0),
                           name=b.get("name"), frame_id=None if b.get("frame") is None else str(b["frame"]),
                           id=b.get("id"))
                     for b in meta["boxes"]]
            entries = [(str(f["id"]), folder / f["image"], folder / f["depth"], np.asarray(f["intrinsics"], np.float64),
                        np.asarray(f["pose"], np.float64)) for f in meta["frames"]]
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise SceneError(f"{path}: missing or malformed field ({err!r}); see the rgbd layout in the dataset card") from err
        if not scale > 0:
            raise SceneError(f"{path}: depth_scale must be > 0 (depth units per meter), got {scale}")
        boxes = [_checked_box(b, f"{path}: boxes[{i}]") for i, b in enumerate(boxes)]
        # Camera-frame boxes go to the world frame first: their frame may not be among those kept.
        poses = {}
        for fid, _, _, _, pose in entries:
            try:
                poses[fid] = check_pose(pose, f"{path} frame {fid}")
            except ValueError as err:
                raise SceneError(str(err)) from None
        for box in boxes:
            box.center, box.yaw = _world_box(box, poses, scene_id)
            box.frame_id = None
        frames = [RGBDFrame(fid, read_image(image, "RGB"), read_depth(depth, scale), k, pose)
                  for fid, image, depth, k, pose in _select(entries, self.max_frames_per_scene)]
        return scene_from_rgbd(scene_id, frames, boxes, self.box_margin)


__all__ = ["RGBDFrame", "Box3D", "RGBDSource", "RGBDFolderSource", "scene_from_rgbd", "box_masks", "box_from_axes",
           "read_depth"]
