"""Which of the builder's question kinds a question is: a lookup in `templates`, not a guess.

Every question the builder writes is one of the phrasings in `templates.py` with object names filled
in. `lookup_question` matches a question (from the dataset or typed by a person) against those
phrasings, placeholders as wildcards, and returns its category and kind; a question that is no
phrasing of the builder's returns None. Kinds are `questions.KIND_NAMES` ("position.forward") for
the categories with sub-kinds and the category name for the others.

>>> lookup_question("How tall is the red chair?")
QuestionKind(category='scale_estimation', kind='scale_estimation')
>>> lookup_question("How far in front of the camera is the lamp?")
QuestionKind(category='position', kind='position.forward')
>>> lookup_question("What colour is the sky?") is None
True
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from . import templates as T

PLACEHOLDER = re.compile(r"\\\{[a-z]+\\\}")


class QuestionKind(NamedTuple):
    category: str  # one of templates.CATEGORY_NAMES
    kind: str  # "category.kind" where the category has sub-kinds (questions.QUESTION_KINDS), else the category


def _families() -> list[tuple[str, str, tuple]]:
    """(category, kind, phrasings) for every template family, in the generators' terms (questions.py)."""
    flat = lambda groups: tuple(t for ts in groups.values() for t in ts)  # noqa: E731
    return [
        ("scale_estimation", "scale_estimation", flat(T.SIZE_QUESTIONS)),
        ("absolute_distance", "absolute_distance.camera", flat(T.CAMERA_DISTANCE_QUESTIONS)),
        ("absolute_distance", "absolute_distance.object", flat(T.OBJECT_DISTANCE_QUESTIONS)),
        *(("position", f"position.{kind}", phrasings) for kind, phrasings in T.POSITION_QUESTIONS.items()),
        ("refer_obj_estimation", "refer_obj_estimation", flat(T.REFERENCE_QUESTIONS)),
        ("count", "count", T.COUNT_QUESTIONS),
        ("relative_position", "relative_position", T.LEFT_RIGHT_QUESTIONS + T.LEFT_RIGHT_WHICH
         + T.FRONT_BEHIND_QUESTIONS + T.BEHIND_QUESTIONS + T.CLOSER_WHICH),
        ("scale_compare", "scale_compare", flat(T.COMPARE_WHICH) + flat(T.COMPARE_YESNO)),
        ("zero", "zero", T.EXIST_QUESTIONS),
    ]


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[re.Pattern, int, QuestionKind]]:
    """One anchored, case-insensitive regex per phrasing with its literal length: when several
    phrasings match, the one with the most fixed text is the most specific."""
    patterns = []
    for category, kind, phrasings in _families():
        for phrasing in phrasings:
            escaped = re.escape(phrasing)
            literal = len(PLACEHOLDER.sub("", escaped))
            patterns.append((re.compile("^" + PLACEHOLDER.sub(".+?", escaped) + "$", re.IGNORECASE), literal,
                             QuestionKind(category, kind)))
    return patterns


def lookup_question(question: str) -> QuestionKind | None:
    """The builder's category and kind of `question` (whitespace-normalised), or None."""
    text = " ".join(str(question).split())
    matches = [(literal, found) for pattern, literal, found in _patterns() if pattern.match(text)]
    return max(matches)[1] if matches else None


__all__ = ["QuestionKind", "lookup_question"]
