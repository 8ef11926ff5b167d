"""build_msmu and the CLI: a folder load_dataset reads offline, splits by scene, reproducible builds,
bad scenes, interrupted builds."""

import io
import json
import logging
import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from dataset_builders.msmu import SceneError, build_msmu
from dataset_builders.msmu.__main__ import main
from dataset_builders.msmu.features import msmu_features
from dataset_builders.msmu.sources.synthetic import SyntheticSource

SMALL = dict(num_scenes=4, image_size=(48, 40), frames_per_scene=2, qa_per_frame=6, test_fraction=0.25, progress=False, verbose=False)


@pytest.fixture(scope="module")
def small_build(tmp_path_factory):
    return build_msmu("synthetic", tmp_path_factory.mktemp("b") / "msmu", seed=7, **SMALL)


def _tables(folder):
    return {p.name: pq.read_table(p) for p in sorted((folder / "data").glob("*.parquet"))}


def test_load_dataset_offline_with_declared_features(small_build):
    script = f"""
import json, datasets
from dataset_builders.msmu.features import msmu_features
ds = datasets.load_dataset({str(small_build)!r})
print(json.dumps({{s: [ds[s].num_rows, ds[s].features == msmu_features()] for s in ds}}))
"""
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", HF_HOME=str(small_build.parent / "hf"))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result) == {"train", "test"}
    assert all(n > 0 and same for n, same in result.values())


def test_rows_decode_and_depth_is_millimetres(small_build):
    import datasets

    ds = datasets.load_dataset(str(small_build), cache_dir=str(small_build.parent / "cache"))
    row = ds["train"][0]
    assert row["image"].mode == "RGB" and row["image"].size == (48, 40)
    source = SyntheticSource(num_scenes=4, seed=7, image_size=(48, 40), frames_per_scene=2)
    frames = {f.frame_id: f for f in source.load(row["scene_id"]).frames}
    depth_mm = np.asarray(row["depth"], dtype=np.float64)
    assert np.abs(depth_mm / 1000.0 - frames[row["frame_id"]].depth).max() <= 0.0005 + 1e-6
    assert len(row["intrinsics"]) == 4 and row["conversations"][0]["from"] == "human"
    names = ds["train"].features["category"].names
    assert names == ["scale_estimation", "absolute_distance", "count", "position", "refer_obj_estimation",
                     "relative_position", "scale_compare", "zero"]  # fmt: skip
    train_scenes, test_scenes = set(ds["train"]["scene_id"]), set(ds["test"]["scene_id"])
    assert len(test_scenes) == 1 and len(train_scenes) == 3 and not train_scenes & test_scenes
    # The objects column rebuilds each box in the camera frame (center, size, box-to-camera rotation).
    scene_objects = {o.id: o for o in source.load(row["scene_id"]).objects}
    pose = frames[row["frame_id"]].pose
    for record in row["objects"]:
        rotation = np.asarray(record["rotation"], dtype=np.float64).reshape(3, 3)
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-5)
        obj = scene_objects[record["id"]]
        world_center = pose[:3, :3] @ np.asarray(record["center"]) + pose[:3, 3]
        np.testing.assert_allclose(world_center, obj.center, atol=1e-4)
    card = (small_build / "README.md").read_text()
    assert "rotation" in card
    assert "configs:" in card and "scale_estimation" in card and "Objects per category" in card


def test_same_seed_same_dataset_for_any_num_proc(tmp_path, small_build):
    again = build_msmu("synthetic", tmp_path / "again", seed=7, num_proc=2, **SMALL)
    ours, theirs = _tables(small_build), _tables(again)
    assert list(ours) == list(theirs) and all(ours[k].equals(theirs[k]) for k in ours)
    other = build_msmu("synthetic", tmp_path / "other", seed=8, **SMALL)
    assert not all(a.equals(b) for a, b in zip(_tables(other).values(), ours.values()))


class BrokenSource(SyntheticSource):
    """Scene 1's pose file is 'corrupt' (raises SceneError naming it); optionally Ctrl-C at scene 2."""

    def __init__(self, interrupt=False, **kwargs):
        super().__init__(**kwargs)
        self.interrupt = interrupt

    def load(self, scene_id):
        if scene_id.endswith("1"):
            raise SceneError(f"corrupt pose file /data/{scene_id}/pose/000.txt: expected 16 numbers")
        if self.interrupt and scene_id.endswith("2"):
            raise KeyboardInterrupt
        return super().load(scene_id)


