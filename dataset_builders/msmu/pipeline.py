"""The MSMU construction for one scene: scene graph -> visible objects per frame -> templated QA rows.

Works with any `SceneSource`: it reads only `Scene`, `Frame` and `SceneObject` (see `scene.py`).
Each frame's questions are sampled with a generator seeded from (seed, scene id, frame index), so
the result does not depend on how scenes are spread over processes.
"""

import zlib
from collections import Counter

import numpy as np

from .conventions import IMAGE_TOKEN
from .geometry import yaw_matrix
from .questions import GENERATORS, QA, FrameContext, ObjectView, QAConfig, color_prefix, names_kind
from .scene import Frame, Scene
from .validation import validate_frame, validate_objects
from .visibility import VisibilityConfig, frame_visibility
from .writer import depth_to_png, encode_png


def frame_context(scene: Scene, frame: Frame, visibility: VisibilityConfig, qa: QAConfig, rng) -> FrameContext:
    """Visible objects of a frame with the labels questions may use.

    An object is named by its category when no other present object (any mask pixel) could be
    called that (the same category, or one with that head noun: "the table" is ambiguous when a
    coffee table is present too), or by its descriptive name when no other present object could be
    called that ("white table" / a "white coffee table"); when both work, one is picked at random for
    variety. Otherwise it gets no label and no question names it.
    """
    stats = frame_visibility(scene.objects, frame, visibility)
    by_id = {o.id: o for o in scene.objects}
    present = [by_id[i] for i in stats]
    category_counts: dict = {}
    name_counts: dict = {}
    for obj in present:
        category_counts[obj.category] = category_counts.get(obj.category, 0) + 1
        name_counts[obj.name] = name_counts.get(obj.name, 0) + 1

    def callable_by_category(other, category: str) -> bool:
        return names_kind(other.category, category)

    def callable_by_name(other, obj) -> bool:
        if other.name == obj.name:
            return True
        color = color_prefix(obj.name, obj.category)
        return bool(color) and names_kind(other.category, obj.category) and color_prefix(other.name, other.category) == color

    rot, origin = frame.pose[:3, :3], frame.pose[:3, 3]
    visible = []
    for obj in present:
        if not stats[obj.id].visible:
            continue
        others = [o for o in present if o is not obj]
        options = []
        if category_counts[obj.category] == 1 and not any(callable_by_category(o, obj.category) for o in others):
            options.append(obj.category)
        if name_counts[obj.name] == 1 and obj.name != obj.category and not any(callable_by_name(o, obj) for o in others):
            options.append(obj.name)
        label = options[int(rng.integers(len(options)))] if options else None
        center_cam = rot.T @ (np.asarray(obj.center, dtype=np.float64) - origin)
        visible.append(ObjectView(obj, label, center_cam, stats[obj.id]))

    visible_counts: dict = {}
    for v in visible:
        visible_counts[v.obj.category] = visible_counts.get(v.obj.category, 0) + 1
    # Count only where every present instance passes the thresholds: a half-hidden extra chair
    # would make "how many chairs" ambiguous.
    # "How many tables" is ambiguous with a coffee table present as well.
    countable = {
        c: n for c, n in visible_counts.items()
        if n == category_counts[c] and not any(p != c and names_kind(p, c) for p in category_counts)
    }
    return FrameContext(
        visible=visible,
        camera_position=origin,
        present_categories=set(category_counts),
        present_names=set(name_counts),
        countable=countable,
        config=qa,
        rng=rng,
        present=[(o.category, o.name) for o in present],
    )


def select_questions(ctx: FrameContext) -> list[QA]:
    """Up to `qa_per_frame` distinct questions, round-robin over the asked categories
    (`QAConfig.question_categories`, default all) in a random order so that every category with a
    candidate appears before any category appears twice."""
    asked = ctx.config.asked_categories
    pools = {}
    for name in asked:
        candidates = GENERATORS[name](ctx)
        if candidates:
            order = ctx.rng.permutation(len(candidates))
            pools[name] = [candidates[i] for i in order]
    chosen, seen = [], set()
    names = [asked[i] for i in ctx.rng.permutation(len(asked))]
    while len(chosen) < ctx.config.qa_per_frame and any(pools.get(n) for n in names):
        for name in names:
            pool = pools.get(name)
            while pool:
                qa = pool.pop()
                if qa.question not in seen:
                    seen.add(qa.question)
                    chosen.append(qa)
                    break
            if len(chosen) >= ctx.config.qa_per_frame:
                break
    return chosen


