"""Score saved evaluation results again with the current metric: `python -m sdvlm.rescore PATH...`.

A `results.json` written by `sdvlm-evaluate` (or the quickstart's and ablation's evaluations) keeps each
item's question, reference, prediction and category. `rescore_results` scores those predictions again
through the evaluation's own `score_predictions` (the file's `rule`, "msmu" where none was recorded), so a
metric change reaches saved runs without generating again. The command prints, per file (a folder means
every `results.json` under it that has items), the scores that moved; it writes nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from datasets import Dataset

from .evaluation import score_predictions

ITEM_FIELDS = ("question", "reference", "prediction", "category")


def rescore_results(path: str | Path) -> dict:
    """The scores of `path`'s saved predictions under the current metric, in the form
    `write_outputs` saves them (so they compare equal to the file's `scores` when nothing moved)."""
    saved = json.loads(Path(path).read_text())
    items = saved.get("items") if isinstance(saved, dict) else None
    if not items:
        raise ValueError(f"{path}: no 'items' to score (not an evaluation's results.json?)")
    for item in items:
        missing = [key for key in ITEM_FIELDS if key not in item]
        if missing:
            raise ValueError(f"{path}: item {item.get('index', '?')} lacks {missing}")
    rows = Dataset.from_dict({"question": [item["question"] for item in items],
                              "answer": [item["reference"] for item in items],
                              "category": [item["category"] for item in items]})
    scores, _ = score_predictions([item["prediction"] for item in items], rows, rule=saved.get("rule", "msmu"))
    return json.loads(json.dumps(scores, default=float))


def moved(old, new, prefix: str = "") -> dict[str, tuple]:
    """{dotted key: (old, new)} for every leaf that differs between two score dicts."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = {}
        for key in dict.fromkeys([*old, *new]):
            out.update(moved(old.get(key), new.get(key), f"{prefix}{key}."))
        return out
    return {} if old == new else {prefix.rstrip("."): (old, new)}


def results_files(paths: list[str]) -> list[Path]:
    files = []
    for path in map(Path, paths):
        candidates = sorted(path.rglob("results.json")) if path.is_dir() else [path]
        files += [file for file in candidates if path.is_file() or "items" in json.loads(file.read_text())]
    return files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="results.json files or folders holding them")
    args = parser.parse_args(argv)
    for file in results_files(args.paths):
        saved = json.loads(file.read_text())["scores"]
        changes = moved(saved, rescore_results(file))
        print(json.dumps({"file": str(file), "changed": {key: list(pair) for key, pair in changes.items()}}))


__all__ = ["rescore_results", "moved", "results_files", "main"]

if __name__ == "__main__":
    main()
