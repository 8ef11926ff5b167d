"""Deterministic matching of qualitative answers: yes/no, which-one, left/right, in front/behind, bigger/smaller.

Policy (also in the metric card):

* yes/no references (an explicit yes/no/true/false/correct word): hedges ("maybe", "not sure",
  "no idea", "hard to say", "cannot tell") are set aside, then the prediction's first explicit
  yes/no word decides ("Yes, it is." -> yes; "Not sure, but yes." -> yes); without one, a hedge
  makes the answer unreadable, a negation ("not", "n't", "none", "never", "neither") means no,
  and any other statement ("The bed is left of the curtain.") means yes, except a bare measurement
  ("It is 3 m.", "about 2 meters away": a number, no object or relation word, no "there is"),
  which answers another question and is unreadable. A yes/no word right
  after "not" / an "n't" word flips ("not yes" -> no); "no doubt", "without a doubt",
  "that's right" read as yes.
* a relation word negated by "not" / "never" / an "n't" word (filler like "on the" skipped)
  states its opposite: "not taller" -> shorter, "not on the left" -> right.
* other references name an object and/or a relation ("The wooden table is taller.", "left",
  "The black chair."). The subject is the content words before the first relation word.
  A prediction is right when its subject is a non-empty subset of the reference subject that
  keeps the reference's head noun ("the table" for "the wooden table") and it does not state
  the opposite relation; or when it names no word of the reference subject but states the
  opposite relation ("The chair is shorter." for "The wooden table is taller."); or, for
  references or predictions without a subject ("left"), when it states the same relation and
  not its opposite.
* with the question (optional): a yes/no answer that only states the opposite of the asked
  relation ("It is on the right." to "Is it on the left?") reads as no; a which-one answer must
  name exactly one of the two objects the question names ("the wooden one"; "the table" is
  ambiguous when both are tables), flipped when it states the opposite relation.

>>> match_qualitative("Yes, it is.", "yes").success
True
>>> match_qualitative("the table", "The wooden table is taller.").success
True
>>> match_qualitative("The white table.", "The wooden table is taller.").success
False
>>> match_qualitative("It is on the right side.", "Left").success
False
>>> question = "Between the wooden table and the white table, which one is taller?"
>>> match_qualitative("the table", "The wooden table is taller.", question).reason
"does not name one of the question's objects unambiguously"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .selection import DIMENSION_WORDS
from .units import SPELLING_TO_UNIT

# A word, or an indexed name ("region0"): the index tells two regions apart.
_WORD_RE = re.compile(r"[a-z]+\d*(?:'[a-z]+)?")
# "Region [0]", "region 0", "<region0>", "object #2", a bare "[1]": one indexed name, "region0".
_INDEXED_NAME_RE = re.compile(
    r"<?\b(region|object|obj|box|bbox|item|shape|instance)\s*[\[(#]?\s*(\d+)\s*[\])]?>?|\[\s*(\d+)\s*\]"
)


_DIGIT_RE = re.compile(r"\d")


def _indexed(match: re.Match) -> str:
    name, index, bare = match.group(1, 2, 3)
    return f" region{bare} " if bare is not None else f" {'region' if name == 'obj' else name}{index} "


def _lower(text: str) -> str:
    """Lower case, curly apostrophes straightened, indexed names glued ("Region [0]" -> "region0")."""
    lowered = text.lower().replace("\u2019", "'")
    if _DIGIT_RE.search(lowered):
        lowered = _INDEXED_NAME_RE.sub(_indexed, lowered)
    return lowered

# "right" is not a yes word here: it is a direction.
_YES = frozenset({"yes", "yeah", "yep", "yup", "true", "correct", "indeed", "affirmative"})
_NO = frozenset({"no", "nope", "false", "incorrect", "wrong", "negative"})
_NEGATIONS = frozenset({"not", "no", "neither", "nor", "none", "never", "nothing", "nobody", "without", "cannot"})
_HEDGE_RE = re.compile(
    r"\b(?:maybe|perhaps|unsure|uncertain|not\s+(?:sure|certain)|unclear|unknown|no\s+(?:idea|clue)|"
    r"can(?:not|'t)\s+(?:tell|determine|say|see)|(?:don't|do\s+not)\s+know|"
    r"(?:impossible|hard|difficult)\s+to\s+(?:tell|determine|say))\b"
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
    both each other s yes no not so very much slightly about approximately roughly compared
    on off located positioned placed situated lies sits stands next near far close just also
    clearly definitely probably likely image picture photo scene room""".split()
)


# Words a bare measurement is made of ("it is about 3 meters tall"): no object or relation is named.
_NOT_CONTENT = _STOPWORDS | frozenset(SPELLING_TO_UNIT) | frozenset().union(*DIMENSION_WORDS.values()) | {"around", "estimated"}
# "There are 2.": a count that says the thing exists.
_EXISTENTIAL_RE = re.compile(r"\bthere(?:'s|\s+(?:is|are|was|were)\b)")


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


