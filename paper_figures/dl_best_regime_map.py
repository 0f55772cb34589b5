"""Which regime finetunes best? The regime initialisation with the lowest RS error over the task statistics.

For each task (rho_ft_shared, rho_ft_new) on a grid (rho_PT = 0.1: rho_ft_shared = P(finetuning uses d | pretraining
uses d), rho_ft_new = P(finetuning uses d | pretraining does not)) and each alpha = n/d in {0.1, 0.25, 0.4}, the
replica-symmetric finetuning error E[(beta_hat - beta_FT)^2] (:func:`ptft.numerics.asymptotics.error_map_point`,
i.e. :func:`generalization_error`) of the four representative initialisations of
:data:`ptft.paper_figures.dl_common.REGIMES` (I lambda_PT = -1, gamma_FT = 1e-6; II lambda_PT = 1, gamma_FT = 0;
III lambda_PT = 0, gamma_FT = 10; IV lambda_PT = -0.99, gamma_FT = 0; all c_PT = 1e-3).

* Top row: colour = the regime with the lowest error; light grey = at least two regimes recover the teacher
  (error < 1e-6: no winner); hatched = a near tie (the second-lowest error within 1 % of the lowest).
* Bottom row: log10(second-lowest error / lowest error), the margin of the winner; grey where the two lowest
  both recover exactly (< 1e-6) and the ratio is meaningless.

Not in [DL] (arXiv:2602.20062): a map built here from its RS theory (Prop. 4.2 form, :mod:`numerics.asymptotics`).
Grid: rho_ft_shared in {0, 0.05, ..., 1} (21 values), rho_ft_new in {0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
0.1, 0.2, 0.5, 1} (11 values; drawn as equal rows); the task with neither (no finetuning teacher) is left out.
``quick``: 5 x 4 cells, alpha in {0.1, 0.4}. Assumptions: oracle pretraining (|beta_PT| = 1), noiseless labels,
E[beta_FT^2] = 1. Every point runs through :func:`ptft.numerics.sweeps.run_sweep` (cached under
``out_dir/.cache``); points that did not converge are excluded from the comparison and counted in the title.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ptft.paper_figures.dl_common import REGIME_ORDER, REGIMES, own_executor
from ptft.paper_figures.generalisation import figure_cache
from ptft.paper_figures.style import new_figure, panel_label, save_figure

__all__ = ["Config", "CONFIGS", "TIE_ABS", "TIE_REL", "map_data", "make"]

CACHE_VERSION = "1"
RHO_PT = 0.1
#: errors below TIE_ABS count as exact recovery; within a factor TIE_REL of the best as a tie
TIE_ABS = 1e-6
TIE_REL = 1.01
EXACT_COLOR = "#d9d9d9"


@dataclass(frozen=True)
class Config:
    shared: tuple
    new: tuple
    alphas: tuple


CONFIGS = {
    False: Config(shared=tuple(np.round(np.linspace(0, 1, 21), 6).tolist()),
                  new=(0.0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0), alphas=(0.1, 0.25, 0.4)),
    True: Config(shared=(0.0, 0.25, 0.5, 0.75, 1.0), new=(0.0, 0.01, 0.1, 1.0), alphas=(0.1, 0.4)),
}


def map_data(quick: bool = False, cache_dir=None, *, executor=None) -> dict:
    """Run (or read from cache) every (alpha, regime, rho_ft_new, rho_ft_shared) point; no plotting.

    Returns the config and arrays of shape (alphas, regimes, new, shared): ``error`` (NaN where the task is
    empty or the point did not converge), ``converged``; and, of shape (alphas, new, shared): ``best`` (index
    into REGIME_ORDER, -1 for no data), ``exact`` (bool: two or more regimes below TIE_ABS), ``tie`` (bool: not
    ``exact`` and the second-lowest error within TIE_REL of the lowest), ``ratio`` (second-lowest / lowest error,
    NaN where both are below TIE_ABS).
    """
    from ptft.numerics.asymptotics import error_map_point
    from ptft.numerics.sweeps import run_sweep

    cfg = CONFIGS[bool(quick)]
    pts, where = [], []
    for ia, a in enumerate(cfg.alphas):
        for ir, r in enumerate(REGIME_ORDER):
            for jn, nw in enumerate(cfg.new):
                for js, sh in enumerate(cfg.shared):
                    if sh == 0 and nw == 0:
                        continue
                    pts.append(dict(alpha_ft=float(a), rho_pt=RHO_PT, rho_ft_shared=float(sh), rho_ft_new=float(nw),
                                    **REGIMES[r].params))
                    where.append((ia, ir, jn, js))
    ex, owned = own_executor(executor)
    try:
        res = run_sweep(error_map_point, pts, cache_dir=cache_dir, version=CACHE_VERSION, executor=ex,
                        desc="dl_best_regime_map")
    finally:
        if owned:
            ex.shutdown()
    shape = (len(cfg.alphas), len(REGIME_ORDER), len(cfg.new), len(cfg.shared))
    err = np.full(shape, np.nan)
    conv = np.zeros(shape, bool)
    for w, r in zip(where, res):
        conv[w] = bool(r["converged"])
        err[w] = float(r["error"]) if conv[w] else np.nan
    best = np.full((shape[0], shape[2], shape[3]), -1, int)
    tie = np.zeros(best.shape, bool)
    exact = np.zeros(best.shape, bool)
    ratio = np.full(best.shape, np.nan)
    for ia in range(shape[0]):
        for jn in range(shape[2]):
            for js in range(shape[3]):
                e = err[ia, :, jn, js]
                if not np.isfinite(e).any():
                    continue
                e = np.where(np.isfinite(e), e, np.inf)
                order = np.argsort(e, kind="stable")
                b, s = e[order[0]], e[order[1]]
                best[ia, jn, js] = order[0]
                exact[ia, jn, js] = s < TIE_ABS
                tie[ia, jn, js] = (s >= TIE_ABS) and s <= TIE_REL * b
                if s >= TIE_ABS:
                    ratio[ia, jn, js] = s / max(b, 1e-300)
    return {"config": cfg, "error": err, "converged": conv, "best": best, "tie": tie, "exact": exact,
            "ratio": ratio,
            "n_failed": int(np.sum(~conv & _task_mask(cfg, shape)))}


def _task_mask(cfg: Config, shape) -> np.ndarray:
    m = np.ones(shape, bool)
    m[:, :, np.array(cfg.new) == 0, np.array(cfg.shared) == 0] = False
    return m


def make(out_dir: Path, quick: bool = False, *, use_cache: bool = True, executor=None) -> list[Path]:
    """Write ``dl_best_regime_map.png/.pdf``; returns the paths (cache under ``out_dir/.cache`` unless
    ``use_cache=False``)."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    data = map_data(quick, figure_cache(out_dir, use_cache), executor=executor)
    cfg = data["config"]
    A = len(cfg.alphas)
    fig, axes = new_figure(A, 2, width=4.3 * A + 1.2, height=8.2)
    cmap = ListedColormap([REGIMES[r].color for r in REGIME_ORDER] + [EXACT_COLOR]).with_extremes(bad="white")
    xs = np.arange(len(cfg.shared) + 1) - 0.5
    ys = np.arange(len(cfg.new) + 1) - 0.5
    rmax = 3.0
    ratio_mesh = None
    xt = [i for i, v in enumerate(cfg.shared) if abs(v * 4 - round(v * 4)) < 1e-9]
    for ia, a in enumerate(cfg.alphas):
        ax, bx = axes[0][ia], axes[1][ia]
        b = np.where(data["exact"][ia], len(REGIME_ORDER), data["best"][ia]).astype(float)
        ax.pcolormesh(xs, ys, np.ma.masked_less(b, 0), cmap=cmap, vmin=-0.5, vmax=len(REGIME_ORDER) + 0.5,
                      shading="flat", edgecolors="face")
        ti = np.argwhere(data["tie"][ia])
        for jn, js in ti:
            ax.add_patch(plt.Rectangle((js - 0.5, jn - 0.5), 1, 1, fill=False, hatch="///", ec="white", lw=0))
        for axx in (ax, bx):   # the task without a finetuning teacher
            for jn, js in np.argwhere((np.array(cfg.new)[:, None] == 0) & (np.array(cfg.shared)[None, :] == 0)):
                axx.text(js, jn, "n/a", ha="center", va="center", fontsize=6, color="0.3")
        lr = np.log10(data["ratio"][ia])
        ratio_mesh = bx.pcolormesh(xs, ys, np.ma.masked_invalid(lr), cmap="magma_r", vmin=0, vmax=rmax,
                                   shading="flat")
        bx.set_facecolor(EXACT_COLOR)
        for axx in (ax, bx):
            axx.set_xticks(xt, [f"{cfg.shared[i]:g}" for i in xt])
            axx.set_yticks(range(len(cfg.new)), [f"{v:g}" for v in cfg.new])
            axx.set_xlabel(r"$\rho_{ft,shared}$ = P(FT uses $d$ | PT uses $d$)")
            axx.tick_params(axis="y", labelsize=7)
            axx.spines[["top", "right"]].set_visible(True)
        if ia == 0:
            ax.set_ylabel(r"$\rho_{ft,new}$ = P(FT uses $d$ | PT does not)")
            bx.set_ylabel(r"$\rho_{ft,new}$ = P(FT uses $d$ | PT does not)")
        win = data["best"][ia][~data["exact"][ia]]
        counts = {r: int(np.sum(win == k)) for k, r in enumerate(REGIME_ORDER)}
        panel_label(ax, "abcdef"[ia], rf"lowest RS error, $\alpha$ = {a:g}" + "\n" +
                    ", ".join(f"{r}: {counts[r]}" for r in REGIME_ORDER) +
                    f"; {int(data['exact'][ia].sum())} several exact, {int(data['tie'][ia].sum())} near ties")
        panel_label(bx, "abcdef"[A + ia], rf"margin: log10(2nd lowest / lowest), $\alpha$ = {a:g}")
    cb = fig.colorbar(ratio_mesh, ax=axes[1].tolist(), shrink=0.9, pad=0.01, extend="max")
    cb.set_label("log10(2nd / best error)")
    handles = [Patch(color=REGIMES[r].color, label=REGIMES[r].label) for r in REGIME_ORDER]
    handles += [Patch(facecolor=EXACT_COLOR, label="two or more regimes recover exactly (error < 1e-6)"),
                Patch(facecolor="0.6", hatch="///", edgecolor="white", label="near tie: 2nd lowest within 1%")]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=7.5)
    fail = f"; {data['n_failed']} RS points not converged, excluded" if data["n_failed"] else ""
    fig.suptitle(f"Best regime initialisation ($c_{{PT}}$ = $10^{{-3}}$) over the task statistics, "
                 f"$\\rho_{{PT}}$ = {RHO_PT:g}, RS theory{fail}" + (" (quick)" if quick else ""), fontsize=9)
    return save_figure(fig, out_dir, "dl_best_regime_map")


if __name__ == "__main__":
    from ptft.paper_figures.script import main

    raise SystemExit(main("dl_best_regime_map"))
