"""Geometric checks of the MSMU pipeline on synthetic rooms.

Each answer is recomputed here by a different route than the pipeline takes: distances from the
camera-frame `objects` column or by alternating projections between boxes, heights from the box
corners seen through the camera pose, camera distances from the depth map, visibility from a render
of the object alone on a padded canvas. Question kinds and the labels a question uses are recovered
by matching the question against the templates.
"""

import re

import numpy as np
import pytest

from dataset_builders.msmu import templates as T
from dataset_builders.msmu.geometry import box_box_distance, box_corners, yaw_matrix
from dataset_builders.msmu.pipeline import frame_context, frame_rows, scene_rng, select_questions
from dataset_builders.msmu.questions import GENERATORS, QAConfig
from dataset_builders.msmu.render import Box, Room, render_boxes
from dataset_builders.msmu.sources.synthetic import SyntheticSource
from dataset_builders.msmu.visibility import VisibilityConfig
from metrics.msmu_accuracy.parsing import parse_answer

WIDTH, HEIGHT = 96, 72
VIS = VisibilityConfig()
HALF_ULP = 0.005 + 1e-4  # answers are rounded to 2 decimals


def _pattern(template: str) -> re.Pattern:
    text = re.escape(template)
    for key in ("o", "a", "b", "r"):
        text = text.replace(re.escape("{" + key + "}"), f"(?P<{key}>.+?)")
    for key, alt in (("side", "left|right"), ("dir", "above|below"), ("ref", r"[\d.]+ m"), ("cats", ".+?"), ("acat", ".+?"), ("cat", ".+?")):
        text = text.replace(re.escape("{" + key + "}"), f"(?P<{key}>{alt})")
    return re.compile(f"^{text}$")


# Grouped templates: kind "<prefix>_<key>" for each key of the group's table.
KINDS = {
    f"{prefix}_{key}": group
    for prefix, table in (
        ("size", T.SIZE_QUESTIONS),
        ("camera", T.CAMERA_DISTANCE_QUESTIONS),
        ("object", T.OBJECT_DISTANCE_QUESTIONS),
        ("position", T.POSITION_QUESTIONS),
        ("refer", T.REFERENCE_QUESTIONS),
        ("which", T.COMPARE_WHICH),
        ("yesno", T.COMPARE_YESNO),
    )
    for key, group in table.items()
}
KINDS.update(
    count=T.COUNT_QUESTIONS,
    left_right=T.LEFT_RIGHT_QUESTIONS,
    left_right_which=T.LEFT_RIGHT_WHICH,
    front=T.FRONT_BEHIND_QUESTIONS,
    behind=T.BEHIND_QUESTIONS,
    closer_which=T.CLOSER_WHICH,
    exist=T.EXIST_QUESTIONS,
)
PATTERNS = [(kind, _pattern(t)) for kind, group in KINDS.items() for t in group]


def classify(question: str):
    """(kind, groupdict) of the only template the question matches."""
    hits = [(kind, m.groupdict()) for kind, p in PATTERNS if (m := p.match(question))]
    kinds = {k for k, _ in hits}
    assert len(kinds) == 1, f"{question!r} matches {kinds}"
    return hits[0]


@pytest.fixture(scope="module")
def frames():
    """[(scene, frame, rows)] for 4 rooms x 3 views, with many questions per frame."""
    source = SyntheticSource(num_scenes=4, seed=3, image_size=(WIDTH, HEIGHT), frames_per_scene=3)
    qa = QAConfig(qa_per_frame=80, categories=source.categories, colors=source.colors)
    out = []
    for scene_id in source.scene_ids():
        scene = source.load(scene_id)
        for index, frame in enumerate(scene.frames):
            out.append((scene, frame, frame_rows(scene, frame, VIS, qa, scene_rng(0, scene_id, index))))
    assert sum(len(rows) for _, _, rows in out) > 300
    return out


def _resolve(label: str, scene, frame) -> int:
    """The id of the only present object (any mask pixel) called `label` by category or name."""
    present = [o for o in scene.objects if frame.instance_masks.get(o.id) is not None and frame.instance_masks[o.id].any()]
    by_category = [o.id for o in present if o.category == label]
    by_name = [o.id for o in present if o.name == label]
    matches = by_category if by_category else by_name
    assert len(matches) == 1, f"label {label!r} is absent or ambiguous in frame {frame.frame_id}: {matches}"
    return matches[0]


