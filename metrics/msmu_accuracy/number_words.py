"""English number words -> digits ("two" -> "2", "one and a half" -> "1.5", "a dozen" -> "12").

A hand-written converter instead of `text2num` / `number-parser`: neither is installed in the
project or the metric's Space, and a single compiled regex that only fires when a number word is
present keeps the common all-digit answer on the fast path (see the metric card, "Parser").

>>> words_to_digits("It is about two and a half meters away.")
'It is about 2.5 meters away.'
>>> words_to_digits("half a meter, a dozen chairs, twenty-five cm, one point two m")
'0.5 meter, 12 chairs, 25 cm, 1.2 m'
>>> words_to_digits("about a foot")
'about 1 foot'
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

_SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"thousand": 1_000.0, "million": 1_000_000.0}
_SMALL_ALT = "|".join(sorted(_SMALL, key=len, reverse=True))
_WORD = rf"(?:{_SMALL_ALT}|hundred|thousand|million|dozen|point|half|halves|quarters?)"
# Joiners inside one number: spaces or hyphens ("twenty-five"); "and" only after a scale word
# ("one hundred and five") or before "a half"/"a quarter" ("two and a half"), so that
# "between two and three meters" stays two numbers.
_JOIN = r"(?:[\s-]+(?:an?\s+(?=half|quarter))?|(?:(?<=hundred)|(?<=thousand)|(?<=million))\s+and\s+|\s+and\s+an?\s+(?=half|quarter))"
# "a dozen", "a hundred", "a half"; "half a meter", "three quarters of a meter".
_LEAD = r"(?:\ban?\s+(?=(?:dozen|hundred|thousand|million|half|quarter)\b))?"
_TAIL = r"(?:(?<=half)|(?<=quarter)|(?<=quarters))(?:\s+of)?\s+an?\b"
_RUN_RE = re.compile(rf"{_LEAD}\b{_WORD}(?:{_JOIN}{_WORD})*\b(?:{_TAIL})?", re.IGNORECASE)
_LEAD_BEFORE_RE = re.compile(r"\ban?\s+$", re.IGNORECASE)
# "a meter", "an inch": the article is the number one when a length unit follows ("3/4 of a meter" is
# left to the fraction).
# Led by the literal "a" (the engine scans for it fast), its word boundary and "of " checked behind it.
_ARTICLE_UNIT_RE = re.compile(
    r"a(?<!\wa)(?<!of a)n?\s+(?=(?:meter|metre|centimeter|centimetre|millimeter|millimetre|kilometer|kilometre|"
    r"inch|foot|feet|yard|mile)s?\b)",
    re.IGNORECASE,
)


def _case_sensitive(pattern: re.Pattern) -> re.Pattern:
    """`pattern` without IGNORECASE. Every letter these patterns spell is lower case, so on lower-case
    ASCII text (the parser's) the twin matches the same, and the engine compares characters directly
    instead of folding each one: several times faster."""
    return re.compile(pattern.pattern, pattern.flags & ~re.IGNORECASE)


_RUN_LOWER_RE = _case_sensitive(_RUN_RE)
_LEAD_BEFORE_LOWER_RE = _case_sensitive(_LEAD_BEFORE_RE)
_ARTICLE_UNIT_LOWER_RE = _case_sensitive(_ARTICLE_UNIT_RE)
_TOKEN_RE = re.compile(r"[a-z]+")
# Cheap pre-check on the answer's words: most answers hold no number word and skip the converter.
_NUMBER_WORDS = frozenset(_SMALL) | {"dozen", "half", "halves", "quarter", "quarters", "hundred", "thousand", "million"}
_ARTICLE_UNITS = frozenset(
    """meter meters metre metres centimeter centimeters centimetre centimetres millimeter millimeters millimetre
    millimetres kilometer kilometers kilometre kilometres inch inches foot feet yard yards mile miles""".split()
)


_SPACES_RE = re.compile(r"  +")
_SPACE_BEFORE_PUNCT_RE = re.compile(r" +([,.;:!?)])")


def _run_value(run: str) -> float:
    """Value of one run of number words, e.g. "two hundred and five" -> 205.0."""
    tokens = _TOKEN_RE.findall(run.lower())
    total, current, decimals, previous = 0.0, 0.0, None, ""
    for token in tokens:
        if token in _SMALL:
            if decimals is not None:
                decimals += str(_SMALL[token])
            else:
                current += _SMALL[token]
        elif token == "hundred":
            current = (current or 1.0) * 100.0
        elif token in _SCALES:
            total += (current or 1.0) * _SCALES[token]
            current = 0.0
        elif token == "dozen":
            current = (current or 1.0) * 12.0
        elif token in ("half", "halves"):
            # "one and a half" adds; "three halves" multiplies; a lone "half" is 0.5.
            current = current * 0.5 if token == "halves" else current + 0.5
        elif token in ("quarter", "quarters"):
            current = current * 0.25 if previous in _SMALL and current else current + 0.25
        elif token == "point":
            decimals = ""
        previous = token
    value = total + current
    if decimals:
        value += float("0." + decimals)
    return value


# Number words never name a plausible length or count beyond this ("hundred hundred ..." is no number).
_MAX_WORD_VALUE = 1e15


def _format(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


# Number words that name things, not quantities: "the two regions", "these three chairs", "which
# one", "one of the chairs", "half of the width". They stay words.
_DETERMINERS = frozenset(
    "the these those both all its their our your my his her which this that each every any another other no".split()
)
_PARTITIVE_RE = re.compile(r"\s+(?:of\s+(?:the|them|these|those|its|their|this|that|it|us)\b|another\b)")
_PREVIOUS_WORD_RE = re.compile(r"([a-z]+)\W*$", re.IGNORECASE)
# What \W matches in ASCII text.
_ASCII_NON_WORD = "".join(c for c in map(chr, range(128)) if not (c.isalnum() or c == "_"))


def _previous_word(text: str, start: int) -> str | None:
    """The letters that end right before `start` (within 16 characters), only non-word characters between."""
    low = max(0, start - 16)
    window = text[low:start]
    if not window.isascii():
        previous = _PREVIOUS_WORD_RE.search(text, low, start)
        return previous.group(1) if previous else None
    # `_PREVIOUS_WORD_RE` by two `rstrip`s: a search led by a letter class is tried position by position.
    stem = window.rstrip(_ASCII_NON_WORD)
    return stem[len(stem.rstrip(string.ascii_letters)) :] or None


def _names_things(match: re.Match) -> bool:
    previous = _previous_word(match.string, match.start())
    if previous and previous.lower() in _DETERMINERS:
        return True
    return _PARTITIVE_RE.match(match.string, match.end()) is not None


def _replace_run(match: re.Match) -> str:
    if _names_things(match):
        return match.group(0)
    value = _run_value(match.group(0))
    # A degenerate run ("hundred " * 155) overflows to inf: leave such words as words.
    return _format(value) + " " if value < _MAX_WORD_VALUE else match.group(0)


# "1 and a half meters", "a meter and a half", "two feet and a half": one number, not a list.
_UNIT_WORD = r"(?:meter|metre|centimeter|centimetre|millimeter|millimetre|kilometer|kilometre|inch(?:es)?|foot|feet|yard|mile)s?"
_AND_A_HALF_RE = re.compile(
    rf"\b(\d+|an?|{_SMALL_ALT})\s+(?:({_UNIT_WORD})\s+)?and\s+an?\s+(half|quarter)\b", re.IGNORECASE
)


def _and_a_half(match: re.Match) -> str:
    number, unit, part = match.group(1, 2, 3)
    lowered = number.lower()
    base = 1.0 if lowered in ("a", "an") else float(_SMALL.get(lowered, 0) if lowered in _SMALL else number)
    value = _format(base + (0.5 if part.lower() == "half" else 0.25))
    return f"{value} {unit}" if unit else value


@lru_cache(maxsize=512)
def _starts_re(present: frozenset[str], lower: bool = False) -> re.Pattern:
    """Where one of the `present` number words starts a word (`lower`: in lower-case ASCII text). A
    literal alternation (its boundary checked by a lookbehind after it) lets the regex engine skip
    ahead on first letters, which a leading \\b would not."""
    words = sorted(present, key=len, reverse=True)
    return re.compile("|".join(f"{w}(?<![a-z]{w})" for w in words), 0 if lower else re.IGNORECASE)


def _convert_runs(text: str, present: frozenset[str], lower: bool = False) -> tuple[str, int]:
    """`_RUN_RE.subn(_replace_run, text)`, matching only where a present number word starts
    (`lower`: the text is lower-case ASCII, read with the case-sensitive twins)."""
    run_re, lead_re = (_RUN_LOWER_RE, _LEAD_BEFORE_LOWER_RE) if lower else (_RUN_RE, _LEAD_BEFORE_RE)
    pieces, end, runs = [], 0, 0
    for start in _starts_re(present, lower).finditer(text):
        position = start.start()
        if position < end:
            continue  # inside the run just converted ("two hundred": "hundred")
        lead = lead_re.search(text, max(end, position - 4), position)
        match = (lead and run_re.match(text, lead.start())) or run_re.match(text, position)
        if match is None or match.end() <= end:
            continue
        pieces.append(text[end : match.start()])
        replaced = _replace_run(match)
        pieces.append(replaced)
        runs += replaced != match.group(0)
        end = match.end()
    if not runs:
        return text, 0  # the runs name things ("the two regions"): the text as it is
    pieces.append(text[end:])
    return "".join(pieces), runs


# Everything but letters becomes a space: a translate + split is several times faster than a findall.
_NOT_LETTERS = {ord(c): " " for c in string.punctuation + string.digits + "°²³…"}
# The same for ASCII text as a byte table: `bytes.translate` is a table lookup, the str one a dict lookup per character.
_ASCII_NOT_LETTERS = bytes.maketrans(
    (string.punctuation + string.digits).encode(), b" " * len(string.punctuation + string.digits)
)


# The words `words_to_digits` tests an answer's words against.
KEY_WORDS = _NUMBER_WORDS | _ARTICLE_UNITS | {"a", "an"}


def answer_words(text: str, lowered: bool = False, among: frozenset[str] | None = None) -> frozenset[str]:
    """The lower-case words of a text (`lowered`: it is lower case already), or only those `among`
    the words a caller tests for: cheap membership tests tell which rewrites can apply at all. (The
    parser keeps only its key words: each test then looks at a few words, not all of the answer's.)"""
    text = text if lowered else text.lower()
    if text.isascii():
        words = text.encode("ascii").translate(_ASCII_NOT_LETTERS).decode("ascii").split()
    else:
        words = text.translate(_NOT_LETTERS).split()
    return frozenset(words) if among is None else among.intersection(words)


def words_to_digits(text: str, words: frozenset[str] | None = None, lowered: bool = False) -> str:
    """Rewrite English number words in `text` as digits; text without number words is returned as is.

    `words` (from `answer_words(text)`) spares computing them again; `lowered`: the text is lower
    case already (spares testing it).
    """
    if words is None:
        words = answer_words(text)
    present = words & _NUMBER_WORDS
    articles_possible = ("a" in words or "an" in words) and bool(words & _ARTICLE_UNITS)
    if not (present or articles_possible):
        return text
    lower = text.isascii() and (lowered or text.islower())  # stays so: the rewrites add digits and spaces
    if "and a" in text or "and an" in text:
        text = _AND_A_HALF_RE.sub(_and_a_half, text)
    text, runs = _convert_runs(text, present, lower) if present else (text, 0)
    article_re = _ARTICLE_UNIT_LOWER_RE if lower else _ARTICLE_UNIT_RE
    text, articles = article_re.subn("1 ", text) if articles_possible else (text, 0)
    if not (runs or articles):
        return text
    # The substitutions above append a space to keep the number apart from what follows;
    # collapse the doubled spaces and the space it leaves before punctuation.
    return _SPACE_BEFORE_PUNCT_RE.sub(r"\1", _SPACES_RE.sub(" ", text)).rstrip()


__all__ = ["KEY_WORDS", "answer_words", "words_to_digits"]
