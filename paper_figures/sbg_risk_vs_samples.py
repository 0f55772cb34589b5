"""[SBG] fine-tuned risk against the number of target samples, for two covariance spectra and four sources.

Linear regression fine-tuned by GD from theta_S (the endpoint ``theta_S + X^+(y - X theta_S)``,
``numerics.linear_teachers.finetune_limit``), noiseless linear teacher theta_T (norm 1), rows x ~ N(0, Sigma):

* (a) isotropic Sigma = I: theory lines ``(1 - n/d)||theta_S - theta_T||^2`` (``expected_risk``);
* (b) power law Sigma = diag(i^-1.5) (trace d): theory lines from the deterministic equivalent
  (``expected_risk_power_law``, beyond [SBG]).

Sources: scratch (theta_S = 0) and three sources at the same Euclidean distance ``||theta_S - theta_T||^2 = 0.1``:
a random direction, the top 10% eigendirections of Sigma, the bottom 90%. Markers: Monte Carlo over designs
(mean +- 2 s.e.). The risk is divided by the scratch risk at n = 0 (``theta_T' Sigma theta_T``). In (b) the
similarity measure ``||Sigma^(1/2)(theta_S - theta_T)||^2`` (legend) orders the curves at small n, and the
power-law decay of the scratch curve turns a lower measure into a large cut in the samples needed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ptft.paper_figures.generalisation import _executor, figure_cache
from ptft.paper_figures.style import new_figure, panel_label, save_figure

__all__ = ["make", "risk_cell", "SOURCES"]

CACHE_VERSION = "1"
EXPONENT = 1.5
SOURCES = ("scratch", "random", "top", "bottom")
LABELS = {"scratch": r"scratch ($\theta_S = 0$)", "random": "random direction", "top": "top 10% eigendirections",
          "bottom": "bottom 90% eigendirections"}
COLORS = {"scratch": "#444444", "random": "#1f77b4", "top": "#d62728", "bottom": "#2ca02c"}


def _config(quick: bool) -> dict:
    return dict(d=60, draws=12, n_grid=(3, 12, 24, 36, 48, 54)) if quick else \
        dict(d=200, draws=60, n_grid=(5, 20, 40, 70, 100, 140, 170, 190))


def _task(d: int, spectrum: str, source: str, seed: int):
    """(eigenvalues, theta_T, theta_S) in the eigenbasis of Sigma (largest eigenvalue first)."""
    from ptft.numerics import linear_teachers as lt

    rng = np.random.default_rng(seed)
    lam = np.ones(d) if spectrum == "isotropic" else lt.power_law_spectrum(d, EXPONENT)
    tt = rng.standard_normal(d)
    tt /= np.linalg.norm(tt)
    if source == "scratch":
        return lam, tt, np.zeros(d)
    u = rng.standard_normal(d)
    k = d // 10
    if source == "top":
        u[k:] = 0.0
    elif source == "bottom":
        u[:k] = 0.0
    u *= np.sqrt(0.1) / np.linalg.norm(u)
    return lam, tt, tt + u


def risk_cell(d: int, spectrum: str, source: str, n: int, draws: int, seed: int) -> dict:
    """Monte Carlo (mean, s.e.) of the fine-tuned risk over ``draws`` designs, and the theory value."""
    from ptft.numerics import linear_teachers as lt

    lam, tt, ts = _task(d, spectrum, source, seed)
    rng = np.random.default_rng([seed, n, 7])
    risks = []
    for _ in range(draws):
        X = rng.standard_normal((n, d)) * np.sqrt(lam)
        risks.append(lt.population_risk(lt.finetune_limit(X, X @ tt, ts), tt, lam))
    risks = np.array(risks)
    theory = (lt.expected_risk(n, d, ts, tt) if spectrum == "isotropic"
              else lt.expected_risk_deterministic(n, lam, ts - tt).risk)
    return {"mean": float(risks.mean()), "se": float(risks.std(ddof=1) / np.sqrt(draws)), "theory": float(theory)}


def _theory_curve(d, spectrum, source, ns):
    from ptft.numerics import linear_teachers as lt

    lam, tt, ts = _task(d, spectrum, source, 0)
    if spectrum == "isotropic":
        return np.array([lt.expected_risk(int(n), d, ts, tt) for n in ns])
    return np.array([lt.expected_risk_deterministic(int(n), lam, ts - tt).risk if n > 0 else
                     lt.population_risk(ts, tt, lam) for n in ns])


def make(out_dir: Path, quick: bool = False, *, use_cache: bool = True, executor=None) -> list[Path]:
    """Write ``sbg_risk_vs_samples.png/.pdf``; returns the paths."""
    from ptft.numerics import linear_teachers as lt
    from ptft.numerics.sweeps import run_sweep

    cfg = _config(quick)
    d = cfg["d"]
    pts = [dict(d=d, spectrum=sp, source=so, n=n, draws=cfg["draws"], seed=0)
           for sp in ("isotropic", "power_law") for so in SOURCES for n in cfg["n_grid"]]
    own = executor is None
    executor = _executor() if own else executor
    try:
        res = run_sweep(risk_cell, pts, cache_dir=figure_cache(out_dir, use_cache), version=CACHE_VERSION,
                        executor=executor, desc="sbg_risk_vs_samples", progress=False)
    finally:
        if own and executor is not None:
            executor.shutdown()
    fig, axes = new_figure(2, width=9.0, height=3.8)
    ns = np.arange(0, d)
    for ax, sp, letter, title in ((axes[0][0], "isotropic", "a", r"isotropic $\Sigma = I$"),
                                  (axes[0][1], "power_law", "b", rf"power law $\lambda_i \propto i^{{-{EXPONENT:g}}}$")):
        lam, tt0, _ = _task(d, sp, "scratch", 0)
        norm = float(lt.population_risk(np.zeros(d), tt0, lam))
        for so in SOURCES:
            lam, tt, ts = _task(d, sp, so, 0)
            m = lt.similarity(ts, tt, lam) / norm
            curve = _theory_curve(d, sp, so, ns) / norm
            ax.plot(ns, curve, color=COLORS[so], lw=1.4, label=f"{LABELS[so]} (measure {m:.2g})")
            rows = [r for p, r in zip(pts, res) if p["spectrum"] == sp and p["source"] == so]
            mean = np.array([r["mean"] for r in rows]) / norm
            se = np.array([r["se"] for r in rows]) / norm
            ax.errorbar(cfg["n_grid"], mean, yerr=2 * se, ls="none", marker="o", mfc="white", color=COLORS[so],
                        ms=4, capsize=2, elinewidth=1.0)
        ax.set_yscale("log")
        ax.set_xlabel("target samples n")
        ax.set_ylabel(r"risk / $\theta_T^\top \Sigma\, \theta_T$")
        ax.set_xlim(0, d)
        panel_label(ax, letter, title + f", d = {d}")
        ax.legend(fontsize=6.5, loc="lower left")
    fig.suptitle("[SBG] fine-tuning from $\\theta_S$ (noiseless, $||\\theta_S - \\theta_T||^2 = 0.1$ unless scratch): "
                 f"lines theory, markers Monte Carlo over {cfg['draws']} designs (mean $\\pm$ 2 s.e.)"
                 + (" (quick)" if quick else ""), fontsize=8)
    return save_figure(fig, out_dir, "sbg_risk_vs_samples")


if __name__ == "__main__":
    from ptft.paper_figures.script import main

    raise SystemExit(main("sbg_risk_vs_samples"))
