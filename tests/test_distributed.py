"""Multi-process training with REAL processes: DDP over gloo, DeepSpeed ZeRO-2/3 on CPU, the FSDP
config (a dry run plus the error FSDP gives on CPU), and the checks that forbid silent fallbacks."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from accelerate import DistributedType

from sdvlm.distributed import DistributedSetupError, check_distributed, dry_run, find_unused_parameters
from sdvlm.testing import write_tiny_checkpoint, write_tiny_msmu

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs" / "accelerate"
# Same global batch (1 x 4 vs 2 x 2), same sampler order: the gradients differ only by the order of
# float32 additions (per-rank means averaged by all-reduce). Measured: 3.0e-8 for DDP, ZeRO-2 and ZeRO-3.
WEIGHTS_ATOL = 1e-6

# Runs sdvlm-train; each rank writes what it sees of the process group from inside the training loop.
REPORTER = """
import json, os, sys
from pathlib import Path
import torch.distributed as dist
from transformers import TrainerCallback
from sdvlm.train import parse_args, train

class Report(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 1:
            rank, world = dist.get_rank(), dist.get_world_size()
            assert world == int(os.environ["EXPECTED_WORLD_SIZE"]), f"rank {rank} sees world size {world}"
            Path(args.output_dir, f"rank{rank}.json").write_text(json.dumps(
                {"rank": rank, "world_size": world, "pid": os.getpid(), "backend": dist.get_backend()}))

out = train(*parse_args(sys.argv[1:])[:3], callbacks=[Report()])
# train() closes the process group after the last barrier (an open one can abort a rank at exit).
Path(out, f"closed{os.environ['RANK']}.json").write_text(json.dumps(not dist.is_initialized()))
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("distributed")
    data = write_tiny_msmu(root / "msmu", num_train_frames=8, num_test_frames=2)
    return data, write_tiny_checkpoint(root / "init", data), root


def train_args(data, ckpt, out, per_device):
    return ["--model_name_or_path", str(ckpt), "--dataset_name", str(data), "--use_peft", "false",
            "--max_steps", "2", "--per_device_train_batch_size", str(per_device), "--learning_rate", "1e-3",
            "--seed", "3", "--gradient_checkpointing", "false", "--save_strategy", "no", "--disable_tqdm", "true",
            "--report_to", "none", "--use_cpu", "true", "--output_dir", str(out)]


def launch(config, script_args, *launch_args, world_size=2):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "EXPECTED_WORLD_SIZE": str(world_size)}
    return subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config),
                           *launch_args, *script_args], cwd=REPO, env=env, capture_output=True, text=True, timeout=400)


def weights(folder):
    from modeling_sdvlm import SDVLMForConditionalGeneration

    # Through from_pretrained: a ZeRO-3 save writes the gathered state dict's key layout.
    return SDVLMForConditionalGeneration.from_pretrained(folder).state_dict()


@pytest.fixture(scope="module")
def single_process(tiny):
    """The reference: one process, batch 4 (the 2-process runs use 2 x 2)."""
    from sdvlm.train import parse_args, train

    data, ckpt, root = tiny
    return weights(train(*parse_args(train_args(data, ckpt, root / "single", 4))[:3]))


