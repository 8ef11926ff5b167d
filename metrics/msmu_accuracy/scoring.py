"""MSMU-Bench scoring: per-item success by a rule preset, per-category rates, delta thresholds, AbsRel, MRA.

Usable without `evaluate`; the evaluate module (`msmu_accuracy.py`) calls `compute_msmu_accuracy`.

>>> result = compute_msmu_accuracy(
...     predictions=["It is about 1.5 meters away.", "Roughly 5 feet 3 inches tall.", "Yes."],
...     references=["150 cm", "1.6 m", "yes"],
...     categories=["absolute_distance", "scale_estimation", "zero"],
... )
>>> result["msmu_score"], result["success_rate"], result["delta_1.25"]
(1.0, 1.0, 1.0)
>>> compute_msmu_accuracy(predictions=["2 m"], references=["1 m"], rule="qspatial")["success_rate"]
0.0
"""

from __future__ import annotations

import gc
import inspect
import math
import re
from bisect import bisect_left
from collections.abc import Callable, Sequence
from itertools import repeat
from dataclasses import dataclass

from .categories import MSMU_CATEGORIES, QUALITATIVE_CATEGORIES, QUANTITATIVE_CATEGORIES, canonical_category
from .parsing import ParsedAnswer, make_parser
from .qualitative import QualitativeAnswer, match_qualitative, normalise_reference, read_question, text_similarity

DEFAULT_THRESHOLDS = (1.25, 1.25**2, 1.25**3)
# VSI-Bench's MRA thresholds exactly as its `np.linspace(0.5, 0.95, 10)` makes them (0.9 is 0.8999999999999999
# there), so boundary cases such as 1.1 against 1.0 count the same (vision-x-nyu/thinking-in-space @ e6a72f3,
# lmms_eval/tasks/vsibench/utils.py `mean_relative_accuracy`).
MRA_THRESHOLDS = tuple(0.50 + i * ((0.95 - 0.50) / 9) for i in range(9)) + (0.95,)
# The largest relative error each threshold accepts (1 - theta), ascending: counted by bisection.
_MRA_LIMITS = sorted(1.0 - theta for theta in MRA_THRESHOLDS)


def _within(predicted: Sequence[float], reference: Sequence[float], low: float, high: float) -> bool:
    # Bounds as products of the reference (SpatialRGPT's `p <= 1.25 * g and p >= 0.75 * g`), not the ratio p / g:
    # the two round differently at the bounds (0.45 / 0.36 == 1.25, but 1.25 * 0.36 < 0.45).
    return all(p == g or min(low * g, high * g) <= p <= max(low * g, high * g) for p, g in zip(predicted, reference))


@dataclass(frozen=True)
class Rule:
    """A success rule for quantitative answers; `success(pred, ref, delta, threshold)` with delta = mean max-ratio.

    position_tolerance: when set, numeric `position` items succeed when the mean absolute difference
    is at most this many meters (instead of by `success`), and textual ones when `text_similarity`
    reaches `text_threshold`, as in the authors' final evaluation script.
    """

    name: str
    description: str
    success: Callable[[Sequence[float], Sequence[float], float, float], bool]
    position_tolerance: float | None = None
    text_threshold: float = 0.5


def _below(p, g, d, t) -> bool:
    return d < t


RULES: dict[str, Rule] = {
    "msmu": Rule(
        "msmu",
        "the authors' rule: mean max(p/g, g/p) < threshold (1.25); position: mean |p - g| <= 0.1 m, "
        "textual position: word-overlap similarity >= 0.5",
        _below,
        position_tolerance=0.1,
    ),
    "msmu_delta": Rule("msmu_delta", "mean over elements of max(p/g, g/p) < threshold (1.25), position included", _below),
    "spatialrgpt": Rule("spatialrgpt", "0.75 <= p/g <= 1.25 for every element", lambda p, g, d, t: _within(p, g, 0.75, 1.25)),
    "qspatial": Rule("qspatial", "mean max-ratio delta < 2", lambda p, g, d, t: d < 2.0),
    "vqasynth": Rule("vqasynth", "mean max-ratio < 2 (MRA reported beside it)", lambda p, g, d, t: d < 2.0),
}


