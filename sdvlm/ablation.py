"""`sdvlm-ablation`: the paper's depth ablation at small scale, several seeds, mean and spread.

    sdvlm-ablation --output_dir outputs/ablation

On the quickstart's data and tiny preset (built once), for each seed (initialisation and data
order) it trains
- `no_depth`: LLaVA without depth;
- `dpe_minmax`: DPE with the authors' per-image min-max normalisation (alpha = 100);
- `dpe_metric`: DPE on metric depth (`depth_normalization="none"`, the preset's scale);
- `depth_prompt`: no DPE; each object's depth (median of the depth map around its projected
  center) written into the question as text, in training and at test time;
and evaluates each on the held-out scenes, the two DPE models also under i.i.d. Gaussian noise on
the test depth (`+noise<sigma>`, sigma in meters per pixel). The `constant` baseline is fitted
once. `results.json` maps each variant to the mean over seeds ("msmu_score", "per_category"), the
standard deviation ("msmu_score_std", "per_category_std") and the per-seed runs.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from datasets import load_dataset
from transformers import HfArgumentParser

from .presets import TinyPreset
from .quickstart import build_data, evaluate_constant, evaluate_variant, make_init, train_variant
from .report import format_table, plot_per_category

logger = logging.getLogger(__name__)

# name -> train_variant keyword arguments
TRAINED = {
    "no_depth": dict(use_depth=False),
    "dpe_minmax": dict(use_depth=True, depth_normalization="minmax", depth_scale=100.0),
    "dpe_metric": dict(use_depth=True),
    "depth_prompt": dict(use_depth=False, depth_prompt=True),
}


@dataclass
class AblationArguments:
    output_dir: str = field(default="outputs/ablation", metadata={"help": "Where everything is written."})
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2], metadata={"help": "Training seeds."})
    noise_sigmas: list[float] = field(default_factory=lambda: [0.25, 1.0],
                                      metadata={"help": "Test-depth noise std (meters per pixel)."})
    max_steps: int | None = field(default=None, metadata={"help": "Training steps per run (preset default)."})
    num_scenes: int | None = field(default=None, metadata={"help": "Synthetic rooms (preset default)."})
    num_threads: int | None = field(default=None, metadata={"help": "torch CPU threads."})


def aggregate(runs: list[dict]) -> dict:
    """Mean and (sample) standard deviation over seeds of msmu_score and every category."""
    def spread(values):
        return statistics.stdev(values) if len(values) > 1 else 0.0

    scores = [run["msmu_score"] for run in runs]
    categories = sorted({c for run in runs for c in run["per_category"]})
    per_category = {c: [run["per_category"][c] for run in runs if c in run["per_category"]] for c in categories}
    return {
        "msmu_score": statistics.fmean(scores),
        "msmu_score_std": spread(scores),
        "per_category": {c: statistics.fmean(v) for c, v in per_category.items()},
        "per_category_std": {c: spread(v) for c, v in per_category.items()},
        "num_seeds": len(runs),
        "runs": runs,
    }


def run_ablation(args: AblationArguments, preset: TinyPreset | None = None) -> dict:
    preset = preset or TinyPreset()
    overrides = {key: getattr(args, key) for key in ("max_steps", "num_scenes") if getattr(args, key) is not None}
    preset = replace(preset, **overrides)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    data_dir = build_data(preset, output_dir)  # one dataset (preset seed); seeds vary the training
    test = load_dataset(str(data_dir))["test"]
    runs: dict[str, list[dict]] = {}
    for seed in args.seeds:
        seeded = replace(preset, seed=seed)
        init_dir = make_init(seeded, data_dir, output_dir / f"seed{seed}" / "init")
        for name, kwargs in TRAINED.items():
            run_dir = output_dir / f"seed{seed}" / name
            model_dir, seconds = train_variant(seeded, data_dir, init_dir, run_dir, **kwargs)
            evals = [(name, 0.0)]
            if kwargs["use_depth"]:
                evals += [(f"{name}+noise{sigma:g}", sigma) for sigma in args.noise_sigmas]
            for label, sigma in evals:
                summary = evaluate_variant(model_dir, test, seeded, run_dir / f"eval-{label}", label,
                                           depth_noise_sigma=sigma, depth_prompt=kwargs.get("depth_prompt", False))
                runs.setdefault(label, []).append({"seed": seed, "train_seconds": round(seconds, 1), **summary})
            logger.warning("seed %d %s done after %.0f s", seed, name, time.perf_counter() - start)
    results = {label: aggregate(label_runs) for label, label_runs in runs.items()}
    results["constant"] = aggregate([evaluate_constant(data_dir, output_dir / "constant")])
    report = {**results, "_meta": {"preset": preset.to_dict(), "seeds": list(args.seeds),
                                   "noise_sigmas": list(args.noise_sigmas), "num_test_items": len(test),
                                   "seconds": round(time.perf_counter() - start, 1),
                                   "torch_threads": torch.get_num_threads()}}
    (output_dir / "results.json").write_text(json.dumps(report, indent=2, default=float))
    plot_per_category(results, output_dir / "per_category.png", title="Ablation: held-out MSMU success (mean)")
    spread = {label: {"msmu_score": row["msmu_score_std"], "per_category": row["per_category_std"]}
              for label, row in results.items()}
    print(format_table(results, spread))
    print(f"seeds {list(args.seeds)}; {report['_meta']['seconds']:.0f} s")
    return report


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=os.environ.get("LOGLEVEL", "WARNING"))
    (args,) = HfArgumentParser(AblationArguments).parse_args_into_dataclasses(argv)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    run_ablation(args)


__all__ = ["TRAINED", "AblationArguments", "aggregate", "run_ablation", "main"]

if __name__ == "__main__":
    main()
