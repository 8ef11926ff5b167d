"""lmms-eval hooks of the `msmu_bench` task: MSMU rows in, `msmu_accuracy` scores out.

The prompt is the row's `question` (the model adapter renders its own chat template), the
reference its `answer`; scoring is `metrics/msmu_accuracy` with the `msmu` rule and the
questions, as `sdvlm-evaluate` scores (`sdvlm.evaluation.score_predictions`), so both report the
same numbers on the same answers. A category with no items in the run aggregates to NaN.
"""

import math
import os

from dataset_builders.msmu.templates import CATEGORY_NAMES

# lmms-eval's YAML `!function utils.NAME` resolves any attribute of this file, so the task's data
# path is read from the environment: an MSMU folder (read offline) or a Hub id.
DATASET_PATH = os.environ.get("MSMU_BENCH_PATH", "msmu")


def process_docs(dataset):
    from sdvlm.benchmarks.msmu import with_category_names

    return with_category_names(dataset)


def doc_to_visual(doc):
    return [doc["image"].convert("RGB")]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    return doc["question"]


def process_results(doc, results):
    """The item's record with the metric's verdict on it (`success`, `reason`: what lmms-eval's
    `--log_samples` shows per item); the aggregations score all records again, because msmu_score
    is a mean of per-type rates that only the metric computes."""
    record = {"prediction": results[0], "reference": doc["answer"], "category": doc["category"],
              "question": doc["question"]}
    (item,) = _score([record], return_per_item=True)["items"]
    record.update(success=item["success"], reason=item["reason"])
    return {"msmu_score": record, "success_rate": record, **{name: record for name in CATEGORY_NAMES}}


def _score(records, return_per_item: bool = False) -> dict:
    from metrics.msmu_accuracy.scoring import compute_msmu_accuracy

    return compute_msmu_accuracy(predictions=[r["prediction"] for r in records],
                                 references=[r["reference"] for r in records],
                                 categories=[r["category"] for r in records],
                                 questions=[r["question"] for r in records], rule="msmu",
                                 return_per_item=return_per_item)


def aggregate_msmu_score(records):
    return _score(records)["msmu_score"]


def aggregate_success_rate(records):
    return _score(records)["success_rate"]


def _category_aggregation(name):
    def aggregate(records):
        entry = _score(records)["per_category"].get(name)
        return math.nan if entry is None else entry["rate"]

    aggregate.__name__ = f"aggregate_{name}"
    return aggregate


# One aggregation per MSMU-Bench type (the YAML names them `aggregate_<type>`).
globals().update({f"aggregate_{name}": _category_aggregation(name) for name in CATEGORY_NAMES})
