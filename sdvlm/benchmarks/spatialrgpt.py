"""SpatialRGPT-Bench (Cheng et al., NeurIPS 2024; `a8cheng/SpatialRGPT-Bench`, `SpatialRGPT-Bench_v1.json`).

Items (read from AnjieCheng/SpatialRGPT at 16715d4, `llava/eval/eval_spatial.py`): `id`, `image_info
{file_path, height, width}` (paths relative to the Omni3D image folder), `text_q` (the question
with regions named "Region [i]"), `conversations` (LLaVA turns; the human turn refers to regions
with `<mask>`), `rle` (COCO RLE masks) or `bbox` ([x1, y1, x2, y2]), `qa_info {type, category}`.
The official evaluator reads only the first question/answer pair of `conversations`. In the
Hub's copy the structured fields may be stored as Python-literal strings and the image path also
as a top-level `file_path` (as public scripts reading that copy parse it); both forms are read.

Regions reach a model without region inputs drawn on the image (see `regions.py`), and the
question is `text_q`.

Scoring, as AnjieCheng/SpatialRGPT `scripts/srgpt/eval/evaluate_spatial_with_gpt4.py` does it,
with the metric in place of its GPT-4 judge:
- quantitative distance/size categories: success when 0.75 * g <= p <= 1.25 * g, both in meters
  (the metric's `rule="spatialrgpt"` preset reads the free text and converts units);
- `direction`: both answers read as clock hours; success within one hour, circularly;
- qualitative: 0/1 by the metric's qualitative matching (the official code asks GPT-4-turbo);
- table: per group success rates, "Qual overall" and "Quan overall" as item-weighted rates over
  their items (the official script's `correct / total`); the headline score is the quantitative
  overall (what the SD-VLM paper reports: 33.3).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from ..conversation import IMAGE_PLACEHOLDER
from .base import LENGTH_CATEGORY, Benchmark, mean, ordered_table, rows_dataset, skip_row
from .regions import decode_rle, draw_regions, region_name

QUANTITATIVE_GROUPS = {
    "distance_data": "direct_distance",
    "horizontal_distance_data": "horizontal_distance",
    "vertical_distance_data": "vertical_distance",
    "width_data": "width",
    "height_data": "height",
    "direction": "direction",
}
# Qualitative categories ("left_predicate", "tall_choice", ...) fall in groups by the words they
# contain, checked in the official order.
QUALITATIVE_GROUPS = (
    (("short", "tall"), "tall/short"),
    (("left", "right"), "left/right"),
    (("below", "above"), "below/above"),
    (("behind", "front"), "behind/front"),
    (("big", "small"), "big/small"),
    (("wide", "thin"), "wide/thin"),
)
COLUMNS = ("below/above", "left/right", "big/small", "tall/short", "wide/thin", "behind/front", "qualitative",
           "direct_distance", "horizontal_distance", "vertical_distance", "width", "height", "direction",
           "quantitative")
ANNOTATION_FILE = "SpatialRGPT-Bench_v1.json"

_IMAGE_TOKEN_RE = re.compile(re.escape(IMAGE_PLACEHOLDER))
_REGION_RE = re.compile(r"<mask>(?:\s*<depth>)?")
_CLOCK_RE = re.compile(r"\b(1[0-2]|[1-9])\s*o['’ ]?\s*clock", re.IGNORECASE)


def group_of(qa_type: str, category: str) -> str | None:
    """The table column of an item (None: the official script ignores its category)."""
    if qa_type == "quantitative":
        return QUANTITATIVE_GROUPS.get(category)
    if qa_type == "qualitative":
        for words, group in QUALITATIVE_GROUPS:
            if any(word in category for word in words):
                return group
    return None


def clock_hour(text: str | None) -> int | None:
    """The clock direction an answer states ("around the 2 o'clock direction" -> 2)."""
    match = _CLOCK_RE.search(text or "")
    return int(match.group(1)) if match else None


def clock_success(prediction: str | None, reference: str) -> tuple[bool, str]:
    """Official direction rule: min(|p - g|, 12 - |p - g|) <= 1 (hours)."""
    truth, said = clock_hour(reference), clock_hour(prediction)
    if truth is None:
        raise ValueError(f"direction reference {reference!r} states no clock hour")
    if said is None:
        return False, "no clock direction in the prediction"
    difference = abs(truth - said)
    error = min(difference, 12 - difference)
    return error <= 1, f"{error} hour(s) off"


def question_text(item: dict) -> str:
    """`text_q`, or the first human turn with each region reference named "Region [i]" in order.

    The turn is LLaVA text: the image token `<image>` may lead it, sit elsewhere or be missing
    (AnjieCheng/SpatialRGPT @ 16715d4, `llava/data/dataset.py` prepends it when absent and splits on
    it), and a region is `<mask>` (the bench; `llava/eval/eval_spatial.py` appends ` <depth>` itself)
    or already `<mask> <depth>` (the OpenSpatialDataset training turns). All forms give one question.
    """
    if item.get("text_q"):
        return item["text_q"]
    text = " ".join(_IMAGE_TOKEN_RE.sub(" ", item["conversations"][0]["value"]).split())
    count = iter(range(len(_REGION_RE.findall(text))))
    return _REGION_RE.sub(lambda _: region_name(next(count)), text)


def structured(value):
    """A structured field as stored in either copy: as is, or parsed from its JSON / Python-literal
    string (`ast.literal_eval` reads literals only, it executes nothing)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return ast.literal_eval(value)


