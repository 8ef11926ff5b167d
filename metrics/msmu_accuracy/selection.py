"""Several candidate values in one answer: which one is the stated answer, why, and whether that is sure.

A candidate is a group of the tokenizer: [start, end, elements, has_unit, set_aside] over the
cleaned answer, to which `choose` appends the group's numbers (a tuple, compared by several
filters: computed once). Filters run in order; each keeps its candidates only when some remain, and the
last filter that narrowed the choice is the reason reported:

0. for lengths, bare numbers that name no length are dropped: counts of things ("2 regions"),
   a non-length quantity repeated without its unit ("600" after "600 pixels"), a number cut off
   at the end of a long truncated answer (unless it follows the answer marker);
1. values after "not" / "plus or minus" are set aside; for lengths, numbers with a unit win over
   bare numbers (a bare "17.3" after "17.3 inches" is the same value cut off), except bare values
   after the last answer marker when no value with a unit follows it ("... 1.9 m in front of the
   camera. So the answer is 1.9", cut before its unit): they are the stated answer, read in the
   unit of the same value stated before, else in the answer's one unit (`_in_stated_unit`);
   values the question itself states ("The bed is 0.81 m; how tall is the table?") are the given,
   not the answer; for counts, numbers after "the" ("the 2 regions") or before "of" ("one of
   them") name no count;
2. the candidates after the last answer marker ("answer:", `\\boxed{}`, "therefore", "so the"),
   else the value right before a closing total ("... so 3 objects in total");
3. the candidates whose clause names the asked dimension ("How tall ...?": "Height: 1.8 m", not
   "Width: 0.9 m");
4. the candidates in bold (`**1.5 m**`), then those outside parentheses ("6 ft (1.83 m)");
5. position: the first statement of a value (the answer comes before the reasoning that explains
   it), or the last when the answer opens with numbered steps (a chain of thought ends in it).

The choice is `ambiguous` when candidates with different values were left to the positional rule.

>>> hints = read_question("How tall is the cabinet?")
>>> hints.dimension
'height'
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import filterfalse
from operator import itemgetter

from .number_words import answer_words

# Answer markers, each matched where its key word starts: "answer is", "answer:", "therefore", "thus",
# "hence", "in total", "in summary", "in conclusion", "so the", "so it".
_MARKER_AT = {
    "answer": re.compile(r"answer(?:\s+is|\s+would\s+be|\s*:)"),
    "therefore": re.compile(r"therefore\b"),
    "thus": re.compile(r"thus\b"),
    "hence": re.compile(r"hence\b"),
    "total": re.compile(r"total\b"),
    "summary": re.compile(r"summary\b"),
    "conclusion": re.compile(r"conclusion\b"),
    "so": re.compile(r"so\s+(?:it|the|that|this|its|they)\b"),
}
_AFTER_IN = frozenset({"total", "summary", "conclusion"})
_MARKER_WORDS = frozenset(_MARKER_AT)
_TOTAL_WORDS = frozenset({"total", "all", "altogether"})
# The words `choose` tests an answer's words against.
KEY_WORDS = _MARKER_WORDS | _TOTAL_WORDS
_TOTAL_RE = re.compile(r"\b(?:in\s+total|in\s+all|altogether)\b")
_TOTAL_GAP = 24
_BOLD_RE = re.compile(r"\*\*(?=[^*\s])[^*\n]+?\*\*")
_PAREN_RE = re.compile(r"\([^()\n]*\)")
# Clause ends; not ":", which joins a dimension's label to its value ("Height: 1.8 m").
_CLAUSE_ENDS = ".!?;,\n|"
_CLAUSE_END_RE = re.compile(f"[{re.escape(_CLAUSE_ENDS)}]")
# Up to the last clause end of a text (greedy: one match instead of a scan over every clause end).
_LAST_CLAUSE_END_RE = re.compile(f"(?s).*[{re.escape(_CLAUSE_ENDS)}]")
_WORD_RE = re.compile(r"[a-z]+")
# The clause map of ASCII text (`_clause_map`): a-z kept, clause ends as ".", every other byte a space.
_CLAUSE_MAP = bytes(c if 97 <= c <= 122 else 46 if chr(c) in _CLAUSE_ENDS else 32 for c in range(256))
# The dimension a question asks about, by its words; distance first ("vertical distance" is a distance).
DIMENSION_WORDS = {
    "distance": frozenset({"distance", "far", "apart", "away", "gap", "close", "closer", "from"}),
    "height": frozenset({"height", "tall", "high", "vertical", "vertically", "vericall"}),
    "width": frozenset({"width", "wide", "horizontal", "horizontally", "across", "breadth"}),
    "length": frozenset({"length", "long"}),
    "depth": frozenset({"depth", "deep", "thick", "thickness"}),
}
# The words of every dimension but one, per dimension: clauses naming another dimension.
_OTHERDIMENSION_WORDS = {
    name: frozenset().union(*(w for other, w in DIMENSION_WORDS.items() if other != name)) for name in DIMENSION_WORDS
}
_QUESTION_NUMBER_RE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")
# A bare number followed by a plural noun counts things ("2 regions", "3 chairs").
_PLURAL_RE = re.compile(r"\s+([a-z]{3,}s)\b")
_NOT_PLURAL = frozenset("is was has does its this thus less across always perhaps seems appears looks measures".split())
_TRUNCATED_CHARS = 200
# Fields of a candidate, for `filter` / `map`, which run in C where a comprehension is a Python function called.
_HAS_UNIT, _SET_ASIDE, _NUMBERS = itemgetter(3), itemgetter(4), itemgetter(5)
_CONTEXT_CHARS = 48


@dataclass(frozen=True)
class QuestionHints:
    """What a question tells the parser: the asked dimension and the numbers it states itself."""

    dimension: str | None
    values: frozenset[float]


@lru_cache(maxsize=4096)
def read_question(question: str | None) -> QuestionHints:
    """The dimension asked ("distance", "height", "width", "length", "depth" or None) and the question's own numbers."""
    if not question:
        return QuestionHints(None, frozenset())
    lowered = question.lower()
    words = set(_WORD_RE.findall(lowered))
    dimension = next((name for name, names in DIMENSION_WORDS.items() if words & names), None)
    if dimension == "distance" and not words & {"distance", "far", "apart", "away", "gap", "close"}:
        dimension = None  # "from" alone does not ask for a distance
    values = frozenset(float(n) for n in _QUESTION_NUMBER_RE.findall(lowered))
    return QuestionHints(dimension, values)


