"""VSI-Bench (Yang et al., "Thinking in Space", CVPR 2025; `nyu-visionx/VSI-Bench`, Apache-2.0).

Items: `id, dataset, scene_name, question_type, question, ground_truth, options` (test split,
parquet; the Hub repository's configs `full` and `debiased` are picked with `--benchmark_config`),
videos at `<video_root>/<dataset>/<scene_name>.mp4` (the release's `arkitscenes`, `scannet`,
`scannetpp` zips unpacked). lmms-eval's `vsibench` task is the reference implementation; we follow
the one of lmms-eval 0.7.3 (EvolvingLMMs-Lab/lmms-eval, `lmms_eval/tasks/vsibench/utils.py`, as
installed here). The benchmark's own repository (vision-x-nyu/thinking-in-space at 51e089c, same
path) reads a numerical answer as its first word only (`to_float(fuzzy_matching(pred))`, so
"3 chairs" reads 3 but "There are 3" scores 0); lmms-eval 0.7.3 takes the first number anywhere.
Everything below:

- prompt: "These are frames of a video." + question + (options and "Answer with the option's
  letter from the given choices directly." | "Please answer the question using a single word or
  phrase."), joined by newlines;
- frames: `num_frames` frames sampled uniformly (`video.py`); depth is estimated per frame;
- multiple-choice types: the first word of the answer, trailing "." removed, equal to the
  letter (case-insensitive): accuracy;
- numerical types: the first number of the answer (digits or number words) scored by MRA, the
  share of thresholds 0.50, 0.55, ..., 0.95 with |p - g| / g <= 1 - threshold (the metric's
  `relative_accuracy`); an answer without a number scores 0;
- averaging: the mean per question type, the three `object_rel_direction_*` types first averaged
  into one `object_rel_direction`; the overall score is the mean of those eight.
"""

from __future__ import annotations

import re
from pathlib import Path

from .base import Benchmark, mean, ordered_table, rows_dataset, skip_row

MULTIPLE_CHOICE_TYPES = ("object_rel_direction_easy", "object_rel_direction_medium", "object_rel_direction_hard",
                         "object_rel_distance", "route_planning", "obj_appearance_order")
NUMERICAL_TYPES = ("object_abs_distance", "object_counting", "object_size_estimation", "room_size_estimation")
DIRECTION_TYPES = MULTIPLE_CHOICE_TYPES[:3]
# The paper's table order (Table 1 of "Thinking in Space").
COLUMNS = ("object_counting", "object_abs_distance", "object_size_estimation", "room_size_estimation",
           "object_rel_distance", "object_rel_direction", "route_planning", "obj_appearance_order")
PRE_PROMPT = "These are frames of a video."
MC_POST_PROMPT = "Answer with the option's letter from the given choices directly."
NA_POST_PROMPT = "Please answer the question using a single word or phrase."

_NUMBER_WORDS = {word: value for value, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
                      "ninety": 90, "hundred": 100, "thousand": 1000})
_DIGITS_RE = re.compile(r"-?\d+(?:\.\d+)?")


def prompt(question: str, question_type: str, options) -> str:
    if question_type in NUMERICAL_TYPES:
        return "\n".join([PRE_PROMPT, question, NA_POST_PROMPT])
    if question_type in MULTIPLE_CHOICE_TYPES:
        return "\n".join([PRE_PROMPT, question, "Options:\n" + "\n".join(options), MC_POST_PROMPT])
    raise ValueError(f"unknown VSI-Bench question type {question_type!r}")


def first_word(prediction: str | None) -> str:
    """The official multiple-choice reading: the first space-separated word, trailing "." removed."""
    return (prediction or "").split(" ")[0].rstrip(".").strip()


def first_number(prediction: str | None) -> float | None:
    """The official numerical reading: whichever comes first, a number in digits or a run of
    number words ("three hundred and twenty-one" -> 321).

    >>> first_number("There are 3 chairs"), first_number("three hundred and twenty-one"), first_number("none")
    (3.0, 321.0, None)
    """
    text = (prediction or "").strip().lower()
    digits = _DIGITS_RE.search(text)
    run_start, run = None, []
    for match in re.finditer(r"[a-z]+", text):
        word = match.group(0)
        if run_start is None:
            if word in _NUMBER_WORDS:
                run_start, run = match.start(), [word]
        elif word in _NUMBER_WORDS:
            run.append(word)
        elif word != "and":
            break
    if digits is not None and (run_start is None or digits.start() < run_start):
        return float(digits.group(0))
    if run_start is None:
        return None
    total = current = 0
    for word in run:
        value = _NUMBER_WORDS[word]
        if value == 100:
            current = max(current, 1) * 100
        elif value == 1000:
            total, current = total + max(current, 1) * 1000, 0
        else:
            current += value
    return float(total + current)


