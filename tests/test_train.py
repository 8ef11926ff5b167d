"""sdvlm-train: the LoRA recipe, parameter groups and resume after a kill (multi-process runs: test_distributed.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from sdvlm.testing import write_tiny_run
from sdvlm.train import parse_args, train

REPO = Path(__file__).resolve().parents[1]
# Kill-and-resume tolerance: the resumed run replays the same batches with the restored optimizer,
# scheduler and RNG states, so weights agree to float32 round-off of the reloaded optimizer state.
RESUME_ATOL = 1e-5


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_run(tmp_path_factory.mktemp("train"), num_train_frames=8, num_test_frames=2,
                          checkpoint_name="init")


class Capture(TrainerCallback):
    def on_train_begin(self, args, state, control, model=None, optimizer=None, **kwargs):
        self.groups = [(group.get("name"), group["initial_lr"] if "initial_lr" in group else group["lr"],
                        sum(p.numel() for p in group["params"])) for group in optimizer.param_groups]

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self.model = model


def args_for(data, ckpt, out, *extra):
    return parse_args(["--dataset_name", str(data), "--model_name_or_path", str(ckpt), "--output_dir", str(out),
                       "--per_device_train_batch_size", "4", "--gradient_checkpointing", "false",
                       "--save_strategy", "no", "--disable_tqdm", "true", *extra])[:3]


def test_lora_recipe_defaults():
    script_args, training_args, model_args = parse_args(["--dataset_name", "x"])[:3]
    assert (model_args.use_peft, model_args.lora_r, model_args.lora_alpha, model_args.lora_dropout) == (True, 128, 256, 0.05)
    assert (training_args.learning_rate, training_args.projector_lr, training_args.num_train_epochs) == (2e-4, 2e-5, 1.0)
    assert training_args.lr_scheduler_type.value == "cosine" and training_args.warmup_steps == 0.03
    assert model_args.model_name_or_path == "llava-hf/llava-1.5-7b-hf"
    if not torch.cuda.is_available():
        assert training_args.bf16 is False


def test_lora_changes_adapter_and_projector_only(tiny, tmp_path):
    from modeling_sdvlm import SDVLMForConditionalGeneration

    data, ckpt = tiny
    initial = SDVLMForConditionalGeneration.from_pretrained(ckpt).state_dict()
    capture = Capture()
    script_args, training_args, model_args = args_for(data, ckpt, tmp_path / "lora", "--max_steps", "3",
                                                      "--lora_r", "4", "--lora_alpha", "8")
    out = train(script_args, training_args, model_args, callbacks=[capture])

    groups = {name: (lr, numel) for name, lr, numel in capture.groups}
    assert groups["projector"][0] == 2e-5 and groups["lm"][0] == 2e-4
    trained = {name: p for name, p in capture.model.named_parameters()}
    trainable = [name for name, p in trained.items() if p.requires_grad]
    assert trainable and all("lora_" in n or "multi_modal_projector" in n for n in trainable)
    assert not any("vision_tower" in n for n in trainable)
    assert all(".language_model." in n for n in trainable if "lora_" in n)
    assert groups["projector"][1] == sum(trained[n].numel() for n in trainable if "multi_modal_projector" in n)
    for name, param in trained.items():
        if "lora_B" in name:
            assert param.abs().sum() > 0, f"{name} did not move from its zero init"
        elif "lora_" not in name and "modules_to_save" not in name:
            base_name = name.replace("base_model.model.", "").replace(".base_layer", "").replace(".original_module", "")
            assert torch.equal(param.detach(), initial[base_name]), f"base weight {name} changed"
    projector = [n for n in trained if "modules_to_save" in n and n.endswith("linear_1.weight")][0]
    assert not torch.equal(trained[projector].detach(), initial["model.multi_modal_projector.linear_1.weight"])

    saved = load_file(str(out / "adapter_model.safetensors"))
    assert saved and all("lora_" in k or "multi_modal_projector" in k for k in saved)
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: transformers" in card and "LoRA r=4" in card
    # The kind of depth it was trained on is recorded, so evaluation can warn about a mismatch.
    assert json.loads((out / "sdvlm_training.json").read_text())["depth_kind"] == "metric"
    assert "Depth kind: `metric`" in card
    from sdvlm.evaluation import load_for_inference

    model, processor = load_for_inference(out)
    assert model.config.use_depth and processor.tokenizer is not None


def test_full_finetune_no_depth_freezes_vision_tower(tiny, tmp_path):
    data, ckpt = tiny
    capture = Capture()
    script_args, training_args, model_args = args_for(
        data, ckpt, tmp_path / "full", "--max_steps", "2", "--use_peft", "false", "--use_depth", "false",
        "--learning_rate", "1e-3", "--categories", "absolute_distance")
    out = train(script_args, training_args, model_args, callbacks=[capture])
    assert not any(p.requires_grad for n, p in capture.model.named_parameters() if "vision_tower" in n)
    config = json.loads((out / "config.json").read_text())
    assert config["use_depth"] is False and config["model_type"] == "sdvlm"
    record = json.loads((out / "sdvlm_training.json").read_text())
    assert record["num_rows"] == 8  # one distance row per frame
    assert record["depth_kind"] == "none"


def run(command, **kwargs):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=240, **kwargs)


KILLER = """
import os, signal, sys
from transformers import TrainerCallback
from sdvlm.train import parse_args, train

