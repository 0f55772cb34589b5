"""Per-coordinate penalties vs |beta| (log-log): MTL conditional penalty, exact PT+FT penalty at c = 1 and 0.1.

Panels ([LL] Lippl & Lindsey 2024, "Inductive biases of multi-task learning and finetuning: multiple
regimes of feature reuse", arXiv:2310.02396):

(a) MTL: R_MTL(beta; beta_aux) = sqrt(beta^2 + beta_aux^2) - |beta_aux| (theory ``mtl.conditional_penalty``),
    i.e. the l1,2 (group-lasso) norm of the coordinate minus its value at beta = 0; beta_aux = 0 gives |beta| (l1).
(b) PT+FT, exact finetuning penalty after the [LL] hand-off (theory ``ptft.rescaled_start``), c = 1,
    gamma = 1e-3, for the same beta_aux and a new feature (beta_aux = 0).
(c) the same with rescaling c = 0.1.

Lines: the lambdified SymPy results. Markers: the numerics implementations, evaluated independently:
``numerics.mtl.conditional_penalty`` (the cancellation-free form of ``group_norm(beta, beta_aux) -
group_norm(0, beta_aux)``; group_norm is ||B||_{1,2} = half the min-norm cost, so no factor) and
``numerics.ptft.handoff_penalty(beta_aux, c, gamma, alpha=0).value`` (``SinhPenalty``).

Normalisations (checked in :func:`penalty_landscape_data`, not assumed): the SymPy R_exact and
``SinhPenalty.value`` are the *same* function, both with R(0) = 0 (recorded as ``normalisation_gap``).
With gamma > 0 that function is not minimal at 0 but at the finetuning start beta0 = c gamma
sign(beta_aux) sqrt|beta_aux|, where R(beta0) = (sqrt k - M)/4 < 0, so log R is undefined near 0.
Panels (b, c) therefore plot the Bregman form R(beta) - R(beta0) (>= 0; the same penalty up to a
constant, hence the same minimiser), with the *same* subtraction applied to lines and markers, for beta
of the sign of beta_aux and |beta| >= 3 |beta0| (each curve starts there). The dashed lines are the
[LL] plotted approximation R_FT(beta; c^2 beta_aux, gamma)/4 (theory ``ptft.plotted_penalty`` with
|beta_aux| -> c^2 |beta_aux| as in ``numerics.ptft.plotted_penalty``); the factor 1/4 is the
numerics' normalisation (same minimiser) and makes its large-|beta| slope equal to the exact one's.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ptft.paper_figures.style import aux_color, new_figure, panel_label, save_figure

__all__ = ["BETA_AUX", "GAMMA", "penalty_landscape_data", "make"]

BETA_AUX = (0.0, 0.01, 0.1, 1.0)
GAMMA = 1e-3
C_VALUES = (1.0, 0.1)
START_FACTOR = 3.0  # PT+FT curves start at |beta| = START_FACTOR |beta0|


def _theory_functions():
    from ptft import theory
    mtl = theory.get("mtl.conditional_penalty")
    assert [s.name for s in mtl.symbols] == ["beta", "beta_aux"], mtl.symbols
    ex = theory.get("ptft.rescaled_start")
    assert [s.name for s in ex.symbols] == ["beta", "beta_aux", "c", "gamma"], ex.symbols
    pl = theory.get("ptft.plotted_penalty")
    assert [s.name for s in pl.symbols] == ["beta", "beta_aux", "gamma"], pl.symbols
    import sympy as sp

    beta0 = sp.lambdify(ex.symbols, ex.extra["beta0"], "numpy")
    return mtl.lambdify(), ex.lambdify(), beta0, pl.lambdify()


def penalty_landscape_data(betas=None, marker_betas=None, beta_aux=BETA_AUX, c_values=C_VALUES,
                           gamma: float = GAMMA) -> dict:
    """Theory curves and numerics markers for the three panels (no plotting).

    Returns ``{"betas", "marker_betas", "beta_aux", "gamma", "mtl": {beta_aux: {...}}, "ptft": {c: {beta_aux:
    {...}}}}``; each inner dict holds ``theory`` (on ``betas``), ``numerics`` (on ``marker_betas``),
    ``theory_at_markers``, and for PT+FT ``beta0``, ``plotted`` (R_FT/4 on ``betas``), ``normalisation_gap``
    (max |SinhPenalty.value - R_exact| relative to max |R| on the markers, before any subtraction) and
    ``beta0_gap``; entries of ``betas`` below the curve's start ``START_FACTOR |beta0|`` are NaN.
    """
    from ptft.numerics import mtl as nm
    from ptft.numerics import ptft as npf

    betas = np.logspace(-5, 2, 211) if betas is None else np.asarray(betas, float)
    marker_betas = np.logspace(-5, 2, 15) if marker_betas is None else np.asarray(marker_betas, float)
    f_mtl, f_ex, f_b0, f_pl = _theory_functions()
    out = {"betas": betas, "marker_betas": marker_betas, "beta_aux": tuple(beta_aux), "gamma": gamma,
           "mtl": {}, "ptft": {}}
    for ba in beta_aux:
        out["mtl"][ba] = {
            "theory": f_mtl(betas, ba) * np.ones_like(betas),
            "theory_at_markers": f_mtl(marker_betas, ba) * np.ones_like(marker_betas),
            "numerics": nm.conditional_penalty(marker_betas, np.full_like(marker_betas, ba)),
        }
    for c in c_values:
        out["ptft"][c] = {}
        for ba in beta_aux:
            b0 = float(f_b0(0.0, ba, c, gamma))
            pen = npf.handoff_penalty(np.array([ba]), c, gamma, alpha=0.0)
            b0_num = float(pen.scale[0] * np.sinh(pen.phase[0]))  # the start: link at s = 0
            raw_th_m = f_ex(marker_betas, ba, c, gamma)
            raw_num_m = pen.value(marker_betas)
            gap = float(np.max(np.abs(raw_num_m - raw_th_m)) / np.max(np.abs(raw_th_m)))
            start = START_FACTOR * abs(b0)
            keep = betas >= start
            keep_m = marker_betas >= start
            th = np.where(keep, f_ex(betas, ba, c, gamma) - f_ex(b0, ba, c, gamma), np.nan)
            th_m = np.where(keep_m, raw_th_m - f_ex(b0, ba, c, gamma), np.nan)
            num = np.where(keep_m, raw_num_m - pen.value(np.array([b0_num]))[0], np.nan)
            plotted = f_pl(betas, c * c * ba, gamma) / 4.0
            out["ptft"][c][ba] = {"theory": th, "theory_at_markers": th_m, "numerics": num, "beta0": b0,
                                  "plotted": plotted, "normalisation_gap": gap,
                                  "beta0_gap": abs(b0_num - b0)}
    return out


def make(out_dir: Path, quick: bool = False, *, use_cache: bool = True) -> list[Path]:
    """Write ``penalty_landscape.png/.pdf``; returns the paths (analytic and cheap: ``quick`` and
    ``use_cache`` change nothing, there is no cache)."""
    data = penalty_landscape_data()
    betas, mb = data["betas"], data["marker_betas"]
    fig, axes = new_figure(3, width=11.0, height=3.9)
    ax = axes[0, 0]
    for ba in data["beta_aux"]:
        col = aux_color(ba, data["beta_aux"])
        d = data["mtl"][ba]
        ax.plot(betas, d["theory"], color=col)
        ax.plot(mb, d["numerics"], ls="none", marker="o", mfc="none", color=col)
    panel_label(ax, "a", r"MTL: $\sqrt{\beta^2+\beta_{aux}^2}-|\beta_{aux}|$")
    for ax, c, letter in ((axes[0, 1], 1.0, "b"), (axes[0, 2], 0.1, "c")):
        for ba in data["beta_aux"]:
            col = aux_color(ba, data["beta_aux"])
            d = data["ptft"][c][ba]
            ax.plot(betas, d["theory"], color=col)
            ax.plot(betas, d["plotted"], color=col, ls="--", lw=0.9, alpha=0.8)
            ax.plot(mb, d["numerics"], ls="none", marker="o", mfc="none", color=col)
        panel_label(ax, letter, rf"PT+FT exact, c = {c:g}, $\gamma$ = {data['gamma']:g}")
    for ax in axes[0]:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"main-task coefficient $|\beta|$")
        ax.set_xlim(betas[0], betas[-1])
    axes[0, 0].set_ylabel(r"penalty $R_{MTL}(\beta;\beta_{aux})$")
    axes[0, 1].set_ylabel(r"penalty $R(\beta) - R(\beta_0)$")
    ymin = min(np.nanmin(data["mtl"][ba]["theory"][data["mtl"][ba]["theory"] > 0]) for ba in data["beta_aux"])
    for ax in axes[0]:
        ax.set_ylim(max(ymin, 1e-12), 3e3)
    from matplotlib.lines import Line2D

    extra = [Line2D([], [], color="k", label="theory (SymPy)"),
             Line2D([], [], color="k", ls="none", marker="o", mfc="none", label="numerics")]
    handles = [Line2D([], [], color=aux_color(ba, data["beta_aux"]),
                      label=(r"$\beta_{aux}$ = 0 ($\ell_1$ / new feature)" if ba == 0 else
                             rf"$|\beta_{{aux}}|$ = {ba:g}")) for ba in data["beta_aux"]]
    handles += extra + [Line2D([], [], color="k", ls="--", lw=0.9, label=r"[LL] plotted $R_{FT}/4$ (b, c)")]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=7.5, frameon=False)
    axes[0, 2].text(0.97, 0.03, r"curves start at $|\beta| = 3|\beta_0|$," "\n"
                    r"$\beta_0 = c\gamma\,\mathrm{sign}(\beta_{aux})\sqrt{|\beta_{aux}|}$",
                    transform=axes[0, 2].transAxes, ha="right", va="bottom", fontsize=7)
    return save_figure(fig, out_dir, "penalty_landscape")


if __name__ == "__main__":
    from ptft.paper_figures.script import main

    raise SystemExit(main("penalty_landscape"))
