"""Tests of the shared depth-encoding core and of sparse depth through the LLaVA-1.5 processor."""

import logging

import numpy as np
import pytest
import torch
from PIL import Image

from modeling_sdvlm.depth_encoding import (
    MINMAX_EPS,
    area_pool_depth,
    area_pool_depth_grids,
    encode_token_depth,
    encode_token_depths,
    fill_empty_cells,
    normalize_depth,
    pool_depth_cells,
    uniform_edges,
)
from modeling_sdvlm.tiny import build_tiny_model, build_tiny_processor

PROMPT = "USER: <image>\nHow far? ASSISTANT:"


def test_area_pool_is_the_valid_mean_weighted_by_overlap():
    rng = np.random.default_rng(0)
    depth = torch.from_numpy(rng.uniform(0.5, 4.0, (7, 11)).astype(np.float32))
    depth[rng.random((7, 11)) < 0.4] = 0.0
    depth[0, 0] = float("nan")
    rows, cols = uniform_edges(7, 3), uniform_edges(11, 4)
    means, share = area_pool_depth(depth, rows, cols)
    # Independent: supersample every pixel 12x per axis (both 7/3 and 11/4 land on the 1/12 lattice).
    fine = torch.nan_to_num(depth).repeat_interleave(12, 0).repeat_interleave(12, 1).double()
    cell_h, cell_w = 7 * 12 // 3, 11 * 12 // 4
    for i in range(3):
        for j in range(4):
            block = fine[i * cell_h : (i + 1) * cell_h, j * cell_w : (j + 1) * cell_w]
            valid = block > 0
            assert share[i, j].item() == pytest.approx(valid.double().mean().item(), abs=1e-6)
            expected = block[valid].mean().item() if valid.any() else 0.0
            assert means[i, j].item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("holes", [False, True])
def test_area_pool_grids_in_one_pass_match_each_grid_alone_and_the_supersampled_mean(holes):
    """All-valid maps take a fast path (no validity products); both paths give the supersampled mean."""
    rng = np.random.default_rng(1)
    depth = torch.from_numpy(rng.uniform(0.5, 4.0, (7, 11)).astype(np.float32))
    if holes:
        depth[rng.random((7, 11)) < 0.3] = 0.0
    grids = [(uniform_edges(7, 3), uniform_edges(11, 4)), (torch.tensor([-1.0, 3.5, 7.0]), uniform_edges(11, 2))]
    together = area_pool_depth_grids(depth, grids)
    for (rows, cols), (means, share) in zip(grids, together):
        alone_means, alone_share = area_pool_depth(depth, rows, cols)
        assert torch.equal(means, alone_means) and torch.equal(share, alone_share)
    fine = depth.repeat_interleave(12, 0).repeat_interleave(12, 1).double()
    means, share = together[0]
    for i in range(3):
        for j in range(4):
            block = fine[i * 28 : (i + 1) * 28, j * 33 : (j + 1) * 33]
            valid = block > 0
            assert share[i, j].item() == pytest.approx(valid.double().mean().item(), abs=1e-6)
            assert means[i, j].item() == pytest.approx(block[valid].mean().item() if valid.any() else 0.0, rel=1e-6)
    # the second grid's first row starts one pixel above the map: that part counts as invalid
    assert torch.all(together[1][1][0] < 1.0)


def test_area_pool_counts_cells_outside_the_map_as_invalid():
    depth = torch.full((4, 4), 2.0)
    means, share = area_pool_depth(depth, torch.tensor([-4.0, 0.0, 4.0]), torch.tensor([0.0, 4.0]))
    assert means.tolist() == [[0.0], [2.0]] and share.tolist() == [[0.0], [1.0]]


def test_fill_normalise_and_encode_token_depth():
    grid = torch.tensor([[0.0, 1.0, 3.0]])
    assert fill_empty_cells(grid).tolist() == [[2.0, 1.0, 3.0]]
    assert normalize_depth(torch.tensor([[1.0, 3.0]]), "minmax", 10.0)[0].tolist() == pytest.approx([0.0, 10.0])
    with pytest.raises(ValueError, match="depth map 0 has no valid pixel"):
        fill_empty_cells(torch.zeros(1, 3))

    class Config:
        depth_normalization, depth_scale, depth_pe_base, depth_pe_amplitude = "none", 1.0, 10000.0, 1.0

        class text_config:
            hidden_size = 4

    encoding = encode_token_depth(torch.tensor([0.0, 2.0]), Config)
    assert encoding.shape == (2, 4) and torch.equal(encoding[0], encoding[1])  # the hole took the mean
    with pytest.raises(ValueError, match="depth map 3 has negative values"):
        encode_token_depth(torch.tensor([-1.0, 2.0]), Config, index=3)


