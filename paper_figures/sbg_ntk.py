"""[SBG] Sec. 5: fine-tuning a wide two-layer ReLU network from pretrained weights (NTK regime).

f(x) = m^(-1/2) sum_j a_j relu(w_j . x) with a symmetric start (f = 0 at initialisation), pretrained by GD on
a linear source teacher theta_S, then fine-tuned by GD (both layers) on a linear target teacher theta_T.

* (a) relative RMS gap between the fine-tuned network and the NTK predictor
  ``f_pre + Theta(., X) Theta(X, X)^-1 (y - f_pre(X))`` (closed-form arc-cosine NTK,
  ``numerics.linear_teachers.ntk_finetune_predictor``) against the width, 4 networks per width, with the
  fitted slope (claim ``sbg.ntk_predictor_matches_wide_network``: -1/2).
* (b) target risk ``E_x (f(x) - theta_T . x)^2 / ||theta_T||^2`` against the number of target samples, for
  sources at distance ``||theta_S - theta_T|| = eps ||theta_T||`` and from scratch (no pretraining). Lines: the
  infinite-width predictor (pretraining and fine-tuning both kernel regressions with the NTK), mean over
  draws; markers: GD on networks of width 1024 (mean over the same draws).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ptft.paper_figures.generalisation import _executor, figure_cache
from ptft.paper_figures.style import new_figure, panel_label, save_figure, sparse_log_ticks

__all__ = ["make", "gap_cell", "risk_cell"]

CACHE_VERSION = "1"
EPS = (0.25, 0.5, 1.0)
EPS_COLORS = {0.25: "#2ca02c", 0.5: "#1f77b4", 1.0: "#d62728", "scratch": "#444444"}


def _config(quick: bool) -> dict:
    return dict(widths=(128, 512), n_targets=(2, 8, 32), gd_targets=(8,), draws=2, width=256, d=6, n_source=24) \
        if quick else dict(widths=(128, 256, 512, 1024, 2048, 4096, 8192), n_targets=(1, 2, 4, 8, 16, 32, 64),
                           gd_targets=(2, 8, 32), draws=6, width=1024, d=8, n_source=40)


def gap_cell(width: int, seed: int) -> dict:
    """The claim's gap measurement (4 networks) at one width."""
    from ptft.verification.claims.shachaf2021 import ntk_gap_data

    return ntk_gap_data([width], 4, seed)[0]


def risk_cell(d: int, n_source: int, eps, n_targets: list, gd_targets: list, width: int, seed: int) -> dict:
    """Infinite-width and GD target risks for one draw; ``eps='scratch'``: no pretraining."""
    from ptft.numerics import linear_teachers as lt

    rng = np.random.default_rng(seed)
    tt = rng.standard_normal(d)
    tt /= np.linalg.norm(tt)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    ts = tt + (0.0 if eps == "scratch" else float(eps)) * u
    XS = rng.standard_normal((n_source, d))
    Xte = rng.standard_normal((400, d))
    XT_all = rng.standard_normal((max(n_targets), d))
    scale = float(tt @ tt)
    if eps == "scratch":
        fpre = lambda Z: np.zeros(Z.shape[0])  # noqa: E731
    else:
        KS = lt.relu_ntk(XS)
        coef = np.linalg.solve(KS, XS @ ts)
        fpre = lambda Z: lt.relu_ntk(Z, XS) @ coef  # noqa: E731
    theory = []
    for n in n_targets:
        XT = XT_all[:n]
        f = lt.ntk_finetune_predictor(XT, XT @ tt, fpre(XT), Xte, fpre(Xte))
        theory.append(float(np.mean((f - Xte @ tt) ** 2) / scale))
    gd = []
    if gd_targets:
        net = lt.init_relu_network(d, width, seed=seed + 17)
        if eps != "scratch":
            pre = lt.simulate_relu_gd(XS, XS @ ts, net, 1.0 / float(np.linalg.eigvalsh(lt.relu_ntk(XS))[-1]),
                                      tol=1e-8, max_steps=200_000)
            net = pre.network if pre.success else None
        for n in gd_targets:
            XT = XT_all[:n]
            if net is None:
                gd.append(math.nan)
                continue
            ft = lt.simulate_relu_gd(XT, XT @ tt, net, 1.0 / float(np.linalg.eigvalsh(lt.relu_ntk(XT))[-1]),
                                     tol=1e-8, max_steps=200_000)
            gd.append(float(np.mean((lt.relu_forward(ft.network, Xte) - Xte @ tt) ** 2) / scale)
                      if ft.success else math.nan)
    return {"theory": theory, "gd": gd}


