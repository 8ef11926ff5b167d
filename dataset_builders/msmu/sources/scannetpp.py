"""ScanNet++ scenes (the paper's second source) for the MSMU pipeline: mesh, segment annotations and
the posed iPhone frames.

Layout, as the ScanNet++ toolkit names it (scannetpp/scannetpp common/scene_release.py) once
`iphone/prepare_iphone_data.py` has extracted the frames::

    root/<scene_id>/
        scans/mesh_aligned_0.05.ply      mesh in the aligned frame (z up), vertex colours
        scans/segments.json              {"segIndices": [...]} one segment id per vertex
        scans/segments_anno.json         {"segGroups": [{"objectId", "label", "segments", ...}]}
        iphone/rgb/frame_000000.jpg      colour frames (1920x1440)
        iphone/depth/frame_000000.png    uint16 depth in millimetres (256x192)
        iphone/pose_intrinsic_imu.json   {"frame_000000": {"intrinsic": 3x3, "aligned_pose": 4x4, ...}}

`root` may also be the toolkit's `data/` folder itself or one scene folder. Facts taken from the
toolkit: `aligned_pose` is the camera-to-world pose in the aligned mesh frame and the camera is
OpenCV-style (iphone/arkit_pcl.py back-projects `inv(K) @ [u, v, 1] * z` and multiplies by it);
`intrinsic` is at the RGB resolution and is scaled by depth width / RGB width for depth pixels
(the same file); depth PNGs are millimetres (prepare_iphone_data.py writes `depth * 1000` as
uint16). A group's `segments` are matched against `segIndices` as in ScanNet (the toolkit's
common/utils/anno.py notes that each segment is a vertex there, which this matching covers).

Frames come at the depth resolution with the colour image resized to it, and masks are rendered
from the mesh and depth-tested as for ScanNet (`scannet.mesh_scene`).
"""

import logging
from pathlib import Path

import numpy as np

from ..camera import intrinsics_vector
from ..scene import Scene, SceneError
from ..validation import check_pose
from .scannet import MeshFrame, _select_frames, _validate_options, mesh_scene
from .scannet_io import read_aggregation, read_json, read_ply, read_segments

logger = logging.getLogger(__name__)


class ScanNetPPSource:
    """ScanNet++ scenes under `root` (see the module docstring).

    Args:
        root: the toolkit's data folder (or its parent, or one scene folder).
        max_frames_per_scene: keep at most this many iPhone frames, evenly spread (None = all).
        frame_skip: take every `frame_skip`-th frame first (the iPhone video runs at 60 fps).
        depth_tolerance, depth_scale, min_object_vertices, max_object_points: as in `ScanNetSource`.

    ScanNet++ annotates nearly every object of a scene, so `categories` is None: the builder's
    default vocabulary serves for existence negatives.
    """

    categories = None

    def __init__(self, root, max_frames_per_scene: int | None = 12, frame_skip: int = 30,
                 depth_tolerance: float = 0.10, depth_scale: float = 1000.0, min_object_vertices: int = 20,
                 max_object_points: int = 2048):
        _validate_options(frame_skip, max_frames_per_scene, max_object_points)
        self.root = Path(root)
        if not self.root.is_dir():
            raise SceneError(f"{self.root}: ScanNet++ root folder is missing")
        if (self.root / "data").is_dir():
            self.root = self.root / "data"
        self.max_frames_per_scene = max_frames_per_scene
        self.frame_skip = int(frame_skip)
        self.depth_tolerance = float(depth_tolerance)
        self.depth_scale = float(depth_scale)
        self.min_object_vertices = int(min_object_vertices)
        self.max_object_points = int(max_object_points)
        candidates = [self.root] + sorted(p for p in self.root.iterdir() if p.is_dir())
        self._dirs = {p.name: p for p in candidates if (p / "scans").is_dir() and (p / "iphone").is_dir()}
        if self.root.name in self._dirs:
            self._dirs = {self.root.name: self.root}

    def scene_ids(self) -> list[str]:
        return sorted(self._dirs)

    def load(self, scene_id: str) -> Scene:
        folder = self._dirs[scene_id]
        scans, iphone = folder / "scans", folder / "iphone"
        vertices, colors, faces = read_ply(scans / "mesh_aligned_0.05.ply")
        segments = read_segments(scans / "segments.json", len(vertices))
        groups = read_aggregation(scans / "segments_anno.json")
        meta_path = iphone / "pose_intrinsic_imu.json"
        meta = read_json(meta_path)
        if not isinstance(meta, dict) or not meta:
            raise SceneError(f"{meta_path}: expected a mapping of frame names to poses and intrinsics")
        frames = []
        for frame_id in _select_frames(sorted(meta), self.frame_skip, self.max_frames_per_scene):
            entry = meta[frame_id]
            where = f"{meta_path} [{frame_id}]"
            try:
                pose = np.asarray(entry["aligned_pose"], np.float64).reshape(4, 4)
                intrinsics = intrinsics_vector(np.asarray(entry["intrinsic"], np.float64).reshape(3, 3))
            except (KeyError, TypeError, ValueError) as err:
                raise SceneError(f"{where}: needs 'aligned_pose' (4x4) and 'intrinsic' (3x3) ({err})") from err
            if not np.all(np.isfinite(pose)):
                logger.info("%s: skipping frame %s (no tracked pose)", scene_id, frame_id)
                continue
            try:
                check_pose(pose, where, gravity=False)
            except ValueError as err:
                raise SceneError(str(err)) from None
            color, depth = iphone / "rgb" / f"{frame_id}.jpg", iphone / "depth" / f"{frame_id}.png"
            for path in (color, depth):
                if not path.is_file():
                    raise SceneError(f"{path}: file is missing")
            frames.append(MeshFrame(frame_id, color, depth, intrinsics, meta_path, pose, intrinsics_at_color=True))
        return mesh_scene(scene_id, (vertices, colors, faces), segments, groups, np.eye(4), frames, self)


__all__ = ["ScanNetPPSource"]
