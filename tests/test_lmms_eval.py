"""SD-VLM and MSMU-Bench in lmms-eval, offline: `lmms-eval --model sdvlm ... --tasks msmu_bench
--include_path sdvlm/harness/tasks --limit 8` reports the score `sdvlm-evaluate` reports on the same items."""

import contextlib
import glob
import importlib.metadata
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from sdvlm.benchmarks.testing import write_tiny_checkpoint
from sdvlm.evaluation import main as sdvlm_evaluate
from sdvlm.testing import all_texts, write_tiny_msmu

pytest.importorskip("lmms_eval", reason="lmms-eval is installed by `make test` (the `lmms` extra + lmms-eval --no-deps)")

ENTRY_POINT = "sdvlm = sdvlm.harness.lmms_model:manifest"
# Both runs compute with this many torch threads. The tiny Depth-Anything's maps differ by a few float
# ulps (up to 4.8e-7 on maps of ~2.0) between 1 and 2 threads, and this untrained model's greedy answers
# follow them: with the lmms-eval process at 1 thread and pytest at torch's default (the core count, as
# under `make test`), the answers differed from the third item on, with every other input equal.
THREADS = 1


@contextlib.contextmanager
def torch_threads(count: int):
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def entry_point_path(tmp_path) -> list[str]:
    """Where the `lmms_eval.models` entry point comes from: the installed package's metadata
    (`pip install -e .`), else a metadata folder written here (an environment installed before
    the entry point existed)."""
    if any(ep.name == "sdvlm" for ep in importlib.metadata.entry_points(group="lmms_eval.models")):
        return []
    info = tmp_path / "entry" / "sdvlm_lmms_entry-0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sdvlm-lmms-entry\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text(f"[lmms_eval.models]\n{ENTRY_POINT}\n")
    return [str(tmp_path / "entry")]


@pytest.mark.slow
def test_lmms_eval_msmu_bench_matches_sdvlm_evaluate(tmp_path, repo_root):
    data = write_tiny_msmu(tmp_path / "msmu", num_train_frames=2, num_test_frames=5)  # 10 test items
    ckpt = write_tiny_checkpoint(tmp_path / "ckpt", all_texts(data))

    with torch_threads(THREADS):
        sdvlm_evaluate(["--model_name_or_path", str(ckpt), "--dataset_name", str(data), "--max_samples", "8",
                        "--batch_size", "1", "--depth_source", "estimate", "--depth_cache_dir",
                        str(tmp_path / "cache-a"), "--output_dir", str(tmp_path / "sdvlm"),
                        "--update_model_card", "false"])
    ours = json.loads((tmp_path / "sdvlm" / "results.json").read_text())

    env = {**os.environ, "MSMU_BENCH_PATH": str(data), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "OMP_NUM_THREADS": str(THREADS),
           "PYTHONPATH": os.pathsep.join([str(repo_root), *entry_point_path(tmp_path), os.environ.get("PYTHONPATH", "")])}
    # A separate depth cache: lmms-eval estimates depth itself.
    command = [sys.executable, "-m", "lmms_eval", "--model", "sdvlm",
               "--model_args", f"pretrained={ckpt},depth=estimate,depth_cache={tmp_path / 'cache-b'}",
               "--tasks", "msmu_bench", "--include_path", str(repo_root / "sdvlm" / "harness" / "tasks"),
               "--limit", "8", "--batch_size", "1", "--output_path", str(tmp_path / "lmms"), "--log_samples"]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (results_file,) = glob.glob(str(tmp_path / "lmms" / "*" / "*_results.json"))
    reported = json.loads(open(results_file).read())["results"]["msmu_bench"]
    (samples_file,) = glob.glob(str(tmp_path / "lmms" / "*" / "*_samples_msmu_bench.jsonl"))
    samples = sorted((json.loads(line) for line in open(samples_file)), key=lambda s: s["doc_id"])

    assert len(samples) == 8 == ours["num_items"]
    # Depth reached the model: each image (two questions each) was estimated once into lmms-eval's cache,
    # as the same maps sdvlm-evaluate estimated (same keys: image hash + estimator id). Checked before the
    # answers: a map off by a few float ulps already changes this model's greedy answers.
    maps = {path.name: load_file(str(path))["depth"] for path in (tmp_path / "cache-b").rglob("*.safetensors")}
    assert len(maps) == 4
    for path in (tmp_path / "cache-a").rglob("*.safetensors"):
        assert np.array_equal(load_file(str(path))["depth"], maps.pop(path.name)), f"depth of {path.name} differs"
    assert not maps
    answers = [s["filtered_resps"] if isinstance(s["filtered_resps"], str) else s["filtered_resps"][0] for s in samples]
    assert answers == [item["prediction"] for item in ours["items"]]
    assert reported["msmu_score,none"] == pytest.approx(ours["scores"]["msmu_score"])
    assert reported["success_rate,none"] == pytest.approx(ours["scores"]["success_rate"])
    for category, rate in ours["scores"]["per_category"].items():
        assert reported[f"{category},none"] == pytest.approx(rate)


