"""[SBG] Fig. 2: deep linear networks fine-tuned from a balanced factorisation of theta_S.

* (a) Fig. 2a: relative risk ``||w - theta_T||^2/||theta_T||^2`` against depth for ``theta_T = alpha theta_S +
  0.3 xi`` (alpha = 1/2, 1, 2) with n = d/10 target samples, d = 100. Lines: the deep-linear limit
  ``X^+ y + c (I - P) theta_S`` (``numerics.linear_teachers.deep_linear_limit``), mean over draws; the value
  at infinite depth is drawn at the right edge. Markers: GD on the balanced networks (width 32, step size
  lr_0/2, so an O(lr) ~ 1e-3 relative offset), mean over the same draws.
* (b) Fig. 2b: at depth 7, the relative risk when the source (theta_S -> beta theta_S) or the target
  (theta_T -> beta theta_T) is rescaled, theta_T = theta_S + 0.3 xi; depth 1 and infinite depth as thin
  lines; GD markers at depth 7.

Points are cached under ``out_dir/.cache`` by :func:`numerics.sweeps.run_sweep`.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ptft.paper_figures.generalisation import _executor, figure_cache
from ptft.paper_figures.style import new_figure, panel_label, save_figure, sparse_log_ticks

__all__ = ["make", "depth_cell", "scale_cell"]

CACHE_VERSION = "1"
ALPHAS = (0.5, 1.0, 2.0)
BETAS = (0.25, 0.5, 1.0, 2.0, 4.0)
DEPTHS = (1, 2, 3, 4, 5, 6, 7, 8)
ALPHA_COLORS = {0.5: "#1f77b4", 1.0: "#444444", 2.0: "#d62728"}


def _config(quick: bool) -> dict:
    return dict(d=50, draws=2, gd_draws=2, gd_depths=(1, 8), gd_betas=(0.25, 4.0)) if quick else \
        dict(d=100, draws=16, gd_draws=16, gd_depths=(1, 2, 4, 8), gd_betas=(0.25, 1.0, 4.0))


def _problem(d: int, seed: int):
    rng = np.random.default_rng(seed)
    ts = rng.standard_normal(d) / math.sqrt(d)
    xi = rng.standard_normal(d) / math.sqrt(d)
    X = rng.standard_normal((d // 10, d))
    return X, ts, xi


def _gd_w(X, y, ts, depth, seed):
    from ptft.numerics import linear_teachers as lt

    lim = lt.deep_linear_limit(X, y, ts, depth)
    lam = float(np.linalg.eigvalsh(X @ X.T / X.shape[0])[-1])
    scale = max(np.linalg.norm(ts), np.linalg.norm(lim.w)) ** (2.0 - 2.0 / depth)
    r = lt.simulate_deep_linear_gd(X, y, lt.balanced_factorisation(ts, depth, 32, seed), 0.5 / (depth * lam * scale),
                                   tol=1e-10, max_steps=200_000)
    return r.w if r.success else None


def depth_cell(d: int, alpha: float, depth, seed: int, gd: bool) -> dict:
    """Relative risk of the deep-linear limit (and of GD when ``gd``) for one draw; depth may be 'inf'."""
    from ptft.numerics import linear_teachers as lt

    X, ts, xi = _problem(d, seed)
    tt = alpha * ts + 0.3 * xi
    y = X @ tt
    N = math.inf if depth == "inf" else int(depth)
    out = {"theory": lt.population_risk(lt.deep_linear_limit(X, y, ts, N).w, tt) / float(tt @ tt)}
    if gd:
        w = _gd_w(X, y, ts, N, seed)
        out["gd"] = math.nan if w is None else lt.population_risk(w, tt) / float(tt @ tt)
    return out


def scale_cell(d: int, kind: str, beta: float, depth, seed: int, gd: bool) -> dict:
    """Relative risk with the source (``kind='source'``) or the target rescaled by ``beta``."""
    from ptft.numerics import linear_teachers as lt

    X, ts, xi = _problem(d, seed)
    tt = ts + 0.3 * xi
    s, t = (beta * ts, tt) if kind == "source" else (ts, beta * tt)
    N = math.inf if depth == "inf" else int(depth)
    y = X @ t
    out = {"theory": lt.population_risk(lt.deep_linear_limit(X, y, s, N).w, t) / float(t @ t)}
    if gd:
        w = _gd_w(X, y, s, N, seed)
        out["gd"] = math.nan if w is None else lt.population_risk(w, t) / float(t @ t)
    return out


def depth_data(quick: bool = False, cache_dir=None, *, executor=None) -> dict:
    from ptft.numerics.sweeps import run_sweep

    cfg = _config(quick)
    d, S = cfg["d"], cfg["draws"]
    dpts = [dict(d=d, alpha=a, depth=N, seed=s, gd=(s < cfg["gd_draws"] and N in cfg["gd_depths"]))
            for a in ALPHAS for N in list(DEPTHS) + ["inf"] for s in range(S)]
    spts = [dict(d=d, kind=k, beta=b, depth=N, seed=s, gd=(N == 7 and s < cfg["gd_draws"] and b in cfg["gd_betas"]))
            for k in ("source", "target") for N in (1, 7, "inf") for b in BETAS for s in range(S)]
    own = executor is None
    executor = _executor() if own else executor
    try:
        dres = run_sweep(depth_cell, dpts, cache_dir=cache_dir, version=CACHE_VERSION, executor=executor,
                         desc="sbg_depth (a)", progress=False)
        sres = run_sweep(scale_cell, spts, cache_dir=cache_dir, version=CACHE_VERSION, executor=executor,
                         desc="sbg_depth (b)", progress=False)
    finally:
        if own and executor is not None:
            executor.shutdown()
    return {"config": cfg, "depth_points": dpts, "depth_results": dres, "scale_points": spts, "scale_results": sres}


def _collect(points, results, key, **match):
    return np.array([float(r[key]) for p, r in zip(points, results)
                     if key in r and all(p[k] == v for k, v in match.items())], float)


def make(out_dir: Path, quick: bool = False, *, use_cache: bool = True, executor=None) -> list[Path]:
    """Write ``sbg_depth.png/.pdf``; returns the paths."""
    data = depth_data(quick, figure_cache(out_dir, use_cache), executor=executor)
    cfg = data["config"]
    dp, dr, sp, sr = data["depth_points"], data["depth_results"], data["scale_points"], data["scale_results"]
    fig, axes = new_figure(2, width=9.0, height=3.8)
    ax = axes[0][0]
    x_inf = DEPTHS[-1] + 1.5
    for a in ALPHAS:
        col = ALPHA_COLORS[a]
        th = [np.mean(_collect(dp, dr, "theory", alpha=a, depth=N)) for N in DEPTHS]
        inf = np.mean(_collect(dp, dr, "theory", alpha=a, depth="inf"))
        ax.plot(DEPTHS, th, color=col, lw=1.4, label=rf"$\alpha$ = {a:g}")
        ax.plot([DEPTHS[-1], x_inf], [th[-1], inf], color=col, lw=1.0, ls=":")
        ax.plot([x_inf], [inf], color=col, marker="D", ms=5, ls="none")
        gd = [np.nanmean(_collect(dp, dr, "gd", alpha=a, depth=N)) for N in cfg["gd_depths"]]
        ax.plot(cfg["gd_depths"], gd, ls="none", marker="o", mfc="white", color=col, ms=6)
    ax.set_xticks(list(DEPTHS) + [x_inf])
    ax.set_xticklabels([str(N) for N in DEPTHS] + [r"$\infty$"])
    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    sparse_log_ticks(ax.yaxis, lo, hi, max_ticks=6)
    ax.set_xlabel("depth N")
    ax.set_ylabel(r"risk / $||\theta_T||^2$")
    from matplotlib.lines import Line2D

    h, _ = ax.get_legend_handles_labels()
    h += [Line2D([], [], color="k", lw=1.4, label="limit formula (mean)"),
          Line2D([], [], color="k", ls="none", marker="o", mfc="white", label="GD (same draws)"),
          Line2D([], [], color="k", ls="none", marker="D", label="infinite depth")]
    ax.legend(handles=h, fontsize=6.5, loc="lower left", ncol=2)
    panel_label(ax, "a", rf"Fig. 2a: $\theta_T = \alpha\,\theta_S$ + noise, n = d/10 = {cfg['d'] // 10}")

    ax = axes[0][1]
    styles = {"source": ("#1f77b4", "source scaled"), "target": ("#d62728", "target scaled")}
    for kind, (col, lab) in styles.items():
        for N, ls, lw in ((1, "--", 0.9), (7, "-", 1.5), ("inf", ":", 0.9)):
            th = [np.mean(_collect(sp, sr, "theory", kind=kind, depth=N, beta=b)) for b in BETAS]
            name = {1: "depth 1", 7: "depth 7", "inf": r"depth $\infty$"}[N]
            ax.plot(BETAS, th, color=col, ls=ls, lw=lw, label=f"{lab}, {name}")
        gd = [np.nanmean(_collect(sp, sr, "gd", kind=kind, depth=7, beta=b)) for b in cfg["gd_betas"]]
        ax.plot(cfg["gd_betas"], gd, ls="none", marker="o", mfc="white", color=col, ms=6)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(BETAS)
    ax.set_xticklabels(["1/4", "1/2", "1", "2", "4"])
    ax.set_xlabel(r"scale factor $\beta$")
    ax.set_ylabel(r"risk / $||\theta_T||^2$")
    h, _ = ax.get_legend_handles_labels()
    h += [Line2D([], [], color="k", ls="none", marker="o", mfc="white", label="GD, depth 7")]
    ax.legend(handles=h, fontsize=6.5, loc="upper center", ncol=2)
    top = max(np.max(_collect(sp, sr, "theory", depth=1)), 1.0)
    ax.set_ylim(None, top * 8)
    panel_label(ax, "b", r"Fig. 2b: $\theta_T = \theta_S$ + noise, one of them $\times\beta$")
    fig.suptitle(f"[SBG] deep linear fine-tuning from a balanced factorisation of $\\theta_S$; d = {cfg['d']}, "
                 f"mean over {cfg['draws']} draws of ($\\theta_S$, noise, X)" + (" (quick)" if quick else ""), fontsize=8)
    return save_figure(fig, out_dir, "sbg_depth")


if __name__ == "__main__":
    from ptft.paper_figures.script import main

    raise SystemExit(main("sbg_depth"))
