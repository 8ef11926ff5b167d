"""Deterministic matching of qualitative answers: yes/no, which-one, left/right, in front/behind, bigger/smaller.

Policy (also in the metric card):

* yes/no references (first word yes/no/true/false/correct): the prediction's first explicit
  yes/no word decides ("Yes, it is." -> yes); without one, a negation ("not", "n't", "no",
  "neither", "none", "never") means no, a hedge ("maybe", "not sure", "cannot tell") is
  unparseable, and any other statement ("The bed is left of the curtain.") means yes.
* other references name an object and/or a relation ("The wooden table is taller.", "left",
  "The black chair."). The subject is the content words before the first relation word.
  A prediction is right when its subject is a non-empty subset of the reference subject that
  keeps the reference's head noun ("the table" for "the wooden table") and it does not state
  the opposite relation; or when it names no word of the reference subject but states the
  opposite relation ("The chair is shorter." for "The wooden table is taller."); or, for
  references or predictions without a subject ("left"), when it states the same relation and
  not its opposite.

>>> match_qualitative("Yes, it is.", "yes").success
True
>>> match_qualitative("the table", "The wooden table is taller.").success
True
>>> match_qualitative("The white table.", "The wooden table is taller.").success
False
>>> match_qualitative("It is on the right side.", "Left").success
False
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")

# "right" is not a yes word here: it is a direction.
_YES = frozenset({"yes", "yeah", "yep", "yup", "true", "correct", "indeed", "affirmative"})
_NO = frozenset({"no", "nope", "false", "incorrect", "wrong", "negative"})
_NEGATIONS = frozenset({"not", "no", "neither", "nor", "none", "never", "nothing", "nobody", "without", "cannot"})
_HEDGE_RE = re.compile(
    r"\b(?:maybe|perhaps|unsure|not\s+sure|unclear|unknown|can(?:not|'t)\s+(?:tell|determine|say|see)|"
    r"(?:don't|do\s+not)\s+know|impossible\s+to\s+(?:tell|determine|say))\b"
)

# Relation words -> canonical relation; the antonym table makes "shorter" answer "taller".
# Only comparatives and directions: plain adjectives ("the large table") are part of object names.
_RELATIONS = {
    "left": "left", "right": "right",
    "front": "front", "closer": "front", "nearer": "front", "closest": "front", "nearest": "front",
    "behind": "behind", "farther": "behind", "further": "behind", "farthest": "behind", "furthest": "behind",
    "above": "above", "top": "above",
    "below": "below", "under": "below", "beneath": "below", "underneath": "below",
    "bigger": "bigger", "larger": "bigger", "biggest": "bigger", "largest": "bigger",
    "smaller": "smaller", "smallest": "smaller",
    "taller": "taller", "tallest": "taller", "higher": "taller", "highest": "taller",
    "shorter": "shorter", "shortest": "shorter", "lower": "shorter", "lowest": "shorter",
    "longer": "longer", "longest": "longer",
    "wider": "wider", "widest": "wider", "broader": "wider",
    "narrower": "narrower", "narrowest": "narrower", "thinner": "narrower",
    "thicker": "wider",
}  # fmt: skip
_OPPOSITE = {
    "left": {"right"}, "right": {"left"}, "front": {"behind"}, "behind": {"front"},
    "above": {"below"}, "below": {"above"}, "bigger": {"smaller"}, "smaller": {"bigger"},
    "taller": {"shorter"}, "shorter": {"taller", "longer"}, "longer": {"shorter"},
    "wider": {"narrower"}, "narrower": {"wider"},
}  # fmt: skip
_STOPWORDS = frozenset(
    """a an the is are was were be it it's its this that these those one ones which who what of to from
    in at by with and or than as more most less least object objects thing item viewer viewer's
    perspective side camera from view point answer i think looks seems appears there here
    both each other s yes no not so very much slightly about approximately roughly compared""".split()
)


@dataclass(frozen=True)
class QualitativeAnswer:
    """A normalised qualitative answer: polarity ("yes"/"no"/None), relations, subject words."""

    polarity: str | None
    relations: frozenset[str]
    subject: tuple[str, ...]


@dataclass(frozen=True)
class QualitativeMatch:
    success: bool | None  # None: the prediction could not be read
    reason: str
    prediction: QualitativeAnswer | None
    reference: QualitativeAnswer


def _polarity(words: list[str], text: str) -> str | None:
    for word in words:
        if word in _YES:
            return "yes"
        if word in _NO:
            return "no"
    if _HEDGE_RE.search(text):
        return None
    if any(word in _NEGATIONS or word.endswith("n't") for word in words):
        return "no"
    return "yes" if words else None


def normalise_qualitative(text: str) -> QualitativeAnswer:
    """Split an answer into its yes/no polarity, the relations it states, and its subject words."""
    lowered = text.lower().replace("\u2019", "'")
    words = _WORD_RE.findall(lowered)
    relations = frozenset(_RELATIONS[w] for w in words if w in _RELATIONS)
    subject: list[str] = []
    for word in words:
        if word in _RELATIONS:
            break
        if word not in _STOPWORDS and word not in _YES and word not in _NO and word not in _NEGATIONS:
            subject.append(word)
    explicit = next((w for w in words if w in _YES or w in _NO), None)
    polarity = ("yes" if explicit in _YES else "no") if explicit else None
    return QualitativeAnswer(polarity=polarity, relations=relations, subject=tuple(subject))


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def match_qualitative(prediction: str, reference: str | QualitativeAnswer) -> QualitativeMatch:
    """Decide whether `prediction` gives the same qualitative answer as `reference`.

    Raises ValueError when the reference itself has nothing to match (no yes/no, relation or object).
    """
    ref = reference if isinstance(reference, QualitativeAnswer) else normalise_qualitative(reference)
    if ref.polarity is None and not ref.relations and not ref.subject:
        raise ValueError(f"qualitative reference {reference!r} has no yes/no, relation or object to match")
    lowered = prediction.lower().replace("\u2019", "'")
    pred = normalise_qualitative(lowered)
    if ref.polarity is not None:
        said = _polarity(_WORD_RE.findall(lowered), lowered)
        if said is None:
            return QualitativeMatch(None, "unreadable yes/no answer", pred, ref)
        ok = said == ref.polarity
        return QualitativeMatch(ok, "ok" if ok else f"said {said}, reference {ref.polarity}", pred, ref)
    if _HEDGE_RE.search(lowered) or not (pred.subject or pred.relations):
        return QualitativeMatch(None, "no object or relation in the answer", pred, ref)
    opposite = set().union(*(_OPPOSITE.get(r, set()) for r in ref.relations)) if ref.relations else set()
    contradicts = bool(opposite & pred.relations) and not (ref.relations & pred.relations)
    if not ref.subject:
        ok = bool(ref.relations & pred.relations) and not (opposite & pred.relations)
        return QualitativeMatch(ok, "ok" if ok else "relation differs from the reference", pred, ref)
    if not pred.subject:
        # A bare relation ("left") answers a reference that names the object and the relation.
        ok = bool(ref.relations & pred.relations) and not contradicts
        return QualitativeMatch(ok, "ok" if ok else "relation differs from the reference", pred, ref)
    ref_words = {_singular(w) for w in ref.subject}
    pred_words = {_singular(w) for w in pred.subject}
    head = _singular(ref.subject[-1])
    if pred_words and pred_words <= ref_words and head in pred_words:
        ok = not contradicts
        return QualitativeMatch(ok, "ok" if ok else "names the reference object with the opposite relation", pred, ref)
    if pred_words and not (pred_words & ref_words) and contradicts:
        return QualitativeMatch(True, "ok", pred, ref)
    return QualitativeMatch(False, "names a different object", pred, ref)


__all__ = ["QualitativeAnswer", "QualitativeMatch", "match_qualitative", "normalise_qualitative"]
