"""The [DL] figures: each quick figure renders, and the data behind it obey the theory it illustrates."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from ptft.paper_figures import (dl_best_regime_map, dl_common, dl_phase_diagram, dl_regime_comparison,
                                dl_theory_vs_simulation)


def _check_files(paths, tmp_path, stem):
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
    for p in paths:
        assert p.parent == tmp_path and p.stem == stem and p.stat().st_size > 1000


@pytest.mark.parametrize("name", dl_common.REGIME_ORDER)
def test_representative_initialisations_are_in_their_regime(name):
    from ptft.theory.regimes import classify_regime

    reg = dl_common.REGIMES[name]
    assert classify_regime(**reg.params).regime == name


# --- Fig. 3 grid: RS lines and finite-d markers -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("dl_sim")
    paths = dl_theory_vs_simulation.make(out, quick=True)
    return out, paths, dl_theory_vs_simulation.figure_data(True, out / ".cache")   # read back from the cache


def test_theory_vs_simulation_renders_and_converges(sim):
    out, paths, data = sim
    _check_files(paths, out, "dl_theory_vs_simulation")
    cfg = data["config"]
    assert data["n_theory_points"] < sum(len(p.curves) for p in data["panels"])   # shared curves computed once
    for th_panel, fd_panel in zip(data["theory"], data["finite"]):
        for th, cells in zip(th_panel, fd_panel):
            assert all(th["converged"]) and np.all(np.array(th["error"]) >= 0)
            for c in cells:
                assert c["failed"] == 0 and c["n"] == len(cfg.seeds) and c["mean"] >= 0
                assert c["ci_lo"] >= 0 and c["ci_hi"] >= 0


def test_theory_vs_simulation_markers_follow_the_lines_where_recovery_is_exact(sim):
    _, _, data = sim
    cfg = data["config"]
    k = 5                       # panel (f): subset tasks, omega = 1
    panel = data["panels"][k]
    j = next(i for i, cu in enumerate(panel.curves) if cu.rho_ft == 0.01 and cu.lambda_pt == -0.99)
    th, cells = data["theory"][k][j], data["finite"][k][j]
    a = np.array(th["alphas"])
    exact = 0
    for am, c in zip(cfg.alpha_markers, cells):
        e_rs = th["error"][int(np.argmin(np.abs(a - am)))]
        if e_rs < 1e-6:
            # RS predicts recovery of the 3-sparse (d = 300) teacher: the minimiser recovers it to solver tolerance
            assert c["mean"] < 1e-6, am
            exact += 1
    assert exact >= 2     # alpha = 0.25 and 0.4 are past the recovery transition


# --- Fig. 4: the four regimes ---------------------------------------------------------------------------------


def test_regime_comparison_renders_and_lazy_independent_regime_is_min_norm(tmp_path):
    paths = dl_regime_comparison.make(tmp_path, quick=True)
    _check_files(paths, tmp_path, "dl_regime_comparison")
    data = dl_regime_comparison.comparison_data(True, tmp_path / ".cache")
    for key, th in data["theory"].items():
        assert all(th["converged"]), key
        assert all(c["failed"] == 0 for c in data["finite"][key])
    for ti in range(len(dl_regime_comparison.TASKS)):
        th = data["theory"][(ti, "III")]
        a, e = np.array(th["alphas"]), np.array(th["error"])
        # regime III (gamma_FT = 10) is the min-l2-norm interpolator up to O(u^2) corrections (u = |beta|/c_FT,
        # c_FT ~ 51) and its small pretraining dependence (PD = -0.02): error ~ 1 - alpha for E[beta^2] = 1
        assert np.max(np.abs(e - (1 - a))) < 0.02
    # on the no-overlap task pretraining cannot help: rich PT-independent I beats lazy PT-dependent II everywhere
    eI, eII = (np.array(data["theory"][(0, r)]["error"]) for r in ("I", "II"))
    assert np.all(eI <= eII + 1e-9)
    assert data["classification"]["II"].regime == "II"


# --- the (O, PD) plane ------------------------------------------------------------------------------------------


def test_phase_diagram_points_satisfy_the_bounds(tmp_path):
    paths = dl_phase_diagram.make(tmp_path, quick=True)
    _check_files(paths, tmp_path, "dl_phase_diagram")
    d = dl_phase_diagram.phase_data(True, tmp_path / ".cache")
    recs = [*d["c_lines"].values(), *d["g_lines"].values(), *d["b_lines"].values(), *d["b_marks"].values()]
    eps = 1e-9
    for rec in recs:
        O, PD = np.array(rec["O"]), np.array(rec["PD"])
        assert np.all((O >= 1 - eps) & (O <= 2 + eps))
        assert np.all((PD >= -1 - eps) & (PD <= eps))
        assert np.all((O + PD >= 1 - eps) & (O + PD <= 2 + eps))
    # c_PT -> oo is lazy and pretraining-independent (regime III) for every lambda_PT > -1
    for lam, rec in d["c_lines"].items():
        assert rec["O"][-1] > 1.99 and rec["PD"][-1] > -0.01, lam
    # gamma_FT > 0 at lambda_PT = -1: c_FT = gamma^2/2 carries no pretraining dependence
    assert np.max(np.abs(d["g_lines"][-1.0]["PD"])) == 0.0
    from ptft.theory.regimes import classify_regime

    for r, (o, pd) in d["reps"].items():
        c = classify_regime(**dl_common.REGIMES[r].params)
        assert o == pytest.approx(c.l_order, abs=1e-12) and pd == pytest.approx(c.pretraining_dependence, abs=1e-12)


# --- best-regime map ----------------------------------------------------------------------------------------------


def test_best_regime_map_agrees_with_direct_rs_calls(tmp_path):
    from ptft.numerics.asymptotics import generalization_error

    paths = dl_best_regime_map.make(tmp_path, quick=True)
    _check_files(paths, tmp_path, "dl_best_regime_map")
    d = dl_best_regime_map.map_data(True, tmp_path / ".cache")
    cfg = d["config"]
    assert d["n_failed"] == 0
    for ia, jn, js in ((0, 1, 2), (1, 2, 4)):     # (alpha, rho_ft_new, rho_ft_shared) indices
        direct = []
        for r in dl_common.REGIME_ORDER:
            with warnings.catch_warnings():
                warnings.simplefilter("error")    # a non-converged point would raise here
                res = generalization_error(alpha_ft=cfg.alphas[ia], rho_pt=dl_best_regime_map.RHO_PT,
                                           rho_ft_shared=cfg.shared[js], rho_ft_new=cfg.new[jn],
                                           **dl_common.REGIMES[r].params)
            direct.append(res.error)
        np.testing.assert_allclose(d["error"][ia, :, jn, js], direct, rtol=1e-9, atol=1e-14)
        assert d["best"][ia, jn, js] == int(np.argmin(direct))
    # the empty task is left out; every other cell has a winner, and the margin is >= 1 where defined
    assert d["best"][:, 0, 0].tolist() == [-1] * len(cfg.alphas)
    assert np.all(d["best"][:, 1:, :] >= 0) and np.all(d["best"][:, :, 1:] >= 0)
    r = d["ratio"][np.isfinite(d["ratio"])]
    assert r.size and np.all(r >= 1)