def test_msmu_bench_process_results_scores_each_item_with_the_metric():
    from sdvlm.harness.tasks.msmu_bench import utils

    doc = {"answer": "1.2 m", "category": "absolute_distance", "question": "How far is the chair from the desk?"}
    right, wrong = utils.process_results(doc, ["About 1.3 meters."]), utils.process_results(doc, ["5 m"])
    assert right["msmu_score"]["success"] is True and wrong["absolute_distance"]["success"] is False
    assert wrong["msmu_score"]["reason"] == "fails rule msmu: delta 4.167"  # 5 / 1.2, the metric's own words
    records = [right["msmu_score"], wrong["msmu_score"]]
    assert utils.aggregate_success_rate(records) == 0.5 and utils.aggregate_absolute_distance(records) == 0.5


def test_sdvlm_model_rejects_unknown_arguments_and_depth_modes(tmp_path):
    from sdvlm.harness.lmms_model import SDVLMLmms

    with pytest.raises(ValueError, match="depth='metric'"):
        SDVLMLmms(pretrained=str(tmp_path), depth="metric")
    with pytest.raises(ValueError, match="unknown sdvlm model_args \\['temperature'\\]"):
        SDVLMLmms(pretrained=str(tmp_path), temperature="0")


def test_sdvlm_model_depth_none_and_stop_strings(tmp_path):
    """In-process: depth=none answers like the model with use_depth off and never estimates depth;
    `until` cuts the answer; a request's visuals come from the task's doc_to_visual."""
    from types import SimpleNamespace

    from datasets import load_dataset

    from sdvlm.evaluation import generate_answers, load_for_inference
    from sdvlm.harness.lmms_model import SDVLMLmms

    data = write_tiny_msmu(tmp_path / "msmu", num_train_frames=2, num_test_frames=2)
    ckpt = write_tiny_checkpoint(tmp_path / "ckpt", all_texts(data))
    docs = load_dataset(str(data))["test"]
    lm = SDVLMLmms(pretrained=str(ckpt), depth="none")
    assert lm.cache is None and lm.model.config.use_depth is False
    lm.task_dict = {"msmu_bench": {"test": docs}}

    def request(doc_id, **gen_kwargs):
        args = (docs[doc_id]["question"], {"max_new_tokens": 6, **gen_kwargs}, lambda doc: [doc["image"]], doc_id,
                "msmu_bench", "test")
        return SimpleNamespace(args=args)

    answers = lm.generate_until([request(0), request(1)])
    plain, processor = load_for_inference(ckpt)
    plain.config.use_depth = False
    assert answers == generate_answers(plain, processor, docs.select([0, 1]), max_new_tokens=6, progress=False)
    assert len(answers[0]) >= 3  # the untrained model always says something
    stop = answers[0][1:3]
    assert lm.generate_until([request(0, until=[stop])]) == [answers[0].split(stop)[0].strip()]
    assert not (ckpt / "depth_cache").exists()


def test_sdvlm_model_answers_about_a_video_like_sdvlm_evaluate(tmp_path):
    """A task that hands a video path (lmms-eval's vsibench does) gets num_frames uniform frames, the
    answer `sdvlm-evaluate --benchmark vsibench` gives, with depth estimated per frame."""
    from types import SimpleNamespace

    from sdvlm.benchmarks import get_benchmark
    from sdvlm.benchmarks.run import VideoFrames, generate_multi_image_answers
    from sdvlm.benchmarks.testing import write_vsibench
    from sdvlm.depth_cache import DepthCache, estimator_id
    from sdvlm.harness.lmms_model import SDVLMLmms

    rows = get_benchmark("vsibench").load(str(write_vsibench(tmp_path / "v")), split="test").select([0, 4])
    ckpt = write_tiny_checkpoint(tmp_path / "ckpt", ["How many chairs A B"])
    lm = SDVLMLmms(pretrained=str(ckpt), num_frames=3, depth_cache=str(tmp_path / "cache-lmms"))
    lm.task_dict = {"vsibench": {"test": rows}}
    requests = [SimpleNamespace(args=(rows[i]["question"], {"max_new_tokens": 4}, lambda doc: [doc["video"]], i,
                                      "vsibench", "test")) for i in range(2)]
    answers = lm.generate_until(requests)
    cache = DepthCache(tmp_path / "cache-eval", estimate_fn=lm.processor.estimate_depth,
                       estimator=estimator_id(lm.processor))
    expected = generate_multi_image_answers(lm.model, lm.processor, rows, VideoFrames(3), max_new_tokens=4,
                                            depth_cache=cache, progress=False)
    assert answers == expected
    # Depth per frame, once per distinct frame: the two fixture videos show the same 3 sampled frames.
    assert len(list((tmp_path / "cache-lmms").rglob("*.safetensors"))) == 3
