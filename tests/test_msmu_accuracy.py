"""MSMU-Bench scoring: rules, aggregation, qualitative matching, errors, judge, and evaluate.load offline."""

import json
import math
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.msmu_accuracy.qualitative import match_qualitative
from metrics.msmu_accuracy.scoring import MRA_THRESHOLDS, asked_noun, compute_msmu_accuracy, element_delta

EXPECTED_KEYS = {
    "msmu_score", "success_rate", "per_category", "delta_1.25", "delta_1.5625", "delta_1.953125",
    "abs_rel", "mra", "parse_failures", "num_ranges", "num_unitless", "msmu_score_over_8", "ambiguous_share",
    "judge_calls",
}  # fmt: skip


def _one(prediction, reference, category=None, **kwargs):
    result = compute_msmu_accuracy([prediction], [reference], [category], return_per_item=True, **kwargs)
    return result["items"][0]


# (prediction, reference, category, rule, success)
QUANTITATIVE_CASES = [
    ("1.2 m", "1 m", "absolute_distance", "msmu", True),
    ("1.25 m", "1 m", "absolute_distance", "msmu", False),  # strict: delta < 1.25
    ("0.81 m", "1 m", "absolute_distance", "msmu", True),
    ("0.8 m", "1 m", "absolute_distance", "msmu", False),
    ("It is about 1.5 meters away.", "150 cm", "absolute_distance", "msmu", True),
    ("Roughly 5 feet 3 inches tall.", "1.6 m", "scale_estimation", "msmu", True),
    ("0.8 x 0.6 x 0.9 m", "0.8 m x 0.63 m x 0.55 m", "scale_estimation", "msmu", True),  # mean delta 1.229
    ("0.8 x 0.6 x 1.2 m", "0.8 m x 0.63 m x 0.55 m", "scale_estimation", "msmu", False),  # mean delta 1.411
    ("0.8 m", "0.8 m x 0.63 m x 0.55 m", "scale_estimation", "msmu", False),  # length mismatch
    ("-0.5 m", "0.5 m", "position", "msmu", False),  # opposite signs
    ("-0.55 m", "-0.5 m", "position", "msmu", True),
    ("The height of the bed is 0.81 m, so the table is 0.7 m.", "0.75 m", "refer_obj_estimation", "msmu", True),
    ("0.75 m", "1 m", "absolute_distance", "spatialrgpt", True),
    ("1.25 m", "1 m", "absolute_distance", "spatialrgpt", True),
    ("0.74 m", "1 m", "absolute_distance", "spatialrgpt", False),
    ("1.3 m", "1 m", "absolute_distance", "spatialrgpt", False),
    ("0.8 x 1.2 m", "1 m x 1 m", "scale_estimation", "spatialrgpt", True),
    ("0.8 x 1.3 m", "1 m x 1 m", "scale_estimation", "spatialrgpt", False),
    ("1.9 m", "1 m", "absolute_distance", "qspatial", True),
    ("2 m", "1 m", "absolute_distance", "qspatial", False),
    ("0.55 m", "1 m", "absolute_distance", "qspatial", True),
    ("\\scalar{3} \\distance_unit{feet}", "1 m", "absolute_distance", "qspatial", True),
    ("1.9 m", "1 m", "absolute_distance", "vqasynth", True),
    ("2.1 m", "1 m", "absolute_distance", "vqasynth", False),
    ("3 chairs", "3", "count", "msmu", True),
    ("three", "3", "count", "msmu", True),
    ("4", "3", "count", "msmu", False),
    ("0", "0", "count", "msmu", True),
    ("1", "0", "count", "msmu", False),
    ("I don't know", "2 m", "absolute_distance", "msmu", False),
    # review findings 6 and 8: zero counts and wordy size answers
    ("0", "0", "count", "spatialrgpt", True),
    ("There are no chairs.", "0", "count", "msmu", True),
    ("The chair is 0.8 meters in length, 0.63 meters in width, and 0.55 meters in height.",
     "0.8 m x 0.63 m x 0.55 m", "scale_estimation", "msmu", True),
    ("0.8 m (length), 0.63 m (width) and 0.55 m (height)", "0.8 m x 0.63 m x 0.55 m", "scale_estimation", "msmu", True),
    ("It is 1.5 m away, plus or minus 0.2 m", "1.5 m", "absolute_distance", "msmu", True),
    ("5 minutes", "5 m", "absolute_distance", "msmu", False),
]