def element_delta(predicted: float, reference: float) -> float:
    """max(p/g, g/p); 1 for equal values, inf where the signs differ or exactly one is zero."""
    if predicted == reference:
        return 1.0
    if predicted * reference <= 0:
        return math.inf
    ratio = predicted / reference
    if ratio == 0.0 or ratio == math.inf:  # under- or overflow of values far apart
        return math.inf
    return ratio if ratio > 1.0 else 1.0 / ratio


def relative_accuracy(relative_error: float) -> float:
    """MRA of one relative error: the share of thresholds theta in 0.50..0.95 with error <= 1 - theta.

    >>> relative_accuracy(0.5), relative_accuracy(0.25), relative_accuracy(0.0)
    (0.1, 0.6, 1.0)
    """
    # Limits >= the error pass (`relative_error` is finite: `_relative_error` returns no NaN).
    return (len(_MRA_LIMITS) - bisect_left(_MRA_LIMITS, relative_error)) / len(MRA_THRESHOLDS)


def _relative_error(predicted: Sequence[float], reference: Sequence[float]) -> float | None:
    """Mean |p - g| / |g| over elements with g != 0 (None when every reference element is 0)."""
    if len(reference) == 1:
        g = reference[0]
        mean = abs(predicted[0] - g) / abs(g) if g != 0 else None
    else:
        errors = [abs(p - g) / abs(g) for p, g in zip(predicted, reference) if g != 0]
        mean = sum(errors) / len(errors) if errors else None
    # Values at the edge of the float range can overflow; such an item has no relative error to average.
    return mean if mean is None or math.isfinite(mean) else None


_HOW_MANY_RE = re.compile(r"\bhow\s+many\s+((?:[a-z-]+\s*){1,4})")
_NOT_NOUN = frozenset(
    "are is do does did can could were was there in on at near of visible appear you we i the this that".split()
)


def asked_noun(question: str) -> str | None:
    """The object a count question asks about ("How many wooden chairs are there?" -> "chairs")."""
    match = _HOW_MANY_RE.search(question.lower())
    if not match:
        return None
    noun = None
    for word in match.group(1).split():
        if word in _NOT_NOUN:
            break
        noun = word
    return noun


def _category_kind(category: str | None, reference: str, parse_length, rule: Rule) -> str:
    if category == "position" and rule.position_tolerance is not None and parse_length(reference) is None:
        return "text"  # a position described in words ("in the corner, near the door")
    if category in QUANTITATIVE_CATEGORIES:
        return "count" if category == "count" else "length"
    if category in QUALITATIVE_CATEGORIES:
        return "qualitative"
    # Unknown or missing category: a reference with a number is quantitative.
    return "length" if parse_length(reference) is not None else "qualitative"


_STR, _STR_OR_NONE = frozenset({str}), frozenset({str, type(None)})


def _validate(predictions, references, categories, rule, thresholds) -> list:
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; expected one of {sorted(RULES)}")
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} predictions but {len(references)} references")
    if categories is None:
        categories = [None] * len(references)
    elif len(categories) != len(references):
        raise ValueError(f"got {len(categories)} categories but {len(references)} references")
    else:
        categories = [canonical_category(category) for category in categories]
    if not references:
        raise ValueError("nothing to score: predictions and references are empty")
    if not thresholds or any(t <= 1.0 for t in thresholds) or list(thresholds) != sorted(thresholds):
        raise ValueError(f"thresholds must be increasing and > 1, got {thresholds!r}")
    # The types checked in C first (every reference a str, every prediction a str or None); the loop
    # names the first item that is not (it accepts subclasses of str too).
    if not (set(map(type, references)) <= _STR and set(map(type, predictions)) <= _STR_OR_NONE):
        for index, (prediction, reference) in enumerate(zip(predictions, references)):
            if not isinstance(reference, str):
                raise ValueError(f"reference at index {index} is {type(reference).__name__}, expected str")
            if prediction is not None and not isinstance(prediction, str):
                raise ValueError(f"prediction at index {index} is {type(prediction).__name__}, expected str or None")
    return list(categories)


def _judge_caller(judge) -> Callable[[str, str | None, str | None], str | None] | None:
    """`judge(prediction, category)`, with `question=` too when the judge accepts it."""
    if judge is None:
        return None
    try:
        takes_question = "question" in inspect.signature(judge).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        takes_question = False
    if takes_question:
        return lambda prediction, category, question: judge(prediction, category, question=question)
    return lambda prediction, category, question: judge(prediction, category)


