"""Estimate depth ONCE per image and cache it, keyed by a hash of the image's pixels.

Datasets without ground-truth depth (the authors' released MSMU) need Depth-Anything maps for DPE.
Estimating them inside the training loop would run a 335M-parameter ViT-L on every step of every
epoch; instead `DepthCache.fill` runs the estimator once over the distinct images (batched, with a
progress bar) and stores each map as its own safetensors file (no pickle), and the collator then
only reads files.

Layout: `<cache_dir>/<key[:2]>/<key>.safetensors` with one float32 tensor `depth` (H, W). The key
hashes the image's pixels together with the estimator's id (`estimator_id`), so one cache folder
shared by runs with different depth models never hands one model's maps to another.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from PIL import Image
from safetensors.numpy import load_file, save_file
from tqdm.auto import tqdm

from modeling_sdvlm.depth_inputs import DEPTH_KINDS, check_choice


def image_key(image: Image.Image) -> str:
    """A stable content hash of a PIL image (mode, size and pixels), independent of file encoding."""
    digest = hashlib.sha256()
    digest.update(f"{image.mode}|{image.size[0]}x{image.size[1]}|".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()[:40]


def estimator_id(processor) -> str:
    """The id of `processor`'s depth model: its `depth_estimator` (Hub id or path), plus the
    revision and a hash of the config of the model when one is already loaded or injected."""
    parts = [str(getattr(processor, "depth_estimator", "") or "unknown")]
    model = getattr(getattr(processor, "_estimator", None), "model", None)
    config = getattr(model, "config", None)
    if config is not None:
        commit = getattr(config, "_commit_hash", None)
        if commit:
            parts.append(f"rev={commit}")
        config_json = config.to_json_string(use_diff=False) if hasattr(config, "to_json_string") else repr(config)
        parts.append("config=" + hashlib.sha256(config_json.encode()).hexdigest()[:12])
    return "@".join(parts)


def cache_key(image: Image.Image, estimator: str | None = None) -> str:
    """The cache key of `image`'s depth from `estimator` (its plain `image_key` when None)."""
    key = image_key(image)
    if not estimator:
        return key
    return hashlib.sha256(f"{estimator}|{key}".encode()).hexdigest()[:40]


class DepthCache:
    """Depth maps by image hash and estimator.

    Args:
        cache_dir: folder of the cache (created on demand).
        estimate_fn: `list[PIL.Image] -> list[np.ndarray (H, W) float32]`, e.g.
            `processor.estimate_depth`; needed only to fill missing entries.
        estimator: id of the depth model behind `estimate_fn` (see `estimator_id`), part of
            every key, so maps of different estimators never mix in one folder.
        depth_kind: what the estimator's maps hold, `"inverse"` (relative, Depth-Anything's default)
            or `"metric"` (meters); readers hand it to the processor with the maps, which converts
            them to the model's depth convention.
    """

    def __init__(self, cache_dir: str | os.PathLike, estimate_fn: Callable | None = None,
                 estimator: str | None = None, depth_kind: str = "inverse"):
        self.cache_dir = Path(cache_dir)
        self.estimate_fn = estimate_fn
        self.estimator = estimator
        self.depth_kind = check_choice("depth_kind", depth_kind, DEPTH_KINDS)
        self.num_estimated = 0  # how many maps this instance had to estimate (tests and logs read it)

    def path(self, key: str) -> Path:
        return self.cache_dir / key[:2] / f"{key}.safetensors"

    def __contains__(self, key: str) -> bool:
        return self.path(key).is_file()

    def get(self, key: str) -> np.ndarray:
        """The cached (H, W) float32 map of `key`; a missing entry raises `KeyError` naming it."""
        path = self.path(key)
        if not path.is_file():
            raise KeyError(f"no cached depth for image {key} (expected {path}); run DepthCache.fill first")
        return load_file(str(path))["depth"]

    def put(self, key: str, depth: np.ndarray) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a killed run never leaves a truncated entry behind.
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        save_file({"depth": np.ascontiguousarray(depth, dtype=np.float32)}, str(tmp))
        os.replace(tmp, path)

    def fill(self, images: Iterable[Image.Image], batch_size: int = 8) -> list[str]:
        """Estimate and store every image not cached yet; returns the key of every input image."""
        keys, pending = [], {}
        for image in images:
            key = cache_key(image, self.estimator)
            keys.append(key)
            if key not in pending and key not in self:
                pending[key] = image
        if pending and self.estimate_fn is None:
            raise ValueError(f"{len(pending)} images have no cached depth and no estimator was given")
        todo = list(pending.items())
        for start in tqdm(range(0, len(todo), batch_size), desc="Estimating depth (once)", disable=not todo):
            batch = todo[start : start + batch_size]
            maps = self.estimate_fn([image for _, image in batch])
            if len(maps) != len(batch):
                raise ValueError(f"depth estimator returned {len(maps)} maps for {len(batch)} images")
            for (key, image), depth in zip(batch, maps):
                depth = np.asarray(depth, dtype=np.float32)
                if depth.shape != (image.height, image.width):
                    raise ValueError(
                        f"estimated depth for image {key} has shape {depth.shape}, expected "
                        f"{(image.height, image.width)} (the original image size)"
                    )
                self.put(key, depth)
                self.num_estimated += 1
        return keys


__all__ = ["image_key", "cache_key", "estimator_id", "DepthCache"]
