"""Finetuning error against alpha = n/d: replica-symmetric theory (lines) against finite-d minimisers (markers).

E[(beta_hat - beta_FT)^2] of the [DL] hand-off interpolator ``argmin sum_d q_{k_d}(beta_d)`` s.t. ``X beta = y``
as a function of alpha in (0, 0.5], for initialisations (c_PT, lambda_PT, gamma_FT) and task statistics
(rho_PT, rho_FT, omega) varied one at a time. Lines: RS theory
(:func:`ptft.numerics.asymptotics.generalization_error_curve`, 100 alphas); markers: mean +- 95 % Student-t
interval over seeds of the exact finite-d minimiser (:func:`ptft.numerics.dl_finite.finite_d_error_point`).

Source: [DL] Anguita et al., arXiv:2602.20062, Fig. 3. Settings from the first author's public figure script
``experiments/diagonal/replica/figure3.py`` and ``ExperimentSetup.md`` (``Nico31415/toy-unlearning``; read, not
copied); their absolute lambda = -0.99e-3, 0, 0.99e-3 at c_PT = 1e-3 is lambda_PT = -0.99, 0, 0.99 here:

* (a) c_PT in {1e-6, 1e-3, 1}, lambda_PT = 0, gamma_FT = 0, rho_PT = rho_FT = 0.1, omega in {0, 1};
* (b) gamma_FT in {0, 1, 10}, c_PT = 1e-3, lambda_PT = 0, rho_PT = rho_FT = 0.1, omega in {0, 1};
* (c) lambda_PT in {-0.99, 0, 0.99}, c_PT = 1e-3, gamma_FT = 0, rho_PT = rho_FT = 0.1, omega in {0, 0.5, 1};
* (d) c_PT in {1e-6, 1e-3, 1}, lambda_PT = 0, gamma_FT = 0, omega = 0, rho_PT = 0.1, rho_FT in {0.1, 0.9};
* (e) gamma_FT in {0, 1, 10}, c_PT = 1e-3, lambda_PT = 0, omega = 0, rho_PT = 0.1, rho_FT in {0.1, 0.9};
* (f) lambda_PT in {-0.99, 0, 0.99}, c_PT = 1e-3, gamma_FT = 0, omega = 1, rho_PT = 0.1,
  rho_FT in {0.01, 0.04, 0.1}.

Full size: the paper's d = 5000 and 14 seeds (6..19, the authors' seeds; here seeds of our own generator),
but 5 alpha markers (0.05, 0.15, ..., 0.45) instead of the paper's 11 (linspace(0.01, 0.5, 11)): the 28
distinct curves x 5 alphas x 14 seeds = 1960 minimiser solves (0.02-5 s each, growing with alpha) took 38 min
wall on a 2-worker pool while the machine was shared (load 4-5 on 2 cores; measured), 11 markers would take
more than twice as long. ``quick``: d = 300, 3 seeds, 3 markers, 25 RS alphas.
Noiseless labels, oracle pretraining with |beta_PT| = 1, exact group counts (``groups="exact"``).

Every point runs through :func:`ptft.numerics.sweeps.run_sweep` (cached under ``out_dir/.cache``; identical
points shared by several panels are computed once). Non-converged seeds are left out of the means and
counted in the panel title; RS points that did not converge are left out of the lines and counted likewise.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D

from ptft.paper_figures.dl_common import (Config, finite_point, run_theory_and_finite, summarise_finite,
                                          unique_points)
from ptft.paper_figures.generalisation import figure_cache
from ptft.paper_figures.style import new_figure, panel_label, save_figure

__all__ = ["Config", "CONFIGS", "Curve", "Panel", "PANELS", "figure_data", "make"]

CACHE_VERSION = "1"
RHO_PT = 0.1


CONFIGS = {
    False: Config(d=5000, seeds=tuple(range(6, 20)), alpha_markers=(0.05, 0.15, 0.25, 0.35, 0.45),
                  alpha_line=tuple(np.round(np.linspace(0.005, 0.5, 100), 6).tolist())),
    True: Config(d=300, seeds=(6, 7, 8), alpha_markers=(0.1, 0.25, 0.4),
                 alpha_line=tuple(np.round(np.linspace(0.02, 0.5, 25), 6).tolist())),
}


@dataclass(frozen=True)
class Curve:
    """One line (colour = ``color_value`` of the panel's varied parameter, style = ``style_value``)."""

    color_value: float
    style_value: float
    c_pt: float
    lambda_pt: float
    gamma_ft: float
    rho_ft: float
    omega: float

    @property
    def init(self) -> dict:
        return {"c_pt": self.c_pt, "lambda_pt": self.lambda_pt, "gamma_ft": self.gamma_ft}

    @property
    def task(self) -> dict:
        from ptft.numerics.asymptotics import task_from_overlap

        return task_from_overlap(RHO_PT, self.rho_ft, self.omega)


@dataclass(frozen=True)
class Panel:
    title: str
    color_name: str   # legend title of the colours
    style_name: str   # legend title of the line styles
    curves: tuple


def _panel(title, color_name, color_values, style_name, style_values, make_curve) -> Panel:
    return Panel(title, color_name, style_name,
                 tuple(make_curve(cv, sv) for cv in color_values for sv in style_values))


C3 = (1e-6, 1e-3, 1.0)
G3 = (0.0, 1.0, 10.0)
L3 = (-0.99, 0.0, 0.99)

PANELS = (
    _panel(r"vary $c_{PT}$, $\rho_{FT}=0.1$", r"$c_{PT}$", C3, r"$\omega$", (0.0, 1.0),
           lambda c, om: Curve(c, om, c, 0.0, 0.0, 0.1, om)),
    _panel(r"vary $\gamma_{FT}$, $\rho_{FT}=0.1$", r"$\gamma_{FT}$", G3, r"$\omega$", (0.0, 1.0),
           lambda g, om: Curve(g, om, 1e-3, 0.0, g, 0.1, om)),
    _panel(r"vary $\lambda_{PT}$, $\rho_{FT}=0.1$", r"$\lambda_{PT}$", L3, r"$\omega$", (0.0, 0.5, 1.0),
           lambda lam, om: Curve(lam, om, 1e-3, lam, 0.0, 0.1, om)),
    _panel(r"vary $c_{PT}$, new features $\omega=0$", r"$c_{PT}$", C3, r"$\rho_{FT}$", (0.1, 0.9),
           lambda c, rf: Curve(c, rf, c, 0.0, 0.0, rf, 0.0)),
    _panel(r"vary $\gamma_{FT}$, new features $\omega=0$", r"$\gamma_{FT}$", G3, r"$\rho_{FT}$", (0.1, 0.9),
           lambda g, rf: Curve(g, rf, 1e-3, 0.0, g, rf, 0.0)),
    _panel(r"vary $\lambda_{PT}$, subset tasks $\omega=1$", r"$\lambda_{PT}$", L3, r"$\rho_{FT}$",
           (0.01, 0.04, 0.1), lambda lam, rf: Curve(lam, rf, 1e-3, lam, 0.0, rf, 1.0)),
)

#: fixed parameters shown under each panel
PANEL_FIXED = (r"$\lambda_{PT}=0,\ \gamma_{FT}=0$", r"$c_{PT}=10^{-3},\ \lambda_{PT}=0$",
               r"$c_{PT}=10^{-3},\ \gamma_{FT}=0$", r"$\lambda_{PT}=0,\ \gamma_{FT}=0$",
               r"$c_{PT}=10^{-3},\ \lambda_{PT}=0$", r"$c_{PT}=10^{-3},\ \gamma_{FT}=0$")

STYLES = ((":", "--", "-"), (":", "-"))


def figure_data(quick: bool = False, cache_dir=None, *, executor=None, panels=PANELS) -> dict:
    """Run (or read from cache) every RS curve and finite-d cell; no plotting.

    Returns ``{"config", "panels", "theory": [[dict per curve] per panel], "finite": [[[summary per alpha] per
    curve] per panel]}``; a theory dict has ``alphas``, ``error``, ``converged``, ``disagree``; a finite summary
    is :func:`dl_common.summarise_finite` (``mean``, ``ci_lo``, ``ci_hi``, ``failed``, ``n``, ``errors``).
    """
    cfg = CONFIGS[bool(quick)]
    th_pts, fd_pts = [], []
    for p in panels:
        for cu in p.curves:
            th_pts.append(dict(alphas=list(cfg.alpha_line), **cu.init, **cu.task))
            for a in cfg.alpha_markers:
                for s in cfg.seeds:
                    fd_pts.append(finite_point(cfg.d, a, s, cu.task, cu.init))
    th_u, th_i = unique_points(th_pts)
    fd_u, fd_i = unique_points(fd_pts)
    th, fd = run_theory_and_finite(th_u, fd_u, cache_dir=cache_dir, version=CACHE_VERSION, executor=executor,
                                   name="dl_theory_vs_simulation")
    theory, finite = [], []
    t = f = 0
    S, A = len(cfg.seeds), len(cfg.alpha_markers)
    for p in panels:
        tp, fp = [], []
        for _ in p.curves:
            tp.append(th[th_i[t]])
            t += 1
            cells = []
            for _a in range(A):
                cells.append(summarise_finite([fd[fd_i[f + s]] for s in range(S)]))
                f += S
            fp.append(cells)
        theory.append(tp)
        finite.append(fp)
    return {"config": cfg, "panels": panels, "theory": theory, "finite": finite,
            "n_theory_points": len(th_u), "n_finite_points": len(fd_u)}


def _fmt(v: float) -> str:
    if v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e3):
        return rf"$10^{{{int(round(np.log10(abs(v))))}}}$"
    return f"{v:g}"


