"""benchmarks/depth_parity.py keeps its reference depth_values in a safetensors file (no pickle)."""

import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
depth_parity = pytest.importorskip("depth_parity")


def test_reference_is_safetensors_and_check_reads_it_back(tmp_path, monkeypatch, capsys):
    values = {"llava/metric/2x3/dense": torch.arange(6.0).reshape(1, 2, 3), "qwen/inverse/1x2/nan": torch.ones(4)}
    monkeypatch.setattr(depth_parity, "all_depth_values", lambda: {k: v.clone() for k, v in values.items()})
    monkeypatch.setattr(torch, "set_num_threads", lambda threads: None)  # main() pins 1; keep pytest's
    path = tmp_path / "ref.safetensors"
    depth_parity.main(["save", str(path)])
    saved = load_file(path)
    assert saved.keys() == values.keys() and all(torch.equal(saved[k], v) for k, v in values.items())
    depth_parity.main(["check", str(path)])
    assert "2/2 torch.equal" in capsys.readouterr().out
    values["qwen/inverse/1x2/nan"] = torch.full((4,), 1.5)  # a changed value fails the check
    with pytest.raises(SystemExit):
        depth_parity.main(["check", str(path)])
