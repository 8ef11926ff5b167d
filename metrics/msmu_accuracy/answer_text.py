"""Answer text -> the text the tokenizer reads: what in a real model answer is a number but no quantity.

Real chat-model answers carry numbers that are not the value asked for. They are blanked here,
before tokenizing, each kind by one pattern (see the metric card, "Parser"):

* indices and tags: `Region [0]`, `[10]`, `[...]`, `<region1>`, `object 2`, `shape[0]`, `(1)`, the
  echo of an index on the answer's first line (`**0**`) and index tails cut from a tag (`1]?`);
* numbers with a unit that is no length: "360 pixels", "3-4 times", "9 o'clock", "60%",
  "25 square meters", "2 m^2", "5 minutes", "30 degrees";
* list markers at a line start ("1.", "2)") and "Step 3"; multiple-choice option lines ("A) 20 inches");
  URLs; pixel coordinates "(1000, 360)" and ratios "432 / 720";
* a line repeated word for word (a degenerate answer) is kept once;
* digit fractions become decimals ("3/4 of a meter" -> "0.75 meter", "1 1/2 feet" -> "1.5 feet"),
  and `\\boxed{x}` becomes an explicit answer ("answer: x").

Each blank is " | ": no separator of a list or range, so values on either side stay apart.

>>> clean_answer("region [0] is 1.5 m from region [1].")[0]
' |  is 1.5 m from  | .'
>>> clean_answer("about 360 pixels, i.e. 3-4 times its width; 1 1/2 feet tall")[0]
'about  | , i.e.  | its width; 1.5 feet tall'
"""

from __future__ import annotations

import re
from functools import lru_cache

from .number_words import answer_words

_BLANK = " | "
# Bracketed or tagged indices; an integer with a closing bracket is the tail of a cut tag ("1]?").
# Literal-led (a scan for "[", "<", "(" is fast); an index cut from its tag ("1]?") apart.
_BRACKET_TAG_RE = re.compile(r"\[\s*(?:\d+|\.\.\.|…)\s*\]|\[\s*\d+(?![\d.,])|<\s*[a-z_]*\s*\d+\s*>|\(\s*\d+\s*\)")
_CUT_TAG_RE = re.compile(r"\d(?<![\w.]\d)\d*\s*\](?!\()")
_TAG_WORDS = frozenset(
    "region object obj shape box bbox item image img figure fig frame step option choice instance no".split()
)
_TAG_TAIL = (
    r"\s*[#\[(]?\s*\d+(?![\d.,]\d)\b\]?(?!\s*(?:m|cm|mm|km|ft|in|meters?|metres?|feet|foot|inch(?:es)?|yards?)\b)"
)


@lru_cache(maxsize=None)
def _word_tag_re(name: str) -> re.Pattern:
    """Tags of one tag word ("region 2", "object #3"): led by the word as a literal, which the engine
    finds by a fast string search, its word boundary checked after it. (One alternation of the
    words present would be scanned position by position, several times slower.) At most one tag
    word's pattern matches at a position (each ends in a tail without letters), so blanking word by
    word, in any order, gives what one pass over all of them gives."""
    literal = re.escape("no." if name == "no" else name)
    return re.compile(f"{literal}(?<![a-z]{literal}){_TAG_TAIL}")


# "**0**" alone on the first line, before the answer proper: the echo of a region index.
_ECHO_RE = re.compile(r"\A[\s*#]*\d+[\s*\]?.]*\n(?=\s*\S)")
_LIST_MARKER = r"[ \t]*(?:[-*•][ \t]*)?\d+[.)](?=[ \t]+\S)"
_LIST_MARKER_RE = re.compile(rf"(?m)^{_LIST_MARKER}")
_NUMBER = r"[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)"
# A number (or a range of numbers) followed by a unit that is no length. Found from the unit
# back: a literal scan for the units' key words is fast, a pattern led by a digit is not.
_NON_LENGTH_UNIT_RE = re.compile(
    r"%|percent\b|per\s*cent\b|pixels?\b|px\b|times\b|o'?clock\b|degrees?\b|°|deg\b"
    r"|(?:square|sq\.?|cubic|cu\.?)\s*[a-z]+|(?P<power>\^\s*[23]|[²³])"
    r"|seconds?\b|secs?\b|minutes?\b|mins?\b|hours?\b|hrs?\b|days?\b|weeks?\b|months?\b|years?\b|yrs?\b"
    r"|mph\b|kph\b|kmh\b|kilograms?\b|kgs?\b|grams?\b|lbs?\b|pounds?\b|liters?\b|litres?\b|fps\b|frames?\b"
)
@lru_cache(maxsize=512)
def _non_length_key_re(present: frozenset[str]) -> re.Pattern:
    """Where a unit among the `present` non-length words or symbols starts (a literal alternation)."""
    keys = sorted(present, key=len, reverse=True)
    return re.compile("|".join(re.escape(k) + (f"(?<![a-z]{re.escape(k)})" if k.isalpha() else "") for k in keys))