def _objects(scene):
    return {o.id: o for o in scene.objects}


def _questions(frames, wanted):
    """`(scene, frame, objects by id, row, kind, groups)` for every row whose question kind `wanted(kind)`
    accepts; every row's question is classified (exactly one template matches)."""
    for scene, frame, rows in frames:
        objects = _objects(scene)
        for row in rows:
            kind, groups = classify(row["question"])
            if wanted(kind):
                yield scene, frame, objects, row, kind, groups


def _closest_by_projection(a, b, iterations=4000) -> float:
    """Distance between two boxes by alternating projections (converges for convex sets)."""

    def project(point, box):
        rot = yaw_matrix(box.yaw)
        local = np.clip(rot.T @ (point - box.center), -box.size / 2, box.size / 2)
        return box.center + rot @ local

    q = b.center.copy()
    for _ in range(iterations):
        p = project(q, a)
        q = project(p, b)
    return float(np.linalg.norm(p - q))


def test_box_distance_against_alternating_projections():
    rng = np.random.default_rng(0)
    source_boxes = []
    for _ in range(30):
        size = rng.uniform(0.2, 2.0, 3)
        center = np.append(rng.uniform(-3, 3, 2), rng.uniform(0, 2))
        source_boxes.append(Box(0, center, size, float(rng.uniform(0, 2 * np.pi)), (0, 0, 0)))
    for a, b in zip(source_boxes[::2], source_boxes[1::2]):
        exact = box_box_distance(a.center, a.size, a.yaw, b.center, b.size, b.yaw)
        assert exact == pytest.approx(_closest_by_projection(a, b), abs=2e-4)


def test_object_distances_equal_box_geometry(frames):
    checked = 0
    wanted = ("object_center", "object_closest")
    for scene, frame, objects, row, kind, groups in _questions(frames, lambda kind: kind in wanted):
        a, b = (objects[_resolve(groups[k], scene, frame)] for k in ("a", "b"))
        assert sorted(row["question_objects"]) == sorted([a.id, b.id])
        if kind == "object_center":
            # Rigid motion keeps distances: the camera-frame centers of the objects column agree.
            cam = {o["id"]: np.array(o["center"]) for o in row["objects"]}
            expected = np.linalg.norm(cam[a.id] - cam[b.id])
        else:
            expected = _closest_by_projection(a, b)
        assert row["answer_value"][0] == pytest.approx(expected, abs=HALF_ULP)
        checked += 1
    assert checked > 20


def test_heights_and_sizes_are_box_extents_along_gravity(frames):
    checked = 0
    for scene, frame, objects, row, kind, groups in _questions(frames, lambda kind: kind.startswith("size_")):
        rot, origin = frame.pose[:3, :3], frame.pose[:3, 3]
        up_cam = rot.T @ np.array([0.0, 0.0, 1.0])
        obj = objects[_resolve(groups["o"], scene, frame)]
        corners_cam = (box_corners(obj.center, obj.size, obj.yaw) - origin) @ rot
        along_up = corners_cam @ up_cam
        height = along_up.max() - along_up.min()
        horizontal = sorted(obj.size[:2])
        expected = {
            "size_height": [height],
            "size_length": [horizontal[1]],
            "size_width": [horizontal[0]],
            "size_dims": [horizontal[1], horizontal[0], height],
        }[kind]
        assert row["answer_value"] == pytest.approx(expected, abs=HALF_ULP)
        checked += 1
    assert checked > 20


def _mask_points(frame, mask):
    v, u = np.nonzero(mask)
    z = frame.depth[v, u].astype(np.float64)
    fx, fy, cx, cy = frame.intrinsics
    return np.stack([(u - cx) / fx * z, (v - cy) / fy * z, z], axis=1)


