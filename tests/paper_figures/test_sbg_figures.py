"""The [SBG] figures: each quick figure renders PNG + PDF, and the data behind it obey the theory it draws."""
from __future__ import annotations

import numpy as np
import pytest

from ptft.paper_figures import sbg_depth, sbg_ntk, sbg_risk_vs_samples


def _check_files(paths, tmp_path, stem):
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
    for p in paths:
        assert p.parent == tmp_path and p.stem == stem and p.stat().st_size > 1000


@pytest.mark.parametrize("module, stem", [(sbg_risk_vs_samples, "sbg_risk_vs_samples"), (sbg_depth, "sbg_depth"),
                                          (sbg_ntk, "sbg_ntk")])
def test_quick_make_writes_png_and_pdf(module, stem, tmp_path):
    _check_files(module.make(tmp_path, quick=True), tmp_path, stem)
    assert (tmp_path / ".cache").is_dir()                       # sweep points cached
    _check_files(module.make(tmp_path, quick=True), tmp_path, stem)   # second run reads the cache


def test_risk_cells_monte_carlo_agree_with_theory():
    for spectrum in ("isotropic", "power_law"):
        r = sbg_risk_vs_samples.risk_cell(d=60, spectrum=spectrum, source="random", n=20, draws=40, seed=0)
        # finite d = 60: the deterministic equivalent is exact only as d -> oo (O(1/n) relative), so 4 s.e. + 5%
        assert abs(r["mean"] - r["theory"]) <= 4 * r["se"] + 0.05 * r["theory"]


def test_depth_cell_gd_matches_limit_and_depth_lowers_risk_for_scaled_teacher():
    shallow = sbg_depth.depth_cell(d=50, alpha=2.0, depth=1, seed=0, gd=True)
    deep = sbg_depth.depth_cell(d=50, alpha=2.0, depth=8, seed=0, gd=True)
    for c in (shallow, deep):
        assert abs(c["gd"] - c["theory"]) / c["theory"] < 1e-2      # GD at lr_0/2: O(lr) gap
    assert deep["theory"] < shallow["theory"]


def test_scale_cell_source_beta_equals_target_one_over_beta():
    a = sbg_depth.scale_cell(d=50, kind="source", beta=4.0, depth=7, seed=1, gd=False)["theory"]
    b = sbg_depth.scale_cell(d=50, kind="target", beta=0.25, depth=7, seed=1, gd=False)["theory"]
    assert a == pytest.approx(b, rel=1e-10)     # homogeneity of the deep-linear limit


def test_ntk_risk_cell_pretraining_helps_and_gd_is_near_ntk():
    kw = dict(d=6, n_source=24, n_targets=[8], gd_targets=[8], width=512, seed=0)
    near = sbg_ntk.risk_cell(eps=0.25, **kw)
    scratch = sbg_ntk.risk_cell(eps="scratch", **kw)
    assert near["theory"][0] < scratch["theory"][0]
    for r in (near, scratch):
        assert np.isfinite(r["gd"][0]) and abs(r["gd"][0] - r["theory"][0]) < 0.5 * r["theory"][0] + 1e-3
