"""`sdvlm-ablation`: the paper's ablation (Table 4) and its noise study at small scale, in one command.

    sdvlm-ablation --output_dir outputs/ablation

On the quickstart's data and tiny preset (all eight MSMU-Bench categories), each row of `ROWS`
is trained from the same from-scratch initialisation (one per seed) and evaluated on the held-out
scenes beside the `constant` baseline:

- `no_depth`: no depth at all.
- `depth_image`: the depth map rendered in grey (fixed 0-10 m range, near = bright) and blended
  50/50 into the photo: one image, the same image tokens (`sdvlm.depth_image.fuse_depth`).
- `depth_tokens`: the rendered depth map as a second image through the same vision tower and
  projector: twice the image tokens (`sdvlm.depth_image.render_depth`).
- `depth_prompt`: the depth map area-pooled onto the 4x4 token grid, written into the question in
  meters (`sdvlm.depth_prompt`): DPE's information through text, from the map alone.
- `dpe_estimated`: DPE on relative depth as the authors feed it: affine-invariant inverse depth
  (1/d, what a perfect relative estimator such as Depth-Anything-V2 returns up to scale and shift)
  with their per-image min-max and alpha = 100 (`depth_convention="inverse"`).
- `dpe`: DPE on metric depth (the quickstart's model).
- `dpe_cot`: `dpe` trained on the builder's chain-of-thought answers (SD-VLM + CoT); its final
  value is what the metric reads.

Spread: every row over `--seeds` (initialisation and data order); `no_depth` and `dpe` also over
`--draws` (other data seeds: other rooms, cameras and questions). Noise: the DPE rows are also
evaluated with patch-level relative noise on the test depth (`sdvlm.depth_noise`, one log-normal
factor per token cell; sigma 0.7 halves or doubles a cell at one standard deviation) at each
`--noise_sigmas`, giving `noise_curve.png`. `results.json` maps each label (`row`, `row+noise<s>`,
`row@draw<d>`) to the mean and standard deviation over its runs and the runs themselves.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import resource
import shutil
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from itertools import zip_longest
from pathlib import Path

import torch
from datasets import load_dataset

from .presets import TinyPreset
from .quickstart import build_data, evaluate_constant, evaluate_variant, make_init, run_command, train_variant
from .report import format_table, plot_noise_curve, plot_per_category

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Row:
    """One row of the ablation: how depth reaches the model (see the module docstring)."""

    name: str
    train: dict  # `train_variant` keyword arguments
    inputs: str = "photo"  # "photo", "fused" (depth blended into the photo) or "two_images"
    cot: bool = False
    noise: bool = False  # also evaluated under test-depth noise
    draws: bool = False  # also trained on the other data draws
    # Training time relative to `no_depth` (one-seed run at 1,000 steps: longer sequences cost more),
    # so the two workers start the longest trainings first and no long one is left alone at the end.
    relative_cost: float = 1.0


ROWS = (
    Row("no_depth", dict(use_depth=False), draws=True),
    Row("depth_image", dict(use_depth=False), inputs="fused"),
    Row("depth_tokens", dict(use_depth=False), inputs="two_images", relative_cost=2.1),
    Row("depth_prompt", dict(use_depth=False, depth_prompt=True), relative_cost=3.0),
    Row("dpe_estimated", dict(use_depth=True, depth_convention="inverse", depth_normalization="minmax",
                              depth_scale=100.0), noise=True),
    Row("dpe", dict(use_depth=True), noise=True, draws=True),
    Row("dpe_cot", dict(use_depth=True), cot=True, relative_cost=2.1),
)
ROW_NAMES = tuple(row.name for row in ROWS)
# The training loss is nearly flat after 200 steps (dpe, 1,000-step run: 1.64 at 100, 0.47 at 200,
# 0.41 at 600); 600 steps keep the 25 trainings well inside an hour on 2 cores.
ABLATION_STEPS = 600
# The builder's reasoning answers run to about 200 characters (~90 tokens of the tiny tokenizer).
COT_MAX_NEW_TOKENS = 96


@dataclass
class AblationArguments:
    output_dir: str = field(default="outputs/ablation", metadata={"help": "Where everything is written."})
    rows: list[str] = field(default_factory=lambda: list(ROW_NAMES), metadata={"help": "Rows to run."})
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2], metadata={"help": "Training seeds."})
    draws: list[int] = field(default_factory=lambda: [1, 2],
                             metadata={"help": "Extra data seeds for no_depth and dpe (the main draw is the preset's)."})
    noise_sigmas: list[float] = field(default_factory=lambda: [0.1, 0.3, 0.5, 0.7],
                                      metadata={"help": "Patch-level relative test-depth noise levels."})
    max_steps: int | None = field(default=ABLATION_STEPS, metadata={"help": "Training steps per run."})
    num_scenes: int | None = field(default=None, metadata={"help": "Synthetic rooms (preset default)."})
    max_test_items: int | None = field(default=None, metadata={"help": "Held-out questions (preset default)."})
    num_workers: int = field(default=min(2, os.cpu_count() or 1),
                             metadata={"help": "Trainings run at once, in worker processes (1: in this process)."})
    num_threads: int | None = field(default=None, metadata={"help": "torch CPU threads of this process."})


def aggregate(runs: list[dict]) -> dict:
    """Mean and (sample) standard deviation over runs of msmu_score and every category."""
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
        "num_runs": len(runs),
        "runs": runs,
    }


def with_depth_images(data_dir: Path, inputs: str, output_dir: Path) -> Path:
    """A copy of the MSMU folder whose rows carry depth as image(s) (`inputs` "fused" or
    "two_images"); the depth column is dropped, so nothing else can read it."""
    from .collator import example_depth
    from .depth_image import fuse_depth, render_depth

    def transform(example):
        depth = example_depth(example)
        if inputs == "fused":
            return {"image": fuse_depth(example["image"], depth)}
        return {"depth_image": render_depth(depth, example["image"].size)}

    folder = output_dir / f"msmu-{inputs}"
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "data").mkdir(parents=True)
    for split, rows in load_dataset(str(data_dir)).items():
        rows = rows.map(transform, desc=f"Depth as image ({inputs}, {split})").remove_columns("depth")
        rows.to_parquet(str(folder / "data" / f"{split}-00000-of-00001.parquet"))
    return folder


def plan(args: AblationArguments) -> list[tuple[Row, int, int]]:
    """Every (row, seed, draw) the arguments ask for; draw 0 is the preset's data. In groups: the
    first seed's rows, the first extra draw, the second seed, the second draw, ... (a run cut short
    leaves whole seeds and draws), the longest trainings first within each group."""
    unknown = sorted(set(args.rows) - set(ROW_NAMES))
    if unknown:
        raise ValueError(f"unknown ablation rows {unknown}; the rows are {list(ROW_NAMES)}")
    rows = sorted((row for row in ROWS if row.name in args.rows), key=lambda row: -row.relative_cost)
    seeds = [[(row, seed, 0) for row in rows] for seed in args.seeds]
    draws = [[(row, args.seeds[0], draw) for row in rows if row.draws] for draw in args.draws]
    groups = [group for pair in zip_longest(seeds, draws) for group in pair if group]
    return [run for group in groups for run in group]


def threads_per_worker(num_workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, num_workers))


def cpu_seconds() -> float:
    """CPU time of this process and of its finished worker processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_one(job) -> list[tuple[str, dict]]:
    """Train one (row, seed, draw) and evaluate it (also under each noise level): [(label, summary)]."""
    row, seed, draw, preset, data_dir, init_dir, run_dir, sigmas = job
    model_dir, seconds = train_variant(preset, data_dir, init_dir, run_dir, **row.train)
    test = load_dataset(str(data_dir))["test"]
    out = []
    for sigma in sigmas:
        label = row.name + (f"+noise{sigma:g}" if sigma else "") + (f"@draw{draw}" if draw else "")
        summary = evaluate_variant(model_dir, test, preset, run_dir / f"eval-{label}", label,
                                   depth_noise_sigma=sigma, depth_noise_grid=preset.image_size // preset.patch_size,
                                   depth_prompt=row.train.get("depth_prompt", False))
        out.append((label, {"seed": seed, "draw": draw, "train_seconds": round(seconds, 1), **summary}))
    return out


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)
    logging.basicConfig(level=os.environ.get("LOGLEVEL", "WARNING"))


