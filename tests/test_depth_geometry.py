"""`masked_resize` (banded matrix products with torch's weights) against torch's own antialiased resize."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from modeling_sdvlm.depth_geometry import align_depth, image_threshold, masked_resize, pad_to_square


def torch_masked_resize(depth: torch.Tensor, out_size, pad: bool) -> torch.Tensor:
    """The masked mean straight from `F.interpolate`: resized depth over resized validity, 0 off the image."""

    def resize(tensor):
        return F.interpolate(tensor[None, None], size=out_size, mode="bilinear", align_corners=False, antialias=True)[0, 0]

    valid = (depth > 0).to(torch.float32)
    on_image = torch.ones(depth.shape)
    if pad:
        depth, valid, on_image = pad_to_square(depth), pad_to_square(valid), pad_to_square(on_image)
    weight = resize(valid)
    mean = torch.where(weight > 0, resize(depth) / weight.clamp(min=1e-12), 0.0)
    if pad:
        share = resize(on_image)
        mean = torch.where(share >= image_threshold(share), mean, 0.0)
    return mean


# (map, output, pad): landscape and portrait pads, odd sizes, upscales, 1xN and Nx1 maps, one axis
# unchanged, a strong downscale. Outputs one pixel wide are left out: torch 2.13's antialiased kernel
# gives every row the first row's value when it resizes the height of a one-column tensor.
GEOMETRIES = [
    ((48, 64), (33, 33), True),
    ((64, 48), (33, 33), True),
    ((37, 101), (24, 66), False),
    ((37, 101), (17, 17), True),
    ((7, 3), (20, 13), False),
    ((7, 3), (11, 11), True),
    ((1, 50), (12, 12), True),
    ((50, 1), (9, 4), False),
    ((299, 97), (299, 50), False),
    ((61, 60), (5, 5), True),
    ((900, 700), (24, 31), False),
]


@pytest.mark.parametrize("shape, out_size, pad", GEOMETRIES)
@pytest.mark.parametrize("kind", ["dense", "holes", "negative_zero_holes"])
def test_masked_resize_is_torchs_masked_mean(shape, out_size, pad, kind):
    generator = np.random.default_rng(sum(shape) + len(kind))
    array = generator.uniform(0.1, 5.0, shape).astype(np.float32)
    if kind != "dense":
        array[generator.random(shape) < 0.3] = -0.0 if kind == "negative_zero_holes" else 0.0
    # A transposed view: the banded products read the map through numpy, strides and all.
    depth = torch.from_numpy(np.ascontiguousarray(array.T)).T
    before = depth.clone()
    got, _ = masked_resize(depth, out_size, pad=pad, all_valid=kind == "dense")
    expected = torch_masked_resize(depth, out_size, pad)
    assert got.shape == expected.shape == out_size and got.dtype == torch.float32
    assert torch.equal(got == 0, expected == 0)  # the same pixels off the image or without valid depth
    torch.testing.assert_close(got, expected, rtol=2e-5, atol=0.0)
    assert torch.equal(depth, before)  # the caller's map is not written to


def test_masked_resize_to_the_same_size_and_the_padded_square():
    depth = torch.rand(6, 9) + 0.5
    assert masked_resize(depth, (6, 9))[0] is depth
    padded, share = masked_resize(depth, (9, 9), pad=True)
    assert torch.equal(padded, pad_to_square(depth)) and torch.equal(share, pad_to_square(torch.ones(6, 9)))


@pytest.mark.parametrize("shape, rows_on_image", [((3, 7), [False, True, True, True, False]), ((7, 3), [True] * 5)])
def test_padded_map_resized_one_pixel_wide_stays_a_mean(shape, rows_on_image):
    """An output one pixel wide, where torch's own kernel is wrong (see GEOMETRIES): the image share is
    read off the same banded products, so a dense map's depth is a mean of its values (it was ~1e12)."""
    depth = torch.from_numpy(np.random.default_rng(0).uniform(1.0, 2.0, shape).astype(np.float32))
    got, share = align_depth(depth, do_pad=True, size={"height": 5, "width": 1}, return_image_mask=True)
    assert share[:, 0].tolist() == rows_on_image  # a portrait map's pad is columns: every row is on it
    on_image = got[share]
    assert bool((on_image >= 1.0).all() and (on_image <= 2.0).all()) and bool((got[~share] == 0).all())
    constant, _ = masked_resize(torch.full(shape, 3.0), (5, 1), pad=True, all_valid=True)
    torch.testing.assert_close(constant[share], torch.full_like(constant[share], 3.0))
