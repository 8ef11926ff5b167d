"""Question generators, one per MSMU category: objects in view -> candidate question/answer pairs.

Every generator takes a `FrameContext` (the visible, nameable objects of one frame, in the camera
frame) and returns `QA` candidates; the pipeline samples from them. Answers are computed from the 3D
boxes only (never from pixels), so they are exact up to the configured rounding. Pair questions
require a clear margin (`QAConfig`), so their answers are not coin flips on near-ties.
"""

from dataclasses import dataclass, field

import numpy as np

from . import templates as T
from .geometry import box_box_distance, point_box_distance
from .scene import SceneObject
from .visibility import Visibility


# Sub-kinds of the categories whose questions measure different things, as "category.kind" names
# for `QAConfig.question_kinds`; the other categories have a single kind (their own name).
QUESTION_KINDS = {
    "absolute_distance": ("camera", "object"),  # camera-to-object / object-to-object distance
    "position": ("forward", "lateral", "vertical"),  # depth along the axis / left-right / above-below
}
KIND_NAMES = tuple(f"{c}.{k}" for c, kinds in QUESTION_KINDS.items() for k in kinds)
# Every value of the dataset's `question_kind` column, "category.kind": what a question asks, so that
# a consumer selects questions by kind instead of matching their templates.
QUESTION_KIND_NAMES = tuple(
    f"{c}.{k}"
    for c, kinds in {
        "scale_estimation": ("height", "width", "length", "dims"),
        "absolute_distance": QUESTION_KINDS["absolute_distance"],
        "count": ("count",),
        "position": QUESTION_KINDS["position"],
        "refer_obj_estimation": ("height", "length", "camera_distance"),
        "relative_position": ("left_right", "front_behind"),
        "scale_compare": ("taller", "longer", "bigger"),
        "zero": ("present", "absent"),
    }.items()
    for k in kinds
)


@dataclass(frozen=True)
class QAConfig:
    """How questions are made.

    Args:
        qa_per_frame: questions sampled per frame (round-robin over the asked categories, so all appear).
        decimals: rounding of answers in meters, at least 1 (whole meters would answer "0 m" for
            every object under half a meter).
        distance_modes: which distance questions to ask: "center" (between box centers / camera and
            center) and/or "closest" (closest points); each question says which it asks.
        cot: template chain-of-thought answers in `conversations` (the `answer` column stays short).
        min_offset: smallest camera-relative lateral / vertical offset asked about, meters.
        min_gap: smallest closest-point distance asked about, meters (touching boxes give 0).
        lateral_margin: left/right needs the centers this far apart (meters) and the same order in
            the image.
        depth_margin: in-front/behind needs the center depths this far apart (meters).
        compare_margin: size comparisons need this relative difference.
        categories: the category vocabulary for existence negatives (absent ones are drawn from it).
        colors: colour words for harder existence negatives ("a red chair" when no chair is red).
        question_categories: generate only these MSMU categories (`templates.CATEGORY_NAMES`);
            empty = all eight. The `qa_per_frame` budget is spent on them alone.
        question_kinds: finer choice within the categories that have sub-kinds (`KIND_NAMES`):
            "absolute_distance.camera" / "absolute_distance.object", "position.forward" /
            "position.lateral" / "position.vertical". A category named by any listed kind asks only
            the listed kinds; the other categories ask all of theirs. Each kind's category must be
            asked (it is when `question_categories` is empty). Empty = all kinds.
    """

    qa_per_frame: int = 12
    decimals: int = 2
    distance_modes: tuple = ("center", "closest")
    cot: bool = False
    min_offset: float = 0.1
    min_gap: float = 0.05
    lateral_margin: float = 0.2
    depth_margin: float = 0.3
    compare_margin: float = 0.15
    categories: tuple = ()
    colors: tuple = ()
    question_categories: tuple = ()
    question_kinds: tuple = ()

    def __post_init__(self):
        if self.qa_per_frame < 1:
            raise ValueError(f"QAConfig.qa_per_frame must be >= 1, got {self.qa_per_frame}")
        if not 1 <= self.decimals <= 6:
            raise ValueError(f"QAConfig.decimals must lie in [1, 6], got {self.decimals}")
        bad = [m for m in self.distance_modes if m not in ("center", "closest")]
        if bad or not self.distance_modes:
            raise ValueError(f"QAConfig.distance_modes must be a non-empty subset of ('center', 'closest'), got {self.distance_modes}")
        for name in ("min_offset", "min_gap", "lateral_margin", "depth_margin", "compare_margin"):
            if getattr(self, name) < 0:
                raise ValueError(f"QAConfig.{name} must be >= 0, got {getattr(self, name)}")
        for name in self.question_categories:
            if name not in T.CATEGORY_NAMES:
                raise ValueError(f"unknown question category {name!r}; valid categories: {', '.join(T.CATEGORY_NAMES)}")
        for name in self.question_kinds:
            if name not in KIND_NAMES:
                raise ValueError(f"unknown question kind {name!r}; valid kinds: {', '.join(KIND_NAMES)}")
            category = name.split(".")[0]
            if category not in self.asked_categories:
                raise ValueError(f"question kind {name!r} needs its category {category!r} among the question categories {self.question_categories}")

    @property
    def asked_categories(self) -> tuple:
        """The categories generated, in `CATEGORY_NAMES` order."""
        return tuple(c for c in T.CATEGORY_NAMES if not self.question_categories or c in self.question_categories)

    def asks(self, category: str, kind: str) -> bool:
        """Whether questions of `category` and sub-kind `kind` are generated."""
        if category not in self.asked_categories:
            return False
        listed = [k.split(".")[1] for k in self.question_kinds if k.split(".")[0] == category]
        return not listed or kind in listed