def _score_quantitative(prediction, ref: ParsedAnswer, kind, category, rule, threshold, parse, judge, noun, question) -> dict:
    expected = len(ref.values)
    pred = parse(prediction, expected, noun, question) if prediction else None
    # Every key an item always has, in one literal (one allocation, sized for them); the span of an unread answer.
    item = {
        "category": category, "success": False, "pred_m": None, "ref_m": ref.values if expected > 1 else ref.values[0],
        "delta": None, "_kind": kind, "span": None, "span_reason": "no value found", "ambiguous": False,
    }  # fmt: skip
    if pred is not None:
        item["span"], item["span_reason"], item["ambiguous"] = pred.text, pred.reason, pred.ambiguous
    if judge is not None and prediction and (pred is None or pred.ambiguous):
        # The judge's reply is data: it goes through the same parser, nothing is executed.
        item["_asked"] = True
        reply = judge(prediction, category, question)
        judged = parse(reply, expected, noun, question) if isinstance(reply, str) and reply else None
        if judged is not None:
            pred = judged
            item["judged"] = True
            item["span"], item["span_reason"], item["ambiguous"] = pred.text, "judge: " + pred.reason, pred.ambiguous
    if pred is None:
        item["reason"] = "unparseable prediction"
        return item
    values = pred.values
    item["pred_m"] = list(values) if len(values) > 1 else values[0]  # a copy: read results are shared
    item["_pred"] = pred
    if len(values) != expected:
        item["reason"] = f"length mismatch: {len(values)} value(s) for {expected} in the reference"
        return item
    if expected == 1:
        delta = element_delta(values[0], ref.values[0])
    else:
        delta = sum(element_delta(p, g) for p, g in zip(values, ref.values)) / expected
    finite = math.isfinite(delta)
    item["delta"] = delta if finite else None
    item["_delta"] = delta
    item["_rel"] = rel = _relative_error(values, ref.values)
    # An all-zero reference has no relative error: an exact match scores MRA 1, anything else 0.
    if rel is None:
        item["_mra"] = 1.0 if values == ref.values else 0.0
    else:
        item["_mra"] = relative_accuracy(rel)
    if kind == "count":
        item["exact_match"] = values == ref.values and all(v == int(v) for v in values)
    if category == "position" and rule.position_tolerance is not None:
        # The authors score positions by the mean absolute difference in meters, not by a ratio.
        difference = sum(abs(p - g) for p, g in zip(values, ref.values)) / expected
        success = difference <= rule.position_tolerance + 1e-9  # 1e-9: decimal inputs like 1.1 - 1.0
        if not success:
            item["reason"] = f"fails rule {rule.name}: mean |p - g| {difference:.3f} m > {rule.position_tolerance} m"
    else:
        success = bool(rule.success(values, ref.values, delta, threshold))
        if not success:
            item["reason"] = f"fails rule {rule.name}: delta {delta:.3f}" if finite else "sign or zero mismatch with the reference"
    item["success"] = success
    if success:
        item["reason"] = "ok"
    return item


def _score_text(prediction, reference: str, category, rule: Rule) -> dict:
    """A position described in words: the deterministic stand-in for the authors' embedding similarity."""
    item = {"category": category, "success": False, "pred_m": None, "ref_m": None, "delta": None, "_kind": "text"}
    item["span"] = prediction or None
    item["span_reason"] = "whole answer (textual position)"
    item["ambiguous"] = False
    if not prediction or not prediction.strip():
        item["reason"] = "empty prediction"
        return item
    similarity = text_similarity(prediction, reference)
    item["_pred"] = similarity
    item["success"] = similarity >= rule.text_threshold
    item["reason"] = "ok" if item["success"] else f"text similarity {similarity:.2f} < {rule.text_threshold}"
    return item


def _read_once(parse):
    """`parse` with its results kept for the call: the same answer is read once."""
    cache: dict = {}
    unread = object()  # `parse` returns None for an unreadable answer: that is a result too

    def read(text, expect_len=None, noun=None, question=None):
        key = (text, expect_len, noun, question)
        found = cache.get(key, unread)
        if found is unread:
            found = cache[key] = parse(text, expect_len, noun, question)
        return found

    return read


