"""The Space and the checkpoints it serves (issue 16): Compare's evidence for both models and which
two it compares, the trained no-depth twin as the "without depth" model, the training record and
the question check, the no-depth-model notice before anything is pressed.

The quickstart's own checkpoints through the Space are checked in tests/test_quickstart.py.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image
from test_space import build_space_assets, make_app, serve

IN_TEMPLATE = "How far is the center of the chair from the camera?"  # a phrasing of the MSMU builder


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return build_space_assets(tmp_path_factory.mktemp("space"))


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    root = tmp_path_factory.mktemp("photo")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (60, 100, 3), dtype=np.uint8)).save(root / "room.png")
    np.save(root / "depth_m.npy", rng.uniform(0.5, 4.0, (60, 100)).astype(np.float32))
    return root


@pytest.fixture(scope="module")
def served(assets):
    from gradio_client import Client

    app = make_app(assets)
    url = serve(app)
    yield app, Client(url, verbose=False)
    app.demo.close()


def test_every_builder_question_is_looked_up_to_its_category(assets):
    from datasets import load_dataset

    from dataset_builders.msmu.question_lookup import lookup_question

    rows = load_dataset(str(assets.dataset))["train"]
    names = rows.features["category"].names
    found = [lookup_question(question) for question in rows["question"]]
    assert all(kind is not None for kind in found)
    assert [kind.category for kind in found] == [names[c] for c in rows["category"]]
    # The same kinds as the builder's `question_kind` column, where the phrasing decides the kind.
    assert [kind.kind or column for kind, column in zip(found, rows["question_kind"])] == rows["question_kind"]
    assert {column for kind, column in zip(found, rows["question_kind"]) if kind.kind is None} <= {"zero.present", "zero.absent"}
    assert lookup_question("What colour is the sky?") is None
    assert lookup_question("how far is the CENTER of the red chair from the camera? ").kind == "absolute_distance.camera"


def test_compare_fills_every_view_with_both_models(served, photo, assets):
    from gradio_client import handle_file

    app, client = served
    assert app.baseline is not None and app.baseline_info.path == str(assets.model.parent / "no_depth_best")
    calls = []
    predict = app.baseline.predict
    app.baseline.predict = lambda *args, **kwargs: calls.append(kwargs) or predict(*args, **kwargs)
    try:
        answer, depth_image, grid_image, score, with_depth, without_depth, baseline_view, note = client.predict(
            handle_file(str(photo / "room.png")), handle_file(str(photo / "depth_m.npy")), IN_TEMPLATE, "2.0 m",
            "absolute_distance", api_name="/compare_evidence")
    finally:
        del app.baseline.predict
    assert calls == [{"use_depth": False}]  # the answer without depth is the no-depth twin's
    assert answer.strip() and answer == with_depth and without_depth.strip()
    for path in (depth_image, grid_image, baseline_view):
        with Image.open(path) as picture:
            assert picture.width > 100 and picture.height > 100
    assert "Ground truth `2.0 m`" in score
    assert str(assets.model) in note and str(assets.model.parent / "no_depth_best") in note and "trained without depth" in note


def test_without_a_twin_compare_says_the_depth_is_left_out(assets, photo):
    app = make_app(assets, baseline_model="", num_examples=0)
    try:
        assert app.baseline is None
        outputs = app.compare_evidence(str(photo / "room.png"), str(photo / "depth_m.npy"), IN_TEMPLATE, "", "")
        assert all(value is not None for value in outputs[:3] + outputs[4:])
        assert "same checkpoint with its depth input left out" in outputs[-1]
        assert "Model without depth**: none trained" in json.dumps(app.demo.get_config_file())
    finally:
        app.demo.close()


def test_training_record_is_shown_and_questions_outside_it_warned(assets, tmp_path):
    """A checkpoint trained on camera-relative questions only (its record written by sdvlm-train's
    `trained_on` from the real rows): the page lists them; a height question is flagged."""
    from datasets import load_dataset

    from sdvlm.train import filter_categories, trained_on

    model = tmp_path / "camera_only" / "best"
    shutil.copytree(assets.model, model)
    rows = filter_categories(load_dataset(str(assets.dataset))["train"], ["absolute_distance", "position"])
    (model / "sdvlm_training.json").write_text(json.dumps({"use_depth": True, "depth_kind": "metric",
                                                           "dataset": str(assets.dataset), "num_rows": len(rows),
                                                           "global_step": 7, "trained_on": trained_on(rows)}))
    app = make_app(assets, model=str(model), num_examples=0)
    try:
        page = json.dumps(app.demo.get_config_file())
        assert "Trained on 2 categories: absolute_distance (" in page and "ground-truth metric depth" in page
        assert str(assets.dataset) in page and "no trained" not in page.lower()
        warning = app.check_question("How tall is the table?")
        assert "scale_estimation" in warning and "trained only on absolute_distance, position" in warning
        assert app.check_question("How far in front of the camera is the table?") == ""
        assert "not one of the MSMU builder's phrasings" in app.check_question("Is the room tidy?")
    finally:
        app.demo.close()


def test_no_depth_model_is_said_before_anything_is_pressed(assets, photo, tmp_path):
    from gradio_client import Client, handle_file

    app = make_app(assets, depth_estimator=None, num_examples=2)
    app.model.processor.depth_estimator = str(tmp_path / "no_estimator_here")  # as on a machine without one
    url = serve(app)
    try:
        client = Client(url, verbose=False)
        notice = client.predict(handle_file(str(photo / "room.png")), None, api_name="/depth_notice")
        assert "no depth file, and this machine has no depth model" in notice and "gallery examples" in notice
        assert "no_estimator_here" in notice
        assert client.predict(handle_file(str(photo / "room.png")), handle_file(str(photo / "depth_m.npy")),
                              api_name="/depth_notice") == ""
    finally:
        app.demo.close()