@pytest.mark.parametrize("prediction, reference, category, rule, success", QUANTITATIVE_CASES)
def test_quantitative_rules(prediction, reference, category, rule, success):
    assert _one(prediction, reference, category, rule=rule)["success"] is success


# (prediction, reference, category, success) with success None = unreadable (a counted failure)
QUALITATIVE_CASES = [
    ("Yes.", "Yes", "zero", True),
    ("Yes, it is.", "yes", "zero", True),
    ("YES", "yes", "zero", True),
    ("yeah", "Yes.", "zero", True),
    ("Correct.", "Yes", "zero", True),
    ("No.", "Yes", "zero", False),
    ("Nope", "no", "zero", True),
    ("There is no lamp in the image.", "No", "zero", True),
    ("There isn't one.", "no", "zero", True),
    ("I don't see any lamp.", "No", "zero", True),
    ("There is a lamp next to the bed.", "Yes", "zero", True),
    ("There is a lamp next to the bed.", "No", "zero", False),
    ("Maybe.", "Yes", "zero", None),
    ("I cannot tell.", "No", "zero", None),
    ("No idea.", "No", "zero", None),
    ("Hard to say.", "yes", "zero", None),
    ("Not sure, but I think yes.", "yes", "zero", True),
    ("Yes, the bed is to the left of the curtain.", "Yes", "relative_position", True),
    ("It is to the left.", "Yes", "relative_position", True),
    ("No, it is to the right.", "Yes", "relative_position", False),
    ("No, it is on the right side.", "no", "relative_position", True),  # "right" is no yes-word
    ("It is on the right side.", "no", "relative_position", False),  # a plain statement reads as yes
    ("Left.", "left", "relative_position", True),
    ("right", "Left", "relative_position", False),
    ("It is on the right side of the sofa.", "right", "relative_position", True),
    ("In front of the chair.", "in front", "relative_position", True),
    ("behind the chair", "In front.", "relative_position", False),
    ("Behind.", "The lamp is behind the sofa.", "relative_position", True),
    ("The lamp is closer to the camera.", "The lamp.", "relative_position", True),
    ("The chair is closer.", "The lamp is closer to the viewer.", "relative_position", False),
    ("the table", "The wooden table is taller.", "scale_compare", True),
    ("The wooden table.", "The wooden table is taller.", "scale_compare", True),
    ("The tables", "The wooden table is taller.", "scale_compare", True),
    ("The wooden table is taller than the black chair.", "The wooden table is taller.", "scale_compare", True),
    ("The black chair is shorter.", "The wooden table is taller.", "scale_compare", True),
    ("The black chair.", "The wooden table is taller.", "scale_compare", False),
    ("The white table.", "The wooden table is taller.", "scale_compare", False),
    ("The wooden table is shorter.", "The wooden table is taller.", "scale_compare", False),
    ("The large sofa is bigger.", "The large sofa is bigger than the lamp.", "scale_compare", True),
    ("the lamp is smaller", "The large sofa is bigger than the lamp.", "scale_compare", True),
    ("The lamp.", "The large sofa is bigger than the lamp.", "scale_compare", False),
    ("Neither.", "The wooden table is taller.", "scale_compare", None),
    ("Yes, the table is taller.", "Yes", "scale_compare", True),
    ("", "Yes", "zero", None),
    # review finding 5: negated relations and yes words, affirmative idioms
    ("The table is not taller.", "The table is taller.", "scale_compare", False),
    ("The table isn't taller.", "The table is taller.", "scale_compare", False),
    ("Not left; it is on the right.", "Left", "relative_position", False),
    ("It is not on the right.", "Left", "relative_position", True),
    ("not yes", "yes", "zero", False),
    ("That is not correct.", "yes", "zero", False),
    ("Not wrong.", "yes", "zero", True),
    ("No doubt, the table is bigger.", "yes", "scale_compare", True),
    ("Without a doubt.", "yes", "zero", True),
    ("That's right.", "yes", "zero", True),
    ("No, it is not.", "yes", "zero", False),
    # a bare measurement answers another question: no yes (and no no) is read from it
    ("It is 3 m.", "yes", "zero", None),
    ("About 2 meters away.", "no", "zero", None),
    ("Approximately 1.5 m tall.", "yes", "relative_position", None),
    ("There are 2.", "yes", "zero", True),
    ("The chair is 3 m tall.", "yes", "zero", True),
    ("It is 2 m to the left of Region [1].", "yes", "relative_position", True),
    ("It is.", "yes", "zero", True),
]


