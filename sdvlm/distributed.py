"""The distributed setup of a run: what it asked for, what it got, and a dry run of launch configs.

A multi-process run that silently degrades is worse than one that fails: with this accelerate and
torch, `accelerate launch --cpu --num_processes 2` starts ONE process, FSDP on CPU is dropped for
plain multi-CPU, and torchrun without `--use_cpu` starts independent trainings writing one folder.
`check_distributed` turns each of those into an error that says what was asked and what was got;
`distributed_record` is what `sdvlm-train` writes into `sdvlm_training.json` and the model card.

Dry run of a launch config (no processes, no devices): resolves the YAML exactly as
`accelerate launch` does, builds the FSDP/DeepSpeed plugin from it, and checks the wrap unit exists
in the model::

    python -m sdvlm.distributed configs/accelerate/fsdp.yaml --model_name_or_path CKPT
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

# What `accelerate launch` / `TrainingArguments(fsdp=..., deepspeed=...)` set to ask for an engine.
ENGINE_ENV = {"FSDP": "ACCELERATE_USE_FSDP", "DEEPSPEED": "ACCELERATE_USE_DEEPSPEED"}
# Launchers that really start N processes set one of these (torchrun, MPI implementations).
WORLD_SIZE_ENV = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
FSDP_ON_CPU = (
    "accelerate 1.15 selects DistributedType.FSDP only on top of a multi-accelerator process group "
    "(MULTI_GPU/NPU/XPU/...), never MULTI_CPU (accelerate/state.py), and `accelerate launch` refuses "
    "--cpu with --use_fsdp; FSDP needs GPUs here"
)


class DistributedSetupError(RuntimeError):
    """The run did not get the distributed setup it asked for."""


def _flag(env, name: str) -> bool:
    return str(env.get(name, "false")).lower() in ("1", "true", "yes")


def find_unused_parameters(model_args) -> bool:
    """DDP's `find_unused_parameters`: only a trained vision tower needs it.

    LLaVA reads a hidden state of the vision tower (`vision_feature_layer`), so its
    `post_layernorm` (and, at the default -2, its last encoder layer) get no gradient; DDP then
    needs the extra graph pass to find them. LoRA and the frozen tower train only parameters that
    every step uses, so the pass is skipped.
    """
    return (not model_args.use_peft) and (not model_args.freeze_vision_tower)


def requested_engine(env=None) -> str | None:
    """"FSDP", "DEEPSPEED" or None, as asked by the launcher or the training arguments."""
    env = os.environ if env is None else env
    asked = [engine for engine, name in ENGINE_ENV.items() if _flag(env, name)]
    return asked[0] if asked else None


def _sharded(accelerator) -> bool:
    """Whether parameters are split across ranks (FSDP, ZeRO-3): no rank holds the whole model."""
    kind = accelerator.distributed_type.value
    return kind == "FSDP" or (kind == "DEEPSPEED" and accelerator.state.deepspeed_plugin.zero_stage == 3)


def check_distributed(accelerator, env=None, save_merged: bool = False) -> None:
    """Raise `DistributedSetupError` when the process group or engine differs from the request, or
    when `--save_merged` asks to merge LoRA into parameters that are sharded."""
    from accelerate import DistributedType

    env = os.environ if env is None else env
    got = accelerator.distributed_type
    if save_merged and _sharded(accelerator):
        raise DistributedSetupError(
            f"--save_merged merges LoRA into the full weights, which {got.value} shards across ranks; save the "
            "adapter (the default) and merge it afterwards in one process (PeftModel.merge_and_unload)")
    launched = next((int(env[name]) for name in WORLD_SIZE_ENV if name in env), None)
    if launched is not None and launched != accelerator.num_processes:
        raise DistributedSetupError(
            f"launched as {launched} processes but this process sees world size {accelerator.num_processes} "
            f"({got.value}): the ranks would train independently into one folder. On CPU pass --use_cpu true."
        )
    if launched is not None and launched > 1 and got == DistributedType.NO:
        raise DistributedSetupError(f"launched as {launched} processes but no process group was set up")
    if launched is None and "MASTER_ADDR" in env and _flag(env, "ACCELERATE_USE_CPU"):
        # accelerate's simple launcher sets MASTER_ADDR only for num_processes > 1, but without
        # mpirun it starts a single process.
        raise DistributedSetupError(
            "`accelerate launch --cpu --num_processes N` started one process (accelerate needs mpirun "
            "for several CPU processes); launch with configs/accelerate/cpu_2proc.yaml (torchrun) and "
            "--use_cpu true instead"
        )
    asked = requested_engine(env)
    if asked is not None and got.value != asked:
        reason = f"; {FSDP_ON_CPU}" if asked == "FSDP" and accelerator.device.type == "cpu" else ""
        raise DistributedSetupError(f"asked for {asked} but accelerate set up {got.value}{reason}")


def _deepspeed_record(trainer) -> dict:
    engine = trainer.model_wrapped
    stage = engine.zero_optimization_stage() if hasattr(engine, "zero_optimization_stage") else None
    config = trainer.accelerator.state.deepspeed_plugin.deepspeed_config.get("zero_optimization", {})
    return {"zero_stage": stage, "configured_zero_stage": config.get("stage"),
            "offload_optimizer": config.get("offload_optimizer", {}).get("device", "none"),
            "offload_param": config.get("offload_param", {}).get("device", "none")}


def _fsdp_record(plugin) -> dict:
    version = plugin.fsdp_version
    sharding = (plugin.sharding_strategy.name if version == 1
                else ("FULL_SHARD" if plugin.reshard_after_forward else "SHARD_GRAD_OP"))
    return {"fsdp_version": version, "sharding": sharding,
            "wrap_classes": plugin.transformer_cls_names_to_wrap,
            "activation_checkpointing": plugin.activation_checkpointing}


def distributed_record(trainer) -> dict:
    """What the run got: world size, machines, distributed type, backend and the engine's sharding."""
    accelerator = trainer.accelerator
    world = accelerator.num_processes
    local = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    kind = accelerator.distributed_type.value
    record = {
        "world_size": world, "num_machines": max(1, world // max(local, 1)), "distributed_type": kind,
        "backend": torch.distributed.get_backend() if torch.distributed.is_initialized() else None,
        "device": accelerator.device.type, "mixed_precision": accelerator.mixed_precision,
    }
    wrapped = trainer.model_wrapped
    if isinstance(wrapped, torch.nn.parallel.DistributedDataParallel):
        record["ddp_find_unused_parameters"] = bool(wrapped.find_unused_parameters)
    if kind == "DEEPSPEED":
        record["deepspeed"] = _deepspeed_record(trainer)
    if kind == "FSDP":
        record["fsdp"] = _fsdp_record(accelerator.state.fsdp_plugin)
    return record


def describe(record: dict) -> str:
    """One model-card line, e.g. "2 processes on 1 machine, DEEPSPEED (ZeRO stage 3), gloo"."""
    engine = ""
    if "deepspeed" in record:
        engine = f" (ZeRO stage {record['deepspeed']['zero_stage']})"
    elif "fsdp" in record:
        fsdp = record["fsdp"]
        engine = f" (FSDP{fsdp['fsdp_version']} {fsdp['sharding']}, wrap {', '.join(fsdp['wrap_classes'] or [])})"
    elif "ddp_find_unused_parameters" in record:
        engine = f" (DDP, find_unused_parameters={record['ddp_find_unused_parameters']})"
    processes = f"{record['world_size']} process{'es' if record['world_size'] != 1 else ''}"
    machines = f"{record['num_machines']} machine{'s' if record['num_machines'] != 1 else ''}"
    backend = f", {record['backend']}" if record["backend"] else ""
    return f"{processes} on {machines}, {record['distributed_type']}{engine}{backend}, {record['device']}"


def gathered_state_dict(trainer) -> dict | None:
    """The full state dict where parameters are sharded (ZeRO-3, FSDP), else None (save as is).

    Collective: every rank must call it (ZeRO-3 needs `stage3_gather_16bit_weights_on_model_save`).
    """
    accelerator = trainer.accelerator
    return accelerator.get_state_dict(trainer.model_wrapped) if _sharded(accelerator) else None


def launch_env(config_file: str | Path, launch_args: tuple[str, ...] = ()):
    """(resolved launch arguments, environment) of `accelerate launch --config_file CONFIG [launch_args]`."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    argv = ["--config_file", str(config_file), *launch_args, "train.py"]
    args, defaults, mixed_precision_from_config = _validate_launch_command(launch_command_parser().parse_args(argv))
    if args.use_deepspeed:
        # As `launch_command` does before it calls the DeepSpeed launcher.
        fields = list(defaults.deepspeed_config) if defaults else []
        if mixed_precision_from_config:
            fields.append("mixed_precision")
        args.deepspeed_fields_from_accelerate_config = ",".join(fields)
        return args, prepare_deepspeed_cmd_env(args)[1]
    return args, prepare_multi_gpu_env(args)


def dry_run(config_file: str | Path, model: torch.nn.Module | None = None, launch_args: tuple[str, ...] = ()) -> dict:
    """Validate a launch config without starting anything: the engine and sharding it asks for and,
    given a model, the wrap unit's class and how many modules it matches (0 raises). `launch_args`
    are `accelerate launch` options that override the file (e.g. the FSDP wrap class of a family)."""
    from accelerate.utils import DeepSpeedPlugin, FullyShardedDataParallelPlugin
    from accelerate.utils.dataclasses import get_module_class_from_name
    from accelerate.utils.environment import patch_environment

    args, env = launch_env(config_file, tuple(launch_args))
    summary = {"config": str(config_file), "num_processes": args.num_processes, "num_machines": args.num_machines,
               "engine": requested_engine(env) or "DDP"}
    with patch_environment(**{k: v for k, v in env.items() if os.environ.get(k) != v}):
        if summary["engine"] == "FSDP":
            plugin = FullyShardedDataParallelPlugin()
            summary["fsdp"] = _fsdp_record(plugin)
            for name in (plugin.transformer_cls_names_to_wrap or []) if model is not None else []:
                cls = get_module_class_from_name(model, name)
                count = sum(isinstance(module, cls) for module in model.modules()) if cls else 0
                if count == 0:
                    raise ValueError(f"{config_file}: wrap unit {name} is not a module class of "
                                     f"{type(model).__name__}; pass --fsdp_transformer_layer_cls_to_wrap")
                summary.setdefault("wrap_units", {})[name] = count
        elif summary["engine"] == "DEEPSPEED":
            plugin = DeepSpeedPlugin()
            summary["deepspeed"] = {"zero_stage": plugin.zero_stage,
                                    "config_file": env.get("ACCELERATE_DEEPSPEED_CONFIG_FILE")}
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sdvlm.distributed", description="Dry run of accelerate configs.")
    parser.add_argument("config_files", nargs="+")
    parser.add_argument("--model_name_or_path", default=None,
                        help="check the FSDP wrap unit against this model (built from its config, no weights)")
    args, launch_args = parser.parse_known_args(argv)  # the rest: accelerate launch options
    model = None
    if args.model_name_or_path:
        import modeling_sdvlm  # noqa: F401  (registers the sdvlm model type)
        from transformers import AutoConfig, AutoModelForImageTextToText

        config = AutoConfig.from_pretrained(args.model_name_or_path)
        with torch.device("meta"):
            model = AutoModelForImageTextToText.from_config(config)
    for config_file in args.config_files:
        print(json.dumps(dry_run(config_file, model, tuple(launch_args))))


__all__ = ["DistributedSetupError", "find_unused_parameters", "requested_engine", "check_distributed",
           "distributed_record", "describe", "gathered_state_dict", "launch_env", "dry_run", "main"]

if __name__ == "__main__":
    main()
