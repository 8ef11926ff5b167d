"""sdvlm-evaluate: outputs (JSON, PNG, model-index), depth noise, depth as prompt, constant baseline."""

import json

import numpy as np
import pytest
from datasets import load_dataset

from sdvlm.baselines import fit_constant, predict_constant
from sdvlm.depth import add_depth_noise
from sdvlm.evaluation import (
    EvalArguments,
    check_trained_convention,
    default_depth_cache_dir,
    generate_answers,
    load_for_inference,
    main,
)
from sdvlm.testing import write_tiny_run


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_run(tmp_path_factory.mktemp("eval"), num_train_frames=4, num_test_frames=3)


def test_evaluate_writes_json_png_and_model_index(tiny, tmp_path, capsys):
    data, ckpt = tiny
    out = tmp_path / "eval"
    main(["--model_name_or_path", str(ckpt), "--dataset_name", str(data), "--output_dir", str(out),
          "--batch_size", "4", "--max_new_tokens", "6"])
    table = capsys.readouterr().out
    assert "msmu_score" in table and "absolute_distance" in table and "zero" in table
    results = json.loads((out / "results.json").read_text())
    assert results["num_items"] == 6 and len(results["items"]) == 6
    item = results["items"][0]
    assert {"question", "reference", "prediction", "success", "reason", "category"} <= set(item)
    scores = results["scores"]
    assert set(scores["per_category"]) == {"absolute_distance", "zero"}
    assert scores["msmu_score"] == pytest.approx(np.mean(list(scores["per_category"].values())))
    assert (out / "per_category.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card = (ckpt / "README.md").read_text()
    assert "model-index:" in card and "msmu_score" in card and "success/absolute_distance" in card

    # A noisy-depth evaluation is a separate model-index entry; the clean one stays.
    main(["--model_name_or_path", str(ckpt), "--dataset_name", str(data), "--output_dir", str(tmp_path / "noisy"),
          "--depth_noise_sigma", "0.5", "--max_new_tokens", "6"])
    card = (ckpt / "README.md").read_text()
    assert "split: test\n" in card and "depth noise sigma=0.5" in card


def test_batched_generation_matches_one_by_one(tiny):
    data, ckpt = tiny
    model, processor = load_for_inference(ckpt)
    test = load_dataset(str(data))["test"]
    batched = generate_answers(model, processor, test, batch_size=4, max_new_tokens=6, progress=False)
    single = generate_answers(model, processor, test, batch_size=1, max_new_tokens=6, progress=False)
    assert batched == single and len(batched) == len(test)


def test_depth_noise():
    depth = np.full((64, 64), 2.0, np.float32)
    depth[:8] = 0.0
    noisy = add_depth_noise(depth, 0.1, np.random.default_rng(0))
    assert (noisy[:8] == 0).all() and (noisy[8:] > 0).all()
    assert abs(noisy[8:].std() - 0.1) < 0.01 and abs(noisy[8:].mean() - 2.0) < 0.01
    assert np.array_equal(noisy, add_depth_noise(depth, 0.1, np.random.default_rng(0)))
    assert add_depth_noise(depth, 0.0, np.random.default_rng(0)) is depth
    with pytest.raises(ValueError, match="sigma must be >= 0"):
        add_depth_noise(depth, -1.0, np.random.default_rng(0))


def test_constant_baseline_fits_the_best_fixed_answer():
    answers = ["1.0 m", "2.0 m", "2.6 m", "2.7 m", "Yes", "No", "Yes"]
    values = [[1.0], [2.0], [2.6], [2.7], [], [], []]
    categories = ["absolute_distance"] * 4 + ["zero"] * 3
    table = fit_constant(answers, values, categories)
    assert table == {"absolute_distance": "2.6 m", "zero": "Yes"}  # the only answer within 1.25x of two
    assert predict_constant(table, ["zero", "absolute_distance"]) == ["Yes", "2.6 m"]
    with pytest.raises(KeyError, match="count"):
        predict_constant(table, ["count"])


# Runs sdvlm-evaluate; each rank records the process group it is in and the rows it generated.
SHARD_REPORTER = """
import json, os, sys
from pathlib import Path
import torch.distributed as dist
import sdvlm.evaluation as evaluation

generate = evaluation.generate_answers

def reporting(*args, indices=None, **kwargs):
    Path(os.environ["REPORT_DIR"], f"rank{dist.get_rank()}.json").write_text(json.dumps(
        {"world_size": dist.get_world_size(), "pid": os.getpid(), "indices": list(indices)}))
    return generate(*args, indices=indices, **kwargs)

evaluation.generate_answers = reporting
evaluation.main(sys.argv[1:])
"""


def test_accelerate_sharded_evaluation_matches_single_process(tiny, tmp_path):
    """Two real processes (ranks report world size 2 and disjoint halves) give one process's items."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    data, ckpt = tiny
    repo = Path(__file__).resolve().parents[1]
    common = ["--model_name_or_path", str(ckpt), "--dataset_name", str(data), "--max_new_tokens", "6",
              "--batch_size", "2", "--update_model_card", "false"]
    main(common + ["--output_dir", str(tmp_path / "single")])
    script = tmp_path / "report.py"
    script.write_text(SHARD_REPORTER)
    result = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
         str(repo / "configs" / "accelerate" / "cpu_2proc.yaml"), str(script), *common,
         "--output_dir", str(tmp_path / "sharded")],
        cwd=repo, env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(repo), "REPORT_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    reports = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [r["world_size"] for r in reports] == [2, 2] and reports[0]["pid"] != reports[1]["pid"]
    assert reports[0]["indices"] == [0, 1, 2] and reports[1]["indices"] == [3, 4, 5]
    single = json.loads((tmp_path / "single" / "results.json").read_text())["items"]
    sharded = json.loads((tmp_path / "sharded" / "results.json").read_text())["items"]
    assert [i["prediction"] for i in sharded] == [i["prediction"] for i in single] and len(sharded) == 6


def copy_checkpoint(ckpt, target, processor_changes=None, **config_changes):
    import shutil

    shutil.copytree(ckpt, target)
    for name, changes in (("config.json", config_changes), ("processor_config.json", processor_changes or {})):
        config = json.loads((target / name).read_text())
        (target / name).write_text(json.dumps({**config, **changes}))
    return target


def test_no_depth_evaluation_never_runs_the_depth_estimator(tiny, tmp_path, monkeypatch):
    """A no-depth model (and the depth-as-prompt variant) must not run Depth-Anything per batch,
    though the processor estimates missing depth by default."""
    from modeling_sdvlm import SDVLMProcessor

    data, ckpt = tiny
    calls = []

    def counting_estimator(self, images, batch_size=8):
        calls.append(len(images))
        return [np.ones((image.height, image.width), np.float32) for image in images]

    monkeypatch.setattr(SDVLMProcessor, "estimate_depth", counting_estimator)
    model, processor = load_for_inference(copy_checkpoint(ckpt, tmp_path / "nodepth", {"estimate_missing_depth": True},
                                                          use_depth=False))
    assert not model.config.use_depth and processor.estimate_missing_depth
    test = load_dataset(str(data))["test"]
    answers = generate_answers(model, processor, test, batch_size=4, max_new_tokens=2, progress=False)
    assert len(answers) == len(test) and calls == []
    for extra in ([], ["--depth_prompt", "true"]):
        main(["--model_name_or_path", str(tmp_path / "nodepth"), "--dataset_name", str(data), "--max_new_tokens", "2",
              "--output_dir", str(tmp_path / f"out{len(extra)}"), "--update_model_card", "false", *extra])
    assert calls == []


def test_recorded_training_depth_must_match_the_convention():
    check_trained_convention({}, "inverse")
    check_trained_convention({"depth_kind": "metric", "depth_convention": "inverse"}, "inverse")  # converted to 1/d
    check_trained_convention({"depth_kind": "estimated:some/estimator"}, "inverse")  # before conventions existed
    check_trained_convention({"depth_kind": "metric"}, "metric")
    with pytest.raises(ValueError, match="trained on 'metric' depth.*depth_convention='inverse'"):
        check_trained_convention({"depth_kind": "metric"}, "inverse")
    with pytest.raises(ValueError, match="trained on 'inverse' depth"):
        check_trained_convention({"depth_kind": "metric", "depth_convention": "inverse"}, "metric")


def test_evaluate_stops_at_a_depth_mismatch(tiny, tmp_path):
    data, ckpt = tiny
    args = ["--dataset_name", str(data), "--max_new_tokens", "2", "--max_samples", "2", "--update_model_card", "false"]
    # Recorded (before conventions existed) as trained on metric depth, but the config says "inverse".
    legacy = copy_checkpoint(ckpt, tmp_path / "legacy")
    (legacy / "sdvlm_training.json").write_text(json.dumps({"depth_kind": "metric"}))
    with pytest.raises(ValueError, match="trained on 'metric' depth"):
        main(["--model_name_or_path", str(legacy), "--output_dir", str(tmp_path / "out1"), *args])
    assert not (tmp_path / "out1").exists()
    # A "metric" model asked to evaluate on relative estimates: stops before estimating anything.
    metric = copy_checkpoint(ckpt, tmp_path / "metric", {"depth_convention": "metric"}, depth_convention="metric")
    with pytest.raises(ValueError, match="depth_convention is 'metric'.*Depth-Anything-V2-Large-hf.*Metric-Indoor"):
        main(["--model_name_or_path", str(metric), "--output_dir", str(tmp_path / "out2"), "--depth_source",
              "estimate", *args])
    assert not (metric / "depth_cache").exists()
    # The same model on the dataset's metric depth runs.
    main(["--model_name_or_path", str(metric), "--output_dir", str(tmp_path / "out3"), *args])
    assert json.loads((tmp_path / "out3" / "results.json").read_text())["depth_kind"] == "metric"


def test_default_depth_cache_dir_is_never_a_hub_id_folder(tiny, tmp_path):
    _, ckpt = tiny
    local = EvalArguments(model_name_or_path=str(ckpt), dataset_name="d")
    assert default_depth_cache_dir(local) == ckpt / "depth_cache"
    hub = EvalArguments(model_name_or_path="someone/sdvlm-7b", dataset_name="d", output_dir=str(tmp_path / "out"))
    assert default_depth_cache_dir(hub) == tmp_path / "out" / "depth_cache"
    no_output = EvalArguments(model_name_or_path="someone/sdvlm-7b", dataset_name="d")
    assert "someone" not in default_depth_cache_dir(no_output).parts
    explicit = EvalArguments(model_name_or_path="someone/sdvlm-7b", dataset_name="d", depth_cache_dir="c")
    assert default_depth_cache_dir(explicit) == type(tmp_path)("c")


def test_score_predictions_hands_the_questions_to_the_metric():
    from datasets import Dataset

    from sdvlm.evaluation import score_predictions

    rows = Dataset.from_dict(
        {
            "question": ["How many chairs are in the room?", "How many tables are there?"],
            "answer": ["3", "2"],
            "category": ["count", "count"],
        }
    )
    # Without the questions the metric would read the last number of both answers (2).
    scores, items = score_predictions(["There are 3 chairs and 2 tables."] * 2, rows)
    assert scores["success_rate"] == 1.0 and [item["pred_m"] for item in items] == [3.0, 2.0]