def check_two_ranks(out, reference):
    reports = [json.loads((out / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [r["world_size"] for r in reports] == [2, 2] and reports[0]["pid"] != reports[1]["pid"]
    assert {r["backend"] for r in reports} == {"gloo"}
    assert [json.loads((out / f"closed{rank}.json").read_text()) for rank in (0, 1)] == [True, True]
    record = json.loads((out / "sdvlm_training.json").read_text())["distributed"]
    assert record["world_size"] == 2 and record["num_machines"] == 1 and record["device"] == "cpu"
    got = weights(out)
    worst = max((got[k] - reference[k]).abs().max().item() for k in reference)
    assert worst <= WEIGHTS_ATOL, f"2-process weights differ from 1 process by {worst}"
    return record


def test_ddp_two_processes_match_one_process(tiny, single_process, tmp_path):
    data, ckpt, _ = tiny
    script = tmp_path / "report.py"
    script.write_text(REPORTER)
    out = tmp_path / "ddp"
    result = launch(CONFIGS / "cpu_2proc.yaml", [str(script), *train_args(data, ckpt, out, 2)])
    assert result.returncode == 0, result.stderr[-3000:]
    record = check_two_ranks(out, single_process)
    assert record["distributed_type"] == "MULTI_CPU" and record["ddp_find_unused_parameters"] is False
    assert "- Distributed: 2 processes on 1 machine, MULTI_CPU (DDP, find_unused_parameters=False), gloo" in (
        out / "README.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("stage", [2, 3])
def test_deepspeed_zero_on_two_cpu_processes(tiny, single_process, tmp_path, stage):
    pytest.importorskip("deepspeed", reason="the `.[deepspeed]` extra did not install (make test tries it)")
    data, ckpt, _ = tiny
    script = tmp_path / "report.py"
    script.write_text(REPORTER)
    out = tmp_path / f"zero{stage}"
    result = launch(CONFIGS / f"deepspeed_zero{stage}.yaml", [str(script), *train_args(data, ckpt, out, 2)],
                    "--num_processes", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    record = check_two_ranks(out, single_process)
    assert record["distributed_type"] == "DEEPSPEED" and record["deepspeed"]["zero_stage"] == stage
    assert f"DEEPSPEED (ZeRO stage {stage})" in (out / "README.md").read_text()


@pytest.mark.slow
def test_fsdp_on_cpu_stops_instead_of_falling_back(tiny, tmp_path):
    data, ckpt, _ = tiny
    result = launch(CONFIGS / "fsdp.yaml", ["-m", "sdvlm.train", *train_args(data, ckpt, tmp_path / "fsdp", 2)],
                    "--num_processes", "2", "--mixed_precision", "no")
    assert result.returncode != 0
    assert "DistributedSetupError: asked for FSDP but accelerate set up MULTI_CPU" in result.stderr
    assert not (tmp_path / "fsdp" / "model.safetensors").exists()


def test_configs_dry_run(tiny):
    from modeling_sdvlm import SDVLMForConditionalGeneration

    _, ckpt, _ = tiny
    model = SDVLMForConditionalGeneration.from_pretrained(ckpt)
    fsdp = dry_run(CONFIGS / "fsdp.yaml", model)
    assert fsdp["engine"] == "FSDP" and fsdp["num_processes"] == 8
    assert fsdp["fsdp"] == {"fsdp_version": 2, "sharding": "FULL_SHARD", "wrap_classes": ["LlamaDecoderLayer"],
                            "activation_checkpointing": True}
    assert fsdp["wrap_units"] == {"LlamaDecoderLayer": model.config.text_config.num_hidden_layers}
    for stage in (2, 3):
        summary = dry_run(CONFIGS / f"deepspeed_zero{stage}.yaml")
        assert summary["engine"] == "DEEPSPEED" and summary["deepspeed"]["zero_stage"] == stage
        ds_config = json.loads((REPO / summary["deepspeed"]["config_file"]).read_text())
        assert ds_config["zero_optimization"]["stage"] == stage
    assert [dry_run(CONFIGS / f"{name}.yaml")["num_processes"] for name in ("cpu_2proc", "multi_gpu", "two_node")] == [
        2, 8, 16]
    with pytest.raises(ValueError, match="wrap unit Qwen2DecoderLayer is not a module class"):
        dry_run(CONFIGS / "fsdp.yaml", model, ("--fsdp_transformer_layer_cls_to_wrap", "Qwen2DecoderLayer"))


def fake_accelerator(kind, world):
    return SimpleNamespace(distributed_type=kind, num_processes=world, device=torch.device("cpu"))


def test_check_distributed_names_what_was_asked_and_got():
    check_distributed(fake_accelerator(DistributedType.MULTI_CPU, 2), {"WORLD_SIZE": "2"})
    check_distributed(fake_accelerator(DistributedType.NO, 1), {})
    with pytest.raises(DistributedSetupError, match="launched as 2 processes but this process sees world size 1"):
        check_distributed(fake_accelerator(DistributedType.NO, 1), {"WORLD_SIZE": "2"})
    with pytest.raises(DistributedSetupError, match="started one process"):
        check_distributed(fake_accelerator(DistributedType.NO, 1), {"MASTER_ADDR": "127.0.0.1", "ACCELERATE_USE_CPU": "True"})
    zero3 = SimpleNamespace(distributed_type=DistributedType.DEEPSPEED, num_processes=2, device=torch.device("cpu"),
                            state=SimpleNamespace(deepspeed_plugin=SimpleNamespace(zero_stage=3)))
    check_distributed(zero3, {"WORLD_SIZE": "2", "ACCELERATE_USE_DEEPSPEED": "true"})
    with pytest.raises(DistributedSetupError, match="--save_merged merges LoRA into the full weights, which DEEPSPEED"):
        check_distributed(zero3, {"WORLD_SIZE": "2", "ACCELERATE_USE_DEEPSPEED": "true"}, save_merged=True)
    with pytest.raises(DistributedSetupError, match="asked for DEEPSPEED but accelerate set up MULTI_CPU"):
        check_distributed(fake_accelerator(DistributedType.MULTI_CPU, 2),
                          {"WORLD_SIZE": "2", "ACCELERATE_USE_DEEPSPEED": "true"})


def test_find_unused_parameters_only_for_a_trained_vision_tower(tiny):
    """The rule's reason, checked: with the tower trainable, its post_layernorm gets no gradient."""
    from datasets import load_dataset

    from modeling_sdvlm import SDVLMForConditionalGeneration, SDVLMProcessor
    from sdvlm.collator import SDVLMDataCollator

    data, ckpt, _ = tiny
    model = SDVLMForConditionalGeneration.from_pretrained(ckpt).train()
    processor = SDVLMProcessor.from_pretrained(ckpt)
    rows = load_dataset(str(data))["train"].select(range(2))
    model(**SDVLMDataCollator(processor=processor, use_depth=True)(list(rows))).loss.backward()
    unused = [name for name, param in model.named_parameters() if param.grad is None]
    assert unused and all("vision_tower" in name for name in unused)
    assert find_unused_parameters(SimpleNamespace(use_peft=False, freeze_vision_tower=False))
    assert not find_unused_parameters(SimpleNamespace(use_peft=False, freeze_vision_tower=True))
    assert not find_unused_parameters(SimpleNamespace(use_peft=True, freeze_vision_tower=False))


@pytest.mark.parametrize("family, layer", [("qwen2_5_vl", "Qwen2_5_VLDecoderLayer"), ("qwen3_vl", "Qwen3VLTextDecoderLayer")])
def test_fsdp_wrap_unit_of_the_qwen_families(family, layer):
    """The README's --fsdp_transformer_layer_cls_to_wrap for each family names its LM decoder layer."""
    from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor

    model = build_tiny_model(build_tiny_processor(texts=["How far?"], family=family), family=family)
    summary = dry_run(CONFIGS / "fsdp.yaml", model, ("--fsdp_transformer_layer_cls_to_wrap", layer))
    assert summary["wrap_units"] == {layer: model.config.text_config.num_hidden_layers}
