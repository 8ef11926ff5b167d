"""`build_msmu`: any source -> a Hub-style MSMU folder that `load_dataset(folder)` reads offline.

>>> import tempfile, datasets
>>> with tempfile.TemporaryDirectory() as tmp:
...     out = build_msmu("synthetic", tmp + "/msmu", num_scenes=2, width=32, height=24, frames_per_scene=1,
...                      qa_per_frame=4, test_fraction=0.5, progress=False, verbose=False)
...     sorted(datasets.load_dataset(str(out), cache_dir=tmp + "/cache"))
['test', 'train']
"""

import dataclasses
import json
import logging
import multiprocessing
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .config import BuildConfig
from .features import msmu_features
from .pipeline import explain_no_rows, scene_rows
from .questions import QAConfig
from .scene import SceneError
from .sources import SOURCES, make_scene_source
from .stats import BuildStats
from .visibility import VisibilityConfig
from .writer import DatasetFolderWriter, render_card

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
        reasons = Counter()
        rows = scene_rows(scene, state["visibility"], state["qa"], seed=state["seed"], reasons=reasons)
    except SceneError as err:
        if not state["skip_bad_scenes"]:
            raise
        return scene_id, None, str(err)
    if not rows:
        logger.warning("%s", explain_no_rows(scene_id, len(scene.objects), reasons))
    return scene_id, rows, None


def build_msmu(source=None, output_dir=None, config: BuildConfig | None = None, **options) -> Path:
    """Build an MSMU folder and return its path.

    Args:
        source: a name from `SOURCES` ("synthetic", "scannet", "scannetpp", "sunrgbd",
            "arkitscenes", "rgbd", "released"; see the dataset card for their folder layouts) or any
            `SceneSource` object (such as `sources.rgbd.RGBDSource` over your own frames and boxes);
            default `config.source` ("synthetic").
        output_dir: folder to create (refused if it exists, unless `overwrite`; default
            `config.output_dir`).
        config: a `BuildConfig` (every option, validated; the card records it).
        **options: `BuildConfig` fields overriding `config` (`num_scenes=2, seed=1, ...`), plus two
            shorthands: `image_size=(width, height)` and `visibility=VisibilityConfig(...)` (or a
            dict of its fields) for the visibility thresholds.
    """
    config = _config(config, source, output_dir, options)
    if source is not None and not isinstance(source, str):
        if not (callable(getattr(source, "scene_ids", None)) and callable(getattr(source, "load", None))):
            raise TypeError(f"source must be one of {SOURCES} or a SceneSource (scene_ids() and load()), got {source!r}")
        scene_source, name = source, type(source).__name__
    elif config.source == "released":
        from .sources.released import build_released

        return build_released(config)
    else:
        scene_source, name = make_scene_source(config), config.source
    scene_ids = list(scene_source.scene_ids())
    if config.num_scenes is not None:
        scene_ids = scene_ids[: config.num_scenes]
    if not scene_ids:
        raise ValueError(f"the {name} source has no scenes")
    vocabulary = existence_vocabulary(scene_source, config)
    categories, question_kinds = config.names(config.categories), config.names(config.question_kinds)
    qa = QAConfig(
        qa_per_frame=config.qa_per_frame,
        decimals=config.decimals,
        distance_modes=tuple(config.distance_modes),
        cot=config.cot,
        categories=vocabulary,
        colors=tuple(getattr(scene_source, "colors", None) or ()),
        question_categories=categories,
        question_kinds=question_kinds,
    )
    state = {
        "source": scene_source,
        "visibility": config.visibility,
        "qa": qa,
        "seed": config.seed,
        "skip_bad_scenes": config.skip_bad_scenes,
    }
    splits = split_scenes(scene_ids, config.test_fraction, config.seed)
    stats = BuildStats()
    features = msmu_features(with_depth=True)
    with DatasetFolderWriter(config.output_dir, features, config.overwrite, config.max_shard_bytes) as writer:
        bar = tqdm(total=len(scene_ids), desc=f"msmu {name} scenes", unit="scene", disable=not config.progress)
        for scene_id, rows, error in _run_jobs(scene_ids, state, config.num_proc):
            bar.update(1)
            if error is not None:
                logger.warning("skipping scene %s: %s", scene_id, error)
                stats.skipped.append((scene_id, error))
                continue
            writer.add(splits[scene_id], rows)
            stats.add_rows(splits[scene_id], rows)
        bar.close()
        asked = "all eight categories" if not categories else "only " + ", ".join(qa.asked_categories)
        if question_kinds:
            asked += " (kinds: " + ", ".join(question_kinds) + ")"
        settings = (f"question types: {asked}; existence vocabulary: {', '.join(vocabulary)}; visibility thresholds "
                    f"{config.visibility}; scene ids {scene_ids[0]} .. {scene_ids[-1]}")
        recorded = config.for_card(source=name, num_scenes=len(scene_ids), **_resolved(scene_source, config))
        card = render_card(name, recorded.command(), settings, stats, json.dumps(recorded.to_dict(), indent=2))
        out = writer.finalize(card)
    if config.verbose:
        print(f"MSMU ({name}) written to {out}\n{stats.markdown()}")
    return out


def _config(config, source, output_dir, options) -> BuildConfig:
    """`config` with `options` applied (and the `image_size` / `visibility` shorthands)."""
    options = dict(options)
    if "image_size" in options:
        options["width"], options["height"] = (int(v) for v in options.pop("image_size"))
    visibility = options.pop("visibility", None)
    if visibility is not None:
        fields = dataclasses.asdict(visibility) if isinstance(visibility, VisibilityConfig) else dict(visibility)
        VisibilityConfig(**fields)  # validates, and refuses unknown names
        options.update(fields)
    if isinstance(source, str):
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; choose one of {SOURCES}")
        options["source"] = source
    if output_dir is not None:
        options["output_dir"] = str(output_dir)
    unknown = sorted(set(options) - {f.name for f in dataclasses.fields(BuildConfig)})
    if unknown:
        raise TypeError(f"build_msmu got unknown option(s) {unknown}; see BuildConfig")
    return dataclasses.replace(config, **options) if config is not None else BuildConfig(**options)


def _resolved(scene_source, config: BuildConfig) -> dict:
    """Defaults a source chose that the recorded command must state (synthetic views per room)."""
    if config.source == "synthetic" and getattr(scene_source, "frames_per_scene", None) is not None:
        return {"frames_per_scene": scene_source.frames_per_scene}
    return {}


def existence_vocabulary(scene_source, config: BuildConfig) -> tuple:
    """The classes existence negatives are drawn from: `config.vocabulary`, else the source's
    annotated classes (`source.categories`), else `DEFAULT_VOCABULARY`. Warns when the source says
    its labels are not exhaustive (`source.exhaustive_labels = False`): an unboxed object of a
    vocabulary class in view makes "Is there a ...?" -> "No" wrong."""
    vocabulary = config.names(config.vocabulary) or tuple(getattr(scene_source, "categories", None) or DEFAULT_VOCABULARY)
    if not getattr(scene_source, "exhaustive_labels", True):
        logger.warning(
            "%s: the source's labels are not exhaustive (not every object of a class is boxed), so an existence "
            "'No' may be wrong; negatives come from: %s (set vocabulary / --vocabulary to classes that are always "
            "annotated, or --categories without zero)", type(scene_source).__name__, ", ".join(vocabulary))
    return vocabulary


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


__all__ = ["build_msmu", "split_scenes", "existence_vocabulary", "render_card", "DEFAULT_VOCABULARY", "BuildConfig"]