def test_camera_distances_match_depth_map(frames):
    checked_tight = 0
    wanted = ("camera_center", "camera_closest", "position_forward")
    for scene, frame, objects, row, kind, groups in _questions(frames, lambda kind: kind in wanted):
        obj = objects[_resolve(groups["o"], scene, frame)]
        points = _mask_points(frame, frame.instance_masks[obj.id])
        radius = np.linalg.norm(obj.size) / 2
        value = row["answer_value"][0]
        norms = np.linalg.norm(points, axis=1)
        if kind == "camera_center":
            # Every visible surface point lies within the box's half-diagonal of its center.
            assert np.all(np.abs(norms - value) <= radius + 0.01)
        elif kind == "position_forward":
            assert np.all(np.abs(points[:, 2] - value) <= radius + 0.01)
        else:
            # The nearest point of a convex box seen from outside is never hidden by the box
            # itself; for an unoccluded object the depth map sees it to within a pixel's width.
            assert norms.min() >= value - HALF_ULP - 2e-3
            if _independent_visibility(scene, frame, obj)[1] == 0.0:
                pixel = norms.min() / frame.intrinsics[0] * 2
                assert norms.min() <= value + HALF_ULP + pixel + 0.01, (row["question"], value, norms.min())
                checked_tight += 1
    assert checked_tight > 3


_VISIBILITY_CACHE: dict = {}


def _independent_visibility(scene, frame, obj, pad=150):
    """(truncation, occlusion) from a render of the object alone on a canvas padded by `pad`."""
    key = (scene.scene_id, frame.frame_id, obj.id)
    if key not in _VISIBILITY_CACHE:
        _VISIBILITY_CACHE[key] = _render_alone(scene, frame, obj, pad)
    return _VISIBILITY_CACHE[key]


def _render_alone(scene, frame, obj, pad):
    fx, fy, cx, cy = frame.intrinsics
    room = Room(size=np.array([200.0, 200.0, 200.0]))
    box = [Box(obj.id, obj.center, obj.size, obj.yaw, (255, 255, 255))]
    big = render_boxes(room, box, np.array([fx, fy, cx + pad, cy + pad]), frame.pose, WIDTH + 2 * pad, HEIGHT + 2 * pad)
    silhouette = big.masks[obj.id]
    window = silhouette[pad : pad + HEIGHT, pad : pad + WIDTH]
    truncation = 1.0 - window.sum() / max(silhouette.sum(), 1)
    mask = frame.instance_masks[obj.id]
    hidden = (window & ~mask).sum()
    occlusion = hidden / max(hidden + mask.sum(), 1)
    return truncation, occlusion


def test_visibility_thresholds_hold(frames):
    kept = rejected = 0
    for scene, frame, rows in frames:
        if not rows:
            continue
        listed = {o["id"] for o in rows[0]["objects"]}
        for obj in scene.objects:
            mask = frame.instance_masks.get(obj.id)
            if mask is None or not mask.any():
                assert obj.id not in listed
                continue
            truncation, occlusion = _independent_visibility(scene, frame, obj)
            area = mask.sum() / mask.size
            # Pixel counts approximate the exact polygon areas: a few percent of slack.
            if obj.id in listed:
                kept += 1
                assert area >= VIS.min_area and mask.sum() >= VIS.min_pixels
                assert truncation <= VIS.max_truncation + 0.06
                assert occlusion <= VIS.max_occlusion + 0.02
            else:
                rejected += 1
                assert (
                    area < VIS.min_area
                    or mask.sum() < VIS.min_pixels
                    or truncation > VIS.max_truncation - 0.06
                    or occlusion > VIS.max_occlusion - 0.02
                )
    assert kept > 20 and rejected > 3


def test_no_question_about_absent_or_ambiguous_objects(frames):
    for scene, frame, rows in frames:
        present = {o.category for o in scene.objects if o.id in frame.instance_masks}
        present_names = {o.name for o in scene.objects if o.id in frame.instance_masks}
        for row in rows:
            kind, groups = classify(row["question"])
            listed = {o["id"] for o in row["objects"]}
            assert set(row["question_objects"]) <= listed
            for key in ("o", "a", "b", "r"):
                if key in groups:
                    assert _resolve(groups[key], scene, frame) in row["question_objects"]
            if kind == "exist":
                name = groups.get("cat") or groups["acat"].split(" ", 1)[1]
                if row["answer"] == "Yes":
                    assert any(o["category"] == name for o in row["objects"])
                else:
                    assert name not in present and name not in present_names
                    assert row["question_objects"] == []
            if kind == "count":
                category = next(c for c in present if T.pluralize(c) == groups["cats"])
                everyone = [o for o in scene.objects if o.category == category and o.id in frame.instance_masks]
                assert int(row["answer"]) == len(everyone) == sum(o["category"] == category for o in row["objects"])


