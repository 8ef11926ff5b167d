"""What every benchmark module provides, and the rows they all load into.

A benchmark turns its public release into the rows `sdvlm-evaluate` generates answers for, and
scores those answers with its own official rule. Rows are a `datasets.Dataset` with

- `id` (str): the benchmark's item id,
- `image` (PIL image): what the model sees (for SpatialRGPT-Bench, with the regions drawn), or
  `video` (str, a path) for VSI-Bench, whose frames are sampled at generation time,
- `question` (str): the exact text asked, the benchmark's instructions included,
- `answer` (str): the reference the scorer reads,
- `category` (str): the benchmark's own per-item category,

plus whatever the benchmark's scorer needs (documented in each module). `score(predictions,
rows)` returns `(scores, items)`: `scores["score"]` is the benchmark's headline number in [0, 1],
`scores["per_category"]` its paper's table as {column: value in [0, 1]}; `items` one record per row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from datasets import Dataset

logger = logging.getLogger(__name__)

# The metric's category that reads an answer as a length (meters) under the chosen rule; given
# explicitly, a reference without a number is an error instead of a qualitative statement.
LENGTH_CATEGORY = "absolute_distance"


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: how to load its rows and how to score answers to them.

    Args:
        name: the `--benchmark` value.
        hub_id: the dataset's Hub id (the model card's `dataset_type`).
        title: a human name for tables and the model card.
        score_name: what the headline score is called in results and the model card.
        load: `load(source, **options) -> Dataset` of rows (see the module docstring).
        score: `score(predictions, rows) -> (scores, items)`.
        columns: the paper's per-category table columns, in the paper's order.
    """

    name: str
    hub_id: str
    title: str
    score_name: str
    load: Callable[..., Dataset]
    score: Callable[[list[str], Dataset], tuple[dict, list[dict]]]
    columns: tuple[str, ...]


def rows_dataset(rows: list[dict], source: str) -> Dataset:
    """A `Dataset` of benchmark rows; an empty list is an error naming the source."""
    if not rows:
        raise ValueError(f"no usable items in {source!r} (every row was missing or malformed; see the warnings above)")
    return Dataset.from_list(rows)


def skip_row(benchmark: str, index: int, item_id, problem: str) -> None:
    """Log one row that cannot be used (one bad row never takes down a run)."""
    logger.warning("%s: skipping row %d (id %s): %s", benchmark, index, item_id, problem)


def mean(values) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def ordered_table(rates: dict[str, float], columns: tuple[str, ...]) -> dict[str, float]:
    """`rates` in the paper's column order; columns without items are left out, unknown ones follow."""
    table = {column: rates[column] for column in columns if column in rates}
    table.update({column: value for column, value in rates.items() if column not in table})
    return table


__all__ = ["LENGTH_CATEGORY", "Benchmark", "rows_dataset", "skip_row", "mean", "ordered_table"]
