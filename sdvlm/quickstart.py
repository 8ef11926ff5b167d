"""`sdvlm-quickstart`: the whole pipeline on the embedded synthetic data, on a CPU, in minutes.

    sdvlm-quickstart --output_dir outputs/quickstart [--family qwen2_5_vl]

1. builds synthetic MSMU (train and held-out test scenes) with all eight MSMU-Bench categories;
2. builds a tiny SD-VLM from scratch (word-level tokenizer saved with the processor) and trains it
   twice with identical data, seed and steps: `no_depth` and `dpe` (full fine-tuning);
3. evaluates both on the held-out scenes beside the `constant` baseline;
4. prints the table, writes `results.json` ({variant: {"msmu_score", "per_category", ...}}) and
   `per_category.png`;
5. leaves the `dpe` checkpoint at `<output_dir>/best` and its trained `no_depth` twin at
   `<output_dir>/no_depth_best` (the Space's defaults: Compare puts them side by side), each with
   its held-out scores in the model card.

See `sdvlm.presets` for why the preset looks the way it does.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from datasets import load_dataset
from transformers import HfArgumentParser

from .baselines import fit_constant, predict_constant
from .depth_prompt import DEPTH_PROMPT_WORDS, add_depth_prompt
from .evaluation import generate_answers, item_categories, load_for_inference, score_predictions, write_outputs
from .model_card import update_model_index
from .presets import VICUNA_SYSTEM, TinyPreset, short_system_template
from .report import format_table, plot_per_category
from .train import SDVLMModelConfig, SDVLMScriptArguments, SDVLMTrainingConfig, filter_categories, train

logger = logging.getLogger(__name__)
# Where each variant is left for the Space: the DPE checkpoint and its trained no-depth twin.
CHECKPOINTS = {"dpe": "best", "no_depth": "no_depth_best"}
SUMMARY_KEYS = ("msmu_score", "success_rate", "delta_1.25", "abs_rel", "mra", "parse_failures")


@dataclass
class QuickstartArguments:
    output_dir: str = field(default="outputs/quickstart", metadata={"help": "Where everything is written."})
    max_steps: int | None = field(default=None, metadata={"help": "Training steps per variant (preset default)."})
    num_scenes: int | None = field(default=None, metadata={"help": "Synthetic rooms to build (preset default)."})
    seed: int = field(default=0, metadata={"help": "Seed of data, initialisation and data order."})
    num_threads: int | None = field(default=None, metadata={"help": "torch CPU threads (default: all cores)."})
    family: str = field(default="llava", metadata={
        "help": "Model family of the tiny SD-VLM (a key of modeling_sdvlm.families.FAMILIES).",
        "choices": ["llava", "qwen2_5_vl", "qwen3_vl", "llava_onevision"]})


def build_data(preset: TinyPreset, output_dir: Path) -> Path:
    """Build synthetic MSMU with the preset's categories and question kinds (the builder spends the
    question budget on them alone), cap the test split evenly over categories; returns the folder."""
    from dataset_builders.msmu import build_msmu
    from dataset_builders.msmu.sources.synthetic import SyntheticSource

    raw = output_dir / "msmu_raw"
    source = SyntheticSource(
        num_scenes=preset.num_scenes, seed=preset.seed, image_size=(preset.image_size, preset.image_size),
        frames_per_scene=preset.frames_per_scene, objects_per_scene=tuple(preset.objects_per_scene),
    )
    build_msmu(source, output_dir=raw, seed=preset.seed, test_fraction=preset.test_fraction,
               qa_per_frame=preset.qa_per_frame, decimals=preset.decimals, categories=list(preset.categories),
               question_kinds=list(preset.question_kinds) or None, cot=preset.cot, overwrite=True, verbose=False, progress=False)
    dataset = load_dataset(str(raw))
    folder = output_dir / "msmu"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    for split, rows in dataset.items():
        if split == "test":
            rows = cap_per_category(rows, preset.max_test_items, preset.seed)
        rows.to_parquet(str(folder / "data" / f"{split}-00000-of-00001.parquet"))
    shutil.rmtree(raw)
    return folder


def cap_per_category(rows, max_items: int, seed: int):
    """At most `max_items` rows, drawn at random with the same share for every category (a category
    with fewer rows keeps them all), so that each per-category rate rests on about as many items."""
    if len(rows) <= max_items:
        return rows
    order = rows.shuffle(seed=seed)
    categories = order["category"]
    per_category = max(1, max_items // len(set(categories)))
    taken: Counter = Counter()
    keep = []
    for index, category in enumerate(categories):
        if taken[category] < per_category:
            taken[category] += 1
            keep.append(index)
    return order.select(keep)


def make_init(preset: TinyPreset, data_dir: Path, init_dir: Path, family: str = "llava") -> Path:
    """The shared from-scratch initialisation: processor (tokenizer over the data's questions and
    answers) and tiny model of `family`, saved once so every variant starts from the same weights.

    A Qwen token merges 2 x 2 patches, so the Qwen families get half the preset's patch size: the
    same token grid (and so the same depth grid) as the LLaVA preset."""
    from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor

    dataset = load_dataset(str(data_dir))
    # The questions, every assistant turn (chain-of-thought answers carry more words than the
    # `answer` column), and the words the depth-as-prompt ablation writes.
    texts = [text for rows in dataset.values() for text in rows["question"]]
    texts += [turn["value"] for rows in dataset.values() for turns in rows["conversations"] for turn in turns
              if turn["from"] == "gpt"]
    texts += [DEPTH_PROMPT_WORDS]
    patch_size = preset.patch_size // 2 if family in ("qwen2_5_vl", "qwen3_vl") else preset.patch_size
    processor = build_tiny_processor(texts=texts, image_size=preset.image_size, patch_size=patch_size, family=family)
    if VICUNA_SYSTEM in processor.chat_template:  # the Qwen families' ChatML has no system sentence
        processor.chat_template = short_system_template(processor.chat_template)
    model = build_tiny_model(
        processor, seed=preset.seed, family=family, vision_hidden_size=preset.vision_hidden_size, vision_layers=preset.vision_layers,
        text_hidden_size=preset.text_hidden_size, text_layers=preset.text_layers, num_heads=preset.num_heads,
        depth_normalization=preset.depth_normalization, depth_scale=preset.depth_scale,
        depth_pe_amplitude=preset.depth_pe_amplitude,
    )
    model.save_pretrained(init_dir)
    processor.save_pretrained(init_dir)
    return init_dir


def train_variant(preset: TinyPreset, data_dir: Path, init_dir: Path, output_dir: Path, *, use_depth: bool,
                  depth_normalization: str | None = None, depth_scale: float | None = None,
                  depth_convention: str | None = None, depth_prompt: bool = False) -> tuple[Path, float]:
    """Full fine-tuning of the tiny init; returns (checkpoint folder, seconds)."""
    start = time.perf_counter()
    script_args = SDVLMScriptArguments(dataset_name=str(data_dir), depth_prompt=depth_prompt)
    training_args = SDVLMTrainingConfig(
        output_dir=str(output_dir), max_steps=preset.max_steps, per_device_train_batch_size=preset.batch_size,
        learning_rate=preset.learning_rate, projector_lr=preset.learning_rate, warmup_steps=preset.warmup,
        logging_steps=max(1, preset.max_steps // 10), gradient_checkpointing=False, save_strategy="no",
        seed=preset.seed, data_seed=preset.seed, disable_tqdm=False,
    )
    model_args = SDVLMModelConfig(
        model_name_or_path=str(init_dir), use_peft=False, freeze_vision_tower=False, use_depth=use_depth,
        depth_normalization=depth_normalization, depth_scale=depth_scale, depth_convention=depth_convention,
    )
    train(script_args, training_args, model_args)
    return output_dir, time.perf_counter() - start


def summarize(scores: dict, **extra) -> dict:
    return {**{key: scores[key] for key in SUMMARY_KEYS if key in scores},
            "per_category": scores["per_category"], **extra}


def evaluate_variant(model_dir: Path, test, preset: TinyPreset, output_dir: Path, label: str, *,
                     depth_noise_sigma: float = 0.0, depth_noise_grid: int | None = None,
                     depth_prompt: bool = False) -> dict:
    """Greedy answers on the held-out split; writes the evaluation folder; returns the summary."""
    start = time.perf_counter()
    model, processor = load_for_inference(model_dir)
    if depth_prompt:
        test = test.map(add_depth_prompt, desc="Depth as prompt")
    predictions = generate_answers(model, processor, test, batch_size=64, max_new_tokens=preset.max_new_tokens,
                                   depth_noise_sigma=depth_noise_sigma, depth_noise_grid=depth_noise_grid,
                                   seed=preset.seed)
    scores, items = score_predictions(predictions, test)
    write_outputs(output_dir, scores, items, {"model": str(model_dir), "depth_noise_sigma": depth_noise_sigma,
                                              "depth_noise_grid": depth_noise_grid,
                                              "depth_prompt": depth_prompt}, label)
    return summarize(scores, eval_seconds=round(time.perf_counter() - start, 1), num_test_items=len(test))


def evaluate_constant(data_dir: Path, output_dir: Path) -> dict:
    dataset = load_dataset(str(data_dir))
    train_rows, test = dataset["train"], dataset["test"]
    table = fit_constant(list(train_rows["answer"]), list(train_rows["answer_value"]), item_categories(train_rows))
    scores, items = score_predictions(predict_constant(table, item_categories(test)), test)
    write_outputs(output_dir, scores, items, {"model": "constant", "answers": table}, "constant")
    return summarize(scores, answers=table, num_test_items=len(test))


def publish(trained: Path, folder: Path, scores: dict, model_name: str) -> None:
    """Copy a trained variant (weights, processor, card, training record) to `folder`, with its
    held-out scores in the model card's `model-index`."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(trained, folder, ignore=shutil.ignore_patterns("eval-*", "checkpoint-*", "depth_cache"))
    update_model_index(folder / "README.md", model_name=model_name, dataset_name="msmu-synthetic", split="test",
                       scores={"msmu_score": scores["msmu_score"],
                               **{f"success/{c}": v for c, v in scores["per_category"].items()}})