def _score_qualitative(
    prediction, ref: QualitativeAnswer, category, question, judge, question_text, matches: dict, reference: str
) -> dict:
    item = {"category": category, "success": False, "pred_m": None, "ref_m": None, "delta": None}
    item["_kind"] = "qualitative"
    match = None
    if prediction:
        key = (prediction, reference, question_text)
        match = matches.get(key)
        if match is None:
            match = matches[key] = match_qualitative(prediction, ref, question)
    unread = match is None or match.success is None
    item["span"] = prediction if prediction and not unread else None
    item["span_reason"] = "no answer found" if unread else "whole answer"
    item["ambiguous"] = False
    if unread and judge is not None and prediction:
        # As for numbers: the judge's reply is matched like a prediction, never executed.
        item["_asked"] = True
        reply = judge(prediction, category, question_text)
        rescued = match_qualitative(reply, ref, question) if isinstance(reply, str) and reply else None
        if rescued is not None and rescued.success is not None:
            match = rescued
            item["judged"] = True
            item["span"], item["span_reason"] = reply, "judge's reply"
    if match is None:
        item["reason"] = "empty prediction"
        return item
    item["success"] = bool(match.success)
    item["reason"] = match.reason
    if match.success is not None:
        item["_pred"] = match.prediction
    return item


def compute_msmu_accuracy(
    predictions: Sequence[str | None],
    references: Sequence[str],
    categories: Sequence[str | None] | None = None,
    rule: str = "msmu",
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    default_unit: str | None = "m",
    range_policy: str = "midpoint",
    judge: Callable[[str, str | None], str | None] | None = None,
    return_per_item: bool = False,
    questions: Sequence[str | None] | None = None,
) -> dict:
    """Score free-text spatial answers against references, MSMU-Bench style.

    Args:
        predictions: model answers (free text; None counts as unparseable).
        references: ground-truth answers ("0.8 m x 0.63 m x 0.55 m", "1.2 meters", "3", "yes", ...).
        categories: MSMU `type` per item; None or "" (or an unknown name) infers quantitative vs
            qualitative from whether the reference holds a number.
        rule: "msmu" (the authors') | "msmu_delta" | "spatialrgpt" | "qspatial" | "vqasynth" (see `RULES`).
        thresholds: delta thresholds reported as `delta_<t>`; the first is the msmu success threshold.
        default_unit, range_policy: passed to `parse_answer`.
        judge: optional `judge(prediction, category) -> str` (given `question=` too when it takes
            one), asked only for ambiguous or unreadable predictions; its reply is parsed like a
            prediction (never executed). `judge.TransformersJudge` wraps a local model.
        return_per_item: add `items`, one dict per input.
        questions: optional question per item; sharpens qualitative matching (yes/no answers that
            state the opposite relation, which-one answers resolved against the named objects).

    Returns:
        dict with msmu_score, msmu_score_over_8, success_rate, per_category, delta_<t> for each
        threshold, abs_rel, mra, parse_failures, num_ranges, num_unitless, ambiguous_share,
        judge_calls (and items, each with span, span_reason and ambiguous).

    Raises:
        ValueError: mismatched lengths, unknown rule, or a reference that cannot be parsed (with its index).
    """
    categories = _validate(predictions, references, categories, rule, thresholds)
    if questions is not None and len(questions) != len(references):
        raise ValueError(f"got {len(questions)} questions but {len(references)} references")
    # The per-item dicts hold no reference cycles; pausing the cyclic collector while they are
    # built avoids repeated full-heap scans (about a third of the time on 100,000 items).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _score_all(
            predictions, references, categories, questions, rule, thresholds, default_unit, range_policy, judge, return_per_item
        )
    finally:
        if collecting:
            gc.enable()