class EncodingConfig:
    depth_normalization, depth_scale, depth_pe_base, depth_pe_amplitude = "minmax", 100.0, 10000.0, 1.0

    class text_config:
        hidden_size = 64


def test_normalize_depth_is_bitwise_the_formula():
    grid = torch.rand(3, 5, 7) * 9 + 0.5
    low, high = (value.view(-1, 1, 1) for value in torch.aminmax(grid.flatten(1), dim=1))
    assert torch.equal(normalize_depth(grid, "minmax", 12.5), (grid - low) / (high - low + MINMAX_EPS) * 12.5)
    assert torch.equal(normalize_depth(grid, "none", 12.5), grid * 12.5)


@pytest.mark.parametrize("counts", [[6, 6, 6], [4, 9, 1]])
@pytest.mark.parametrize("holes", [False, True])
def test_encode_token_depths_equals_each_image_alone(counts, holes):
    """Images of one size with every token valid take one batched pass; the rest each image's own fill
    and normalisation: both give what each image gives alone, bit for bit."""
    values = torch.rand(sum(counts)) * 4 + 0.5
    if holes:
        values[[0, 7]] = 0.0
        values[3] = float("nan")
    for config in (EncodingConfig, type("Amplified", (EncodingConfig,), {"depth_pe_amplitude": 0.25})):
        got = encode_token_depths(values, counts, config)
        alone = [encode_token_depth(image, config, index) for index, image in enumerate(values.split(counts))]
        assert [tuple(encoding.shape) for encoding in got] == [(count, 64) for count in counts]
        assert all(torch.equal(a, b) for a, b in zip(got, alone))
    with pytest.raises(ValueError, match="depth map 1 has no valid pixel"):
        encode_token_depths(torch.tensor([1.0, 0.0, 0.0]), [1, 2], EncodingConfig)


def test_pool_depth_cells_matches_the_valid_mean():
    depth = torch.tensor([[[1.0, 3.0, 0.0, float("inf")], [5.0, 0.0, 0.0, 0.0]]])
    assert pool_depth_cells(depth, 2).tolist() == [[[3.0, 0.0]]]


@pytest.fixture(scope="module")
def processor():
    return build_tiny_processor(texts=["How far?"], image_size=112, patch_size=14)


@pytest.mark.parametrize("fraction", [0.05, 0.4])
def test_sparse_random_depth_reaches_every_token(processor, fraction):
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    depth = rng.uniform(0.5, 5.0, (120, 160)).astype(np.float32)
    depth[rng.random((120, 160)) > fraction] = 0.0
    out = processor(images=[image], text=[PROMPT], depth=[depth], return_tensors="pt")
    values, on_image = out["depth_values"][0], torch.zeros(112, 112, dtype=torch.bool)
    on_image[14:98] = True  # 160x120 padded to 160x160: the image is rows 20..140 -> 14..98 at 112 px
    cells = (values > 0).reshape(8, 14, 8, 14).any(dim=3).any(dim=1)
    assert cells[1:7].all()  # every token row on the image holds valid depth
    model = build_tiny_model(processor)
    assert torch.isfinite(model.model.depth_grid(out["depth_values"])).all()


def test_thin_image_and_single_valid_pixel_are_valid_inputs(processor, caplog):
    for height, width in ((1, 5000), (5000, 1)):
        depth = np.full((height, width), 2.0, np.float32)
        out = processor(images=[Image.new("RGB", (width, height))], text=[PROMPT], depth=[depth], return_tensors="pt")
        assert (out["depth_values"] > 0).any()
    depth = np.zeros((60, 80), np.float32)
    depth[30, 40] = 3.0
    with caplog.at_level(logging.WARNING):
        out = processor(images=[Image.new("RGB", (80, 60))], text=[PROMPT], depth=[depth], return_tensors="pt")
    assert (out["depth_values"] > 0).any()
    assert "depth map 0:" in caplog.text and "have no valid depth pixel" in caplog.text
    model = build_tiny_model(processor)
    assert torch.isfinite(model.model.depth_grid(out["depth_values"])).all()