def run_quickstart(args: QuickstartArguments, preset: TinyPreset | None = None) -> dict:
    preset = preset or TinyPreset()
    overrides = {key: getattr(args, key) for key in ("max_steps", "num_scenes") if getattr(args, key) is not None}
    preset = replace(preset, seed=args.seed, **overrides)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    timings = {}
    start, cpu_start = time.perf_counter(), time.process_time()
    data_dir = build_data(preset, output_dir)
    init_dir = make_init(preset, data_dir, output_dir / "init", family=args.family)
    timings["data_and_init"] = time.perf_counter() - start
    test = load_dataset(str(data_dir))["test"]

    results = {}
    for variant, use_depth in (("no_depth", False), ("dpe", True)):
        model_dir, seconds = train_variant(preset, data_dir, init_dir, output_dir / variant, use_depth=use_depth)
        timings[f"train_{variant}"] = seconds
        results[variant] = evaluate_variant(model_dir, test, preset, output_dir / variant / "eval-test", variant)
        results[variant]["train_seconds"] = round(seconds, 1)
    results["constant"] = evaluate_constant(data_dir, output_dir / "constant")

    for variant, folder in CHECKPOINTS.items():
        publish(output_dir / variant, output_dir / folder, results[variant], f"sdvlm-tiny-quickstart-{variant}")
    best = output_dir / CHECKPOINTS["dpe"]
    timings["total"] = time.perf_counter() - start
    # CPU seconds of this process, all threads: on a shared machine wall time is only an upper bound.
    timings["cpu_total"] = time.process_time() - cpu_start
    report = {**results, "_meta": {"preset": preset.to_dict(), "family": args.family, "seconds": {k: round(v, 1) for k, v in timings.items()},
                                   "num_train_items": len(load_dataset(str(data_dir))["train"]),
                                   "num_test_items": len(test), "torch_threads": torch.get_num_threads()}}
    (output_dir / "results.json").write_text(json.dumps(report, indent=2, default=float))
    plot_per_category({k: v for k, v in results.items()}, output_dir / "per_category.png",
                      title="Quickstart: held-out MSMU success")
    print(format_table(results))
    print(f"seconds: {json.dumps(report['_meta']['seconds'])}; DPE checkpoint at {best}, "
          f"its no-depth twin at {output_dir / CHECKPOINTS['no_depth']}")
    return report


def run_command(arguments_class, run, argv: list[str] | None = None):
    """Parse `arguments_class` (a dataclass with `num_threads`) from `argv` and return `run(args)`: the
    console scripts of the quickstart and of the ablation."""
    logging.basicConfig(level=os.environ.get("LOGLEVEL", "WARNING"))
    (args,) = HfArgumentParser(arguments_class).parse_args_into_dataclasses(argv)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    return run(args)


def main(argv: list[str] | None = None) -> None:
    run_command(QuickstartArguments, run_quickstart, argv)


__all__ = ["CHECKPOINTS", "QuickstartArguments", "build_data", "cap_per_category", "make_init", "train_variant", "evaluate_variant",
           "evaluate_constant", "summarize", "publish", "run_quickstart", "run_command", "main"]

if __name__ == "__main__":
    main()