# Affirmative idioms that contain a negation or a direction word.
_AFFIRM_RE = re.compile(
    r"\b(?:no\s+doubt|without\s+(?:a\s+|any\s+)?doubt|undoubtedly|that(?:'s|\s+is)\s+(?:right|correct)|you(?:'re|\s+are)\s+right)\b"
)
# Words that negate the relation word they precede ("not taller", "isn't on the left").
_RELATION_NEGATORS = frozenset({"not", "never", "neither", "nor"})
_RELATION_FILLER = frozenset({"the", "on", "to", "in", "at", "of", "a", "any", "much", "really", "actually", "necessarily"})


def _polarity(text: str, asked: frozenset[str] = frozenset()) -> str | None:
    """yes / no / None (unreadable); `asked` are the relations the question asks about."""
    # Hedges go first so that "no idea" is not a no, but "not sure, but yes" is still a yes.
    text = _AFFIRM_RE.sub(" yes ", text)
    unhedged, hedges = _HEDGE_RE.subn(" ", text)
    words = _WORD_RE.findall(unhedged)
    previous = ""
    for word in words:
        negated = previous == "not" or previous.endswith("n't")
        if word in _YES:
            return "no" if negated else "yes"  # "not yes", "isn't true"
        if word in _NO:
            return "yes" if negated else "no"  # "not wrong"
        previous = word
    if hedges:
        return None
    if any(word in _NEGATIONS or word.endswith("n't") for word in words):
        return "no"
    if asked:
        # "It is on the right." answers "Is it on the left?" with no.
        stated = _stated_relations(words)
        if stated & _opposite(asked) and not stated & asked:
            return "no"
    if _DIGIT_RE.search(unhedged) and not _EXISTENTIAL_RE.search(unhedged) and not any(
        word not in _NOT_CONTENT and len(word) > 1 for word in words
    ):
        return None  # only a measurement ("It is 3 m." to "Is there a chair?"): it answers another question
    # A statement reads as yes; garbage ("s?s?s") states nothing.
    return "yes" if sum(len(word) > 1 for word in words) >= 2 else None


def _opposite(relations: frozenset[str]) -> set[str]:
    return set().union(*(_OPPOSITE.get(r, set()) for r in relations)) if relations else set()


def _negated(words: list[str], index: int) -> bool:
    """Whether the relation word at `index` is negated ("not taller", "isn't on the left")."""
    i = index - 1
    while i >= 0 and words[i] in _RELATION_FILLER:
        i -= 1
    return i >= 0 and (words[i] in _RELATION_NEGATORS or words[i].endswith("n't"))


def _stated_relations(words: list[str]) -> set[str]:
    """Relations stated by `words`; a negated relation states its opposite ("not left" -> right)."""
    stated: set[str] = set()
    for index, word in enumerate(words):
        relation = _RELATIONS.get(word)
        if relation is not None:
            if _negated(words, index):
                stated |= _OPPOSITE.get(relation, set())
            else:
                stated.add(relation)
    return stated


def normalise_qualitative(text: str) -> QualitativeAnswer:
    """Split an answer into its yes/no polarity, the relations it states, and its subject words."""
    lowered = _lower(text)
    words = _WORD_RE.findall(lowered)
    relations = frozenset(_stated_relations(words))
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


@dataclass(frozen=True)
class QuestionContext:
    """What a question tells the matcher: the relations it asks about and the objects it names."""

    relations: frozenset[str]
    candidates: tuple[tuple[str, ...], ...]  # subject words of each named object, in order


# "Between the wooden table and the black chair, which one is taller?" /
# "Which is closer, the lamp or the sofa?" / "Is the chair or the table taller?"
_CANDIDATES_RE = re.compile(
    r"between\s+(?P<a>[a-z0-9' -]+?)\s+and\s+(?P<b>[a-z0-9' -]+?)\s*(?:[,?.;]|$|\bwhich\b|\bwho\b)"
    r"|(?P<c>[a-z0-9' -]+?)\s+or\s+(?P<d>[a-z0-9' -]+?)\s*(?:[?.]|$)"
)

_MAX_QUESTION_CHARS = 400


def read_question(question: str) -> QuestionContext:
    """Relations asked about and objects named by a question (empty where it names none)."""
    lowered = _lower(question)
    words = _WORD_RE.findall(lowered)
    relations = frozenset(_RELATIONS[w] for w in words if w in _RELATIONS)
    # The lazy name patterns are quadratic in the text length; real questions are far shorter.
    match = _CANDIDATES_RE.search(lowered[:_MAX_QUESTION_CHARS])
    candidates: tuple[tuple[str, ...], ...] = ()
    if match:
        names = [match.group("a"), match.group("b")] if match.group("a") else [match.group("c"), match.group("d")]
        subjects = tuple(normalise_qualitative(name).subject for name in names)
        if all(subjects):
            candidates = subjects
    return QuestionContext(relations=relations, candidates=candidates)


