"""The authors' `rule="msmu"` (position by absolute difference, both type namings, sum of rates / 8),
and inputs that used to crash or corrupt the scorer (issue 15)."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.msmu_accuracy.categories import MSMU_CATEGORIES, canonical_category
from metrics.msmu_accuracy.msmu_accuracy import MsmuAccuracy
from metrics.msmu_accuracy.qualitative import text_similarity
from metrics.msmu_accuracy.scoring import compute_msmu_accuracy


def _items(predictions, references, categories, **kwargs):
    return compute_msmu_accuracy(predictions, references, categories, return_per_item=True, **kwargs)["items"]


def test_position_succeeds_by_mean_absolute_difference_not_by_ratio():
    predictions = ["0.05 m", "0.19 m", "0.35 m", "1.0 m, 0.5 m", "-0.05 m"]
    references = ["0.1 m", "0.3 m", "0.2 m", "1.1 m, 0.45 m", "0.04 m"]
    items = _items(predictions, references, ["position"] * 5)
    # |d| = 0.05, 0.11, 0.15, mean(0.1, 0.05), 0.09: the ratio rule would fail the 1st, 4th and 5th.
    assert [item["success"] for item in items] == [True, False, False, True, True]
    assert "mean |p - g| 0.110 m > 0.1 m" in items[1]["reason"]
    delta = _items(predictions, references, ["position"] * 5, rule="msmu_delta")
    assert [item["success"] for item in delta] == [False, False, False, True, False]


def test_textual_positions_use_the_word_overlap_stand_in():
    items = _items(
        ["It is in the corner near the door.", "On the table.", ""],
        ["in the corner, near the door", "in the corner near the door", "near the window"],
        ["position"] * 3,
    )
    assert [item["success"] for item in items] == [True, False, False]
    assert text_similarity("On the table.", "in the corner near the door") == 0.0
    assert "text similarity 0.00 < 0.5" in items[1]["reason"]
    with pytest.raises(ValueError, match="no number"):  # the all-delta variant needs numbers
        compute_msmu_accuracy(["x"], ["near the window"], ["position"], rule="msmu_delta")


def test_both_type_namings_score_the_same_and_report_one_name():
    predictions = ["0.12 m", "Yes", "No"]
    references = ["0.1 m", "yes", "yes"]
    first = compute_msmu_accuracy(predictions, references, ["position", "zero", "zero"])
    second = compute_msmu_accuracy(predictions, references, ["grounding", "existence", "existence"])
    assert first == second and set(first["per_category"]) == {"position", "zero"}
    assert canonical_category("grounding") == "position" and canonical_category(None) is None


def test_score_over_8_sums_the_eight_rates():
    predictions = ["1 m", "2 m", "3", "0.1 m", "1 m", "Yes", "the chair", "No"]
    references = ["1 m", "1 m", "3", "0.1 m", "1 m", "yes", "The table is taller.", "yes"]
    result = compute_msmu_accuracy(predictions, references, list(MSMU_CATEGORIES))
    assert result["msmu_score_over_8"] == pytest.approx(5 / 8) == result["msmu_score"]
    partial = compute_msmu_accuracy(["1 m"], ["1 m"], ["absolute_distance"])
    assert partial["msmu_score"] == 1.0 and partial["msmu_score_over_8"] == 1 / 8


@pytest.mark.parametrize("answer", ["hundred " * 155, "dozen " * 286, "hundred and " * 4000, "1e309 m", "1e308 km"])
def test_overflowing_answers_are_unreadable_not_fatal(answer):
    result = compute_msmu_accuracy([answer, "1 m"], ["1 m", "1 m"], ["absolute_distance"] * 2)
    assert result["parse_failures"] == 1 and result["success_rate"] == 0.5


def test_overflowing_reference_is_a_clear_error_and_extreme_values_keep_json_valid():
    with pytest.raises(ValueError, match=r"reference at index 0 \('1e309 m'.*no number"):
        compute_msmu_accuracy(["1 m"], ["1e309 m"], ["absolute_distance"])
    result = compute_msmu_accuracy(["1e-300 m", "1e300 m"], ["1e300 m", "1e-300 m"], ["absolute_distance"] * 2)
    text = json.dumps(result, allow_nan=False)  # raises on NaN or infinity
    assert json.loads(text)["success_rate"] == 0.0 and math.isfinite(result["abs_rel"])


def test_none_predictions_score_the_same_through_evaluate_and_the_direct_api():
    predictions, references = [None, "1 m", None], ["1 m", "1 m", "yes"]
    categories = ["absolute_distance", "absolute_distance", "zero"]
    direct = compute_msmu_accuracy(predictions, references, categories, return_per_item=True)
    through = MsmuAccuracy().compute(
        predictions=predictions, references=references, categories=categories, return_per_item=True
    )
    assert through == direct and direct["parse_failures"] == 2


_FRAGMENTS = [
    "hundred ", "dozen ", "1e309", "1e308 km", "[0]", "Region [1]", "<region2>", "**", "\n1. ", "\nA) ", "3/4",
    " of a meter", "9 o'clock", "25 m^2", "2 m²", " x ", "-", "between 2 and ", "two and a half", "not ", "\\boxed{",
    "}", "%", "(1000, 360)", "[...]", "17.3", " inches", " feet", " cm", "0.5 m", "one of the", "the two regions",
    "Therefore, ", "Answer:", "s?s?", "yes", "no", "left", "taller", ",", ".", "\n", "360 pixels", "½", "\u2212",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.sampled_from(_FRAGMENTS), max_size=25), question=st.sampled_from([None, "How tall is it?", "How many chairs?"]))
def test_fuzzed_answers_of_real_fragments_never_crash_and_give_valid_json(parts, question):
    prediction = "".join(parts)
    references = ["1.5 m", "0.8 m x 0.6 m x 0.5 m", "3", "yes", "Region [0] is to the left of Region [1].", "0.1 m"]
    categories = ["absolute_distance", "scale_estimation", "count", "zero", "relative_position", "grounding"]
    result = compute_msmu_accuracy(
        [prediction] * 6, references, categories, questions=[question] * 6, return_per_item=True
    )
    json.dumps(result, allow_nan=False)
    assert 0.0 <= result["msmu_score"] <= 1.0 and 0.0 <= result["ambiguous_share"] <= 1.0
