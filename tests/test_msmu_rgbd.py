"""The generic RGB-D source (frames + 3D boxes) and the frame validation at the pipeline's door.

Frames come from the exact box ray caster (`render.render_boxes`), so the true instance masks and the
true answers are known: the source must recover the masks from depth + boxes alone, and every bad
input the issue lists must fail with a message naming scene and frame.
"""

import json
import logging
from collections import Counter
from pathlib import Path

import datasets
import numpy as np
import pytest
from PIL import Image

from dataset_builders.msmu import BuildConfig, build_msmu
from dataset_builders.msmu.__main__ import main
from dataset_builders.msmu.camera import camera_pose
from dataset_builders.msmu.conventions import meters_to_depth_units
from dataset_builders.msmu.pipeline import scene_rows
from dataset_builders.msmu.questions import QAConfig
from dataset_builders.msmu.render import Box, Room, render_boxes
from dataset_builders.msmu.scene import Frame, SceneError
from dataset_builders.msmu.sources.rgbd import Box3D, RGBDFolderSource, RGBDFrame, RGBDSource, box_from_axes, scene_from_rgbd
from dataset_builders.msmu.validation import validate_frame
from dataset_builders.msmu.visibility import VisibilityConfig

W, H = 80, 60
K = np.array([60.0, 60.0, 39.5, 29.5])
BOXES = [  # id, category, center, size, yaw, colour
    (0, "table", (2.0, 2.6, 0.375), (1.2, 0.7, 0.75), 0.4, (240, 240, 235)),
    (1, "chair", (1.0, 2.0, 0.45), (0.5, 0.5, 0.9), 0.0, (30, 30, 200)),
    (2, "cabinet", (3.1, 2.9, 0.6), (0.5, 0.5, 1.2), 0.0, (120, 80, 40)),
]


def rendered_room(pitch=0.25, position=(2.0, 0.3, 1.4), heading=np.pi / 2):
    """(RGBDFrame, true masks, Box3D list) of a 4x4x3 m room seen from `position`."""
    room = Room(size=np.array([4.0, 4.0, 3.0]))
    boxes = [Box(i, np.array(c), np.array(s), yaw, rgb) for i, _, c, s, yaw, rgb in BOXES]
    pose = camera_pose(np.array(position), heading=heading, pitch=pitch)
    out = render_boxes(room, boxes, K, pose, W, H)
    frame = RGBDFrame("0", out.image, out.depth, K, pose)
    return frame, out.masks, [Box3D(cat, np.array(c), np.array(s), yaw) for _, cat, c, s, yaw, _ in BOXES]


def test_masks_from_depth_inside_boxes_match_the_rendered_ones():
    frame, truth, boxes = rendered_room()
    scene = scene_from_rgbd("room", [frame], boxes, box_margin=0.02)
    masks = scene.frames[0].instance_masks
    assert set(masks) == set(truth)
    for object_id, mask in masks.items():
        iou = (mask & truth[object_id]).sum() / (mask | truth[object_id]).sum()
        assert iou > 0.9, (object_id, iou)
    names = {o.id: o.name for o in scene.objects}  # shaded faces: the table reads gray, the cabinet black
    assert names[1] == "blue chair" and names[0].endswith(" table") and names[2].endswith(" cabinet")


def test_rgbd_source_builds_a_dataset_with_exact_answers(tmp_path):
    frame, _, boxes = rendered_room()
    source = RGBDSource({"room": ([frame], boxes)})
    assert source.categories == ("cabinet", "chair", "table") and not source.exhaustive_labels
    out = build_msmu(source, tmp_path / "msmu", qa_per_frame=40, test_fraction=0.0, categories="scale_estimation",
                     progress=False, verbose=False)
    rows = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    heights = {r["question"]: r["answer_value"][0] for r in rows if r["question_kind"] == "scale_estimation.height"}
    assert heights, "no height question"
    truth = {"table": 0.75, "chair": 0.9, "cabinet": 1.2}
    for question, value in heights.items():
        label = next(n for n in truth if f" {n}?" in question or f" {n}." in question)
        assert value == pytest.approx(truth[label], abs=0.006), question


