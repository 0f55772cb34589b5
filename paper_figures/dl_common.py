"""Shared pieces of the [DL] figures: the four regime initialisations, sweep point functions, finite-d summaries.

The finetuning error E[(beta_hat - beta_FT)^2] after the [DL] hand-off, as a replica-symmetric (RS) curve in
alpha = n/d (:func:`ptft.numerics.asymptotics.generalization_error_curve`) and as a finite-d mean over seeds of
the exact hand-off minimiser (:func:`ptft.numerics.dl_finite.finite_d_error_point`, combined by
:func:`~ptft.numerics.dl_finite.combine_points`: mean and Student-t 95 % interval over the converged seeds).

Source: [DL] Anguita, Locatello, Saxe, Mondelli, Mancini, Lippl, Dominé, arXiv:2602.20062 (Figs. 3-4); the
figure settings were read from the first author's public figure scripts (``Nico31415/toy-unlearning``,
``experiments/diagonal/replica/figure3.py``, ``figure4.py``, ``ExperimentSetup.md``; read, not copied).

Assumptions: oracle pretraining (``beta_PT`` = the pretraining teacher, amplitude 1), noiseless finetuning
labels, relative ``lambda_PT`` in [-1, 1] (the authors' absolute lambda is ``c_PT lambda_PT``).
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass

import numpy as np

from ptft.numerics.asymptotics import REGIME_REPRESENTATIVES

__all__ = ["Config", "Regime", "REGIMES", "REGIME_ORDER", "theory_curve_point", "unique_points", "finite_point",
           "summarise_finite", "own_executor", "run_theory_and_finite"]


@dataclass(frozen=True)
class Config:
    """Size of a figure with finite-d markers: dimension ``d``, the ``seeds``, the ``alpha_markers`` where the
    finite-d minimiser runs, and the ``alpha_line`` grid of the RS curves."""

    d: int
    seeds: tuple
    alpha_markers: tuple
    alpha_line: tuple


@dataclass(frozen=True)
class Regime:
    """One representative initialisation of a [DL] regime (relative ``lambda_pt``)."""

    name: str
    c_pt: float
    lambda_pt: float
    gamma_ft: float
    color: str
    label: str

    @property
    def params(self) -> dict:
        return {"c_pt": self.c_pt, "lambda_pt": self.lambda_pt, "gamma_ft": self.gamma_ft}


def _tex_value(v: float) -> str:
    """A parameter value for a legend: ``10^{-6}`` for a power of ten below 1e-2, else ``%g``."""
    if v > 0 and v < 1e-2 and float(np.log10(v)).is_integer():
        return f"10^{{{int(np.log10(v))}}}"
    return f"{v:g}"


#: The representatives of :data:`ptft.numerics.asymptotics.REGIME_REPRESENTATIVES` (where they are documented),
#: with a colour and the regime's kind for the legend (the label shows the representative's lambda_PT, gamma_FT).
_STYLE = {"I": ("#e6a100", "rich, PT-indep."), "II": ("#3b0f70", "lazy, PT-dep."),
          "III": ("#7f7f7f", "lazy, PT-indep."), "IV": ("#21918c", "rich, PT-dep.")}
REGIMES = {name: Regime(name, p["c_pt"], p["lambda_pt"], p["gamma_ft"], _STYLE[name][0],
                        rf"{name} {_STYLE[name][1]}: $\lambda_{{PT}}={_tex_value(p['lambda_pt'])}$, "
                        rf"$\gamma_{{FT}}={_tex_value(p['gamma_ft'])}$")
           for name, p in REGIME_REPRESENTATIVES.items()}
REGIME_ORDER = ("I", "II", "III", "IV")


def theory_curve_point(alphas, **params) -> dict:
    """Sweep point: the RS error along ``alphas`` (:func:`generalization_error_curve`, both continuation
    directions). Returns the chosen branch's ``error``, ``converged`` and ``disagree`` flags per alpha."""
    from ptft.numerics.asymptotics import generalization_error_curve
    from ptft.numerics.validation import NotConvergedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)   # recorded per alpha in ``converged``
        cu = generalization_error_curve(np.asarray(alphas, float), **params)
    return {"alphas": cu.alphas, "error": cu.error, "converged": cu.converged, "disagree": cu.disagree}


def unique_points(points: list[dict]) -> tuple[list[dict], list[int]]:
    """Deduplicate sweep points: ``(unique, index)`` with ``points[i] == unique[index[i]]``."""
    keys: dict[str, int] = {}
    uniq, idx = [], []
    for p in points:
        k = json.dumps(p, sort_keys=True)
        if k not in keys:
            keys[k] = len(uniq)
            uniq.append(p)
        idx.append(keys[k])
    return uniq, idx


def finite_point(d: int, alpha: float, seed: int, task: dict, init: dict) -> dict:
    """One finite-d sweep point of :func:`ptft.numerics.dl_finite.finite_d_error_point` (minimiser)."""
    return dict(d=int(d), alpha_ft=float(alpha), seed=int(seed), method="minimiser", **init, **task)


def summarise_finite(records: list[dict]) -> dict:
    """Mean, 95 % interval half-widths (lower, upper) and failure count of one (curve, alpha) cell."""
    from ptft.numerics.dl_finite import combine_points

    r = combine_points(records)
    lo, hi = r.ci95
    return {"mean": r.mean, "ci_lo": r.mean - lo if np.isfinite(lo) else 0.0,
            "ci_hi": hi - r.mean if np.isfinite(hi) else 0.0, "failed": int(len(r.converged) - r.n_converged),
            "n": int(r.n_converged), "errors": r.errors}


def own_executor(executor):
    """``(executor, owned)``: the given executor, or a process pool of ``PTFT_FIGURE_WORKERS`` workers (None:
    serial) that the caller must shut down."""
    if executor is not None:
        return executor, False
    from ptft.paper_figures.generalisation import _executor

    ex = _executor()
    return ex, ex is not None


def run_theory_and_finite(th_points: list, fd_points: list, *, cache_dir, version: str, executor, name: str):
    """``(theory, finite)``: :func:`theory_curve_point` over ``th_points`` and
    :func:`ptft.numerics.dl_finite.finite_d_error_point` over ``fd_points``, each through
    :func:`ptft.numerics.sweeps.run_sweep` (cached under ``cache_dir``, progress labelled ``name``), results in the
    callers' order. The finite-d points run largest ``alpha_ft`` first, so that a pool's workers finish together;
    ``executor`` None means a pool of ``PTFT_FIGURE_WORKERS`` (:func:`own_executor`), shut down here."""
    from ptft.numerics.dl_finite import finite_d_error_point
    from ptft.numerics.sweeps import run_sweep

    order = sorted(range(len(fd_points)), key=lambda i: -fd_points[i]["alpha_ft"])
    ex, owned = own_executor(executor)
    try:
        th = run_sweep(theory_curve_point, th_points, cache_dir=cache_dir, version=version, executor=ex,
                       desc=f"{name} RS")
        fd_sorted = run_sweep(finite_d_error_point, [fd_points[i] for i in order], cache_dir=cache_dir,
                              version=version, executor=ex, desc=f"{name} finite d")
    finally:
        if owned:
            ex.shutdown()
    fd = [None] * len(fd_points)
    for j, i in enumerate(order):
        fd[i] = fd_sorted[j]
    return th, fd