def make(out_dir: Path, quick: bool = False, *, use_cache: bool = True, executor=None) -> list[Path]:
    """Write ``sbg_ntk.png/.pdf``; returns the paths."""
    from ptft.numerics.sweeps import run_sweep

    cfg = _config(quick)
    gpts = [dict(width=m, seed=101) for m in cfg["widths"]]
    kinds = list(EPS) + ["scratch"]
    rpts = [dict(d=cfg["d"], n_source=cfg["n_source"], eps=e, n_targets=list(cfg["n_targets"]),
                 gd_targets=list(cfg["gd_targets"]), width=cfg["width"], seed=s) for e in kinds for s in range(cfg["draws"])]
    own = executor is None
    executor = _executor() if own else executor
    cache = figure_cache(out_dir, use_cache)
    try:
        gres = run_sweep(gap_cell, gpts, cache_dir=cache, version=CACHE_VERSION, executor=executor,
                         desc="sbg_ntk (a)", progress=False)
        rres = run_sweep(risk_cell, rpts, cache_dir=cache, version=CACHE_VERSION, executor=executor,
                         desc="sbg_ntk (b)", progress=False)
    finally:
        if own and executor is not None:
            executor.shutdown()
    fig, axes = new_figure(2, width=9.0, height=3.8)
    ax = axes[0][0]
    widths = np.array(cfg["widths"], float)
    gaps = np.array([r["gaps"] for r in gres], float)
    mean = gaps.mean(axis=1)
    se = gaps.std(axis=1, ddof=1) / np.sqrt(gaps.shape[1])
    slope, icpt = np.polyfit(np.log(widths), np.log(mean), 1)
    ax.errorbar(widths, mean, yerr=2 * se, ls="none", marker="o", mfc="white", color="#1f77b4", ms=5, capsize=2,
                label=r"GD network vs NTK predictor (mean $\pm$ 2 s.e.)")
    ax.plot(widths, np.exp(icpt) * widths ** slope, color="#1f77b4", lw=1.0, label=f"fit: slope {slope:.2f}")
    ref = mean[0] * (widths / widths[0]) ** -0.5
    ax.plot(widths, ref, color="k", ls=":", lw=1.0, label=r"width$^{-1/2}$")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    sparse_log_ticks(ax.yaxis, float(min(mean.min(), ref.min())) * 0.7, float(max(mean.max(), ref.max())) * 1.4)
    ax.set_xlabel("width m")
    ax.set_ylabel("relative RMS gap at test points")
    ax.legend(fontsize=6.5, loc="lower left")
    panel_label(ax, "a", "fine-tuned network -> NTK predictor")

    ax = axes[0][1]
    ns = np.array(cfg["n_targets"], float)
    from matplotlib.lines import Line2D

    for e in kinds:
        rows = [r for p, r in zip(rpts, rres) if p["eps"] == e]
        th = np.mean([r["theory"] for r in rows], axis=0)
        col = EPS_COLORS[e]
        lab = "scratch (no pretraining)" if e == "scratch" else rf"$||\theta_S - \theta_T|| = {e:g}$"
        ax.plot(ns, th, color=col, lw=1.4, label=lab)
        gd = np.nanmean([r["gd"] for r in rows], axis=0)
        ax.plot(cfg["gd_targets"], gd, ls="none", marker="o", mfc="white", color=col, ms=5)
    h, _ = ax.get_legend_handles_labels()
    h += [Line2D([], [], color="k", lw=1.4, label="infinite-width NTK"),
          Line2D([], [], color="k", ls="none", marker="o", mfc="white", label=f"GD, width {cfg['width']}")]
    ax.legend(handles=h, fontsize=6.5, loc="lower left", ncol=2)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("target samples n")
    ax.set_ylabel(r"risk / $||\theta_T||^2$")
    panel_label(ax, "b", f"target risk, d = {cfg['d']}, {cfg['n_source']} source samples")
    fig.suptitle(f"[SBG] two-layer ReLU networks fine-tuned from pretrained weights (NTK regime); (b) mean over "
                 f"{cfg['draws']} draws" + (" (quick)" if quick else ""), fontsize=8)
    return save_figure(fig, out_dir, "sbg_ntk")


if __name__ == "__main__":
    from ptft.paper_figures.script import main

    raise SystemExit(main("sbg_ntk"))
