"""The scripts in examples/ run as documented (at their default, small sizes)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_derive_and_print_latex(tmp_path, capsys):
    out = tmp_path / "dl.tex"
    _load("derive_and_print_latex").main(["ptft.dl_handoff", "--out", str(out)])
    text = capsys.readouterr().out
    assert text.startswith("<Derivation ptft.dl_handoff:")
    assert r"\begin{align*}" in text and "c_{\\mathrm{FT}}" in text
    assert out.read_text().startswith(r"\documentclass")


def test_gd_vs_implicit_bias():
    out = _load("gd_vs_implicit_bias").main([])
    # GD at lr = 0.05 is O(lr) away; extrapolating in lr removes that error (Richardson, 3 levels)
    assert out["extrapolated_gap"] < 1e-2 * out["gd_gap"]
    assert out["extrapolated_gap"] < 1e-4


def test_sweep_on_local_cluster(tmp_path, capsys):
    pytest.importorskip("distributed")
    results = _load("sweep_on_local_cluster").main(["--workers", "2", "--cache-dir", str(tmp_path)])
    assert len(results) == 8 and all(r["converged"] for r in results)
    assert f"cache: {tmp_path}" in capsys.readouterr().out
    assert len(list(tmp_path.rglob("*.json"))) == 8
