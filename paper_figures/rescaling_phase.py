"""PT+FT test error over the (c, gamma) plane, with the level sets of the selection contrast rho.

Task: the sparse-subset design of the claims ``ll.rescaled_ptft_wins_on_sparse_subset`` and
``ll.rescaling_helps_on_sparse_subset`` (main task on 2 of k_aux = 20 auxiliary features, d = 250,
n_aux = 200, n_main = 8, 6 seeds; ``quick``: 2 of 16, d = 100, n_aux = 96, n_main = 6, 2 seeds) with
pretraining init alpha = 1e-3, over a grid of rescaling factors c and readout resets gamma.

* (a) theory: mean over seeds of the exact hand-off penalty minimiser's test error, (b) gradient
  descent (non-converged runs omitted and counted in the title), both divided by the same seed's
  single-task GD error and drawn as log10 on one colour scale.
* Contours on (a) and (b): the selection contrast rho = s_pre / s_new of ``ptft.selection_contrast``
  (:func:`numerics.ptft.selection_contrast`, evaluated at the teachers' magnitudes |beta| = 1/sqrt(k_main),
  |beta_aux| = 1/sqrt(k_aux) and alpha), the rich-limit price of a pretrained feature relative to a new one.
  rho -> 1 as gamma grows past c sqrt|beta_aux| (pretraining forgotten); rho -> 0 as c^2|beta_aux| -> 4|beta|
  (pretrained features lazy, outside the grid here). Nested feature selection lives in between, and is
  better at small rho; the level sets are gamma ~ c^(1/rho).
* (c) slices at three gamma: theory lines, GD markers (mean +- 2 s.e.), MTL (l1,2, alpha -> 0) and single
  task as horizontal levels.

Cells are cached under ``out_dir/.cache`` by :func:`numerics.sweeps.run_sweep`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptft.paper_figures.generalisation import (ALPHA, MAX_STEPS, _executor, _mean_se, error_bars, figure_cache,
                                               gd_errors, theory_error_cell, theory_errors)
from matplotlib.ticker import MaxNLocator, NullLocator

from ptft.paper_figures.style import METHOD_COLORS, new_figure, panel_label, save_figure, sparse_log_ticks

__all__ = ["PhaseConfig", "PHASE_CONFIGS", "phase_data", "make"]

CACHE_VERSION = "1"
#: contour levels of the selection contrast drawn on the heatmaps
RHO_LEVELS = (0.3, 0.5, 0.7, 0.9)


@dataclass(frozen=True)
class PhaseConfig:
    d: int
    k_aux: int
    k_main: int
    n_aux: int
    n_main: int
    seeds: tuple
    c: tuple
    gamma: tuple
    slices: tuple  # gamma values drawn in panel (c); must be in ``gamma``


PHASE_CONFIGS = {
    False: PhaseConfig(d=250, k_aux=20, k_main=2, n_aux=200, n_main=8, seeds=tuple(range(6)),
                       c=tuple(float(10 ** (-k / 2)) for k in range(7)),
                       gamma=tuple(float(10 ** (-k / 2)) for k in range(2, 11)),
                       slices=(1e-4, 1e-3, 1e-2)),
    True: PhaseConfig(d=100, k_aux=16, k_main=2, n_aux=96, n_main=6, seeds=(0, 1),
                      c=(1.0, 0.1, 0.01, 0.001), gamma=(1e-2, 1e-3, 1e-4), slices=(1e-4, 1e-3, 1e-2)),
}


def phase_data(quick: bool = False, cache_dir=None, *, executor=None, max_steps: int = MAX_STEPS) -> dict:
    """Run (or read from cache) every (c, gamma) cell and the reference cells; no plotting.

    Returns the config, ``theory`` and ``gd`` arrays of shape (len(gamma), len(c), seeds) of normalised
    errors (NaN where GD did not converge), ``failed`` counts per cell, ``mtl`` / ``single`` normalised
    reference errors per seed (theory), and ``rho`` on the grid.
    """
    from ptft.numerics.ptft import selection_contrast
    from ptft.numerics.sweeps import run_sweep
    from ptft.numerics.teacher_student import generalisation_errors

    cfg = PHASE_CONFIGS[bool(quick)]
    base = dict(d=cfg.d, k_aux=cfg.k_aux, k_main=cfg.k_main, shared=cfg.k_main, n_aux=cfg.n_aux, n_main=cfg.n_main,
                alpha=ALPHA)
    grid = [(g, c) for g in cfg.gamma for c in cfg.c]
    gd_pts = [dict(base, method="ptft", c=c, gamma=g, seeds=list(cfg.seeds), max_steps=max_steps, theory=False)
              for g, c in grid]
    ref_pts = [dict(base, method=m, c=1.0, gamma=1e-3, seeds=list(cfg.seeds), max_steps=max_steps, theory=False)
               for m in ("single_task", "mtl")]
    th_pts = [dict(base, method="ptft", c=c, gamma=g, seed=s) for g, c in grid for s in cfg.seeds]
    th_ref = [dict(base, method=m, c=1.0, gamma=1e-3, seed=s) for m in ("single_task", "mtl") for s in cfg.seeds]
    own = executor is None
    executor = _executor() if own else executor
    try:
        gd = run_sweep(generalisation_errors, ref_pts + gd_pts, cache_dir=cache_dir, version=CACHE_VERSION,
                       executor=executor, desc="rescaling_phase GD")
        th = run_sweep(theory_error_cell, th_ref + th_pts, cache_dir=cache_dir, version=CACHE_VERSION,
                       executor=executor, desc="rescaling_phase theory")
    finally:
        if own and executor is not None:
            executor.shutdown()
    S, G, C = len(cfg.seeds), len(cfg.gamma), len(cfg.c)
    norm = gd_errors(gd[0])  # single-task GD error of each seed
    gd_cells = gd[2:]
    gd_arr = np.stack([gd_errors(r) for r in gd_cells]).reshape(G, C, S) / norm
    failed = np.array([int(np.sum(~np.array(r["converged"], bool))) for r in gd_cells]).reshape(G, C)
    th_arr = theory_errors(th[2 * S:]).reshape(G, C, S) / norm
    single, mtl = theory_errors(th[:S]) / norm, theory_errors(th[S:2 * S]) / norm
    cc, gg = np.meshgrid(cfg.c, cfg.gamma)
    rho = selection_contrast(1 / np.sqrt(cfg.k_main), 1 / np.sqrt(cfg.k_aux), cc, gg, ALPHA)
    return {"config": cfg, "theory": th_arr, "gd": gd_arr, "failed": failed, "single": single, "mtl": mtl,
            "single_gd": gd_errors(gd[0]) / norm, "mtl_gd": gd_errors(gd[1]) / norm, "rho": rho}


def _cell_edges(v):
    lv = np.log10(np.asarray(v, float))
    order = np.sort(lv)
    mid = (order[1:] + order[:-1]) / 2
    step0, step1 = order[1] - order[0], order[-1] - order[-2]
    return 10 ** np.concatenate([[order[0] - step0 / 2], mid, [order[-1] + step1 / 2]])


def _heatmap(ax, cfg, values, vmin, vmax):
    from ptft.numerics.ptft import selection_contrast

    mean = np.nanmean(values, axis=-1)
    xs, ys = _cell_edges(cfg.c), _cell_edges(cfg.gamma)
    # pcolormesh wants ascending edges matching ascending centres
    ci, gi = np.argsort(cfg.c), np.argsort(cfg.gamma)
    m = ax.pcolormesh(xs, ys, np.log10(mean[np.ix_(gi, ci)]), cmap="viridis", vmin=vmin, vmax=vmax,
                      shading="flat")
    # contours of rho on a fine grid (analytic)
    cf = np.logspace(np.log10(xs[0]), np.log10(xs[-1]), 200)
    gf = np.logspace(np.log10(ys[0]), np.log10(ys[-1]), 200)
    CC, GG = np.meshgrid(cf, gf)
    R = selection_contrast(1 / np.sqrt(cfg.k_main), 1 / np.sqrt(cfg.k_aux), CC, GG, ALPHA)
    cs = ax.contour(CC, GG, R, levels=list(RHO_LEVELS), colors="white", linewidths=1.0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(xs[-1], xs[0])  # inverted: rescaling grows to the right
    ax.set_ylim(ys[0], ys[-1])
    # few labelled ticks, no minor ticks (the cells sit at half decades)
    sparse_log_ticks(ax.xaxis, xs[0], xs[-1], max_ticks=4)
    sparse_log_ticks(ax.yaxis, ys[0], ys[-1], max_ticks=3)
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("rescaling factor c")
    ax.set_ylabel(r"readout reset $\gamma$")
    return m, cs


def label_contours(ax, cs, margin: float = 0.12) -> list[tuple[float, float]]:
    """Label every piece of every contour line once, at a point well inside the axes.

    The label of a piece sits at its point nearest to the axes' rising diagonal (the contours of rho
    run across it, so labels of different levels do not collide), among the points at least ``margin``
    (axes fraction) from every edge; pieces with no such point stay unlabelled. Call once the layout is
    final (the inline gaps are cut in screen space). Returns the label positions (data coordinates).
    """
    to_axes = ax.transData + ax.transAxes.inverted()
    positions = []
    for segs in cs.allsegs:
        for seg in segs:
            if len(seg) < 2:
                continue
            f = to_axes.transform(seg)
            inside = np.all((f > margin) & (f < 1 - margin), axis=1)
            if inside.sum() < 3:
                continue
            k = np.argmin(np.where(inside, np.abs(f[:, 0] - f[:, 1]), np.inf))
            positions.append((float(seg[k, 0]), float(seg[k, 1])))
    if positions:
        ax.clabel(cs, manual=positions, inline=True, inline_spacing=3, fontsize=6.5,
                  fmt=lambda v: rf"$\rho$ = {v:g}")
    return positions


def make(out_dir: Path, quick: bool = False, *, executor=None, use_cache: bool = True) -> list[Path]:
    """Write ``rescaling_phase.png/.pdf``; returns the paths. Cells cached in ``out_dir/.cache`` unless
    ``use_cache=False`` (then every cell is recomputed and the cache is neither read nor written)."""
    data = phase_data(quick, figure_cache(out_dir, use_cache), executor=executor)
    cfg = data["config"]
    fig, axes = new_figure(3, width=12.0, height=4.3)
    ax_th, ax_gd, ax_sl = axes[0]
    both = np.concatenate([np.nanmean(data["theory"], -1).ravel(), np.nanmean(data["gd"], -1).ravel()])
    both = np.log10(both[np.isfinite(both) & (both > 0)])
    vmin, vmax = float(both.min()), float(both.max())
    mesh, cs_th = _heatmap(ax_th, cfg, data["theory"], vmin, vmax)
    _, cs_gd = _heatmap(ax_gd, cfg, data["gd"], vmin, vmax)
    panel_label(ax_th, "a", "theory: exact hand-off penalty minimiser")
    nf = int(data["failed"].sum())
    panel_label(ax_gd, "b", "gradient descent" + (f" ({nf} runs not converged, omitted)" if nf else ""))
    cb = fig.colorbar(mesh, ax=[ax_th, ax_gd], shrink=0.9, pad=0.02)
    cb.set_label("log10(test error / single-task error)")
    cb.locator = MaxNLocator(5, steps=[1, 2, 5, 10])
    cb.update_ticks()

    import matplotlib.pyplot as plt

    cs = np.array(cfg.c)
    cmap = plt.get_cmap("plasma")
    # lower end of the error bars: a third of the smallest mean shown (a 2 s.e. bar can reach 0 with few seeds)
    sl = np.stack([data[k][cfg.gamma.index(g)] for k in ("theory", "gd") for g in cfg.slices])
    means = np.nanmean(sl, axis=-1)
    floor = float(np.nanmin(means[means > 0])) / 3
    for i, g in enumerate(cfg.slices):
        gi = cfg.gamma.index(g)
        col = cmap(0.15 + 0.6 * i / max(len(cfg.slices) - 1, 1))
        th = np.array([_mean_se(data["theory"][gi, j])[0] for j in range(len(cs))])
        stats = [_mean_se(data["gd"][gi, j]) for j in range(len(cs))]
        gm, gs = np.array([s[0] for s in stats]), np.array([s[1] for s in stats])
        ax_sl.plot(cs, th, color=col, lw=1.3, label=rf"$\gamma$ = {g:g}")
        y, yerr = error_bars(gm, gs, floor)
        ok = np.isfinite(y)
        shift = np.exp(0.05 * (i - 1))
        ax_sl.errorbar(cs[ok] * shift, y[ok], yerr=yerr[:, ok], ls="none", marker="o", mfc="white", color=col,
                       ms=4, capsize=2, elinewidth=1.0)
    ax_sl.axhline(np.nanmean(data["mtl"]), color=METHOD_COLORS["mtl"], ls=":", lw=1.2,
                  label=r"MTL: $\ell_{1,2}$ (alpha $\to$ 0)")
    ax_sl.axhline(np.nanmean(data["single"]), color=METHOD_COLORS["single_task"], ls="-.", lw=1.2,
                  label="single task (theory)")
    from matplotlib.lines import Line2D

    h, _ = ax_sl.get_legend_handles_labels()
    h += [Line2D([], [], color="k", ls="none", marker="o", mfc="white", label=r"GD (mean $\pm$ 2 s.e.)"),
          Line2D([], [], color="k", label="theory (minimiser)")]
    ax_sl.legend(handles=h, fontsize=6.5, loc="upper left", ncol=2, columnspacing=1.0)
    ax_sl.set_xscale("log")
    ax_sl.set_yscale("log")
    ax_sl.set_xlim(max(cs) * 1.6, min(cs) / 1.6)  # inverted: rescaling grows to the right
    ax_sl.set_xlabel("rescaling factor c")
    ax_sl.set_ylabel("test error / single-task error")
    panel_label(ax_sl, "c", r"slices at fixed $\gamma$")
    drawn = np.concatenate([np.asarray(ln.get_ydata(), float) for ln in ax_sl.get_lines()])
    drawn = drawn[np.isfinite(drawn) & (drawn > 0)]
    # headroom above the curves and bars for the legend
    top = max(float(np.nanmax(means)) * 6, float(drawn.max()) * 2.5)
    ax_sl.set_ylim(floor, top)
    sparse_log_ticks(ax_sl.xaxis, min(cs), max(cs), max_ticks=4)
    sparse_log_ticks(ax_sl.yaxis, floor, top, max_ticks=5)
    fig.suptitle(f"PT+FT, main task on {cfg.k_main} of k_aux = {cfg.k_aux} auxiliary features; d = {cfg.d}, "
                 f"n_aux = {cfg.n_aux}, n_main = {cfg.n_main}, {len(cfg.seeds)} seeds, alpha = {ALPHA:g}"
                 + (" (quick)" if quick else "") + "\ncontours: selection contrast rho = price of a pretrained "
                 "feature / price of a new one (ptft.selection_contrast; -> 1: pretraining forgotten)", fontsize=8)
    # contour labels last, on the final layout (inline gaps and label positions are in screen space)
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    label_contours(ax_th, cs_th)
    label_contours(ax_gd, cs_gd)
    return save_figure(fig, out_dir, "rescaling_phase")


if __name__ == "__main__":
    from ptft.paper_figures.script import main

    raise SystemExit(main("rescaling_phase"))
