"""`build_msmu`: any source -> a Hub-style MSMU folder that `load_dataset(folder)` reads offline.

>>> import tempfile, datasets
>>> with tempfile.TemporaryDirectory() as tmp:
...     out = build_msmu("synthetic", tmp + "/msmu", num_scenes=2, image_size=(32, 24), frames_per_scene=1,
...                      qa_per_frame=4, test_fraction=0.5, progress=False, verbose=False)
...     sorted(datasets.load_dataset(str(out), cache_dir=tmp + "/cache"))
['test', 'train']
"""

import logging
import multiprocessing
import string
from importlib import resources
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .features import msmu_features
from .pipeline import scene_rows
from .questions import QAConfig
from .scene import SceneError
from .sources import SOURCES, make_scene_source
from .stats import BuildStats
from .visibility import VisibilityConfig
from .writer import DatasetFolderWriter

logger = logging.getLogger(__name__)

# Existence negatives for sources that do not name their own vocabulary: common indoor categories
# (ScanNet's frequent labels), so "Is there a toilet?" can be asked in a bedroom. The names are
# those `sources.scannet_labels.clean_category` gives objects ("television", not "tv"), so a
# category in view is never asked about as absent.
DEFAULT_VOCABULARY = (
    "bathtub", "bed", "bookshelf", "box", "cabinet", "chair", "counter", "curtain", "desk", "door",
    "dresser", "lamp", "monitor", "nightstand", "pillow", "refrigerator", "shelf", "sink", "sofa",
    "table", "television", "toilet", "trash can", "window",
)  # fmt: skip


