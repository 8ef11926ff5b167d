"""The MSMU dataset schema (`datasets.Features`), shared by every source.

>>> features = msmu_features()
>>> features["category"].names[:3]
['scale_estimation', 'absolute_distance', 'count']
>>> "depth" in msmu_features(with_depth=False)
False
"""

from datasets import ClassLabel, Features, Image, List, Value

from .conventions import CATEGORY_NAMES


def msmu_features(with_depth: bool = True) -> Features:
    """Columns of an MSMU folder, the one schema every writer and reader uses; `depth` (16-bit PNG,
    millimetres as `conventions.DEPTH_UNITS_PER_METER` says, 0 = invalid) only where the source has
    metric depth (the authors' released data has none)."""
    columns = {
        "image": Image(),
        "depth": Image(),
        "intrinsics": List(Value("float32")),  # fx, fy, cx, cy in pixels; empty when unknown
        "question": Value("string"),
        "answer": Value("string"),
        "category": ClassLabel(names=list(CATEGORY_NAMES)),
        # "category.kind" from `questions.QUESTION_KIND_NAMES` ("absolute_distance.camera"); "" when unknown
        "question_kind": Value("string"),
        "answer_value": List(Value("float32")),  # meters or counts; empty for qualitative answers
        "objects": List(
            {
                "id": Value("int32"),
                "name": Value("string"),
                "category": Value("string"),
                "center": List(Value("float32"), length=3),  # camera frame: x right, y down, z forward
                "size": List(Value("float32"), length=3),  # extents along the box's own x, y (horizontal), z (up)
                # box-to-camera rotation, row-major 3x3: corners = center + rotation @ (±size / 2)
                "rotation": List(Value("float32"), length=9),
            }
        ),
        "question_objects": List(Value("int32")),
        "scene_id": Value("string"),
        "frame_id": Value("string"),
        "conversations": List({"from": Value("string"), "value": Value("string")}),
    }
    if not with_depth:
        del columns["depth"]
    return Features(columns)


__all__ = ["msmu_features"]