def test_camera_frame_boxes_give_the_same_world_boxes():
    frame, _, boxes = rendered_room()
    rot, origin = frame.pose[:3, :3], frame.pose[:3, 3]
    heading = np.arctan2(rot[1, 0], rot[0, 0])
    cam_boxes = [Box3D(b.category, rot.T @ (b.center - origin), b.size, b.yaw - heading, frame_id="0") for b in boxes]
    world = scene_from_rgbd("room", [frame], boxes).objects
    camera = scene_from_rgbd("room", [frame], cam_boxes).objects
    for a, b in zip(world, camera):
        assert np.allclose(a.center, b.center) and np.isclose(np.cos(a.yaw - b.yaw), 1.0)


def test_box_from_axes_finds_height_and_yaw_and_refuses_tilted_boxes():
    yaw = 0.3
    axes = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
    # local axis order (y-up style): x, up, y
    center, size, got = box_from_axes([1, 2, 3], [2.0, 1.0, 0.5], axes[:, [0, 2, 1]], "box 0")
    assert np.allclose(size, [2.0, 0.5, 1.0]) and np.isclose(got, yaw)
    tilt = np.array([[1, 0, 0], [0, np.cos(0.3), -np.sin(0.3)], [0, np.sin(0.3), np.cos(0.3)]])
    with pytest.raises(ValueError, match="box 0: box is not gravity-aligned"):
        box_from_axes([0, 0, 0], [1, 1, 1], tilt, "box 0")


def _frame(**changes):
    frame, masks, _ = rendered_room()
    fields = dict(frame_id="7", image=frame.image, depth=frame.depth, intrinsics=K, pose=frame.pose,
                  instance_masks={i: m for i, m in masks.items()})
    fields.update(changes)
    return Frame(**fields)


def _objects():
    from dataset_builders.msmu.scene import SceneObject

    return [SceneObject(i, c, c, np.array(ce), np.array(s), y) for i, c, ce, s, y, _ in BOXES]


@pytest.mark.parametrize("changes, message", [
    (lambda f: {"instance_masks": {i: m.astype(np.uint8) * 255 for i, m in f.instance_masks.items()}}, "not boolean"),
    (lambda f: {"depth": f.depth * 1000.0}, "millimetres"),
    (lambda f: {"depth": meters_to_depth_units(f.depth)}, "uint16"),
    (lambda f: {"image": np.ascontiguousarray(f.image.transpose(1, 0, 2))}, "transposed"),
    (lambda f: {"depth": np.zeros_like(f.depth)}, "no valid pixel"),
    (lambda f: {"intrinsics": np.array([60.0, 60.0, 300.0, 200.0])}, "another resolution"),
    (lambda f: {"intrinsics": [1.0, 2.0, 3.0]}, "4 numbers"),
    (lambda f: {"pose": np.linalg.inv(f.pose)}, "world-to-camera"),
    (lambda f: {"pose": f.pose @ np.diag([1.0, -1.0, -1.0, 1.0])}, "down axis points up"),
    (lambda f: {"pose": np.diag([1.0, 1.0, 0.0, 1.0])}, "singular"),
    (lambda f: {"pose": f.pose @ np.diag([1.0, 1.0, 1.01, 1.0])}, "not a rigid"),
])  # fmt: skip
def test_bad_frames_fail_naming_scene_and_frame(changes, message):
    frame = _frame()
    frame = _frame(**changes(frame))
    with pytest.raises(SceneError, match=message) as err:
        validate_frame("scene9", frame, _objects())
    assert str(err.value).startswith("scene scene9, frame 7: ") or "scene scene9, frame 7" in str(err.value)


def test_a_3x3_k_and_nan_depth_are_accepted_and_converted():
    frame = _frame()
    k = np.array([[60.0, 0, 39.5], [0, 60.0, 29.5], [0, 0, 1]])
    depth = frame.depth.copy()
    depth[0, 0] = np.nan
    checked = validate_frame("s", _frame(intrinsics=k, depth=depth), _objects())
    assert checked.intrinsics.tolist() == K.tolist() and checked.depth[0, 0] == 0


