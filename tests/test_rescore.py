"""sdvlm.rescore: saved predictions scored again exactly as sdvlm-evaluate scored them."""

import json

import pytest

from sdvlm.evaluation import main as evaluate_main
from sdvlm.rescore import main, rescore_results
from sdvlm.testing import write_tiny_run


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A results.json written by a tiny `sdvlm-evaluate` run."""
    root = tmp_path_factory.mktemp("rescore")
    data, ckpt = write_tiny_run(root, num_train_frames=4, num_test_frames=3)
    out = root / "eval"
    evaluate_main(["--model_name_or_path", str(ckpt), "--dataset_name", str(data), "--output_dir", str(out),
                   "--batch_size", "4", "--max_new_tokens", "6", "--update_model_card", "false"])
    return out / "results.json"


def test_rescoring_an_evaluation_reproduces_its_saved_scores(saved, capsys):
    assert rescore_results(saved) == json.loads(saved.read_text())["scores"]
    main([str(saved.parent.parent)])  # a folder: every results.json under it
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {"file": str(saved), "changed": {}}


def test_a_changed_prediction_changes_the_score(saved, tmp_path, capsys):
    results = json.loads(saved.read_text())
    item = results["items"][0]
    # Turn the first item's answer into the reference (a pass) or into no value at all (a fail).
    item["prediction"] = "I cannot tell." if item["success"] else f"It is {item['reference']}."
    edited = tmp_path / "results.json"
    edited.write_text(json.dumps(results))
    old, new = results["scores"], rescore_results(edited)
    category = item["category"]
    count = sum(other["category"] == category for other in results["items"])
    step = -1 / count if item["success"] else 1 / count
    assert new["per_category"][category] == pytest.approx(old["per_category"][category] + step)
    assert new["msmu_score"] != old["msmu_score"]
    main([str(edited)])
    changed = json.loads(capsys.readouterr().out)["changed"]
    assert changed[f"per_category.{category}"] == [old["per_category"][category], new["per_category"][category]]


def test_a_file_without_items_is_named(tmp_path):
    report = tmp_path / "results.json"  # an ablation report: labels to runs, no per-item records
    report.write_text(json.dumps({"dpe": {"msmu_score": 0.5}}))
    with pytest.raises(ValueError, match=f"{report}: no 'items'"):
        rescore_results(report)