def _object_record(view: ObjectView, frame: Frame) -> dict:
    """One entry of the `objects` column: the box in the camera frame. Its corners are
    `center + rotation @ (±size / 2)`, with `rotation` (row-major 3x3) taking the box's own axes
    (x, y horizontal, z up) to the camera's (x right, y down, z forward)."""
    rotation = frame.pose[:3, :3].T @ yaw_matrix(float(view.obj.yaw))
    return {
        "id": int(view.obj.id),
        "name": view.obj.name,
        "category": view.obj.category,
        "center": [float(v) for v in view.center_cam],
        "size": [float(v) for v in view.obj.size],
        "rotation": [float(v) for v in rotation.reshape(-1)],
    }


def _gpt_turn(qa: QA, cot: bool) -> str:
    if cot and qa.reasoning:
        # "The white table" reads "... the answer is the white table."; numbers are unchanged.
        return f"{qa.reasoning} So the answer is {qa.answer[:1].lower()}{qa.answer[1:]}."
    return qa.answer


def frame_rows(scene: Scene, frame: Frame, visibility: VisibilityConfig, qa: QAConfig, rng, with_depth: bool = True,
               reasons: Counter | None = None) -> list[dict]:
    """The dataset rows (one per question) of one (validated) frame; when it has none, why is
    counted in `reasons`."""
    ctx = frame_context(scene, frame, visibility, qa, rng)
    questions = select_questions(ctx)
    if not questions:
        if reasons is not None:
            reasons[_no_question_reason(ctx)] += 1
        return []
    image = {"bytes": encode_png(np.ascontiguousarray(frame.image, dtype=np.uint8)), "path": None}
    depth = {"bytes": depth_to_png(frame.depth), "path": None} if with_depth else None
    objects = [_object_record(v, frame) for v in ctx.visible]
    rows = []
    for item in questions:
        row = {
            "image": image,
            "intrinsics": [float(v) for v in frame.intrinsics],
            "question": item.question,
            "answer": item.answer,
            "category": item.category,
            "question_kind": f"{item.category}.{item.kind}",
            "answer_value": [float(v) for v in item.values],
            "objects": objects,
            "question_objects": [int(i) for i in item.object_ids],
            "scene_id": scene.scene_id,
            "frame_id": str(frame.frame_id),
            "conversations": [
                {"from": "human", "value": f"{IMAGE_TOKEN}\n{item.question}"},
                {"from": "gpt", "value": _gpt_turn(item, qa.cot)},
            ],
        }
        if with_depth:
            row["depth"] = depth
        rows.append(row)
    return rows


def scene_rng(seed: int, scene_id: str, frame_index: int) -> np.random.Generator:
    """A generator that depends only on the seed, the scene id and the frame's position."""
    return np.random.default_rng([int(seed), zlib.crc32(scene_id.encode("utf-8")), int(frame_index)])


def _no_question_reason(ctx: FrameContext) -> str:
    if not ctx.present:
        return "no annotated object has a mask pixel"
    if not ctx.visible:
        return "no object in view passes the visibility filters (area, truncation, occlusion)"
    if not ctx.views:
        return "no visible object has a name that is unique in the frame"
    return "no question of the asked types applies"


def scene_rows(scene: Scene, visibility: VisibilityConfig, qa: QAConfig, seed: int = 0,
               reasons: Counter | None = None) -> list[dict]:
    """Rows of every frame of a scene, in the source's frame order. Frames are validated first
    (`validation.validate_frame`); frames without questions are counted by reason in `reasons`."""
    validate_objects(scene.scene_id, scene.objects)
    rows = []
    frames = 0
    for index, frame in enumerate(scene.frames):
        frames += 1
        frame = validate_frame(scene.scene_id, frame, scene.objects)
        rows.extend(frame_rows(scene, frame, visibility, qa, scene_rng(seed, scene.scene_id, index), reasons=reasons))
    if frames == 0 and reasons is not None:
        reasons["the scene has no frames"] += 1
    return rows


def explain_no_rows(scene_id: str, objects: int, reasons: Counter) -> str:
    """One line saying why a scene gave no questions: "scene X (5 objects): 3 frames: no object in
    view passes the visibility filters; 1 frame: ..."."""
    parts = [f"{n} frame{'s' if n != 1 else ''}: {why}" if why != "the scene has no frames" else why
             for why, n in reasons.most_common()]
    return f"scene {scene_id} ({objects} objects) gave no questions; " + ("; ".join(parts) or "no frames")


__all__ = ["encode_png", "depth_to_png", "IMAGE_TOKEN", "frame_context", "select_questions", "frame_rows", "scene_rng",
           "scene_rows", "explain_no_rows"]
