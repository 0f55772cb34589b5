"""Main-task test error vs n_main for single task, MTL, PT+FT and rescaled PT+FT; all/half/no features shared.

Reproduces the diagonal-network teacher-student experiment of [LL] (Lippl & Lindsey 2024, "Inductive
biases of multi-task learning and finetuning: multiple regimes of feature reuse", arXiv:2310.02396) with :func:`numerics.teacher_student.generalisation_errors`: an auxiliary
teacher with k_aux nonzeros, a main teacher with k_main = k_aux nonzeros of which all / half / none sit on
auxiliary features (three panels). Full size ([LL]): d = 1000, k_aux = 40, n_aux = 1024,
n_main in {16, ..., 512}, 6 seeds; ``quick``: d = 100, k_aux = 6, n_aux = 64, n_main in {8, 16, 32}, 2 seeds.

Plotted: the main-task test error ||beta_hat - beta*||^2 (exact population MSE for these inputs)
divided by the *same seed's* single-task GD error at the smallest n_main, as [LL] do.

* Markers: gradient descent (alpha = 1e-3 init, gamma = 1e-3 readout reset), mean +- 2 s.e. over
  seeds. A run that did not reach the training-residual tolerance within ``max_steps`` is NaN; it is
  omitted from the mean and the number of such runs is printed next to the marker ("k/m failed"), never
  averaged in silently.
* Lines: the predicted implicit-bias minimisers (``theory_error``): the single-task potential Q at the
  same alpha, and the exact hand-off penalty of PT+FT evaluated at the theoretical pretrained
  coefficients (solid). MTL (dashed) is the l1,2 (group-lasso) interpolator, which is the alpha -> 0
  explicit-penalty limit: MTL gradient flow is not a mirror flow (``theory.get("mtl.flow_metric")``), so
  no finite-alpha penalty exists to plot. MTL markers and line therefore need not coincide (finite
  alpha sits between the kernel and the rich regime: [W] Woodworth et al. 2020, "Kernel and rich regimes
  in overparametrized models"). At full size the difference is large where the main task has features of its
  own: the l1,2 line recovers the teacher at n_main = 256, like exact l1 would, while finite-alpha GD
  (single task and MTL alike) does not yet.
* GD stops at relative training residual 1e-3, which at full size leaves a test error of 1e-6 to 1e-4
  (see ``FLOOR_NOTE``); markers at that level are at the stopping floor.
* Everything stays inside the axes: means below ``Y_FLOOR`` are drawn at ``Y_FLOOR``, and a theory line
  that falls below it ends at its crossing with ``Y_FLOOR`` (:func:`style.cut_at_floor`).

Every expensive loop runs through :func:`numerics.sweeps.run_sweep` (cached per point under
``out_dir/.cache``; ``use_cache=False`` / ``--no-cache`` recomputes every point and neither reads nor writes
the cache, tqdm progress, optional executor: set ``PTFT_FIGURE_WORKERS=2`` for a process pool).
The GD cell (all seeds batched) and the theory cell (one seed) are separate sweep points; a theory
minimiser that raises RuntimeError (e.g. cvxpy 'optimal_inaccurate') is reported with a warning, left
out of the theory mean, and not cached (so it is retried on the next run).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.ticker import NullLocator

from ptft.paper_figures.style import (METHOD_COLORS, METHOD_LABELS, METHOD_MARKERS, cut_at_floor, new_figure,
                                      panel_label, save_figure)

__all__ = ["Config", "CONFIGS", "MethodSpec", "theory_error_cell", "gd_errors", "theory_errors", "run_cells", "summarise", "generalisation_data",
           "plot_error_vs_n", "make"]

ALPHA = 1e-3
GAMMA = 1e-3
C_RESCALED = 0.1
MAX_STEPS = 500_000
#: floor of the error axes: means below are drawn at it, theory lines end where they cross it
Y_FLOOR = 1e-6
#: GD stops at a relative training residual of 1e-3 (``generalisation_errors``' ``tol``). At full size this
#: leaves a test error of 1e-6 to 1e-4 (larger at small n_main) that tighter stops remove, so
#: markers at that level sit at the stopping floor, not off the theory. Measured: single task, all
#: shared, n_main = 512, seeds 0 and 1: 1.2e-5 at tol 1e-3, 3.8e-6 at 3e-4, 2.2e-6 at 1e-4 (Q minimiser
#: 1.5e-6); PT+FT c = 1, 5 of 40 features, n_main = 64, seed 0: 7.0e-5, 1.6e-5, 4.6e-6 (minimiser 1.5e-6).
FLOOR_NOTE = ("GD stops at training residual 1e-3, leaving a test error of 1e-6 to 1e-4 (larger at small n): "
              "markers in that range may sit at this floor\nmarkers at 1e-6 and lines ending at 1e-6: "
              "error < 1e-6")
#: line style of the MTL theory curve: the l1,2 minimiser is the alpha -> 0 (explicit-penalty) limit, while
#: the other lines are finite-alpha implicit-bias minimisers; MTL gradient flow has no penalty at finite alpha
MTL_THEORY_LS = "--"
CACHE_VERSION = "2"  # 2: learning rate from the teachers' weight scale (numerics.teacher_student._lr)


@dataclass(frozen=True)
class Config:
    d: int
    k_aux: int
    n_aux: int
    n_main: tuple
    seeds: tuple


CONFIGS = {
    False: Config(d=1000, k_aux=40, n_aux=1024, n_main=(16, 32, 64, 128, 256, 512), seeds=tuple(range(6))),
    True: Config(d=100, k_aux=6, n_aux=64, n_main=(8, 16, 32), seeds=(0, 1)),
}


@dataclass(frozen=True)
class MethodSpec:
    """A curve: ``key`` (legend/colour), the ``method`` of generalisation_errors, the rescaling ``c``."""

    key: str
    method: str
    c: float = 1.0
    label: str = ""
    color: str | tuple = ""
    marker: str = "o"


def default_methods() -> list[MethodSpec]:
    return [MethodSpec(k, m, c, METHOD_LABELS[k] + (f" (c = {c:g})" if m == "ptft" else ""), METHOD_COLORS[k],
                       METHOD_MARKERS[k])
            for k, m, c in (("single_task", "single_task", 1.0), ("mtl", "mtl", 1.0), ("ptft", "ptft", 1.0),
                            ("ptft_rescaled", "ptft", C_RESCALED))]


def theory_error_cell(d, k_aux, k_main, shared, n_aux, n_main, method, seed, alpha, c, gamma):
    """Theory (penalty-minimiser) error of one seed: ``generalisation_errors`` with no GD steps.

    ``max_steps=0`` makes the GD part a no-op (its error is NaN and unused), so only the minimiser is
    computed. Returns ``{"theory_error": float}``, or None (with a warning) if the minimiser raised
    RuntimeError; None is not cached by run_sweep, so the point is retried next time.
    """
    from ptft.numerics.teacher_student import generalisation_errors

    try:
        r = generalisation_errors(d=d, k_aux=k_aux, k_main=k_main, shared=shared, n_aux=n_aux, n_main=n_main,
                                  method=method, seeds=[seed], alpha=alpha, c=c, gamma=gamma, max_steps=0,
                                  theory=True)
    except RuntimeError as exc:
        warnings.warn(f"theory minimiser failed ({method}, c={c}, shared={shared}, n_main={n_main}, seed={seed}): "
                      f"{exc}; theory point marked missing", RuntimeWarning, stacklevel=2)
        return None
    return {"theory_error": r["theory_error"][0]}


def figure_cache(out_dir, use_cache: bool = True):
    """The sweep cache of a figure written to ``out_dir`` (``out_dir/.cache``), or None with ``use_cache=False``."""
    return Path(out_dir) / ".cache" if use_cache else None


def _executor():
    n = int(os.environ.get("PTFT_FIGURE_WORKERS", "1") or 1)
    if n > 1:
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=n)
    return None


def run_cells(cfg: Config, tasks: list[dict], methods: list[MethodSpec], cache_dir, *, executor=None,
              max_steps: int = MAX_STEPS, desc: str = "") -> dict:
    """GD and theory results for every (task, method, n_main).

    ``tasks`` are dicts with ``k_main`` and ``shared``. Returns ``{(task index, method key, n_main):
    {"gd": [per seed, NaN if not converged], "theory": [per seed, NaN if missing], "converged": [...]}}``.
    """
    from ptft.numerics.sweeps import run_sweep
    from ptft.numerics.teacher_student import generalisation_errors

    base = dict(d=cfg.d, k_aux=cfg.k_aux, n_aux=cfg.n_aux, alpha=ALPHA, gamma=GAMMA)
    gd_pts, th_pts, keys = [], [], []
    for ti, task in enumerate(tasks):
        for m in methods:
            for n in cfg.n_main:
                keys.append((ti, m.key, n))
                common = dict(base, k_main=task["k_main"], shared=task["shared"], n_main=n, method=m.method, c=m.c)
                gd_pts.append(dict(common, seeds=list(cfg.seeds), max_steps=max_steps, theory=False))
                th_pts.extend(dict(common, seed=s) for s in cfg.seeds)
    own = executor is None
    executor = _executor() if own else executor
    try:
        gd = run_sweep(generalisation_errors, gd_pts, cache_dir=cache_dir, version=CACHE_VERSION,
                       executor=executor, desc=f"{desc} GD".strip())
        th = run_sweep(theory_error_cell, th_pts, cache_dir=cache_dir, version=CACHE_VERSION, executor=executor,
                       desc=f"{desc} theory".strip())
    finally:
        if own and executor is not None:
            executor.shutdown()
    S = len(cfg.seeds)
    return {key: {"gd": gd_errors(gd[i]), "converged": np.array(gd[i]["converged"], bool),
                  "theory": theory_errors(th[i * S:(i + 1) * S])}
            for i, key in enumerate(keys)}


def gd_errors(cell: dict) -> np.ndarray:
    """Per-seed GD errors of a ``generalisation_errors`` result, NaN where GD did not converge."""
    return np.array([np.nan if v is None else v for v in cell["gd_error"]], float)


def theory_errors(cells: list) -> np.ndarray:
    """Per-seed errors of ``theory_error_cell`` results, NaN where the minimiser failed (None)."""
    return np.array([np.nan if (t is None or t["theory_error"] is None) else t["theory_error"] for t in cells],
                    float)


def _mean_se(x: np.ndarray):
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.nan, np.nan, 0
    se = x.std(ddof=1) / np.sqrt(x.size) if x.size > 1 else np.nan
    return float(x.mean()), float(se), int(x.size)


def summarise(cells: dict, cfg: Config, n_tasks: int, methods: list[MethodSpec], reference: str = "single_task"):
    """Normalise by each seed's single-task GD error at the smallest n_main; mean +- s.e. over seeds.

    Returns ``{task index: {method key: {"n", "gd_mean", "gd_se", "gd_count", "gd_failed", "theory_mean",
    "theory_count", "norm_missing"}}}``. ``gd_failed`` counts non-converged GD runs (omitted);
    ``norm_missing`` counts seeds whose normaliser itself is NaN (their values are omitted too).
    """
    n0 = min(cfg.n_main)
    out = {}
    for ti in range(n_tasks):
        norm = cells[(ti, reference, n0)]["gd"]
        out[ti] = {}
        for m in methods:
            rec = {k: [] for k in ("gd_mean", "gd_se", "gd_count", "gd_failed", "theory_mean", "theory_count")}
            for n in cfg.n_main:
                c = cells[(ti, m.key, n)]
                gm, gs, gc = _mean_se(c["gd"] / norm)
                tm, _, tc = _mean_se(c["theory"] / norm)
                for k, v in zip(rec, (gm, gs, gc, int(np.sum(~c["converged"])), tm, tc)):
                    rec[k].append(v)
            out[ti][m.key] = {"n": np.array(cfg.n_main), **{k: np.array(v) for k, v in rec.items()},
                              "norm_missing": int(np.sum(~np.isfinite(norm))), "seeds": len(cfg.seeds)}
    return out


def generalisation_data(quick: bool = False, cache_dir=None, *, executor=None, max_steps: int = MAX_STEPS) -> dict:
    """Run (or read from cache) every cell of the figure and summarise; no plotting."""
    cfg = CONFIGS[bool(quick)]
    k = cfg.k_aux
    tasks = [{"k_main": k, "shared": k, "title": f"all {k} features shared"},
             {"k_main": k, "shared": k // 2, "title": f"{k // 2} of {k} shared"},
             {"k_main": k, "shared": 0, "title": "no features shared"}]
    methods = default_methods()
    cells = run_cells(cfg, tasks, methods, cache_dir, executor=executor, max_steps=max_steps, desc="generalisation")
    return {"config": cfg, "tasks": tasks, "methods": methods, "cells": cells,
            "summary": summarise(cells, cfg, len(tasks), methods)}


def error_bars(mean, se, y_floor: float):
    """Marker positions and asymmetric +- 2 s.e. bars for a log axis: values below ``y_floor`` sit at the floor.

    Returns ``(y, yerr)`` with ``yerr`` of shape (2, n), both nonnegative; a single seed (s.e. NaN) gets no bar.
    """
    mean = np.asarray(mean, float)
    se = np.nan_to_num(np.asarray(se, float), nan=0.0)
    y = np.where(np.isfinite(mean), np.maximum(mean, y_floor), np.nan)
    lo = np.minimum(np.maximum(mean - 2 * se, y_floor), y)
    hi = np.maximum(mean + 2 * se, y)
    return y, np.vstack([y - lo, hi - y])


def plot_error_vs_n(ax, summary: dict, methods: list[MethodSpec], *, y_floor: float = Y_FLOOR, jitter: float = 0.035):
    """One panel: GD markers (mean +- 2 s.e.) and theory lines for each method; returns texts of failure notes.

    Means/lower bars below ``y_floor`` are drawn at the floor; a theory line ends where it crosses the floor.
    Markers of different methods are shifted horizontally by a few percent so the error bars stay legible.
    """
    notes = []
    for j, m in enumerate(methods):
        s = summary[m.key]
        n = s["n"].astype(float)
        shift = np.exp(jitter * (j - (len(methods) - 1) / 2))
        ax.plot(*cut_at_floor(n, s["theory_mean"], y_floor), color=m.color, lw=1.3, alpha=0.9, zorder=2,
                ls=MTL_THEORY_LS if m.method == "mtl" else "-")
        y, yerr = error_bars(s["gd_mean"], s["gd_se"], y_floor)
        ok = np.isfinite(y)
        ax.errorbar(n[ok] * shift, y[ok], yerr=yerr[:, ok], ls="none", marker=m.marker, color=m.color, ms=4.5,
                    mfc="white", mew=1.2, elinewidth=1.0, capsize=2, zorder=3)
        for nn, failed, count in zip(n, s["gd_failed"], s["gd_count"]):
            if failed:
                notes.append(f"{m.label}, n={int(nn)}: {failed}/{s['seeds']} GD runs not converged"
                             + (" (no mean)" if count == 0 else " (omitted)"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"main-task samples $n_{main}$")
    return notes


def _legend_handles(methods):
    from matplotlib.lines import Line2D

    h = [Line2D([], [], color=m.color, marker=m.marker, mfc="white", label=m.label) for m in methods]
    h += [Line2D([], [], color="k", ls="none", marker="o", mfc="white", label=r"GD (mean $\pm$ 2 s.e.)"),
          Line2D([], [], color="k", label=f"implicit-bias minimiser (alpha = {ALPHA:g})"),
          Line2D([], [], color="k", ls=MTL_THEORY_LS, label=r"MTL: $\ell_{1,2}$ minimiser (alpha $\to$ 0)")]
    return h


def finish_axes(axes, notes_per_ax, y_floor):
    """Shared y-limits covering every plotted line (bottom edge just below ``y_floor``), failure notes in the
    top-right corner of each panel."""
    lo, hi = [], []
    for ax in axes:
        for line in ax.get_lines():
            y = np.asarray(line.get_ydata(), float)
            y = y[np.isfinite(y) & (y > 0)]
            if y.size:
                lo.append(y.min())
                hi.append(y.max())
    bottom = max(min(lo) / 2, y_floor / 1.5) if lo else y_floor / 1.5
    top = max(hi) * 2 if hi else 10
    for ax, notes in zip(axes, notes_per_ax):
        ax.set_ylim(bottom, top)
        if notes:
            ax.text(0.98, 0.98, "\n".join(notes), transform=ax.transAxes, fontsize=6, va="top", ha="right",
                    color="0.3")


def make(out_dir: Path, quick: bool = False, *, executor=None, use_cache: bool = True) -> list[Path]:
    """Write ``generalisation.png/.pdf``; returns the paths. Cells cached in ``out_dir/.cache`` unless
    ``use_cache=False`` (then every cell is recomputed and the cache is neither read nor written)."""
    data = generalisation_data(quick, figure_cache(out_dir, use_cache), executor=executor)
    cfg, methods = data["config"], data["methods"]
    y_floor = Y_FLOOR
    fig, axes = new_figure(3, width=11.0, height=4.2, sharey=True)
    notes = []
    for ti, (ax, task) in enumerate(zip(axes[0], data["tasks"])):
        notes.append(plot_error_vs_n(ax, data["summary"][ti], methods, y_floor=y_floor))
        panel_label(ax, "abc"[ti], task["title"])
        ax.set_xticks(cfg.n_main)
        ax.set_xticklabels([str(n) for n in cfg.n_main])
        ax.xaxis.set_minor_locator(NullLocator())
    finish_axes(list(axes[0]), notes, y_floor)
    axes[0, 0].set_ylabel("test error / single-task error at smallest n")
    handles = _legend_handles(methods)
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=7, frameon=False,
               columnspacing=1.2, handlelength=1.8)
    fig.suptitle(f"d = {cfg.d}, k_aux = k_main = {cfg.k_aux}, n_aux = {cfg.n_aux}, {len(cfg.seeds)} seeds, "
                 f"alpha = {ALPHA:g}, gamma = {GAMMA:g}" + (" (quick)" if quick else "") + "\n" + FLOOR_NOTE,
                 fontsize=8)
    return save_figure(fig, out_dir, "generalisation")


if __name__ == "__main__":
    from ptft.paper_figures.script import main

    raise SystemExit(main("generalisation"))
