"""Free-text spatial answer -> meters (or counts): the one parser shared by the metric and the dataset builder.

A hand-written regex tokenizer over a unit table (see the metric card, "Parser", for why not pint):

1. normalise: lower case, unicode dashes / primes / "x" signs, Q-Spatial's `\\scalar{}` and
   `\\distance_unit{}` tags, number words ("two and a half" -> 2.5, `number_words.py`);
2. tokenize quantities: a number (sign, thousands separators, decimals, decimal comma "1,5",
   exponent "1.2e3") with an optional unit (`units.py`, also hyphenated: "30-cm"); numbers glued
   to other letters ("3D", "2nd") and numbers with a non-length unit ("5 minutes", "5 mph") are
   not quantities; a quantity after "not" / "rather than" / "plus or minus" / "give or take" is
   set aside (a rejected value or a tolerance) when another remains;
3. group adjacent quantities by what lies between them: "x" / "by" / "*" / "," / "and" make a
   list ("0.8 m x 0.63 m x 0.55 m"), "-" / "to" / "~" / "or" / "between .. and" make a range,
   a smaller unit of the same system right after a larger one makes a compound ("1 m 20 cm",
   `5'3"`, "5ft3in", "2 ft. 3 in.", "5 ft, 3 in"); a unit given once covers the unit-less members of its group ("0.8 x 0.63 x 0.55 m");
4. pick the answer among several values (`selection.py`): bare numbers that name no length
   and set-aside values drop out, numbers with a unit win (unless only bare ones follow the
   answer marker: "... so the answer is 1.9", read in the answer's unit), then the answer marker, the asked
   dimension (with the question), bold text, values outside parentheses, and the first statement
   (the last value of a chain of numbered steps); counts with `noun` take the number followed by
   that noun; without `expect_len`, a sentence naming two or more of length/width/height/depth
   gives that many values;
5. convert: units to meters; a range becomes one value by `range_policy`; a number with no unit
   takes `default_unit` and is flagged `unitless`.

>>> parse_answer("0.8 m x 0.63 m x 0.55 m").values
[0.8, 0.63, 0.55]
>>> parse_answer("Roughly 5 feet 3 inches tall.").values
[1.6002]
>>> parse_answer("The table is 2 m from the chair, so the answer is 1.5 m").values
[1.5]
>>> parse_answer("between 2 and 3 meters")
ParsedAnswer(values=[2.5], is_range=True, unitless=False, text='2 and 3 meters')
>>> parse_answer("3", kind="count")
ParsedAnswer(values=[3.0], is_range=False, unitless=True, text='3')
>>> parse_answer("no idea") is None
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from . import answer_text, number_words, selection
from .answer_text import clean_answer, drop_repeated_lines
from .number_words import answer_words, words_to_digits
from .selection import choose, read_question, same_sentence
from .units import SPELLING_TO_UNIT, UNIT_SYSTEM, UNIT_TO_METERS, unit_pattern

RANGE_POLICIES = ("midpoint", "lower", "upper", "reject")
KINDS = ("length", "count")


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """A parsed answer.

    values: one float per list element (L x W x H gives 3), meters for lengths, raw numbers for counts.
    is_range: a range ("2-3 m") was collapsed to one value per element by the range policy.
    unitless: at least one number had no unit and took the default unit.
    text: the span of the normalised answer the values came from (for explanations).
    reason: why that span was chosen ("only value", "answer marker", ...).
    ambiguous: other plausible values were set aside by a weak rule, or the value has no unit.
    """

    values: list[float]
    is_range: bool = False
    unitless: bool = False
    text: str = field(default="", compare=False)
    reason: str = field(default="only value", compare=False, repr=False)
    ambiguous: bool = field(default=False, compare=False, repr=False)


_TRANSLATE = str.maketrans(
    {
        "\u00d7": " x ",  # multiplication sign
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
        "\u2018": "'", "\u2019": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u2033": '"',
        "\u00a0": " ", "\u202f": " ", "\u00b1": " plus or minus ",
    }
)  # fmt: skip
_INF = math.inf
_SCALAR_RE = re.compile(r"\\scalar\{([^{}]*)\}")
_UNIT_TAG_RE = re.compile(r"\\distance_unit\{([^{}]*)\}")
# sign, number (atomic so "1,500" is one number but "0.8,0.63" two), optional unit; a number
# glued to other letters ("3d", "2nd") is not a quantity, but "0.8x0.6", "1ftx2ft" and "1.5m" are.
_QTY_RE = re.compile(
    # The lookahead first: most positions hold no digit, and fail there before the lookbehinds.
    r"(?=[-+]?\.?\d)(?:(?<![\w.])|(?<=[a-z\d\"']x)|(?<=\dft)|(?<=\dm)|(?<=\dcm)|(?<=\dmm))(?P<sign>[-+]?)"
    # atomic: thousands separators, a decimal comma ("1,5": right side not 3 digits, not a list
    # item), decimals and an exponent are all or nothing, so "1.2e3" never backtracks to "1".
    r"(?P<num>(?>(?:\d{1,3}(?:,\d{3})+(?!\d)|(?<!\d,)\d+,(?!\d{3}(?!\d))\d+(?![.,]\d)|\d+)(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?)"
    rf"(?:(?:\s*|-)(?P<unit>(?:{unit_pattern()})(?![a-wyz]|x[a-z])))?"
    r"(?![a-wyz]|x[a-z])"
)
# A quantity right after these words is a tolerance or a value the answer rejects.
_SET_ASIDE_RE = re.compile(
    r"(?:\bnot|\bnever|rather\s+than|instead\s+of|give\s+or\s+take|plus\s+or\s+minus|\+/-|\+-)\s*(?:about\s+|around\s+)?$"
)
# Words of those phrases: a cheap test whether any value can be set aside at all.
_SET_ASIDE_WORDS = frozenset({"not", "never", "than", "instead", "give", "plus"})
# Every word the parser tests an answer's words against: the answer's words are kept only among
# these (a handful per answer), so that each test looks at those, not at every word.
_KEY_WORDS = answer_text.KEY_WORDS | number_words.KEY_WORDS | selection.KEY_WORDS | _SET_ASIDE_WORDS
# Dimension names: a text naming two or more of them lists those dimensions (L x W x H).
_DIMENSION_RE = re.compile(r"\b(length|width|height|depth)\b")
_ABBREVIATED = frozenset({"ft", "in", "yd", "mi"})
_LIST_SEPS = frozenset({"x", "*", "by", ",", ", and"})
_RANGE_SEPS = frozenset({"-", "to", "~", "or"})
# What can lie between the parts of a compound ("1 m 20 cm", "1 m and 20 cm", "2 ft. 3 in.", "5 ft, 3 in").
_COMPOUND_GAPS = frozenset({"", "and", ".", ","})
# Implicit smaller unit after a bare number: "5 feet 3" (inches), "one meter twenty" (cm).
_IMPLICIT_NEXT = {"ft": "in", "m": "cm"}


def _normalise(text: str) -> tuple[str, int, frozenset[float], frozenset[str]]:
    """Lower-cased answer with number words as digits and no index, tag or non-length number (`answer_text`)."""
    # Every character `_TRANSLATE` maps is non-ASCII: most answers skip the (per-character) translate.
    text = (text if text.isascii() else text.translate(_TRANSLATE)).lower().replace("''", '"')
    if "\n" in text:
        text = drop_repeated_lines(text)  # first: a degenerate answer is then read (and scanned) once
    if "\\scalar{" in text:
        # Q-Spatial's format is an explicit answer: mark it as one.
        text = _SCALAR_RE.sub(r" answer: \1 ", text)
        text = _UNIT_TAG_RE.sub(r" \1 ", text)
    words = answer_words(text, lowered=True, among=_KEY_WORDS)
    return (*clean_answer(words_to_digits(text, words, lowered=True), words), words)


def _compound(prev_unit: str | None, unit: str | None, value: float, gap: str) -> str | None:
    """Unit the next quantity adds in, if it continues a compound like "1 m 20 cm"; else None."""
    if prev_unit is None or gap not in ("", "and"):
        return None
    if unit is None:
        unit = _IMPLICIT_NEXT.get(prev_unit) if gap == "" and value == int(value) else None
        if unit is None:
            return None
    if UNIT_SYSTEM[unit] != UNIT_SYSTEM[prev_unit]:
        return None
    ratio = UNIT_TO_METERS[prev_unit] / UNIT_TO_METERS[unit]
    return unit if 1.0 < ratio and 0 <= value < ratio else None


# Where a quantity can start (a digit, or a sign or point before one): led by one charset, which
# the regex engine scans for fast; `_QTY_RE` (led by lookarounds, slow to scan with) is then only
# tried there. ASCII text (nearly every answer) scans with [0-9], a bitmap test per character,
# instead of the Unicode lookup of \d (several times slower); both find the same positions there.
_QTY_START_RE = re.compile(r"[\d.+-](?:(?<=\d)|(?=\.?\d))")
_QTY_START_ASCII_RE = re.compile(r"[0-9.+-](?:(?<=[0-9])|(?=\.?[0-9]))")


def _tokenize(text: str, words: frozenset[str]) -> list[list]:
    """Groups of quantities: [start, end, elements, has_unit, set_aside]; element = list of [value, unit, explicit] (a range).

    set_aside: the group follows "not", "plus or minus", ... (a rejected value or a tolerance).
    """
    groups: list[list] = []
    prev_end = -1
    prev_unit = None  # explicit unit of the previous quantity, for compounds
    prev_text = None
    barrier = False  # a skipped non-length quantity separates groups
    check_aside = not words.isdisjoint(_SET_ASIDE_WORDS) or "+/" in text or "+-" in text
    spelling_to_unit = SPELLING_TO_UNIT
    search, match_at = (_QTY_START_ASCII_RE if text.isascii() else _QTY_START_RE).search, _QTY_RE.match
    position = 0
    while True:
        found = search(text, position)
        if found is None:
            break
        match = match_at(text, found.start())
        if match is None:
            position = found.start() + 1
            continue
        sign, number, unit_text = match.groups()
        start, end = match.span()
        position = end
        if unit_text is not None and text.startswith("/", end):  # "3 km/h"
            barrier, prev_unit = True, None
            continue
        if "," in number:
            right = number.partition(",")[2]
            # A decimal comma ("1,5 m") unless three digits follow it, else thousands separators ("1,500").
            number = number.replace(",", "." if len(right) - len(right.lstrip("0123456789")) != 3 else "")
        value = float(number)
        if value == _INF:  # "1e309" overflows: not a value anyone can score against
            barrier, prev_unit = True, None
            continue
        unit = spelling_to_unit[unit_text] if unit_text else None
        if unit_text in ("'", '"') and start > 0 and text[start - 1] == unit_text:
            unit = None  # a quoted number ('1.5'), not feet or inches
        gap = text[prev_end:start].strip() if groups and not barrier else None
        barrier = False
        if gap == "" and sign == "-":
            sign, gap = "", "-"  # "2 -3 m" is a range
        if prev_unit is not None and gap in _COMPOUND_GAPS and not sign:
            extra_unit = _compound(prev_unit, unit, value, gap)
            if extra_unit is None and unit is not None and prev_unit is not None:
                # "2 ft. 3 in.", "5 ft, 3 in": an abbreviation's period or a comma, explicit next unit.
                if (gap == "." and prev_text in _ABBREVIATED) or (gap == "," and prev_unit == "ft"):
                    extra_unit = _compound(prev_unit, unit, value, "")
            if extra_unit is not None:
                last = groups[-1][2][-1][-1]
                last[0] += value * UNIT_TO_METERS[extra_unit] / UNIT_TO_METERS[last[1]]
                groups[-1][1] = prev_end = end
                prev_unit = extra_unit
                prev_text = unit_text
                continue
        if gap == "and":
            # "between 2 and 3 m" is a range; "0.8 m, 0.6 m and 0.5 m" a list.
            before = text[max(0, groups[-1][0] - 12) : groups[-1][0]].rstrip()
            gap = "-" if before.endswith("between") else ","
        quantity = [-value if sign == "-" else value, unit, unit is not None]
        if gap in _LIST_SEPS or gap in _RANGE_SEPS:
            group = groups[-1]
            if gap in _LIST_SEPS:
                group[2].append([quantity])
            else:
                group[2][-1].append(quantity)
            group[1] = end
            group[3] = group[3] or unit is not None
        else:
            aside = check_aside and _SET_ASIDE_RE.search(text, max(0, start - 24), start) is not None
            if aside and unit is not None and groups and not groups[-1][3]:
                for q in groups[-1][2][-1]:
                    q[1] = unit  # "1.5 +/- 0.2 m": the tolerance's unit covers the value
                groups[-1][3] = True
            groups.append([start, end, [[quantity]], unit is not None, aside])
        prev_end = end
        prev_unit = unit
        prev_text = unit_text
    return groups


def _select(text: str, groups: list[list], kind: str, expect_len: int | None, hints, steps_at: int, non_length, words):
    """The groups that make the answer (usually one; several when a list was written as clauses), why,
    ambiguous; None when no group is a value."""
    ordered, why, ambiguous = choose(text, groups, kind, hints, steps_at, non_length, words)
    if not ordered:
        return None
    chosen = ordered[0]
    if expect_len is None and kind == "length" and len(groups) > 1:
        # "0.8 m in length, 0.63 m in width and 0.55 m in height": the named dimensions, in order.
        named = len(set(_DIMENSION_RE.findall(text)))
        if named >= 2:
            expect_len = named
    if expect_len is None or len(chosen[2]) == expect_len:
        return [chosen], why, ambiguous
    # A list written as clauses ("length 0.8 m, width 0.6 m, height 0.5 m"): a group of the
    # expected length among the candidates, else that many single values of one sentence in order.
    same_length = [g for g in ordered if len(g[2]) == expect_len]
    if same_length:
        return [same_length[0]], why, ambiguous
    in_order = sorted(ordered, key=lambda g: g[0])
    singles = [g for g in same_sentence(text, in_order[in_order.index(chosen) :]) if len(g[2]) == 1]
    if len(singles) >= expect_len:
        return singles[:expect_len], why + ", list written as clauses", False
    return [chosen], why, ambiguous


# A count of nothing: "none", "there are no chairs", "not any" (but not "no idea").
_NONE_RE = re.compile(r"\bnone\b|\bnothing\b|\bnot\s+any\b|\bno\s+(?!idea|clue|way|answer|information|doubt)[a-z]")


@lru_cache(maxsize=256)
def _noun_pattern(noun: str) -> re.Pattern:
    """Matches right after a number when `noun` (singular or plural) follows within two words."""
    stem = noun.lower().strip()
    stem = stem[:-1] if len(stem) > 3 and stem.endswith("s") and not stem.endswith("ss") else stem
    return re.compile(rf"\s+(?:[a-z-]+\s+){{0,2}}?{re.escape(stem)}(?:s|es)?\b")


def make_parser(
    default_unit: str | None = "m", range_policy: str = "midpoint", kind: str = "length"
) -> Callable[[str | None, int | None], ParsedAnswer | None]:
    """`parse_answer` with its options checked once: returns `parse(text, expect_len=None)` (for bulk scoring)."""
    if range_policy not in RANGE_POLICIES:
        raise ValueError(f"range_policy must be one of {RANGE_POLICIES}, got {range_policy!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    default = None
    if default_unit is not None:
        default = SPELLING_TO_UNIT.get(default_unit.strip().lower())
        if default is None:
            raise ValueError(f"unknown default_unit {default_unit!r}; expected one of {sorted(SPELLING_TO_UNIT)}")

    def parse(
        text: str | None, expect_len: int | None = None, noun: str | None = None, question: str | None = None
    ) -> ParsedAnswer | None:
        if text is None:
            return None
        if not isinstance(text, str):
            raise TypeError(f"answer must be a string, got {type(text).__name__}")
        normalised, steps_at, non_length, words = _normalise(text)
        groups = _tokenize(normalised, words)
        if not groups:
            if kind == "count" and _NONE_RE.search(normalised):
                return ParsedAnswer(values=[0.0], unitless=True, text="0", reason="says none")  # "no chairs"
            return None
        if len(groups) == 1 and groups[0][3]:
            # The common case: one quantity with a unit, nothing to choose.
            group = groups[0]
            return _finish(group[2], normalised[group[0] : group[1]], default, range_policy, kind, "only value", False)
        attached = None
        if noun and kind == "count" and len(groups) > 1:
            follows = _noun_pattern(noun)
            attached = [g for g in groups if not g[4] and len(g[2]) == 1 and follows.match(normalised, g[1])]
        if attached:
            # "3 chairs and 2 tables" asked about chairs: 3
            selected, why, ambiguous = attached[:1], "number followed by the asked noun", False
        else:
            hints = read_question(question)
            chosen = _select(normalised, groups, kind, expect_len, hints, steps_at, non_length, words)
            if chosen is None:
                return None  # only bare numbers that name things, not lengths
            selected, why, ambiguous = chosen
        elements = selected[0][2] if len(selected) == 1 else [element for group in selected for element in group[2]]
        span = normalised[selected[0][0] : selected[-1][1]]
        return _finish(elements, span, default, range_policy, kind, why, ambiguous)

    return parse


def parse_answer(
    text: str | None,
    default_unit: str | None = "m",
    range_policy: str = "midpoint",
    kind: str = "length",
    expect_len: int | None = None,
    noun: str | None = None,
    question: str | None = None,
) -> ParsedAnswer | None:
    """Parse a free-text answer into meters (kind="length") or plain numbers (kind="count").

    Args:
        text: the answer; None or text without a usable number gives None.
        default_unit: unit for numbers written without one (any spelling in `units.py`), or None
            to treat such numbers as unparseable.
        range_policy: "midpoint" (default), "lower", "upper", or "reject" (a range gives None).
        kind: "length" converts to meters and prefers numbers with a unit; "count" keeps the raw number.
        expect_len: number of values expected (3 for L x W x H); lets a list written as separate
            clauses be collected. It never forces a length: a mismatch is left for the scorer.
            Without it, a length answer naming two or more of length/width/height/depth in one
            sentence gives those dimensions as a list.
        noun: for kind="count", the object asked about ("chair"): the first number followed
            (within two words) by it wins ("3 chairs and 2 tables" -> 3).
        question: the question, when known: its asked dimension picks among several values
            ("How tall ...?" against "Width: 0.9 m, Height: 1.8 m") and values it states itself
            are not taken for the answer (`selection.py`).

    Returns:
        ParsedAnswer or None.

    Raises:
        ValueError: an unknown option; TypeError: `text` is neither str nor None.
    """
    return make_parser(default_unit, range_policy, kind)(text, expect_len, noun, question)


def _finish(
    elements: list, span: str, default: str | None, range_policy: str, kind: str, why: str, ambiguous: bool
) -> ParsedAnswer | None:
    if len(elements) == 1 and len(elements[0]) == 1:
        # The common case: one number, no range.
        value, unit, explicit = elements[0][0]
        unitless = unit is None if kind == "length" else not explicit  # a tolerance's unit counts ("1.5 ± 0.2 m")
        if kind == "length":
            if unit is None:
                if default is None:
                    return None
                unit, ambiguous = default, True  # a value without a unit is a guess at the unit
            value = round(value * UNIT_TO_METERS[unit], 12)
        else:
            value = round(value, 12)
        if not math.isfinite(value):
            return None
        return ParsedAnswer([value], False, unitless, span, why, ambiguous)
    quantities = elements[0] if len(elements) == 1 else [q for element in elements for q in element]
    unitless = False
    if kind == "length":
        # A unit written once covers its group's bare numbers: the nearest one to the right
        # ("0.8 x 0.63 x 0.55 m", "2-3 m"), else to the left ("0.8 m x 0.63 x 0.55").
        next_unit = None
        for q in reversed(quantities):
            if q[1] is None:
                q[1] = next_unit
            else:
                next_unit = q[1]
        last_unit = None
        for q in quantities:
            if q[1] is None:
                q[1] = last_unit
            else:
                last_unit = q[1]
        if last_unit is None:
            if default is None:
                return None
            unitless = True
            for q in quantities:
                q[1] = default
    else:
        unitless = not any(q[2] for q in quantities)
    is_range = False
    values = []
    length = kind == "length"
    for element in elements:
        numbers = [q[0] * UNIT_TO_METERS[q[1]] for q in element] if length else [q[0] for q in element]
        if len(numbers) > 1:
            is_range = True
            if range_policy == "reject":
                return None
            low, high = min(numbers), max(numbers)
            numbers = [{"midpoint": (low + high) / 2, "lower": low, "upper": high}[range_policy]]
        values.append(round(numbers[0], 12))
    if not all(map(math.isfinite, values)):
        return None  # "1e308 km" overflows once converted to meters
    ambiguous = ambiguous or (unitless and length)  # a value without a unit is a guess at the unit
    return ParsedAnswer(values, is_range, unitless, span, why, ambiguous)


__all__ = ["KINDS", "RANGE_POLICIES", "ParsedAnswer", "make_parser", "parse_answer"]