def _score_all(
    predictions, references, categories, questions, rule, thresholds, default_unit, range_policy, judge, return_per_item
) -> dict:
    chosen_rule = RULES[rule]
    judge = _judge_caller(judge)
    parsers = {kind: make_parser(default_unit, range_policy, kind) for kind in ("length", "count")}
    # Real runs repeat answers ("Yes.", "1.2 meters"): each distinct one is read once per call.
    reads = {kind: _read_once(parse) for kind, parse in parsers.items()}
    matches: dict = {}
    ref_cache: dict = {}  # references repeat a lot ("yes", "3"): parse each distinct one once
    items = []
    threshold = thresholds[0]
    per_question = questions if questions is not None else repeat(None)
    for index, (prediction, reference, category, question_text) in enumerate(
        zip(predictions, references, categories, per_question)
    ):
        cached = ref_cache.get((reference, category))
        if cached is None:
            kind = _category_kind(category, reference, parsers["length"], chosen_rule)
            try:
                if kind == "text":
                    ref = reference
                elif kind == "qualitative":
                    ref = normalise_reference(reference)
                else:
                    ref = parsers[kind](reference)
            except ValueError as error:
                raise ValueError(f"reference at index {index} ({reference!r}): {error}") from None
            if ref is None:
                raise ValueError(
                    f"reference at index {index} ({reference!r}, category {category!r}) has no number to score against"
                )
            label = category or ("qualitative" if kind == "qualitative" else "quantitative")
            cached = ref_cache[(reference, category)] = (kind, ref, label)
        kind, ref, label = cached
        question_text = question_text or None
        if kind == "text":
            items.append(_score_text(prediction, ref, label, chosen_rule))
        elif kind == "qualitative":
            question = read_question(question_text) if question_text else None
            items.append(_score_qualitative(prediction, ref, label, question, judge, question_text, matches, reference))
        else:
            noun = asked_noun(question_text) if kind == "count" and question_text else None
            items.append(
                _score_quantitative(
                    prediction, ref, kind, label, chosen_rule, threshold, reads[kind], judge, noun, question_text
                )
            )
    return _aggregate(items, thresholds, return_per_item)


_NUMERIC_KINDS = ("length", "count")


def _mean(values: list) -> float | None:
    return sum(values) / len(values) if values else None


def _aggregate(items: list[dict], thresholds: Sequence[float], return_per_item: bool) -> dict:
    per_category: dict[str, dict] = {}
    for item in items:
        entry = per_category.get(item["category"])
        if entry is None:  # not `setdefault`: that builds the new entry for every item
            entry = per_category[item["category"]] = {"successes": 0, "count": 0, "parse_failures": 0}
        entry["successes"] += item["success"]
        entry["count"] += 1
        entry["parse_failures"] += "_pred" not in item
        if item["_kind"] in _NUMERIC_KINDS:
            mismatch = item["reason"].startswith("length mismatch")
            entry["length_mismatches"] = entry.get("length_mismatches", 0) + mismatch
        if item["_kind"] == "count":
            entry["exact_match"] = entry.get("exact_match", 0) + item.get("exact_match", False)
    for entry in per_category.values():
        entry["rate"] = entry.pop("successes") / entry["count"]
        if "exact_match" in entry:
            entry["exact_match"] /= entry["count"]
    per_category = {name: per_category[name] for name in sorted(per_category)}
    quantitative = [item for item in items if item["_kind"] in _NUMERIC_KINDS]
    parsed = [item for item in quantitative if "_pred" in item]
    result = {
        "msmu_score": _mean([entry["rate"] for entry in per_category.values()]),
        # The authors' average: the eight types' rates summed and divided by 8, a missing type adding 0.
        "msmu_score_over_8": sum(per_category[name]["rate"] for name in MSMU_CATEGORIES if name in per_category) / 8,
        "success_rate": _mean([item["success"] for item in items]),
        "per_category": per_category,
    }
    # Unparseable and length-mismatched predictions count as misses, not as missing.
    deltas = [item.get("_delta", math.inf) for item in quantitative]
    for threshold in thresholds:
        result[f"delta_{threshold!r}"] = _mean([delta < threshold for delta in deltas])
    result["abs_rel"] = _mean([item["_rel"] for item in parsed if item.get("_rel") is not None])
    # Unreadable and length-mismatched predictions score 0 in MRA.
    result["mra"] = _mean([item.get("_mra", 0.0) for item in quantitative])
    # Counts by list comprehensions: `sum` over a generator resumes it once per item.
    result["parse_failures"] = sum(["_pred" not in item for item in items])
    result["num_ranges"] = sum([item["_pred"].is_range for item in parsed])
    result["num_unitless"] = sum([item["_pred"].unitless for item in parsed if item["_kind"] == "length"])
    result["ambiguous_share"] = _mean([item["ambiguous"] for item in items])
    result["judge_calls"] = sum(["_asked" in item for item in items])
    if return_per_item:
        result["items"] = [{k: v for k, v in item.items() if not k.startswith("_")} for item in items]
    return result


__all__ = [
    "DEFAULT_THRESHOLDS",
    "MRA_THRESHOLDS",
    "relative_accuracy",
    "RULES",
    "Rule",
    "asked_noun",
    "compute_msmu_accuracy",
    "element_delta",
]