_NUMBER_RANGE = rf"(?<![\w.]){_NUMBER}(?:\s*(?:-|to|or|~)\s*{_NUMBER})?\s*(?:-\s*)?"
_NUMBER_BEFORE_RE = re.compile(rf"{_NUMBER_RANGE}$")
_NUMBER_UNIT_BEFORE_RE = re.compile(rf"{_NUMBER_RANGE}(?:m|cm|mm|km|ft|in|meters?|metres?|feet|foot|inch(?:es)?)\s*$")
_BEFORE_CHARS = 48
# Every character a `_NUMBER_RANGE` match can hold in ASCII text (digits, signs, separators, the
# letters of "to" / "or", what \s matches).
_RANGE_CHARS = "0123456789.,+-~tor \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
# Words (and symbols) of the non-length units: a cheap test before any scan.
_NON_LENGTH_WORDS = frozenset(
    """percent per pixel pixels px times clock oclock degree degrees deg square sq cubic cu second seconds sec secs
    minute minutes min mins hour hours hr hrs day days week weeks month months year years yr yrs mph kph kmh gram
    grams kilogram kilograms kg kgs lb lbs pound pounds liter liters litre litres fps frame frames""".split()
)
_NON_LENGTH_SYMBOLS = ("%", "°", "^", "²", "³")
# The words `clean_answer` tests an answer's words against.
KEY_WORDS = _TAG_WORDS | _NON_LENGTH_WORDS


def _number_before(text: str, start: int, at: int, power: bool) -> re.Match | None:
    """The number (or range) that ends right before the unit at `at`, searched from `start`."""
    if power:
        return _NUMBER_UNIT_BEFORE_RE.search(text, start, at)
    window = text[start:at]
    if window.isascii():
        # No match starts before the run of range characters that ends at the unit: the search
        # (led by a lookbehind, so tried position by position) starts there.
        start += len(window.rstrip(_RANGE_CHARS))
    return _NUMBER_BEFORE_RE.search(text, start, at)


def _blank_non_length(text: str, present: frozenset[str]) -> tuple[str, list[str]]:
    """Blank every number (or range) followed by a non-length unit among `present` (words or
    symbols of the text); also return what was blanked."""
    pieces, blanked, end = [], [], 0
    for key in _non_length_key_re(present).finditer(text):
        at = key.start()
        if key.group(0) == "clock" and text.startswith("o", at - 2 if text.startswith("'", at - 1) else at - 1):
            at -= 2 if text.startswith("'", at - 1) else 1  # "o'clock", "oclock"
        if at < end:
            continue  # inside the last blank
        unit = _NON_LENGTH_UNIT_RE.match(text, at)
        if unit is None:
            continue
        number = _number_before(text, max(end, at - _BEFORE_CHARS), at, unit.group("power") is not None)
        if number is None:
            continue
        pieces.append(text[end : number.start()])
        pieces.append(_BLANK)
        blanked.append(text[number.start() : unit.end()])
        end = unit.end()
    if not pieces:
        return text, blanked
    pieces.append(text[end:])
    return "".join(pieces), blanked


_MIXED_FRACTION_RE = re.compile(r"(?=\d)(?<![\w./])(\d+)\s+(\d{1,2})/(\d{1,2})(?![\w/])")
_FRACTION_RE = re.compile(r"(?=\d)(?<![\w./])(\d{1,3})/(\d{1,2})(?![\w/]|\.\d)")
# "0.75 of a meter" -> "0.75 meter" (after a fraction or "three quarters" became a decimal).
_OF_A_UNIT_RE = re.compile(
    r"(\d)\s+of\s+an?\s+(?=(?:meter|metre|centimeter|centimetre|millimeter|millimetre|inch|foot|feet|yard|mile)s?\b)"
)
_BOXED_RE = re.compile(r"\\boxed\{([^{}]*)\}")
_URL_RE = re.compile(r"\b(?:https?://|www\.)\S+")
# Multiple-choice options ("A) 20 inches", "**B.** 24 inches") at line starts are choices offered, not the answer.
_OPTION_LINE = r"[ \t*•-]*\(?[a-e][.)](?:\*\*)?[ \t]+[^\n]*$"
_OPTION_LINE_RE = re.compile(rf"(?m)^{_OPTION_LINE}")
# The same two after a newline, a cheap test whether they can apply beyond the first line: led by
# a literal, which the engine finds by a fast string search, where `(?m)^` is tried at every position.
_LIST_MARKER_AFTER_NEWLINE_RE = re.compile(rf"\n{_LIST_MARKER}")
_OPTION_LINE_AFTER_NEWLINE_RE = re.compile(rf"(?m)\n{_OPTION_LINE}")
# Either of them: one scan tells that neither applies beyond the first line (most answers).
_MARKED_LINE_AFTER_NEWLINE_RE = re.compile(rf"(?m)\n(?:{_LIST_MARKER}|{_OPTION_LINE})")
# Pixel coordinates "(1000, 360)" and ratios "432 / 720".
_COORDINATES_RE = re.compile(r"\(\s*\d+\s*,\s*\d+\s*(?:,\s*\d+\s*)?\)")
_RATIO_RE = re.compile(r"(?=\d)(?<![\w.])\d+(?:\.\d+)?\s*/\s*\d+(?:\.\d+)?(?![\w.])")
_LEADING_NUMBER_RE = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)")


