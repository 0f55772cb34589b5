"""Rescaling factor c vs PT+FT test error over n_main, main task on a sparse subset of the auxiliary features.

[LL] (Lippl & Lindsey, arXiv:2310.02396, Sec. 4; THEORY.md Secs. 3-4): before finetuning the first
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
counted; lines the implicit-bias minimisers). Panel (b): the same PT+FT errors against c, one colour
per n_main, with MTL and single task as horizontal reference levels (theory, dotted / dash-dotted).
Cells are cached under ``out_dir/.cache`` by :func:`numerics.sweeps.run_sweep`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.ticker import NullLocator

from ptft.paper_figures.generalisation import (ALPHA, CONFIGS, FLOOR_NOTE, GAMMA, MAX_STEPS, Y_FLOOR, MethodSpec,
                                          _legend_handles, error_bars, finish_axes, plot_error_vs_n, run_cells,
                                          summarise)
from ptft.paper_figures.style import METHOD_COLORS, METHOD_LABELS, METHOD_MARKERS, new_figure, panel_label, \
    rescaling_color, save_figure

__all__ = ["C_VALUES", "rescaling_data", "make"]

C_VALUES = (1.0, 0.1, 0.01, 0.001)
K_MAIN = {False: 5, True: 2}


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


def make(out_dir: Path, quick: bool = False, *, executor=None) -> list[Path]:
    """Write ``rescaling.png/.pdf``; cells cached in ``out_dir/.cache``."""
    data = rescaling_data(quick, Path(out_dir) / ".cache", executor=executor)
    cfg, methods, summ = data["config"], data["methods"], data["summary"][0]
    y_floor = Y_FLOOR
    fig, axes = new_figure(2, width=10.5, height=4.4, sharey=True)
    axa, axb = axes[0]
    notes = plot_error_vs_n(axa, summ, methods, y_floor=y_floor)
    axa.set_xticks(cfg.n_main)
    axa.set_xticklabels([str(n) for n in cfg.n_main])
    axa.xaxis.set_minor_locator(NullLocator())
    panel_label(axa, "a", data["tasks"][0]["title"])
    axa.set_ylabel("test error / single-task error at smallest n")
    handles = _legend_handles(methods)
    fig.legend(handles=handles, loc="outside lower center", ncol=(len(handles) + 1) // 2, fontsize=7.5, frameon=False)

    # (b) against c
    import matplotlib.pyplot as plt

    cs = np.array(C_VALUES)
    ptft = [m for m in methods if m.method == "ptft"]
    cmap = plt.get_cmap("viridis")
    for i, n in enumerate(cfg.n_main):
        col = cmap(0.65 * i / max(len(cfg.n_main) - 1, 1))
        shift = np.exp(0.04 * (i - (len(cfg.n_main) - 1) / 2))
        th = np.array([summ[m.key]["theory_mean"][i] for m in ptft])
        gm = np.array([summ[m.key]["gd_mean"][i] for m in ptft])
        gs = np.array([summ[m.key]["gd_se"][i] for m in ptft])
        axb.plot(cs, np.where(th > 0, th, np.nan), color=col, lw=1.3, label=f"PT+FT, n = {n}")
        y, yerr = error_bars(gm, gs, y_floor)
        ok = np.isfinite(y)
        axb.errorbar(cs[ok] * shift, y[ok], yerr=yerr[:, ok], ls="none", marker="o", mfc="white", color=col, ms=4.5,
                     capsize=2, elinewidth=1.0)
        for key, ls in (("mtl", ":"), ("single_task", "-.")):
            v = summ[key]["theory_mean"][i]
            if np.isfinite(v) and v > 0:
                axb.axhline(v, color=col, ls=ls, lw=1.0, alpha=0.8)
    from matplotlib.lines import Line2D

    h, _ = axb.get_legend_handles_labels()
    h += [Line2D([], [], color="0.4", ls=":", label=r"MTL: $\ell_{1,2}$ (alpha $\to$ 0)"),
          Line2D([], [], color="0.4", ls="-.", label="single task (theory)")]
    axb.set_xscale("log")
    axb.set_xlabel("rescaling factor c")
    axb.invert_xaxis()
    axb.legend(handles=h, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, borderaxespad=0.0)
    panel_label(axb, "b", "PT+FT error against c")
    finish_axes([axa, axb], [notes, []], y_floor)
    fig.suptitle(f"d = {cfg.d}, k_aux = {cfg.k_aux}, n_aux = {cfg.n_aux}, {len(cfg.seeds)} seeds, alpha = {ALPHA:g}, "
                 f"gamma = {GAMMA:g}" + (" (quick)" if quick else "") + "\n" + FLOOR_NOTE, fontsize=8)
    return save_figure(fig, out_dir, "rescaling")
