"""The four finetuning regimes on three tasks: finetuning error against alpha = n/d, RS lines and finite-d markers.

E[(beta_hat - beta_FT)^2] of the [DL] hand-off interpolator for one representative initialisation per regime
(:data:`ptft.paper_figures.dl_common.REGIMES`, all at c_PT = 1e-3, each confirmed by
:func:`ptft.theory.regimes.classify_regime` at |beta| = |beta_PT| = 1):

* I rich, pretraining-independent: lambda_PT = -1, gamma_FT = 1e-6 ((O, PD) = (1.036, 0));
* II lazy, pretraining-dependent: lambda_PT = 1, gamma_FT = 0 ((1.963, -0.962));
* III lazy, pretraining-independent: lambda_PT = 0, gamma_FT = 10 ((2.000, -0.020));
* IV rich, pretraining-dependent: lambda_PT = -0.99, gamma_FT = 0 ((1.230, -0.230));

on three tasks with rho_PT = 0.1: (a) no overlap (omega = 0, rho_FT = 0.1: every finetuning feature is new),
(b) full overlap (omega = 1, rho_FT = 0.1: the finetuning support is the pretraining support), (c) a subset
task (omega = 1, rho_FT = 0.01: the finetuning support is a tenth of the pretraining support).

Source: [DL] Anguita et al., arXiv:2602.20062, Fig. 4; tasks and c_PT from the first author's public figure
script ``experiments/diagonal/replica/figure4.py`` (``Nico31415/toy-unlearning``; read, not copied), whose
regime II is lambda = 0 (regime IV by :func:`classify_regime`: (O, PD) = (1.887, -0.886)); see
:mod:`ptft.paper_figures.dl_common`. The paper's figure shows lines only; the markers here add the finite-d
check: the exact minimiser at d = 5000, mean +- 95 % Student-t interval over 14 seeds, at alpha = 0.1, 0.25,
0.4 (504 solves: 27 min serial on a shared machine, measured; ``quick``: d = 300, 3 seeds, alpha = 0.15, 0.35,
25 RS alphas). Lines: RS theory on 100 alphas.
Every point runs through :func:`ptft.numerics.sweeps.run_sweep` (cached under ``out_dir/.cache``).
Assumptions: oracle pretraining (|beta_PT| = 1), noiseless labels, exact group counts.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D

from ptft.paper_figures.dl_common import (Config, REGIME_ORDER, REGIMES, finite_point, run_theory_and_finite,
                                          summarise_finite, unique_points)
from ptft.paper_figures.generalisation import figure_cache
from ptft.paper_figures.style import new_figure, panel_label, save_figure

__all__ = ["Config", "CONFIGS", "TASKS", "comparison_data", "make"]

CACHE_VERSION = "1"
RHO_PT = 0.1
#: (title, rho_FT, omega)
TASKS = (("no overlap", 0.1, 0.0), ("full overlap", 0.1, 1.0), ("subset task", 0.01, 1.0))


CONFIGS = {
    False: Config(d=5000, seeds=tuple(range(6, 20)), alpha_markers=(0.1, 0.25, 0.4),
                  alpha_line=tuple(np.round(np.linspace(0.005, 0.5, 100), 6).tolist())),
    True: Config(d=300, seeds=(6, 7, 8), alpha_markers=(0.15, 0.35),
                 alpha_line=tuple(np.round(np.linspace(0.02, 0.5, 25), 6).tolist())),
}


def comparison_data(quick: bool = False, cache_dir=None, *, executor=None) -> dict:
    """Run (or read from cache) the RS curves and finite-d cells; no plotting.

    Returns ``{"config", "theory": {(task index, regime): curve dict}, "finite": {(task index, regime): [summary
    per marker alpha]}, "classification": {regime: RegimeClassification}}``.
    """
    from ptft.numerics.asymptotics import task_from_overlap
    from ptft.theory.regimes import classify_regime

    cfg = CONFIGS[bool(quick)]
    keys, th_pts, fd_pts = [], [], []
    for ti, (_, rho_ft, omega) in enumerate(TASKS):
        task = task_from_overlap(RHO_PT, rho_ft, omega)
        for r in REGIME_ORDER:
            keys.append((ti, r))
            th_pts.append(dict(alphas=list(cfg.alpha_line), **REGIMES[r].params, **task))
            for a in cfg.alpha_markers:
                for s in cfg.seeds:
                    fd_pts.append(finite_point(cfg.d, a, s, task, REGIMES[r].params))
    fd_u, fd_i = unique_points(fd_pts)
    th, fd = run_theory_and_finite(th_pts, fd_u, cache_dir=cache_dir, version=CACHE_VERSION, executor=executor,
                                   name="dl_regime_comparison")
    S, A = len(cfg.seeds), len(cfg.alpha_markers)
    theory, finite = {}, {}
    for c, key in enumerate(keys):
        theory[key] = th[c]
        base = c * A * S
        finite[key] = [summarise_finite([fd[fd_i[base + a * S + s]] for s in range(S)]) for a in range(A)]
    cls = {r: classify_regime(**REGIMES[r].params) for r in REGIME_ORDER}
    return {"config": cfg, "theory": theory, "finite": finite, "classification": cls}


def best_regimes(data: dict, ti: int, alphas, tie: float = 1e-6) -> list[tuple[str, float]]:
    """``(names, error)`` of the lowest RS error at each of ``alphas`` (nearest line alpha) on task ``ti``: one
    regime name, or several joined by "=" when their errors are all below ``tie`` (exact recovery) or within 1 %
    of the best; ``error`` the lowest error."""
    out = []
    for a in alphas:
        errs = {}
        for r in REGIME_ORDER:
            th = data["theory"][(ti, r)]
            i = int(np.argmin(np.abs(np.array(th["alphas"]) - a)))
            errs[r] = th["error"][i] if th["converged"][i] else np.inf
        best = min(errs.values())
        out.append(("=".join(r for r in REGIME_ORDER if errs[r] <= max(tie, 1.01 * best)), float(best)))
    return out


def make(out_dir: Path, quick: bool = False, *, use_cache: bool = True, executor=None) -> list[Path]:
    """Write ``dl_regime_comparison.png/.pdf``; returns the paths (cache under ``out_dir/.cache`` unless
    ``use_cache=False``)."""
    data = comparison_data(quick, figure_cache(out_dir, use_cache), executor=executor)
    cfg = data["config"]
    fig, axes = new_figure(3, width=13.0, height=5.0)
    am = np.array(cfg.alpha_markers)
    top = 0.0
    for ti, (ax, (title, rho_ft, omega)) in enumerate(zip(axes[0], TASKS)):
        n_fail = n_rs = 0
        for k, r in enumerate(REGIME_ORDER):
            reg = REGIMES[r]
            th = data["theory"][(ti, r)]
            a, e = np.array(th["alphas"], float), np.array(th["error"], float)
            ok = np.array(th["converged"], bool)
            n_rs += int((~ok).sum())
            ax.plot(a[ok], e[ok], color=reg.color, lw=1.8, zorder=2)
            cells = data["finite"][(ti, r)]
            m = np.array([c["mean"] for c in cells])
            err = np.array([[c["ci_lo"] for c in cells], [c["ci_hi"] for c in cells]])
            n_fail += sum(c["failed"] for c in cells)
            ax.errorbar(am + (k - 1.5) * 0.006, m, yerr=err, ls="none", marker="o", ms=4, mfc="white",
                        color=reg.color, capsize=2, elinewidth=1.0, zorder=3)
            top = max(top, float(np.nanmax(e[ok])), float(np.nanmax(m)))  # long CIs (quick) may leave the axes
        best = best_regimes(data, ti, cfg.alpha_markers)
        note = "lowest RS error:\n" + "\n".join(f"$\\alpha$ = {a:g}: {b} ({'< 1e-6' if e < 1e-6 else f'{e:.2g}'})"
                                                for a, (b, e) in zip(cfg.alpha_markers, best))
        extra = "".join([f"; {n_fail} runs not converged, omitted" if n_fail else "",
                         f"; {n_rs} RS points not converged" if n_rs else ""])
        panel_label(ax, "abc"[ti], f"{title}: $\\omega$ = {omega:g}, $\\rho_{{FT}}$ = {rho_ft:g}{extra}")
        ax.text(0.98, 0.97, note, transform=ax.transAxes, ha="right", va="top", fontsize=7)
        ax.set_xlim(0, 0.5)
        ax.set_xlabel(r"$\alpha = n/d$")
    for ax in axes[0]:
        ax.set_ylim(-0.03 * top, top * 1.12)
    axes[0][0].set_ylabel(r"finetuning error $E[(\hat\beta - \beta_{FT})^2]$")
    h = [Line2D([], [], color=REGIMES[r].color, lw=2, label=REGIMES[r].label) for r in REGIME_ORDER]
    h += [Line2D([], [], color="k", lw=1.5, label="RS theory"),
          Line2D([], [], color="k", ls="none", marker="o", mfc="white",
                 label=f"minimiser, d = {cfg.d} (mean $\\pm$ 95% CI, {len(cfg.seeds)} seeds)")]
    fig.legend(handles=h, loc="outside lower center", ncol=3, fontsize=7.5)
    fig.suptitle(f"[DL] Fig. 4: the four regimes ($c_{{PT}}$ = $10^{{-3}}$) on three tasks, $\\rho_{{PT}}$ = "
                 f"{RHO_PT:g}; oracle pretraining, noiseless" + (" (quick)" if quick else ""), fontsize=9)
    return save_figure(fig, out_dir, "dl_regime_comparison")


if __name__ == "__main__":
    from ptft.paper_figures.script import main

    raise SystemExit(main("dl_regime_comparison"))