def test_inverted_pose_of_the_generic_source_is_an_error():
    """Looking along -x, the inverse of the pose still has a level "down" axis, so the gravity check
    cannot tell; the boxes can: no depth pixel falls in one, many do with the inverted pose."""
    frame, truth, boxes = rendered_room(position=(3.8, 2.3, 1.4), heading=np.pi)
    assert sum(m.sum() for m in truth.values()) > 100
    frame.pose = np.linalg.inv(frame.pose)
    assert frame.pose[2, 1] <= 0.5
    with pytest.raises(SceneError, match="frame 0: no depth pixel lies in any box, but .* with the inverted pose"):
        scene_from_rgbd("room", [frame], boxes)


def test_a_12_degree_tilt_in_the_pose_keeps_above_below_right():
    """Above/below follows world z: with the camera's tilt in its pose, a vertical question about
    the cabinet's center (0.6 m, camera at 1.4 m) says "below", 0.8 m."""
    frame, _, boxes = rendered_room(pitch=np.radians(12))
    scene = scene_from_rgbd("room", [frame], boxes)
    qa = QAConfig(qa_per_frame=100, question_categories=("position",), question_kinds=("position.vertical",))
    rows = scene_rows(scene, VisibilityConfig(), qa)
    cabinet = [r for r in rows if "cabinet" in r["question"]]
    assert cabinet and all("below" in r["question"] and r["answer_value"] == [0.8] for r in cabinet)


def test_a_y_up_world_is_warned_about(caplog):
    """A y-up world (ARKit, OpenGL, game engines) passes the per-frame checks (a level camera's down
    axis is horizontal in it) but turns "below" into "in front": the scene gets a warning."""
    frame, _, boxes = rendered_room()
    with caplog.at_level(logging.WARNING):
        scene_from_rgbd("room", [frame], boxes)
    assert "y-up" not in caplog.text
    to_y_up = np.array([[1.0, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]])  # (x, y, z) -> (x, z, -y)
    frame.pose = to_y_up @ frame.pose
    for box in boxes:
        box.center = to_y_up[:3, :3] @ box.center
    with caplog.at_level(logging.WARNING):
        scene_from_rgbd("room", [frame], boxes)
    assert "scene room: in no frame does the camera's down axis point down" in caplog.text and "y-up" in caplog.text


def test_scene_without_questions_logs_why(tmp_path, caplog):
    frame, _, boxes = rendered_room()
    far = [Box3D("chair", np.array([30.0, 30.0, 0.5]), np.array([0.5, 0.5, 1.0]))]
    source = RGBDSource({"empty": ([frame], far), "room": ([frame], boxes)})
    with caplog.at_level(logging.WARNING):
        build_msmu(source, tmp_path / "m", test_fraction=0.0, categories="scale_estimation", progress=False, verbose=False)
    assert "scene empty (1 objects) gave no questions; 1 frame: no annotated object has a mask pixel" in caplog.text
    reasons = Counter()
    tight = VisibilityConfig(min_area=0.9)
    assert scene_rows(scene_from_rgbd("room", [frame], boxes), tight, QAConfig(), reasons=reasons) == []
    assert reasons == {"no object in view passes the visibility filters (area, truncation, occlusion)": 1}


def test_vocabulary_defaults_to_the_source_classes_and_warns_when_not_exhaustive(tmp_path, caplog):
    frame, _, boxes = rendered_room()
    source = RGBDSource({"room": ([frame], boxes)})
    with caplog.at_level(logging.WARNING):
        out = build_msmu(source, tmp_path / "v", qa_per_frame=40, test_fraction=0.0, categories="zero",
                         progress=False, verbose=False)
    assert "labels are not exhaustive" in caplog.text
    rows = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    negatives = [r["question"] for r in rows if r["question_kind"] == "zero.absent"]
    assert not any("pillow" in q or "toilet" in q for q in negatives)  # not annotated classes of this source
    card = (out / "README.md").read_text()
    assert "existence vocabulary: cabinet, chair, table" in card and '"vocabulary": null' in card
    out = build_msmu(RGBDSource({"room": ([frame], boxes)}, exhaustive_labels=True), tmp_path / "v2",
                     vocabulary="chair,sofa,lamp", qa_per_frame=40, test_fraction=0.0, categories="zero",
                     progress=False, verbose=False)
    rows = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    absent = {r["question"] for r in rows if r["question_kind"] == "zero.absent"}
    assert absent and all(("sofa" in q or "lamp" in q) or "chair" in q for q in absent)