def _items(source: str, config: str | None = None) -> tuple[list[dict], Path]:
    """The annotation list and the folder its `file_path`s are relative to."""
    path = Path(source)
    if path.is_dir():
        # The release's file name, else the folder's one JSON file (a renamed or Hub-snapshot copy).
        candidates = [path / ANNOTATION_FILE] if (path / ANNOTATION_FILE).is_file() else sorted(path.glob("*.json"))
        if len(candidates) == 1:
            path = candidates[0]
    if path.is_file():
        text = path.read_text()
        items = json.loads(text) if text.lstrip().startswith("[") else [json.loads(line) for line in text.splitlines() if line.strip()]
        return items, path.parent
    from datasets import load_dataset

    dataset = load_dataset(source, config)
    split = next(iter(dataset))
    return [dict(item) for item in dataset[split]], Path(".")


def load(source: str, image_folder: str | None = None, config: str | None = None, **_):
    """Rows from the annotation JSON (a file, a folder holding it, or a Hub id) and the image folder
    (default: the annotation file's folder).

    Extra row fields: `qa_type` ("quantitative" | "qualitative"), `qa_category` (the release's
    category), `group` (the table column). Rows with a missing image or malformed regions are
    skipped with a warning naming them.
    """
    from PIL import Image

    items, folder = _items(source, config)
    folder = Path(image_folder) if image_folder else folder
    rows = []
    for index, item in enumerate(items):
        item_id = item.get("id", index)
        try:
            info, qa = structured(item["image_info"]), structured(item["qa_info"])
            conversations = structured(item["conversations"])
            group = group_of(qa["type"], qa["category"])
            if group is None:
                skip_row("spatialrgpt", index, item_id, f"category {qa['category']!r} is not scored by the benchmark")
                continue
            image_path = folder / (item.get("file_path") or info["file_path"])
            if not image_path.is_file():
                skip_row("spatialrgpt", index, item_id, f"image {image_path} not found")
                continue
            image = Image.open(image_path).convert("RGB")
            masks = [decode_rle(rle) for rle in structured(item["rle"])] if item.get("rle") else None
            boxes = structured(item.get("bbox")) or None
            if masks is None and boxes is None:
                raise ValueError("no 'rle' and no 'bbox' regions")
            answer = conversations[1]["value"]
            if group == "direction":
                clock_success(None, answer)  # a reference without a clock hour is malformed
            rows.append({"id": str(item_id), "image": draw_regions(image, boxes=boxes, masks=masks),
                         "question": question_text({**item, "conversations": conversations}), "answer": answer, "category": qa["category"],
                         "qa_type": qa["type"], "qa_category": qa["category"], "group": group})
        except (KeyError, IndexError, TypeError, ValueError, SyntaxError) as error:
            skip_row("spatialrgpt", index, item_id, f"malformed item: {error!r}")
    return rows_dataset(rows, source)


def score(predictions: list[str], rows, **_) -> tuple[dict, list[dict]]:
    """Per-group success rates, qualitative and quantitative overall (item-weighted)."""
    from metrics.msmu_accuracy.scoring import compute_msmu_accuracy

    groups, kinds = list(rows["group"]), list(rows["qa_type"])
    references, questions = list(rows["answer"]), list(rows["question"])
    distance = [i for i, (g, k) in enumerate(zip(groups, kinds)) if k == "quantitative" and g != "direction"]
    qualitative = [i for i, k in enumerate(kinds) if k == "qualitative"]
    details: dict[int, dict] = {}
    if distance:
        # A quantitative category name makes a reference without a number an error, not a statement.
        result = compute_msmu_accuracy([predictions[i] for i in distance], [references[i] for i in distance],
                                       categories=[LENGTH_CATEGORY] * len(distance), rule="spatialrgpt",
                                       return_per_item=True)
        details.update(zip(distance, result["items"]))
    if qualitative:
        # A qualitative category name keeps "Region [0]" from being read as a number.
        result = compute_msmu_accuracy([predictions[i] for i in qualitative], [references[i] for i in qualitative],
                                       categories=["relative_position"] * len(qualitative),
                                       questions=[questions[i] for i in qualitative], return_per_item=True)
        details.update(zip(qualitative, result["items"]))
    items = []
    for index, (row_id, group, kind) in enumerate(zip(rows["id"], groups, kinds)):
        if group == "direction":
            success, reason = clock_success(predictions[index], references[index])
        else:
            success, reason = bool(details[index]["success"]), details[index]["reason"]
        items.append({"index": index, "id": row_id, "category": group, "qa_type": kind, "question": questions[index],
                      "reference": references[index], "prediction": predictions[index], "success": success,
                      "reason": reason})
    rates = {}
    for column in {item["category"] for item in items}:
        rates[column] = mean(item["success"] for item in items if item["category"] == column)
    for kind in ("qualitative", "quantitative"):
        chosen = [item["success"] for item in items if item["qa_type"] == kind]
        if chosen:
            rates[kind] = mean(chosen)
    scores = {"score": rates.get("quantitative"), "per_category": ordered_table(rates, COLUMNS),
              "num_items": len(items)}
    return scores, items


BENCHMARK = Benchmark(name="spatialrgpt", hub_id="a8cheng/SpatialRGPT-Bench", title="SpatialRGPT-Bench",
                      score_name="quantitative_success", load=load, score=score, columns=COLUMNS)

__all__ = ["QUANTITATIVE_GROUPS", "QUALITATIVE_GROUPS", "COLUMNS", "group_of", "structured", "clock_hour", "clock_success",
           "question_text", "load", "score", "BENCHMARK"]