class KillAfter(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 5:  # checkpoint-4 is on disk; step 5's update is lost
            os.kill(os.getpid(), signal.SIGKILL)

train(*parse_args(sys.argv[1:])[:3], callbacks=[KillAfter()])
"""


def test_resume_after_kill_matches_uninterrupted_run(tiny, tmp_path):
    data, ckpt = tiny
    common = ["--model_name_or_path", str(ckpt), "--dataset_name", str(data), "--use_peft", "false",
              "--max_steps", "6", "--per_device_train_batch_size", "4", "--learning_rate", "1e-3",
              "--gradient_checkpointing", "false", "--disable_tqdm", "true", "--save_steps", "2", "--seed", "3"]
    straight = train(*parse_args(common + ["--output_dir", str(tmp_path / "straight"), "--save_strategy", "no"])[:3])

    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    killed = run([sys.executable, str(script), *common, "--output_dir", str(tmp_path / "resumed")])
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert (tmp_path / "resumed" / "checkpoint-4").is_dir() and not (tmp_path / "resumed" / "model.safetensors").exists()
    resumed = train(*parse_args(common + ["--output_dir", str(tmp_path / "resumed"),
                                          "--resume_from_checkpoint", "true"])[:3])
    a = load_file(str(straight / "model.safetensors"))
    b = load_file(str(resumed / "model.safetensors"))
    assert a.keys() == b.keys()
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst <= RESUME_ATOL, f"resumed weights differ by {worst}"
    initial = load_file(str(ckpt / "model.safetensors"))
    assert max((a[k] - initial[k]).abs().max().item() for k in a) > 100 * RESUME_ATOL  # training moved them


def test_starts_from_a_plain_llava_checkpoint(tiny, tmp_path):
    """The real recipe starts from llava-hf/llava-1.5-7b-hf: a Llava config is lifted to SD-VLM."""
    from transformers import LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    from modeling_sdvlm import SDVLMConfig, SDVLMProcessor

    data, ckpt = tiny
    sdvlm_config = SDVLMConfig.from_pretrained(ckpt).to_dict()
    llava_fields = set(LlavaConfig().to_dict()) - {"model_type", "architectures", "transformers_version"}
    llava = LlavaForConditionalGeneration(LlavaConfig(**{k: v for k, v in sdvlm_config.items() if k in llava_fields}))
    llava.save_pretrained(tmp_path / "llava")
    processor = SDVLMProcessor.from_pretrained(ckpt)
    LlavaProcessor(image_processor=processor.image_processor, tokenizer=processor.tokenizer,
                   patch_size=processor.patch_size, num_additional_image_tokens=1,
                   vision_feature_select_strategy=processor.vision_feature_select_strategy,
                   chat_template=processor.chat_template).save_pretrained(tmp_path / "llava")
    out = train(*args_for(data, tmp_path / "llava", tmp_path / "out", "--max_steps", "1", "--lora_r", "2",
                          "--depth_normalization", "none")[:3])
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "sdvlm" and config["depth_normalization"] == "none" and config["use_depth"]
