"""ScanNet scene sources for the MSMU pipeline.

`ScanNetSource(root)` reads scenes in the layout of ScanNet's official export (``SensorData.py``
for frames, the released meshes and annotations beside them)::

    root/scene0000_00/
        color/<i>.jpg                 colour frames
        depth/<i>.png                 uint16 depth, millimetres (`depth_scale`), 0 = no reading
        pose/<i>.txt                  4x4 camera-to-world (raw scan frame); -inf rows = untracked
        intrinsic/intrinsic_depth.txt 4x4 depth-camera intrinsics (intrinsic_color.txt, extrinsic_*)
        scene0000_00_vh_clean_2.ply                mesh, vertex colours
        scene0000_00_vh_clean_2.0.010000.segs.json per-vertex segment ids
        scene0000_00.aggregation.json              objects: objectId, label, segments
        scene0000_00.txt                           axisAlignment = 16 numbers

What it produces (see `..scene` for the conventions):

- World frame = ScanNet's axis-aligned (gravity-aligned) frame: vertices and poses are mapped with
  ``axisAlignment``, so ``Frame.pose = axis_align @ camera_to_world``.
- Objects: one per aggregation group whose label is an object (`clean_category`); the box is the
  axis-aligned bounding box of its vertices in that frame (``yaw = 0``: ScanNet's benchmark boxes
  are axis-aligned too); ``name`` = mean vertex colour word + category ("white table"), so the
  pipeline can tell apart two tables of different colours.
- Frames: every `frame_skip`-th frame, at most `max_frames_per_scene` of them spread evenly. They
  come at the DEPTH resolution (640x480 in ScanNet) with the depth intrinsics: the colour image is
  resized to it, since upsampling depth would invent mixed depths at edges. The depth and colour
  cameras are treated as registered, as the usual ScanNet 2D-3D projection code does; the
  ``extrinsic_*`` files are not read.
- Masks: the labelled mesh is rasterised into each frame with a z-buffer (all faces occlude,
  walls included), then depth-tested against the sensor depth: a pixel stays in an object's mask
  where the sensor has no reading or agrees with the mesh within `depth_tolerance` meters, which
  removes what the mesh does not know (people, moved objects) and misregistered edges.

`ScanNetPointCloudSource(scene_dir)` reads the compact layout of ``../shared/data/scannet_scene0000_00``
(``scene.json`` with posed frames, intrinsics, axis alignment and annotated boxes, plus a labelled
point cloud in the aligned frame, no depth maps): depth and masks are rendered from the points by
z-buffer splatting. `ScanNetSource` detects that layout per scene folder and delegates to it.

Missing or corrupt files raise `SceneError` naming the file.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..scene import Frame, Scene, SceneError, SceneObject
from ..validation import check_pose, principal_point_problem
from .rasterize import label_masks, rasterize_triangles, splat_points, transform
from .scannet_io import (read_aggregation, read_axis_alignment, read_image, read_json, read_matrix,
                         read_npy, read_pose, read_ply, read_segments)
from .scannet_labels import BENCHMARK_CATEGORIES, clean_category, color_name

logger = logging.getLogger(__name__)


def _frame_order(stem: str):
    """Numeric frame names sort numerically ("2" before "10", ARKitScenes' "9999.950" before
    "10000.050"); others lexically after them."""
    return (0, float(stem), "") if stem.replace(".", "", 1).isdigit() else (1, 0, stem)


def _select_frames(frame_ids: list[str], frame_skip: int, max_frames: int | None) -> list[str]:
    """Every `frame_skip`-th frame, then at most `max_frames` of them evenly spread."""
    chosen = sorted(frame_ids, key=_frame_order)[::frame_skip]
    if max_frames is not None and len(chosen) > max_frames:
        chosen = [chosen[i] for i in np.linspace(0, len(chosen) - 1, max_frames).round().astype(int)]
    return chosen


class LazyFrames(Sequence):
    """A re-iterable list of frames that loads (and renders) each frame only when indexed."""

    def __init__(self, frame_ids: list[str], load_frame: Callable[[str], Frame]):
        self.frame_ids = list(frame_ids)
        self._load_frame = load_frame

    def __len__(self) -> int:
        return len(self.frame_ids)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self._load_frame(self.frame_ids[index])


def _make_object(object_id: int, category: str, points: np.ndarray | None, colors: np.ndarray | None,
                 max_points: int, center=None, size=None) -> SceneObject:
    """A SceneObject from its aligned-frame points (N, 3) and colours (N, 3); the box is their
    bounding box unless given. Without points (a box with no geometry) it has no colour word."""
    if center is None or size is None:
        low, high = points.min(0), points.max(0)
        center, size = (low + high) / 2, high - low
    if points is None:
        return SceneObject(id=int(object_id), category=category, name=category,
                           center=np.asarray(center, np.float64), size=np.asarray(size, np.float64))
    color = color_name(colors.mean(0))
    stride = max(1, int(np.ceil(len(points) / max_points)))
    return SceneObject(id=int(object_id), category=category, name=f"{color} {category}",
                       center=np.asarray(center, np.float64), size=np.asarray(size, np.float64),
                       yaw=0.0, attributes={"color": color}, points=points[::stride].copy())


def _validate_options(frame_skip, max_frames_per_scene, max_object_points):
    if int(frame_skip) < 1:
        raise ValueError(f"frame_skip must be >= 1, got {frame_skip}")
    if max_frames_per_scene is not None and int(max_frames_per_scene) < 1:
        raise ValueError(f"max_frames_per_scene must be >= 1 or None, got {max_frames_per_scene}")
    if int(max_object_points) < 1:
        raise ValueError(f"max_object_points must be >= 1, got {max_object_points}")


class ScanNetPointCloudSource:
    """One scene in the compact point-cloud layout (``scene.json`` + ``points_*.npy``).

    Args:
        scene_dir: the folder holding ``scene.json``, ``points_xyzrgb.npy`` (N, 6: xyz in the
            aligned frame, rgb 0..255), ``points_ins_label.npy`` (N,) and ``color/``.
        image_scale: frames are rendered at this fraction of the colour resolution (the image is
            resized and the intrinsics scaled with it): splatting cost grows with the pixel count.
        point_radius: surfel half-width in meters, about the cloud's point spacing.
        max_frames_per_scene / frame_skip: frame selection, as in `ScanNetSource`.
        box_match_tolerance: a box takes the point instance whose bounding box matches its own
            within this many meters (center and size, max norm); boxes without one get no mask.

    Its boxes cover only the 18 benchmark classes, so `categories` (the builder's vocabulary for
    existence negatives) is limited to them: a television in view has no box, and "Is there a
    tv?" must not be answered "No".
    """

    categories = BENCHMARK_CATEGORIES

    def __init__(self, scene_dir, image_scale: float = 0.5, point_radius: float = 0.03,
                 max_radius_px: int = 16, frame_skip: int = 1, max_frames_per_scene: int | None = None,
                 box_match_tolerance: float = 0.05, max_object_points: int = 2048):
        if not 0 < image_scale <= 1:
            raise ValueError(f"image_scale must be in (0, 1], got {image_scale}")
        if point_radius <= 0:
            raise ValueError(f"point_radius must be > 0, got {point_radius}")
        _validate_options(frame_skip, max_frames_per_scene, max_object_points)
        self.scene_dir = Path(scene_dir)
        self.image_scale = float(image_scale)
        self.point_radius = float(point_radius)
        self.max_radius_px = int(max_radius_px)
        self.frame_skip = int(frame_skip)
        self.max_frames_per_scene = max_frames_per_scene
        self.box_match_tolerance = float(box_match_tolerance)
        self.max_object_points = int(max_object_points)

    def scene_ids(self) -> list[str]:
        return [self.scene_dir.name]

    def _load_array(self, name: str, shape_tail: tuple, count: int | None = None) -> np.ndarray:
        path = self.scene_dir / name
        array = read_npy(path)
        if array.shape[1:] != shape_tail or (count is not None and len(array) != count):
            raise SceneError(f"{path}: expected shape ({count or 'N'}, {shape_tail}), got {array.shape}")
        return array

    def _read_meta(self) -> dict:
        path = self.scene_dir / "scene.json"
        meta = read_json(path)
        try:
            intrinsics = np.asarray(meta["color_intrinsics_4x4"], np.float64)
            align = np.asarray(meta["axis_align_matrix_4x4"], np.float64)
            frames = [(str(f["image"]), np.asarray(f["camera_to_world_4x4"], np.float64))
                      for f in meta["frames"]]
            boxes = [(int(b["instance_index"]), str(b["name"]), np.asarray(b["center"], np.float64),
                      np.asarray(b["size"], np.float64)) for b in meta["boxes"]]
        except (KeyError, TypeError, ValueError) as err:
            raise SceneError(f"{path}: missing or malformed field ({err!r})") from err
        bad = [name for name, m in [("color_intrinsics_4x4", intrinsics), ("axis_align_matrix_4x4", align)]
               + [(f"frames[{i}]", pose) for i, (_, pose) in enumerate(frames)] if m.shape != (4, 4)]
        bad += [f"boxes[{i}]" for i, (_, _, c, s) in enumerate(boxes) if c.shape != (3,) or s.shape != (3,)]
        if bad:
            raise SceneError(f"{path}: wrong shape in {', '.join(bad)}")
        for i, (_, pose) in enumerate(frames):
            try:
                check_pose(pose, f"{path} frames[{i}]", gravity=False)
            except ValueError as err:
                raise SceneError(str(err)) from None
        return {"intrinsics": intrinsics, "align": align, "frames": frames, "boxes": boxes}

    def _match_boxes(self, boxes, xyz, instance) -> dict[int, int]:
        """Box id -> point instance label, by the nearest instance bounding box."""
        labels = np.unique(instance)
        low = np.stack([xyz[instance == k].min(0) for k in labels])
        high = np.stack([xyz[instance == k].max(0) for k in labels])
        matches = {}
        for box_id, name, center, size in boxes:
            error = np.maximum(np.abs((low + high) / 2 - center), np.abs(high - low - size)).max(1)
            best = int(np.argmin(error))
            if error[best] <= self.box_match_tolerance:
                matches[box_id] = int(labels[best])
            else:
                logger.warning("%s: box %d (%s) matches no point instance (off by %.3f m)",
                               self.scene_dir, box_id, name, error[best])
        return matches

    def load(self, scene_id: str) -> Scene:
        if scene_id != self.scene_dir.name:
            raise KeyError(f"unknown scene {scene_id!r}; this source holds {self.scene_dir.name!r}")
        meta = self._read_meta()
        cloud = self._load_array("points_xyzrgb.npy", (6,)).astype(np.float64)
        instance = self._load_array("points_ins_label.npy", (), len(cloud)).astype(np.int64)
        xyz, rgb = cloud[:, :3], cloud[:, 3:]
        matches = self._match_boxes(meta["boxes"], xyz, instance)
        point_object = np.full(len(xyz), -1, np.int64)
        objects = []
        for box_id, name, center, size in meta["boxes"]:
            category = clean_category(name)
            if category is None:
                continue
            points = colors = None  # without a point instance the box is never visible
            if box_id in matches:
                members = instance == matches[box_id]
                point_object[members] = box_id
                points, colors = xyz[members], rgb[members]
            objects.append(_make_object(box_id, category, points, colors, self.max_object_points,
                                        center=center, size=size))
        frame_table = {Path(image).stem: (image, pose) for image, pose in meta["frames"]}
        missing = [image for image, _ in frame_table.values() if not (self.scene_dir / image).is_file()]
        if missing:
            raise SceneError(f"{self.scene_dir / missing[0]}: file is missing")
        chosen = _select_frames(list(frame_table), self.frame_skip, self.max_frames_per_scene)

        def load_frame(frame_id: str) -> Frame:
            image_name, camera_to_world = frame_table[frame_id]
            image = read_image(self.scene_dir / image_name, "RGB")
            height, width = image.shape[:2]
            out_w, out_h = max(1, round(width * self.image_scale)), max(1, round(height * self.image_scale))
            if (out_w, out_h) != (width, height):
                image = np.asarray(Image.fromarray(image).resize((out_w, out_h), Image.BILINEAR))
            sx, sy = out_w / width, out_h / height
            k = meta["intrinsics"]
            # Pixel centres sit at integer coordinates, so cx maps as (cx + 0.5) * s - 0.5.
            intrinsics = np.array([k[0, 0] * sx, k[1, 1] * sy, (k[0, 2] + 0.5) * sx - 0.5,
                                   (k[1, 2] + 0.5) * sy - 0.5], np.float64)
            pose = meta["align"] @ camera_to_world
            depth, label_map = splat_points(transform(np.linalg.inv(pose), xyz), point_object,
                                            intrinsics, (out_h, out_w), self.point_radius,
                                            self.max_radius_px)
            masks = label_masks(label_map)
            return Frame(frame_id=frame_id, image=image, depth=depth,
                         intrinsics=intrinsics.astype(np.float32), pose=pose, instance_masks=masks)

        return Scene(scene_id=scene_id, objects=objects, frames=LazyFrames(chosen, load_frame))


class ScanNetSource:
    """Scenes under `root` in ScanNet's export layout (see the module docstring).

    `root` is a folder of scene folders, or one scene folder. A scene folder holding ``scene.json``
    and ``points_xyzrgb.npy`` is read with `ScanNetPointCloudSource` (`point_cloud_options` are
    passed on; its frames are keyframes already, so `frame_skip` does not apply); other folders with a ``color/`` folder are export-layout scenes; the rest are ignored.

    Args:
        root: the dataset folder.
        frame_skip: take every `frame_skip`-th frame (ScanNet records 30 per second).
        max_frames_per_scene: then keep at most this many, evenly spread (None = all).
        depth_tolerance: meters; a rendered object pixel whose sensor depth differs by more is
            dropped from the mask (see the module docstring).
        depth_scale: depth PNG units per meter (ScanNet: 1000, millimetres).
        min_object_vertices: objects with fewer labelled vertices are skipped as annotation noise.
        max_object_points: at most this many surface points are kept on each `SceneObject`.
        point_cloud_options: keyword arguments for `ScanNetPointCloudSource`.

    `categories` is the vocabulary the builder draws existence negatives from: None (its default
    list; ScanNet's aggregations label nearly everything) unless some scene is in the point-cloud
    layout, whose boxes cover only the benchmark classes.
    """

    def __init__(self, root, frame_skip: int = 10, max_frames_per_scene: int | None = 12,
                 depth_tolerance: float = 0.10, depth_scale: float = 1000.0,
                 min_object_vertices: int = 20, max_object_points: int = 2048,
                 point_cloud_options: dict | None = None):
        _validate_options(frame_skip, max_frames_per_scene, max_object_points)
        if depth_tolerance <= 0 or depth_scale <= 0:
            raise ValueError(f"depth_tolerance and depth_scale must be > 0, got {depth_tolerance}, "
                             f"{depth_scale}")
        self.root = Path(root)
        if not self.root.is_dir():
            raise SceneError(f"{self.root}: ScanNet root folder is missing")
        self.frame_skip = int(frame_skip)
        self.max_frames_per_scene = max_frames_per_scene
        self.depth_tolerance = float(depth_tolerance)
        self.depth_scale = float(depth_scale)
        self.min_object_vertices = int(min_object_vertices)
        self.max_object_points = int(max_object_points)
        self.point_cloud_options = dict(point_cloud_options or {})
        self._dirs = {}
        for folder in [self.root] + sorted(p for p in self.root.iterdir() if p.is_dir()):
            if (folder / "scene.json").is_file() and (folder / "points_xyzrgb.npy").is_file():
                self._dirs[folder.name] = ("points", folder)
            elif (folder / "color").is_dir():
                self._dirs[folder.name] = ("export", folder)
        if self.root.name in self._dirs:  # the root is itself a scene: ignore its subfolders
            self._dirs = {self.root.name: self._dirs[self.root.name]}
        layouts = {layout for layout, _ in self._dirs.values()}
        self.categories = ScanNetPointCloudSource.categories if "points" in layouts else None

    def scene_ids(self) -> list[str]:
        return sorted(self._dirs)

    def load(self, scene_id: str) -> Scene:
        if scene_id not in self._dirs:
            raise KeyError(f"unknown scene {scene_id!r} under {self.root}")
        layout, folder = self._dirs[scene_id]
        if layout == "points":
            # Its frames are already sparse keyframes: `frame_skip` (for 30 fps streams) is not applied.
            options = {"max_frames_per_scene": self.max_frames_per_scene,
                       "max_object_points": self.max_object_points, **self.point_cloud_options}
            return ScanNetPointCloudSource(folder, **options).load(scene_id)
        return self._load_export(scene_id, folder)

    def _load_export(self, scene_id: str, folder: Path) -> Scene:
        align = read_axis_alignment(folder / f"{scene_id}.txt")
        vertices, colors, faces = read_ply(folder / f"{scene_id}_vh_clean_2.ply")
        segments = read_segments(folder / f"{scene_id}_vh_clean_2.0.010000.segs.json", len(vertices))
        groups = read_aggregation(folder / f"{scene_id}.aggregation.json")
        k = read_matrix(folder / "intrinsic" / "intrinsic_depth.txt")
        intrinsics = np.array([k[0, 0], k[1, 1], k[0, 2], k[1, 2]], np.float64)
        if not np.all(np.isfinite(intrinsics)) or intrinsics[0] <= 0 or intrinsics[1] <= 0:
            raise SceneError(f"{folder / 'intrinsic' / 'intrinsic_depth.txt'}: invalid intrinsics {intrinsics}")
        intrinsics_path = folder / "intrinsic" / "intrinsic_depth.txt"
        frame_ids = [p.stem for p in (folder / "color").glob("*.jpg")]
        frames = []
        for frame_id in _select_frames(frame_ids, self.frame_skip, self.max_frames_per_scene):
            pose = read_pose(folder / "pose" / f"{frame_id}.txt")
            for sub, ext in (("depth", "png"), ("color", "jpg")):
                if not (folder / sub / f"{frame_id}.{ext}").is_file():
                    raise SceneError(f"{folder / sub / f'{frame_id}.{ext}'}: file is missing")
            if pose is not None:
                frames.append(MeshFrame(frame_id, folder / "color" / f"{frame_id}.jpg", folder / "depth" / f"{frame_id}.png",
                                        intrinsics, intrinsics_path, pose))
            else:
                logger.info("%s: skipping frame %s (no tracked pose)", scene_id, frame_id)
        return mesh_scene(scene_id, (vertices, colors, faces), segments, groups, align, frames, self)


@dataclass
class MeshFrame:
    """One posed RGB-D frame of a meshed scan: files, intrinsics (`intrinsics_path` names their
    file in errors) and the camera-to-world pose in the mesh's own frame."""

    frame_id: str
    color_path: Path
    depth_path: Path
    intrinsics: np.ndarray  # (4,) at the depth resolution, or at the colour one with `intrinsics_at_color`
    intrinsics_path: Path
    pose: np.ndarray
    intrinsics_at_color: bool = False


def mesh_scene(scene_id: str, mesh, segments: np.ndarray, groups: list[dict], align: np.ndarray,
               frames: list[MeshFrame], options) -> Scene:
    """A meshed scan with segment annotations -> `Scene` (ScanNet and ScanNet++ alike).

    mesh: (vertices (V, 3), colours (V, 3), faces (F, 3)) in the scan's frame; segments (V,) the
    per-vertex segment ids; groups the aggregation's objects (objectId, label, segments); align the
    4x4 map to the gravity-aligned world frame. Objects are the groups whose label is an object
    (`clean_category`) with at least `options.min_object_vertices` vertices; each frame is rendered
    from the mesh and depth-tested against its sensor depth (`options.depth_scale`,
    `options.depth_tolerance`), as the `ScanNetSource` docstring says.
    """
    vertices, colors, faces = mesh
    aligned = transform(align, vertices)
    vertex_object = np.full(len(vertices), -1, np.int64)
    objects = []
    for group in groups:
        category = clean_category(group["label"])
        members = np.isin(segments, group["segments"])
        if category is None or members.sum() < options.min_object_vertices:
            continue
        vertex_object[members] = group["objectId"]
        objects.append(_make_object(group["objectId"], category, aligned[members], colors[members],
                                    options.max_object_points))
    # A face is an object's only if all three corners are; mixed faces still occlude.
    corner = vertex_object[faces]
    face_object = np.where((corner == corner[:, :1]).all(1), corner[:, 0], -1)
    by_id = {f.frame_id: f for f in frames}

    def load_frame(frame_id: str) -> Frame:
        frame = by_id[frame_id]
        raw = read_image(frame.depth_path)
        if raw.ndim != 2 or raw.dtype not in (np.uint16, np.int32):
            raise SceneError(f"{frame.depth_path}: expected a single-channel 16-bit depth PNG, "
                             f"got {raw.dtype} {raw.shape}")
        depth = raw.astype(np.float32) / options.depth_scale
        height, width = depth.shape
        if not depth.any():
            raise SceneError(f"{frame.depth_path}: the depth frame is all zero (no valid reading)")
        image = read_image(frame.color_path, "RGB")
        intrinsics = np.asarray(frame.intrinsics, np.float64)
        if frame.intrinsics_at_color:
            # The ScanNet++ toolkit scales all four numbers by the width ratio
            # (scannetpp/scannetpp iphone/arkit_pcl.py, backproject).
            intrinsics = intrinsics * (width / image.shape[1])
        problem = principal_point_problem(intrinsics, width, height)
        if problem:
            raise SceneError(f"{frame.depth_path} does not match {frame.intrinsics_path}: {problem}")
        if image.shape[:2] != (height, width):
            image = np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))
        rendered, label_map = rasterize_triangles(
            transform(np.linalg.inv(frame.pose), vertices), faces, face_object, intrinsics, (height, width))
        agrees = (depth == 0) | (np.abs(rendered - depth) <= options.depth_tolerance)
        label_map = np.where(agrees, label_map, -1)
        masks = label_masks(label_map)
        return Frame(frame_id=frame_id, image=image, depth=depth, intrinsics=intrinsics.astype(np.float32),
                     pose=align @ frame.pose, instance_masks=masks)

    return Scene(scene_id=scene_id, objects=objects, frames=LazyFrames([f.frame_id for f in frames], load_frame))


__all__ = ["ScanNetSource", "ScanNetPointCloudSource", "LazyFrames", "MeshFrame", "mesh_scene"]