def make(out_dir: Path, quick: bool = False, *, use_cache: bool = True, executor=None) -> list[Path]:
    """Write ``dl_theory_vs_simulation.png/.pdf``; returns the paths (cache under ``out_dir/.cache`` unless
    ``use_cache=False``)."""
    import matplotlib.pyplot as plt

    data = figure_data(quick, figure_cache(out_dir, use_cache), executor=executor)
    cfg = data["config"]
    fig, axes = new_figure(3, 2, width=13.0, height=8.4)
    cmap = plt.get_cmap("viridis")
    am = np.array(cfg.alpha_markers)
    for k, (ax, p) in enumerate(zip(axes.ravel(), data["panels"])):
        cvals = sorted({c.color_value for c in p.curves})
        svals = sorted({c.style_value for c in p.curves})
        styles = STYLES[0] if len(svals) == 3 else STYLES[1]
        colors = {v: cmap(0.05 + 0.8 * i / max(len(cvals) - 1, 1)) for i, v in enumerate(cvals)}
        ls = {v: styles[i] for i, v in enumerate(svals)}
        n_fail = n_rs_fail = 0
        top = 0.0
        for j, cu in enumerate(p.curves):
            th = data["theory"][k][j]
            a = np.array(th["alphas"], float)
            e = np.array(th["error"], float)
            ok = np.array(th["converged"], bool)
            n_rs_fail += int((~ok).sum())
            ax.plot(a[ok], e[ok], color=colors[cu.color_value], ls=ls[cu.style_value], lw=1.5, zorder=2)
            cells = data["finite"][k][j]
            m = np.array([c["mean"] for c in cells])
            err = np.array([[c["ci_lo"] for c in cells], [c["ci_hi"] for c in cells]])
            n_fail += sum(c["failed"] for c in cells)
            # small horizontal offsets so that markers of different line styles do not hide each other
            off = (svals.index(cu.style_value) - (len(svals) - 1) / 2) * 0.006
            ax.errorbar(am + off, m, yerr=err, ls="none", marker="o", ms=3.5, color=colors[cu.color_value],
                        capsize=2, elinewidth=1.0, zorder=3)
            top = max(top, float(np.nanmax(e[ok])) if ok.any() else 0.0, float(np.nanmax(m + err[1])))
        ax.set_xlim(0, 0.5)
        ax.set_ylim(-0.03 * top, top * 1.05)
        ax.set_xlabel(r"$\alpha = n/d$")
        ax.set_ylabel(r"finetuning error $E[(\hat\beta - \beta_{FT})^2]$" if k % 3 == 0 else "")
        extra = []
        if n_fail:
            extra.append(f"{n_fail} runs not converged, omitted")
        if n_rs_fail:
            extra.append(f"{n_rs_fail} RS points not converged")
        panel_label(ax, "abcdef"[k], p.title + "; " + PANEL_FIXED[k] + ("\n" + "; ".join(extra) if extra else ""))
        hc = [Line2D([], [], color=colors[v], lw=2) for v in cvals]
        leg = ax.legend(hc, [_fmt(v) for v in cvals], title=p.color_name, loc="upper right", fontsize=7,
                        title_fontsize=7.5)
        ax.add_artist(leg)
        hs = [Line2D([], [], color="k", ls=ls[v], lw=1.3) for v in svals]
        ax.legend(hs, [f"{v:g}" for v in svals], title=p.style_name, loc="upper right", fontsize=7,
                  title_fontsize=7.5, bbox_to_anchor=(0.78, 1.0))
    fig.suptitle(f"[DL] Fig. 3: RS theory (lines) vs finite-d minimiser (markers: mean $\\pm$ 95% CI over "
                 f"{len(cfg.seeds)} seeds, d = {cfg.d}); "
                 f"$\\rho_{{PT}}$ = {RHO_PT:g}, oracle pretraining, noiseless" + (" (quick)" if quick else ""),
                 fontsize=9)
    return save_figure(fig, out_dir, "dl_theory_vs_simulation")


if __name__ == "__main__":
    from ptft.paper_figures.script import main

    raise SystemExit(main("dl_theory_vs_simulation"))
