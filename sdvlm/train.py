"""`sdvlm-train`: SD-VLM instruction tuning on MSMU with TRL's `SFTTrainer` and PEFT.

Defaults are the authors' LoRA recipe: LoRA r=128, alpha=256, dropout 0.05 on the language
model's linear layers; the projector fully trained at 2e-5 in its own parameter group while LoRA
trains at 2e-4; vision tower frozen; 1 epoch; cosine schedule with 3% warmup; weight decay 0; loss
on the assistant's tokens only; the vicuna_v1 template. `--use_peft false` trains every weight
(vision tower too, unless `--freeze_vision_tower`), the mode of the tiny from-scratch preset.

Real recipe (GPUs; needs the Hub)::

    accelerate launch --num_processes 8 -m sdvlm.train \\
        --model_name_or_path llava-hf/llava-1.5-7b-hf --dataset_name data/msmu \\
        --per_device_train_batch_size 4 --output_dir outputs/sdvlm-7b-lora

Tested launch, 2 CPU processes (tests/test_distributed.py; DDP, DeepSpeed and FSDP configs in
configs/accelerate/, the README's "Distributed training" gives the command of each)::

    accelerate launch --config_file configs/accelerate/cpu_2proc.yaml -m sdvlm.train \\
        --model_name_or_path TINY_CKPT --dataset_name MSMU_DIR --use_peft false --use_cpu true \\
        --max_steps 2 --per_device_train_batch_size 2 --output_dir OUT --report_to none

Depth: the dataset's ground-truth `depth` column where it has one; otherwise Depth-Anything maps
estimated once before training and cached by image hash (`--depth_cache_dir`), never per step.
`--use_depth false` trains the no-depth baseline with everything else identical.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import PartialState
from datasets import DatasetDict, load_dataset
from transformers import PreTrainedModel
from transformers.trainer_utils import get_last_checkpoint
from trl import ModelConfig, ScriptArguments, SFTConfig, SFTTrainer, TrlParser

from .collator import SDVLMDataCollator
from .dataset_checks import validate_training_dataset
from .depth_cache import DepthCache, estimator_id
from .depth_prompt import add_depth_prompt
from .distributed import check_distributed, describe, distributed_record, find_unused_parameters, gathered_state_dict
from .model_card import write_model_card

logger = logging.getLogger(__name__)

# The language model's linear layers (LLaMA naming), and only those: PEFT full-matches a string
# target as a regex, so the vision tower's and the projector's linears stay out.
LM_LINEAR_REGEX = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
KEEP_COLUMNS = ("image", "depth_image", "conversations", "depth", "depth_key")


@dataclass
class SDVLMScriptArguments(ScriptArguments):
    """Data arguments (TRL's `ScriptArguments` plus MSMU options)."""

    dataset_name: str | None = field(default=None, metadata={"help": "MSMU folder (builder output) or Hub id."})
    categories: list[str] | None = field(
        default=None, metadata={"help": "Train only on these MSMU categories (e.g. absolute_distance position)."}
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Use the first N training rows."})
    depth_source: str = field(
        default="auto",
        metadata={"help": "auto (dataset depth if present, else estimate), dataset, or estimate",
                  "choices": ["auto", "dataset", "estimate"]},
    )
    depth_cache_dir: str | None = field(
        default=None, metadata={"help": "Cache of estimated depth maps (default <output_dir>/depth_cache)."}
    )
    save_merged: bool = field(default=False, metadata={"help": "Merge LoRA into the weights before saving."})
    depth_prompt: bool = field(
        default=False, metadata={"help": "Write each object's depth into the question (the depth-as-prompt ablation)."}
    )
    invalid_rows: str = field(
        default="skip", metadata={"help": "Rows that fail the pre-training check (unreadable image, no depth, bad "
                                  "conversations): skip them with a warning, or stop (error)",
                                  "choices": ["skip", "error"]}
    )


@dataclass
class SDVLMModelConfig(ModelConfig):
    """Model arguments: TRL's `ModelConfig` with the authors' LoRA recipe as defaults, plus DPE."""

    model_name_or_path: str | None = field(
        default="llava-hf/llava-1.5-7b-hf", metadata={"help": "A Llava or SD-VLM checkpoint (folder or Hub id)."}
    )
    use_peft: bool = field(default=True, metadata={"help": "LoRA (default) or full fine-tuning (false)."})
    lora_r: int = field(default=128, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=256, metadata={"help": "LoRA alpha."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})
    use_depth: bool = field(default=True, metadata={"help": "Depth positional encoding on (false: no-depth baseline)."})
    depth_normalization: str | None = field(
        default=None, metadata={"help": "minmax or none; default: keep the checkpoint's", "choices": ["minmax", "none"]}
    )
    depth_scale: float | None = field(default=None, metadata={"help": "Alpha of DPE; default: the checkpoint's."})
    depth_convention: str | None = field(
        default=None, metadata={"help": "Depth the encoding is trained on: inverse (1/d, the authors') or metric "
                                "(meters); default: the checkpoint's", "choices": ["inverse", "metric"]}
    )
    freeze_vision_tower: bool = field(
        default=True, metadata={"help": "Freeze the vision tower in full fine-tuning (LoRA always freezes it)."}
    )


@dataclass
class SDVLMTrainingConfig(SFTConfig):
    """`SFTConfig` with the authors' optimisation recipe as defaults and a projector learning rate."""

    output_dir: str | None = field(default="outputs/sdvlm-train", metadata={"help": "Where to save."})
    learning_rate: float = field(default=2e-4, metadata={"help": "Learning rate of LoRA (or of the LM in full FT)."})
    projector_lr: float = field(default=2e-5, metadata={"help": "Learning rate of the projector's own group."})
    num_train_epochs: float = field(default=1.0, metadata={"help": "Epochs."})
    lr_scheduler_type: str = field(default="cosine", metadata={"help": "Scheduler."})
    warmup_steps: float = field(default=0.03, metadata={"help": "Warmup (a float < 1 is a ratio of all steps)."})
    weight_decay: float = field(default=0.0, metadata={"help": "Weight decay."})
    remove_unused_columns: bool = field(default=False, metadata={"help": "Keep depth columns for the collator."})
    max_length: int | None = field(default=None, metadata={"help": "Truncate longer sequences (never images)."})

    def __post_init__(self):
        # TRL turns bf16 on by default, which Trainer rejects on a CPU-only machine.
        if self.bf16 is None and not torch.cuda.is_available():
            self.bf16 = False
        self.dataset_kwargs = {**(self.dataset_kwargs or {}), "skip_prepare_dataset": True}
        super().__post_init__()


def category_names(dataset) -> list[str] | None:
    feature = dataset.features.get("category")
    return list(feature.names) if hasattr(feature, "names") else None


def filter_categories(dataset, categories: list[str] | None):
    """Keep only rows of the given category names (ClassLabel or string column)."""
    if not categories:
        return dataset
    names = category_names(dataset)
    if names is not None:
        unknown = sorted(set(categories) - set(names))
        if unknown:
            raise ValueError(f"unknown categories {unknown}; the dataset has {names}")
        wanted = {names.index(name) for name in categories}
    else:
        wanted = set(categories)
    return dataset.filter(lambda category: category in wanted, input_columns="category")


def trained_on(dataset) -> dict:
    """What the training rows hold, for `sdvlm_training.json` (read by the Space and by readers):
    {"categories": {name: rows}} and, where the data has a `question_kind` column, {"question_kinds": ...}."""
    from collections import Counter

    names = category_names(dataset)
    counts = Counter(dataset["category"]) if "category" in dataset.column_names else Counter()
    record = {"categories": {(names[c] if names else str(c)): n for c, n in sorted(counts.items())}}
    if "question_kind" in dataset.column_names:
        record["question_kinds"] = dict(sorted(Counter(dataset["question_kind"]).items()))
    return record


def load_msmu(dataset_name: str, dataset_config: str | None = None) -> DatasetDict:
    """The builder's output folder (or a Hub id) as a `DatasetDict`."""
    if dataset_name is None:
        raise ValueError("--dataset_name is required (an MSMU folder written by `msmu-build`, or a Hub id)")
    return load_dataset(dataset_name, dataset_config)


def load_split(dataset_name: str, split: str, dataset_config: str | None = None):
    """One split of `load_msmu(dataset_name)`, or a ValueError naming the splits there are."""
    splits = load_msmu(dataset_name, dataset_config)
    if split not in splits:
        raise ValueError(f"the dataset {dataset_name} has no split {split!r} (it has {', '.join(splits)})")
    return splits[split]


def load_model_and_processor(model_args: SDVLMModelConfig):
    """The SD-VLM model and processor of the checkpoint's family (`modeling_sdvlm.families`), from a
    plain or an SD-VLM checkpoint of any family (LLaVA-1.5, Qwen2.5-VL, Qwen3-VL, LLaVA-OneVision).

    A plain checkpoint loads with no missing keys (DPE has no parameters); its config is lifted to
    the family's SD-VLM config. The DPE switches of `model_args` override the checkpoint's; a
    checkpoint without a `depth_convention` takes the default of its (overridden) normalization.
    The processor converts depth for the model's convention.
    """
    from modeling_sdvlm.configuration_sdvlm import default_depth_convention
    from modeling_sdvlm.depth_inputs import bind_depth_convention
    from modeling_sdvlm.families import family_of_checkpoint

    path = model_args.model_name_or_path
    family = family_of_checkpoint(path, revision=model_args.model_revision)
    overrides = {"use_depth": model_args.use_depth}
    if model_args.depth_normalization is not None:
        overrides["depth_normalization"] = model_args.depth_normalization
    if model_args.depth_scale is not None:
        overrides["depth_scale"] = model_args.depth_scale
    # Also lifts a plain config (model_type "llava", "qwen2_5_vl", ...) to the SD-VLM one: same fields plus DPE.
    config = family.config_class.from_pretrained(path, revision=model_args.model_revision, **overrides)
    if model_args.depth_convention is not None:
        config.depth_convention = model_args.depth_convention
    elif "depth_convention" not in family.config_class.get_config_dict(path, revision=model_args.model_revision)[0]:
        # No convention saved: the default of the normalization as it is now, overrides included.
        config.depth_convention = default_depth_convention(config.depth_normalization)
    dtype = getattr(torch, model_args.dtype) if model_args.dtype not in (None, "auto") else torch.float32
    model = family.model_class.from_pretrained(path, config=config, revision=model_args.model_revision, dtype=dtype)
    processor = family.processor_class.from_pretrained(path, revision=model_args.model_revision)
    if model_args.depth_convention is None and model_args.depth_normalization is None:
        bind_depth_convention(processor, config)  # a checkpoint whose processor and config disagree stops here
    else:
        processor.depth_convention = config.depth_convention  # this run's settings decide
    return model, processor


def projector_key(model) -> str:
    """Name of the model family's projector module (`multi_modal_projector`, Qwen's `merger`)."""
    from modeling_sdvlm.families import family_for_model_type

    return family_for_model_type(model.config.model_type).projector


def lora_config(model_args: SDVLMModelConfig, projector: str = "multi_modal_projector"):
    from peft import LoraConfig

    return LoraConfig(
        r=model_args.lora_r,
        lora_alpha=model_args.lora_alpha,
        lora_dropout=model_args.lora_dropout,
        target_modules=model_args.lora_target_modules or LM_LINEAR_REGEX,
        # The projector is trained in full (the authors' recipe); PEFT keeps a trainable copy.
        modules_to_save=[projector],
        bias="none",
        task_type="CAUSAL_LM",
    )


def param_groups(model: torch.nn.Module, learning_rate: float, projector_lr: float, weight_decay: float) -> list[dict]:
    """Two groups of trainable parameters: the projector at `projector_lr`, the rest at `learning_rate`."""
    projector, rest, key = [], [], projector_key(model)
    for name, param in model.named_parameters():
        if param.requires_grad:
            (projector if key in name else rest).append(param)
    groups = [
        {"params": rest, "lr": learning_rate, "weight_decay": weight_decay, "name": "lm"},
        {"params": projector, "lr": projector_lr, "weight_decay": weight_decay, "name": "projector"},
    ]
    return [group for group in groups if group["params"]]


class SDVLMTrainer(SFTTrainer):
    """`SFTTrainer` whose optimizer has the projector in its own parameter group (its own lr)."""

    def create_optimizer(self, model=None):
        if self.optimizer is None:
            opt_model = self.model if model is None else model
            optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
            groups = param_groups(opt_model, self.args.learning_rate, self.args.projector_lr, self.args.weight_decay)
            self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
        return self.optimizer

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        # transformers 5 `save_pretrained` writes LLaVA's original key layout (it reverts the
        # registered conversion mapping), but Trainer resumes with a raw `load_state_dict`, which
        # would silently skip every weight. Read full checkpoints back through `from_pretrained`'s
        # renaming instead; adapters (PEFT) keep the parent's path.
        model = self.model if model is None else model
        weights = Path(resume_from_checkpoint) / "model.safetensors"
        if not (isinstance(model, PreTrainedModel) and weights.is_file()):
            return super()._load_from_checkpoint(resume_from_checkpoint, model)
        saved = type(model).from_pretrained(resume_from_checkpoint, config=model.config, dtype=model.dtype)
        result = model.load_state_dict(saved.state_dict(), strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise ValueError(f"checkpoint {resume_from_checkpoint} does not match the model: missing "
                             f"{result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}")


def prepare_depth(dataset, processor, use_depth: bool, depth_source: str, cache_dir: str | Path,
                  convention: str | None = None):
    """Attach depth to `dataset` once, before training: keep the ground-truth `depth` column, or
    estimate maps for images without one into a `DepthCache` and add a `depth_key` column.
    `convention`: the depth convention of a model that encodes depth; estimates it cannot take
    (relative ones for a "metric" model) stop here, before anything is estimated.
    Returns (dataset, cache or None)."""
    from modeling_sdvlm.depth_inputs import DepthEstimatorUnavailable, check_depth_kind

    has_depth = "depth" in dataset.column_names
    if not use_depth:
        return (dataset.remove_columns("depth") if has_depth else dataset), None
    if depth_source == "dataset" and not has_depth:
        raise ValueError("--depth_source dataset, but the dataset has no 'depth' column")
    if depth_source == "dataset" or (depth_source == "auto" and has_depth):
        return dataset, None
    kind = processor.estimated_depth_kind()
    if convention is not None:
        check_depth_kind(convention, kind, processor.depth_estimator)
    cache = DepthCache(cache_dir, estimate_fn=processor.estimate_depth, estimator=estimator_id(processor),
                       depth_kind=kind)
    try:
        keys = cache.fill(example["image"].convert("RGB") for example in dataset.select_columns(["image"]))
    except DepthEstimatorUnavailable as error:
        raise DepthEstimatorUnavailable(
            f"{error}. Here: use a dataset with a 'depth' column (--depth_source dataset), a --depth_cache_dir "
            "filled by an earlier run, or no depth (--use_depth false)"
        ) from error
    if has_depth:
        dataset = dataset.remove_columns("depth")
    return dataset.add_column("depth_key", keys), cache


def depth_kind(dataset, cache, processor) -> str:
    """Which depth `prepare_depth` attached: "metric" (the dataset's ground truth, meters, larger =
    farther), "estimated:<estimator>" (relative inverse depth, larger = nearer) or "none"."""
    if cache is not None:
        return f"estimated:{processor.depth_estimator}"
    return "metric" if "depth" in dataset.column_names else "none"


def prepare_model(model, model_args: SDVLMModelConfig):
    """Freeze what the recipe freezes; wrap with LoRA when `use_peft`."""
    if model_args.use_peft:
        from peft import get_peft_model

        model = get_peft_model(model, lora_config(model_args, projector_key(model)))
    elif model_args.freeze_vision_tower:
        from modeling_sdvlm.families import family_for_model_type

        getattr(model.model, family_for_model_type(model.config.model_type).vision_tower).requires_grad_(False)
    return model


def model_card_body(model_args, script_args, training_args, num_rows: int, depth_kind: str | None = None) -> str:
    mode = f"LoRA r={model_args.lora_r}, alpha={model_args.lora_alpha}" if model_args.use_peft else "full fine-tuning"
    return (
        f"# {Path(training_args.output_dir).name}\n\n"
        "An SD-VLM model (LLaVA with Depth Positional Encoding) trained with `sdvlm-train` "
        "(TRL `SFTTrainer`).\n\n"
        f"- Base: `{model_args.model_name_or_path}`\n"
        f"- Data: `{script_args.dataset_name}` ({num_rows} QA rows"
        f"{', categories ' + ', '.join(script_args.categories) if script_args.categories else ''})\n"
        f"- Depth: {'on' if model_args.use_depth else 'off (no-depth baseline)'}\n"
        + (f"- Depth kind: `{depth_kind}` (the processor converts any depth to the checkpoint's "
           "`depth_convention`, see config.json)\n" if depth_kind else "")
        + f"- Training: {mode}; lr {training_args.learning_rate}, projector lr {training_args.projector_lr}, "
        f"{getattr(training_args.lr_scheduler_type, 'value', training_args.lr_scheduler_type)}, seed {training_args.seed}\n"
    )


def train(script_args: SDVLMScriptArguments, training_args: SDVLMTrainingConfig, model_args: SDVLMModelConfig,
          callbacks: list | None = None) -> Path:
    """Train, save (adapter or merged model, processor, model card) and return the output folder."""
    dataset = load_split(script_args.dataset_name, script_args.dataset_train_split, script_args.dataset_config)
    dataset = filter_categories(dataset, script_args.categories)
    if script_args.max_train_samples is not None:
        dataset = dataset.select(range(min(script_args.max_train_samples, len(dataset))))
    if len(dataset) == 0:
        raise ValueError(f"no training rows left in split {script_args.dataset_train_split!r} after filtering")
    needs_depth = model_args.use_depth or script_args.depth_prompt
    reads_dataset_depth = needs_depth and (script_args.depth_source == "dataset" or (
        script_args.depth_source == "auto" and "depth" in dataset.column_names))
    dataset = validate_training_dataset(dataset, reads_dataset_depth, script_args.invalid_rows)

    model, processor = load_model_and_processor(model_args)
    cache_dir = script_args.depth_cache_dir or Path(training_args.output_dir) / "depth_cache"
    # Under `accelerate launch`, the main process estimates missing depth; the others then read the cache.
    with PartialState().main_process_first():
        convention = model.config.depth_convention if model_args.use_depth else None
        dataset, cache = prepare_depth(dataset, processor, needs_depth, script_args.depth_source, cache_dir, convention)
        kind = depth_kind(dataset, cache, processor)
        if script_args.depth_prompt:
            dataset = dataset.map(add_depth_prompt, fn_kwargs={"depth_cache": cache}, desc="Depth as prompt")
    contents = trained_on(dataset)
    keep = KEEP_COLUMNS if model_args.use_depth else ("image", "depth_image", "conversations")
    dataset = dataset.select_columns([name for name in keep if name in dataset.column_names])
    model = prepare_model(model, model_args)

    collator = SDVLMDataCollator(
        processor=processor, max_length=training_args.max_length, use_depth=model_args.use_depth, depth_cache=cache
    )
    if training_args.ddp_find_unused_parameters is None:
        training_args.ddp_find_unused_parameters = find_unused_parameters(model_args)
    trainer = SDVLMTrainer(
        model=model, args=training_args, train_dataset=dataset, processing_class=processor,
        data_collator=collator, callbacks=callbacks,
    )
    # Never a silent fallback to fewer processes or plain DDP.
    check_distributed(trainer.accelerator, save_merged=model_args.use_peft and script_args.save_merged)
    resume = training_args.resume_from_checkpoint
    if isinstance(resume, str) and resume.lower() in ("true", "latest"):
        resume = get_last_checkpoint(training_args.output_dir)
    trainer.train(resume_from_checkpoint=resume)
    output_dir = save_trained(trainer, processor, model_args, script_args, training_args, len(dataset),
                              depth_kind=kind, contents=contents)
    if trainer.accelerator.num_processes > 1:
        # Every rank has saved and passed the last barrier. Close the process group now: one left open
        # is torn down during interpreter exit, and a rank then can abort ("terminate called without
        # an active exception", SIGABRT) after a successful run (seen once under DeepSpeed ZeRO-3 on CPU).
        trainer.accelerator.end_training()
    return output_dir


def save_trained(trainer, processor, model_args, script_args, training_args, num_rows: int,
                 depth_kind: str | None = None, contents: dict | None = None) -> Path:
    output_dir = Path(training_args.output_dir)
    model = trainer.model
    if model_args.use_peft and script_args.save_merged:
        model = model.merge_and_unload()
    # ZeRO-3 / FSDP shard the parameters: gather them (on every rank) before the main one saves.
    weights = {} if (state_dict := gathered_state_dict(trainer)) is None else {"state_dict": state_dict}
    distributed = distributed_record(trainer)
    if trainer.accelerator.is_main_process:
        if model_args.use_peft and not script_args.save_merged:
            model.save_pretrained(output_dir, **weights)  # the adapter
            model.get_base_model().config.save_pretrained(output_dir)  # the DPE switches, for loading
        else:
            model.save_pretrained(output_dir, **weights)
        processor.save_pretrained(output_dir)
        write_model_card(
            output_dir,
            model_name=output_dir.name,
            base_model=model_args.model_name_or_path,
            datasets=[script_args.dataset_name],
            body=model_card_body(model_args, script_args, training_args, num_rows, depth_kind)
            + f"- Distributed: {describe(distributed)}\n",
        )
        (output_dir / "sdvlm_training.json").write_text(json.dumps(
            {"use_depth": model_args.use_depth, "use_peft": model_args.use_peft,
             "categories": script_args.categories, "num_rows": num_rows,
             "global_step": trainer.state.global_step, "seed": training_args.seed,
             "depth_kind": depth_kind, "depth_convention": processor.depth_convention,
             "distributed": distributed, "dataset": script_args.dataset_name,
             # what the rows held: {"categories": {name: rows}, "question_kinds": {...} where recorded}
             "trained_on": contents}, indent=2))
    trainer.accelerator.wait_for_everyone()
    return output_dir


def parse_args(argv: list[str] | None = None):
    parser = TrlParser((SDVLMScriptArguments, SDVLMTrainingConfig, SDVLMModelConfig))
    return parser.parse_args_and_config(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=os.environ.get("LOGLEVEL", "INFO"))
    script_args, training_args, model_args = parse_args(argv)[:3]
    train(script_args, training_args, model_args)


__all__ = [
    "SDVLMScriptArguments", "SDVLMModelConfig", "SDVLMTrainingConfig", "SDVLMTrainer", "LM_LINEAR_REGEX",
    "filter_categories", "trained_on", "load_msmu", "load_split", "load_model_and_processor", "lora_config", "param_groups",
    "prepare_depth", "depth_kind", "prepare_model", "train", "save_trained", "parse_args", "main",
]

if __name__ == "__main__":
    main()
