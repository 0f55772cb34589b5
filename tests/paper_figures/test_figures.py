"""paper_figures: cheap figures render, figure data obey the theory, registry errors, aggregation rules."""
from __future__ import annotations

import numpy as np
import pytest

from ptft import paper_figures
from ptft.paper_figures import conservation_law, generalisation, penalty_landscape


@pytest.mark.parametrize("module", [penalty_landscape, conservation_law])
def test_quick_make_writes_png_and_pdf(module, tmp_path):
    paths = module.make(tmp_path, quick=True)
    suffixes = sorted(p.suffix for p in paths)
    assert suffixes == [".pdf", ".png"]
    for p in paths:
        assert p.parent == tmp_path and p.exists() and p.stat().st_size > 1000


def test_make_all_unknown_name_raises_keyerror(tmp_path):
    with pytest.raises(KeyError, match="no_such_figure"):
        paper_figures.make_all(tmp_path, quick=True, only=["no_such_figure"])
    assert list(paper_figures.FIGURES) == ["penalty_landscape", "conservation_law", "generalisation", "rescaling",
                                           "rescaling_phase"]


@pytest.fixture(scope="module")
def cons():
    return conservation_law.conservation_data()


@pytest.mark.parametrize("key", list(conservation_law.PENALTIES))
def test_conservation_law_holds(cons, key):
    d = cons[key]
    assert np.max(np.abs(d["O"] + d["FD"] - 1.0)) < 1e-6            # SymPy formulas
    assert np.max(np.abs(d["O_fd"] + d["FD_fd"] - 1.0)) < 1e-6      # finite differences of the numerics
    assert np.all((d["O"] > 1 - 1e-9) & (d["O"] < 2 + 1e-9))       # between l1 and l2


@pytest.mark.parametrize("key", list(conservation_law.PENALTIES))
def test_finite_differences_match_theory(cons, key):
    d = cons[key]
    assert np.max(np.abs(d["O_fd"] - d["O_at_markers"])) < 1e-5
    assert np.max(np.abs(d["FD_fd"] - d["FD_at_markers"])) < 1e-5


def test_conservation_collapse_and_ordering(cons):
    # homogeneity: O depends on |beta|/|beta_aux| only, so the rows for different beta_aux coincide
    for key in conservation_law.PENALTIES:
        assert np.ptp(cons[key]["O"], axis=0).max() < 1e-6
    # the MTL transition is narrower: at |beta| = 10 |beta_aux| MTL is much closer to l1 than PT+FT
    i = np.argmin(np.abs(cons["ratios"] - 10.0))
    assert cons["mtl"]["O"][0, i] - 1 < 0.5 * (cons["ptft"]["O"][0, i] - 1)


def test_penalty_landscape_numerics_match_sympy():
    d = penalty_landscape.penalty_landscape_data()
    for ba, rec in d["mtl"].items():
        np.testing.assert_allclose(rec["numerics"], rec["theory_at_markers"], rtol=1e-6)
    for c, per in d["ptft"].items():
        for ba, rec in per.items():
            assert rec["normalisation_gap"] < 1e-9          # same function, same R(0) = 0 normalisation
            assert rec["beta0_gap"] < 1e-12
            ok = np.isfinite(rec["theory_at_markers"])
            assert ok.sum() >= 5
            np.testing.assert_allclose(rec["numerics"][ok], rec["theory_at_markers"][ok], rtol=1e-8)
            assert np.all(rec["theory_at_markers"][ok] > 0)  # Bregman form is positive away from beta0


def test_error_bars_are_nonnegative_and_floored():
    y, yerr = generalisation.error_bars([1e-8, 0.5, np.nan, 0.1], [1e-7, 0.4, np.nan, np.nan], 1e-6)
    assert y[0] == 1e-6 and np.isnan(y[2])
    assert np.all(yerr[:, [0, 1, 3]] >= 0)
    assert yerr[0, 1] == pytest.approx(0.5 - 1e-6) and yerr[:, 3].tolist() == [0.0, 0.0]


def test_summarise_omits_and_counts_nonconverged_runs():
    cfg = generalisation.Config(d=10, k_aux=2, n_aux=4, n_main=(4, 8), seeds=(0, 1, 2))
    ms = [generalisation.MethodSpec("single_task", "single_task"), generalisation.MethodSpec("mtl", "mtl")]

    def cell(gd, th):
        gd = np.array(gd, float)
        return {"gd": gd, "converged": np.isfinite(gd), "theory": np.array(th, float)}

    cells = {(0, "single_task", 4): cell([2.0, 4.0, 1.0], [2.0, 4.0, 1.0]),
             (0, "single_task", 8): cell([1.0, 2.0, 0.5], [1.0, 2.0, 0.5]),
             (0, "mtl", 4): cell([1.0, np.nan, 0.5], [1.0, 2.0, np.nan]),
             (0, "mtl", 8): cell([np.nan, np.nan, np.nan], [0.2, 0.4, 0.1])}
    s = generalisation.summarise(cells, cfg, 1, ms)[0]
    np.testing.assert_allclose(s["single_task"]["gd_mean"], [1.0, 0.5])
    assert s["mtl"]["gd_count"].tolist() == [2, 0] and s["mtl"]["gd_failed"].tolist() == [1, 3]
    assert s["mtl"]["gd_mean"][0] == pytest.approx(0.5) and np.isnan(s["mtl"]["gd_mean"][1])
    assert s["mtl"]["theory_count"].tolist() == [2, 3]
    assert s["mtl"]["theory_mean"][1] == pytest.approx(0.1)


def test_theory_cell_marks_failed_minimiser_missing(monkeypatch):
    import ptft.numerics.teacher_student as ts

    def boom(**kw):
        raise RuntimeError("group_lasso_interpolator: solver status 'optimal_inaccurate'")

    monkeypatch.setattr(ts, "generalisation_errors", boom)
    with pytest.warns(RuntimeWarning, match="theory point marked missing"):
        out = generalisation.theory_error_cell(d=10, k_aux=2, k_main=2, shared=2, n_aux=4, n_main=4, method="mtl",
                                               seed=0, alpha=1e-3, c=1.0, gamma=1e-3)
    assert out is None


def test_rescaling_phase_renders_and_theory_tracks_gd(tmp_path, monkeypatch):
    from ptft.paper_figures import rescaling_phase

    tiny = rescaling_phase.PhaseConfig(d=40, k_aux=6, k_main=2, n_aux=48, n_main=4, seeds=(0, 1),
                                       c=(1.0, 0.1), gamma=(1e-2, 1e-3), slices=(1e-2, 1e-3))
    monkeypatch.setitem(rescaling_phase.PHASE_CONFIGS, True, tiny)
    paths = rescaling_phase.make(tmp_path, quick=True)
    assert sorted(p.suffix for p in paths) == [".pdf", ".png"]
    d = rescaling_phase.phase_data(True, tmp_path / ".cache")       # from the cache just written
    assert d["gd"].shape == d["theory"].shape == (2, 2, 2) and d["failed"].sum() == 0
    # GD lands on the exact hand-off minimiser (claim ptft.gd_follows_exact_penalty), so the two maps agree
    np.testing.assert_allclose(d["gd"], d["theory"], rtol=0.1)
    assert np.all((d["rho"] > 0) & (d["rho"] < 1))
