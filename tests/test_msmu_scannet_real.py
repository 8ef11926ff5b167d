"""The ScanNet source and the MSMU pipeline on the real scene ``../shared/data/scannet_scene0000_00``.

Three real posed 1296x968 frames, 27 annotated boxes and a labelled point cloud, no depth maps:
the source renders depth and instance masks from the points. Every check compares with the files
themselves (``scene.json`` read here), never with the source's own output. Skips where ``../shared``
is absent.
"""

import json
import re

import numpy as np
import pytest

from dataset_builders.msmu.pipeline import scene_rows
from dataset_builders.msmu.questions import QAConfig
from dataset_builders.msmu.scene import Scene
from dataset_builders.msmu.sources.scannet import ScanNetSource
from dataset_builders.msmu.visibility import VisibilityConfig, frame_visibility

SCENE_DIR = "scannet_scene0000_00"
SCALE = 0.5  # frames rendered at 648x484
DECIMALS = 2
ROUNDING = 0.5 * 10**-DECIMALS + 1e-9


@pytest.fixture(scope="module")
def truth(shared_data):
    meta = json.loads((shared_data / SCENE_DIR / "scene.json").read_text())
    return {
        "align": np.array(meta["axis_align_matrix_4x4"]),
        "intrinsics": np.array(meta["color_intrinsics_4x4"]),
        "poses": {f["image"].split("/")[-1].split(".")[0]: np.array(f["camera_to_world_4x4"]) for f in meta["frames"]},
        "boxes": {b["instance_index"]: (b["name"], np.array(b["center"]), np.array(b["size"])) for b in meta["boxes"]},
    }


@pytest.fixture(scope="module")
def scene(shared_data):
    source = ScanNetSource(shared_data, point_cloud_options={"image_scale": SCALE})
    assert SCENE_DIR in source.scene_ids()  # the layout is detected; the NYU folder is ignored
    loaded = source.load(SCENE_DIR)
    return loaded, list(loaded.frames)  # render each frame once for every test


def test_objects_are_the_annotated_boxes(scene, truth):
    objects = {o.id: o for o in scene[0].objects}
    assert sorted(objects) == sorted(truth["boxes"])
    for index, (name, center, size) in truth["boxes"].items():
        obj = objects[index]
        np.testing.assert_allclose(obj.center, center)
        np.testing.assert_allclose(obj.size, size)
        assert obj.category == {"garbagebin": "trash can"}.get(name, name)
        assert obj.name.endswith(obj.category) and obj.name != obj.category  # "<colour> <category>"
        # The object's points (from the matched point instance) lie in its box.
        assert np.all(np.abs(obj.points - center) <= size / 2 + 1e-5)


def test_existence_vocabulary_is_the_annotated_classes(shared_data, scene):
    """Only classes the boxes cover may be asked about as absent (the TV in frame 00102 has no box)."""
    vocabulary = ScanNetSource(shared_data).categories
    assert {o.category for o in scene[0].objects} <= set(vocabulary)
    assert "tv" not in vocabulary and "television" not in vocabulary


def test_frames_poses_and_intrinsics(scene, truth):
    frames = scene[1]
    assert [f.frame_id for f in frames] == sorted(truth["poses"])
    k = truth["intrinsics"]
    for frame in frames:
        assert frame.image.shape == (484, 648, 3) and frame.depth.shape == (484, 648)
        np.testing.assert_allclose(frame.pose, truth["align"] @ truth["poses"][frame.frame_id])
        np.testing.assert_allclose(frame.intrinsics, [k[0, 0] * SCALE, k[1, 1] * SCALE,
                                                      (k[0, 2] + 0.5) * SCALE - 0.5,
                                                      (k[1, 2] + 0.5) * SCALE - 0.5], rtol=1e-6)


def test_rendered_depth_is_plausible(scene, truth):
    for frame in scene[1]:
        valid = frame.depth > 0
        assert valid.mean() > 0.8, frame.frame_id
        assert 0.5 < np.median(frame.depth[valid]) < 8.0, frame.frame_id
        assert frame.depth.max() < 10.0  # a room-sized scan
        world_to_cam = np.linalg.inv(frame.pose)
        for oid, mask in frame.instance_masks.items():
            _, center, size = truth["boxes"][oid]
            signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)])
            corners = (center + signs * size / 2) @ world_to_cam[:3, :3].T + world_to_cam[:3, 3]
            # Masks are the object's own surface: their depths lie within its box's depth range.
            depth = frame.depth[mask]
            assert np.all((depth >= corners[:, 2].min() - 1e-3) & (depth <= corners[:, 2].max() + 1e-3)), oid


def _project(frame, point):
    p = np.linalg.inv(frame.pose) @ np.r_[point, 1.0]
    fx, fy, cx, cy = frame.intrinsics
    return fx * p[0] / p[2] + cx, fy * p[1] / p[2] + cy, p[2]


