"""`BuildConfig`: every knob of an MSMU build in one dataclass, validated here.

The command line is generated from it (`HfArgumentParser`, as `sdvlm.train` and `sdvlm.evaluation`
do: a field `num_scenes` is the flag `--num-scenes` / `--num_scenes`), `build_msmu` takes it (or its
fields as keyword arguments), and the dataset card records it, so a folder says exactly how it was
built. A new option is a new field here.

>>> BuildConfig(test_fraction=1.5)
Traceback (most recent call last):
...
ValueError: BuildConfig.test_fraction must lie in [0, 1), got 1.5
>>> BuildConfig(categories=["count", "zero"]).categories
'count,zero'
"""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from .sources import SOURCES
from .visibility import VisibilityConfig

_VIS = VisibilityConfig()


def _help(text: str, **extra) -> dict:
    return {"help": text, **extra}


@dataclass
class BuildConfig:
    source: str = field(default="synthetic", metadata=_help("where scenes come from", choices=list(SOURCES)))
    output_dir: str = field(default="msmu", metadata=_help("folder to create", aliases=["--output"]))
    overwrite: bool = field(default=False, metadata=_help("replace an existing MSMU folder this builder wrote"))
    num_scenes: int | None = field(default=None, metadata=_help(
        "synthetic: rooms to generate (default 10); other scene sources: the first N scenes"))
    seed: int = field(default=0, metadata=_help("makes scenes, views, questions and the split reproducible"))
    width: int = field(default=320, metadata=_help("synthetic image width"))
    height: int = field(default=240, metadata=_help("synthetic image height"))
    frames_per_scene: int | None = field(default=None, metadata=_help(
        "synthetic: views per room (default 4); scan sources: most frames per scene, spread evenly"))
    num_proc: int = field(default=1, metadata=_help("processes over scenes (same result for any value)"))
    test_fraction: float = field(default=0.2, metadata=_help("share of scenes in the test split"))
    qa_per_frame: int = field(default=12, metadata=_help("questions per frame"))
    decimals: int = field(default=2, metadata=_help("rounding of answers in meters (1 to 6 decimals)"))
    distance_modes: list[str] = field(default_factory=lambda: ["center", "closest"], metadata=_help(
        "distance questions between centers and/or closest points", choices=["center", "closest"]))
    cot: bool = field(default=False, metadata=_help("template chain-of-thought answers in conversations"))
    categories: str | None = field(default=None, metadata=_help(
        "only these question categories, comma-separated (default all eight; `CATEGORY_NAMES`)"))
    question_kinds: str | None = field(default=None, metadata=_help(
        "only these sub-kinds of their categories, comma-separated (`questions.KIND_NAMES`)"))
    vocabulary: str | None = field(default=None, metadata=_help(
        "object classes existence negatives are drawn from, comma-separated (default: the source's "
        "annotated classes); 'Is there a pillow?' -> 'No' is only right where pillows are always boxed"))
    min_area: float = field(default=_VIS.min_area, metadata=_help("visible mask area / image area"))
    min_pixels: int = field(default=_VIS.min_pixels, metadata=_help("smallest visible mask in pixels"))
    max_truncation: float = field(default=_VIS.max_truncation, metadata=_help("largest share of the box outside the image"))
    max_occlusion: float = field(default=_VIS.max_occlusion, metadata=_help("largest occluded share of the box"))
    depth_tolerance: float = field(default=_VIS.depth_tolerance, metadata=_help(
        "meters by which a surface must be nearer than a box to occlude it"))
    skip_bad_scenes: bool = field(default=False, metadata=_help("log and skip missing or corrupt scenes"))
    scannet_root: str | None = field(default=None, metadata=_help("scannet: folder of exported scans"))
    point_cloud_scale: float = field(default=0.5, metadata=_help(
        "scannet point-cloud scenes (scene.json + points_*.npy): render at this fraction of the colour "
        "resolution (image resized, intrinsics scaled); splatting cost grows with the pixel count"))
    data_dir: str | None = field(default=None, metadata=_help("released: folder with the authors' train/test parquet"))
    root: str | None = field(default=None, metadata=_help(
        "rgbd / sunrgbd / arkitscenes / scannetpp: the data folder (layouts in the dataset card)"))
    max_shard_bytes: int = field(default=256 * 2**20, metadata=_help("image bytes per parquet shard"))
    progress: bool = field(default=True, metadata=_help("tqdm progress bars (--no-progress to hide)"))
    verbose: bool = field(default=True, metadata=_help("print the statistics at the end"))

    def __post_init__(self):
        for name in ("categories", "question_kinds", "vocabulary"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                setattr(self, name, ",".join(str(v).strip() for v in value))
        for name in ("output_dir", "scannet_root", "data_dir", "root"):
            if getattr(self, name) is not None:
                setattr(self, name, str(getattr(self, name)))
        self.distance_modes = list(self.distance_modes)
        if self.num_proc < 1:
            raise ValueError(f"BuildConfig.num_proc must be >= 1, got {self.num_proc}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"BuildConfig.test_fraction must lie in [0, 1), got {self.test_fraction}")
        for name in ("num_scenes", "frames_per_scene"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"BuildConfig.{name} must be >= 1 or None, got {value}")
        if self.width < 1 or self.height < 1:
            raise ValueError(f"BuildConfig width and height must be >= 1, got {self.width}x{self.height}")
        if not 0.0 < self.point_cloud_scale <= 1.0:
            raise ValueError(f"BuildConfig.point_cloud_scale must lie in (0, 1], got {self.point_cloud_scale}")
        if self.max_shard_bytes < 1:
            raise ValueError(f"BuildConfig.max_shard_bytes must be >= 1, got {self.max_shard_bytes}")
        self.visibility  # validates the thresholds

    @property
    def visibility(self) -> VisibilityConfig:
        return VisibilityConfig(min_area=self.min_area, min_pixels=self.min_pixels, max_truncation=self.max_truncation,
                                max_occlusion=self.max_occlusion, depth_tolerance=self.depth_tolerance)

    @staticmethod
    def names(value) -> tuple:
        """A comma-separated field -> a tuple of stripped names (empty for None)."""
        return tuple(n.strip() for n in (value or "").split(",") if n.strip())

    def command(self, exclude=("overwrite", "progress", "verbose", "max_shard_bytes")) -> str:
        """The command line that rebuilds this config (fields at their default are left out)."""
        flags = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            if f.name in exclude or value == default:
                continue
            flag = "--output" if f.name == "output_dir" else "--" + f.name.replace("_", "-")
            if isinstance(value, bool):
                flags.append(flag if value else f"--no-{f.name.replace('_', '-')}")
            elif isinstance(value, list):
                flags.append(f"{flag} {' '.join(map(str, value))}")
            else:
                flags.append(f"{flag} {value}")
        return "python -m dataset_builders.msmu build " + " ".join(flags)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def for_card(self, **resolved) -> "BuildConfig":
        """This config as a card records it: folders by their last name (no local paths), plus
        `resolved` values a source chose."""
        paths = {n: Path(getattr(self, n)).name for n in ("output_dir", "scannet_root", "data_dir", "root")
                 if getattr(self, n) is not None}
        return dataclasses.replace(self, **paths, **resolved)


__all__ = ["BuildConfig"]
