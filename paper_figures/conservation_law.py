"""Conservation law at gamma = 0: l-order O vs pretraining dependence FD (O + FD = 1) for MTL and PT+FT.

For a per-coordinate penalty R(beta; beta_aux) ([LL] Lippl & Lindsey 2024, arXiv:2310.02396, Sec. 4;
[DL] Anguita et al. 2026, "A Theory of How Pretraining Shapes Inductive Bias in Fine-Tuning",
arXiv:2602.20062):

* l-order O = d log R / d log|beta| (1: l1-like, sparse; 2: l2-like, lazy),
* pretraining dependence FD = d log R / d log|beta_aux| (0: none; -1: full reuse),

and O + FD = 1 whenever R is homogeneous of degree 1 in (beta, beta_aux): the MTL penalty and the
PT+FT penalties at gamma = 0 (theory ``conservation.*``).

Panel (a): FD against O along sweeps of |beta| over six decades for a few |beta_aux|, with the line
O + FD = 1. Panel (b): O against |beta|/|beta_aux|: the points for different |beta_aux| collapse
(homogeneity), and the MTL transition from l2 (O = 2) to l1 (O = 1) is much narrower than PT+FT's
(O_MTL - 1 ~ |beta_aux|/|beta|, O_PTFT - 1 ~ 1/log(|beta|/(c^2 |beta_aux|))); rescaling by c shifts PT+FT's
transition by a factor c^-2 in |beta|.

Lines: lambdified SymPy ``extra['O']`` / ``extra['FD']`` of ``conservation.mtl``,
``conservation.ptft_exact_gamma0`` (c = 1 and c = 0.1) and ``conservation.ptft_plotted_gamma0`` ([LL]'s
plotted approximation). Markers: central finite differences (step ``h`` in log coordinates) of the log of
the NUMERICAL penalties, ``numerics.mtl.conditional_penalty``, ``numerics.ptft.handoff_penalty(beta_aux,
c, 0, alpha=0).value`` and ``4 numerics.ptft.plotted_penalty(beta_aux, 0).value`` (the factor 4 is the
numerics' normalisation of R_FT; it drops out of log-derivatives).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ptft.paper_figures.style import METHOD_COLORS, new_figure, panel_label, save_figure

__all__ = ["BETA_AUX", "PENALTIES", "conservation_data", "make"]

BETA_AUX = (0.01, 1.0, 100.0)
#: key -> (label, theory derivation, rescaling c or None, colour, line style)
PENALTIES = {
    "mtl": ("MTL", "conservation.mtl", None, METHOD_COLORS["mtl"], "-"),
    "ptft": ("PT+FT exact, c = 1", "conservation.ptft_exact_gamma0", 1.0, METHOD_COLORS["ptft"], "-"),
    "ptft_c0.1": ("PT+FT exact, c = 0.1", "conservation.ptft_exact_gamma0", 0.1, METHOD_COLORS["ptft_rescaled"], "-"),
    "ptft_plotted": ("PT+FT [LL] plotted", "conservation.ptft_plotted_gamma0", None, "#8c564b", "--"),
}
_MARKERS = ("o", "s", "D", "^", "v")


def _numeric_penalty(key: str):
    """R(beta, beta_aux) as the numerics implement it (elementwise on arrays, gamma = 0)."""
    from ptft.numerics import mtl as nm
    from ptft.numerics import ptft as npf

    if key == "mtl":
        return lambda b, ba: nm.conditional_penalty(b, ba)
    if key.startswith("ptft") and key != "ptft_plotted":
        c = PENALTIES[key][2]
        return lambda b, ba: npf.handoff_penalty(np.atleast_1d(ba) * np.ones_like(b), c, 0.0, alpha=0.0).value(b)
    if key == "ptft_plotted":
        # numerics.ptft.plotted_penalty is R_FT/4 (docstring): the factor 4 restores R_FT
        return lambda b, ba: 4.0 * npf.plotted_penalty(np.atleast_1d(ba) * np.ones_like(b), 0.0).value(b)
    raise KeyError(key)


def _theory_functions(key: str):
    from ptft import theory
    _, name, c, _, _ = PENALTIES[key]
    d = theory.get(name)
    names = [s.name for s in d.symbols]
    expect = ["beta", "beta_aux", "c"] if c is not None else ["beta", "beta_aux"]
    assert names == expect, (name, names)
    import sympy as sp

    f_O = sp.lambdify(d.symbols, d.extra["O"], "numpy")
    f_FD = sp.lambdify(d.symbols, d.extra["FD"], "numpy")
    if c is None:
        return (lambda b, ba: f_O(b, ba) * np.ones_like(b)), (lambda b, ba: f_FD(b, ba) * np.ones_like(b))
    return (lambda b, ba: f_O(b, ba, c) * np.ones_like(b)), (lambda b, ba: f_FD(b, ba, c) * np.ones_like(b))


def log_slope(f, x, h: float):
    """d log f / d log x by central differences in log x (truncation ~h^2, rounding ~1e-16/h)."""
    return (np.log(f(x * np.exp(h))) - np.log(f(x * np.exp(-h)))) / (2.0 * h)


def conservation_data(ratios=None, marker_ratios=None, beta_aux=BETA_AUX, h: float = 1e-4,
                      keys=tuple(PENALTIES)) -> dict:
    """O and FD of each penalty: SymPy on ``ratios`` and ``marker_ratios``, finite differences on ``marker_ratios``.

    ``ratios`` are |beta|/|beta_aux| (beta = ratio * beta_aux); arrays are indexed [beta_aux, ratio].
    Returns ``{"ratios", "marker_ratios", "beta_aux", "h", key: {"label", "O", "FD", "O_at_markers",
    "FD_at_markers", "O_fd", "FD_fd"}}``.
    """
    ratios = np.logspace(-3, 3, 241) if ratios is None else np.asarray(ratios, float)
    marker_ratios = np.logspace(-3, 3, 13) if marker_ratios is None else np.asarray(marker_ratios, float)
    out = {"ratios": ratios, "marker_ratios": marker_ratios, "beta_aux": tuple(beta_aux), "h": h}
    for key in keys:
        f_O, f_FD = _theory_functions(key)
        R = _numeric_penalty(key)
        rec = {k: [] for k in ("O", "FD", "O_at_markers", "FD_at_markers", "O_fd", "FD_fd")}
        for ba in beta_aux:
            b = ratios * ba
            bm = marker_ratios * ba
            bam = np.full_like(bm, ba)
            rec["O"].append(f_O(b, ba))
            rec["FD"].append(f_FD(b, ba))
            rec["O_at_markers"].append(f_O(bm, ba))
            rec["FD_at_markers"].append(f_FD(bm, ba))
            rec["O_fd"].append(log_slope(lambda x: R(x, bam), bm, h))
            rec["FD_fd"].append(log_slope(lambda x: R(bm, x), bam, h))
        out[key] = {"label": PENALTIES[key][0], **{k: np.array(v) for k, v in rec.items()}}
    return out


def make(out_dir: Path, quick: bool = False, *, use_cache: bool = True) -> list[Path]:
    """Write ``conservation_law.png/.pdf``; returns the paths (analytic and cheap: ``quick`` and
    ``use_cache`` change nothing, there is no cache)."""
    from matplotlib.lines import Line2D

    data = conservation_data()
    fig, axes = new_figure(2, width=8.6, height=3.9)
    axa, axb = axes[0]
    o = np.linspace(0.95, 2.05, 2)
    axa.plot(o, 1 - o, color="0.8", lw=6, solid_capstyle="butt", zorder=0)
    keys = list(PENALTIES)
    for key in keys:
        _, _, _, col, ls = PENALTIES[key]
        d = data[key]
        for i, ba in enumerate(data["beta_aux"]):
            axa.plot(d["O"][i], d["FD"][i], color=col, ls=ls, lw=1.0)
            axa.plot(d["O_fd"][i], d["FD_fd"][i], ls="none", marker=_MARKERS[i], mfc="none", color=col, ms=4)
            axb.plot(data["ratios"], d["O"][i], color=col, ls=ls, lw=1.2)
            axb.plot(data["marker_ratios"], d["O_fd"][i], ls="none", marker=_MARKERS[i], mfc="none", color=col,
                     ms=4)
    axa.set_xlabel(r"l-order $O = \partial\log R/\partial\log|\beta|$")
    axa.set_ylabel(r"pretraining dependence $FD = \partial\log R/\partial\log|\beta_{aux}|$")
    axa.set_xlim(0.93, 2.07)
    axa.set_ylim(-1.07, 0.07)
    arrow = dict(arrowstyle="->", color="0.3", lw=0.8)
    axa.annotate("sparse, PT-independent\n($\\ell_1$: O = 1, FD = 0)", xy=(1.0, 0.0), xytext=(1.3, -0.04),
                 fontsize=7, va="center", ha="left", arrowprops=arrow)
    axa.annotate("lazy, full reuse\n(weighted $\\ell_2$: O = 2, FD = -1)", xy=(2.0, -1.0), xytext=(1.58, -0.25),
                 fontsize=7, va="center", ha="left", arrowprops=arrow)
    axa.text(1.3, -0.2, "O + FD = 1", ha="left", va="center", fontsize=7.5, color="0.45")
    panel_label(axa, "a", r"conservation law ($\gamma$ = 0)")
    axb.set_xscale("log")
    axb.set_xlabel(r"$|\beta| / |\beta_{aux}|$")
    axb.set_ylabel(r"l-order $O$")
    axb.set_ylim(0.95, 2.05)
    panel_label(axb, "b", "sparse-to-lazy transition")
    axb.text(0.03, 0.03, "markers for the three $|\\beta_{aux}|$ coincide\n(degree-1 homogeneity)",
             transform=axb.transAxes, fontsize=7, ha="left", va="bottom", color="0.3")
    meth = [Line2D([], [], color=PENALTIES[k][3], ls=PENALTIES[k][4], label=PENALTIES[k][0]) for k in keys]
    marks = [Line2D([], [], color="k", ls="none", marker=_MARKERS[i], mfc="none",
                    label=rf"$|\beta_{{aux}}|$ = {ba:g}, finite diff.") for i, ba in enumerate(data["beta_aux"])]
    axa.legend(handles=meth + [Line2D([], [], color="k", label="theory (SymPy)")] + marks, loc="lower left",
               fontsize=6.5)
    return save_figure(fig, out_dir, "conservation_law")


if __name__ == "__main__":
    from ptft.paper_figures.script import main

    raise SystemExit(main("conservation_law"))
