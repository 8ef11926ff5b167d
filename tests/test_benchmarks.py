"""Benchmark loaders on fixtures in each release's layout, and every official rule on hand-made cases."""

import numpy as np
import pytest

from sdvlm.benchmarks import get_benchmark, qspatial, spatialrgpt, vsibench
from sdvlm.benchmarks.regions import PALETTE, draw_regions
from sdvlm.benchmarks.testing import (
    frame_colors,
    spatialrgpt_items,
    write_qspatial,
    write_spatialrgpt,
    write_video,
    write_vsibench,
)
from sdvlm.benchmarks.video import sample_frames


def rows_with_answers(benchmark, source, **options):
    rows = get_benchmark(benchmark).load(source, **options)
    return rows, list(rows["answer"])


# ----------------------------------------------------------------- Q-Spatial-Bench


def qspatial_score(predictions, value, unit, strict=True):
    rows = {"id": ["x"] * len(predictions), "category": ["distance"] * len(predictions),
            "question": ["q"] * len(predictions), "answer": [qspatial.reference(value, unit)] * len(predictions)}
    _, items = qspatial.score(predictions, _Rows(rows), strict_format=strict)
    return [item["success"] for item in items]


class _Rows(dict):
    """Column access like a `datasets.Dataset` (rows[column] -> list)."""


@pytest.mark.parametrize("prediction, success", [
    ("\\scalar{1.9} \\distance_unit{meters}", True),        # ratio 1.9
    ("\\scalar{2} \\distance_unit{m}", False),              # ratio exactly 2: the rule is strict (< 2)
    ("\\scalar{50.5} \\distance_unit{cm}", True),           # 1/0.505 = 1.98
    ("\\scalar{50} \\distance_unit{centimeter}", False),    # ratio 2
    ("\\scalar{3} \\distance_unit{feet}", True),            # 0.9144 m
    ("\\scalar{150} \\distance_unit{cubits}", True),        # unknown unit = cm, as the official scorer does
    ("\\scalar{1-3} \\distance_unit{m}", False),            # numbers in the box averaged: 2 m
    ("first \\scalar{5} \\distance_unit{m}, finally \\scalar{1} \\distance_unit{m}", True),  # the last box counts
])
def test_qspatial_official_rule(prediction, success):
    assert qspatial_score([prediction], 100, "cm") == [success]


def test_qspatial_reports_delta_one_and_a_half_like_vlmevalkit():
    rows = _Rows({"id": ["a", "b"], "category": ["d", "d"], "question": ["q", "q"], "answer": ["1.0 m", "1.0 m"]})
    scores, _ = qspatial.score(["\\scalar{1.4} \\distance_unit{m}", "\\scalar{1.8} \\distance_unit{m}"], rows)
    assert scores["score"] == 1.0 and scores["delta_1.5"] == 0.5


def test_qspatial_answers_without_boxes_fail_by_default_as_officially():
    """The official notebook has no reading for an answer without boxes (VLMEvalKit: a failure); free
    text is read only on request."""
    rows = _Rows({"id": ["a"], "category": ["d"], "question": ["q"], "answer": ["1.0 m"]})
    scores, items = qspatial.score(["It is about 1.2 meters."], rows)
    assert scores["score"] == 0.0 and scores["strict_format"] is True and items[0]["format"] == "free_text"
    assert qspatial_score(["It is about 1.2 meters."], 1, "meters", strict=False) == [True]
    from sdvlm.benchmarks.run import BenchmarkArguments
    assert BenchmarkArguments().strict_format is True


def test_qspatial_prompt_is_the_official_system_and_user_prompt():
    text = qspatial.prompt("How tall is the lamp?")
    assert text.startswith("You will be provided with a question and a 2D image.")
    assert "\\scalar{scalar} \\distance_unit{distance unit}" in text
    assert text.endswith("\nQuestion: How tall is the lamp?\nLet's thinkg step by step and start by finding good "
                         "reference objects or object parts in the image.")
    assert qspatial.prompt("Q?", "standard").endswith("\nQuestion: Q?")
    with pytest.raises(ValueError, match="prompt style"):
        qspatial.prompt("Q?", "fancy")