def _numbers(group: list) -> tuple:
    elements = group[2]
    if len(elements) == 1 and len(elements[0]) == 1:
        return (elements[0][0][0],)  # one value, the common case, without a generator
    return tuple(q[0] for element in elements for q in element)


def _clause_map(text: str) -> str | None:
    """The text with its clause ends as "." and its a-z letters kept, every other character a space
    (None for non-ASCII text). Its "." are found by `str.find` / `str.rfind`, and a slice between
    two of them splits into the `_WORD_RE` words of that slice of the text: a table lookup per
    character for the whole text instead of two regex calls and a `findall` per candidate."""
    return text.encode("ascii").translate(_CLAUSE_MAP).decode("ascii") if text.isascii() else None


def _context_words(text: str, group: list, clauses: str | None = None) -> list[str]:
    """Words of the clause around a group: back to the previous clause end, on to the next one
    (a list, tested by `frozenset.isdisjoint`: no set is built for it).

    `clauses` is `_clause_map(text)`, when the text has one.
    """
    start, end = group[0], group[1]
    low = max(0, start - _CONTEXT_CHARS)
    if clauses is not None:
        cut = clauses.rfind(".", low, start) + 1 or low
        stop = clauses.find(".", end, end + _CONTEXT_CHARS)
        return clauses[cut:start].split() + clauses[end : end + _CONTEXT_CHARS if stop < 0 else stop].split()
    window = text[low:start]
    last_end = _LAST_CLAUSE_END_RE.match(window)
    cut = last_end.end() if last_end else 0
    after = text[end : end + _CONTEXT_CHARS]
    stop = _CLAUSE_END_RE.search(after)
    return _WORD_RE.findall(window[cut:] + " " + (after[: stop.start()] if stop else after))