def split_scenes(scene_ids: list[str], test_fraction: float, seed: int) -> dict[str, str]:
    """scene id -> "train" | "test", a seeded shuffle; at least one scene on each side when the
    fraction is positive and there are two or more scenes.

    >>> split_scenes(["a", "b", "c", "d"], 0.5, seed=0) == split_scenes(["a", "b", "c", "d"], 0.5, seed=0)
    True
    >>> sorted(split_scenes(["a", "b", "c", "d"], 0.25, seed=0).values())
    ['test', 'train', 'train', 'train']
    """
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in [0, 1), got {test_fraction}")
    n = len(scene_ids)
    n_test = int(round(n * test_fraction))
    if test_fraction > 0 and n >= 2:
        n_test = min(max(n_test, 1), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    test = {scene_ids[i] for i in order[:n_test]}
    return {s: ("test" if s in test else "train") for s in scene_ids}


_WORKER: dict = {}


def _init_worker(state: dict) -> None:
    _WORKER.clear()
    _WORKER.update(state)


def _scene_job(scene_id: str):
    """(scene_id, rows or None, error message or None) for one scene, in a worker or in-process."""
    state = _WORKER
    try:
        scene = state["source"].load(scene_id)
        rows = scene_rows(scene, state["visibility"], state["qa"], seed=state["seed"])
    except SceneError as err:
        if not state["skip_bad_scenes"]:
            raise
        return scene_id, None, str(err)
    return scene_id, rows, None


def build_msmu(
    source="synthetic",
    output_dir="msmu",
    *,
    num_scenes: int | None = None,
    seed: int = 0,
    image_size: tuple = (320, 240),
    frames_per_scene: int | None = None,
    num_proc: int = 1,
    test_fraction: float = 0.2,
    qa_per_frame: int = 12,
    decimals: int = 2,
    distance_modes: tuple = ("center", "closest"),
    cot: bool = False,
    categories=None,
    question_kinds=None,
    visibility: VisibilityConfig | dict | None = None,
    skip_bad_scenes: bool = False,
    scannet_root=None,
    data_dir=None,
    overwrite: bool = False,
    max_shard_bytes: int = 256 * 2**20,
    progress: bool = True,
    verbose: bool = True,
) -> Path:
    """Build an MSMU folder and return its path.

    Args:
        source: "synthetic" (procedural rooms, no download), "scannet" (needs `scannet_root`),
            "released" (the authors' parquet files in `data_dir`), or any `SceneSource` object.
        output_dir: folder to create (refused if it exists, unless `overwrite`).
        num_scenes: scenes to use (synthetic: to generate, default 10; scannet: the first N).
        seed: makes the build reproducible: scenes, camera views, questions and the split.
        image_size: (width, height) of synthetic frames.
        frames_per_scene: synthetic views per room (default 4); for scannet, the most frames per
            scene, spread evenly over the scan (default: the ScanNet source's own).
        num_proc: processes over scenes (results do not depend on it).
        test_fraction: share of scenes in the test split.
        qa_per_frame, decimals, distance_modes, cot: see `QAConfig`.
        categories: generate only these question categories (names from `CATEGORY_NAMES`, a list or
            a comma-separated string); None = all eight. The `qa_per_frame` budget goes to them.
        question_kinds: finer choice within categories, "absolute_distance.camera|object" and
            "position.forward|lateral|vertical" (`QAConfig.question_kinds`); None = all kinds.
        visibility: `VisibilityConfig` (or its fields as a dict) for the per-frame object filter.
        skip_bad_scenes: log and skip a scene whose files are missing or corrupt instead of failing.
        max_shard_bytes: image bytes per parquet shard.
        progress: tqdm bars; verbose: print the statistics at the end.
    """
    if num_proc < 1:
        raise ValueError(f"num_proc must be >= 1, got {num_proc}")
    if not isinstance(source, str):
        if not (callable(getattr(source, "scene_ids", None)) and callable(getattr(source, "load", None))):
            raise TypeError(f"source must be one of {SOURCES} or a SceneSource (scene_ids() and load()), got {source!r}")
        scene_source, source = source, type(source).__name__
    elif source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; choose one of {SOURCES}")
    elif source == "released":
        from .sources.released import build_released

        return build_released(data_dir, output_dir, overwrite=overwrite, progress=progress, verbose=verbose)
    else:
        scene_source = make_scene_source(
            source,
            num_scenes=num_scenes,
            seed=seed,
            image_size=image_size,
            frames_per_scene=frames_per_scene,
            scannet_root=scannet_root,
        )
    scene_ids = list(scene_source.scene_ids())
    if num_scenes is not None:
        scene_ids = scene_ids[:num_scenes]
    if not scene_ids:
        raise ValueError(f"the {source} source has no scenes")
    if isinstance(visibility, dict):
        visibility = VisibilityConfig(**visibility)
    categories, question_kinds = _names(categories), _names(question_kinds)
    qa = QAConfig(
        qa_per_frame=qa_per_frame,
        decimals=decimals,
        distance_modes=tuple(distance_modes),
        cot=cot,
        categories=tuple(getattr(scene_source, "categories", None) or DEFAULT_VOCABULARY),
        colors=tuple(getattr(scene_source, "colors", None) or ()),
        question_categories=categories,
        question_kinds=question_kinds,
    )
    state = {
        "source": scene_source,
        "visibility": visibility or VisibilityConfig(),
        "qa": qa,
        "seed": seed,
        "skip_bad_scenes": skip_bad_scenes,
    }
    splits = split_scenes(scene_ids, test_fraction, seed)
    stats = BuildStats()
    with DatasetFolderWriter(output_dir, msmu_features(with_depth=True), overwrite, max_shard_bytes) as writer:
        bar = tqdm(total=len(scene_ids), desc=f"msmu {source} scenes", unit="scene", disable=not progress)
        for scene_id, rows, error in _run_jobs(scene_ids, state, num_proc):
            bar.update(1)
            if error is not None:
                logger.warning("skipping scene %s: %s", scene_id, error)
                stats.skipped.append((scene_id, error))
                continue
            writer.add(splits[scene_id], rows)
            stats.add_rows(splits[scene_id], rows)
        bar.close()
        vis = state["visibility"]
        flags = [
            f"--source {source}", f"--output {Path(output_dir).name}", f"--seed {seed}",
            f"--num-scenes {len(scene_ids)}", f"--test-fraction {test_fraction}", f"--qa-per-frame {qa_per_frame}",
            f"--decimals {decimals}", f"--distance-modes {' '.join(distance_modes)}", f"--min-area {vis.min_area}",
            f"--min-pixels {vis.min_pixels}", f"--max-truncation {vis.max_truncation}",
            f"--max-occlusion {vis.max_occlusion}",
        ]  # fmt: skip
        if source == "synthetic":
            flags += [f"--width {image_size[0]}", f"--height {image_size[1]}",
                      f"--frames-per-scene {scene_source.frames_per_scene}"]  # fmt: skip
        elif frames_per_scene is not None:
            flags.append(f"--frames-per-scene {frames_per_scene}")
        if cot:
            flags.append("--cot")
        if categories:
            flags.append(f"--categories {','.join(categories)}")
        if question_kinds:
            flags.append(f"--question-kinds {','.join(question_kinds)}")
        command = "python -m dataset_builders.msmu build " + " ".join(flags)
        asked = "all eight categories" if not categories else "only " + ", ".join(qa.asked_categories)
        if question_kinds:
            asked += " (kinds: " + ", ".join(question_kinds) + ")"
        settings = f"question types: {asked}; visibility thresholds {vis}; scene ids {scene_ids[0]} .. {scene_ids[-1]}"
        out = writer.finalize(render_card(source, command, settings, stats))
    if verbose:
        print(f"MSMU ({source}) written to {out}\n{stats.markdown()}")
    return out


def _names(value) -> tuple:
    """None, a comma-separated string or a sequence of names -> a tuple of stripped names."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    return tuple(name.strip() for name in value if name.strip())


def _run_jobs(scene_ids, state, num_proc):
    """Yield `_scene_job` results in scene order, in this process or a pool of `num_proc`."""
    if num_proc == 1 or len(scene_ids) == 1:
        _init_worker(state)
        for scene_id in scene_ids:
            yield _scene_job(scene_id)
        return
    # fork shares the already-built source; elsewhere spawn pickles it into each worker.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(min(num_proc, len(scene_ids)), _init_worker, (state,)) as pool:
        yield from pool.imap(_scene_job, scene_ids)


def render_card(source: str, command: str, settings: str, stats: BuildStats) -> str:
    template = resources.files("dataset_builders.msmu").joinpath("card.md").read_text(encoding="utf-8")
    return string.Template(template).substitute(source=source, command=command, settings=settings, stats=stats.markdown())


__all__ = ["build_msmu", "split_scenes", "render_card", "DEFAULT_VOCABULARY"]
