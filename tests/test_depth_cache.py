"""DepthCache: depth is estimated once per distinct image and read back from safetensors files."""

import numpy as np
import pytest
from PIL import Image

from sdvlm.depth_cache import DepthCache, cache_key, estimator_id, image_key


def images(n, size=(12, 8)):
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)) for _ in range(n)]


class CountingEstimator:
    def __init__(self):
        self.calls = 0

    def __call__(self, batch):
        self.calls += len(batch)
        return [np.full((im.height, im.width), float(np.asarray(im).mean()), np.float32) for im in batch]


def test_estimates_once_and_caches(tmp_path):
    pics = images(3)
    estimator = CountingEstimator()
    cache = DepthCache(tmp_path, estimate_fn=estimator)
    keys = cache.fill(pics + [pics[0].copy()], batch_size=2)  # a duplicate image is estimated once
    assert estimator.calls == 3 and cache.num_estimated == 3
    assert keys[0] == keys[3] == image_key(pics[0])
    again = DepthCache(tmp_path, estimate_fn=estimator)
    assert again.fill(pics) == keys[:3] and estimator.calls == 3  # nothing re-estimated
    depth = again.get(keys[1])
    assert depth.shape == (8, 12) and depth.dtype == np.float32
    assert np.allclose(depth, np.asarray(pics[1]).mean())
    assert sorted(p.suffix for p in tmp_path.rglob("*.*")) == [".safetensors"] * 3


def test_errors(tmp_path):
    with pytest.raises(KeyError, match="no cached depth"):
        DepthCache(tmp_path).get("ab" * 20)
    with pytest.raises(ValueError, match="no estimator"):
        DepthCache(tmp_path).fill(images(1))
    bad = DepthCache(tmp_path, estimate_fn=lambda batch: [np.zeros((3, 3), np.float32) for _ in batch])
    with pytest.raises(ValueError, match="expected \\(8, 12\\)"):
        bad.fill(images(1))


def test_tiny_depth_anything_fills_the_cache_for_training(tmp_path):
    """The training path: a dataset without depth gets a depth_key column, the collator reads it."""
    from datasets import Dataset

    from modeling_sdvlm.tiny import build_tiny_processor
    from sdvlm.collator import SDVLMDataCollator
    from sdvlm.testing import tiny_depth_estimator
    from sdvlm.train import depth_kind, prepare_depth

    processor = build_tiny_processor(texts=["How far?", "1.5 m"], image_size=32, patch_size=8)
    processor.set_depth_estimator(*tiny_depth_estimator())
    rows = Dataset.from_dict({"image": images(2, (40, 30)), "conversations": [
        [{"from": "human", "value": "<image>\nHow far?"}, {"from": "gpt", "value": "1.5 m"}]] * 2})
    dataset, cache = prepare_depth(rows, processor, True, "auto", tmp_path)
    assert cache.num_estimated == 2 and len(set(dataset["depth_key"])) == 2
    assert cache.estimator == estimator_id(processor) and dataset["depth_key"][0] != image_key(rows[0]["image"])
    assert depth_kind(dataset, cache, processor) == f"estimated:{processor.depth_estimator}"
    batch = SDVLMDataCollator(processor=processor, depth_cache=cache)([dataset[0], dataset[1]])
    assert batch["depth_values"].shape == (2, 32, 32)
    # Invalid = 0 only in the padding of the 40x30 image to a square; the image area is all valid.
    assert (batch["depth_values"] != 0).float().mean() > 0.5


def test_cache_key_includes_the_estimator(tmp_path):
    """One cache folder shared by two depth models never hands one model's maps to the other."""
    pic = images(1)[0]
    assert cache_key(pic) == image_key(pic)
    assert len({cache_key(pic, "a/depth-small"), cache_key(pic, "a/depth-large"), image_key(pic)}) == 3
    first, second = CountingEstimator(), CountingEstimator()
    [key_a] = DepthCache(tmp_path, estimate_fn=first, estimator="a/depth-small").fill([pic])
    [key_b] = DepthCache(tmp_path, estimate_fn=second, estimator="a/depth-large").fill([pic])
    assert key_a != key_b and first.calls == 1 and second.calls == 1  # not served from the other's entry
    assert DepthCache(tmp_path, estimate_fn=first, estimator="a/depth-small").fill([pic]) == [key_a]
    assert first.calls == 1


def test_estimator_id_names_the_model_and_its_config():
    from modeling_sdvlm.tiny import build_tiny_processor
    from sdvlm.testing import tiny_depth_estimator

    processor = build_tiny_processor(texts=["How far?"], image_size=32, patch_size=8)
    assert estimator_id(processor) == processor.depth_estimator  # not loaded yet: its id
    model, image_processor = tiny_depth_estimator()
    processor.set_depth_estimator(model, image_processor)
    loaded = estimator_id(processor)
    assert loaded.startswith(processor.depth_estimator + "@") and "config=" in loaded
    model.config.fusion_hidden_size += 1  # another model under the same id gets another key
    assert estimator_id(processor) != loaded
