"""Scene sources for the MSMU builder.

`synthetic` and `scannet` yield 3D scenes (`SceneSource`) that the pipeline turns into questions;
`released` reads the authors' finished parquet and needs no pipeline. The ScanNet source is
imported only when asked for, so the other sources work without it.
"""

from ..scene import SceneSource

SCENE_SOURCES = ("synthetic", "scannet")
SOURCES = SCENE_SOURCES + ("released",)


def make_scene_source(
    name: str,
    *,
    num_scenes: int | None = None,
    seed: int = 0,
    image_size: tuple = (320, 240),
    frames_per_scene: int | None = None,
    scannet_root=None,
) -> SceneSource:
    """Build the named `SceneSource`; options that do not apply to it are ignored.

    `frames_per_scene`: synthetic views per room (default 4); for ScanNet, the most frames kept per
    scene, spread evenly over the scan (default: the ScanNet source's own).
    """
    if name == "synthetic":
        from .synthetic import SyntheticSource

        return SyntheticSource(
            num_scenes=10 if num_scenes is None else num_scenes,
            seed=seed,
            image_size=image_size,
            frames_per_scene=4 if frames_per_scene is None else frames_per_scene,
        )
    if name == "scannet":
        if scannet_root is None:
            raise ValueError("the scannet source needs scannet_root (--scannet-root DIR)")
        try:
            from .scannet import ScanNetSource
        except ImportError as err:
            raise ImportError(f"the scannet source is unavailable: {err}") from err
        if frames_per_scene is None:
            return ScanNetSource(scannet_root)
        return ScanNetSource(scannet_root, max_frames_per_scene=frames_per_scene)
    raise ValueError(f"unknown scene source {name!r}; choose one of {SCENE_SOURCES} (or 'released')")


__all__ = ["SCENE_SOURCES", "SOURCES", "make_scene_source"]