def _inside(spans: list[tuple[int, int]], group: list) -> bool:
    start, end = group[0], group[1]
    for a, b in spans:  # a loop: `any` over a generator costs more for the few spans there are
        if a <= start and end <= b:
            return True
    return False


def _narrow(candidates: list, keep) -> list:
    kept = [g for g in candidates if keep(g)]
    return kept if kept else candidates


def _names_no_length(text: str, group: list, non_length: frozenset[float], marker_end: int) -> bool:
    """A bare number that is no length: a count of things ("2 regions"), a non-length quantity
    stated again without its unit ("600" after "600 pixels"), or a number cut off at the end of a
    long, truncated answer ("... which is 12"), unless the answer marker (ending at `marker_end`,
    -1 without one) precedes it: "... so the answer is 1.9" states the answer, cut off or not."""
    if group[3]:
        return False
    if non_length.issuperset(group[5]):
        return True
    following = _PLURAL_RE.match(text, group[1])
    if following and following.group(1) not in _NOT_PLURAL:
        return True
    return group[1] >= len(text.rstrip()) and len(text) > _TRUNCATED_CHARS and not 0 <= marker_end <= group[0]


def _unit_of(group: list) -> str:
    """The unit written last in a group with a unit (it covers the bare numbers before it)."""
    return next(q[1] for element in reversed(group[2]) for q in reversed(element) if q[1] is not None)


def _in_stated_unit(group: list, with_unit: list) -> tuple[list, str, bool]:
    """A bare group after the answer marker read in the unit the answer gives it: that of the same
    value stated with a unit before (the value repeated, its unit cut off), else the one unit of
    every value with a unit (a guess). With values in several units it stays bare (the default
    unit, flagged unitless). Also returns the reason's suffix and whether the unit is a guess."""
    numbers = group[5]
    same = next((g for g in with_unit if g[5] == numbers), None)
    if same is not None:
        unit, why, guess = _unit_of(same), ", unit of the same value stated before", False
    else:
        units = {_unit_of(g) for g in with_unit}
        if len(units) != 1:
            return group, "", False
        unit, why, guess = units.pop(), ", unit of the answer's other values", True
    read = [group[0], group[1], [[[q[0], unit, False] for q in element] for element in group[2]], True, *group[4:]]
    return read, why, guess


def _last_marker_end(text: str, present: frozenset[str]) -> int:
    """Where the last answer marker of the text ends (-1 without one); found by `str.find` on its key word."""
    end = -1
    for word in present:
        pattern = _MARKER_AT[word]
        start = text.find(word)
        while start >= 0:
            if start == 0 or not text[start - 1].isalpha():
                match = pattern.match(text, start)
                if match and (word not in _AFTER_IN or text[:start].rstrip().endswith("in")):
                    end = max(end, match.end())
            start = text.find(word, start + 1)
    return end