def test_qualitative_answers_follow_the_geometry(frames):
    checked = 0
    for scene, frame, rows in frames:
        for row in rows:
            kind, groups = classify(row["question"])
            if row["category"] not in ("relative_position", "scale_compare"):
                continue
            cam = {o["id"]: o for o in row["objects"]}
            a_id, b_id = (_resolve(groups[k], scene, frame) for k in ("a", "b"))
            a, b = cam[a_id], cam[b_id]
            if kind in ("left_right", "left_right_which"):
                a_first = (a["center"][0] < b["center"][0]) == (groups["side"] == "left")
            elif kind in ("front", "closer_which"):
                a_first = a["center"][2] < b["center"][2]
            elif kind == "behind":
                a_first = a["center"][2] > b["center"][2]
            else:
                key = kind.split("_")[1]
                measure = {
                    "taller": lambda o: o["size"][2],
                    "longer": lambda o: max(o["size"][:2]),
                    "bigger": lambda o: np.prod(o["size"]),
                }[key]
                a_first = measure(a) > measure(b)
            if kind.startswith("which") or kind.endswith("which"):
                assert row["answer"] == f"The {groups['a'] if a_first else groups['b']}"
            else:
                assert row["answer"] == ("Yes" if a_first else "No")
            checked += 1
    assert checked > 30


def test_answers_parse_back_to_their_values(frames):
    for _, _, rows in frames:
        for row in rows:
            values = row["answer_value"]
            assert values == [round(v, 2) for v in values]
            if values:
                parsed = parse_answer(row["answer"])
                assert parsed is not None and parsed.values == pytest.approx(values)
            else:
                assert row["category"] in ("relative_position", "scale_compare", "zero")
            assert row["conversations"][0]["value"] == "<image>\n" + row["question"]
            assert row["conversations"][1]["value"] == row["answer"]


def test_every_category_and_round_robin(frames):
    seen = {row["category"] for _, _, rows in frames for row in rows}
    assert seen == set(T.CATEGORY_NAMES)
    scene, frame, _ = max(frames, key=lambda item: len({r["category"] for r in item[2]}))
    qa = QAConfig(qa_per_frame=8, categories=SyntheticSource.categories, colors=SyntheticSource.colors)
    ctx = frame_context(scene, frame, VIS, qa, np.random.default_rng(0))
    available = {name for name, generate in GENERATORS.items() if generate(ctx)}
    chosen = select_questions(ctx)
    assert len(chosen) == 8 and len({q.question for q in chosen}) == 8
    # Round-robin: no category twice before every available one has appeared once.
    assert len({q.category for q in chosen}) == min(8, len(available))


def test_chain_of_thought_and_rounding_options():
    source = SyntheticSource(num_scenes=1, seed=1, image_size=(64, 48), frames_per_scene=1)
    scene = source.load(source.scene_ids()[0])
    frame = next(iter(scene.frames))
    qa = QAConfig(qa_per_frame=20, decimals=1, cot=True, categories=source.categories)
    rows = frame_rows(scene, frame, VIS, qa, scene_rng(0, scene.scene_id, 0))
    assert rows
    for row in rows:
        assert all(v == round(v, 1) for v in row["answer_value"])
        gpt = row["conversations"][1]["value"]
        assert gpt.endswith(".") and "So the answer is" in gpt and len(gpt) > len(row["answer"])
        if row["answer_value"]:
            assert parse_answer(gpt).values == pytest.approx(row["answer_value"])


def test_same_seed_same_questions():
    def run(seed):
        source = SyntheticSource(num_scenes=1, seed=seed, image_size=(48, 40), frames_per_scene=2)
        scene = source.load(source.scene_ids()[0])
        qa = QAConfig(categories=source.categories)
        return [
            (r["question"], r["answer"], r["image"]["bytes"], r["depth"]["bytes"])
            for k, f in enumerate(scene.frames)
            for r in frame_rows(scene, f, VIS, qa, scene_rng(seed, scene.scene_id, k))
        ]

    assert run(5) == run(5)
    assert run(5) != run(6)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"qa_per_frame": 0}, "qa_per_frame"), ({"decimals": 9}, "decimals"), ({"decimals": 0}, "decimals"),
     ({"distance_modes": ("edge",)}, "distance_modes")],
)
def test_qa_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        QAConfig(**kwargs)


