"""The metric on real model answers: the labelled set (provenance, agreement with the labels) and
one test per failure class of issue 9, on answers written like the real ones."""

import json
from pathlib import Path

import pytest

from metrics.msmu_accuracy.parsing import parse_answer
from metrics.msmu_accuracy.qualitative import match_qualitative
from metrics.msmu_accuracy.scoring import compute_msmu_accuracy

DATA = Path(__file__).parent / "data" / "msmu_real_answers.jsonl"


@pytest.fixture(scope="module")
def labelled():
    with open(DATA, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_the_labelled_set_is_real_answers_with_provenance(labelled):
    assert len(labelled) >= 300
    assert len({item["repo"] for item in labelled}) >= 3
    for item in labelled:
        assert item["repo"].count("/") == 1 and len(item["commit"]) == 40 and item["path"], item["key"]
        assert item["answer"] and item["question"] and item["label"], item["key"]
        assert (item["label"] == "none") == (item["label_value"] is None), item["key"]


def test_agreement_with_the_labels_is_at_least_97_percent_and_per_source_95(labelled):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_metric import agreement_report

    report = agreement_report(labelled)
    assert 1 - len(report["disagreements"]) / report["items"] >= 0.97, report["disagreements"]
    for source, (count, bad) in report["per_source"].items():
        assert 1 - bad / count >= 0.95, source
    for name, (count, bad) in report["per_class"].items():
        assert bad / report["items"] <= 0.01, (name, bad)


def _read(answer, question=None, kind="length"):
    parsed = parse_answer(answer, kind=kind, expect_len=1, question=question)
    return None if parsed is None else round(parsed.values[0], 4)


# (answer, question, meters or None): one or more per failure class.
CLASS_CASES = [
    # 1. indices and tags are no quantities
    ("Region [0] is 1.2 meters from Region [1].", None, 1.2),
    ("[10] is about 2 m away from [3]", None, 2.0),
    ("<region1> is 3 ft tall", None, 0.9144),
    ("The height of object 2 is 40 cm.", None, 0.4),
    ("shape[0] measures 25 cm across", None, 0.25),
    ("**0**\n\nThe width of Region [0] is 300 pixels.", None, None),
    # 2. non-length numbers
    ("It is approximately 360 pixels tall.", None, None),
    ("The bed is 3-4 times wider than the chair.", None, None),
    ("Region [1] is at 9 o'clock, about 2 m away.", None, 2.0),
    ("The room is 25 m^2, the table 1.5 m long.", None, 1.5),
    ("1. Identify the table.\n2. Estimate: it is 0.8 m tall.", None, 0.8),
    ("Step 3: the gap is 60% of the width, roughly 0.5 m.", None, 0.5),
    # 3. a value repeated without its unit when the answer degenerates
    ("[0] is 17.3 inches tall.\n\n[0] is 17.3 inches tall.\n\n[0] is 17.3", None, 0.4394),
    ("The distance is 3.15 meters.\nThe distance is 3.15 meters.\nThe distance is 3.", None, 3.15),
    # 4. number words inside noun phrases
    ("Looking at the two regions, the gap is 1.5 m.", None, 1.5),
    ("One of the chairs is 0.9 m tall.", None, 0.9),
    ("Two regions are highlighted; which one is closer cannot be told.", None, None),
    # 5. several candidates: the stated answer, the asked dimension
    ("The height of Region [0] is approximately **1.8 meters**. A standard door is about 2 m.", None, 1.8),
    ("Width: 0.9 m, Height: 1.8 m", "How tall is the cabinet?", 1.8),
    ("Width: 0.9 m, Height: 1.8 m", "How wide is the cabinet?", 0.9),
    ("Step 1: the bed is 2 m long.\nStep 2: the lamp is half of it.\nAnswer: 1 m", None, 1.0),
    ("The cup is 10 cm, so the shelf is \\boxed{1.2 m}", None, 1.2),
    ("The bed is 0.81 m; the table is 0.75 m.", "The height of the bed is 0.81 m, what is the height of the table?", 0.75),
    ("*   A) 20 inches\n*   B) 24 inches\n\nThe height is **B) 24 inches**.", None, 0.6096),
    # 6. fractions
    ("About 3/4 of a meter.", None, 0.75),
    ("It is 1 1/2 feet wide.", None, 0.4572),
    ("three quarters of a metre", None, 0.75),
]


@pytest.mark.parametrize("answer, question, expected", CLASS_CASES, ids=[c[0][:40] for c in CLASS_CASES])
def test_failure_classes_of_real_answers(answer, question, expected):
    assert _read(answer, question) == expected


def test_several_candidates_without_a_rule_are_flagged_ambiguous():
    parsed = parse_answer("The chair is 1 m and the table is 2 m", expect_len=1)
    assert parsed.values == [1.0] and parsed.ambiguous and parsed.reason == "first statement of a value"
    sure = parse_answer("Width: 0.9 m, Height: 1.8 m", expect_len=1, question="How tall is it?")
    assert not sure.ambiguous and sure.reason == "clause names the asked height"
    assert parse_answer("about 1.5", expect_len=1).ambiguous  # no unit


# 7. qualitative: indexed names kept apart, garbage unreadable, which-one answers with extra words
@pytest.mark.parametrize(
    "prediction, reference, question, success",
    [
        ("Region [1] is more to the left.", "Region [0] is to the left of Region [1].", None, False),
        ("Region [0] is more to the left.", "Region [0] is to the left of Region [1].", None, True),
        ("s?s?s?s", "Yes, it is.", None, None),
        ("Region [0] (the train) is significantly larger than Region [1] (the person).",
         "Region [0] is bigger.", "Which is bigger, Region [0] or Region [1]?", True),
        ("Region0 is more to the right than Region1.", "From the viewer's perspective, Region [0] appears more on the right side.",
         "Which is more to the right, Region [0] or Region [1]?", True),
        ("Region [1] is more to the right than Region [0].", "Region [0] appears more on the right side.",
         "Which is more to the right, Region [0] or Region [1]?", False),
    ],
)  # fmt: skip
def test_qualitative_answers_keep_indices_and_read_which_one(prediction, reference, question, success):
    assert match_qualitative(prediction, reference, question).success is success


def test_region_references_without_categories_are_qualitative():
    # 8. "Region [0] is to the left of Region [1]" holds no quantity once its indices are set aside.
    result = compute_msmu_accuracy(
        ["Region [0] is on the left.", "1.2 m"], ["Region [0] is to the left of Region [1].", "1.1 m"], return_per_item=True
    )
    assert set(result["per_category"]) == {"qualitative", "quantitative"}
    assert [item["success"] for item in result["items"]] == [True, True]
