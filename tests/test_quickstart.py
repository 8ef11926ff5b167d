"""sdvlm-quickstart end to end at micro scale: data, two trainings, evaluation, results, the two
checkpoints it leaves (best/ and no_depth_best/), and the Space picking both up by default."""

import json
from collections import Counter

from datasets import load_dataset

from dataset_builders.msmu import CATEGORY_NAMES
from sdvlm.presets import TinyPreset
from sdvlm.quickstart import QuickstartArguments, run_quickstart


def test_quickstart_micro(tmp_path, capsys):
    preset = TinyPreset(num_scenes=6, frames_per_scene=2, test_fraction=0.34, qa_per_frame=24, max_steps=2,
                        batch_size=4, text_hidden_size=32, vision_hidden_size=16, max_test_items=16)
    report = run_quickstart(QuickstartArguments(output_dir=str(tmp_path)), preset)

    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results) == {"no_depth", "dpe", "constant", "_meta"}
    for variant in ("no_depth", "dpe", "constant"):
        row = results[variant]
        assert 0.0 <= row["msmu_score"] <= 1.0
        assert set(row["per_category"]) == set(CATEGORY_NAMES)  # all eight MSMU-Bench categories, held out
    assert results["_meta"]["preset"]["max_steps"] == 2 and report["dpe"] == results["dpe"]
    assert (tmp_path / "per_category.png").is_file()
    assert "msmu_score" in capsys.readouterr().out

    # Both variants trained the same steps from the same init; only the depth switch differs.
    for variant, use_depth in (("no_depth", False), ("dpe", True)):
        config = json.loads((tmp_path / variant / "config.json").read_text())
        assert config["use_depth"] is use_depth and config["depth_normalization"] == "none"
        assert json.loads((tmp_path / variant / "sdvlm_training.json").read_text())["global_step"] == 2

    data = load_dataset(str(tmp_path / "msmu"))
    assert not set(data["train"]["scene_id"]) & set(data["test"]["scene_id"])  # held-out scenes
    names = data["test"].features["category"].names
    test_counts = Counter(names[c] for c in data["test"]["category"])
    assert len(data["test"]) <= 16 and max(test_counts.values()) <= 2  # capped evenly over the 8 categories

    # Two checkpoints: best/ (DPE) and its no-depth twin, each with its record and held-out scores.
    for folder, use_depth in (("best", True), ("no_depth_best", False)):
        checkpoint = tmp_path / folder
        assert json.loads((checkpoint / "config.json").read_text())["use_depth"] is use_depth
        assert (checkpoint / "tokenizer.json").is_file() and (checkpoint / "model.safetensors").is_file()
        assert "model-index:" in (checkpoint / "README.md").read_text()
        record = json.loads((checkpoint / "sdvlm_training.json").read_text())
        assert set(record["trained_on"]["categories"]) == set(CATEGORY_NAMES)
        assert record["dataset"] == str(tmp_path / "msmu")

    # The Space picks both up with nothing but --model, shows what they were trained on, and compares them.
    from sdvlm.space import load_space_module

    space = load_space_module()
    app = space.create_app(space.SpaceConfig(model=str(tmp_path / "best"), cache_dir=str(tmp_path / "space"),
                                             num_examples=2, max_new_tokens=4))
    try:
        assert app.baseline is not None and app.baseline_info.path == str(tmp_path / "no_depth_best")
        page = json.dumps(app.demo.get_config_file())
        assert "Trained on 8 categories" in page and "ground-truth metric depth" in page
        assert f"{100 * results['dpe']['msmu_score']:.1f}" in page  # the held-out score from the model card
        example = app.examples[0]
        assert app.check_question(example.question) == ""  # every builder question is inside the training
        outputs = app.compare_evidence(example.image, example.depth, example.question, example.answer, example.category)
        assert all(value is not None for value in outputs) and "no_depth_best" in outputs[-1]
    finally:
        app.demo.close()
