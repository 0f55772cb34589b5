"""paper_figures: cheap figures render, figure data obey the theory, registry errors, aggregation rules."""
from __future__ import annotations

import inspect

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
    names = list(paper_figures.FIGURES)
    assert names[:5] == ["penalty_landscape", "conservation_law", "generalisation", "rescaling", "rescaling_phase"]
    assert {"dl_theory_vs_simulation", "dl_regime_comparison", "dl_phase_diagram", "dl_best_regime_map",
            "sbg_risk_vs_samples", "sbg_depth", "sbg_ntk"} <= set(names) and len(set(names)) == len(names)
    for name in names:   # every registered name is a figure module with make(out_dir, quick=...)
        assert "quick" in inspect.signature(paper_figures.FIGURES[name].make).parameters


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


# --- layout: everything drawn stays inside the axes ------------------------------------------------------------


def test_cut_at_floor_ends_lines_at_the_floor():
    from ptft.paper_figures.style import cut_at_floor

    x, y = cut_at_floor([8, 16, 32], [0.3, 0.08, 1e-12], 1e-6)
    ok = np.isfinite(y)
    assert np.all(y[ok] >= 1e-6) and y[ok][-1] == 1e-6       # ends on the floor ...
    assert 16 < x[ok][-1] < 32                                 # ... where the segment crosses it
    # log-log interpolation: 0.08 -> 1e-12 over one octave crosses 1e-6 at 2^(log(0.08/1e-6)/log(0.08/1e-12))
    t = np.log(0.08 / 1e-6) / np.log(0.08 / 1e-12)
    assert x[ok][-1] == pytest.approx(16 * 2 ** t)
    # exact zero (exact recovery) and a rise from below the floor
    x, y = cut_at_floor([1, 2, 4], [0.0, 1e-2, 1e-3], 1e-6)
    assert np.isnan(y[0]) and np.nanmin(y) == 1e-6 and np.all(x[np.isfinite(y)] >= 1)


def test_generalisation_lines_stay_inside_the_axes():
    import matplotlib.pyplot as plt

    cfg = generalisation.Config(d=10, k_aux=2, n_aux=4, n_main=(8, 16, 32), seeds=(0, 1))
    ms = generalisation.default_methods()[:2]
    rec = lambda th: {"n": np.array(cfg.n_main), "gd_mean": np.array([1.0, 1e-2, 1e-8]),  # noqa: E731
                      "gd_se": np.array([0.1, 1e-3, 1e-9]), "gd_count": np.array([2, 2, 2]),
                      "gd_failed": np.array([0, 0, 0]), "theory_mean": np.array(th), "seeds": 2}
    summary = {"single_task": rec([1.0, 0.5, 1e-3]), "mtl": rec([0.3, 0.08, 1e-14])}  # MTL far below the floor
    fig, ax = plt.subplots()
    notes = generalisation.plot_error_vs_n(ax, summary, ms)
    generalisation.finish_axes([ax], [notes], generalisation.Y_FLOOR)
    lo, hi = ax.get_ylim()
    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), float)
        y = y[np.isfinite(y)]
        assert np.all((y >= lo) & (y <= hi)), line
    plt.close(fig)


def test_rescaling_phase_contour_labels_inside_axes():
    import matplotlib.pyplot as plt
    from ptft.paper_figures import rescaling_phase
    from ptft.paper_figures.style import new_figure

    cfg = rescaling_phase.PHASE_CONFIGS[False]  # the full-size grid; values are synthetic (no sweep)
    vals = np.exp(np.random.default_rng(0).normal(size=(len(cfg.gamma), len(cfg.c), 2)))
    fig, axes = new_figure(2, width=8.0, height=4.0)
    sets = [rescaling_phase._heatmap(ax, cfg, vals, -1.0, 1.0)[1] for ax in axes[0]]
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    renderer = fig.canvas.get_renderer()
    for ax, cs in zip(axes[0], sets):
        assert len(rescaling_phase.label_contours(ax, cs)) >= len(rescaling_phase.RHO_LEVELS) - 1
        box = ax.get_window_extent(renderer)
        assert cs.labelTexts
        for t in cs.labelTexts:
            tb = t.get_window_extent(renderer)
            assert box.x0 <= tb.x0 and tb.x1 <= box.x1 and box.y0 <= tb.y0 and tb.y1 <= box.y1, t.get_text()
        assert len(ax.yaxis.get_majorticklocs()) <= 3 and len(ax.xaxis.get_majorticklocs()) <= 4
    plt.close(fig)