def _mixed(match: re.Match) -> str:
    whole, top, bottom = (int(g) for g in match.groups())
    return f"{whole + top / bottom:g}" if 0 < top < bottom else match.group(0)


def _fraction(match: re.Match) -> str:
    top, bottom = int(match.group(1)), int(match.group(2))
    return f"{top / bottom:g}" if 1 < bottom <= 64 and top < 1000 else match.group(0)


def _leading_numbers(quantities: list[str]) -> frozenset[float]:
    numbers = (_LEADING_NUMBER_RE.match(quantity) for quantity in quantities)
    return frozenset(float(number.group(0).replace(",", "")) for number in numbers if number)


def drop_repeated_lines(text: str) -> str:
    """An answer that degenerates into the same line again and again says it once."""
    lines = text.split("\n")
    if len(lines) < 3:
        return text
    keys = list(map(str.strip, lines))
    distinct = set(keys)
    distinct.discard("")
    if len(distinct) == len(keys) - keys.count(""):
        return text  # no non-empty line repeats (the common case, found without a Python loop)
    seen: set[str] = set()
    kept = []
    for line in lines:
        key = line.strip()
        if key and key in seen:
            continue
        seen.add(key)
        kept.append(line)
    return "\n".join(kept) if len(kept) < len(lines) else text


def clean_answer(text: str, words: frozenset[str] | None = None) -> tuple[str, int, frozenset[float]]:
    """Blank indices, tags, list markers and non-length quantities of a lower-cased answer; fractions to decimals.

    Returns the cleaned text; where its first list marker was (-1 without one: an answer that
    opens with numbered steps ends in its result); and the numbers blanked as non-length
    quantities (a bare "600" after "600 pixels" is that pixel count again). `words` (from
    `number_words.answer_words`) are the answer's words, to skip the patterns that cannot apply.
    """
    if words is None:
        words = answer_words(text)
    if "\\boxed{" in text:
        text = _BOXED_RE.sub(r" answer: \1 ", text)
    if "://" in text or "www." in text:
        text = _URL_RE.sub(_BLANK, text)
    for name in words & _TAG_WORDS:
        text = _word_tag_re(name).sub(_BLANK, text)
    if "[" in text or "<" in text or "(" in text:
        text = _BRACKET_TAG_RE.sub(_BLANK, text)
    if "]" in text:
        text = _CUT_TAG_RE.sub(_BLANK, text)
    steps_at = -1
    if "\n" in text:
        echo = _ECHO_RE.match(text)
        if echo:
            text = text[echo.end() :]
        marked = _MARKED_LINE_AFTER_NEWLINE_RE.search(text) is not None
        # Two option lines: one of them follows a newline.
        if marked and _OPTION_LINE_AFTER_NEWLINE_RE.search(text) and len(_OPTION_LINE_RE.findall(text)) >= 2:
            text = _OPTION_LINE_RE.sub(_BLANK, text)
        if _LIST_MARKER_RE.match(text) or (marked and _LIST_MARKER_AFTER_NEWLINE_RE.search(text)):
            steps_at = _LIST_MARKER_RE.search(text).start()
            text = _LIST_MARKER_RE.sub(_BLANK, text)
    if "(" in text:
        text = _COORDINATES_RE.sub(_BLANK, text)
    blanked: list[str] = []
    present = words & _NON_LENGTH_WORDS
    if "%" in text or "^" in text or not text.isascii():  # the symbols ASCII text can hold, or any
        present = present.union([symbol for symbol in _NON_LENGTH_SYMBOLS if symbol in text])
    if present:
        text, blanked = _blank_non_length(text, present)
    non_length = _leading_numbers(blanked) if blanked else frozenset()
    if "/" in text:
        text = _MIXED_FRACTION_RE.sub(_mixed, text)
        text = _FRACTION_RE.sub(_fraction, text)
        text = _RATIO_RE.sub(_BLANK, text)
    if " of a" in text:
        text = _OF_A_UNIT_RE.sub(r"\1 ", text)
    return text, steps_at, non_length


__all__ = ["KEY_WORDS", "clean_answer", "drop_repeated_lines"]