def _which(words: set[str], candidates: tuple[tuple[str, ...], ...]) -> int | None:
    """Index of the one candidate whose words include all of `words` ("the wooden one"), else of
    the one candidate named whole among more words ("Region [0] (the train)"), else None."""
    names = [{_singular(w) for w in candidate} for candidate in candidates]
    hits = [i for i, name in enumerate(names) if words <= name]
    if len(hits) != 1:
        hits = [i for i, name in enumerate(names) if name <= words]
    return hits[0] if len(hits) == 1 else None


def _content_words(text: str) -> set[str]:
    words = _WORD_RE.findall(_lower(text))
    return {_RELATIONS.get(w, _singular(w)) for w in words if w not in _STOPWORDS or w in _RELATIONS}


def text_similarity(prediction: str, reference: str) -> float:
    """Cosine similarity of the two answers' sets of content words, 0..1.

    The deterministic stand-in for the sentence-embedding cosine the authors use on textual
    positions: stopwords dropped, plurals folded, relation words canonical ("nearer" = "closer" =
    front). It sees no synonyms beyond those relations, so it is stricter than an embedding.

    >>> text_similarity("It is in the corner, near the door.", "in the corner near the door")
    1.0
    """
    a, b = _content_words(prediction), _content_words(reference)
    if not a or not b:
        return 0.0
    return len(a & b) / (len(a) * len(b)) ** 0.5


def normalise_reference(text: str) -> QualitativeAnswer:
    """`normalise_qualitative` for a reference; ValueError when it has no yes/no, relation or object to match."""
    ref = normalise_qualitative(text)
    if ref.polarity is None and not ref.relations and not ref.subject:
        raise ValueError(f"qualitative reference {text!r} has no yes/no, relation or object to match")
    return ref


def _same_indices(pred_words: set[str], ref_words: set[str]) -> bool:
    """The prediction names no indexed object ("region1") beyond those of the reference."""
    return {w for w in pred_words if w[-1].isdigit()} <= ref_words


def match_qualitative(
    prediction: str, reference: str | QualitativeAnswer, question: str | QuestionContext | None = None
) -> QualitativeMatch:
    """Decide whether `prediction` gives the same qualitative answer as `reference`.

    `question` (optional) sharpens the decision: a yes/no answer that only states the opposite
    relation reads as no, and which-one answers are resolved against the objects it names.
    Raises ValueError when the reference itself has nothing to match (see `normalise_reference`).
    """
    ref = reference if isinstance(reference, QualitativeAnswer) else normalise_reference(reference)
    if isinstance(question, str):
        question = read_question(question)
    lowered = _lower(prediction)
    pred = normalise_qualitative(lowered)
    if ref.polarity is not None:
        said = _polarity(lowered, question.relations if question else frozenset())
        if said is None:
            return QualitativeMatch(None, "unreadable yes/no answer", pred, ref)
        ok = said == ref.polarity
        return QualitativeMatch(ok, "ok" if ok else f"said {said}, reference {ref.polarity}", pred, ref)
    if _HEDGE_RE.search(lowered) or not (pred.subject or pred.relations):
        return QualitativeMatch(None, "no object or relation in the answer", pred, ref)
    relations = ref.relations or (question.relations if question else frozenset())
    opposite = _opposite(relations)
    contradicts = bool(opposite & pred.relations) and not (relations & pred.relations)
    if not ref.subject or not pred.subject:
        # A bare relation ("left") against a relation, with or without the object named.
        ok = bool(relations & pred.relations) and not contradicts
        return QualitativeMatch(ok, "ok" if ok else "relation differs from the reference", pred, ref)
    ref_words = {_singular(w) for w in ref.subject}
    pred_words = {_singular(w) for w in pred.subject}
    if question and len(question.candidates) == 2:
        ref_index = _which(ref_words, question.candidates)
        if ref_index is not None:
            named = _which(pred_words, question.candidates)
            if named is None:
                return QualitativeMatch(False, "does not name one of the question's objects unambiguously", pred, ref)
            if contradicts:
                named = 1 - named  # "the chair is shorter" names the table as the taller one
            ok = named == ref_index
            return QualitativeMatch(ok, "ok" if ok else "picks the other object", pred, ref)
    head = _singular(ref.subject[-1])
    if (pred_words <= ref_words and head in pred_words) or (ref_words <= pred_words and _same_indices(pred_words, ref_words)):
        ok = not contradicts
        return QualitativeMatch(ok, "ok" if ok else "names the reference object with the opposite relation", pred, ref)
    if not (pred_words & ref_words) and contradicts:
        return QualitativeMatch(True, "ok", pred, ref)
    return QualitativeMatch(False, "names a different object", pred, ref)


__all__ = [
    "QualitativeAnswer",
    "QualitativeMatch",
    "QuestionContext",
    "match_qualitative",
    "normalise_qualitative",
    "normalise_reference",
    "read_question",
    "text_similarity",
]