@pytest.mark.parametrize("prediction, reference, category, success", QUALITATIVE_CASES)
def test_qualitative_answers(prediction, reference, category, success):
    item = _one(prediction, reference, category)
    assert item["success"] is bool(success)
    result = compute_msmu_accuracy([prediction], [reference], [category])
    assert result["parse_failures"] == (1 if success is None else 0)


# (prediction, reference, question, success): the optional question sharpens qualitative matching
QUESTION_CASES = [
    ("It is on the right side.", "no", "Is the bed to the left of the curtain?", True),
    ("It is on the right side.", "yes", "Is the bed to the left of the curtain?", False),
    ("It is to the left of the curtain.", "yes", "Is the bed to the left of the curtain?", True),
    ("The lamp is behind the sofa.", "No", "Is the lamp in front of the sofa?", True),
    ("the table", "The wooden table is taller.", "Between the wooden table and the black chair, which one is taller?", True),
    ("The black chair is shorter.", "The wooden table is taller.", "Between the wooden table and the black chair, which one is taller?", True),
    ("The black chair.", "The wooden table is taller.", "Between the wooden table and the black chair, which one is taller?", False),
    ("The wooden one.", "The wooden table is taller.", "Between the wooden table and the white table, which one is taller?", True),
    ("the table", "The wooden table is taller.", "Between the wooden table and the white table, which one is taller?", False),
    ("The white table is shorter.", "The wooden table is taller.", "Between the wooden table and the white table, which one is taller?", True),
    ("The sofa", "The lamp.", "Which is closer to the camera, the lamp or the sofa?", False),
    ("The sofa is farther away.", "The lamp.", "Which is closer to the camera, the lamp or the sofa?", True),
    ("the chair", "The chair is taller.", "Is the chair or the table taller?", True),
    ("The green vase.", "The chair is taller.", "Is the chair or the table taller?", False),
]


@pytest.mark.parametrize("prediction, reference, question, success", QUESTION_CASES)
def test_questions_sharpen_qualitative_matching(prediction, reference, question, success):
    result = compute_msmu_accuracy([prediction], [reference], ["scale_compare"], questions=[question], return_per_item=True)
    assert result["items"][0]["success"] is success, result["items"][0]["reason"]


@settings(max_examples=150, deadline=None)
@given(prediction=st.text(max_size=80), question=st.one_of(st.none(), st.text(max_size=80)))
def test_arbitrary_predictions_never_crash_the_scorer(prediction, question):
    references = ["1.5 m", "0.8 m x 0.6 m x 0.5 m", "3", "yes", "The wooden table is taller.", "left"]
    categories = ["absolute_distance", "scale_estimation", "count", "zero", "scale_compare", "relative_position"]
    result = compute_msmu_accuracy(
        [prediction] * len(references), references, categories, questions=[question] * len(references), return_per_item=True
    )
    assert 0.0 <= result["msmu_score"] <= 1.0
    assert result["parse_failures"] == sum(item["reason"] in _UNREAD for item in result["items"])


_UNREAD = {"unparseable prediction", "unreadable yes/no answer", "no object or relation in the answer", "empty prediction"}


def test_questions_must_match_references_in_length():
    with pytest.raises(ValueError, match="1 questions but 2 references"):
        compute_msmu_accuracy(["yes", "no"], ["yes", "no"], questions=["Is it?"])


def test_tables_hold_at_least_80_tricky_answers():
    assert len(QUANTITATIVE_CASES) + len(QUALITATIVE_CASES) + len(QUESTION_CASES) >= 80  # + >100 in test_msmu_parsing.py


def test_output_keys_and_issue_example():
    result = compute_msmu_accuracy(
        predictions=["It is about 1.5 meters away.", "Roughly 5 feet 3 inches tall.", "Yes."],
        references=["150 cm", "1.6 m", "yes"],
        categories=["absolute_distance", "scale_estimation", "zero"],
    )
    assert set(result) == EXPECTED_KEYS
    assert result["msmu_score"] == 1.0
    assert result["per_category"]["zero"] == {"rate": 1.0, "count": 1, "parse_failures": 0}
    assert "items" in compute_msmu_accuracy(["1 m"], ["1 m"], return_per_item=True)