@dataclass
class QA:
    category: str
    question: str
    answer: str
    values: list  # floats in meters (or a count); empty for qualitative answers
    object_ids: list
    reasoning: str = ""  # chain-of-thought preamble, used when QAConfig.cot
    kind: str = ""  # what is asked within the category (`QUESTION_KIND_NAMES`), stored as `question_kind`


@dataclass
class ObjectView:
    """One visible object of a frame, with the label the questions use for it."""

    obj: SceneObject
    label: str | None  # unique among the objects present in the frame; None when ambiguous
    center_cam: np.ndarray  # (3,) box center in the camera frame (x right, y down, z forward)
    visibility: Visibility

    @property
    def height(self) -> float:
        return float(self.obj.size[2])

    @property
    def length(self) -> float:
        return float(max(self.obj.size[0], self.obj.size[1]))

    @property
    def width(self) -> float:
        return float(min(self.obj.size[0], self.obj.size[1]))

    @property
    def dims(self) -> list:
        return [self.length, self.width, self.height]

    @property
    def volume(self) -> float:
        return float(np.prod(self.obj.size))


@dataclass
class FrameContext:
    visible: list  # ObjectView of every object that passes the visibility thresholds
    camera_position: np.ndarray  # (3,) world
    present_categories: set  # categories with any mask pixel in the frame
    present_names: set  # descriptive names with any mask pixel
    countable: dict  # category -> count, for categories whose every present instance is visible
    config: QAConfig
    rng: np.random.Generator
    # (category, name) of every present object; empty = only `present_categories` / `present_names`.
    present: list = field(default_factory=list)

    def confusable(self, category: str, color: str = "") -> bool:
        """Whether "Is there a [color] category?" could be about a present object: one of a related
        category (`related_categories`) whose colour is `color` or unknown (any colour, if none is asked)."""
        present = self.present or [(c, c) for c in self.present_categories]
        for other, name in present:
            if not related_categories(other, category):
                continue
            other_color = color_prefix(name, other)
            if not color or other_color in ("", None) or other_color == color:
                return True
        return bool(color) and f"{color} {category}" in self.present_names

    @property
    def views(self) -> list:
        """The visible objects a question may name (their label is unique in the frame)."""
        return [v for v in self.visible if v.label is not None]

    def pick(self, options):
        return options[int(self.rng.integers(len(options)))]

    def m(self, value: float) -> str:
        return T.format_meters(value, self.config.decimals)

    def r(self, value: float) -> float:
        return round(float(value), self.config.decimals)


