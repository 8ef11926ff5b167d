"""benchmarks/depth_parity.py keeps its reference depth_values in a safetensors file (no pickle)."""

import importlib
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_reference_is_safetensors_and_check_reads_it_back(tmp_path, monkeypatch, capsys):
    # The benchmark scripts pin OMP_NUM_THREADS=1 on import (setdefault) and main() pins torch to one
    # thread: both undone after this test, so the rest of the session keeps its own settings.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    depth_parity = importlib.import_module("depth_parity")
    values = {"llava/metric/2x3/dense": torch.arange(6.0).reshape(1, 2, 3), "qwen/inverse/1x2/nan": torch.ones(4)}
    monkeypatch.setattr(depth_parity, "all_depth_values", lambda: {k: v.clone() for k, v in values.items()})
    monkeypatch.setattr(torch, "set_num_threads", lambda threads: None)
    path = tmp_path / "ref.safetensors"
    depth_parity.main(["save", str(path)])
    saved = load_file(path)
    assert saved.keys() == values.keys() and all(torch.equal(saved[k], v) for k, v in values.items())
    depth_parity.main(["check", str(path)])
    assert "2/2 torch.equal" in capsys.readouterr().out
    values["qwen/inverse/1x2/nan"] = torch.full((4,), 1.5)  # a changed value fails the check
    with pytest.raises(SystemExit) as failed:
        depth_parity.main(["check", str(path)])
    assert failed.value.code == 1