def test_aggregates_against_independent_computation():
    predictions = ["1.2 m", "0.5 m", "1.9 m", "3 m", "no idea", "Yes", "No"]
    references = ["1 m"] * 5 + ["yes", "yes"]
    categories = ["absolute_distance", "absolute_distance", "scale_estimation", "scale_estimation", "position", "zero", "zero"]
    result = compute_msmu_accuracy(predictions, references, categories)
    # per category: absolute_distance 1/2, scale_estimation 0/2, position 0/1, zero 1/2
    assert result["per_category"]["absolute_distance"]["rate"] == 0.5
    assert result["msmu_score"] == pytest.approx((0.5 + 0 + 0 + 0.5) / 4)
    assert result["success_rate"] == pytest.approx(2 / 7)
    deltas = [1.2, 2.0, 1.9, 3.0, math.inf]
    for threshold in (1.25, 1.5625, 1.953125):
        assert result[f"delta_{threshold!r}"] == pytest.approx(sum(d < threshold for d in deltas) / 5)
    rel = [0.2, 0.5, 0.9, 2.0]
    assert result["abs_rel"] == pytest.approx(sum(rel) / 4)
    # VSI-Bench's rule: error <= 1 - theta over np.linspace(0.5, 0.95, 10); 1.2 vs 1 counts at 0.50..0.80 (0.7),
    # 0.5 vs 1 at 0.50 only (0.1), 1.9 and 3 nowhere, the unparsed answer 0.
    thresholds = np.linspace(0.5, 0.95, 10)
    mra = [float(np.mean(abs(p - 1.0) <= 1 - thresholds)) for p in [1.2, 0.5, 1.9, 3.0]] + [0.0]
    assert mra == [0.7, 0.1, 0.0, 0.0, 0.0]
    assert MRA_THRESHOLDS == tuple(thresholds.tolist())
    assert result["mra"] == pytest.approx(sum(mra) / 5)
    assert result["parse_failures"] == 1
    assert result["per_category"]["position"]["parse_failures"] == 1


def test_zero_reference_exact_match_is_full_mra():
    # review finding 6: an exact 0 for a 0 reference has no relative error; it scores MRA 1.
    result = compute_msmu_accuracy(["0", "zero", "none", "1"], ["0"] * 4, ["count"] * 4, return_per_item=True)
    assert [item["success"] for item in result["items"]] == [True, True, True, False]
    assert result["mra"] == 0.75


def test_count_question_picks_the_asked_object():
    # review finding 9: with questions, the number attached to the asked noun wins.
    predictions = ["There are 3 chairs and 2 tables"] * 2
    questions = ["How many chairs are in the room?", "How many tables are there?"]
    result = compute_msmu_accuracy(predictions, ["3", "2"], ["count"] * 2, questions=questions)
    assert result["success_rate"] == 1.0
    # without questions: the first number stated (documented policy), flagged ambiguous
    result = compute_msmu_accuracy(predictions[:1], ["2"], ["count"], return_per_item=True)
    assert result["success_rate"] == 0.0 and result["items"][0]["ambiguous"] is True


def test_asked_noun():
    assert asked_noun("How many wooden chairs are there in the room?") == "chairs"
    assert asked_noun("How many pillows can you see?") == "pillows"
    assert asked_noun("What color is the sofa?") is None


def test_count_reports_exact_match_and_delta():
    result = compute_msmu_accuracy(["3", "3.2", "4", "two"], ["3", "3", "3", "2"], ["count"] * 4, return_per_item=True)
    assert [item["success"] for item in result["items"]] == [True, True, False, True]
    assert [item["exact_match"] for item in result["items"]] == [True, False, False, True]
    assert result["per_category"]["count"]["exact_match"] == 0.5
    assert result["per_category"]["count"]["rate"] == 0.75
    assert result["num_unitless"] == 0  # counts have no unit to miss


