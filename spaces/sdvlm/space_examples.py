"""The examples gallery: held-out (test-split) frames of an MSMU dataset folder, with their
ground-truth answers, written as image / depth files the page can show.

Without a dataset folder, a small embedded synthetic MSMU is built on first start into the
cache folder (a few seconds) and reused afterwards.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CACHE_DIR = Path(os.environ.get("SDVLM_SPACE_CACHE", Path.home() / ".cache" / "sdvlm" / "space"))
SYNTHETIC_SCENES = 8  # small: a first start must stay quick; half of the scenes end up held out
SYNTHETIC_SEED = 1234  # any fixed seed; fixed so that every start shows the same gallery


@dataclass
class Example:
    """One gallery entry: file paths of the image and its 16-bit millimetre depth PNG (or None)."""

    image: str
    depth: str | None
    question: str
    answer: str
    category: str
    scene_id: str


def load_examples(dataset_dir: str | Path | None = None, cache_dir: str | Path = DEFAULT_CACHE_DIR, num_examples: int = 8) -> list[Example]:
    """Pick up to `num_examples` test-split QA items, cycling over categories and scenes so the
    gallery shows every kind of question; their files are written under `cache_dir`."""
    cache_dir = Path(cache_dir)
    dataset_dir = Path(dataset_dir) if dataset_dir else _embedded_synthetic(cache_dir)
    # Written afresh on every start (a fraction of a second): a rebuilt dataset never shows stale files.
    return _write_examples(dataset_dir, cache_dir / "examples" / _slug(dataset_dir), num_examples)


def _embedded_synthetic(cache_dir: Path) -> Path:
    """Build (once) the small synthetic MSMU the gallery falls back on; return its folder."""
    output = cache_dir / f"msmu_synthetic_{SYNTHETIC_SCENES}_{SYNTHETIC_SEED}"
    if not output.is_dir():  # the builder renames a finished build into place: a folder is complete
        from dataset_builders.msmu import build_msmu

        output.parent.mkdir(parents=True, exist_ok=True)
        build_msmu(source="synthetic", output_dir=output, num_scenes=SYNTHETIC_SCENES, seed=SYNTHETIC_SEED,
                   frames_per_scene=2, test_fraction=0.5, verbose=False)
    return output


def _write_examples(dataset_dir: Path, out_dir: Path, num_examples: int) -> list[Example]:
    from datasets import Image as ImageFeature
    from datasets import load_dataset

    test = load_dataset(str(dataset_dir), split="test")
    # Raw bytes: the files the page serves are exactly the dataset's, with no re-encoding.
    test = test.cast_column("image", ImageFeature(decode=False))
    has_depth = "depth" in test.column_names
    if has_depth:
        test = test.cast_column("depth", ImageFeature(decode=False))
    category_names = test.features["category"].names if hasattr(test.features["category"], "names") else None
    rows = _pick_rows(test, num_examples)
    out_dir.mkdir(parents=True, exist_ok=True)
    examples = []
    for number, row in enumerate(rows):
        stem = f"{number:02d}_{_slug(row['scene_id'])}_{_slug(str(row['frame_id']))}"
        image_path = out_dir / f"{stem}{Path(row['image'].get('path') or '.png').suffix or '.png'}"
        image_path.write_bytes(_file_bytes(row["image"]))
        depth_path = None
        if has_depth and row["depth"] is not None:
            depth_path = out_dir / f"{stem}_depth_mm.png"
            depth_path.write_bytes(_file_bytes(row["depth"]))
        category = category_names[row["category"]] if category_names else str(row["category"])
        examples.append(Example(str(image_path), str(depth_path) if depth_path else None, row["question"], row["answer"], category, row["scene_id"]))
    return examples


def _pick_rows(test, num_examples: int) -> list[dict]:
    """Round-robin over categories; each pick prefers a frame no earlier pick showed, so the
    gallery spreads over scenes and views as well as over kinds of question."""
    light = test.select_columns(["category", "scene_id", "frame_id"])
    queues: dict = {}
    for position, (category, scene, frame) in enumerate(zip(light["category"], light["scene_id"], light["frame_id"])):
        queues.setdefault(category, []).append((position, (scene, frame)))
    queues = [queues[category] for category in sorted(queues)]
    picks: list[int] = []
    shown: set = set()
    while len(picks) < num_examples and any(queues):
        for queue in queues:
            if not queue or len(picks) >= num_examples:
                continue
            index = next((i for i, (_, view) in enumerate(queue) if view not in shown), 0)
            position, view = queue.pop(index)
            picks.append(position)
            shown.add(view)
    if not picks:
        raise ValueError("The dataset's test split is empty; there are no held-out examples to show.")
    return [test[position] for position in picks]


def _file_bytes(cell: dict) -> bytes:
    """An undecoded Image cell holds its bytes (parquet) or, for on-disk datasets, a file path."""
    return cell["bytes"] if cell.get("bytes") is not None else Path(cell["path"]).read_bytes()


def _slug(text: str | Path) -> str:
    return "".join(char if char.isalnum() else "_" for char in str(text))[-60:]


__all__ = ["DEFAULT_CACHE_DIR", "Example", "load_examples"]