def video_path(video_root: str | Path, dataset: str, scene_name: str) -> Path:
    return Path(video_root) / dataset / f"{scene_name}.mp4"


def load(source: str, split: str = "test", video_root: str | None = None, config: str | None = None, **_):
    """Rows from a Hub id or a local folder (parquet, read offline); videos under `video_root`
    (default: the source folder). Extra row fields: `video` (path), `question_type`,
    `ground_truth`. Rows whose video is missing are skipped with a warning naming the file."""
    from datasets import load_dataset

    dataset = load_dataset(source, config, split=split)
    root = Path(video_root) if video_root else Path(source)
    rows = []
    for index, item in enumerate(dataset):
        path = video_path(root, item["dataset"], item["scene_name"])
        if not path.is_file():
            skip_row("vsibench", index, item.get("id"), f"video {path} not found")
            continue
        try:
            question = prompt(item["question"], item["question_type"], item.get("options") or [])
        except ValueError as error:
            skip_row("vsibench", index, item.get("id"), str(error))
            continue
        rows.append({"id": str(item["id"]), "video": str(path), "question": question,
                     "answer": str(item["ground_truth"]), "category": item["question_type"],
                     "question_type": item["question_type"], "ground_truth": str(item["ground_truth"])})
    return rows_dataset(rows, f"{source}:{split}")


def _mra(prediction: float | None, ground_truth: str) -> float:
    """MRA of one numerical answer: the official |p - g| / g on the numbers as read (no text round trip),
    thresholds and comparison from the metric's `relative_accuracy`. An unreadable answer scores 0, as
    officially, and so does a ground truth that is no number (the official `to_float` gives None); a
    zero ground truth (no relative error) scores 1 only for an exact 0."""
    from metrics.msmu_accuracy.scoring import relative_accuracy

    try:
        truth = float(ground_truth)
    except ValueError:
        return 0.0
    if prediction is None:
        return 0.0
    if truth == 0:
        return float(prediction == 0)
    return relative_accuracy(abs(prediction - truth) / truth)


def score(predictions: list[str], rows, **_) -> tuple[dict, list[dict]]:
    """Accuracy (multiple choice) and MRA (numerical) per type, the benchmark's own averaging."""
    items = []
    for index, (row_id, question_type, truth, question, prediction) in enumerate(zip(
            rows["id"], rows["question_type"], rows["ground_truth"], rows["question"], predictions)):
        if question_type in MULTIPLE_CHOICE_TYPES:
            read = first_word(prediction)
            value = float(read.lower() == truth.lower())
            metric = "accuracy"
        else:
            read = first_number(prediction)
            value = _mra(read, truth)
            metric = "mra"
        items.append({"index": index, "id": row_id, "category": question_type, "question": question,
                      "reference": truth, "prediction": prediction, "read": read, metric: value,
                      "success": value == 1.0})
    per_type = {}
    for item in items:
        per_type.setdefault(item["category"], []).append(item.get("accuracy", item.get("mra")))
    rates = {name: mean(values) for name, values in per_type.items()}
    directions = [rates.pop(name) for name in DIRECTION_TYPES if name in rates]
    if directions:
        # The official aggregation averages the three difficulty levels into one column.
        rates["object_rel_direction"] = sum(directions) / len(directions)
    table = ordered_table(rates, COLUMNS)
    scores = {"score": mean(table.values()), "per_category": table, "num_items": len(items)}
    return scores, items


BENCHMARK = Benchmark(name="vsibench", hub_id="nyu-visionx/VSI-Bench", title="VSI-Bench", score_name="overall",
                      load=load, score=score, columns=COLUMNS)

__all__ = ["MULTIPLE_CHOICE_TYPES", "NUMERICAL_TYPES", "COLUMNS", "prompt", "first_word", "first_number",
           "video_path", "load", "score", "BENCHMARK"]