def names_kind(specific: str, general: str) -> bool:
    """Whether `general` can name an object of category `specific`: the same category, or the head
    noun of a multi-word one ("table" names a "coffee table").

    >>> names_kind("coffee table", "table"), names_kind("table", "coffee table"), names_kind("trash can", "can")
    (True, False, True)
    """
    return specific == general or specific.endswith(" " + general)


def related_categories(a: str, b: str) -> bool:
    """Either category can name an object of the other ("table" and "coffee table")."""
    return names_kind(a, b) or names_kind(b, a)


def color_prefix(name: str, category: str) -> str | None:
    """The words a descriptive name puts before its category ("white" for "white table" /
    "table"); "" when the name is the category; None when the name does not end with it."""
    if name == category:
        return ""
    if name.endswith(" " + category):
        return name[: -len(category) - 1]
    return None


def _where(v: ObjectView, ctx: FrameContext) -> str:
    x, y, z = v.center_cam
    return (
        f"The center of the {v.label} is about {ctx.m(abs(x))} to the {'right' if x >= 0 else 'left'}, "
        f"{ctx.m(abs(y))} {'below' if y >= 0 else 'above'} the optical axis and {ctx.m(z)} in front of the camera."
    )


def scale_estimation(ctx: FrameContext) -> list:
    out = []
    for v in ctx.views:
        seen = f"The {v.label} is about {ctx.m(v.center_cam[2])} in front of the camera; its box measures {T.format_dims(v.dims, ctx.config.decimals)}."
        for kind, value in (("height", v.height), ("width", v.width), ("length", v.length)):
            q = ctx.pick(T.SIZE_QUESTIONS[kind]).format(o=v.label)
            out.append(QA("scale_estimation", q, ctx.m(value), [ctx.r(value)], [v.obj.id], seen, kind))
        q = ctx.pick(T.SIZE_QUESTIONS["dims"]).format(o=v.label)
        dims = T.format_dims(v.dims, ctx.config.decimals)
        out.append(QA("scale_estimation", q, dims, [ctx.r(d) for d in v.dims], [v.obj.id], seen, "dims"))
    return out


def _camera_distance(v: ObjectView, ctx: FrameContext, mode: str) -> float:
    if mode == "center":
        return float(np.linalg.norm(v.center_cam))
    return point_box_distance(ctx.camera_position, v.obj.center, v.obj.size, v.obj.yaw)


def _object_distance(a: ObjectView, b: ObjectView, mode: str) -> float:
    if mode == "center":
        return float(np.linalg.norm(a.obj.center - b.obj.center))
    return box_box_distance(a.obj.center, a.obj.size, a.obj.yaw, b.obj.center, b.obj.size, b.obj.yaw)


def absolute_distance(ctx: FrameContext) -> list:
    out = []
    camera, objects = ctx.config.asks("absolute_distance", "camera"), ctx.config.asks("absolute_distance", "object")
    for mode in ctx.config.distance_modes:
        for v in ctx.views if camera else ():
            d = _camera_distance(v, ctx, mode)
            if d < ctx.config.min_gap:
                continue
            q = ctx.pick(T.CAMERA_DISTANCE_QUESTIONS[mode]).format(o=v.label)
            why = _where(v, ctx) + (" The nearest face of its box is closer than its center." if mode == "closest" else "")
            out.append(QA("absolute_distance", q, ctx.m(d), [ctx.r(d)], [v.obj.id], why, "camera"))
        for a, b in _pairs(ctx) if objects else ():
            d = _object_distance(a, b, mode)
            if d < ctx.config.min_gap:
                continue
            q = ctx.pick(T.OBJECT_DISTANCE_QUESTIONS[mode]).format(a=a.label, b=b.label)
            why = f"{_where(a, ctx)} {_where(b, ctx)}"
            out.append(QA("absolute_distance", q, ctx.m(d), [ctx.r(d)], [a.obj.id, b.obj.id], why, "object"))
    return out