def write_folder_layout(root: Path) -> Path:
    frame, _, boxes = rendered_room()
    scene = root / "room_a"
    (scene / "rgb").mkdir(parents=True)
    (scene / "depth").mkdir()
    Image.fromarray(frame.image).save(scene / "rgb" / "0.png")
    Image.fromarray(meters_to_depth_units(frame.depth)).save(scene / "depth" / "0.png")
    meta = {
        "frames": [{"id": "0", "image": "rgb/0.png", "depth": "depth/0.png",
                    "intrinsics": [[60.0, 0, 39.5], [0, 60.0, 29.5], [0, 0, 1]], "pose": frame.pose.tolist()}],
        "boxes": [{"category": b.category, "center": b.center.tolist(), "size": b.size.tolist(), "yaw": b.yaw}
                  for b in boxes],
        "categories": ["table", "chair", "cabinet", "lamp"],
    }
    (scene / "scene.json").write_text(json.dumps(meta))
    return root


def test_folder_layout_through_the_cli(tmp_path):
    root = write_folder_layout(tmp_path / "scans")
    source = RGBDFolderSource(root)
    assert source.scene_ids() == ["room_a"] and source.categories == ("cabinet", "chair", "lamp", "table")
    assert main(["build", "--source", "rgbd", "--root", str(root), "--output", str(tmp_path / "out"),
                 "--test-fraction", "0", "--no-progress", "--no-verbose"]) == 0
    rows = datasets.load_dataset(str(tmp_path / "out"), split="train", cache_dir=str(tmp_path / "cache"))
    assert len(rows) > 0 and set(rows["scene_id"]) == {"room_a"}
    card = (tmp_path / "out" / "README.md").read_text()
    assert "--source rgbd" in card and "--root scans" in card and '"root": "scans"' in card
    meta = json.loads((root / "room_a" / "scene.json").read_text())
    del meta["boxes"][0]["center"]
    (root / "room_a" / "scene.json").write_text(json.dumps(meta))
    with pytest.raises(SceneError, match=r"room_a/scene.json: missing or malformed field"):
        RGBDFolderSource(root).load("room_a")


def test_folder_layout_camera_frame_boxes_npy_depth_and_one_scene_folder(tmp_path):
    """The card's rgbd layout options: a box given in the camera frame of a frame that
    `max_frames_per_scene` drops, float `.npy` depth in meters, `ROOT/scene.json` for one scene;
    the scene equals the in-memory one."""
    frame, _, boxes = rendered_room()
    scene_dir = tmp_path / "kitchen"
    scene_dir.mkdir()
    Image.fromarray(frame.image).save(scene_dir / "0.png")
    np.save(scene_dir / "0.npy", frame.depth)
    rot, origin = frame.pose[:3, :3], frame.pose[:3, 3]
    entries = []
    for index, box in enumerate(boxes):
        entry = {"category": box.category, "center": box.center.tolist(), "size": box.size.tolist(), "yaw": box.yaw}
        if index == 0:  # the table, in camera coordinates of frame "1"
            entry.update(frame="1", center=(rot.T @ (box.center - origin)).tolist(),
                         yaw=box.yaw - float(np.arctan2(rot[1, 0], rot[0, 0])))
        entries.append(entry)
    frames = [{"id": fid, "image": "0.png", "depth": "0.npy", "intrinsics": K.tolist(), "pose": frame.pose.tolist()}
              for fid in ("0", "1")]
    (scene_dir / "scene.json").write_text(json.dumps({"frames": frames, "boxes": entries}))
    source = RGBDFolderSource(scene_dir, max_frames_per_scene=1)
    assert source.scene_ids() == ["kitchen"]
    scene = source.load("kitchen")
    expected = RGBDSource({"kitchen": ([frame], boxes)}).load("kitchen")
    assert [f.frame_id for f in scene.frames] == ["0"]
    for got, want in zip(scene.objects, expected.objects):
        np.testing.assert_allclose(got.center, want.center, atol=1e-9)
        assert np.isclose(np.cos(got.yaw - want.yaw), 1.0) and got.name == want.name
    got_masks, want_masks = scene.frames[0].instance_masks, expected.frames[0].instance_masks
    assert set(got_masks) == set(want_masks) and all((got_masks[i] == want_masks[i]).all() for i in want_masks)


