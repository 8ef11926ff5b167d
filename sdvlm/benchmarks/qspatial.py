"""Q-Spatial-Bench (Liao et al., EMNLP 2024; `andrewliao11/Q-Spatial-Bench`, Apache-2.0).

Splits `QSpatial_plus` (101 items, images included) and `QSpatial_scannet` (170 items whose images
are frames of ScanNet scans: the release names them by `image_path`, and a local ScanNet root
must hold them, in the layout of the release's `QSpatial_scannet/download_and_render_scannet_images.py`
or of a ScanNet export). Fields: `question, answer_value, answer_unit, question_type, image_path, image`.

Official rule (andrewliao11/Q-Spatial-Bench-code at ebe8137, `examples/evaluate_success_rate.ipynb`,
`QSpatialEvaluator`): the prediction's LAST `\\scalar{...}` box (the mean of the numbers inside
it) with its LAST `\\distance_unit{...}` box, both converted to one unit, succeed when
max(pred/gt, gt/pred) < 2. An unknown unit counts as centimetres there (its `_get_multiplier`
falls back to 1); we keep that. The comparison itself is the metric's `rule="qspatial"` preset.

Official prompt (same repository, `prompt_templates/`): the system instruction asking for the
`\\scalar{} \\distance_unit{}` format, then `spatial_prompt_single.txt` (the paper's SpatialPrompt),
the template both the release's `examples/iterate_over_dataset.ipynb` and VLMEvalKit's `QSpatial`
dataset use; `standard_prompt.txt` and `zero_shot_prompt.txt` are selectable. As in VLMEvalKit, the
instruction leads the user turn (LLaVA-style checkpoints keep their own system line). VLMEvalKit
also reports delta < 1.5 (`delta_1.5` here) and counts unknown units as failures (multiplier 0).

An answer without both boxes has no official reading: the notebook's `re.findall(...)[-1]` raises
IndexError on it (`QSpatialEvaluator.evaluate`, also at 723d6e4), and VLMEvalKit's regex path catches
that IndexError and scores the answer as 1e-8 cm, a failure (open-compass/VLMEvalKit @ e8e78f0,
`vlmeval/dataset/image_vqa.py`, `QSpatial.evaluate`). So by default
(`strict_format=True`, the headline that compares with published numbers) such an answer fails.
`strict_format=False` reads it with the metric's free-text parser instead (a model that never
learned the box format says "1.5 m"); that score is not the official one, and
`scores["free_text_rate"]` says how many answers it read so. One known difference in both modes: the
notebook's `_get_multiplier` lower-cases the unit without stripping it (`{ meters}` counts as cm
there); we strip.
"""

from __future__ import annotations

import re
from pathlib import Path

from datasets import load_dataset

from .base import Benchmark, mean, ordered_table, rows_dataset, skip_row

SPLITS = ("QSpatial_plus", "QSpatial_scannet")

SYSTEM_PROMPT = (
    "You will be provided with a question and a 2D image. The question involves measuring the precise distance "
    "in 3D space through a 2D image. You will answer the question by providing a numeric answer consisting of a "
    'scalar and a distance unit in the format of """\\scalar{scalar} \\distance_unit{distance unit}""" at the '
    "end of your response."
)
USER_PROMPTS = {
    "standard": "Question: {question}",
    "zero_shot": "Question: {question}\nLet's think step by step.",
    # The release's spelling ("thinkg") is kept: it is the prompt the paper's numbers were measured with.
    "spatial_prompt": "Question: {question}\nLet's thinkg step by step and start by finding good reference "
                      "objects or object parts in the image.",
}

# The official scorer's units (`_get_multiplier`); anything else counts as centimetres there.
OFFICIAL_UNITS = {
    "meters": "m", "meter": "m", "m": "m", "metre": "m", "metres": "m",
    "centimeters": "cm", "centimeter": "cm", "cm": "cm",
    "feet": "ft", "foot": "ft", "ft": "ft",
    "inch": "in", "inches": "in", "in": "in",
    "mm": "mm",
}  # fmt: skip

_SCALAR_RE = re.compile(r"scalar{([^}]*)}")
_UNIT_RE = re.compile(r"distance_unit{([^}]*)}")
_NUMBER_RE = re.compile(r"\d+\.?\d*")


def prompt(question: str, style: str = "spatial_prompt") -> str:
    """The official system instruction followed by the user prompt of `style`."""
    if style not in USER_PROMPTS:
        raise ValueError(f"unknown Q-Spatial prompt style {style!r}; expected one of {sorted(USER_PROMPTS)}")
    return SYSTEM_PROMPT + "\n" + USER_PROMPTS[style].format(question=question)


def boxed_answer(text: str | None) -> str | None:
    """The official reading of `\\scalar{..}\\distance_unit{..}` as "<value> <unit>", or None
    when either box is missing or the scalar box holds no number.

    >>> boxed_answer("about \\\\scalar{1} \\\\distance_unit{meter}")
    '1.0 m'
    >>> boxed_answer("\\\\scalar{30-40} \\\\distance_unit{inches}")  # numbers in the box are averaged
    '35.0 in'
    >>> boxed_answer("\\\\scalar{2} \\\\distance_unit{cubits}")  # unknown unit: centimetres, as officially
    '2.0 cm'
    >>> boxed_answer("It is 1.5 m away.") is None
    True
    """
    if not text:
        return None
    scalars, units = _SCALAR_RE.findall(text), _UNIT_RE.findall(text)
    if not scalars or not units:
        return None
    numbers = [float(n) for n in _NUMBER_RE.findall(scalars[-1])]
    if not numbers:
        return None
    unit = OFFICIAL_UNITS.get(units[-1].strip().lower(), "cm")
    return f"{sum(numbers) / len(numbers)!r} {unit}"


