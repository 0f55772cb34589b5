"""The (l-order, pretraining dependence) plane of the [DL] finetuning penalty over the initialisation parameters.

For one coordinate used by pretraining, the hand-off penalty q_{k_d}(beta) has l-order
O = d log q / d log|beta| (1: l1-like, rich; 2: l2-like, lazy) and pretraining dependence
PD = d log q / d log|beta_PT| (0: none; -1: an l2 penalty weighted by 1/|beta_PT|); both follow from
(c_PT, lambda_PT, gamma_FT) and the magnitudes |beta|, |beta_PT| (:func:`ptft.theory.regimes.regime_values`,
lambdified from the derivations ``regimes.l_order`` and ``regimes.pretraining_dependence``). They obey
1 <= O <= 2, -1 <= PD <= 0 and 1 <= O + PD <= 2 (derivation ``regimes.bounds``): the triangle with corners
I (1, 0) rich pretraining-independent, III (2, 0) lazy pretraining-independent and II (2, -1) lazy
pretraining-dependent; regime IV (rich, pretraining-dependent) is its interior.

* (a) at |beta| = |beta_PT| = 1: lines over c_PT in [1e-6, 1e3] at gamma_FT = 0, one per lambda_PT in
  {-0.99, -0.9, -0.5, 0, 0.5, 1} (colour); lines over gamma_FT in [1e-4, 1e2] at c_PT = 1e-3 for lambda_PT = 0
  and lambda_PT = -1 (dashed); the four representative initialisations of :mod:`dl_common` (stars, labelled).
* (b) the same four initialisations as the finetuning magnitude |beta|/|beta_PT| runs over [1e-3, 1e3]
  (markers at the decades): the regime of an initialisation depends on the coefficient it acts on.

Source: [DL] Anguita et al., arXiv:2602.20062 (the l-order / pretraining-dependence plane and the four
regimes); [LL] Lippl & Lindsey, arXiv:2310.02396 (l-order). Assumptions: c_PT > 0, lambda_PT in [-1, 1]
(relative), gamma_FT >= 0; oracle pretraining (|beta_PT| the pretrained coefficient). Points are computed
through :func:`ptft.numerics.sweeps.run_sweep` (one point per line, cached under ``out_dir/.cache``);
``quick`` uses 25 instead of 200 points per line.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ptft.paper_figures.dl_common import REGIME_ORDER, REGIMES, own_executor
from ptft.paper_figures.generalisation import figure_cache
from ptft.paper_figures.style import new_figure, panel_label, save_figure

__all__ = ["LAMBDAS", "phase_line_point", "phase_data", "make"]

CACHE_VERSION = "1"
LAMBDAS = (-0.99, -0.9, -0.5, 0.0, 0.5, 1.0)
C_RANGE = (1e-6, 1e3)
G_RANGE = (1e-4, 1e2)
B_RANGE = (1e-3, 1e3)
#: the corners of the feasible triangle (O, PD)
CORNERS = {"I": (1.0, 0.0), "II": (2.0, -1.0), "III": (2.0, 0.0)}


def phase_line_point(vary: str, values, c_pt: float, lambda_pt: float, gamma_ft: float, beta: float = 1.0,
                     beta_pt: float = 1.0) -> dict:
    """Sweep point: (O, PD) along one line, ``vary`` in {"c_pt", "gamma_ft", "beta"} running over ``values``
    (the given value of that parameter is ignored), the other parameters fixed."""
    from ptft.theory.regimes import regime_values

    if vary not in ("c_pt", "gamma_ft", "beta"):
        raise ValueError(f"vary: must be 'c_pt', 'gamma_ft' or 'beta', got {vary!r}")
    O, PD = [], []
    for v in values:
        kw = dict(c_pt=c_pt, lambda_pt=lambda_pt, gamma_ft=gamma_ft, beta=beta, beta_pt=beta_pt)
        kw[vary] = float(v)
        o, pd, _, _ = regime_values(**kw)
        O.append(o)
        PD.append(pd)
    return {"values": list(values), "O": O, "PD": PD}


def _lines(n: int) -> list[dict]:
    cs = np.logspace(np.log10(C_RANGE[0]), np.log10(C_RANGE[1]), n).tolist()
    gs = np.logspace(np.log10(G_RANGE[0]), np.log10(G_RANGE[1]), n).tolist()
    bs = np.logspace(np.log10(B_RANGE[0]), np.log10(B_RANGE[1]), n).tolist()
    pts = [dict(vary="c_pt", values=cs, c_pt=1.0, lambda_pt=lam, gamma_ft=0.0) for lam in LAMBDAS]
    pts += [dict(vary="gamma_ft", values=gs, c_pt=1e-3, lambda_pt=lam, gamma_ft=0.0) for lam in (0.0, -1.0)]
    pts += [dict(vary="beta", values=bs, **REGIMES[r].params) for r in REGIME_ORDER]
    pts += [dict(vary="beta", values=[1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3], **REGIMES[r].params)
            for r in REGIME_ORDER]
    return pts


def phase_data(quick: bool = False, cache_dir=None, *, executor=None) -> dict:
    """(O, PD) along every line; no plotting. Returns ``{"c_lines": {lambda: rec}, "g_lines": {lambda: rec},
    "b_lines": {regime: rec}, "b_marks": {regime: rec}, "reps": {regime: (O, PD)}}`` (``rec`` =
    :func:`phase_line_point`'s dict)."""
    from ptft.numerics.sweeps import run_sweep

    pts = _lines(25 if quick else 200)
    ex, owned = own_executor(executor)
    try:
        res = run_sweep(phase_line_point, pts, cache_dir=cache_dir, version=CACHE_VERSION, executor=ex,
                        desc="dl_phase_diagram")
    finally:
        if owned:
            ex.shutdown()
    nl = len(LAMBDAS)
    c_lines = dict(zip(LAMBDAS, res[:nl]))
    g_lines = dict(zip((0.0, -1.0), res[nl:nl + 2]))
    b_lines = dict(zip(REGIME_ORDER, res[nl + 2:nl + 6]))
    b_marks = dict(zip(REGIME_ORDER, res[nl + 6:nl + 10]))
    reps = {r: (b_marks[r]["O"][3], b_marks[r]["PD"][3]) for r in REGIME_ORDER}   # |beta| = 1
    return {"c_lines": c_lines, "g_lines": g_lines, "b_lines": b_lines, "b_marks": b_marks, "reps": reps}


def _frame(ax) -> None:
    """The feasible triangle, its six bounding lines, the corners and the regime names."""
    tri = np.array([[1, 0], [2, 0], [2, -1], [1, 0]], float)
    ax.fill(tri[:, 0], tri[:, 1], color="0.93", zorder=0)
    kw = dict(color="0.55", lw=0.8, zorder=1)
    ax.axvline(1, ls="--", **kw)
    ax.axvline(2, ls="--", **kw)
    ax.axhline(0, ls="--", **kw)
    ax.axhline(-1, ls="--", **kw)
    o = np.array([0.9, 2.1])
    ax.plot(o, 1 - o, ls="-.", **kw)
    ax.plot(o, 2 - o, ls="-.", **kw)
    ax.text(1.28, -0.19, "O + PD = 1", rotation=-45, rotation_mode="anchor", fontsize=7, color="0.4",
            ha="center", va="bottom", transform_rotates_text=True)
    ax.text(2.04, 0.28, "O + PD = 2", fontsize=7, color="0.4", ha="right", va="top")
    for name, (x, y) in CORNERS.items():
        ax.plot([x], [y], marker="s", ms=7, color="k", zorder=5)
    ax.annotate("I: rich,\nPT-independent", (1, 0), xytext=(1.02, 0.12), fontsize=7, ha="left", va="bottom")
    ax.annotate("III: lazy,\nPT-independent", (2, 0), xytext=(1.98, 0.12), fontsize=7, ha="right", va="bottom")
    ax.annotate("II: lazy,\nPT-dependent", (2, -1), xytext=(1.98, -1.12), fontsize=7, ha="right", va="top")
    ax.text(1.62, -0.6, "IV: rich,\nPT-dependent\n(interior)", fontsize=7, ha="center", va="center", color="0.25")
    ax.set_xlim(0.9, 2.1)
    ax.set_ylim(-1.3, 0.35)
    ax.set_xlabel(r"l-order $O = \partial\log q/\partial\log|\beta|$")
    ax.set_ylabel(r"pretraining dependence PD $= \partial\log q/\partial\log|\beta_{PT}|$")


def make(out_dir: Path, quick: bool = False, *, use_cache: bool = True, executor=None) -> list[Path]:
    """Write ``dl_phase_diagram.png/.pdf``; returns the paths (cache under ``out_dir/.cache`` unless
    ``use_cache=False``)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    data = phase_data(quick, figure_cache(out_dir, use_cache), executor=executor)
    fig, axes = new_figure(2, width=12.0, height=5.6)
    ax, bx = axes[0]
    _frame(ax)
    _frame(bx)
    cmap = plt.get_cmap("plasma")
    handles = []
    for i, lam in enumerate(LAMBDAS):
        rec = data["c_lines"][lam]
        col = cmap(0.05 + 0.8 * i / (len(LAMBDAS) - 1))
        ax.plot(rec["O"], rec["PD"], color=col, lw=1.6, zorder=3)
        # arrow head at the small-c_PT end direction: mark the c_PT = 1e-6 end with a dot
        ax.plot([rec["O"][0]], [rec["PD"][0]], marker="o", ms=3.5, color=col, zorder=4)
        handles.append(Line2D([], [], color=col, lw=1.6, label=rf"$\lambda_{{PT}}$ = {lam:g}, $\gamma_{{FT}}$ = 0"))
    for lam, col in ((0.0, "tab:green"), (-1.0, "tab:brown")):
        rec = data["g_lines"][lam]
        ax.plot(rec["O"], rec["PD"], color=col, lw=1.4, ls="--", zorder=3)
        handles.append(Line2D([], [], color=col, lw=1.4, ls="--",
                              label=rf"$\gamma_{{FT}}$ = $10^{{-4}}$..$10^{{2}}$, $c_{{PT}}$ = $10^{{-3}}$, "
                                    rf"$\lambda_{{PT}}$ = {lam:g}"))
    handles.append(Line2D([], [], color="k", lw=0, marker="o", ms=3.5,
                          label=r"$c_{PT}$ = $10^{-6}$ end (lines run to $c_{PT}$ = $10^{3}$)"))
    for r in REGIME_ORDER:
        o, pd = data["reps"][r]
        for a in (ax, bx):
            a.plot([o], [pd], marker="*", ms=13, color=REGIMES[r].color, mec="k", mew=0.6, zorder=6)
        off = {"I": (4, -14), "II": (-20, -4), "III": (-22, -14), "IV": (6, -12)}[r]
        ax.annotate(r, (o, pd), xytext=off, textcoords="offset points", fontsize=8, fontweight="bold",
                    color=REGIMES[r].color, zorder=7)
    handles.append(Line2D([], [], color="0.5", lw=0, marker="*", ms=11, mec="k",
                          label="representative initialisations (Figs. 3-4)"))
    ax.legend(handles=handles, loc="lower left", fontsize=6.5)
    panel_label(ax, "a", r"over $(c_{PT}, \lambda_{PT}, \gamma_{FT})$ at $|\beta| = |\beta_{PT}| = 1$")
    bh = []
    for r in REGIME_ORDER:
        rec, mk = data["b_lines"][r], data["b_marks"][r]
        reg = REGIMES[r]
        wide = r == "II"   # II and IV share the line O + PD = 1: II drawn wide and light underneath
        lw, al = (4.0, 0.6) if wide else (1.5, 1.0)
        bx.plot(rec["O"], rec["PD"], color=reg.color, lw=lw, zorder=2 if wide else 3, alpha=al)
        bx.plot(mk["O"], mk["PD"], ls="none", marker="o", ms=5 if wide else 3.5, color=reg.color, zorder=4)
        bh.append(Line2D([], [], color=reg.color, lw=lw, alpha=al, label=reg.label))
    bh.append(Line2D([], [], color="k", lw=0, marker="o", ms=3.5,
                     label=r"$|\beta|/|\beta_{PT}|$ = $10^{-3}, 10^{-2}, \ldots, 10^{3}$ (O falls as it grows)"))
    bx.legend(handles=bh, loc="lower left", fontsize=6.5)
    panel_label(bx, "b", r"the representatives as $|\beta|/|\beta_{PT}|$ runs over $10^{-3}$..$10^{3}$")
    fig.suptitle("[DL] regimes: l-order O and pretraining dependence PD of the finetuning penalty $q_{k_d}$ "
                 "(grey: the feasible triangle 1 <= O <= 2, -1 <= PD <= 0, 1 <= O + PD <= 2)"
                 + (" (quick)" if quick else ""), fontsize=9)
    return save_figure(fig, out_dir, "dl_phase_diagram")


if __name__ == "__main__":
    from ptft.paper_figures.script import main

    raise SystemExit(main("dl_phase_diagram"))
