"""The one interface through which 3D scenes enter the MSMU pipeline.

Every scene source (synthetic, ScanNet, ...) yields `Scene` objects; the pipeline
(`pipeline.py`) never looks at a source's files. Conventions:

- World frame: meters, z up (gravity-aligned), as ScanNet's axis-aligned frame.
- Camera frame: meters, x right, y down, z forward (OpenCV).
- `Frame.pose` is the 4x4 camera-to-world matrix: p_world = pose @ [p_cam, 1].
- `Frame.depth` is metric depth along the optical axis (z in the camera frame), float32 meters,
  0 where invalid.
- `Frame.instance_masks[object_id]` is a boolean (H, W) mask of the pixels where that object is
  the visible surface (already depth-tested, so occluded parts are absent).
"""

from dataclasses import dataclass, field
from typing import Iterator, Protocol

import numpy as np


@dataclass
class SceneObject:
    """One annotated object: a gravity-aligned 3D box in the world frame (meters)."""

    id: int
    category: str  # e.g. "table"
    name: str  # descriptive, e.g. "white table"
    center: np.ndarray  # (3,) world coordinates of the box center
    size: np.ndarray  # (3,) extents along the box's own x, y (horizontal) and world z (height)
    yaw: float = 0.0  # rotation of the box about world z, radians
    attributes: dict = field(default_factory=dict)  # e.g. {"color": "white", "material": "wood"}
    points: np.ndarray | None = None  # optional (N, 3) world points of the object's surface


@dataclass
class Frame:
    """One posed RGB-D view of a scene."""

    frame_id: str
    image: np.ndarray  # (H, W, 3) uint8 RGB
    depth: np.ndarray  # (H, W) float32 meters, 0 = invalid
    intrinsics: np.ndarray  # (4,) fx, fy, cx, cy in pixels of `image`
    pose: np.ndarray  # (4, 4) camera-to-world
    instance_masks: dict[int, np.ndarray]  # object id -> (H, W) bool visible-pixel mask


@dataclass
class Scene:
    scene_id: str
    objects: list[SceneObject]
    frames: Iterator[Frame] | list[Frame]  # may be lazy: sources load frames on demand


class SceneSource(Protocol):
    """A scene source lists its scene ids and loads one scene by id (so work can be split over
    processes by id). A corrupt or missing file raises `SceneError` naming the file."""

    def scene_ids(self) -> list[str]: ...

    def load(self, scene_id: str) -> Scene: ...


class SceneError(ValueError):
    """A scene file is missing or corrupt; the message names the file."""


__all__ = ["SceneObject", "Frame", "Scene", "SceneSource", "SceneError"]