# --- --no-cache and printed paths ---------------------------------------------------------------------------


@pytest.fixture
def tiny_phase(monkeypatch):
    """The rescaling_phase figure on a tiny grid, with a counter of GD/minimiser evaluations."""
    import functools

    import ptft.numerics.teacher_student as ts
    from ptft.paper_figures import rescaling_phase

    tiny = rescaling_phase.PhaseConfig(d=40, k_aux=6, k_main=2, n_aux=48, n_main=4, seeds=(0, 1),
                                       c=(1.0, 0.1), gamma=(1e-2, 1e-3), slices=(1e-2, 1e-3))
    monkeypatch.setitem(rescaling_phase.PHASE_CONFIGS, True, tiny)
    monkeypatch.delenv("PTFT_FIGURE_WORKERS", raising=False)  # serial: the counter lives in this process
    calls = []
    real = ts.generalisation_errors

    @functools.wraps(real)  # same module/qualname, so the same cache keys
    def counting(**kw):
        calls.append(kw)
        return real(**kw)

    monkeypatch.setattr(ts, "generalisation_errors", counting)
    return calls


def _cache_files(out):
    return {p: p.stat().st_mtime_ns for p in (out / ".cache").rglob("*.json")}


def test_no_cache_recomputes_every_point(tiny_phase, tmp_path):
    from ptft.paper_figures import rescaling_phase

    rescaling_phase.make(tmp_path, quick=True)
    first = len(tiny_phase)
    cached = _cache_files(tmp_path)
    assert first > 0 and len(cached) > 0
    rescaling_phase.make(tmp_path, quick=True)                       # everything read from the cache
    assert len(tiny_phase) == first
    rescaling_phase.make(tmp_path, quick=True, use_cache=False)      # nothing read: all recomputed ...
    assert len(tiny_phase) == 2 * first
    assert _cache_files(tmp_path) == cached                           # ... and nothing written


def test_cli_figures_no_cache_recomputes_and_prints_each_path_once(tiny_phase, tmp_path, capsys):
    from ptft.verification import cli

    out = tmp_path / "figs"
    assert cli.main(["figures", "--out", str(out), "--quick", "--only", "rescaling_phase"]) == 0
    first = len(tiny_phase)
    assert cli.main(["figures", "--out", str(out), "--quick", "--only", "rescaling_phase", "--no-cache"]) == 0
    assert len(tiny_phase) == 2 * first
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
    expected = [f"wrote {out / 'rescaling_phase'}.{ext}" for ext in ("png", "pdf")]
    assert lines == expected * 2  # once per file and run: no second listing


def test_script_main_prints_where_it_wrote(tmp_path, capsys):
    from ptft.paper_figures import script

    assert script.main("penalty_landscape", ["--out", str(tmp_path), "--no-cache"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"wrote {tmp_path / 'penalty_landscape.png'}", f"wrote {tmp_path / 'penalty_landscape.pdf'}"]
    assert all((tmp_path / f"penalty_landscape.{e}").stat().st_size > 1000 for e in ("png", "pdf"))


@pytest.mark.parametrize("name", list(paper_figures.FIGURES))
def test_every_figure_is_a_script_with_no_cache(name):
    import inspect

    mod = paper_figures.FIGURES[name]
    assert "use_cache" in inspect.signature(mod.make).parameters
    src = inspect.getsource(mod)
    assert 'if __name__ == "__main__":' in src and f'main("{name}")' in src
    a = __import__("ptft.paper_figures.script", fromlist=["build_parser"]).build_parser(name).parse_args(
        ["--out", "x", "--quick", "--no-cache"])
    assert a.no_cache and a.quick and a.out == "x"


def test_no_internal_references_in_figures():
    from pathlib import Path

    root = Path(paper_figures.__file__).parent
    for p in list(root.glob("*.py")) + [Path(__file__)]:
        text = p.read_text().lower()
        for word in ("theory" + ".md", "iss" + "ue"):
            assert word not in text, (p.name, word)
