"""Parity of the metric's outputs across code versions: every per-item field, key order included.

    python benchmarks/metric_parity.py before.json    # in a checkout of the old code
    python benchmarks/metric_parity.py after.json     # in the new one
    cmp before.json after.json                        # byte-identical, or the change moved a result

A speed-up of the metric must leave this file unchanged. The inputs are built here, deterministically
(keep the generators of `bench_metric.py` and the tests' case tables the same on both sides): the
labelled real answers (with and without questions, cut anywhere, upper-cased), the synthetic long and
short answers of `bench_metric.py` (two seeds; with and without questions and categories), long
answers cut anywhere, the strings of the metric tests' case tables against six references under six
questions, random joins of the fuzz fragments of `tests/test_msmu_rule.py`, `parse_answer` with its
options, a judge run and the metric cases of `fuzz_inputs.py`. Errors are recorded as type and message.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "benchmarks")]

from bench_metric import load_real_answers, make_items, make_long_items, real_inputs  # noqa: E402

from metrics.msmu_accuracy.parsing import parse_answer  # noqa: E402
from metrics.msmu_accuracy.scoring import compute_msmu_accuracy  # noqa: E402

REFERENCES = ["1.5 m", "0.8 m x 0.6 m x 0.5 m", "3", "yes", "Region [0] is to the left of Region [1].", "0.1 m"]
CATEGORIES = ["absolute_distance", "scale_estimation", "count", "zero", "relative_position", "grounding"]
QUESTIONS = [None, "How tall is it?", "How wide is the table?", "How far is Region [0] from Region [1]?",
             "How many chairs are there?", "Is the chair to the left of the bed?"]  # fmt: skip


def _safe(run):
    try:
        return run()
    except Exception as error:  # the error is an output too
        return {"error": type(error).__name__, "message": str(error)}


def _cut(texts: list[str], seed: int) -> list[str]:
    rng = random.Random(seed)
    return [text[: rng.randint(0, len(text))] for text in texts]


def _calls() -> dict[str, tuple]:
    """name -> (predictions, references, categories, questions)."""
    p, r, c, q = real_inputs(load_real_answers())
    calls = {"real +q": (p, r, c, q), "real": (p, r, c, None), "real upper +q": ([t.upper() for t in p], r, c, q)}
    calls["real cut +q"] = (_cut(p * 3, 8), r * 3, c * 3, q * 3)
    for seed, n in ((0, 30_000), (1, 8_000)):
        for full in (False, True):
            lp, lr, lc, lq = make_long_items(n, seed, full=full)
            calls[f"long {seed} {full} +q"] = (lp, lr, lc, lq)
            calls[f"long {seed} {full}"] = (lp[:8000], lr[:8000], lc[:8000], None)
    lp, lr, lc, lq = make_long_items(10_000, 7, full=True)
    calls["long cut +q"] = (_cut(lp, 7), lr, lc, lq)
    sp, sr, sc = make_items(100_000, 0)
    calls["short 0"] = (sp, sr, sc, None)
    sp, sr, sc = make_items(20_000, 1)
    rng = random.Random(5)
    calls["short 1 +q"] = (sp, sr, sc, [rng.choice(QUESTIONS) for _ in sp])
    calls["short 1 no categories"] = (sp[:5000], sr[:5000], None, None)
    strings = sorted(_test_strings())
    for question in QUESTIONS:
        n = len(strings) * len(CATEGORIES)
        calls[f"test strings {question}"] = ([s for s in strings for _ in CATEGORIES], REFERENCES * len(strings),
                                             CATEGORIES * len(strings), [question] * n)  # fmt: skip
    import test_msmu_rule

    rng = random.Random(11)
    joins = ["".join(rng.choice(test_msmu_rule._FRAGMENTS) for _ in range(rng.randint(0, 25))) for _ in range(4000)]
    questions = [rng.choice(QUESTIONS[:3]) for _ in joins]
    calls["fragments"] = ([j for j in joins for _ in CATEGORIES], REFERENCES * len(joins), CATEGORIES * len(joins),
                          [q for q in questions for _ in CATEGORIES])  # fmt: skip
    return calls


def _test_strings() -> set[str]:
    import test_msmu_accuracy
    import test_msmu_parsing
    import test_msmu_real_answers

    tables = [
        test_msmu_accuracy.QUANTITATIVE_CASES, test_msmu_accuracy.QUALITATIVE_CASES, test_msmu_accuracy.QUESTION_CASES,
        test_msmu_parsing.LENGTH_CASES, test_msmu_parsing.COUNT_CASES, test_msmu_real_answers.CLASS_CASES,
    ]  # fmt: skip
    return {case[0] for table in tables for case in table if isinstance(case[0], str)}


def _parsed(parsed) -> list | dict | None:
    if parsed is None or isinstance(parsed, dict):
        return parsed
    return [parsed.values, parsed.is_range, parsed.unitless, parsed.text, parsed.reason, parsed.ambiguous]


def dump() -> dict:
    results = {}
    calls = _calls()
    for name, (predictions, references, categories, questions) in calls.items():
        results[name] = _safe(
            lambda: compute_msmu_accuracy(predictions, references, categories, questions=questions, return_per_item=True)  # noqa: B023
        )
    # parse_answer on the test strings, the real answers, 1,500 fragment joins and 1,500 cut long answers.
    texts = set(calls["real +q"][0]) | set(calls["fragments"][0][: 1500 * len(CATEGORIES) : len(CATEGORIES)])
    texts = sorted(texts | _test_strings() | set(calls["long cut +q"][0][:1500]))
    options = [dict(kind=kind, expect_len=n, question=q) for kind in ("length", "count") for n in (None, 1, 3)
               for q in (None, "How tall is it?", "How far apart are they?")]  # fmt: skip
    options += [dict(kind="count", noun="chair", question="How many chairs?"), dict(default_unit=None, range_policy="reject")]
    results["parse_answer"] = [[_parsed(_safe(lambda: parse_answer(t, **o))) for o in options] for t in texts]  # noqa: B023

    def judge(answer, category, question=None):  # a deterministic stand-in: the plumbing is what is compared
        return "It is 2 m." if len(answer) % 2 else "yes"

    p, r, c, q = calls["real +q"]
    results["judge"] = compute_msmu_accuracy(p, r, c, questions=q, return_per_item=True, judge=judge)
    import fuzz_inputs

    results["fuzz_inputs"] = [(case.name, _safe(case.run)) for case in fuzz_inputs.metric_cases(None)]
    return results


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit(__doc__)
    with open(argv[0], "w", encoding="utf-8") as handle:
        json.dump(dump(), handle, allow_nan=True, default=repr)  # insertion order kept: key order is output too


__all__ = ["dump", "main"]


if __name__ == "__main__":
    main()
