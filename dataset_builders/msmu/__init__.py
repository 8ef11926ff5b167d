"""MSMU: spatial measuring and understanding questions for SD-VLM, as a Hub-style dataset folder.

`build_msmu(source=..., output_dir=...)` builds it from procedural rooms (`synthetic`), ScanNet
scans (`scannet`) or the authors' released parquet (`released`); the same is on the command line:
`python -m dataset_builders.msmu build --source synthetic --output DIR`.
"""

from .builder import build_msmu
from .questions import QAConfig
from .scene import Frame, Scene, SceneError, SceneObject, SceneSource
from .templates import CATEGORY_NAMES
from .visibility import VisibilityConfig

__all__ = [
    "build_msmu",
    "QAConfig",
    "VisibilityConfig",
    "CATEGORY_NAMES",
    "Frame",
    "Scene",
    "SceneError",
    "SceneObject",
    "SceneSource",
]
