"""A tiny MSMU-format dataset written in place, for tests and benchmarks of training and evaluation.

Not the synthetic scene source (that is `dataset_builders.msmu`): just enough rows in the builder's
schema (`dataset_builders.msmu.features.msmu_features`, the one definition of the columns) that the
trainer and the evaluator can run in seconds without running the builder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from datasets import Dataset
from PIL import Image as PILImage
from transformers import TrainerCallback

from dataset_builders.msmu.conventions import CATEGORY_NAMES, DEPTH_UNITS_PER_METER, IMAGE_TOKEN
from dataset_builders.msmu.features import msmu_features

CATEGORIES = list(CATEGORY_NAMES)
COLORS = {"red": (220, 40, 40), "blue": (40, 60, 220)}


def tiny_msmu_rows(num_frames: int, image_size: int = 32, seed: int = 0, prefix: str = "scene") -> dict:
    """One box per frame at a random depth; a distance question and a yes/no existence question."""
    rng = np.random.default_rng(seed)
    rows = {name: [] for name in msmu_features()}
    f = float(image_size)
    for frame in range(num_frames):
        color = list(COLORS)[frame % 2]
        z = float(rng.uniform(1.0, 4.0))
        u0, v0 = (int(x) for x in rng.integers(0, image_size // 2, size=2))
        side = image_size // 3
        image = np.full((image_size, image_size, 3), 128, np.uint8)
        image[v0 : v0 + side, u0 : u0 + side] = COLORS[color]
        depth = np.full((image_size, image_size), 5 * DEPTH_UNITS_PER_METER, np.uint16)
        depth[v0 : v0 + side, u0 : u0 + side] = int(round(z * DEPTH_UNITS_PER_METER))
        u, v = u0 + side / 2, v0 + side / 2
        center = [(u - f / 2) * z / f, (v - f / 2) * z / f, z]
        rotation = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 0.0]  # box y -> camera z, box z (up) -> camera -y
        obj = {"id": 1, "name": f"{color} box", "category": "box", "center": center, "size": [0.5, 0.5, 0.5],
               "rotation": rotation}
        qas = [(f"How far is the {color} box from the camera?", f"{z:.2f} m", "absolute_distance.camera", [round(z, 2)]),
               (f"Is there a {color} box in the image?", "Yes", "zero.present", [])]
        for index, (question, answer, kind, value) in enumerate(qas):
            category = kind.split(".")[0]
            rows["image"].append(PILImage.fromarray(image))
            rows["depth"].append(PILImage.fromarray(depth))
            rows["intrinsics"].append([f, f, f / 2, f / 2])
            rows["question"].append(question)
            rows["answer"].append(answer)
            rows["category"].append(CATEGORIES.index(category))
            rows["question_kind"].append(kind)
            rows["answer_value"].append(value)
            rows["objects"].append([obj])
            rows["question_objects"].append([1])
            rows["scene_id"].append(f"{prefix}{frame // 2:04d}")
            rows["frame_id"].append(f"{frame:06d}-{index}")
            rows["conversations"].append([{"from": "human", "value": f"{IMAGE_TOKEN}\n{question}"},
                                          {"from": "gpt", "value": answer}])
    return rows


def write_tiny_msmu(folder: str | Path, num_train_frames: int = 8, num_test_frames: int = 4,
                    image_size: int = 32, seed: int = 0) -> Path:
    """Write `folder/data/{train,test}-00000-of-00001.parquet` (what `load_dataset(folder)` reads)."""
    folder = Path(folder)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    for split, frames, split_seed in (("train", num_train_frames, seed), ("test", num_test_frames, seed + 1)):
        rows = tiny_msmu_rows(frames, image_size, split_seed, prefix=f"{split}-scene")
        Dataset.from_dict(rows, features=msmu_features()).to_parquet(
            str(folder / "data" / f"{split}-00000-of-00001.parquet"))
    return folder


def all_texts(folder: str | Path) -> list[str]:
    """Every question and answer of a tiny MSMU folder (the tiny tokenizer's vocabulary)."""
    from datasets import load_dataset

    dataset = load_dataset(str(folder))
    return [text for split in dataset.values() for column in ("question", "answer") for text in split[column]]


def write_tiny_checkpoint(folder: str | Path, data_folder: str | Path, image_size: int = 32, seed: int = 0,
                          family: str = "llava", **overrides) -> Path:
    """A randomly initialised tiny SD-VLM of `family` + processor (vocabulary from `data_folder`) saved to `folder`."""
    from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor

    processor = build_tiny_processor(texts=all_texts(data_folder) + ["Depths:"], image_size=image_size, patch_size=8,
                                     family=family)
    model = build_tiny_model(processor, seed=seed, family=family, **overrides)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return Path(folder)


def write_tiny_run(root: str | Path, num_train_frames: int, num_test_frames: int,
                   checkpoint_name: str = "model") -> tuple[Path, Path]:
    """(data folder, checkpoint folder): a tiny MSMU folder at `root/msmu` and a tiny LLaVA SD-VLM whose
    vocabulary comes from it at `root/checkpoint_name`."""
    data = write_tiny_msmu(Path(root) / "msmu", num_train_frames=num_train_frames, num_test_frames=num_test_frames)
    return data, write_tiny_checkpoint(Path(root) / checkpoint_name, data)


def tiny_depth_estimator(seed: int = 0, image_size: int = 56, hidden_size: int = 16, num_layers: int = 2):
    """(model, image processor): a randomly initialised small Depth-Anything (DINOv2 backbone with
    14 px patches at `image_size`), whose head is biased to predict positive (valid), varied depth."""
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessor

    backbone = Dinov2Config(hidden_size=hidden_size, num_hidden_layers=num_layers, num_attention_heads=2,
                            intermediate_size=2 * hidden_size, patch_size=14, image_size=image_size,
                            out_features=["stage1", f"stage{num_layers}"],
                            reshape_hidden_states=False)
    config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=hidden_size, reassemble_factors=[2, 1],
                                 neck_hidden_sizes=[8, 16], fusion_hidden_size=16, head_hidden_size=8, patch_size=14)
    torch.manual_seed(seed)
    model = DepthAnythingForDepthEstimation(config).eval()
    with torch.no_grad():
        model.head.conv3.weight.normal_(0.0, 1.0)
        model.head.conv3.bias.fill_(2.0)  # a random ReLU head outputs ~0 (invalid) otherwise
    image_processor = DPTImageProcessor(size={"height": image_size, "width": image_size}, keep_aspect_ratio=True,
                                        ensure_multiple_of=14)
    return model, image_processor