def test_one_corrupt_scene_json_is_skipped_not_fatal(tmp_path, caplog):
    """--skip-bad-scenes: a folder whose scene.json is not JSON (or has bad categories) costs that
    scene only; the source is still built and the other scenes give rows."""
    root = write_folder_layout(tmp_path / "scans")
    (root / "room_b").mkdir()
    (root / "room_b" / "scene.json").write_text("{not json")
    (root / "room_c").mkdir()
    (root / "room_c" / "scene.json").write_text(json.dumps({"frames": [], "boxes": [], "categories": 3}))
    source = RGBDFolderSource(root)
    assert source.scene_ids() == ["room_a", "room_b", "room_c"]
    assert source.categories == ("cabinet", "chair", "lamp", "table")
    with pytest.raises(SceneError, match="room_b/scene.json"):
        source.load("room_b")
    with pytest.raises(SceneError, match="room_c/scene.json: categories must be a list"):
        source.load("room_c")
    with caplog.at_level(logging.WARNING):
        out = build_msmu("rgbd", tmp_path / "out", root=root, skip_bad_scenes=True, test_fraction=0.0,
                         progress=False, verbose=False)
    rows = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert len(rows) > 0 and set(rows["scene_id"]) == {"room_a"}
    assert "skipping scene room_b" in caplog.text and "skipping scene room_c" in caplog.text


def test_build_config_is_the_cli_and_round_trips_through_the_card(tmp_path):
    from dataset_builders.msmu.__main__ import parse_build_args

    config = parse_build_args(["build", "--output", "x", "--num-scenes", "2", "--categories", "count,zero",
                               "--distance-modes", "center", "--no-progress"])
    assert config == BuildConfig(output_dir="x", num_scenes=2, categories="count,zero", distance_modes=["center"],
                                 progress=False)
    again = parse_build_args(["build"] + config.command().split()[4:])
    assert again == BuildConfig(output_dir="x", num_scenes=2, categories="count,zero", distance_modes=["center"])
    with pytest.raises(TypeError, match="unknown option"):
        build_msmu("synthetic", tmp_path / "y", num_scene=2)


@pytest.mark.parametrize("field, value, message", [
    ("center", {"x": 1}, "center and size must be 3 numbers"),
    ("size", [0.5, 0.5], "3 finite numbers"),
    ("size", [0.5, -0.5, 1.0], "size must be positive"),
    ("yaw", None, "yaw a number"),
    ("yaw", float("nan"), "yaw finite"),
    ("name", 7, "name must be a string"),
    ("frame_id", ["0"], "frame_id must be a string"),
    ("id", [1], "id must be an integer"),
])  # fmt: skip
def test_bad_boxes_fail_naming_scene_and_box(field, value, message):
    frame, _, boxes = rendered_room()
    setattr(boxes[1], field, value)
    with pytest.raises(SceneError, match=f"scene room: box 1: .*{message}"):
        scene_from_rgbd("room", [frame], boxes)


def test_bad_folder_fields_name_the_file(tmp_path):
    root = write_folder_layout(tmp_path / "scans")
    path = root / "room_a" / "scene.json"
    meta = json.loads(path.read_text())
    for key, value, message in (("depth_scale", 0, "depth_scale must be > 0"), ("categories", 3, "categories must be a list")):
        broken = dict(meta, **{key: value})
        path.write_text(json.dumps(broken))
        with pytest.raises(SceneError, match=f"scene.json: {message}"):
            RGBDFolderSource(root).load("room_a")
