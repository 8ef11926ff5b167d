"""MSMU: spatial measuring and understanding questions for SD-VLM, as a Hub-style dataset folder.

`build_msmu(source=..., output_dir=...)` builds it from procedural rooms (`synthetic`), ScanNet /
ScanNet++ scans (`scannet`, `scannetpp`), SUN RGB-D and ARKitScenes (`sunrgbd`, `arkitscenes`), your
own RGB-D frames with 3D boxes (`rgbd`, or a `sources.rgbd.RGBDSource` object) or the authors'
released parquet (`released`); every option is a `BuildConfig` field, and the same is on the command
line: `python -m dataset_builders.msmu build --source synthetic --output DIR`.
"""

from .builder import build_msmu
from .config import BuildConfig
from .questions import QAConfig
from .scene import Frame, Scene, SceneError, SceneObject, SceneSource
from .templates import CATEGORY_NAMES
from .visibility import VisibilityConfig

__all__ = [
    "build_msmu",
    "BuildConfig",
    "QAConfig",
    "VisibilityConfig",
    "CATEGORY_NAMES",
    "Frame",
    "Scene",
    "SceneError",
    "SceneObject",
    "SceneSource",
]