def _leftovers(parent):
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("num_proc", [1, 2])
def test_bad_scene_names_the_file_and_leaves_no_folder(tmp_path, num_proc):
    source = BrokenSource(num_scenes=3, image_size=(32, 24), frames_per_scene=1)
    with pytest.raises(SceneError, match=r"pose/000\.txt"):
        build_msmu(source, tmp_path / "out", num_proc=num_proc, progress=False, verbose=False)
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_skip_bad_scenes_logs_and_goes_on(tmp_path, caplog):
    source = BrokenSource(num_scenes=3, image_size=(32, 24), frames_per_scene=1)
    with caplog.at_level(logging.WARNING):
        out = build_msmu(source, tmp_path / "out", skip_bad_scenes=True, test_fraction=0.0, progress=False, verbose=False)
    assert "synthetic_00001" in caplog.text and "pose/000.txt" in caplog.text
    scenes = set(pq.read_table(next((out / "data").glob("train-*"))).column("scene_id").to_pylist())
    assert scenes == {"synthetic_00000", "synthetic_00002"}
    assert "Skipped scenes (1)" in (out / "README.md").read_text()


def test_interrupted_build_keeps_the_previous_folder(tmp_path, small_build):
    import shutil

    target = tmp_path / "msmu"
    shutil.copytree(small_build, target)
    before = _tables(target)
    source = BrokenSource(interrupt=True, num_scenes=4, image_size=(32, 24), frames_per_scene=1)
    with pytest.raises(KeyboardInterrupt):
        build_msmu(source, target, overwrite=True, skip_bad_scenes=True, progress=False, verbose=False)
    after = _tables(target)
    assert list(before) == list(after) and all(before[k].equals(after[k]) for k in before)
    assert _leftovers(tmp_path) == []
    with pytest.raises(KeyboardInterrupt):
        build_msmu(source, tmp_path / "fresh", skip_bad_scenes=True, progress=False, verbose=False)
    assert not (tmp_path / "fresh").exists() and _leftovers(tmp_path) == []


def test_existing_output_is_refused_unless_overwrite(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError, match="overwrite"):
        build_msmu("synthetic", tmp_path / "out", **SMALL)
    out = build_msmu("synthetic", tmp_path / "out", overwrite=True, **SMALL)
    assert (out / "README.md").is_file()


