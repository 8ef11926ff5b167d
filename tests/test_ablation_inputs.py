"""The ablation's depth inputs: prompt text from the depth map alone, depth as image(s), patch noise."""

import numpy as np
import pytest
import torch
from datasets import load_dataset

from sdvlm.collator import SDVLMDataCollator
from sdvlm.depth_image import fuse_depth, render_depth
from sdvlm.depth_noise import add_patch_depth_noise
from sdvlm.depth_prompt import add_depth_prompt, depth_grid, depth_prompt_text
from sdvlm.testing import write_tiny_msmu


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    folder = write_tiny_msmu(tmp_path_factory.mktemp("msmu"), num_train_frames=4, num_test_frames=2)
    return load_dataset(str(folder))["train"]


def test_depth_prompt_is_built_from_the_depth_map_alone(rows):
    example = dict(rows[0])
    text = depth_prompt_text(example)
    # No annotation enters: dropping or changing boxes, names and intrinsics leaves the text as is.
    blind = {"depth": example["depth"], "objects": [], "intrinsics": [1.0, 1.0, 0.0, 0.0]}
    assert depth_prompt_text(blind) == text
    for obj in example["objects"]:
        assert obj["name"] not in text
    # The numbers are the valid-pixel means of the 4x4 cells, in meters, row by row.
    depth = np.asarray(example["depth"], dtype=np.float32) / 1000.0
    cells = depth.reshape(4, 8, 4, 8).mean(axis=(1, 3))
    expected = " / ".join(" ".join(f"{v:.1f}" for v in row) for row in cells)
    assert text == f" Depth grid: {expected} ."
    # ... and the depth map drives it: another map, another text.
    assert depth_prompt_text({"depth": np.full((32, 32), 1.0, np.float32)}) != text
    updated = add_depth_prompt(example)
    assert updated["question"] == example["question"] + text
    assert updated["conversations"][0]["value"].endswith(text)


def test_depth_grid_skips_invalid_pixels():
    depth = np.zeros((4, 4), np.float32)
    depth[0, 0] = 3.0
    grid = depth_grid(depth, grid=2)
    assert grid[0, 0] == pytest.approx(3.0) and np.isnan(grid[1, 1])
    assert "?" in depth_prompt_text({"depth": depth}, grid=2)


def test_depth_image_rendering_and_fusion(rows):
    depth = np.array([[0.0, 2.5], [5.0, 20.0]], np.float32)
    grey = np.asarray(render_depth(depth))[..., 0]
    assert grey.tolist() == [[0, 191], [128, 0]]  # invalid black, near bright, beyond 10 m dark
    image = rows[0]["image"]
    fused = fuse_depth(image, np.asarray(rows[0]["depth"], np.float32) / 1000.0)
    assert fused.size == image.size and fused.mode == "RGB"
    assert np.asarray(fused).astype(int).sum() != np.asarray(image.convert("RGB")).astype(int).sum()


def test_collator_and_prompt_take_a_second_image(rows):
    from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor

    processor = build_tiny_processor(texts=list(rows["question"]) + list(rows["answer"]), image_size=32, patch_size=8)
    examples = []
    for index in (0, 1):
        example = dict(rows[index])
        example["depth_image"] = render_depth(np.asarray(example["depth"], np.float32) / 1000.0)
        examples.append(example)
    batch = SDVLMDataCollator(processor=processor, use_depth=False)(examples)
    assert batch["pixel_values"].shape == (4, 3, 32, 32)  # photo and depth image per row
    assert (batch["input_ids"] == processor.image_token_id).sum(dim=1).tolist() == [32, 32]
    model = build_tiny_model(processor, use_depth=False)
    loss = model(**batch).loss
    assert torch.isfinite(loss)


def test_patch_noise_is_one_relative_factor_per_cell():
    depth = np.full((8, 8), 2.0, np.float32)
    depth[0, 0] = 0.0
    noisy = add_patch_depth_noise(depth, 0.7, 4, np.random.default_rng(0))
    assert noisy[0, 0] == 0.0  # invalid stays invalid
    ratio = noisy / 2.0
    for i in range(4):
        for j in range(4):
            cell = ratio[2 * i : 2 * i + 2, 2 * j : 2 * j + 2][depth[2 * i : 2 * i + 2, 2 * j : 2 * j + 2] > 0]
            assert np.allclose(cell, cell[0])
    # Relative: the same draw scales a 1 m and a 5 m map by the same factors.
    far = add_patch_depth_noise(depth * 2.5, 0.7, 4, np.random.default_rng(0))
    assert np.allclose(far, noisy * 2.5)
    # It survives the token pooling (per-pixel noise of the same sigma would average out).
    pooled = noisy.reshape(4, 2, 4, 2).mean(axis=(1, 3))
    assert pooled.std() > 0.3
    assert np.array_equal(add_patch_depth_noise(depth, 0.0, 4, np.random.default_rng(0)), depth)
    with pytest.raises(ValueError, match="sigma"):
        add_patch_depth_noise(depth, -1.0, 4, np.random.default_rng(0))
