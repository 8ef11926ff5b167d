"""MSMU-Bench (the SD-VLM paper's benchmark): the released test split, scored like the authors.

Source: an MSMU folder written by `msmu-build` (the authors' released parquet through
`--source released`, or any other source) or a Hub id; split `test`. Rows keep the MSMU columns
(`image`, `question`, `answer`, `category`, and `depth` where the source has it) plus `id`.

Scoring is the metric's `rule="msmu"` (delta = max(p/g, g/p) < 1.25 for quantitative types,
qualitative matching for the others); the table has one column per MSMU-Bench type in the
authors' order (`dataset_builders.msmu.templates.CATEGORY_NAMES`), and the score is the mean of
the per-type success rates (the authors' `evaluate_final.py`: the sum of the eight rates / 8).
"""

from __future__ import annotations

from dataset_builders.msmu.templates import CATEGORY_NAMES

from .base import Benchmark, ordered_table


def with_category_names(dataset):
    """`category` as the type names (the builder stores a ClassLabel)."""
    from ..evaluation import item_categories

    categories = item_categories(dataset)
    return dataset.remove_columns("category").add_column("category", categories)


def load(source: str, split: str = "test", **_):
    from ..train import load_msmu

    dataset = load_msmu(source)[split]
    if len(dataset) == 0:
        raise ValueError(f"MSMU split {split!r} of {source!r} is empty")
    dataset = with_category_names(dataset)
    return dataset.add_column("id", [f"{split}-{index}" for index in range(len(dataset))])


def score(predictions: list[str], rows, **_) -> tuple[dict, list[dict]]:
    from ..evaluation import score_predictions

    scores, items = score_predictions(predictions, rows, rule="msmu")
    return {"score": scores["msmu_score"], "per_category": ordered_table(scores["per_category"], CATEGORY_NAMES),
            "success_rate": scores["success_rate"], "num_items": len(items)}, items


BENCHMARK = Benchmark(name="msmu", hub_id="msmu", title="MSMU-Bench", score_name="msmu_score", load=load,
                      score=score, columns=tuple(CATEGORY_NAMES))

__all__ = ["with_category_names", "load", "score", "BENCHMARK"]