def position(ctx: FrameContext) -> list:
    out = []
    for v in ctx.views:
        x, _, z = v.center_cam
        why = _where(v, ctx)
        if ctx.config.asks("position", "forward"):
            q = ctx.pick(T.POSITION_QUESTIONS["forward"]).format(o=v.label)
            out.append(QA("position", q, ctx.m(z), [ctx.r(z)], [v.obj.id], why, "forward"))
        if abs(x) >= ctx.config.min_offset and ctx.config.asks("position", "lateral"):
            side = "right" if x > 0 else "left"
            q = ctx.pick(T.POSITION_QUESTIONS["lateral"]).format(o=v.label, side=side)
            out.append(QA("position", q, ctx.m(abs(x)), [ctx.r(abs(x))], [v.obj.id], why, "lateral"))
        # "Above/below" follows gravity (world z), not the tilted image axis.
        dz = float(v.obj.center[2] - ctx.camera_position[2])
        if abs(dz) >= ctx.config.min_offset and ctx.config.asks("position", "vertical"):
            direction = "above" if dz > 0 else "below"
            q = ctx.pick(T.POSITION_QUESTIONS["vertical"]).format(o=v.label, dir=direction)
            why_v = f"The center of the {v.label} lies {ctx.m(abs(dz))} {direction} the camera's height."
            out.append(QA("position", q, ctx.m(abs(dz)), [ctx.r(abs(dz))], [v.obj.id], why_v, "vertical"))
    return out


def refer_obj_estimation(ctx: FrameContext) -> list:
    out = []
    for r, o in _pairs(ctx):
        for kind, get, stated, compared in (
            ("height", lambda v: v.height, "tall", "tall"),
            ("length", lambda v: v.length, "long", "long"),
            ("camera_distance", lambda v: float(np.linalg.norm(v.center_cam)), "away from the camera", "far away"),
        ):
            ref, value = get(r), get(o)
            q = ctx.pick(T.REFERENCE_QUESTIONS[kind]).format(r=r.label, o=o.label, ref=ctx.m(ref))
            why = f"The {r.label} is {ctx.m(ref)} {stated}, and the {o.label} looks {value / ref:.2f} times as {compared}."
            out.append(QA("refer_obj_estimation", q, ctx.m(value), [ctx.r(value)], [o.obj.id, r.obj.id], why, kind))
    return out


def count(ctx: FrameContext) -> list:
    out = []
    for category, n in sorted(ctx.countable.items()):
        q = ctx.pick(T.COUNT_QUESTIONS).format(cats=T.pluralize(category))
        ids = [v.obj.id for v in ctx.visible if v.obj.category == category]
        why = f"I can see {n} {category if n == 1 else T.pluralize(category)} in the image."
        out.append(QA("count", q, str(n), [float(n)], ids, why, "count"))
    return out


def relative_position(ctx: FrameContext) -> list:
    out = []
    for a, b in _pairs(ctx):
        dx = a.center_cam[0] - b.center_cam[0]
        du = a.center_cam[0] / a.center_cam[2] - b.center_cam[0] / b.center_cam[2]
        # Left/right "from the viewer's perspective": camera x and image column must agree.
        if abs(dx) >= ctx.config.lateral_margin and np.sign(dx) == np.sign(du):
            side = ctx.pick(("left", "right"))
            truth = (dx < 0) == (side == "left")
            q = ctx.pick(T.LEFT_RIGHT_QUESTIONS).format(a=a.label, b=b.label, side=side)
            why = f"The {a.label} is {ctx.m(abs(dx))} to the {'left' if dx < 0 else 'right'} of the {b.label}."
            out.append(QA("relative_position", q, "Yes" if truth else "No", [], [a.obj.id, b.obj.id], why, "left_right"))
            q = ctx.pick(T.LEFT_RIGHT_WHICH).format(a=a.label, b=b.label, side=side)
            winner = a if (dx < 0) == (side == "left") else b
            out.append(QA("relative_position", q, f"The {winner.label}", [], [a.obj.id, b.obj.id], why, "left_right"))
        dz = a.center_cam[2] - b.center_cam[2]
        da = np.linalg.norm(a.center_cam) - np.linalg.norm(b.center_cam)
        if abs(dz) >= ctx.config.depth_margin and np.sign(dz) == np.sign(da):
            why = (
                f"The {a.label} is {ctx.m(a.center_cam[2])} and the {b.label} {ctx.m(b.center_cam[2])} in front of the camera."
            )
            if ctx.rng.random() < 0.5:
                q = ctx.pick(T.FRONT_BEHIND_QUESTIONS).format(a=a.label, b=b.label)
                truth = dz < 0
            else:
                q = ctx.pick(T.BEHIND_QUESTIONS).format(a=a.label, b=b.label)
                truth = dz > 0
            out.append(QA("relative_position", q, "Yes" if truth else "No", [], [a.obj.id, b.obj.id], why, "front_behind"))
            q = ctx.pick(T.CLOSER_WHICH).format(a=a.label, b=b.label)
            out.append(QA("relative_position", q, f"The {(a if dz < 0 else b).label}", [], [a.obj.id, b.obj.id], why, "front_behind"))
    return out


