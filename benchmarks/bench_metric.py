"""Benchmark: score N varied, realistic MSMU predictions (parsing included) on one core; prints the rate.

    python benchmarks/bench_metric.py                 # 100,000 predictions, compute_msmu_accuracy
    python benchmarks/bench_metric.py --evaluate      # the same through evaluate.load(...).compute

Target: >= 20,000 predictions per second on one core. Predictions and references are drawn
from templates with random values, units and phrasings in MSMU's eight categories; references
repeat about as much as in a real split (yes/no, small counts), and the script prints how many
distinct references there are, since the scorer parses each distinct reference once.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metrics.msmu_accuracy.scoring import compute_msmu_accuracy  # noqa: E402

_OBJECTS = ["table", "chair", "bed", "sofa", "lamp", "cabinet", "desk", "monitor", "pillow", "door"]
_COLORS = ["white", "black", "wooden", "blue", "gray", "red"]
_LENGTH_FORMS = [
    "{v:.2f} m", "{v:.1f} meters", "{cm:.0f} cm", "It is about {v:.2f} meters away.",
    "The height of the {o} is {v:.2f} m.", "Roughly {ft} feet {inch} inches tall.", "{mm:.0f} mm",
    "The {o} is 2 m from the {o2}, so the answer is {v:.2f} m", "between {lo:.1f} and {hi:.1f} meters",
    "{lo:.1f}-{hi:.1f} m", "approximately {v:.2f}", "{ft}'{inch}\"", "about {words} meters",
]  # fmt: skip
_SIZE_FORMS = ["{a:.2f} m x {b:.2f} m x {c:.2f} m", "{a:.2f} x {b:.2f} x {c:.2f} meters", "{ca:.0f} cm by {cb:.0f} cm by {cc:.0f} cm"]
_WORDS = ["one", "two", "three", "one and a half", "two and a half", "half a"]
_YES_NO = [
    ("yes", ["Yes.", "Yes, it is.", "No, it is not.", "It is to the left of the {o2}."]),
    ("no", ["No.", "Yes.", "There is no {o} in the image.", "I am not sure."]),
]
_QUALITATIVE = {
    "zero": _YES_NO,
    "relative_position": _YES_NO + [("left", ["Left.", "It is on the right.", "to the left of the {o2}", "behind"])],
    "scale_compare": [
        ("The {c} {o} is taller.", ["The {o}.", "the {c} {o}", "The {o2} is shorter.", "The {c2} {o} is taller."]),
        ("The {c} {o} is bigger than the {o2}.", ["The {c} {o} is bigger.", "The {o2}.", "the {o}"]),
    ],
}


def _length_answer(rng: random.Random, value: float) -> str:
    feet_total = value / 0.3048
    fields = {
        "v": value, "cm": value * 100, "mm": value * 1000, "o": rng.choice(_OBJECTS), "o2": rng.choice(_OBJECTS),
        "ft": int(feet_total), "inch": int(round((feet_total - int(feet_total)) * 12)) % 12,
        "lo": value * 0.9, "hi": value * 1.1, "words": rng.choice(_WORDS),
    }  # fmt: skip
    return rng.choice(_LENGTH_FORMS).format(**fields)


def make_items(n: int, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    """n (prediction, reference, category) triples in MSMU's category mix."""
    rng = random.Random(seed)
    predictions, references, categories = [], [], []
    for _ in range(n):
        category = rng.choice(
            ["scale_estimation", "absolute_distance", "count", "position", "refer_obj_estimation",
             "relative_position", "scale_compare", "zero"]
        )  # fmt: skip
        obj, obj2, color, color2 = rng.choice(_OBJECTS), rng.choice(_OBJECTS), rng.choice(_COLORS), rng.choice(_COLORS)
        if category == "count":
            truth = rng.randint(0, 12)
            reference = str(truth)
            prediction = rng.choice([f"{truth + rng.randint(-1, 1)}", f"There are {rng.randint(0, 12)} {obj}s.", "three"])
        elif category in ("relative_position", "scale_compare", "zero"):
            reference, answers = rng.choice(_QUALITATIVE[category])
            reference = reference.format(c=color, o=obj, o2=obj2)
            prediction = rng.choice(answers).format(c=color, c2=color2, o=obj, o2=obj2)
        elif category == "scale_estimation" and rng.random() < 0.5:
            dims = [round(rng.uniform(0.1, 2.5), 2) for _ in range(3)]
            reference = " x ".join(f"{d} m" for d in dims)
            noisy = [d * rng.uniform(0.7, 1.4) for d in dims]
            prediction = rng.choice(_SIZE_FORMS).format(
                a=noisy[0], b=noisy[1], c=noisy[2], ca=noisy[0] * 100, cb=noisy[1] * 100, cc=noisy[2] * 100
            )
        else:
            truth = round(rng.uniform(0.1, 6.0), 2)
            reference = rng.choice([f"{truth} m", f"{truth} meters", f"The distance is {truth} m."])
            prediction = _length_answer(rng, truth * rng.uniform(0.6, 1.6))
        predictions.append(prediction)
        references.append(reference)
        categories.append(category)
    return predictions, references, categories


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--evaluate", action="store_true", help="go through evaluate.load(...).compute")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the target says
    predictions, references, categories = make_items(args.num, args.seed)
    if args.evaluate:
        import evaluate

        metric = evaluate.load(str(Path(__file__).resolve().parents[1] / "metrics" / "msmu_accuracy"), keep_in_memory=True)
        score = lambda: metric.compute(predictions=predictions, references=references, categories=categories)  # noqa: E731
    else:
        score = lambda: compute_msmu_accuracy(predictions, references, categories)  # noqa: E731
    start, start_cpu = time.perf_counter(), time.process_time()
    result = score()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    print(f"{len(set(references)):,} distinct references")
    # On a shared machine wall time includes waiting for the core; CPU time is the work itself.
    print(
        f"scored {args.num:,} predictions on one core: {args.num / elapsed:,.0f} predictions/s wall "
        f"({elapsed:.2f} s), {args.num / cpu:,.0f} predictions/s of CPU time ({cpu:.2f} s)"
    )
    print(
        f"msmu_score={result['msmu_score']:.4f} success_rate={result['success_rate']:.4f} "
        f"parse_failures={result['parse_failures']} num_ranges={result['num_ranges']} num_unitless={result['num_unitless']}"
    )


__all__ = ["main", "make_items"]


if __name__ == "__main__":
    main()
