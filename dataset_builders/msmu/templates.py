"""Question phrasings and answer formatting for MSMU's eight categories.

Every template is a `str.format` pattern; placeholders: {o}, {a}, {b}, {r} (object labels such as
"white table"), {ref} (a formatted reference measurement), {cat} / {cats} / {acat} (a category: singular /
plural / with its article), {side} ("left"/"right"), {dir} ("above"/"below").

>>> format_meters(1.254, 2)
'1.25 m'
>>> format_meters(0.8, 1)
'0.8 m'
>>> format_dims([0.8, 0.634, 0.55], 2)
'0.80 m x 0.63 m x 0.55 m'
>>> pluralize("bookshelf"), pluralize("box"), pluralize("chair"), pluralize("trash can")
('bookshelves', 'boxes', 'chairs', 'trash cans')
"""

# The authors' evaluation `type` names, in the ClassLabel order of the dataset.
CATEGORY_NAMES = (
    "scale_estimation",
    "absolute_distance",
    "count",
    "position",
    "refer_obj_estimation",
    "relative_position",
    "scale_compare",
    "zero",
)
QUANTITATIVE = frozenset({"scale_estimation", "absolute_distance", "count", "position", "refer_obj_estimation"})

SIZE_QUESTIONS = {
    "height": ("How tall is the {o}?", "What is the height of the {o}?", "How high is the {o}?", "Measure the height of the {o}."),
    "width": ("How wide is the {o}?", "What is the width of the {o}?", "Measure the width of the {o}."),
    "length": ("How long is the {o}?", "What is the length of the {o}?", "Measure the length of the {o}."),
    "dims": (
        "What is the size of the {o}?",
        "What are the dimensions of the {o} (length x width x height)?",
        "Give the length, width and height of the {o}.",
    ),
}

CAMERA_DISTANCE_QUESTIONS = {
    "center": (
        "How far is the center of the {o} from the camera?",
        "What is the distance between the camera and the center of the {o}?",
        "How far away from the viewer is the middle of the {o}?",
    ),
    "closest": (
        "How far is the nearest point of the {o} from the camera?",
        "What is the shortest distance from the camera to the {o}?",
        "How close does the {o} come to the camera?",
    ),
}

OBJECT_DISTANCE_QUESTIONS = {
    "center": (
        "What is the distance between the centers of the {a} and the {b}?",
        "How far is the {a} from the {b}, measured center to center?",
        "Measure the center-to-center distance between the {a} and the {b}.",
    ),
    "closest": (
        "What is the gap between the {a} and the {b}?",
        "How far apart are the {a} and the {b} at their closest points?",
        "What is the shortest distance between the {a} and the {b}?",
    ),
}

POSITION_QUESTIONS = {
    "forward": (
        "How far in front of the camera is the {o}?",
        "What is the depth of the {o} along the camera's viewing direction?",
        "How far ahead of the camera, along its optical axis, is the center of the {o}?",
    ),
    "lateral": (
        "How far to the {side} of the camera's line of sight is the {o}?",
        "By how much is the center of the {o} offset to the {side} of the camera's viewing axis?",
    ),
    "vertical": (
        "How far {dir} the camera is the center of the {o}?",
        "What is the vertical distance between the camera and the center of the {o}, which is {dir} it?",
    ),
}

REFERENCE_QUESTIONS = {
    "height": (
        "The height of the {r} is {ref}. How tall is the {o}?",
        "Given that the {r} is {ref} tall, what is the height of the {o}?",
    ),
    "length": (
        "The {r} is {ref} long. What is the length of the {o}?",
        "Knowing the length of the {r} is {ref}, estimate the length of the {o}.",
    ),
    "camera_distance": (
        "The center of the {r} is {ref} from the camera. How far is the center of the {o} from the camera?",
        "Given that the camera is {ref} away from the center of the {r}, how far away is the center of the {o}?",
    ),
}

COUNT_QUESTIONS = (
    "How many {cats} are there?",
    "What's the total number of {cats}?",
    "Count the {cats} in the image.",
    "How many {cats} can you see?",
)

LEFT_RIGHT_QUESTIONS = (
    "Is the {a} to the {side} of the {b} from the viewer's perspective?",
    "From the viewer's perspective, is the {a} on the {side} side of the {b}?",
)
LEFT_RIGHT_WHICH = ("Which is more to the {side}, the {a} or the {b}?",)
FRONT_BEHIND_QUESTIONS = (
    "Is the {a} in front of the {b}?",
    "Is the {a} closer to the camera than the {b}?",
)
BEHIND_QUESTIONS = ("Is the {a} behind the {b}?", "Is the {a} farther from the camera than the {b}?")
CLOSER_WHICH = ("Which is closer to the camera, the {a} or the {b}?", "Between the {a} and the {b}, which one is nearer to the viewer?")

COMPARE_WHICH = {
    "taller": ("Between the {a} and the {b}, which one is taller?", "Which is taller, the {a} or the {b}?"),
    "longer": ("Between the {a} and the {b}, which one is longer?", "Which is longer, the {a} or the {b}?"),
    "bigger": ("Between the {a} and the {b}, which one is bigger?", "Which takes up more space, the {a} or the {b}?"),
}
COMPARE_YESNO = {
    "taller": ("Is the {a} taller than the {b}?",),
    "longer": ("Is the {a} longer than the {b}?",),
    "bigger": ("Is the {a} bigger than the {b}?",),
}

EXIST_QUESTIONS = (
    "Is there {acat} in the image?",
    "Can you see {acat} in this view?",
    "Does the image contain {acat}?",
    "Is any {cat} visible?",
)


def pluralize(noun: str) -> str:
    """English plural of the last word of `noun`, enough for furniture names."""
    head, _, last = noun.rpartition(" ")
    if last.endswith("f"):
        last = last[:-1] + "ves"
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def format_meters(value: float, decimals: int) -> str:
    """Meters with fixed rounding, trailing zeros kept only to the given precision."""
    return f"{round(float(value), decimals):.{decimals}f} m"


def format_dims(values, decimals: int) -> str:
    """'L m x W m x H m', the authors' size answer style."""
    return " x ".join(format_meters(v, decimals) for v in values)


def article(label: str) -> str:
    """'a' or 'an' for a noun phrase."""
    return "an" if label[:1].lower() in "aeiou" else "a"


__all__ = [
    "CATEGORY_NAMES",
    "QUANTITATIVE",
    "SIZE_QUESTIONS",
    "CAMERA_DISTANCE_QUESTIONS",
    "OBJECT_DISTANCE_QUESTIONS",
    "POSITION_QUESTIONS",
    "REFERENCE_QUESTIONS",
    "COUNT_QUESTIONS",
    "LEFT_RIGHT_QUESTIONS",
    "LEFT_RIGHT_WHICH",
    "FRONT_BEHIND_QUESTIONS",
    "BEHIND_QUESTIONS",
    "CLOSER_WHICH",
    "COMPARE_WHICH",
    "COMPARE_YESNO",
    "EXIST_QUESTIONS",
    "pluralize",
    "format_meters",
    "format_dims",
    "article",
]
