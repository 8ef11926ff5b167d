"""Which of the builder's question kinds a question is: a lookup in `templates`, not a guess.

Every question the builder writes is one of the phrasings in `templates.py` with object names filled
in. `lookup_question` matches a question (typed by a person, or from data without a `question_kind`
column) against those phrasings, placeholders as wildcards, and returns its category and kind, named
as the builder's `question_kind` column names them (`questions.QUESTION_KIND_NAMES`); a question
that is no phrasing of the builder's returns None.

>>> lookup_question("How tall is the red chair?")
QuestionKind(category='scale_estimation', kind='scale_estimation.height')
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
    kind: str | None  # a `questions.QUESTION_KIND_NAMES` value, as in the `question_kind` column; None where
    # the phrasing does not decide it (existence: "zero.present" and "zero.absent" are asked alike)


def _families() -> list[tuple[str, str | None, tuple]]:
    """(category, question_kind, phrasings) for every template family, as the generators in
    `questions.py` use them."""
    return [
        *(("scale_estimation", f"scale_estimation.{k}", ts) for k, ts in T.SIZE_QUESTIONS.items()),
        ("absolute_distance", "absolute_distance.camera", sum(T.CAMERA_DISTANCE_QUESTIONS.values(), ())),
        ("absolute_distance", "absolute_distance.object", sum(T.OBJECT_DISTANCE_QUESTIONS.values(), ())),
        *(("position", f"position.{k}", ts) for k, ts in T.POSITION_QUESTIONS.items()),
        *(("refer_obj_estimation", f"refer_obj_estimation.{k}", ts) for k, ts in T.REFERENCE_QUESTIONS.items()),
        ("count", "count.count", T.COUNT_QUESTIONS),
        ("relative_position", "relative_position.left_right", T.LEFT_RIGHT_QUESTIONS + T.LEFT_RIGHT_WHICH),
        ("relative_position", "relative_position.front_behind",
         T.FRONT_BEHIND_QUESTIONS + T.BEHIND_QUESTIONS + T.CLOSER_WHICH),
        *(("scale_compare", f"scale_compare.{k}", T.COMPARE_WHICH[k] + T.COMPARE_YESNO[k]) for k in T.COMPARE_WHICH),
        ("zero", None, T.EXIST_QUESTIONS),
    ]


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[re.Pattern, int, QuestionKind]]:
    """One anchored, case-insensitive regex per phrasing with its literal length: when several
    phrasings match, the one with the most fixed text is the most specific."""
    patterns = []
    for category, kind, phrasings in _families():
        for phrasing in phrasings:
            escaped = re.escape(phrasing)
            literal = len(re.sub(r"\{[a-z]+\}", "", phrasing))
            patterns.append((re.compile("^" + PLACEHOLDER.sub(".+?", escaped) + "$", re.IGNORECASE), literal,
                             QuestionKind(category, kind)))
    return patterns


def lookup_question(question: str) -> QuestionKind | None:
    """The builder's category and kind of `question` (whitespace-normalised), or None."""
    text = " ".join(str(question).split())
    matches = [(literal, found) for pattern, literal, found in _patterns() if pattern.match(text)]
    return max(matches, key=lambda match: match[0])[1] if matches else None


__all__ = ["QuestionKind", "lookup_question"]
