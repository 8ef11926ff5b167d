"""`sdvlm-evaluate`: batched greedy answers on an MSMU split, scored with `metrics/msmu_accuracy`.

    sdvlm-evaluate --model_name_or_path outputs/quickstart/best --dataset_name outputs/quickstart/msmu \\
        --split test --output_dir outputs/quickstart/eval_dpe

Prints a per-category table and writes `<output_dir>/results.json` (scores and one record per
item: question, reference, prediction, success, delta, reason), `<output_dir>/per_category.png`,
and the scores into the model card's `model-index` (the checkpoint's README.md).
Depth is prepared once before generation (dataset depth, or estimates cached in `--depth_cache_dir`,
default `<model>/depth_cache` for a local model, else `<output_dir>/depth_cache`); the processor
never estimates depth per batch. The processor converts every map to the model's
`depth_convention` (`modeling_sdvlm.depth_inputs`); the run stops before generating when the
depth cannot feed the model (relative estimates for a "metric" model) or when the depth recorded
at training contradicts the checkpoint's convention.
`--benchmark msmu|qspatial_plus|qspatial_scannet|spatialrgpt|vsibench` evaluates on that benchmark
instead, with its official rules (`sdvlm/benchmarks/`).
`--depth_noise_sigma S` adds Gaussian noise (std S in the depth's units, meters for ground truth)
to every valid test depth pixel: the paper's robustness study. Under `accelerate launch` the split
is sharded over the processes and the answers gathered on the main one.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import HfArgumentParser

from modeling_sdvlm.depth_inputs import bind_depth_convention

from .collator import example_depth, example_depth_kind
from .conversation import example_images
from .model_inputs import question_inputs
from .depth import add_depth_noise
from .depth_noise import add_patch_depth_noise
from .depth_cache import DepthCache
from .depth_prompt import add_depth_prompt
from .model_card import update_model_index
from .report import format_table, plot_per_category
from .train import category_names, depth_kind, filter_categories, load_split, prepare_depth

logger = logging.getLogger(__name__)


@dataclass
class EvalArguments:
    model_name_or_path: str = field(metadata={"help": "A trained SD-VLM folder (full model or LoRA adapter)."})
    dataset_name: str = field(metadata={"help": "MSMU folder (builder output; released data via its source)."})
    split: str = field(default="test", metadata={"help": "Split to evaluate."})
    categories: list[str] | None = field(default=None, metadata={"help": "Only these categories."})
    max_samples: int | None = field(default=None, metadata={"help": "Evaluate the first N rows."})
    batch_size: int = field(default=16, metadata={"help": "Generation batch size per process."})
    max_new_tokens: int = field(default=24, metadata={"help": "Answer length limit."})
    depth_noise_sigma: float = field(default=0.0, metadata={"help": "Gaussian noise std on test depth (meters)."})
    depth_source: str = field(default="auto", metadata={"choices": ["auto", "dataset", "estimate"]})
    depth_cache_dir: str | None = field(default=None, metadata={"help": "Cache of estimated depth maps."})
    depth_prompt: bool = field(default=False, metadata={"help": "Write object depths into the question."})
    rule: str = field(default="msmu", metadata={"help": "Scoring rule preset of the metric."})
    seed: int = field(default=0, metadata={"help": "Seed of the depth noise."})
    output_dir: str | None = field(default=None, metadata={"help": "Default: <model>/eval-<split>."})
    update_model_card: bool = field(default=True, metadata={"help": "Write scores into the card's model-index."})

    def __post_init__(self):
        check_generation_sizes(self.batch_size, self.max_new_tokens)


def check_generation_sizes(batch_size: int, max_new_tokens: int) -> None:
    """A ValueError unless both are integers >= 1."""
    for name, value in (("batch_size", batch_size), ("max_new_tokens", max_new_tokens)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def load_for_inference(path: str | Path, device: str | torch.device = "cpu"):
    """(model, processor) from a trained folder of any family (`modeling_sdvlm.families`): a full
    SD-VLM checkpoint, or a LoRA adapter saved by `sdvlm-train` (its base is loaded with the saved
    DPE config and the adapter merged in)."""
    from modeling_sdvlm.families import family_of_checkpoint

    path = Path(path)
    # A Hub id is "name" or "owner/name"; anything else that is not a folder is a missing local checkpoint.
    if not path.is_dir() and (path.exists() or path.is_absolute() or str(path).startswith(".") or len(path.parts) > 2):
        raise FileNotFoundError(f"no checkpoint folder at {path} (expected a folder written by sdvlm-train or "
                                "sdvlm-convert, with config.json)")
    family = family_of_checkpoint(path)
    adapter_file = path / "adapter_config.json"
    if adapter_file.is_file():
        from peft import PeftModel

        base = json.loads(adapter_file.read_text())["base_model_name_or_path"]
        config = family.config_class.from_pretrained(path)
        model = family.model_class.from_pretrained(base, config=config)
        model = PeftModel.from_pretrained(model, path).merge_and_unload()
    else:
        model = family.model_class.from_pretrained(path)
    processor = family.processor_class.from_pretrained(path)
    bind_depth_convention(processor, model.config)
    return model.to(device).eval(), processor


def rows_of(dataset, start: int, stop: int) -> list[dict]:
    batch = dataset[start:stop]
    return [dict(zip(batch, values)) for values in zip(*batch.values())]


@torch.no_grad()
def generate_answers(model, processor, dataset, *, batch_size: int = 16, max_new_tokens: int = 24,
                     depth_noise_sigma: float = 0.0, depth_noise_grid: int | None = None, seed: int = 0,
                     depth_cache: DepthCache | None = None, indices: list[int] | None = None,
                     progress: bool = True) -> list[str]:
    """Greedy answers to `dataset[i]["question"]` for i in `indices` (default: all), batched with
    left padding. Depth is passed only to a model with `config.use_depth`. Test-depth noise: i.i.d.
    per pixel (std `depth_noise_sigma` meters), or with `depth_noise_grid` one relative factor per
    cell of that grid (`sdvlm.depth_noise`); the noise of item i is drawn from a generator seeded by
    (seed, i), so results do not depend on batching or sharding."""
    check_generation_sizes(batch_size, max_new_tokens)
    use_depth = bool(getattr(model.config, "use_depth", False))
    indices = list(range(len(dataset))) if indices is None else list(indices)
    answers: list[str] = []
    for start in tqdm(range(0, len(indices), batch_size), desc="Generating", disable=not progress):
        chunk = indices[start : start + batch_size]
        rows = [dataset[i] for i in chunk]
        depth, kinds = None, "metric"
        if use_depth:
            depth = [noisy_depth(example_depth(row, depth_cache), depth_noise_sigma, depth_noise_grid,
                                 np.random.default_rng([seed, i])) for row, i in zip(rows, chunk)]
            kinds = [example_depth_kind(row, depth_cache) for row in rows]
        per_row = [example_images(row) for row in rows]
        questions = [row["question"] for row in rows]
        inputs = question_inputs(processor, per_row, questions, depth, depth_kind=kinds).to(model.device)
        output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        answers += [text.strip() for text in processor.batch_decode(new_tokens, skip_special_tokens=True)]
    return answers


def noisy_depth(depth: np.ndarray, sigma: float, grid: int | None, rng: np.random.Generator) -> np.ndarray:
    """The test depth under the requested noise: per pixel (grid None) or per grid cell."""
    return add_depth_noise(depth, sigma, rng) if grid is None else add_patch_depth_noise(depth, sigma, grid, rng)


def item_categories(dataset) -> list[str]:
    names = category_names(dataset)
    return [names[c] for c in dataset["category"]] if names else list(dataset["category"])


def score_predictions(predictions: list[str], dataset, rule: str = "msmu") -> tuple[dict, list[dict]]:
    """Scores (the metric's dict without `items`, plus `per_category` as {category: rate}) and
    one record per item."""
    from metrics.msmu_accuracy.scoring import compute_msmu_accuracy

    categories = item_categories(dataset)
    references = list(dataset["answer"])
    # The questions let the metric pick the asked object of a count and resolve which-one answers.
    result = compute_msmu_accuracy(predictions=predictions, references=references, categories=categories,
                                   questions=list(dataset["question"]), rule=rule, return_per_item=True)
    per_item = result.pop("items")
    scores = dict(result)
    scores["per_category_detail"] = scores["per_category"]
    scores["per_category"] = {category: category_rate(value) for category, value in scores["per_category"].items()}
    items = []
    for index, (question, reference, prediction, category, detail) in enumerate(
        zip(dataset["question"], references, predictions, categories, per_item)
    ):
        items.append({"index": index, "category": category, "question": question, "reference": reference,
                      "prediction": prediction, **detail})
    return scores, items


def category_rate(value) -> float:
    """The success rate of one `per_category` entry (the metric reports rate and count together)."""
    if isinstance(value, dict):
        for key in ("success_rate", "rate", "success", "accuracy"):
            if key in value:
                return float(value[key])
        raise ValueError(f"per-category entry has no success rate: {value}")
    return float(value)


def write_outputs(output_dir: str | Path, scores: dict, items: list[dict], meta: dict, label: str) -> Path:
    """results.json (scores, metadata, per-item records) and per_category.png into `output_dir`."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "results.json"
    path.write_text(json.dumps({**meta, "scores": scores, "items": items}, indent=2, default=float))
    plot_per_category({label: scores}, output_dir / "per_category.png", title=f"{label}: MSMU success per category")
    return path


def default_output_dir(args: EvalArguments) -> Path:
    """`--output_dir`, else `<model>/eval-<split>` for a local model, else `eval/<model name>-<split>`."""
    if args.output_dir:
        return Path(args.output_dir)
    if Path(args.model_name_or_path).is_dir():
        return Path(args.model_name_or_path) / f"eval-{args.split}"
    return Path("eval") / f"{Path(args.model_name_or_path).name}-{args.split}"


def default_depth_cache_dir(args: EvalArguments) -> Path:
    """`--depth_cache_dir`, else `<model>/depth_cache` for a local model folder, else
    `<output_dir>/depth_cache` (a Hub id must not become a `user/model/` folder in the CWD)."""
    if args.depth_cache_dir:
        return Path(args.depth_cache_dir)
    if Path(args.model_name_or_path).is_dir():
        return Path(args.model_name_or_path) / "depth_cache"
    return default_output_dir(args) / "depth_cache"


def training_record(model_name_or_path: str | Path) -> dict:
    """What `sdvlm-train` recorded in `sdvlm_training.json` ({} if there is none)."""
    path = Path(model_name_or_path) / "sdvlm_training.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def check_trained_convention(record: dict, convention: str) -> None:
    """Stop when the checkpoint's `depth_convention` contradicts what training recorded.

    A record from before conventions existed has only `depth_kind`: such a model was fed depth as
    given, so "metric" depth means a "metric" model and an estimate an "inverse" one.
    """
    trained = record.get("depth_convention")
    kind = record.get("depth_kind")
    if trained is None and kind not in (None, "none"):
        trained = "metric" if kind == "metric" else "inverse"
    if trained is not None and trained != convention:
        raise ValueError(
            f"the model was trained on {trained!r} depth (sdvlm_training.json: depth_kind={kind!r}) but its config "
            f"says depth_convention={convention!r}; set \"depth_convention\": \"{trained}\" in its config.json and "
            "processor_config.json"
        )


def evaluate(args: EvalArguments) -> dict:
    """Run the evaluation described by `args`; returns the scores (on the main process)."""
    from accelerate import Accelerator
    from accelerate.utils import gather_object

    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    model, processor = load_for_inference(args.model_name_or_path, accelerator.device)
    dataset = filter_categories(load_split(args.dataset_name, args.split), args.categories)
    if args.max_samples is not None:
        dataset = dataset.select(range(min(args.max_samples, len(dataset))))
    if len(dataset) == 0:
        raise ValueError(f"split {args.split!r} has no rows to evaluate after filtering")
    cache_dir = default_depth_cache_dir(args)
    needs_depth = bool(model.config.use_depth) or args.depth_prompt
    if model.config.use_depth:
        check_trained_convention(training_record(args.model_name_or_path), model.config.depth_convention)
    with accelerator.main_process_first():  # estimate missing depth maps once, not once per process
        convention = model.config.depth_convention if model.config.use_depth else None
        dataset, cache = prepare_depth(dataset, processor, needs_depth, args.depth_source, cache_dir, convention)
    kind = depth_kind(dataset, cache, processor)
    if args.depth_prompt:
        dataset = dataset.map(add_depth_prompt, fn_kwargs={"depth_cache": cache}, desc="Depth as prompt")

    with accelerator.split_between_processes(list(range(len(dataset)))) as shard:
        answers = generate_answers(
            model, processor, dataset, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens,
            depth_noise_sigma=args.depth_noise_sigma, seed=args.seed, depth_cache=cache, indices=shard,
            progress=accelerator.is_local_main_process,
        )
        pairs = gather_object(list(zip(shard, answers)))
    if not accelerator.is_main_process:
        return {}
    predictions = [answer for _, answer in sorted(pairs)]
    scores, items = score_predictions(predictions, dataset, rule=args.rule)
    output_dir = default_output_dir(args)
    label = Path(args.model_name_or_path).name
    meta = {"model": str(args.model_name_or_path), "dataset": str(args.dataset_name), "split": args.split,
            "num_items": len(dataset), "depth_noise_sigma": args.depth_noise_sigma, "rule": args.rule,
            "depth_prompt": args.depth_prompt, "depth_kind": kind}
    write_outputs(output_dir, scores, items, meta, label)
    print(format_table({label: scores}))
    if args.update_model_card and Path(args.model_name_or_path).is_dir():
        split = args.split if args.depth_noise_sigma == 0 else f"{args.split} (depth noise sigma={args.depth_noise_sigma})"
        index_scores = {"msmu_score": scores["msmu_score"],
                        **{f"success/{c}": v for c, v in scores["per_category"].items()}}
        update_model_index(Path(args.model_name_or_path) / "README.md", model_name=label,
                           dataset_name=Path(args.dataset_name).name, split=split, scores=index_scores)
    return scores


def main(argv: list[str] | None = None) -> None:
    from .benchmarks.run import BenchmarkArguments, evaluate_benchmark

    logging.basicConfig(level=os.environ.get("LOGLEVEL", "INFO"))
    args, benchmark_args = HfArgumentParser((EvalArguments, BenchmarkArguments)).parse_args_into_dataclasses(argv)
    if benchmark_args.benchmark:  # Q-Spatial-Bench, SpatialRGPT-Bench, VSI-Bench, MSMU-Bench: sdvlm/benchmarks/
        evaluate_benchmark(args, benchmark_args)
    else:
        evaluate(args)


__all__ = ["EvalArguments", "load_for_inference", "generate_answers", "score_predictions", "item_categories",
           "category_rate", "write_outputs", "default_output_dir", "default_depth_cache_dir", "training_record",
           "check_trained_convention", "check_generation_sizes", "evaluate", "main"]

if __name__ == "__main__":
    main()
