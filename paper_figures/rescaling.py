"""Rescaling factor c vs PT+FT test error over n_main, main task on a sparse subset of the auxiliary features.

[LL] (Lippl & Lindsey 2024, "Inductive biases of multi-task learning and finetuning: multiple regimes of
feature reuse", arXiv:2310.02396): before finetuning the first
layer is multiplied by c; this replaces |beta_aux| by c^2 |beta_aux| in the finetuning penalty, so a
small c makes the pretrained features themselves "rich" (l1-like among them) while new features stay
expensive: nested feature selection. The main teacher uses k_main of the k_aux auxiliary features
(full size [LL]: 5 of 40, d = 1000, n_aux = 1024, n_main in {16, ..., 512}, 6 seeds; ``quick``: 2 of 6,
d = 100, n_aux = 64, n_main in {8, 16, 32}, 2 seeds); c in {1, 0.1, 0.01, 0.001}, with MTL and single
task for reference.

The readout reset gamma = 1e-3 is held fixed, so the effect of c is not monotone: once
c sqrt|beta_aux| falls to ~gamma, the pretrained scale c^2 |beta_aux| drops below gamma^2 and PT+FT forgets
pretraining and reverts to single-task behaviour (theory ``ptft.nested_feature_selection``: the rich-limit
slope gap Delta -> 0 as c -> 0 at fixed gamma; nested feature selection needs gamma/c -> 0). In the quick
size (n_main >= 8 > k_aux = 6) c = 1 is already best and smaller c only hurts; at full size the
theory minimiser shows c = 0.1 beating c = 1 (e.g. n_main = 32) and c <= 0.01 degrading again.

Panel (a): normalised test error vs n_main (as in ``generalisation``: divided by the same seed's
single-task GD error at the smallest n_main; GD markers mean +- 2 s.e., non-converged runs omitted and
counted; lines the implicit-bias minimisers). Panels (b) onwards: one small panel per n_main (the
``N_AGAINST_C`` smallest, where the errors are above the GD stopping floor) with the same PT+FT errors
against c (theory line, GD markers in the colour and shape of that c in (a)) and the single-task and
MTL minimisers at that n_main as horizontal levels; each small panel has its own y-range.
Cells are cached under ``out_dir/.cache`` by :func:`numerics.sweeps.run_sweep` (``use_cache=False``:
recomputed, the cache neither read nor written).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import NullLocator

from ptft.paper_figures.generalisation import (ALPHA, CONFIGS, FLOOR_NOTE, GAMMA, MAX_STEPS, MTL_THEORY_LS, Y_FLOOR,
                                               MethodSpec, _legend_handles, error_bars, figure_cache, finish_axes,
                                               plot_error_vs_n, run_cells, summarise)
from ptft.paper_figures.style import (METHOD_COLORS, METHOD_LABELS, METHOD_MARKERS, apply_style, cut_at_floor,
                                      panel_label, rescaling_color, save_figure, sparse_log_ticks)

__all__ = ["C_VALUES", "rescaling_data", "make"]

C_VALUES = (1.0, 0.1, 0.01, 0.001)
#: number of n_main values (the smallest) that get a small error-against-c panel
N_AGAINST_C = 4
K_MAIN = {False: 5, True: 2}
#: line style of the single-task level in the small panels (solid black is the PT+FT line there)
SINGLE_LEVEL_LS = "-."


def rescaling_methods() -> list[MethodSpec]:
    ms = [MethodSpec("single_task", "single_task", 1.0, METHOD_LABELS["single_task"], METHOD_COLORS["single_task"],
                     METHOD_MARKERS["single_task"]),
          MethodSpec("mtl", "mtl", 1.0, METHOD_LABELS["mtl"], METHOD_COLORS["mtl"], METHOD_MARKERS["mtl"])]
    marks = ("^", "v", "D", "P")
    for i, c in enumerate(C_VALUES):
        ms.append(MethodSpec(f"ptft_c{c:g}", "ptft", c, f"PT+FT, c = {c:g}", rescaling_color(c, C_VALUES), marks[i]))
    return ms


def rescaling_data(quick: bool = False, cache_dir=None, *, executor=None, max_steps: int = MAX_STEPS) -> dict:
    """Run (or read from cache) every cell and summarise; no plotting."""
    cfg = CONFIGS[bool(quick)]
    k = K_MAIN[bool(quick)]
    tasks = [{"k_main": k, "shared": k, "title": f"main task: {k} of the {cfg.k_aux} auxiliary features"}]
    methods = rescaling_methods()
    cells = run_cells(cfg, tasks, methods, cache_dir, executor=executor, max_steps=max_steps, desc="rescaling")
    return {"config": cfg, "tasks": tasks, "methods": methods, "cells": cells, "alpha": ALPHA, "gamma": GAMMA,
            "summary": summarise(cells, cfg, len(tasks), methods)}


def make(out_dir: Path, quick: bool = False, *, executor=None, use_cache: bool = True) -> list[Path]:
    """Write ``rescaling.png/.pdf``; returns the paths. Cells cached in ``out_dir/.cache`` unless
    ``use_cache=False`` (then every cell is recomputed and the cache is neither read nor written)."""
    data = rescaling_data(quick, figure_cache(out_dir, use_cache), executor=executor)
    return plot_rescaling(data, out_dir, quick=quick)


def plot_rescaling(data: dict, out_dir: Path, quick: bool = False) -> list[Path]:
    """Draw the figure from :func:`rescaling_data`'s output; returns the PNG and PDF paths."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    cfg, methods, summ = data["config"], data["methods"], data["summary"][0]
    y_floor = Y_FLOOR
    apply_style()
    fig = plt.figure(figsize=(11.0, 5.4))
    gs = fig.add_gridspec(2, 3, width_ratios=[1.55, 1, 1])
    axa = fig.add_subplot(gs[:, 0])
    notes = plot_error_vs_n(axa, summ, methods, y_floor=y_floor)
    axa.set_xticks(cfg.n_main)
    axa.set_xticklabels([str(n) for n in cfg.n_main])
    axa.xaxis.set_minor_locator(NullLocator())
    panel_label(axa, "a", data["tasks"][0]["title"])
    axa.set_ylabel("test error / single-task error at smallest n")
    finish_axes([axa], [notes], y_floor)

    ptft = [m for m in methods if m.method == "ptft"]
    cs = np.array([m.c for m in ptft])
    small = []
    for j, n in enumerate(cfg.n_main[:N_AGAINST_C]):
        ax = fig.add_subplot(gs[j // 2, 1 + j % 2], sharex=small[0] if small else None)
        small.append(ax)
        i = list(cfg.n_main).index(n)
        th = np.array([summ[m.key]["theory_mean"][i] for m in ptft])
        ax.plot(*cut_at_floor(cs, th, y_floor), color="k", lw=1.2, zorder=2)
        for m, gm, gs_ in zip(ptft, (summ[m.key]["gd_mean"][i] for m in ptft), (summ[m.key]["gd_se"][i] for m in ptft)):
            y, yerr = error_bars([gm], [gs_], y_floor)
            if np.isfinite(y[0]):
                ax.errorbar([m.c], y, yerr=yerr, ls="none", marker=m.marker, color=m.color, ms=4.5, mfc="white",
                            mew=1.2, elinewidth=1.0, capsize=2, zorder=3)
        below = []
        for key, ls in (("single_task", SINGLE_LEVEL_LS), ("mtl", MTL_THEORY_LS)):
            v = summ[key]["theory_mean"][i]
            if np.isfinite(v) and v >= y_floor:
                ax.axhline(v, color=METHOD_COLORS[key], ls=ls, lw=1.1, zorder=1)
            elif np.isfinite(v):
                below.append(METHOD_LABELS[key])
        if below:
            ax.text(0.03, 0.04, " and ".join(below) + " < 1e-6", transform=ax.transAxes, fontsize=6.5, color="0.3",
                    ha="left", va="bottom")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ys = np.concatenate([np.asarray(ln.get_ydata(), float) for ln in ax.get_lines()])
        ys = ys[np.isfinite(ys) & (ys > 0)]
        lo, hi = (float(ys.min()), float(ys.max())) if ys.size else (y_floor, 1.0)
        bottom, top = lo / 2.5, hi * 2.5
        ax.set_ylim(bottom, top)
        sparse_log_ticks(ax.yaxis, bottom, top, max_ticks=4)
        panel_label(ax, "bcdefgh"[j], rf"PT+FT against c, $n_{{main}}$ = {n}")
        if j % 2 == 0:
            ax.set_ylabel("normalised test error")
        if j + 2 >= min(N_AGAINST_C, len(cfg.n_main)):  # nothing below: this panel carries the c axis
            ax.set_xlabel("rescaling factor c")
    small[0].set_xlim(max(cs) * 2.5, min(cs) / 2.5)  # shared x, inverted: rescaling grows to the right
    sparse_log_ticks(small[0].xaxis, min(cs), max(cs), max_ticks=4)
    for ax in small:
        if ax.get_xlabel() == "":
            ax.tick_params(axis="x", labelbottom=False)

    handles = _legend_handles(methods)
    span = f"(b-{'bcdefgh'[len(small) - 1]})"
    handles += [Line2D([], [], color="k", lw=1.2, label=f"{span} PT+FT minimiser against c"),
                Line2D([], [], color=METHOD_COLORS["single_task"], ls=SINGLE_LEVEL_LS, lw=1.1,
                       label=f"{span} single task minimiser"),
                Line2D([], [], color=METHOD_COLORS["mtl"], ls=MTL_THEORY_LS, lw=1.1,
                       label=span + r" MTL $\ell_{1,2}$ minimiser")]
    fig.legend(handles=handles, loc="outside lower center", ncol=(len(handles) + 1) // 2, fontsize=7,
               frameon=False, columnspacing=1.2, handlelength=1.8)
    fig.suptitle(f"d = {cfg.d}, k_aux = {cfg.k_aux}, n_aux = {cfg.n_aux}, {len(cfg.seeds)} seeds, alpha = {ALPHA:g}, "
                 f"gamma = {GAMMA:g}" + (" (quick)" if quick else "") + "\n" + FLOOR_NOTE, fontsize=8)
    return save_figure(fig, out_dir, "rescaling")


if __name__ == "__main__":
    from ptft.paper_figures.script import main

    raise SystemExit(main("rescaling"))