def test_question_category_and_kind_filter(frames):
    """Only the asked types are generated, and the whole qa_per_frame budget goes to them."""
    scene, frame, _ = max(frames, key=lambda item: len(item[2]))
    base = dict(categories=SyntheticSource.categories, colors=SyntheticSource.colors)
    every = select_questions(frame_context(scene, frame, VIS, QAConfig(qa_per_frame=200, **base), np.random.default_rng(0)))
    available = {}
    for q in every:
        available.setdefault(q.category, []).append(q)
    for asked in (("count",), ("absolute_distance", "position"), ("scale_compare", "zero", "scale_estimation")):
        budget = 12
        qa = QAConfig(qa_per_frame=budget, question_categories=asked, **base)
        chosen = select_questions(frame_context(scene, frame, VIS, qa, np.random.default_rng(0)))
        assert chosen and {q.category for q in chosen} <= set(asked)
        assert len(chosen) == min(budget, sum(len(available.get(c, [])) for c in asked))

    qa = QAConfig(qa_per_frame=200, question_categories=("absolute_distance", "position"),
                  question_kinds=("absolute_distance.camera", "position.forward"), **base)
    chosen = select_questions(frame_context(scene, frame, VIS, qa, np.random.default_rng(0)))
    kinds = {classify(q.question)[0] for q in chosen}
    assert kinds == {"camera_center", "camera_closest", "position_forward"}
    # Every camera-relative question of the unrestricted frame is there, none dropped for the budget.
    def key(q):
        return classify(q.question)[0], tuple(q.object_ids), q.answer

    assert sorted(map(key, chosen)) == sorted(key(q) for q in every if classify(q.question)[0] in kinds)

    # A kind restricts only its own category; the others keep all their kinds.
    qa = QAConfig(qa_per_frame=200, question_kinds=("position.vertical",), **base)
    chosen = select_questions(frame_context(scene, frame, VIS, qa, np.random.default_rng(0)))
    position_kinds = {classify(q.question)[0] for q in chosen if q.category == "position"}
    assert position_kinds <= {"position_vertical"}
    assert {q.category for q in chosen} == {q.category for q in every}


def test_default_build_is_unchanged_by_the_filter_fields():
    """No filter = the same questions as before the option existed (same random draws)."""
    source = SyntheticSource(num_scenes=1, seed=2, image_size=(48, 40), frames_per_scene=2)
    scene = source.load(source.scene_ids()[0])
    explicit = QAConfig(categories=source.categories, question_categories=tuple(T.CATEGORY_NAMES))
    for k, f in enumerate(scene.frames):
        plain = frame_rows(scene, f, VIS, QAConfig(categories=source.categories), scene_rng(0, scene.scene_id, k))
        full = frame_rows(scene, f, VIS, explicit, scene_rng(0, scene.scene_id, k))
        assert [r["question"] for r in plain] == [r["question"] for r in full]


@pytest.mark.parametrize(
    "kwargs, bad",
    [
        ({"question_categories": ("absolute_distance", "distance")}, "'distance'"),
        ({"question_kinds": ("position.depth",)}, "'position.depth'"),
        ({"question_categories": ("count",), "question_kinds": ("position.forward",)}, "'position'"),
    ],
)
def test_question_filter_validation(kwargs, bad):
    with pytest.raises(ValueError, match=re.escape(bad)) as err:
        QAConfig(**kwargs)
    if "question_categories" in kwargs and "question_kinds" not in kwargs:
        assert all(name in str(err.value) for name in T.CATEGORY_NAMES)
    if "question_kinds" in kwargs and "question_categories" not in kwargs:
        assert "absolute_distance.camera" in str(err.value) and "position.vertical" in str(err.value)


def test_objects_column_rebuilds_the_boxes_in_the_camera_frame(frames):
    """center + rotation @ (±size / 2) in the camera frame = the world box corners seen through the pose."""
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    checked = 0
    for scene, frame, rows in frames:
        if not rows:
            continue
        objects = _objects(scene)
        rot, origin = frame.pose[:3, :3], frame.pose[:3, 3]
        for record in rows[0]["objects"]:
            obj = objects[record["id"]]
            rotation = np.asarray(record["rotation"]).reshape(3, 3)
            rebuilt = np.asarray(record["center"]) + (signs * np.asarray(record["size"]) / 2) @ rotation.T
            expected = (box_corners(obj.center, obj.size, obj.yaw) - origin) @ rot  # world -> camera
            np.testing.assert_allclose(rebuilt, expected, atol=1e-9)
            checked += 1
    assert checked > 20
    assert any(abs(o.yaw) > 0.1 for scene, _, _ in frames for o in scene.objects)  # rotated boxes were tested


