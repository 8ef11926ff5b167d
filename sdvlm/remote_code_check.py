"""Load a saved checkpoint with `trust_remote_code=True` in a fresh interpreter that cannot import this package.

Shared by the per-family tests that prove the code copied beside a checkpoint is self-contained: one
script template, one flat scene (uniform grey image, linear depth ramp) that the test re-encodes locally.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image

REMOTE_SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys
    # Hide the editable install and the repository: the package must NOT be importable here.
    sys.meta_path = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")
                     and "__editable__" not in getattr(type(f), "__module__", "")]
    sys.path = [p for p in sys.path if p not in ("", {repo!r}) and "__editable__" not in p]
    assert importlib.util.find_spec("modeling_sdvlm") is None, "modeling_sdvlm is still importable"
    import numpy as np, torch
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor
    model = AutoModelForImageTextToText.from_pretrained({path!r}, trust_remote_code=True).eval()
    processor = AutoProcessor.from_pretrained({path!r}, trust_remote_code=True)
    image = Image.fromarray(np.full(({height}, {width}, 3), 120, dtype=np.uint8))
    depth = np.linspace(0.5, 4.0, {height} * {width}, dtype=np.float32).reshape({height}, {width})
    inputs = processor(images=[image], text=[{prompt!r}], depth=[depth], return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits
    report = {{"model": type(model).__module__ + "." + type(model).__name__,
              "processor": type(processor).__module__ + "." + type(processor).__name__,
              "logits": logits[0, -1].tolist()}}
    if "depth_values" in inputs:
        report.update(depth=inputs["depth_values"].flatten().tolist(), depth_sum=float(inputs["depth_values"].sum()))
    print(json.dumps(report))
    """
)


def flat_scene(height: int, width: int) -> tuple[Image.Image, np.ndarray]:
    """The scene the remote script encodes: a (height, width) grey RGB image and its (height, width) depth ramp."""
    image = Image.fromarray(np.full((height, width, 3), 120, dtype=np.uint8))
    return image, np.linspace(0.5, 4.0, height * width, dtype=np.float32).reshape(height, width)


def run_remote_checkpoint(model, processor, workdir: str | Path, repo_root: str | Path, prompt: str,
                          height: int, width: int) -> dict:
    """Save `model` and `processor` to `workdir / "checkpoint"`, then encode `flat_scene(height, width)` with
    `prompt` through the checkpoint's own code in a subprocess.

    Returns the script's report: the model and processor class paths, the last-token logits and, where the
    processor emits `depth_values`, those values flattened (`depth`) and summed (`depth_sum`).
    """
    workdir = Path(workdir)
    checkpoint = workdir / "checkpoint"
    model.save_pretrained(checkpoint)
    processor.save_pretrained(checkpoint)
    env = {**os.environ, "HF_MODULES_CACHE": str(workdir / "modules"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    script = REMOTE_SCRIPT.format(repo=str(repo_root), path=str(checkpoint), prompt=prompt, height=height, width=width)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=workdir, env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


__all__ = ["REMOTE_SCRIPT", "flat_scene", "run_remote_checkpoint"]