def test_box_centers_project_into_visible_masks(scene, truth):
    checked, exact = 0, 0
    for frame in scene[1]:
        stats = frame_visibility(scene[0].objects, frame, VisibilityConfig())
        for oid, stat in stats.items():
            if not stat.visible:
                continue
            u, v, z = _project(frame, truth["boxes"][oid][1])
            mask = frame.instance_masks[oid]
            rows, cols = np.nonzero(mask)
            assert z > 0 and cols.min() <= u <= cols.max() and rows.min() <= v <= rows.max(), oid
            # A box center can fall on a hole (the TV inside the TV cabinet): allow a short way off.
            gap = np.sqrt((rows - v) ** 2 + (cols - u) ** 2).min()
            assert gap < 0.05 * mask.shape[1], (frame.frame_id, oid, gap)
            checked += 1
            exact += bool(mask[int(round(v)), int(round(u))])
    assert checked >= 5 and exact >= 0.6 * checked, (checked, exact)


def _aabb_gap(c1, s1, c2, s2):
    return float(np.linalg.norm(np.maximum(np.abs(c1 - c2) - (s1 + s2) / 2, 0.0)))


def _has(text, *words):
    return any(re.search(rf"\b{w}", text.lower()) for w in words)


def _expected(row, frame, truth):
    """The answer recomputed from scene.json for a quantitative row, or None for other rows."""
    boxes, ids, q = truth["boxes"], row["question_objects"], row["question"]
    world_to_cam = np.linalg.inv(frame.pose)
    cam = frame.pose[:3, 3]

    def cam_center(i):
        return world_to_cam[:3, :3] @ boxes[i][1] + world_to_cam[:3, 3]

    def dims(i):
        size = boxes[i][2]
        return {"length": max(size[:2]), "width": min(size[:2]), "height": size[2]}

    if row["category"] == "scale_estimation":
        d = dims(ids[0])
        if len(row["answer_value"]) == 3:
            return [d["length"], d["width"], d["height"]]
        kind = "height" if _has(q, "tall", "height", "high") else "width" if _has(q, "wide", "width") else "length"
        return [d[kind]]
    if row["category"] == "absolute_distance" and len(ids) == 2:
        (_, c1, s1), (_, c2, s2) = boxes[ids[0]], boxes[ids[1]]
        return [np.linalg.norm(c1 - c2) if _has(q, "center") else _aabb_gap(c1, s1, c2, s2)]
    if row["category"] == "absolute_distance":
        _, c, s = boxes[ids[0]]
        closest = _has(q, "nearest", "shortest", "closest", "close")
        return [_aabb_gap(cam, np.zeros(3), c, s) if closest else np.linalg.norm(c - cam)]
    if row["category"] == "position":
        x, _, z = cam_center(ids[0])
        if _has(q, "left", "right"):
            return [abs(x)]
        if _has(q, "above", "below", "vertical"):
            return [abs(boxes[ids[0]][1][2] - cam[2])]
        return [z]
    if row["category"] == "refer_obj_estimation":
        target = ids[0]  # ids[1] is the reference object
        if _has(q, "tall", "height"):
            return [dims(target)["height"]]
        if _has(q, "long", "length"):
            return [dims(target)["length"]]
        return [np.linalg.norm(cam_center(target))]
    return None


def test_pipeline_answers_match_the_boxes(scene, truth):
    loaded, frames = scene
    rows = scene_rows(Scene(loaded.scene_id, loaded.objects, frames), VisibilityConfig(),
                      QAConfig(qa_per_frame=40, decimals=DECIMALS))
    by_frame = {f.frame_id: f for f in frames}
    checked = {}
    for row in rows:
        frame = by_frame[row["frame_id"]]
        world_to_cam = np.linalg.inv(frame.pose)
        for record in row["objects"]:  # objects in the camera frame, from the boxes
            _, center, size = truth["boxes"][record["id"]]
            # atol: the poses in scene.json are rounded to 1e-6, so rotation.T and inverse differ.
            in_camera = world_to_cam[:3, :3] @ center + world_to_cam[:3, 3]
            np.testing.assert_allclose(record["center"], in_camera, atol=1e-4)
            np.testing.assert_allclose(record["size"], size, atol=1e-6)
        expected = _expected(row, frame, truth)
        if expected is None:
            continue
        assert np.allclose(row["answer_value"], expected, atol=ROUNDING, rtol=0), \
            (row["question"], row["answer_value"], expected)
        checked[row["category"]] = checked.get(row["category"], 0) + 1
    assert set(checked) == {"scale_estimation", "absolute_distance", "position", "refer_obj_estimation"}, checked
    assert sum(checked.values()) >= 20


def test_camera_distances_agree_with_rendered_depth(scene, truth):
    """For every point p of a box, | |p| - |c| | <= |p - c| <= half the box diagonal, so the
    rendered range of each mask pixel must be that close to the camera-to-center distance."""
    checked = 0
    for frame in scene[1]:
        fx, fy, cx, cy = frame.intrinsics
        rows, cols = np.mgrid[0:frame.depth.shape[0], 0:frame.depth.shape[1]]
        ray_length = np.sqrt(((cols - cx) / fx) ** 2 + ((rows - cy) / fy) ** 2 + 1.0)
        for oid, mask in frame.instance_masks.items():
            _, center, size = truth["boxes"][oid]
            distance = np.linalg.norm(center - frame.pose[:3, 3])
            ranges = frame.depth[mask] * ray_length[mask]
            # + 5 cm: a surfel's pixels sit beside its point, not on it.
            assert np.all(np.abs(ranges - distance) <= np.linalg.norm(size) / 2 + 0.05), (frame.frame_id, oid)
            checked += 1
    assert checked >= 10