def test_qspatial_loads_both_splits_and_skips_missing_scannet_frames(tmp_path, caplog):
    write_qspatial(tmp_path / "q", tmp_path / "scannet")
    rows, answers = rows_with_answers("qspatial_plus", str(tmp_path / "q"))
    assert len(rows) == 3 and answers == ["50.0 cm", "1.2 m", "6.0 ft"]
    assert list(rows["category"]) == ["height", "distance", "width"]
    rows, _ = rows_with_answers("qspatial_scannet", str(tmp_path / "q"), scannet_root=str(tmp_path / "scannet"))
    assert len(rows) == 2 and rows[0]["image"].size == (48, 32)
    (tmp_path / "scannet" / "scene0019_00" / "color" / "400.jpg").unlink()
    rows, _ = rows_with_answers("qspatial_scannet", str(tmp_path / "q"), scannet_root=str(tmp_path / "scannet"))
    assert len(rows) == 1 and "scene0019_00/color/400.jpg" in caplog.text
    with pytest.raises(ValueError, match="--scannet_root"):
        get_benchmark("qspatial_scannet").load(str(tmp_path / "q"))


# ----------------------------------------------------------------- SpatialRGPT-Bench


def srgpt_rows(category, qa_type, references, questions=None):
    count = len(references)
    group = spatialrgpt.group_of(qa_type, category)
    return _Rows({"id": [str(i) for i in range(count)], "group": [group] * count, "qa_type": [qa_type] * count,
                  "answer": references, "question": questions or ["q"] * count})


@pytest.mark.parametrize("prediction, success", [
    ("0.75 meters", True), ("1.25 m", True),   # both bounds are inclusive: 0.75 g <= p <= 1.25 g
    ("0.74 m", False), ("1.26 m", False), ("100 cm", True), ("3.5 feet", True), ("no idea", False),
])
def test_spatialrgpt_quantitative_rule(prediction, success):
    rows = srgpt_rows("width_data", "quantitative", ["The width of Region [0] is 1.0 meters."])
    _, items = spatialrgpt.score([prediction], rows)
    assert items[0]["success"] is success


@pytest.mark.parametrize("prediction, truth, success", [
    ("0.45 m", "0.36 m", False),  # 1.25 * 0.36 = 0.44999999999999996 < 0.45, though 0.45 / 0.36 == 1.25
    ("1.17 m", "1.56 m", True),   # 0.75 * 1.56 <= 1.17, though 1.17 / 1.56 < 0.75
])
def test_spatialrgpt_bounds_are_products_of_the_truth_as_officially(prediction, truth, success):
    # AnjieCheng/SpatialRGPT, scripts/srgpt/eval/evaluate_spatial_with_gpt4.py: p <= 1.25 * g and p >= 0.75 * g.
    _, items = spatialrgpt.score([prediction], srgpt_rows("width_data", "quantitative", [truth]))
    assert items[0]["success"] is success


@pytest.mark.parametrize("truth, said, success", [(2, 3, True), (12, 1, True), (1, 11, False), (2, 4, False), (6, 6, True)])
def test_spatialrgpt_direction_within_one_clock_hour(truth, said, success):
    rows = srgpt_rows("direction", "quantitative", [f"Region [0] will find Region [1] around the {truth} o'clock direction."])
    _, items = spatialrgpt.score([f"Around the {said} o'clock direction."], rows)
    assert items[0]["success"] is success


# The official judge's own examples (AnjieCheng/SpatialRGPT scripts/srgpt/eval/prompt_templates/left_predicate.txt).
@pytest.mark.parametrize("answer, response, mark", [
    ("Yes, Region [0] is to the left of Region [1].", "Indeed, Region [0] is positioned on the left side of Region [1].", True),
    ("Indeed, Region [0] is positioned on the left side of Region [1].", "In fact, Region [0] is to the right of Region [1].", False),
    ("Incorrect, Region [0] is not on the left side of Region [1].", "Correct, you'll find Region [0] to the left of Region [1].", False),
    ("Incorrect, Region [0] is not on the left side of Region [1].", "In fact, Region [0] is to the right of Region [1].", True),
])
def test_spatialrgpt_qualitative_by_the_metric(answer, response, mark):
    rows = srgpt_rows("left_predicate", "qualitative", [answer], ["Is Region [0] to the left of Region [1]?"])
    _, items = spatialrgpt.score([response], rows)
    assert items[0]["success"] is mark