def run_jobs(jobs, num_workers: int):
    """Yield each job's results as it finishes: in this process for one worker, else in
    `num_workers` spawned processes with the cores split between them (tiny models use two
    processes of one thread better than one of two). `jobs` may be a generator: each job is
    submitted as soon as it is made, so the first trainings run while later data is still built."""
    if num_workers <= 1:
        for job in jobs:
            yield run_one(job)
        return
    context = multiprocessing.get_context("spawn")  # no fork after torch has started its threads
    with ProcessPoolExecutor(num_workers, mp_context=context, initializer=_init_worker,
                             initargs=(threads_per_worker(num_workers),)) as pool:
        for future in as_completed([pool.submit(run_one, job) for job in jobs]):
            yield future.result()


def run_ablation(args: AblationArguments, preset: TinyPreset | None = None) -> dict:
    preset = preset or TinyPreset()
    overrides = {key: getattr(args, key) for key in ("max_steps", "num_scenes", "max_test_items")
                 if getattr(args, key) is not None}
    preset = replace(preset, **overrides)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    runs = plan(args)
    data: dict[tuple[int, bool, str], Path] = {}

    def data_for(draw: int, row: Row) -> Path:
        """The MSMU folder of one data draw, in the row's form (built once, then reused)."""
        key = (draw, row.cot, row.inputs)
        if key not in data:
            if (draw, row.cot, "photo") not in data:
                name = f"draw{draw}" + ("-cot" if row.cot else "")
                data[(draw, row.cot, "photo")] = build_data(replace(preset, seed=preset.seed + draw, cot=row.cot),
                                                            output_dir / name)
            base = data[(draw, row.cot, "photo")]
            data[key] = base if row.inputs == "photo" else with_depth_images(base, row.inputs, base.parent)
        return data[key]

    inits = {}

    def jobs():
        """Data and initialisations in this process, made as the (longest-first) runs need them."""
        for row, seed, draw in runs:
            data_dir = data_for(draw, row)
            seeded = replace(preset, seed=seed, cot=row.cot,
                             max_new_tokens=COT_MAX_NEW_TOKENS if row.cot else preset.max_new_tokens)
            init_key = (seed, draw, row.cot)
            if init_key not in inits:  # the vocabulary depends on the data (CoT answers have more words)
                inits[init_key] = make_init(seeded, data_for(draw, replace(row, inputs="photo")),
                                            output_dir / f"draw{draw}" / f"init-seed{seed}{'-cot' if row.cot else ''}")
            sigmas = [0.0] + (list(args.noise_sigmas) if row.noise and draw == 0 else [])
            yield (row, seed, draw, seeded, data_dir, inits[init_key],
                   output_dir / f"draw{draw}" / f"seed{seed}" / row.name, sigmas)

    results: dict[str, list[dict]] = {}
    for done in run_jobs(jobs(), args.num_workers):
        for label, summary in done:
            results.setdefault(label, []).append(summary)
            results[label].sort(key=lambda run: (run["draw"], run["seed"]))
        logger.warning("%d/%d runs done after %.0f s", sum(len(v) for k, v in results.items() if "+noise" not in k),
                       len(runs), time.perf_counter() - start)
        # What is done so far, for a reader of a run still in progress (the final file replaces it).
        (output_dir / "partial_results.json").write_text(json.dumps(results, indent=2, default=float))

    table = {label: aggregate(label_runs) for label, label_runs in results.items()}
    for name in ("no_depth", "dpe"):  # the spread over data draws, seed fixed
        over_draws = [run for label, label_runs in results.items() for run in label_runs
                      if label.split("@")[0] == name and run["seed"] == args.seeds[0]]
        if len(over_draws) > 1:
            table[f"{name} (draws)"] = aggregate(over_draws)
    table["constant"] = aggregate([evaluate_constant(data_for(0, ROWS[0]), output_dir / "constant")])
    report = {**table, "_meta": {"preset": preset.to_dict(), "rows": [row.name for row in ROWS if row.name in args.rows],
                                 "seeds": list(args.seeds), "draws": [0, *args.draws],
                                 "noise_sigmas": list(args.noise_sigmas), "seconds": round(time.perf_counter() - start, 1),
                                 "cpu_seconds": round(cpu_seconds(), 1), "num_workers": args.num_workers,
                                 "torch_threads_per_worker": threads_per_worker(args.num_workers)}}
    (output_dir / "results.json").write_text(json.dumps(report, indent=2, default=float))
    main_rows = {label: row for label, row in table.items() if "+noise" not in label and "@draw" not in label}
    plot_per_category(main_rows, output_dir / "per_category.png", title="Ablation: held-out MSMU success (mean)")
    plot_noise_curve(table, [0.0, *args.noise_sigmas], output_dir / "noise_curve.png")
    spread = {label: {"msmu_score": row["msmu_score_std"], "per_category": row["per_category_std"]}
              for label, row in table.items()}
    print(format_table(table, spread))
    print(f"seeds {list(args.seeds)}, draws {[0, *args.draws]}; {report['_meta']['seconds']:.0f} s")
    return report


def main(argv: list[str] | None = None) -> None:
    run_command(AblationArguments, run_ablation, argv)


__all__ = ["Row", "ROWS", "ROW_NAMES", "COT_MAX_NEW_TOKENS", "AblationArguments", "aggregate", "with_depth_images", "plan",
           "run_one", "run_jobs", "run_ablation", "main"]

if __name__ == "__main__":
    main()