def test_ranges_unitless_and_length_mismatches_are_counted():
    result = compute_msmu_accuracy(
        ["2-3 m", "1.5", "0.8 m", "between 1 and 2 meters"],
        ["2.5 m", "1.5 m", "0.8 m x 0.6 m x 0.5 m", "1.5 m"],
        ["absolute_distance", "absolute_distance", "scale_estimation", "absolute_distance"],
        return_per_item=True,
    )
    assert result["num_ranges"] == 2
    assert result["num_unitless"] == 1
    assert result["per_category"]["scale_estimation"]["length_mismatches"] == 1
    assert result["items"][2]["reason"].startswith("length mismatch")


def test_per_item_fields():
    items = compute_msmu_accuracy(
        ["0.8 x 0.6 x 0.5 m", "It is 2 m away", "maybe"], ["0.8 m x 0.6 m x 0.5 m", "1 m", "yes"],
        ["scale_estimation", "absolute_distance", "zero"], return_per_item=True,
    )["items"]  # fmt: skip
    assert items[0] == {
        "category": "scale_estimation", "success": True, "pred_m": [0.8, 0.6, 0.5],
        "ref_m": [0.8, 0.6, 0.5], "delta": 1.0, "reason": "ok",
        "span": "0.8 x 0.6 x 0.5 m", "span_reason": "only value", "ambiguous": False,
    }  # fmt: skip
    assert items[1]["pred_m"] == 2.0 and items[1]["ref_m"] == 1.0 and items[1]["delta"] == 2.0
    assert "delta 2.000" in items[1]["reason"]
    assert items[2]["success"] is False and items[2]["reason"] == "unreadable yes/no answer"


def test_custom_thresholds():
    result = compute_msmu_accuracy(["1.15 m"], ["1 m"], thresholds=(1.1, 2.0))
    assert result["delta_1.1"] == 0.0 and result["delta_2.0"] == 1.0
    assert result["success_rate"] == 0.0  # the first threshold is the success threshold


def test_categories_are_inferred_when_missing():
    result = compute_msmu_accuracy(["1 m", "yes"], ["1 m", "yes"])
    assert result["per_category"] == {
        "qualitative": {"rate": 1.0, "count": 1, "parse_failures": 0},
        "quantitative": {"rate": 1.0, "count": 1, "parse_failures": 0, "length_mismatches": 0},
    }


@pytest.mark.parametrize(
    "predictions, references, categories, message",
    [
        (["1 m", "1 m"], ["1 m", "banana"], ["absolute_distance", "absolute_distance"], "index 1"),
        (["yes"], [""], ["zero"], "index 0"),
        (["1 m"], ["1 m", "2 m"], None, "1 predictions but 2 references"),
        (["1 m"], ["1 m"], ["zero", "zero"], "2 categories"),
        ([], [], None, "empty"),
        (["1 m"], [1.0], None, "index 0"),
        (["1 m", 1.5], ["1 m", "1 m"], None, "prediction at index 1"),
    ],
)
def test_bad_input_raises(predictions, references, categories, message):
    with pytest.raises(ValueError, match=message):
        compute_msmu_accuracy(predictions, references, categories)


def test_bad_rule_and_thresholds_raise():
    with pytest.raises(ValueError, match="unknown rule"):
        compute_msmu_accuracy(["1 m"], ["1 m"], rule="gpt4")
    with pytest.raises(ValueError, match="thresholds"):
        compute_msmu_accuracy(["1 m"], ["1 m"], thresholds=(0.9,))


def test_unparseable_prediction_is_a_failure_not_a_crash():
    result = compute_msmu_accuracy([None, "", "no idea"], ["1 m"] * 3, ["absolute_distance"] * 3)
    assert result["parse_failures"] == 3 and result["success_rate"] == 0.0
    assert result["abs_rel"] is None and result["mra"] == 0.0


def test_judge_is_asked_only_for_unreadable_answers_and_its_reply_is_data():
    asked = []

    def judge(prediction, category):
        asked.append((prediction, category))
        return "1.5 meters" if "arm" in prediction else "__import__('os').system('touch /tmp/pwned')"

    result = compute_msmu_accuracy(
        ["1.5 m", "roughly an arm's length", "no clue"], ["1.5 m"] * 3, ["absolute_distance"] * 3,
        judge=judge, return_per_item=True,
    )  # fmt: skip
    assert [a[0] for a in asked] == ["roughly an arm's length", "no clue"]
    assert result["items"][1]["success"] is True and result["items"][1]["judged"] is True
    assert result["items"][2]["success"] is False and result["parse_failures"] == 1