class TrainEndCapture(TrainerCallback):
    """Keeps the model `Trainer` hands to `on_train_end` (as `.model`), for tests that inspect the trained weights."""

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self.model = model


def train_tiny_lora(data_folder: str | Path, checkpoint: str | Path, output_dir: str | Path) -> tuple:
    """Two LoRA steps (r 4, alpha 8, lr 1e-2, batch 2) of `sdvlm.train` from `checkpoint` on `data_folder`.

    Returns (what `train` returns, {name: parameter} of the model training ended with).
    """
    from sdvlm.train import parse_args, train

    capture = TrainEndCapture()
    args = parse_args(["--dataset_name", str(data_folder), "--model_name_or_path", str(checkpoint),
                       "--output_dir", str(output_dir), "--per_device_train_batch_size", "2",
                       "--gradient_checkpointing", "false", "--save_strategy", "no", "--disable_tqdm", "true",
                       "--max_steps", "2", "--lora_r", "4", "--lora_alpha", "8", "--learning_rate", "1e-2"])[:3]
    out = train(*args, callbacks=[capture])
    return out, dict(capture.model.named_parameters())


__all__ = ["TrainEndCapture", "train_tiny_lora", "write_tiny_run", "tiny_depth_estimator", "CATEGORIES", "msmu_features", "tiny_msmu_rows", "write_tiny_msmu", "all_texts", "write_tiny_checkpoint"]
