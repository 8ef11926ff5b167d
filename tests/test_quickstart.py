"""sdvlm-quickstart end to end at micro scale: data, two trainings, evaluation, results, best/."""

import json

from datasets import load_dataset

from sdvlm.presets import TinyPreset, is_camera_relative
from sdvlm.quickstart import QuickstartArguments, run_quickstart


def test_quickstart_micro(tmp_path, capsys):
    preset = TinyPreset(num_scenes=6, frames_per_scene=2, test_fraction=0.34, qa_per_frame=20, max_steps=2,
                        batch_size=4, text_hidden_size=32, vision_hidden_size=16, max_test_items=8)
    report = run_quickstart(QuickstartArguments(output_dir=str(tmp_path)), preset)

    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results) == {"no_depth", "dpe", "constant", "_meta"}
    for variant in ("no_depth", "dpe", "constant"):
        row = results[variant]
        assert 0.0 <= row["msmu_score"] <= 1.0
        assert set(row["per_category"]) <= {"absolute_distance", "position"} and row["per_category"]
    assert results["_meta"]["preset"]["max_steps"] == 2 and report["dpe"] == results["dpe"]
    assert (tmp_path / "per_category.png").is_file()
    assert "msmu_score" in capsys.readouterr().out

    # Both variants trained the same steps from the same init; only the depth switch differs.
    for variant, use_depth in (("no_depth", False), ("dpe", True)):
        config = json.loads((tmp_path / variant / "config.json").read_text())
        assert config["use_depth"] is use_depth and config["depth_normalization"] == "none"
        assert json.loads((tmp_path / variant / "sdvlm_training.json").read_text())["global_step"] == 2

    best = tmp_path / "best"
    assert json.loads((best / "config.json").read_text())["use_depth"] is True
    assert (best / "tokenizer.json").is_file() and (best / "model.safetensors").is_file()
    assert "model-index:" in (best / "README.md").read_text()
    data = load_dataset(str(tmp_path / "msmu"))
    assert all(is_camera_relative(q) for split in data.values() for q in split["question"])
    assert not set(data["train"]["scene_id"]) & set(data["test"]["scene_id"])  # held-out scenes


def test_ablation_micro(tmp_path):
    from sdvlm.ablation import AblationArguments, run_ablation

    preset = TinyPreset(num_scenes=4, frames_per_scene=2, test_fraction=0.5, qa_per_frame=10, max_steps=1,
                        batch_size=4, text_hidden_size=32, vision_hidden_size=16, max_test_items=4)
    run_ablation(AblationArguments(output_dir=str(tmp_path), seeds=[0, 1], noise_sigmas=[0.5]), preset)
    results = json.loads((tmp_path / "results.json").read_text())
    expected = {"no_depth", "dpe_minmax", "dpe_metric", "depth_prompt", "dpe_minmax+noise0.5",
                "dpe_metric+noise0.5", "constant", "_meta"}
    assert set(results) == expected
    for label in expected - {"_meta", "constant"}:
        row = results[label]
        assert row["num_seeds"] == 2 and [run["seed"] for run in row["runs"]] == [0, 1]
        mean = sum(run["msmu_score"] for run in row["runs"]) / 2
        assert abs(row["msmu_score"] - mean) < 1e-12 and row["msmu_score_std"] >= 0
    assert json.loads((tmp_path / "seed1" / "dpe_minmax" / "config.json").read_text())["depth_normalization"] == "minmax"
    prompted = json.loads((tmp_path / "seed0" / "depth_prompt" / "eval-depth_prompt" / "results.json").read_text())
    assert all("Depths: the " in item["question"] for item in prompted["items"])