def choose(
    text: str,
    groups: list,
    kind: str,
    hints: QuestionHints,
    steps_at: int,
    non_length: frozenset[float] = frozenset(),
    words: frozenset[str] | None = None,
) -> tuple[list, str, bool]:
    """The candidate groups in preference order, why the first one leads, and whether that is ambiguous.

    `words` (the answer's words) skip the marker patterns when none of their words occurs.
    """
    if words is None:
        words = answer_words(text)
    marker_end = _last_marker_end(text, words & _MARKER_WORDS)
    # The filters that only bare or set-aside values can narrow are skipped when there are none
    # (most answers): a pass over the groups each, and a call per group for the first.
    bare = aside = False
    for group in groups:
        group.append(_numbers(group))
        bare = bare or not group[3]
        aside = aside or group[4]
    if kind == "length" and bare:
        groups = [g for g in groups if g[3] or not _names_no_length(text, g, non_length, marker_end)]
        if not groups:
            return [], "no value", False
    if len(groups) == 1:
        return groups, "only value", False
    why = "first statement of a value"
    candidates = (list(filterfalse(_SET_ASIDE, groups)) or groups) if aside else groups
    stated_bare = None  # the values with a unit, when bare values after the marker are the answer
    if kind == "length":
        with_unit = list(filter(_HAS_UNIT, candidates)) if bare else candidates
        if with_unit and with_unit[-1][0] < marker_end:
            # No value with a unit follows the marker: the bare ones after it are the stated answer.
            stated_bare = with_unit
            candidates = [g for g in candidates if g[3] or g[0] >= marker_end]
        else:
            candidates = with_unit or candidates
    else:
        candidates = _narrow(
            candidates, lambda g: not text.endswith("the ", 0, g[0]) and not text.startswith(" of ", g[1])
        )
    if hints.values and len(candidates) > 1:
        candidates = [g for g in candidates if not hints.values.issuperset(g[5])] or candidates
    if len(set(map(_NUMBERS, candidates))) == 1:
        return candidates, ("only value" if len(candidates) == 1 else "one value, stated more than once"), False
    after_marker = [g for g in candidates if g[0] >= marker_end] if marker_end >= 0 else None
    if after_marker:
        candidates, why = after_marker, "after the answer marker"
    elif words & _TOTAL_WORDS:
        # "... so 3 objects in total": the value right before a closing total.
        totals = [m.start() for m in _TOTAL_RE.finditer(text)]
        before = [g for g in candidates if any(0 <= t - g[1] <= _TOTAL_GAP for t in totals)]
        if before:
            candidates, why = before[-1:], "followed by a total"
    if hints.dimension and kind == "length" and len(candidates) > 1:
        asked = DIMENSION_WORDS[hints.dimension]
        others = _OTHERDIMENSION_WORDS[hints.dimension]
        clauses = _clause_map(text)
        naming, names_other = [], False
        for g in candidates:
            context = _context_words(text, g, clauses)
            if not asked.isdisjoint(context):
                naming.append(g)
            names_other = names_other or not others.isdisjoint(context)
        if naming and len(naming) < len(candidates) and names_other:
            candidates, why = naming, f"clause names the asked {hints.dimension}"
    if len(candidates) > 1 and "**" in text:
        bold = [m.span() for m in _BOLD_RE.finditer(text)]
        in_bold = [g for g in candidates if _inside(bold, g)]
        if in_bold and len(in_bold) < len(candidates):
            candidates, why = in_bold, "in bold"
    if len(candidates) > 1 and "(" in text:
        parens = [m.span() for m in _PAREN_RE.finditer(text)]
        outside = [g for g in candidates if not _inside(parens, g)]
        if outside and len(outside) < len(candidates):
            candidates = outside
    if steps_at >= 0 and candidates[0][0] > steps_at and why == "first statement of a value":
        candidates, why = candidates[::-1], "last value of a chain of steps"
    ambiguous = len(set(map(_NUMBERS, candidates))) > 1
    if stated_bare is not None and not candidates[0][3]:
        chosen, unit_why, guess = _in_stated_unit(candidates[0], stated_bare)
        candidates = [chosen, *candidates[1:]]
        why += unit_why
        ambiguous = ambiguous or guess
    return candidates, why, ambiguous


def same_sentence(text: str, groups: list) -> list:
    """The groups in the sentence of the first one (a list written as clauses stays within a sentence)."""
    ends = [m.start() for m in re.finditer(r"[.!?;](?=\s|$)|\n", text)]
    sentence = bisect_right(ends, groups[0][0] - 1)
    return [g for g in groups if bisect_right(ends, g[0] - 1) == sentence]


__all__ = ["DIMENSION_WORDS", "KEY_WORDS", "QuestionHints", "choose", "read_question", "same_sentence"]