def _related_scene():
    """A frame with a television, a coffee table and a sofa in view (ScanNet-style category names)."""
    from dataset_builders.msmu.render import camera_pose
    from dataset_builders.msmu.scene import Frame, Scene, SceneObject

    specs = [
        (1, "television", "black", (4.0, 2.3, 1.1), (0.15, 1.0, 0.6), 0.2),
        (2, "coffee table", "brown", (3.0, 3.3, 0.25), (1.0, 0.6, 0.5), 0.3),
        (3, "sofa", "gray", (4.3, 4.0, 0.45), (0.9, 1.8, 0.9), 0.1),
    ]
    objects = [SceneObject(i, c, f"{color} {c}", np.array(center), np.array(size), yaw, {"color": color})
               for i, c, color, center, size, yaw in specs]
    room = Room(size=np.array([6.0, 6.0, 3.0]))
    pose = camera_pose(np.array([0.4, 3.0, 1.5]), heading=0.0, pitch=0.25)
    intrinsics = np.array([90.0, 90.0, WIDTH / 2, HEIGHT / 2])
    render = render_boxes(room, [Box(o.id, o.center, o.size, o.yaw, (120, 80, 40)) for o in objects], intrinsics, pose, WIDTH, HEIGHT)
    frame = Frame("0", render.image, render.depth, intrinsics, pose, render.masks)
    return Scene("related", objects, [frame]), frame


def test_existence_and_labels_respect_head_nouns():
    """No "No" for a tv or a table with a television and a coffee table in view, no "the table"."""
    from dataset_builders.msmu.builder import DEFAULT_VOCABULARY

    scene, frame = _related_scene()
    qa = QAConfig(qa_per_frame=200, categories=DEFAULT_VOCABULARY, colors=("white", "black", "brown"))
    ctx = frame_context(scene, frame, VIS, qa, np.random.default_rng(0))
    assert {v.obj.category for v in ctx.visible} == {"television", "coffee table", "sofa"}
    assert "television" in DEFAULT_VOCABULARY and "tv" not in DEFAULT_VOCABULARY
    negatives = []
    for seed in range(20):
        ctx = frame_context(scene, frame, VIS, qa, np.random.default_rng(seed))
        for item in GENERATORS["zero"](ctx):
            if item.answer == "No":
                negatives.append(item.question)
                # Not a present category or its head noun, nor a colour a present (related) object has.
                assert not re.search(r"\b(?:a|an|any) (?:tv|television|table|coffee table|sofa)\b", item.question), item.question
                assert not re.search(r"\b(?:black television|brown (?:coffee )?table|gray sofa)\b", item.question), item.question
        for name in GENERATORS:
            for item in GENERATORS[name](ctx):
                assert not re.search(r"\bthe (?:\w+ )?table\b", item.question.replace("coffee table", "")), item.question
    assert negatives  # other categories are still asked about as absent

    # A plain table next to the coffee table: "the table" is ambiguous, "the coffee table" is not.
    from dataset_builders.msmu.scene import SceneObject

    table = SceneObject(4, "table", "white table", np.array([2.6, 2.2, 0.4]), np.array([0.6, 0.6, 0.8]), 0.0)
    objects = scene.objects + [table]
    render = render_boxes(Room(size=np.array([6.0, 6.0, 3.0])), [Box(o.id, o.center, o.size, o.yaw, (200, 200, 200)) for o in objects],
                          frame.intrinsics, frame.pose, WIDTH, HEIGHT)
    assert render.masks[4].any() and render.masks[2].any()
    frame.instance_masks = render.masks
    frame.depth = render.depth
    scene.objects = objects
    for seed in range(10):
        ctx = frame_context(scene, frame, VIS, qa, np.random.default_rng(seed))
        labels = {v.obj.id: v.label for v in ctx.visible}
        assert labels.get(4) != "table"
        assert "table" not in ctx.countable
        for q in GENERATORS["zero"](ctx):
            if q.answer == "No":
                assert not re.search(r"\b(?:(?:a|an|any) (?:coffee )?table|(?:white|brown) (?:coffee )?table)\b", q.question), q.question
