"""sdvlm-evaluate: outputs (JSON, PNG, model-index), depth noise, depth as prompt, constant baseline."""

import json

import numpy as np
import pytest
from datasets import load_dataset

from sdvlm.baselines import fit_constant, predict_constant
from sdvlm.depth import add_depth_noise
from sdvlm.depth_prompt import depth_prompt_text
from sdvlm.evaluation import generate_answers, load_for_inference, main
from sdvlm.testing import write_tiny_checkpoint, write_tiny_msmu


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    data = write_tiny_msmu(root / "msmu", num_train_frames=4, num_test_frames=3)
    ckpt = write_tiny_checkpoint(root / "model", data)
    return data, ckpt


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


def test_depth_prompt_reads_the_object_depth(tiny):
    data, _ = tiny
    row = load_dataset(str(data))["train"][0]
    z = row["answer_value"][0]
    text = depth_prompt_text(row)
    name = row["objects"][0]["name"]
    assert text == f" Depths: the {name} {z:.2f} m."


def test_constant_baseline_fits_the_best_fixed_answer():
    answers = ["1.0 m", "2.0 m", "2.6 m", "2.7 m", "Yes", "No", "Yes"]
    values = [[1.0], [2.0], [2.6], [2.7], [], [], []]
    categories = ["absolute_distance"] * 4 + ["zero"] * 3
    table = fit_constant(answers, values, categories)
    assert table == {"absolute_distance": "2.6 m", "zero": "Yes"}  # the only answer within 1.25x of two
    assert predict_constant(table, ["zero", "absolute_distance"]) == ["Yes", "2.6 m"]
    with pytest.raises(KeyError, match="count"):
        predict_constant(table, ["count"])


def test_accelerate_sharded_evaluation_matches_single_process(tiny, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    data, ckpt = tiny
    repo = Path(__file__).resolve().parents[1]
    common = ["--model_name_or_path", str(ckpt), "--dataset_name", str(data), "--max_new_tokens", "6",
              "--batch_size", "2", "--update_model_card", "false"]
    main(common + ["--output_dir", str(tmp_path / "single")])
    result = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2", "--num_machines", "1",
         "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "sdvlm.evaluation", *common,
         "--output_dir", str(tmp_path / "sharded")],
        cwd=repo, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    single = json.loads((tmp_path / "single" / "results.json").read_text())["items"]
    sharded = json.loads((tmp_path / "sharded" / "results.json").read_text())["items"]
    assert [i["prediction"] for i in sharded] == [i["prediction"] for i in single] and len(sharded) == 6