def scale_compare(ctx: FrameContext) -> list:
    out = []
    for a, b in _pairs(ctx):
        for kind, get in (("taller", lambda v: v.height), ("longer", lambda v: v.length), ("bigger", lambda v: v.volume)):
            va, vb = get(a), get(b)
            if abs(va - vb) < ctx.config.compare_margin * max(va, vb):
                continue
            unit = "m³" if kind == "bigger" else "m"
            why = f"The {a.label} measures {va:.{ctx.config.decimals}f} {unit} and the {b.label} {vb:.{ctx.config.decimals}f} {unit}."
            if ctx.rng.random() < 0.5:
                q = ctx.pick(T.COMPARE_WHICH[kind]).format(a=a.label, b=b.label)
                out.append(QA("scale_compare", q, f"The {(a if va > vb else b).label}", [], [a.obj.id, b.obj.id], why, kind))
            else:
                q = ctx.pick(T.COMPARE_YESNO[kind]).format(a=a.label, b=b.label)
                out.append(QA("scale_compare", q, "Yes" if va > vb else "No", [], [a.obj.id, b.obj.id], why, kind))
    return out


def zero(ctx: FrameContext) -> list:
    """Existence: positives from visible categories, negatives from categories (and descriptive
    names of present categories) that have no pixel in the frame."""
    out = []
    visible = sorted({v.obj.category for v in ctx.visible})
    for category in visible:
        q = ctx.pick(T.EXIST_QUESTIONS).format(cat=category, acat=f"{T.article(category)} {category}")
        ids = [v.obj.id for v in ctx.visible if v.obj.category == category]
        out.append(QA("zero", q, "Yes", [], ids, f"I can see a {category} in the image.", "present"))
    # A negative must not be confusable with any present object: "table" is present when a coffee
    # table is, and "coffee table" may be the table in view.
    absent = [c for c in ctx.config.categories if c not in ctx.present_categories and not ctx.confusable(c)]
    negatives = [(c, f"{T.article(c)} {c}") for c in absent]
    # Harder negatives: a colour that no present object of that (or a related) category has.
    for category in visible:
        for color in ctx.config.colors:
            name = f"{color} {category}"
            if name not in ctx.present_names and not ctx.confusable(category, color):
                negatives.append((name, f"{T.article(name)} {name}"))
    ctx.rng.shuffle(negatives)
    for name, with_article in negatives[: max(len(visible), 1)]:
        q = ctx.pick(T.EXIST_QUESTIONS).format(cat=name, acat=with_article)
        out.append(QA("zero", q, "No", [], [], f"I see no {name} in the image.", "absent"))
    return out


def _pairs(ctx: FrameContext):
    return [(a, b) for a in ctx.views for b in ctx.views if a.obj.id != b.obj.id]


GENERATORS = {
    "scale_estimation": scale_estimation,
    "absolute_distance": absolute_distance,
    "count": count,
    "position": position,
    "refer_obj_estimation": refer_obj_estimation,
    "relative_position": relative_position,
    "scale_compare": scale_compare,
    "zero": zero,
}

__all__ = ["QUESTION_KINDS", "KIND_NAMES", "QUESTION_KIND_NAMES", "QAConfig", "QA", "ObjectView", "FrameContext", "GENERATORS",
           "names_kind", "related_categories", "color_prefix"] + list(GENERATORS)