def test_spatialrgpt_groups_and_item_weighted_overall():
    assert spatialrgpt.group_of("qualitative", "short_choice") == "tall/short"
    assert spatialrgpt.group_of("qualitative", "behind_predicate") == "behind/front"
    assert spatialrgpt.group_of("quantitative", "distance_data") == "direct_distance"
    assert spatialrgpt.group_of("quantitative", "volume_data") is None
    rows = _Rows({"id": list("abc"), "group": ["width", "width", "height"], "qa_type": ["quantitative"] * 3,
                  "answer": ["1 m", "1 m", "2 m"], "question": ["q"] * 3})
    scores, _ = spatialrgpt.score(["1 m", "5 m", "2 m"], rows)
    assert scores["per_category"]["width"] == 0.5 and scores["per_category"]["height"] == 1.0
    assert scores["score"] == pytest.approx(2 / 3)  # item-weighted, not the mean of 0.5 and 1.0


def test_spatialrgpt_loader_draws_regions_and_names_them(tmp_path, caplog):
    write_spatialrgpt(tmp_path / "s")
    rows = get_benchmark("spatialrgpt").load(str(tmp_path / "s"))
    assert len(rows) == 5 and rows[0]["question"] == "How far away is Region [0] from Region [1]?"
    assert list(rows["group"]) == ["direct_distance", "width", "direction", "left/right", "tall/short"]
    drawn = np.asarray(rows[0]["image"])
    assert tuple(drawn[109, 100]) == PALETTE[1] and tuple(drawn[65, 30]) != PALETTE[1]  # region 1's box outline
    masked = np.asarray(rows[1]["image"]).astype(int)  # the RLE region: tinted towards PALETTE[0]
    from PIL import Image
    original = np.asarray(Image.open(tmp_path / "s" / "images" / "scene.jpg").convert("RGB")).astype(int)
    inside = np.abs(masked[90, 120] - (0.65 * original[90, 120] + 0.35 * np.array(PALETTE[0]))).max()
    assert inside <= 1 and (masked[110, 20] == original[110, 20]).all()

    items = spatialrgpt_items()
    items[0]["image_info"] = {**items[0]["image_info"], "file_path": "images/missing.jpg"}
    del items[3]["bbox"]
    import json
    (tmp_path / "s" / "SpatialRGPT-Bench_v1.json").write_text(json.dumps(items))
    rows = get_benchmark("spatialrgpt").load(str(tmp_path / "s"))
    assert len(rows) == 3 and "missing.jpg not found" in caplog.text and "no 'rle' and no 'bbox'" in caplog.text


def test_question_text_names_masks_in_order_without_text_q():
    item = {"conversations": [{"from": "human", "value": "<image>\nIs <mask> behind <mask>?"}]}
    assert spatialrgpt.question_text(item) == "Is Region [0] behind Region [1]?"


@pytest.mark.parametrize("value", [
    "Does <mask> <depth> have greater width than <mask> <depth>?",  # OpenSpatialDataset turns (no image token)
    "Does <mask> have greater width than <mask>?\n<image>",           # the image token after the question
    "<image>\nDoes  <mask>  <depth> have greater width than <mask>?",
])
def test_question_text_reads_every_llava_turn_form(value):
    # Forms from AnjieCheng/SpatialRGPT @ 16715d4 (llava/data/dataset.py, llava/eval/eval_spatial.py) and
    # kasohrab/theworld @ 52a5f1a (docs/spatial-bbox-correspondence.md).
    item = {"conversations": [{"from": "human", "value": value}]}
    assert spatialrgpt.question_text(item) == "Does Region [0] have greater width than Region [1]?"


def test_draw_regions_rejects_a_mask_of_the_wrong_size():
    from PIL import Image
    with pytest.raises(ValueError, match="Region \\[0\\]"):
        draw_regions(Image.new("RGB", (8, 8)), masks=[np.ones((4, 4), bool)])


# ----------------------------------------------------------------- VSI-Bench


