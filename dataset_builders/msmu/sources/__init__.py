"""Scene sources for the MSMU builder.

`synthetic`, `scannet`, `scannetpp`, `sunrgbd`, `arkitscenes` and `rgbd` (your own frames and
boxes) yield 3D scenes (`SceneSource`) that the pipeline turns into questions; `released` reads the
authors' finished parquet and needs no pipeline. Each source module is imported only when asked
for, so the others work without it.
"""

from ..scene import SceneSource

SCENE_SOURCES = ("synthetic", "scannet", "scannetpp", "sunrgbd", "arkitscenes", "rgbd")
SOURCES = SCENE_SOURCES + ("released",)


def make_scene_source(config) -> SceneSource:
    """Build the `SceneSource` a `BuildConfig` names; options that do not apply to it are ignored.

    `frames_per_scene`: synthetic views per room (default 4); for scan sources, the most frames
    kept per scene, spread evenly over the scan (default: the source's own).
    """
    name = config.source
    frames = {} if config.frames_per_scene is None else {"max_frames_per_scene": config.frames_per_scene}
    if name == "synthetic":
        from .synthetic import SyntheticSource

        return SyntheticSource(
            num_scenes=10 if config.num_scenes is None else config.num_scenes,
            seed=config.seed,
            image_size=(config.width, config.height),
            frames_per_scene=4 if config.frames_per_scene is None else config.frames_per_scene,
        )
    if name == "scannet":
        if config.scannet_root is None:
            raise ValueError("the scannet source needs scannet_root (--scannet-root DIR)")
        from .scannet import ScanNetSource

        return ScanNetSource(config.scannet_root, point_cloud_options={"image_scale": config.point_cloud_scale},
                             **frames)
    if name in ("scannetpp", "sunrgbd", "arkitscenes", "rgbd"):
        if config.root is None:
            raise ValueError(f"the {name} source needs root (--root DIR); its layout is in the dataset card")
        if name == "scannetpp":
            from .scannetpp import ScanNetPPSource as cls
        elif name == "sunrgbd":
            from .sunrgbd import SUNRGBDSource as cls
        elif name == "arkitscenes":
            from .arkitscenes import ARKitScenesSource as cls
        else:
            from .rgbd import RGBDFolderSource as cls
        return cls(config.root, **frames) if name != "sunrgbd" else cls(config.root)
    raise ValueError(f"unknown scene source {name!r}; choose one of {SCENE_SOURCES} (or 'released')")


__all__ = ["SCENE_SOURCES", "SOURCES", "make_scene_source"]