def test_judge_also_reads_unclear_qualitative_answers():
    result = compute_msmu_accuracy(
        ["hmm, hard to say", "Yes."], ["yes", "yes"], ["zero", "zero"], judge=lambda p, c: "Yes", return_per_item=True
    )
    assert result["items"][0] == {
        "category": "zero", "success": True, "pred_m": None, "ref_m": None, "delta": None, "judged": True, "reason": "ok",
        "span": "Yes", "span_reason": "judge's reply", "ambiguous": False,
    }  # fmt: skip
    assert "judged" not in result["items"][1] and result["parse_failures"] == 0


def test_element_delta():
    assert element_delta(2.0, 1.0) == element_delta(1.0, 2.0) == 2.0
    assert element_delta(0.0, 0.0) == 1.0
    assert element_delta(0.0, 1.0) == math.inf and element_delta(-1.0, 1.0) == math.inf


def test_match_qualitative_rejects_empty_reference():
    with pytest.raises(ValueError, match="nothing|no yes/no"):
        match_qualitative("yes", "the")


_LOAD_SCRIPT = textwrap.dedent(
    """
    import json, sys
    # The standalone copy must not lean on this project's packages.
    for name in ("metrics", "sdvlm", "modeling_sdvlm", "dataset_builders"):
        sys.modules[name] = None
    import evaluate
    from evaluate import config
    assert config.HF_EVALUATE_OFFLINE, "offline mode not active"
    kwargs = dict(
        predictions=["It is about 1.5 meters away.", "Roughly 5 feet 3 inches tall.", "Yes.", "2-3 m"],
        references=["150 cm", "1.6 m", "yes", "2 m"],
        categories=["absolute_distance", "scale_estimation", "zero", None],
        return_per_item=True,
    )
    out = {}
    for label, path in (("folder", sys.argv[1]), ("space_copy", sys.argv[2])):
        metric = evaluate.load(path)
        out[label] = metric.compute(**kwargs)
    out["no_categories"] = metric.compute(predictions=["1 m"], references=["1 m"])
    out["questions"] = metric.compute(
        predictions=["It is on the right."], references=["no"], questions=["Is the bed on the left?"]
    )
    print(json.dumps(out))
    """
)


@pytest.mark.slow
def test_evaluate_load_offline_from_folder_and_as_standalone_space(repo_root, tmp_path):
    folder = repo_root / "metrics" / "msmu_accuracy"
    space = tmp_path / "space"  # a Space repository: the folder's files at its root, another name
    shutil.copytree(folder, space, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    env = {
        **os.environ,
        "HF_EVALUATE_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "PYTHONPATH": "",
    }
    completed = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, str(folder), str(space / "msmu_accuracy.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = json.loads(completed.stdout.strip().splitlines()[-1])
    expected = compute_msmu_accuracy(
        ["It is about 1.5 meters away.", "Roughly 5 feet 3 inches tall.", "Yes.", "2-3 m"],
        ["150 cm", "1.6 m", "yes", "2 m"],
        ["absolute_distance", "scale_estimation", "zero", None],
        return_per_item=True,
    )
    assert out["folder"] == json.loads(json.dumps(expected))
    assert out["space_copy"] == out["folder"]
    assert out["folder"]["per_category"]["quantitative"]["count"] == 1  # None category was inferred
    assert out["no_categories"]["msmu_score"] == 1.0
    assert out["questions"]["msmu_score"] == 1.0  # non-feature kwargs reach the scorer


def test_space_app_scores_a_table():
    from metrics.msmu_accuracy.app import _EXAMPLE, build_demo, score_rows
    from metrics.msmu_accuracy.msmu_accuracy import MsmuAccuracy

    metric = MsmuAccuracy()
    result = score_rows(metric, _EXAMPLE + [["", "", ""]], rule="msmu")  # the blank row is skipped
    assert len(result["items"]) == len(_EXAMPLE)
    assert result == compute_msmu_accuracy(*zip(*_EXAMPLE), return_per_item=True)
    with pytest.raises(ValueError, match="at least one row"):
        score_rows(metric, [["", "", ""]])
    assert build_demo(metric) is not None