@pytest.mark.parametrize("text, number", [
    ("3", 3.0), ("3.0", 3.0), ("There are 3 boxes", 3.0), ("three", 3.0), ("Three boxes.", 3.0),
    ("twenty-one", 21.0), ("three hundred and twenty-one", 321.0), ("one apple, room 2", 1.0), ("none", None),
])
def test_vsibench_first_number(text, number):  # the cases of lmms-eval's vsibench `extract_number` docstring
    assert vsibench.first_number(text) == number


def vsi_rows(question_types, truths):
    count = len(truths)
    return _Rows({"id": [str(i) for i in range(count)], "question_type": question_types, "ground_truth": truths,
                  "question": ["q"] * count})


def test_vsibench_multiple_choice_reads_the_first_word():
    rows = vsi_rows(["route_planning"] * 4, ["B"] * 4)
    _, items = vsibench.score(["B. Turn Right", "b", "The answer is B", "C"], rows)
    assert [item["accuracy"] for item in items] == [1.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("prediction, mra", [
    ("1.1", 0.9),    # float error 0.10000000000000009 <= 1 - 0.8999999999999999 (the official 0.9 threshold)
    ("1.3 m", 0.5),  # 0.3 <= 1 - theta for theta 0.50..0.70
    ("2.5", 0.0), ("about one", 1.0), ("unknown", 0.0),
])
def test_vsibench_mra(prediction, mra):
    _, items = vsibench.score([prediction], vsi_rows(["object_abs_distance"], ["1.0"]))
    assert items[0]["mra"] == pytest.approx(mra)


@pytest.mark.parametrize("question_type, prediction, truth, mra", [
    ("object_abs_distance", "1.5", "1.0", 0.1),   # error 0.5 counts at theta 0.50: the official test is <=, not <
    ("object_counting", "3", "4", 0.6),           # error 0.25 counts at theta 0.50..0.75
    ("object_abs_distance", "0.95", "1.0", 1.0),  # error 0.05 counts at theta 0.95
    ("object_abs_distance", "1.5000004", "1.0", 0.0),  # read at full precision, not rounded to 1.5
])
def test_vsibench_mra_boundaries_follow_the_official_rule(question_type, prediction, truth, mra):
    # thinking-in-space @ e6a72f3 and lmms-eval 0.7.3, lmms_eval/tasks/vsibench/utils.py `mean_relative_accuracy`:
    # |p - g| / g <= 1 - np.linspace(0.5, 0.95, 10), averaged.
    _, items = vsibench.score([prediction], vsi_rows([question_type], [truth]))
    assert items[0]["mra"] == pytest.approx(mra, abs=1e-12)


def lmms_eval_vsibench_utils():
    """lmms-eval's `tasks/vsibench/utils.py`, run from its file: importing the `lmms_eval` package costs ~10 s."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("lmms_eval")
    if spec is None:
        pytest.skip("lmms-eval is installed by `make test` (the `lmms` extra + lmms-eval --no-deps)")
    path = Path(spec.submodule_search_locations[0], "tasks", "vsibench", "utils.py")
    module_spec = importlib.util.spec_from_file_location("lmms_eval_vsibench_utils", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_vsibench_mra_equals_lmms_eval_vsibench_scorer():
    official = lmms_eval_vsibench_utils()
    predictions = [f"{p / 20:g}" for p in range(0, 61)] + ["3 chairs", "twenty-one", "-2", "none"]
    truths = ["1", "2", "4", "3.3", "20"]
    types = ["object_counting", "object_abs_distance", "object_size_estimation", "room_size_estimation"]
    cases = [(t, p, g) for t in types for g in truths for p in predictions]
    _, items = vsibench.score([p for _, p, _ in cases], vsi_rows([t for t, _, _ in cases], [g for _, _, g in cases]))
    for (question_type, prediction, truth), item in zip(cases, items):
        expected = official.vsibench_process_results(
            {"question_type": question_type, "ground_truth": truth}, [prediction])["vsibench_overall"]["MRA:.5:.95:.05"]
        assert item["mra"] == pytest.approx(float(expected), abs=1e-12), (question_type, prediction, truth)


def test_vsibench_averages_direction_levels_first_then_the_eight_columns():
    types = ["object_rel_direction_easy", "object_rel_direction_medium", "object_rel_direction_hard", "object_counting"]
    scores, _ = vsibench.score(["A", "B", "B", "4"], vsi_rows(types, ["A", "A", "A", "4"]))
    assert scores["per_category"] == {"object_counting": 1.0, "object_rel_direction": pytest.approx(1 / 3)}
    assert scores["score"] == pytest.approx((1 + 1 / 3) / 2)


def test_uniform_frames_decoded_with_pyav(tmp_path):
    path = write_video(tmp_path / "v.mp4", frame_colors(10))
    frames = sample_frames(str(path), 4)  # linspace(0, 9, 4) -> frames 0, 3, 6, 9
    levels = [float(np.asarray(frame).mean()) for frame in frames]
    assert levels == pytest.approx([10, 70, 130, 190], abs=3)
    assert len(sample_frames(str(path), 50)) == 10


def test_vsibench_loader_prompts_and_skips_missing_videos(tmp_path, caplog):
    write_vsibench(tmp_path / "v")
    rows = get_benchmark("vsibench").load(str(tmp_path / "v"), split="test")
    assert len(rows) == 9
    assert rows[4]["question"].split("\n") == [
        "These are frames of a video.", rows[4]["question"].split("\n")[1], "Options:", "A. sofa", "B. lamp", "C. tv",
        "Answer with the option's letter from the given choices directly."]
    assert rows[0]["question"].endswith("\nPlease answer the question using a single word or phrase.")
    (tmp_path / "v" / "arkitscenes" / "41069025.mp4").unlink()
    rows = get_benchmark("vsibench").load(str(tmp_path / "v"), split="test")
    assert len(rows) == 5 and "41069025.mp4 not found" in caplog.text


def test_rows_whose_reference_cannot_be_scored_are_dropped_with_a_warning(tmp_path, caplog):
    import json

    from sdvlm.benchmarks.run import drop_unscorable

    items = spatialrgpt_items()
    items[0]["conversations"][1]["value"] = "They are quite far apart."  # a distance without a number
    write_spatialrgpt(tmp_path / "s")
    (tmp_path / "s" / "SpatialRGPT-Bench_v1.json").write_text(json.dumps(items))
    bench = get_benchmark("spatialrgpt")
    rows = drop_unscorable(bench, bench.load(str(tmp_path / "s")), {})
    assert list(rows["id"]) == ["srgpt-1", "srgpt-2", "srgpt-3", "srgpt-4"]
    assert "srgpt-0" in caplog.text and "unreadable reference" in caplog.text


def test_without_pyav_video_decoding_says_what_to_install(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "av", None)  # import av -> ImportError
    with pytest.raises(ImportError, match="pip install 'av<16'"):
        sample_frames(str(tmp_path / "missing.mp4"), 4)


# Every category of the release (as a public script that groups the bench lists them) falls in a column.
RELEASE_CATEGORIES = {
    "qualitative": ["left_choice", "right_predicate", "thin_predicate", "above_predicate", "below_predicate",
                    "short_choice", "below_choice", "big_predicate", "tall_choice", "left_predicate", "above_choice",
                    "behind_predicate", "tall_predicate", "right_choice", "short_predicate", "wide_predicate",
                    "small_predicate", "front_predicate"],
    "quantitative": ["distance_data", "horizontal_distance_data", "vertical_distance_data", "width_data",
                     "height_data", "direction"],
}


def test_every_release_category_has_a_column():
    for qa_type, categories in RELEASE_CATEGORIES.items():
        for category in categories:
            assert spatialrgpt.group_of(qa_type, category) in spatialrgpt.COLUMNS, category


def test_spatialrgpt_reads_the_hub_copy_with_literal_string_fields(tmp_path):
    import json

    items = spatialrgpt_items()[:2]
    for item in items:
        item["file_path"] = item["image_info"]["file_path"]
        for key in ("image_info", "qa_info", "conversations", "rle", "bbox"):
            if key in item:
                item[key] = repr(item[key])  # Python literal strings, single quotes
    write_spatialrgpt(tmp_path / "s")
    (tmp_path / "s" / "SpatialRGPT-Bench_v1.json").write_text(json.dumps(items))
    rows = get_benchmark("spatialrgpt").load(str(tmp_path / "s"))
    assert list(rows["group"]) == ["direct_distance", "width"]
    assert rows[1]["answer"] == "The width of Region [0] is 10.0 inches."