def reference(answer_value: float, answer_unit: str) -> str:
    """The ground truth as the metric reads it ("<value> <unit>", unit as the release spells it,
    unknown units as centimetres like the official scorer)."""
    unit = OFFICIAL_UNITS.get(str(answer_unit).strip().lower(), "cm")
    return f"{float(answer_value)!r} {unit}"


def resolve_scannet_image(image_path: str, scannet_root: str | Path) -> Path | None:
    """Where a QSpatial_scannet frame lies under `scannet_root`: the release's `image_path` as
    written (the render script's `images/<scene>/color/<frame>.jpg` layout), or the frame in a
    ScanNet export (`<scene>/color/<frame>.jpg`, also under `scans/` or `images/`)."""
    root = Path(scannet_root)
    candidates = [root / image_path]
    scene = re.search(r"scene\d{4}_\d{2}", image_path)
    frame = re.search(r"(\d+)\.(?:jpg|png)$", image_path)
    if scene and frame:
        name = f"{frame.group(1)}.jpg"
        candidates += [root / sub / scene.group(0) / "color" / name for sub in ("", "scans", "images", "QSpatial_scannet/images")]
    return next((path for path in candidates if path.is_file()), None)


def load(source: str, split: str = "QSpatial_plus", scannet_root: str | None = None, prompt_style: str = "spatial_prompt",
         config: str | None = None, **_):
    """Rows of one split from a Hub id or a local folder (the Hub layout, read offline).

    Extra row fields: `answer_value` (float), `answer_unit` (str), `image_path` (str).
    `QSpatial_scannet` needs `scannet_root`; rows whose frame is missing there are skipped with a
    warning naming the file.
    """
    from PIL import Image

    if split not in SPLITS:
        raise ValueError(f"unknown Q-Spatial-Bench split {split!r}; expected one of {SPLITS}")
    if split == "QSpatial_scannet" and scannet_root is None and not Path(source, "images").is_dir():
        raise ValueError("QSpatial_scannet images are ScanNet frames: pass --scannet_root (a folder holding them)")
    dataset = load_dataset(source, config, split=split)
    rows = []
    for index, item in enumerate(dataset):
        image = item.get("image")
        if image is None:
            path = resolve_scannet_image(item.get("image_path") or "", scannet_root or source)
            if path is None:
                skip_row(split, index, item.get("image_path"), f"frame {item.get('image_path')!r} not found under "
                         f"{scannet_root or source}")
                continue
            image = Image.open(path)
        try:
            answer = reference(item["answer_value"], item["answer_unit"])
        except (TypeError, ValueError) as error:
            skip_row(split, index, item.get("image_path"), f"bad answer_value/answer_unit: {error}")
            continue
        rows.append({
            "id": f"{split}-{index}", "image": image.convert("RGB"), "question": prompt(item["question"], prompt_style),
            "answer": answer, "category": item.get("question_type") or "all",
            "answer_value": float(item["answer_value"]), "answer_unit": str(item["answer_unit"]),
            "image_path": item.get("image_path") or "",
        })
    return rows_dataset(rows, f"{source}:{split}")


def score(predictions: list[str], rows, strict_format: bool = True, **_) -> tuple[dict, list[dict]]:
    """Success rate by the official rule: overall (the paper's number) and per `question_type`.
    `strict_format=False`: answers without boxes read as free text (not the official rule)."""
    from metrics.msmu_accuracy.scoring import compute_msmu_accuracy

    boxed = [boxed_answer(p) for p in predictions]
    readable = [b if b is not None else (None if strict_format else p) for b, p in zip(boxed, predictions)]
    result = compute_msmu_accuracy(predictions=readable, references=list(rows["answer"]), rule="qspatial",
                                   thresholds=(1.5, 2.0), return_per_item=True)
    items = []
    for index, (row_id, category, question, ref, prediction, box, detail) in enumerate(zip(
            rows["id"], rows["category"], rows["question"], rows["answer"], predictions, boxed, result["items"])):
        items.append({"index": index, "id": row_id, "category": category, "question": question, "reference": ref,
                      "prediction": prediction, "format": "boxed" if box is not None else "free_text",
                      "success": bool(detail["success"]), "delta": detail["delta"], "reason": detail["reason"]})
    per_type = {}
    for item in items:
        per_type.setdefault(item["category"], []).append(item["success"])
    scores = {
        "score": mean(item["success"] for item in items),
        "per_category": ordered_table({name: mean(v) for name, v in per_type.items()}, ()),
        "delta_1.5": result["delta_1.5"],
        "free_text_rate": mean(item["format"] == "free_text" for item in items),
        "strict_format": strict_format,
        "num_items": len(items),
    }
    return scores, items


def benchmark(split: str) -> Benchmark:
    return Benchmark(name=split.lower(), hub_id="andrewliao11/Q-Spatial-Bench", title=f"Q-Spatial-Bench {split}",
                     score_name="success_rate", load=lambda source, **options: load(source, **{**options, "split": split}),
                     score=score, columns=())


__all__ = ["SPLITS", "SYSTEM_PROMPT", "USER_PROMPTS", "prompt", "boxed_answer", "reference", "resolve_scannet_image",
           "load", "score", "benchmark"]
