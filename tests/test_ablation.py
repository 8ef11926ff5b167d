"""sdvlm-ablation at micro scale: every row, category, seed and data draw is there, and each row
feeds depth the way the README says."""

import json

import pytest
from datasets import load_dataset

from dataset_builders.msmu.templates import CATEGORY_NAMES
from sdvlm.ablation import COT_MAX_NEW_TOKENS, ROW_NAMES, AblationArguments, plan, run_ablation
from sdvlm.depth_prompt import DEPTH_PROMPT_PREFIX
from sdvlm.presets import TinyPreset


@pytest.fixture(scope="module")
def ablation(tmp_path_factory):
    out = tmp_path_factory.mktemp("ablation")
    preset = TinyPreset(num_scenes=8, frames_per_scene=2, test_fraction=0.25, qa_per_frame=16, max_steps=1,
                        batch_size=4, text_hidden_size=32, vision_hidden_size=16, max_test_items=24)
    run_ablation(AblationArguments(output_dir=str(out), seeds=[0, 1], draws=[1], noise_sigmas=[0.7], max_steps=1,
                                   num_workers=2), preset)
    return out, json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_rows_seeds_draws_and_categories(ablation):
    out, results = ablation
    labels = set(results) - {"_meta"}
    assert set(ROW_NAMES) <= labels and "constant" in labels
    assert {"dpe+noise0.7", "dpe_estimated+noise0.7", "no_depth@draw1", "dpe@draw1",
            "no_depth (draws)", "dpe (draws)"} <= labels
    for name in ROW_NAMES:
        row = results[name]
        assert [(run["seed"], run["draw"]) for run in row["runs"]] == [(0, 0), (1, 0)]
        mean = sum(run["msmu_score"] for run in row["runs"]) / 2
        assert row["msmu_score"] == pytest.approx(mean) and row["msmu_score_std"] >= 0
    assert [(r["seed"], r["draw"]) for r in results["dpe (draws)"]["runs"]] == [(0, 0), (0, 1)]
    # All eight MSMU-Bench categories are in the held-out split and in every row's table.
    test = load_dataset(str(out / "draw0" / "msmu"))["test"]
    names = test.features["category"].names
    assert {names[c] for c in test["category"]} == set(CATEGORY_NAMES)
    assert set(results["dpe"]["per_category"]) == set(CATEGORY_NAMES)
    assert results["_meta"]["seeds"] == [0, 1] and results["_meta"]["draws"] == [0, 1]
    assert results["_meta"]["num_workers"] == 2 and results["_meta"]["cpu_seconds"] > 0
    assert (out / "noise_curve.png").is_file() and (out / "per_category.png").is_file()
    # Another data draw is other data.
    other = load_dataset(str(out / "draw1" / "msmu"))["train"]
    assert list(other["question"]) != list(load_dataset(str(out / "draw0" / "msmu"))["train"]["question"])


@pytest.mark.slow
def test_each_row_feeds_depth_as_documented(ablation):
    out, _ = ablation
    run = out / "draw0" / "seed0"
    config = {name: json.loads((run / name / "config.json").read_text()) for name in ROW_NAMES}
    for name in ("no_depth", "depth_image", "depth_tokens", "depth_prompt"):
        assert config[name]["use_depth"] is False
    assert config["dpe"]["use_depth"] and config["dpe"]["depth_normalization"] == "none"
    estimated = config["dpe_estimated"]
    assert estimated["use_depth"] and estimated["depth_convention"] == "inverse"
    assert estimated["depth_normalization"] == "minmax" and estimated["depth_scale"] == 100.0
    # Depth as image: the photo is replaced by its fusion with the rendered depth, no depth column.
    fused = load_dataset(str(out / "draw0" / "msmu-fused"))["train"]
    photo = load_dataset(str(out / "draw0" / "msmu"))["train"]
    assert "depth" not in fused.column_names and fused[0]["image"].size == photo[0]["image"].size
    assert fused[0]["image"].tobytes() != photo[0]["image"].convert("RGB").tobytes()
    # Depth as extra tokens: a second image per row.
    two = load_dataset(str(out / "draw0" / "msmu-two_images"))["train"]
    assert "depth" not in two.column_names and two[0]["depth_image"].size == two[0]["image"].size
    # Depth as prompt: the questions carry the depth grid.
    prompted = json.loads((run / "depth_prompt" / "eval-depth_prompt" / "results.json").read_text())
    assert all(DEPTH_PROMPT_PREFIX in item["question"] for item in prompted["items"])
    # CoT: trained on reasoning answers, generated with room for them.
    cot = load_dataset(str(out / "draw0-cot" / "msmu"))["train"]
    assert any("So the answer is" in turns[1]["value"] for turns in cot["conversations"])
    assert COT_MAX_NEW_TOKENS > TinyPreset().max_new_tokens
    # Noise: the DPE rows under patch noise were evaluated with the token grid.
    noisy = json.loads((run / "dpe" / "eval-dpe+noise0.7" / "results.json").read_text())
    assert noisy["depth_noise_sigma"] == 0.7 and noisy["depth_noise_grid"] == 4


def test_plan_and_bad_rows():
    args = AblationArguments(rows=["no_depth", "dpe"], seeds=[0, 1, 2], draws=[1, 2])
    runs = [(row.name, seed, draw) for row, seed, draw in plan(args)]
    assert len(runs) == 2 * 3 + 2 * 2 and ("dpe", 0, 2) in runs and ("no_depth", 2, 0) in runs
    with pytest.raises(ValueError, match="unknown ablation rows"):
        plan(AblationArguments(rows=["depth_as_magic"]))
