"""Check a training dataset before training starts, so a bad row is named up front, never a crash mid-run.

Checks: the schema (an `image` and a `conversations` column), and for every row that its image
decodes, its conversation is LLaVA turns ending in an assistant answer, and, where the run reads
the dataset's depth, that the depth is there, readable, pixel-aligned with the image and valid by
the processor's own rules (`modeling_sdvlm.depth_inputs`). Every problem names the row and its
scene. Bad rows are skipped with a warning (or stop the run with `invalid_rows="error"`), so one
bad row never takes down a whole run.

The check decodes every image once (the depth cache's estimation, where it runs, decodes them
again); its cost is one pass over the data, before the first step.
"""

from __future__ import annotations

import io
import logging
from contextlib import contextmanager
from dataclasses import dataclass

from datasets import Image as ImageFeature
from PIL import Image, ImageFile

from modeling_sdvlm.depth_inputs import check_depth_range

from .conversation import conversation_to_messages
from .depth import depth_to_meters

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("image", "conversations")
SCENE_COLUMN = "scene_id"
# How many problems a log message or an error lists in full (the rest are counted).
LISTED_PROBLEMS = 20


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one row."""

    row: int
    scene: str | None
    problem: str

    def __str__(self) -> str:
        return f"row {self.row} (scene {self.scene or 'unknown'}): {self.problem}"


def check_schema(dataset, needs_depth: bool) -> None:
    """A ValueError naming every missing column (and the columns there are)."""
    needed = REQUIRED_COLUMNS + (("depth",) if needs_depth else ())
    missing = [name for name in needed if name not in dataset.column_names]
    if missing:
        raise ValueError(
            f"the training dataset has no {', '.join(repr(name) for name in missing)} column"
            f"{'s' if len(missing) > 1 else ''} (it has {', '.join(dataset.column_names)}); an MSMU dataset needs "
            "'image' and 'conversations', and 'depth' when training reads the dataset's depth"
        )


@contextmanager
def truncated_images_refused():
    """Pillow's `LOAD_TRUNCATED_IMAGES` off while decoding: some libraries (lmms-eval) switch it on for the
    whole process on import, and a truncated image would then decode with made-up pixels."""
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before


def _decode(value, name: str) -> Image.Image:
    """An undecoded `datasets.Image` value (or an already decoded PIL image) as a loaded PIL image."""
    if value is None:
        raise ValueError(f"{name} is null")
    if isinstance(value, Image.Image):
        value.load()
        return value
    if isinstance(value, dict) and (value.get("bytes") or value.get("path")):
        source = io.BytesIO(value["bytes"]) if value.get("bytes") else value["path"]
        try:
            with truncated_images_refused():
                image = Image.open(source)
                image.load()
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            raise ValueError(f"{name} cannot be decoded ({type(error).__name__}: {error})") from error
        return image
    raise ValueError(f"{name} is not an image (got {type(value).__name__})")


def _conversation_problem(conversations) -> str | None:
    if not isinstance(conversations, list):
        return f"conversations is {type(conversations).__name__}, not a list of turns"
    if any(not isinstance(turn, dict) or not isinstance(turn.get("value"), str) for turn in conversations):
        return "conversations has a turn without a text 'value'"
    try:
        messages = conversation_to_messages(conversations)
    except (ValueError, KeyError) as error:
        return f"conversations: {error}"
    if messages[-1]["role"] != "assistant":
        return "conversations does not end with an assistant ('gpt') answer to train on"
    empty = [index for index, turn in enumerate(conversations) if turn["from"] == "gpt" and not turn["value"].strip()]
    if empty:
        return f"conversations turn {empty[0]} is an empty answer"
    return None


def row_problems(dataset, needs_depth: bool) -> list[RowProblem]:
    """Every problem of every row (schema assumed checked)."""
    columns = list(REQUIRED_COLUMNS) + (["depth"] if needs_depth else [])
    columns += [SCENE_COLUMN] if SCENE_COLUMN in dataset.column_names else []
    rows = dataset.select_columns(columns)
    for name in ("image", "depth"):
        if name in columns and isinstance(rows.features[name], ImageFeature):
            rows = rows.cast_column(name, ImageFeature(decode=False))  # decode here, per row, to catch errors
    problems = []
    for index, row in enumerate(rows):
        scene = row.get(SCENE_COLUMN)
        try:
            image = _decode(row["image"], "image")
            image.convert("RGB")
        except (OSError, ValueError) as error:
            problems.append(RowProblem(index, scene, str(error)))
            continue
        problem = _conversation_problem(row["conversations"])
        if problem is not None:
            problems.append(RowProblem(index, scene, problem))
            continue
        if needs_depth:
            try:
                depth = depth_to_meters(_decode(row["depth"], "depth"))
                if depth.shape != (image.height, image.width):
                    raise ValueError(f"depth is {depth.shape[1]}x{depth.shape[0]} but the image is {image.width}x{image.height}")
                check_depth_range(depth, index, "metric")
            except (OSError, ValueError) as error:
                problems.append(RowProblem(index, scene, str(error)))
    return problems


def validate_training_dataset(dataset, needs_depth: bool, invalid_rows: str = "skip"):
    """`dataset` without its bad rows (each logged), after checking the schema.

    Args:
        dataset: a `datasets.Dataset` of MSMU rows.
        needs_depth: the run reads the dataset's `depth` column.
        invalid_rows: `"skip"` (drop bad rows, warn) or `"error"` (raise, listing them).

    Raises:
        ValueError: a missing column, bad rows with `"error"`, or no valid row left.
    """
    if invalid_rows not in ("skip", "error"):
        raise ValueError(f"invalid_rows must be 'skip' or 'error', got {invalid_rows!r}")
    check_schema(dataset, needs_depth)
    problems = row_problems(dataset, needs_depth)
    if not problems:
        return dataset
    listed = "; ".join(str(problem) for problem in problems[:LISTED_PROBLEMS])
    more = f"; and {len(problems) - LISTED_PROBLEMS} more" if len(problems) > LISTED_PROBLEMS else ""
    if invalid_rows == "error" or len(problems) == len(dataset):
        reason = "every row is invalid" if len(problems) == len(dataset) else "invalid rows (--invalid_rows error)"
        raise ValueError(f"training dataset: {reason}: {listed}{more}")
    logger.warning("skipping %d invalid training rows of %d: %s%s", len(problems), len(dataset), listed, more)
    bad = {problem.row for problem in problems}
    return dataset.select([index for index in range(len(dataset)) if index not in bad])


__all__ = ["RowProblem", "REQUIRED_COLUMNS", "check_schema", "row_problems", "validate_training_dataset"]
