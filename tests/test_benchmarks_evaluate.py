"""`sdvlm-evaluate --benchmark NAME` end to end on tiny local copies, with estimated depth."""

import json

import pytest
from huggingface_hub import ModelCard

from sdvlm.benchmarks import get_benchmark
from sdvlm.benchmarks.testing import write_qspatial, write_spatialrgpt, write_tiny_checkpoint, write_vsibench
from sdvlm.evaluation import main
from sdvlm.testing import write_tiny_msmu


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    data = {"qspatial": write_qspatial(root / "q", root / "scannet"), "spatialrgpt": write_spatialrgpt(root / "s"),
            "vsibench": write_vsibench(root / "v"), "msmu": write_tiny_msmu(root / "msmu", 2, 2)}
    texts = ["How far is it? 1.2 m A B yes"]
    ckpt = write_tiny_checkpoint(root / "model", texts)
    return root, data, ckpt


CASES = [
    ("qspatial_plus", "qspatial", []),
    ("qspatial_scannet", "qspatial", ["--scannet_root", "SCANNET"]),
    ("spatialrgpt", "spatialrgpt", []),
    ("vsibench", "vsibench", ["--num_frames", "3"]),
    ("msmu", "msmu", []),
]


@pytest.mark.parametrize("name, data_key, extra", CASES)
def test_sdvlm_evaluate_benchmark(setup, name, data_key, extra, capsys):
    root, data, ckpt = setup
    out = root / f"out-{name}"
    extra = [str(root / "scannet") if value == "SCANNET" else value for value in extra]
    main(["--benchmark", name, "--model_name_or_path", str(ckpt), "--dataset_name", str(data[data_key]),
          "--output_dir", str(out), "--max_new_tokens", "4", "--batch_size", "2", "--depth_source", "estimate", *extra])
    bench = get_benchmark(name)
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert results["benchmark"] == name and results["depth_kind"].startswith("estimated:")
    # The table printed is the benchmark's, in its paper's column order.
    columns = list(results["scores"]["per_category"])
    assert columns == [c for c in bench.columns if c in columns] + [c for c in columns if c not in bench.columns]
    assert bench.title in printed and all(column in printed for column in columns)
    # The stored score is what the official rule gives on the stored predictions.
    rows = bench.load(str(data[data_key]), **{"split": "test", "scannet_root": str(root / "scannet")})
    predictions = [item["prediction"] for item in results["items"]]
    rescored, _ = bench.score(predictions, rows)
    assert rescored["score"] == pytest.approx(results["scores"]["score"])
    assert (out / "per_category.png").read_bytes()[:4] == b"\x89PNG"
    entries = [r for r in ModelCard.load(ckpt / "README.md").data.eval_results if r.dataset_type == bench.hub_id]
    assert {r.metric_type for r in entries} >= {bench.score_name} | {f"{name}/{c}" for c in columns}


def test_vsibench_depth_is_estimated_per_frame(setup, tmp_path):
    root, data, ckpt = setup
    main(["--benchmark", "vsibench", "--model_name_or_path", str(ckpt), "--dataset_name", str(data["vsibench"]),
          "--output_dir", str(tmp_path), "--num_frames", "3", "--max_samples", "2", "--max_new_tokens", "2",
          "--depth_cache_dir", str(tmp_path / "cache"), "--update_model_card", "false"])
    # Two questions about one video: its 3 frames estimated once each.
    assert len(list((tmp_path / "cache").rglob("*.safetensors"))) == 3


def test_multi_image_answers_take_the_one_prompt_and_processor_path(setup, tmp_path):
    """Several images per question (video frames) get exactly `model_inputs.question_inputs`'s
    inputs: the chat template's prompt (its image-token handling included) and depth per image."""
    import torch
    from PIL import Image

    from sdvlm.benchmarks.run import generate_multi_image_answers
    from sdvlm.depth_cache import DepthCache, estimator_id
    from sdvlm.evaluation import load_for_inference
    from sdvlm.model_inputs import question_inputs

    _, _, ckpt = setup
    model, processor = load_for_inference(ckpt)
    frames = [Image.new("RGB", (32, 24), color) for color in ("red", "navy")]
    question = "<image>\nHow many chairs are in the room?"
    cache = DepthCache(tmp_path / "cache", estimate_fn=processor.estimate_depth, estimator=estimator_id(processor),
                       depth_kind=processor.estimated_depth_kind())
    seen = []

    def generate(**inputs):
        seen.append(inputs)
        return torch.cat([inputs["input_ids"], inputs["input_ids"][:, -1:]], dim=1)

    model.generate = generate
    generate_multi_image_answers(model, processor, [{"question": question}], lambda row: frames, depth_cache=cache,
                                 progress=False)
    expected = question_inputs(processor, [frames], [question], [cache.get(key) for key in cache.fill(frames)],
                               depth_kind=cache.depth_kind)
    (inputs,) = seen
    inputs = {key: value for key, value in inputs.items() if torch.is_tensor(value)}  # not max_new_tokens etc.
    assert sorted(inputs) == sorted(expected) and "depth_values" in inputs
    for key, value in expected.items():
        assert torch.equal(inputs[key], value), key