def test_cli_build_and_clear_errors(tmp_path, capsys):
    args = ["build", "--output", str(tmp_path / "cli"), "--num-scenes", "2", "--width", "32", "--height", "24",
            "--frames-per-scene", "1", "--qa-per-frame", "4", "--cot", "--decimals", "1", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Questions per category" in printed and "Objects per category" in printed
    table = pq.read_table(next((tmp_path / "cli" / "data").glob("train-*")))
    values = [v for row in table.column("answer_value").to_pylist() for v in row]
    assert values and all(abs(v * 10 - round(v * 10)) < 1e-4 for v in values)
    image = table.column("image").to_pylist()[0]["bytes"]
    assert Image.open(io.BytesIO(image)).size == (32, 24)
    assert main(["build", "--source", "scannet", "--output", str(tmp_path / "s")]) == 2
    assert "--scannet-root" in capsys.readouterr().err
    assert main(["build", "--source", "released", "--output", str(tmp_path / "r"), "--data-dir", str(tmp_path / "nope")]) == 2
    assert "not found" in capsys.readouterr().err


def test_importing_the_builder_does_not_import_scannet():
    code = "import sys, dataset_builders.msmu; print('dataset_builders.msmu.sources.scannet' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False"


def test_features_are_the_contract():
    features = msmu_features()
    assert list(features) == ["image", "depth", "intrinsics", "question", "answer", "category", "question_kind", "answer_value",
                              "objects", "question_objects", "scene_id", "frame_id", "conversations"]  # fmt: skip
    assert set(features["objects"].feature) == {"id", "name", "category", "center", "size", "rotation"}


def test_category_filter_in_build_msmu_cli_and_card(tmp_path, capsys):
    from dataset_builders.msmu.templates import CATEGORY_NAMES

    out = build_msmu("synthetic", tmp_path / "f", seed=1, **{**SMALL, "qa_per_frame": 40},
                     categories=["absolute_distance", "position"],
                     question_kinds="absolute_distance.camera,position.forward")
    rows = [r for t in _tables(out).values() for r in t.select(["category", "question_objects"]).to_pylist()]
    names = msmu_features()["category"].names
    assert rows and {names[r["category"]] for r in rows} == {"absolute_distance", "position"}
    assert all(len(r["question_objects"]) == 1 for r in rows)  # camera-relative: one object each
    card = (out / "README.md").read_text()
    assert "--categories absolute_distance,position" in card
    assert "--question-kinds absolute_distance.camera,position.forward" in card
    assert "question types: only absolute_distance, position" in card

    args = ["build", "--output", str(tmp_path / "cli"), "--num-scenes", "2", "--width", "32", "--height", "24",
            "--frames-per-scene", "1", "--qa-per-frame", "4", "--categories", "count", "--no-progress"]  # fmt: skip
    assert main(args) == 0
    table = pq.read_table(next((tmp_path / "cli" / "data").glob("train-*")))
    assert {names[c] for c in table.column("category").to_pylist()} == {"count"}
    capsys.readouterr()
    assert main(["build", "--output", str(tmp_path / "bad"), "--categories", "count,sizes", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "'sizes'" in err and all(name in err for name in CATEGORY_NAMES)
    assert main(["build", "--output", str(tmp_path / "bad"), "--question-kinds", "position.up", "--no-progress"]) == 2
    assert "'position.up'" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def test_overwrite_replaces_only_folders_this_builder_wrote(tmp_path):
    out = build_msmu("synthetic", tmp_path / "out", **SMALL)
    assert build_msmu("synthetic", out, overwrite=True, **SMALL) == out  # its own folder: replaced
    home = tmp_path / "home"
    (home / "documents").mkdir(parents=True)
    (home / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not an MSMU folder written by this builder"):
        build_msmu("synthetic", home, overwrite=True, **SMALL)
    assert (home / "notes.txt").read_text() == "keep me"
    (out / "extra.txt").write_text("x")  # a builder folder with something else in it is not replaced either
    with pytest.raises(FileExistsError, match="other files"):
        build_msmu("synthetic", out, overwrite=True, **SMALL)


def test_temporaries_of_killed_builds_are_removed_and_live_ones_kept(tmp_path):
    import os

    dead = tmp_path / ".out.tmp-dead"
    dead.mkdir()
    (dead / ".msmu-build-pid").write_text("999999999")  # no such process
    legacy = tmp_path / ".out.tmp-legacy"  # left by an older build: no pid file
    legacy.mkdir()
    live = tmp_path / ".out.tmp-live"
    live.mkdir()
    (live / ".msmu-build-pid").write_text(str(os.getppid()))  # a running process: another build
    build_msmu("synthetic", tmp_path / "out", **SMALL)
    assert not dead.exists() and not legacy.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.tmp-live", "out"]


def test_every_row_says_its_question_kind(small_build):
    from dataset_builders.msmu.questions import QUESTION_KIND_NAMES
    from dataset_builders.msmu.templates import CATEGORY_NAMES

    rows = pq.read_table(next((small_build / "data").glob("train-*")), columns=["category", "question_kind"]).to_pylist()
    kinds = {r["question_kind"] for r in rows}
    assert kinds <= set(QUESTION_KIND_NAMES) and len(kinds) >= 12
    assert all(r["question_kind"].split(".")[0] == CATEGORY_NAMES[r["category"]] for r in rows)


def test_visibility_shorthand_keeps_every_threshold(tmp_path):
    from dataset_builders.msmu.visibility import VisibilityConfig

    out = build_msmu("synthetic", tmp_path / "vis", visibility=VisibilityConfig(depth_tolerance=0.07, min_area=0.01),
                     **{k: v for k, v in SMALL.items()})
    card = (out / "README.md").read_text()
    assert '"depth_tolerance": 0.07' in card and '"min_area": 0.01' in card
