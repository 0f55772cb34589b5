"""Finite-size simulations of the [DL] four-regime experiments: tasks, finetuning solvers, error statistics.

Source: [DL] Anguita, Locatello, Saxe, Mondelli, Mancini, Lippl, Dominé, "A Theory of How Pretraining Shapes
Inductive Bias in Fine-Tuning", arXiv:2602.20062 (ICML 2026).

Setting
-------
* Task statistics. Every coordinate ``d`` falls in one of four groups (labels as in the first author's public
  replica code): ``0`` shared (used by both teachers), ``1`` new (finetuning only), ``2`` pretraining only,
  ``3`` neither. ``rho_pt`` is the fraction the pretraining teacher uses, ``rho_ft_shared = P(FT uses d | PT
  uses d)`` and ``rho_ft_new = P(FT uses d | PT does not)``, so ``rho_FT = rho_pt rho_ft_shared + (1 - rho_pt)
  rho_ft_new``. The paper's ``(rho_FT, omega)`` form (``omega`` = fraction of the finetuning support that is
  shared) converts with :func:`conditional_rates` / :func:`overlap_form`.
* Teachers. ``beta_PT = pt_amplitude`` on its support, with **positive sign by default** (the authors' replica
  sampler sets ``beta_PT = a_pt`` on the support; ``pt_signs="random"`` draws fair signs). The sign is
  immaterial for oracle pretraining: ``k_d`` depends on ``beta_PT^2`` only. Finetuning nonzeros are
  ``N(0, 1/rho_FT)`` with the *nominal* ``rho_FT``, so ``E[beta_FT^2] = 1``.
* Group sampling (:func:`draw_task`). ``groups="exact"`` (default): exactly ``round(rho_pt d)`` pretraining
  coordinates, ``round(rho_ft_shared k_PT)`` shared and ``round(rho_ft_new (d - k_PT))`` new ones, placed by a
  uniformly random permutation. The RS theory describes the groups by their *fractions*, which exact counts
  reproduce up to O(1/d) rounding, so the seed-to-seed spread of the error comes only from the design and the
  finetuning values, not from binomial fluctuations of the group sizes (for ``rho_FT = 0.01``, ``d = 5000`` a
  Bernoulli draw changes the finetuning support size by +-14 %, one standard deviation). ``groups="bernoulli"``
  draws each coordinate's group independently (categorical with the four probabilities), as the authors'
  Monte-Carlo sampler does.
* Design and labels. ``X_ij ~ N(0, 1/d)``, ``n = round(alpha_ft d)``, ``y = X beta_FT + noise z``. The design
  of a seed is drawn row by row from its own stream, so the design at a smaller ``alpha_ft`` is the first rows
  of the design at a larger one (common random numbers along an error curve).
* Error: ``mean_d (beta_hat_d - beta_FT,d)^2``, the finite-``d`` estimate of ``E[(beta_hat - beta*)^2]``;
  also split by group (each group's sum divided by ``d``, so the four parts add up to the error).

Finetuning
----------
* Oracle pretraining (default): ``beta_PT`` is the pretraining teacher. The [DL] hand-off then starts
  finetuning at ``beta = 0`` with first layer ``W_d = sqrt(c_PT (1 + lambda_PT)(1 + sqrt(1 + beta_PT,d^2 /
  c_PT^2)))`` on both branches and readouts ``gamma_FT / sqrt 2`` (:func:`dl_oracle_finetuning_start`), whose
  gradient-flow limit is ``argmin sum_d q_{k_d}(beta_d)`` s.t. ``X beta = y``,
  ``sqrt k_d = 2 c_PT (1 + lambda_PT)(1 + sqrt(1 + (beta_PT,d/c_PT)^2)) + gamma_FT^2``
  (:func:`numerics.ptft.dl_handoff_penalty`, ``SinhPenalty(scale = sqrt(k_d)/2)``).
* :func:`finetune_minimiser` solves that problem through its smooth dual by damped Newton. Forming the
  ``n x n`` dual Hessian ``X diag(h') X^T`` costs ``n^2 d`` (one core, float64: 3.7 s as the general product
  the dense solver uses, 2.6 s as ``dsyrk``, at ``n = 2500, d = 5000``; 5.7 s ``dsyrk`` at ``n = 2000,
  d = 20000``), and 5-14 Newton steps are needed (22-28 s per dense solve at ``d = 5000, alpha = 0.5``,
  measured). The default solver
  (``solver="newton-pcg"``) therefore computes each Newton direction by preconditioned conjugate gradients
  with the exact (matrix-free, float64) Hessian, preconditioned by a Cholesky factor of the Hessian formed in
  float32 (``ssyrk``, half the flops of a general product and twice the speed) and *reused* over Newton steps
  while PCG converges in a few iterations (it is refreshed when PCG needs more than ``refactor_after``
  iterations, and escalated to float64 if a fresh float32 factor does not precondition well, e.g. for
  Hessians with condition number beyond ~1e7). Stationarity ``beta = h(X^T lambda)`` is exact by
  construction; convergence is judged on the float64 residual ``||X beta - y|| / ||y||`` alone, so the
  inexact inner solves cannot change the answer, only the speed. Measured (one core, shared machine,
  ``benchmarks/bench_dl_finite.py``): 3-7 s per solve at ``d = 5000, alpha = 0.5``, 12 s at ``d = 20000,
  alpha = 0.1``, with 1-3 factorisations per solve. ``solver="newton-dense"`` calls
  :func:`numerics.separable_dual.minimize_penalty_interpolation` (a float64 factorisation every step), kept
  for cross-checks.
* Explicit ridge (``ridge > 0``, minimiser only): ``argmin (1/2n)||y - X beta||^2 + (ridge/d) sum_d
  q_{k_d}(beta_d)``, the convention of :func:`numerics.asymptotics.generalization_error`, solved by damped
  Newton on its strongly concave dual (dense Cholesky of ``I + X diag(h') X^T / mu``, ``mu = ridge n/d``).
* :func:`finetune_gd`: full-batch GD on the two-pathway network from the hand-off start, through the engine of
  :func:`numerics.ptft.simulate_finetuning` (loss ``(1/2n)||X beta - y||^2``, batched over runs, frozen on
  convergence, divergence raises ValueError naming ``lr``, non-convergence warns).
* Imperfect pretraining (``alpha_pt`` given): pretraining on ``n_PT = round(alpha_pt d)`` noiseless samples
  from the [DL] pretraining init (:func:`numerics.ptft.dl_pretraining_start`), either by its own implicit-bias
  minimiser (``method="minimiser"``; least squares when ``n_PT >= d``) followed by the hand-off penalty of
  the *estimated* ``beta_PT`` (exact for gradient-flow pretraining), or by GD followed by the hand-off of the
  actual pretrained weights (``method="gd"``).

:func:`finite_d_error` runs the pipeline for a list of seeds and returns a :class:`FiniteSizeResult` (per-seed
errors, mean, standard error, 95 % Student-t interval, converged flags). :func:`finite_d_error_point` is the
same for one seed returning a JSON-able dict, for :func:`numerics.sweeps.run_sweep` over ``(d, alpha, seed)``
points; :func:`combine_points` aggregates such dicts into a :class:`FiniteSizeResult`.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import scipy.linalg
import scipy.sparse.linalg
import scipy.stats

from ptft.numerics.blas import single_thread_if_small
from ptft.numerics.data import SeedLike, _spawn, gaussian_design
from ptft.numerics.ptft import (GDResult, TwoPathwayWeights, _check_lambda_pt, dl_finetuning_start,
                                dl_pretrained_first_layer_sq,
                                dl_handoff_penalty, dl_pretraining_start, finetuning_penalty, simulate_finetuning)
from ptft.numerics.separable_dual import damped_dual_step, minimize_penalty_interpolation
from ptft.numerics.validation import (check_probability, NotConvergedWarning, as_finite_array, as_matrix, as_vector, check_int,
                                      check_nonnegative, check_positive, warn_not_converged)

__all__ = ["GROUP_NAMES", "Task", "conditional_rates", "overlap_form", "draw_task", "draw_tasks", "draw_problem",
           "dl_oracle_finetuning_start", "MinimiserResult", "finetune_minimiser", "finetune_gd",
           "FiniteSizeResult", "finite_d_error", "finite_d_error_point", "combine_points", "gd_step_size"]

#: Group labels 0..3 (the order of the first author's replica code).
GROUP_NAMES = ("shared", "new", "pt_only", "neither")

#: child streams of a seed: task, finetuning design, finetuning noise, pretraining design, pretraining noise
_N_STREAMS = 5


# ----------------------------------------------------------------------------------------------------
# task statistics
# ----------------------------------------------------------------------------------------------------
_check_fraction = check_probability  # a probability or fraction in [0, 1], named in the error


def _check_rates(rho_pt, rho_ft_shared, rho_ft_new) -> tuple[float, float, float, float]:
    rho_pt = _check_fraction("rho_pt", rho_pt)
    sh = _check_fraction("rho_ft_shared", rho_ft_shared)
    nw = _check_fraction("rho_ft_new", rho_ft_new)
    rho_ft = rho_pt * sh + (1.0 - rho_pt) * nw
    if rho_ft <= 0:
        raise ValueError("rho_ft_shared: the finetuning teacher would be zero (rho_FT = rho_pt rho_ft_shared + "
                         f"(1 - rho_pt) rho_ft_new = 0 for rho_pt={rho_pt:g}, rho_ft_shared={sh:g}, "
                         f"rho_ft_new={nw:g}); its nonzeros are N(0, 1/rho_FT)")
    return rho_pt, sh, nw, rho_ft


def conditional_rates(rho_pt, rho_ft, omega) -> tuple[float, float]:
    """``(rho_ft_shared, rho_ft_new)`` from the paper's form: ``omega rho_FT / rho_PT`` and
    ``(1 - omega) rho_FT / (1 - rho_PT)`` (``omega`` = shared fraction of the finetuning support).

    Raises ValueError (naming ``omega``) when the statistics are infeasible (``omega rho_FT > rho_PT`` or
    ``(1 - omega) rho_FT > 1 - rho_PT``).
    """
    from ptft.numerics.asymptotics import task_from_overlap

    rates = task_from_overlap(rho_pt, rho_ft, omega)
    return rates["rho_ft_shared"], rates["rho_ft_new"]


def overlap_form(rho_pt, rho_ft_shared, rho_ft_new) -> tuple[float, float]:
    """``(rho_FT, omega)`` from the conditional rates (inverse of :func:`conditional_rates`)."""
    rho_pt, sh, nw, rho_ft = _check_rates(rho_pt, rho_ft_shared, rho_ft_new)
    return rho_ft, rho_pt * sh / rho_ft


def _group_probabilities(rho_pt, sh, nw) -> np.ndarray:
    return np.array([rho_pt * sh, (1 - rho_pt) * nw, rho_pt * (1 - sh), (1 - rho_pt) * (1 - nw)])


@dataclass(frozen=True)
class Task:
    """A [DL] pair of teachers. ``beta_pt``, ``beta_ft`` (d,) or (B, d); ``groups`` int8 labels of
    :data:`GROUP_NAMES`; ``seeds`` the seed(s) it was drawn from; the statistics it was drawn with."""

    beta_pt: np.ndarray
    beta_ft: np.ndarray
    groups: np.ndarray
    rho_pt: float
    rho_ft_shared: float
    rho_ft_new: float
    pt_amplitude: float
    sampling: str
    pt_signs: str
    seeds: object = None

    @property
    def d(self) -> int:
        return int(self.beta_ft.shape[-1])

    @property
    def rho_ft(self) -> float:
        """Nominal ``rho_FT = rho_pt rho_ft_shared + (1 - rho_pt) rho_ft_new`` (sets the N(0, 1/rho_FT) scale)."""
        return self.rho_pt * self.rho_ft_shared + (1.0 - self.rho_pt) * self.rho_ft_new

    @property
    def group_probabilities(self) -> np.ndarray:
        """Target fractions of the groups 0..3."""
        return _group_probabilities(self.rho_pt, self.rho_ft_shared, self.rho_ft_new)

    @property
    def group_counts(self) -> np.ndarray:
        """Realised counts of the groups 0..3, shape (4,) or (B, 4)."""
        return np.stack([(self.groups == g).sum(axis=-1) for g in range(4)], axis=-1)

    def run(self, b: int) -> "Task":
        """Task ``b`` of a batch."""
        if self.beta_ft.ndim != 2:
            raise ValueError("b: this task is not batched")
        return Task(self.beta_pt[b], self.beta_ft[b], self.groups[b], self.rho_pt, self.rho_ft_shared,
                    self.rho_ft_new, self.pt_amplitude, self.sampling, self.pt_signs,
                    None if self.seeds is None else self.seeds[b])


def _draw_task_from(rng: np.random.Generator, d, rho_pt, sh, nw, rho_ft, amp, groups, pt_signs):
    if groups == "exact":
        k_pt = int(round(rho_pt * d))
        n_sh = int(round(sh * k_pt))
        n_new = int(round(nw * (d - k_pt)))
        perm = rng.permutation(d)
        g = np.empty(d, dtype=np.int8)
        pt_idx, rest = perm[:k_pt], perm[k_pt:]
        g[pt_idx[:n_sh]] = 0
        g[pt_idx[n_sh:]] = 2
        g[rest[:n_new]] = 1
        g[rest[n_new:]] = 3
    else:
        g = rng.choice(4, size=d, p=_group_probabilities(rho_pt, sh, nw)).astype(np.int8)
    # always draw d signs and d normals (same stream positions whatever pt_signs is)
    signs = np.where(rng.random(d) < 0.5, -1.0, 1.0)
    z = rng.standard_normal(d)
    pt_on = (g == 0) | (g == 2)
    ft_on = (g == 0) | (g == 1)
    beta_pt = np.where(pt_on, amp * (signs if pt_signs == "random" else 1.0), 0.0)
    beta_ft = np.where(ft_on, z / math.sqrt(rho_ft), 0.0)
    return beta_pt, beta_ft, g


def _check_task_args(d, rho_pt, rho_ft_shared, rho_ft_new, pt_amplitude, groups, pt_signs):
    d = check_int("d", d)
    rho_pt, sh, nw, rho_ft = _check_rates(rho_pt, rho_ft_shared, rho_ft_new)
    amp = check_positive("pt_amplitude", pt_amplitude)
    if groups not in ("exact", "bernoulli"):
        raise ValueError(f"groups: must be 'exact' or 'bernoulli', got {groups!r}")
    if pt_signs not in ("positive", "random"):
        raise ValueError(f"pt_signs: must be 'positive' or 'random', got {pt_signs!r}")
    return d, rho_pt, sh, nw, rho_ft, amp


def _streams(seed: SeedLike) -> list[np.random.Generator]:
    if seed is None:
        raise ValueError("seed: must be given explicitly (an int, a SeedSequence or a Generator); None would draw "
                         "fresh entropy and the result could not be reproduced")
    return _spawn(seed, _N_STREAMS)


def draw_task(d, *, rho_pt, rho_ft_shared, rho_ft_new, pt_amplitude=1.0, seed: SeedLike, groups="exact",
              pt_signs="positive") -> Task:
    """Draw the [DL] teachers ``(beta_PT, beta_FT)`` and group labels for one seed (module docstring).

    ``groups``: ``"exact"`` (default; exact group counts, random placement) or ``"bernoulli"`` (independent
    per coordinate). ``pt_signs``: ``"positive"`` (default, as the authors' code) or ``"random"``. The same
    seed always gives the same task, and it is the task :func:`finite_d_error` uses for that seed (the first
    child stream of the seed).
    """
    return _task_from_streams(_streams(seed), seed, d, rho_pt, rho_ft_shared, rho_ft_new, pt_amplitude, groups,
                              pt_signs)


def _task_from_streams(st, seed, d, rho_pt, rho_ft_shared, rho_ft_new, pt_amplitude, groups, pt_signs) -> Task:
    d, rho_pt, sh, nw, rho_ft, amp = _check_task_args(d, rho_pt, rho_ft_shared, rho_ft_new, pt_amplitude,
                                                      groups, pt_signs)
    bp, bf, g = _draw_task_from(st[0], d, rho_pt, sh, nw, rho_ft, amp, groups, pt_signs)
    return Task(bp, bf, g, rho_pt, sh, nw, amp, groups, pt_signs, seed)


def _check_seeds(seeds) -> tuple:
    if seeds is None or isinstance(seeds, (int, np.integer, np.random.Generator, np.random.SeedSequence, str)):
        raise ValueError("seeds: expected a sequence of seeds (one per run), e.g. range(14)")
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds: must contain at least one seed")
    for s in seeds:
        if s is None or isinstance(s, (bool, float)):
            raise ValueError(f"seeds: every seed must be an int, SeedSequence or Generator, got {s!r}")
    return seeds


def draw_tasks(d, *, rho_pt, rho_ft_shared, rho_ft_new, pt_amplitude=1.0, seeds: Sequence[SeedLike],
               groups="exact", pt_signs="positive") -> Task:
    """:func:`draw_task` for every seed, stacked: arrays (B, d); row ``b`` equals ``draw_task(seed=seeds[b])``."""
    seeds = _check_seeds(seeds)
    tasks = [draw_task(d, rho_pt=rho_pt, rho_ft_shared=rho_ft_shared, rho_ft_new=rho_ft_new,
                       pt_amplitude=pt_amplitude, seed=s, groups=groups, pt_signs=pt_signs) for s in seeds]
    t0 = tasks[0]
    return Task(np.stack([t.beta_pt for t in tasks]), np.stack([t.beta_ft for t in tasks]),
                np.stack([t.groups for t in tasks]), t0.rho_pt, t0.rho_ft_shared, t0.rho_ft_new, t0.pt_amplitude,
                groups, pt_signs, seeds)


def draw_problem(d, alpha_ft, *, rho_pt, rho_ft_shared, rho_ft_new, pt_amplitude=1.0, seed: SeedLike,
                 groups="exact", pt_signs="positive", noise=0.0) -> tuple[Task, np.ndarray, np.ndarray]:
    """``(task, X, y)`` of one seed, exactly as :func:`finite_d_error` draws them: :func:`draw_task`, the
    design ``X`` (``round(alpha_ft d)`` rows, entries ``N(0, 1/d)``, drawn row by row from the seed's second
    stream, so a smaller ``alpha_ft`` gives the first rows of a larger one) and ``y = X beta_FT + noise z``
    (``z`` from the third stream)."""
    d = check_int("d", d)
    alpha_ft = check_positive("alpha_ft", alpha_ft)
    n = int(round(alpha_ft * d))
    if n < 1:
        raise ValueError(f"alpha_ft: round(alpha_ft d) = 0 samples for alpha_ft={alpha_ft!r}, d={d}")
    noise = check_nonnegative("noise", noise)
    st = _streams(seed)
    return _problem_from_streams(st, seed, d, n, rho_pt, rho_ft_shared, rho_ft_new, pt_amplitude, groups,
                                 pt_signs, noise)


def _problem_from_streams(st, seed, d, n, rho_pt, rho_ft_shared, rho_ft_new, pt_amplitude, groups, pt_signs,
                          noise):
    task = _task_from_streams(st, seed, d, rho_pt, rho_ft_shared, rho_ft_new, pt_amplitude, groups, pt_signs)
    X = gaussian_design(n, d, st[1], normalize="1/sqrt_d")
    y = X @ task.beta_ft
    if noise > 0:
        y = y + noise * st[2].standard_normal(n)
    return task, X, y


# ----------------------------------------------------------------------------------------------------
# the hand-off
# ----------------------------------------------------------------------------------------------------
def dl_oracle_finetuning_start(beta_pt, c_pt, lambda_pt, gamma_ft) -> TwoPathwayWeights:
    """The [DL] finetuning start for *gradient-flow* pretraining that ended exactly at ``beta_pt``.

    First layer ``W = sqrt(c_PT (1 + lambda_PT)(1 + sqrt(1 + beta_PT^2/c_PT^2)))`` on both branches (= ``w+ + w-``
    of the pretrained network), readouts ``gamma_FT / sqrt 2``: ``beta0 = 0`` and ``M = 2 W^2 + gamma^2`` =
    ``sqrt(k_d)``, the scale of :func:`numerics.ptft.dl_handoff_penalty`. ``beta_pt`` (d,) or (B, d).
    Raises ValueError naming ``gamma_ft`` when ``gamma_ft = 0`` and some ``W = 0`` (``lambda_pt = -1``).
    """
    as_finite_array("beta_pt", beta_pt, (1, 2))
    g = check_nonnegative("gamma_ft", gamma_ft)
    W = np.sqrt(dl_pretrained_first_layer_sq(beta_pt, c_pt, lambda_pt))
    if g == 0 and np.any(W == 0):
        raise ValueError("gamma_ft: = 0 with lambda_pt = -1 gives a zero first layer (every gradient vanishes)")
    r = np.full_like(W, g / math.sqrt(2.0))
    return TwoPathwayWeights(W, r, W.copy(), r.copy())




# ----------------------------------------------------------------------------------------------------
# the penalty minimiser
# ----------------------------------------------------------------------------------------------------
@dataclass
class MinimiserResult:
    """Result of :func:`finetune_minimiser` (cf. ``scipy.optimize.OptimizeResult``).

    ``beta`` the minimiser, ``lam`` the dual variable (``beta = h(X^T lam)`` exactly), ``converged``
    (``kkt_residual = ||X beta - y|| / ||y|| <= tol``), ``message``, ``nit`` Newton steps, ``n_factorizations``
    Hessian factorisations, ``cg_iterations`` PCG iterations in total, ``precision`` of the last factor
    (``"float32"``/``"float64"``), ``penalty`` ``sum_d Q_d(beta_d)``, ``solver``.
    """

    beta: np.ndarray
    lam: np.ndarray
    converged: bool
    message: str
    nit: int
    kkt_residual: float
    penalty: float
    n_factorizations: int = 0
    cg_iterations: int = 0
    precision: str = "float64"
    solver: str = "newton-pcg"

    @property
    def success(self) -> bool:
        return bool(self.converged)


class _Factor:
    """Cholesky factor of ``X diag(D) X^T`` in float32 (``ssyrk``) or float64 (``dsyrk``), used as a preconditioner."""

    def __init__(self, X, X32, D, precision):
        sq = np.sqrt(D)
        if precision == "float32":
            A = X32 * sq.astype(np.float32)
            H = scipy.linalg.blas.ssyrk(1.0, A.T, trans=1)     # A A^T, upper triangle (A.T is Fortran-ordered)
        else:
            A = X * sq
            H = scipy.linalg.blas.dsyrk(1.0, A.T, trans=1)
        del A
        self.precision = precision
        self.cf = scipy.linalg.cho_factor(H, lower=False, overwrite_a=True, check_finite=False)
        if not np.all(np.isfinite(np.diag(self.cf[0]))):
            raise np.linalg.LinAlgError("non-finite Cholesky factor")

    def solve(self, r):
        if self.precision == "float32":
            return scipy.linalg.cho_solve(self.cf, r.astype(np.float32), check_finite=False).astype(np.float64)
        return scipy.linalg.cho_solve(self.cf, r, check_finite=False)


def _pcg(matvec, b, precond, rtol, maxiter):
    """Flexible PCG for ``H x = b`` from ``x = 0`` (Polak-Ribiere beta, robust to a float32 preconditioner).

    Every iterate satisfies ``b . x > 0`` (an ascent direction of the dual). Returns ``(x, iterations, ok)``.
    """
    x = np.zeros_like(b)
    r = b.copy()
    z = precond(r)
    p = z.copy()
    rz = float(r @ z)
    bn = float(np.linalg.norm(b))
    for k in range(1, maxiter + 1):
        Ap = matvec(p)
        pAp = float(p @ Ap)
        if not np.isfinite(pAp) or pAp <= 0:
            return x, k - 1, False
        a = rz / pAp
        x += a * p
        r_old = r
        r = r - a * Ap
        if np.linalg.norm(r) <= rtol * bn:
            return x, k, True
        z_new = precond(r)
        beta = float(z_new @ (r - r_old)) / rz
        rz = float(r @ z_new)
        p = z_new + max(beta, 0.0) * p
    return x, maxiter, False


def _newton_pcg(X, y, penalty, *, tol, max_iter, lam0, max_dual_step, precision, max_cg, refactor_after):
    n, d = X.shape
    lam = np.zeros(n) if lam0 is None else lam0.copy()
    ynorm = max(float(np.linalg.norm(y)), np.finfo(float).tiny)
    X32 = X.astype(np.float32) if precision == "float32" else None

    def dual_value(lam_, s_):
        with np.errstate(over="ignore", invalid="ignore"):
            val = lam_ @ y - np.sum(penalty.conjugate(s_))
        return val if np.isfinite(val) else -np.inf

    s = X.T @ lam
    beta = penalty.link(s)
    value = dual_value(lam, s)
    factor, fresh = None, False
    prec = precision
    nfact = total_cg = 0
    refresh = True
    success, message, nit = False, "maximum number of Newton iterations reached", 0

    def make_factor(D):
        nonlocal nfact, prec
        nfact += 1
        try:
            return _Factor(X, X32, D, prec)
        except (np.linalg.LinAlgError, ValueError):
            if prec == "float32":
                prec = "float64"
                nfact += 1
                return _Factor(X, X32, D, prec)
            raise

    for nit in range(1, max_iter + 1):
        resid = y - X @ beta
        rn = float(np.linalg.norm(resid))
        if rn <= tol * ynorm:
            success, message = True, "KKT residual below tolerance"
            nit -= 1
            break
        D = penalty.link_derivative(s)
        if not np.all(np.isfinite(D)):
            message = "dual Hessian overflowed (link derivative not finite)"
            break

        def matvec(v, D=D):
            return X @ (D * (X.T @ v))

        eta = max(min(0.1, rn / ynorm), 1e-10)
        try:
            if refresh or factor is None:
                factor, fresh = make_factor(D), True
            step, k, ok = _pcg(matvec, resid, factor.solve, eta, max_cg)
            total_cg += k
            if not ok and not fresh:                  # stale preconditioner: refresh and retry
                factor, fresh = make_factor(D), True
                step, k, ok = _pcg(matvec, resid, factor.solve, eta, max_cg)
                total_cg += k
            if not ok and prec == "float32":          # fresh float32 factor not good enough: escalate
                prec = "float64"
                factor, fresh = make_factor(D), True
                step, k, ok = _pcg(matvec, resid, factor.solve, eta, max_cg)
                total_cg += k
        except (np.linalg.LinAlgError, ValueError) as exc:
            message = f"dual Hessian factorisation failed ({exc})"
            break
        refresh = k > refactor_after
        fresh = False
        slope = float(resid @ step)                   # > 0 for every PCG iterate
        if not np.isfinite(slope) or slope <= 0:
            message = "Newton direction is not an ascent direction (ill-conditioned dual)"
            break
        ds_vec = X.T @ step
        ds = float(np.max(np.abs(ds_vec)))
        t0 = min(1.0, max_dual_step / ds) if ds > 0 else 1.0
        accepted = damped_dual_step(lambda t: dual_value(lam + t * step, s + t * ds_vec), value, slope, t0, ds,
                                    lambda t: np.linalg.norm(y - X @ penalty.link(s + t * ds_vec)), rn)
        if accepted is None:
            message = "line search failed (no ascent and no residual decrease at machine precision)"
            break
        t, new_value = accepted
        lam_new = lam + t * step
        lam, value = lam_new, new_value
        s = X.T @ lam                                 # recompute (no drift of s = X^T lam)
        beta = penalty.link(s)
    kkt = float(np.linalg.norm(X @ beta - y) / ynorm)
    if not success and kkt <= tol:
        success, message = True, "KKT residual below tolerance"
    return beta, lam, success, message, nit, kkt, nfact, total_cg, prec


def finetune_minimiser(X, y, beta_pt, *, c_pt, lambda_pt, gamma_ft, tol: float = 1e-10, max_iter: int = 100,
                       solver: str = "newton-pcg", precision: str = "float32", lam0=None,
                       max_dual_step: float = 4.0, max_cg: int = 40, refactor_after: int = 12,
                       ridge: float = 0.0) -> MinimiserResult:
    """``argmin_beta sum_d q_{k_d}(beta_d)`` s.t. ``X beta = y``: the [DL] finetuning implicit bias after oracle
    pretraining at ``beta_pt`` (penalty :func:`numerics.ptft.dl_handoff_penalty`); with ``ridge > 0`` instead
    the explicitly regularised ``argmin (1/2n)||y - X beta||^2 + (ridge/d) sum_d q_{k_d}(beta_d)``
    (:func:`_minimise_ridge`; the convention of :func:`numerics.asymptotics.generalization_error`).

    ``X`` (n, d) with ``n <= d`` and full row rank, ``y`` (n,), ``beta_pt`` (d,). ``solver``: ``"newton-pcg"``
    (default; damped dual Newton with PCG directions, module docstring) or ``"newton-dense"``
    (:func:`numerics.separable_dual.minimize_penalty_interpolation`). ``precision`` of the preconditioner
    factor (``"float32"`` default, or ``"float64"``); ``tol`` on ``||X beta - y|| / ||y||`` (with ``ridge > 0``:
    on the dual gradient ``||y - X beta - lam|| / ||y||``, ``solver``/``precision``/``max_cg``/``refactor_after``
    unused). Non-convergence returns ``converged=False`` and emits a :class:`NotConvergedWarning`.
    """
    X = as_matrix("X", X)
    y = as_vector("y", y)
    n, d = X.shape
    if y.shape[0] != n:
        raise ValueError(f"y: length {y.shape[0]} does not match X's {n} rows")
    if n > d:
        raise ValueError(f"X: {n} rows > {d} columns; X beta = y is overdetermined (use alpha_ft <= 1)")
    b = as_vector("beta_pt", beta_pt)
    if b.shape[0] != d:
        raise ValueError(f"beta_pt: length {b.shape[0]} does not match X's {d} columns")
    tol = check_positive("tol", tol)
    max_iter = check_int("max_iter", max_iter)
    if solver not in ("newton-pcg", "newton-dense"):
        raise ValueError(f"solver: must be 'newton-pcg' or 'newton-dense', got {solver!r}")
    if precision not in ("float32", "float64"):
        raise ValueError(f"precision: must be 'float32' or 'float64', got {precision!r}")
    max_dual_step = check_positive("max_dual_step", max_dual_step)
    max_cg = check_int("max_cg", max_cg)
    refactor_after = check_int("refactor_after", refactor_after, minimum=0)
    if lam0 is not None:
        lam0 = as_vector("lam0", lam0)
        if lam0.shape != (n,):
            raise ValueError(f"lam0: expected shape ({n},), got {lam0.shape}")
    ridge = check_nonnegative("ridge", ridge)
    pen = dl_handoff_penalty(b, c_pt, lambda_pt, gamma_ft)
    with single_thread_if_small(n):   # small Newton systems: one BLAS thread is faster (numerics.blas)
        if ridge > 0:
            return _minimise_ridge(X, y, pen, ridge, tol=tol, max_iter=max_iter, lam0=lam0,
                                   max_dual_step=max_dual_step, what="finetune_minimiser")
        return _minimise(X, y, pen, tol=tol, max_iter=max_iter, solver=solver, precision=precision, lam0=lam0,
                         max_dual_step=max_dual_step, max_cg=max_cg, refactor_after=refactor_after,
                         what="finetune_minimiser")


def _minimise_ridge(X, y, pen, ridge, *, tol, max_iter, lam0=None, max_dual_step=4.0,
                    what="ridge minimiser") -> MinimiserResult:
    """``argmin_beta (1/2n)||y - X beta||^2 + (ridge/d) sum_d Q_d(beta_d)`` by damped Newton on its dual.

    With ``mu = ridge n/d`` the problem is ``min (1/2)||y - X beta||^2 + mu sum Q_d``; its Fenchel dual
    ``max_lam  lam . y - |lam|^2/2 - mu sum_d Q_d*((X^T lam)_d / mu)`` is smooth and strongly concave, with
    ``beta = h(X^T lam / mu)`` (``h`` the penalty's link, so stationarity holds exactly), gradient
    ``y - lam - X beta`` (zero at the optimum, where ``lam`` is the residual ``y - X beta``) and minus Hessian
    ``I + X diag(h') X^T / mu`` (eigenvalues >= 1: better conditioned than the interpolation dual). Each step is
    a dense Cholesky solve (``dsyrk``, ``n^2 d`` flops), damped by
    :func:`numerics.separable_dual.damped_dual_step` with the trust region ``max |change of X^T lam / mu| <=
    max_dual_step``. Converged when ``||y - lam - X beta|| <= tol ||y||``; ``kkt_residual`` is that ratio,
    ``penalty`` is ``sum Q_d(beta)``. The primal objective is strictly convex, so the minimiser is unique
    (a ridge also makes ``n > d`` well posed, but :func:`finite_d_error` keeps ``alpha_ft <= 1``).
    """
    n, d = X.shape
    mu = ridge * n / d
    ynorm = max(float(np.linalg.norm(y)), np.finfo(float).tiny)
    lam = np.zeros(n) if lam0 is None else np.array(lam0, float)

    def state(lam_):
        s_ = X.T @ lam_ / mu
        with np.errstate(over="ignore", invalid="ignore"):
            b_ = pen.link(s_)
            val = lam_ @ y - 0.5 * lam_ @ lam_ - mu * np.sum(pen.conjugate(s_))
        return s_, b_, (val if np.isfinite(val) else -np.inf)

    s, beta, value = state(lam)
    success, message, nit = False, "maximum number of Newton iterations reached", 0
    for nit in range(1, max_iter + 1):
        g = y - lam - X @ beta
        gn = float(np.linalg.norm(g))
        if gn <= tol * ynorm:
            success, message = True, "dual gradient below tolerance"
            nit -= 1
            break
        D = pen.link_derivative(s)
        if not np.all(np.isfinite(D)):
            message = "dual Hessian overflowed (link derivative not finite)"
            break
        A = X * np.sqrt(D / mu)
        H = scipy.linalg.blas.dsyrk(1.0, A.T, trans=1)      # A A^T, upper triangle (A.T is Fortran-ordered)
        del A
        H[np.diag_indices_from(H)] += 1.0
        try:
            step = scipy.linalg.cho_solve(scipy.linalg.cho_factor(H, lower=False, overwrite_a=True,
                                                                  check_finite=False), g, check_finite=False)
        except (np.linalg.LinAlgError, ValueError) as exc:
            message = f"dual Hessian factorisation failed ({exc})"
            break
        slope = float(g @ step)
        if not np.isfinite(slope) or slope <= 0:
            message = "Newton direction is not an ascent direction"
            break
        ds_vec = X.T @ step / mu
        ds = float(np.max(np.abs(ds_vec)))
        t0 = min(1.0, max_dual_step / ds) if ds > 0 else 1.0
        accepted = damped_dual_step(lambda t: state(lam + t * step)[2], value, slope, t0, ds,
                                    lambda t: np.linalg.norm(g - t * step - X @ (pen.link(s + t * ds_vec) - beta)),
                                    gn)
        if accepted is None:
            message = "line search failed (no ascent and no gradient decrease at machine precision)"
            break
        lam = lam + accepted[0] * step
        s, beta, value = state(lam)
    kkt = float(np.linalg.norm(y - lam - X @ beta) / ynorm)
    if not success and kkt <= tol:
        success, message = True, "dual gradient below tolerance"
    res = MinimiserResult(beta=beta, lam=lam, converged=success, message=message, nit=nit, kkt_residual=kkt,
                          penalty=float(np.sum(pen.value(beta))), n_factorizations=nit, precision="float64",
                          solver="ridge-dual-newton")
    if not success:
        warn_not_converged(what, kkt, tol, detail=f"{message}; {nit} Newton iterations", stacklevel=3)
    return res


def _minimise(X, y, pen, *, tol, max_iter, solver, precision, lam0, max_dual_step, max_cg, refactor_after,
              what) -> MinimiserResult:
    if not np.any(y):
        z = np.zeros(X.shape[1])
        return MinimiserResult(beta=z, lam=np.zeros(X.shape[0]), converged=True, message="y = 0: beta = 0",
                               nit=0, kkt_residual=0.0, penalty=0.0, solver=solver)
    if solver == "newton-dense":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotConvergedWarning)   # re-emitted below under this name
            r = minimize_penalty_interpolation(X, y, pen, tol=tol, max_iter=max_iter, lam0=lam0,
                                               max_dual_step=max_dual_step)
        res = MinimiserResult(beta=r.beta, lam=r.lam, converged=r.success, message=r.message, nit=r.nit,
                              kkt_residual=r.kkt_residual, penalty=r.penalty, n_factorizations=r.nit,
                              solver=solver)
    else:
        beta, lam, ok, msg, nit, kkt, nf, ncg, prec = _newton_pcg(
            X, y, pen, tol=tol, max_iter=max_iter, lam0=lam0, max_dual_step=max_dual_step, precision=precision,
            max_cg=max_cg, refactor_after=refactor_after)
        res = MinimiserResult(beta=beta, lam=lam, converged=ok, message=msg, nit=nit, kkt_residual=kkt,
                              penalty=float(np.sum(pen.value(beta))), n_factorizations=nf, cg_iterations=ncg,
                              precision=prec, solver=solver)
    if not res.converged:
        warn_not_converged(what, res.kkt_residual, tol, detail=f"{res.message}; {res.nit} Newton iterations",
                           stacklevel=3)
    return res


# ----------------------------------------------------------------------------------------------------
# gradient descent
# ----------------------------------------------------------------------------------------------------
def gd_step_size(X, m, lr_scale: float = 1.0) -> float | np.ndarray:
    """``lr_scale / lambda_max(X diag(m) X^T / n)``: the GD step on ``(1/2n)||X beta - y||^2`` for which the
    weight-space curvature ``X diag(m) X^T / n`` (``m_d = w+^2 + v+^2 + w-^2 + v-^2``) has top eigenvalue
    ``1/lr_scale`` (GD is stable below ``lr_scale = 2``). ``X`` (n, d) or (B, n, d), ``m`` (d,) or (B, d);
    the top eigenvalue comes from Lanczos (``eigsh``, relative accuracy 1e-4).
    """
    X = as_matrix("X", X, batched=True)
    m = as_finite_array("m", m, (1, 2))
    lr_scale = check_positive("lr_scale", lr_scale)
    if X.ndim == 2 and m.ndim == 1:
        n = X.shape[0]

        def mv(v):
            return X @ (m * (X.T @ v.ravel()))

        op = scipy.sparse.linalg.LinearOperator((n, n), matvec=mv, dtype=np.float64)
        v0 = np.ones(n)
        lam = scipy.sparse.linalg.eigsh(op, k=1, which="LA", tol=1e-4, v0=v0, return_eigenvectors=False)[0]
        return float(lr_scale * n / lam)
    B = X.shape[0] if X.ndim == 3 else m.shape[0]
    return np.array([gd_step_size(X[b] if X.ndim == 3 else X, m[b] if m.ndim == 2 else m, lr_scale)
                     for b in range(B)])


def finetune_gd(X, y, beta_pt, *, c_pt, lambda_pt, gamma_ft, lr, tol: float = 1e-4, max_steps: int = 1_000_000,
                start: TwoPathwayWeights | None = None) -> GDResult:
    """GD on the two-pathway network ``beta = w+ v+ - w- v-`` from the [DL] hand-off after oracle pretraining.

    Loss ``(1/2n)||X beta - y||^2`` (the package's convention), step ``lr``. [DL]'s figures quote "lr 0.5"
    in their own loss normalisation, which the available summary does not fix; :func:`gd_step_size` gives a
    curvature-normalised step instead (stable below ``lr_scale = 2``). Stops when ``||X beta - y|| <= tol ||y||`` (with
    ``E[y_i^2] = 1`` this is a train MSE of about ``tol^2``). Arrays may be batched: ``X`` (B, n, d) or shared
    (n, d), ``y`` (B, n), ``beta_pt`` (B, d) or (d,); runs are vectorised and independent. The start is
    :func:`dl_oracle_finetuning_start` unless ``start`` (e.g. the hand-off of actually pretrained weights) is
    given. Returns :class:`numerics.ptft.GDResult` (``converged`` per run; a run that hits ``max_steps`` warns
    with :class:`NotConvergedWarning`; divergence raises ValueError naming ``lr``).
    """
    lr = check_positive("lr", lr)
    tol = check_positive("tol", tol)
    max_steps = check_int("max_steps", max_steps, minimum=0)
    if start is None:
        start = dl_oracle_finetuning_start(beta_pt, c_pt, lambda_pt, gamma_ft)
    return simulate_finetuning(X, y, start, lr, max_steps=max_steps, tol=tol, names=("X", "y"))


# ----------------------------------------------------------------------------------------------------
# the error statistics
# ----------------------------------------------------------------------------------------------------
@dataclass
class FiniteSizeResult:
    """Finite-size [DL] finetuning error over seeds.

    ``errors`` (B,) per-seed ``mean_d (beta_hat_d - beta_FT,d)^2``; ``group_errors`` (B, 4) the same split
    by group (:data:`GROUP_NAMES`; rows add up to ``errors``); ``converged`` (B,) flags; ``mean``, ``std``
    (ddof 1), ``sem``, ``ci95`` (Student-t, ``B_conv - 1`` degrees of freedom) over the *converged* seeds only
    (NaN if none; a non-converged seed is recorded but never averaged, and a warning says so); ``n`` the
    number of finetuning samples; ``details`` per-seed solver diagnostics; ``params`` the call's settings.
    """

    d: int
    alpha_ft: float
    n: int
    method: str
    seeds: tuple
    errors: np.ndarray
    group_errors: np.ndarray
    converged: np.ndarray
    mean: float
    std: float
    sem: float
    ci95: tuple
    params: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return bool(np.all(self.converged))

    @property
    def n_converged(self) -> int:
        return int(np.sum(self.converged))

    def to_dict(self) -> dict:
        """A JSON-able dict (numpy arrays as lists)."""
        from ptft.numerics.sweeps import to_jsonable
        return to_jsonable({"d": self.d, "alpha_ft": self.alpha_ft, "n": self.n, "method": self.method,
                            "seeds": [s if isinstance(s, (int, np.integer)) else repr(s) for s in self.seeds],
                            "errors": self.errors, "group_errors": self.group_errors, "converged": self.converged,
                            "mean": self.mean, "std": self.std, "sem": self.sem, "ci95": list(self.ci95),
                            "params": self.params, "details": self.details})


def _summarise(errors, converged):
    e = np.asarray(errors, float)[np.asarray(converged, bool)]
    k = e.size
    if k == 0:
        return math.nan, math.nan, math.nan, (math.nan, math.nan)
    mean = float(e.mean())
    if k == 1:
        return mean, math.nan, math.nan, (math.nan, math.nan)
    std = float(e.std(ddof=1))
    sem = std / math.sqrt(k)
    h = float(scipy.stats.t.ppf(0.975, k - 1)) * sem
    return mean, std, sem, (mean - h, mean + h)


def _check_common(d, alpha_ft, c_pt, lambda_pt, gamma_ft, noise, alpha_pt, method):
    d = check_int("d", d)
    alpha_ft = check_positive("alpha_ft", alpha_ft)
    if alpha_ft > 1:
        raise ValueError(f"alpha_ft: must be <= 1 (n <= d, so that X beta = y has interpolating solutions), "
                         f"got {alpha_ft!r}")
    n = int(round(alpha_ft * d))
    if n < 1:
        raise ValueError(f"alpha_ft: round(alpha_ft d) = 0 samples for alpha_ft={alpha_ft!r}, d={d}")
    c_pt = check_positive("c_pt", c_pt)
    lambda_pt = _check_lambda_pt(lambda_pt)
    gamma_ft = check_nonnegative("gamma_ft", gamma_ft)
    if gamma_ft == 0 and lambda_pt == -1:
        raise ValueError("gamma_ft: = 0 with lambda_pt = -1 gives a zero first layer (degenerate finetuning)")
    noise = check_nonnegative("noise", noise)
    if alpha_pt is not None:
        alpha_pt = check_positive("alpha_pt", alpha_pt)
        if int(round(alpha_pt * d)) < 1:
            raise ValueError(f"alpha_pt: round(alpha_pt d) = 0 pretraining samples for alpha_pt={alpha_pt!r}")
    if method not in ("minimiser", "gd"):
        raise ValueError(f"method: must be 'minimiser' or 'gd', got {method!r}")
    return d, alpha_ft, n, c_pt, lambda_pt, gamma_ft, noise, alpha_pt


def _pretrain_minimiser(Xp, yp, c_pt, lambda_pt, solver_kw):
    """Estimated ``beta_PT`` of gradient-flow pretraining from the [DL] init: its implicit-bias minimiser
    (``n_PT < d``) or the unique least-squares solution (``n_PT >= d``)."""
    n_pt, d = Xp.shape
    if n_pt >= d:
        beta = np.linalg.lstsq(Xp, yp, rcond=None)[0]
        return beta, True, {"pt_solver": "lstsq"}
    pen = finetuning_penalty(dl_pretraining_start(d, c_pt, lambda_pt))   # SinhPenalty(scale=c_pt)
    r = _minimise(Xp, yp, pen, what="pretraining minimiser", **solver_kw)
    return r.beta, r.converged, {"pt_solver": r.solver, "pt_nit": r.nit, "pt_kkt_residual": r.kkt_residual}


def finite_d_error(d, alpha_ft, *, c_pt, lambda_pt, gamma_ft, rho_pt, rho_ft_shared, rho_ft_new,
                   seeds: Sequence[SeedLike], method: str = "minimiser", noise: float = 0.0,
                   pt_amplitude: float = 1.0, groups: str = "exact", pt_signs: str = "positive",
                   alpha_pt: float | None = None, tol: float | None = None, lr: float | None = None,
                   lr_scale: float = 1.0, max_steps: int = 1_000_000, batch_size: int = 4,
                   solver: str = "newton-pcg", max_iter: int = 100, ridge: float = 0.0) -> FiniteSizeResult:
    """Finite-``d`` [DL] finetuning error for each seed, and its mean with a 95 % interval.

    For every seed: :func:`draw_task`, the design ``X`` (``n = round(alpha_ft d)`` rows, ``N(0, 1/d)``),
    ``y = X beta_FT + noise z``; then finetuning by ``method``:

    * ``"minimiser"`` (default): :func:`finetune_minimiser` (``tol`` default 1e-10, ``solver``, ``max_iter``);
    * ``"gd"``: :func:`finetune_gd` (``tol`` default 1e-4 relative residual; ``lr`` the step on
      ``(1/2n)||X beta - y||^2``, default :func:`gd_step_size` with ``lr_scale`` and the curvature weights
      ``m = max(M_start, sqrt(k_d + 4 beta_FT^2))``, an upper estimate of ``M`` along the run (``M`` grows
      to ``sqrt(k_d + 4 beta_hat^2)``), per seed); seeds run vectorised in batches of ``batch_size``.

    ``alpha_pt`` (optional) replaces oracle pretraining by pretraining on ``round(alpha_pt d)`` noiseless
    samples (module docstring). ``ridge > 0`` (method ``"minimiser"`` only) replaces the finetuning interpolator
    by ``argmin (1/2n)||y - X beta||^2 + (ridge/d) sum_d q_{k_d}(beta_d)`` (:func:`finetune_minimiser`;
    pretraining, if any, stays the interpolator). Returns a :class:`FiniteSizeResult`. Statistics use converged
    seeds only; a non-converged seed triggers a :class:`NotConvergedWarning` (from the solver, and a summary here).
    """
    d, alpha_ft, n, c_pt, lambda_pt, gamma_ft, noise, alpha_pt = _check_common(
        d, alpha_ft, c_pt, lambda_pt, gamma_ft, noise, alpha_pt, method)
    _check_task_args(d, rho_pt, rho_ft_shared, rho_ft_new, pt_amplitude, groups, pt_signs)
    seeds = _check_seeds(seeds)
    if tol is None:
        tol = 1e-10 if method == "minimiser" else 1e-4
    tol = check_positive("tol", tol)
    if lr is not None:
        lr = check_positive("lr", lr)
    lr_scale = check_positive("lr_scale", lr_scale)
    if lr_scale >= 2:
        raise ValueError(f"lr_scale: must be < 2 (GD is unstable beyond), got {lr_scale!r}")
    max_steps = check_int("max_steps", max_steps, minimum=0)
    batch_size = check_int("batch_size", batch_size)
    max_iter = check_int("max_iter", max_iter)
    if solver not in ("newton-pcg", "newton-dense"):
        raise ValueError(f"solver: must be 'newton-pcg' or 'newton-dense', got {solver!r}")
    ridge = check_nonnegative("ridge", ridge)
    if ridge > 0 and method != "minimiser":
        raise ValueError("ridge: an explicit ridge is only implemented for method='minimiser' (GD reaches the "
                         "interpolator)")
    solver_kw = dict(tol=1e-10 if method == "gd" else tol, max_iter=max_iter, solver=solver, precision="float32",
                     lam0=None, max_dual_step=4.0, max_cg=40, refactor_after=12)

    B = len(seeds)
    errors = np.full(B, np.nan)
    gerr = np.full((B, 4), np.nan)
    conv = np.zeros(B, bool)
    det = {k: [None] * B for k in ("kkt_residual", "nit", "steps", "lr", "pt_converged")}

    def problem(s):
        st = _streams(s)
        t, X, y = _problem_from_streams(st, s, d, n, rho_pt, rho_ft_shared, rho_ft_new, pt_amplitude, groups,
                                        pt_signs, noise)
        return t, X, y, st

    def record(i, t, beta):
        diff2 = (beta - t.beta_ft) ** 2
        errors[i] = float(diff2.mean())
        gerr[i] = [float(diff2[t.groups == g].sum() / d) for g in range(4)]

    if method == "minimiser":
        for i, s in enumerate(seeds):
            t, X, y, st = problem(s)
            b_pt, pt_ok = t.beta_pt, True
            if alpha_pt is not None:
                n_pt = int(round(alpha_pt * d))
                Xp = gaussian_design(n_pt, d, st[3], normalize="1/sqrt_d")
                b_pt, pt_ok, _ = _pretrain_minimiser(Xp, Xp @ t.beta_pt, c_pt, lambda_pt, solver_kw)
                del Xp
            pen = dl_handoff_penalty(b_pt, c_pt, lambda_pt, gamma_ft)
            if ridge > 0:
                r = _minimise_ridge(X, y, pen, ridge, tol=solver_kw["tol"], max_iter=max_iter,
                                    max_dual_step=solver_kw["max_dual_step"],
                                    what=f"finetune_minimiser (ridge, seed {s!r})")
            else:
                r = _minimise(X, y, pen, what=f"finetune_minimiser (seed {s!r})", **solver_kw)
            record(i, t, r.beta)
            conv[i] = bool(r.converged and pt_ok)
            det["kkt_residual"][i], det["nit"][i], det["pt_converged"][i] = r.kkt_residual, r.nit, pt_ok
    else:
        for lo in range(0, B, batch_size):
            idx = list(range(lo, min(B, lo + batch_size)))
            probs = [problem(seeds[i]) for i in idx]
            Xb = np.stack([p[1] for p in probs])
            yb = np.stack([p[2] for p in probs])
            starts, pt_ok = [], []
            for (t, X, y, st) in probs:
                if alpha_pt is None:
                    starts.append(dl_oracle_finetuning_start(t.beta_pt, c_pt, lambda_pt, gamma_ft))
                    pt_ok.append(True)
                    continue
                n_pt = int(round(alpha_pt * d))
                Xp = gaussian_design(n_pt, d, st[3], normalize="1/sqrt_d")
                yp = Xp @ t.beta_pt
                st0 = dl_pretraining_start(d, c_pt, lambda_pt)
                lr_pt = lr if lr is not None else gd_step_size(
                    Xp, np.maximum(st0.M, np.sqrt(4 * c_pt ** 2 + 4 * t.beta_pt ** 2)), lr_scale)
                pt = simulate_finetuning(Xp, yp, st0, lr_pt, max_steps=max_steps, tol=min(tol, 1e-6),
                                         names=("X_pt", "y_pt"))
                starts.append(dl_finetuning_start(pt.weights, gamma_ft))
                pt_ok.append(bool(pt.converged))
                del Xp
            start = TwoPathwayWeights(*(np.stack([getattr(w, k) for w in starts])
                                        for k in ("w_plus", "v_plus", "w_minus", "v_minus")))
            if lr is not None:
                lrs = np.full(len(idx), lr)
            else:
                sqrt_k = np.stack([2 * dl_handoff_penalty(p[0].beta_pt, c_pt, lambda_pt, gamma_ft).scale
                                   for p in probs])
                m = np.maximum(start.M, np.sqrt(sqrt_k ** 2 + 4 * np.stack([p[0].beta_ft for p in probs]) ** 2))
                lrs = np.atleast_1d(gd_step_size(Xb, m, lr_scale))
            # one step size per batch: the smallest (each seed's own bound is then respected)
            step = float(np.min(lrs))
            r = finetune_gd(Xb, yb, None, c_pt=c_pt, lambda_pt=lambda_pt, gamma_ft=gamma_ft, lr=step, tol=tol,
                            max_steps=max_steps, start=start)
            for j, i in enumerate(idx):
                record(i, probs[j][0], r.beta[j])
                conv[i] = bool(r.converged[j] and pt_ok[j])
                det["kkt_residual"][i], det["steps"][i] = float(r.residual[j]), int(r.steps[j])
                det["lr"][i], det["pt_converged"][i] = step, pt_ok[j]
            del Xb, yb, probs
    mean, std, sem, ci = _summarise(errors, conv)
    if not conv.all():
        warn_not_converged(f"finite_d_error (d={d}, alpha_ft={alpha_ft:g}, method={method})",
                           np.array([np.nan if v is None else v for v in det["kkt_residual"]], float), tol, conv,
                           detail="non-converged seeds are excluded from mean/sem/ci95", stacklevel=2)
    params = dict(c_pt=c_pt, lambda_pt=lambda_pt, gamma_ft=gamma_ft, rho_pt=float(rho_pt),
                  rho_ft_shared=float(rho_ft_shared), rho_ft_new=float(rho_ft_new), noise=noise,
                  pt_amplitude=float(pt_amplitude), groups=groups, pt_signs=pt_signs, alpha_pt=alpha_pt, tol=tol,
                  lr=lr, lr_scale=lr_scale, solver=solver, ridge=ridge)
    return FiniteSizeResult(d=d, alpha_ft=alpha_ft, n=n, method=method, seeds=seeds, errors=errors,
                            group_errors=gerr, converged=conv, mean=mean, std=std, sem=sem, ci95=ci, params=params,
                            details=det)


def finite_d_error_point(d, alpha_ft, seed, **kwargs) -> dict:
    """:func:`finite_d_error` for one seed, as a JSON-able dict: the function for
    :func:`numerics.sweeps.run_sweep` over ``(d, alpha_ft, seed)`` points (``seed`` an int; other keyword
    arguments as :func:`finite_d_error`). Aggregate with :func:`combine_points`."""
    if isinstance(seed, (bool, float)) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed: must be an int (it travels with the sweep point), got {seed!r}")
    return finite_d_error(d, alpha_ft, seeds=[int(seed)], **kwargs).to_dict()


def combine_points(records: Sequence[dict]) -> FiniteSizeResult:
    """Aggregate per-seed dicts of :func:`finite_d_error_point` (same ``d``, ``alpha_ft``, method, settings)
    into one :class:`FiniteSizeResult` (seeds in the given order)."""
    records = list(records)
    if not records or not all(isinstance(r, dict) for r in records):
        raise ValueError("records: expected a non-empty list of dicts from finite_d_error_point")
    r0 = records[0]
    for r in records[1:]:
        for k in ("d", "alpha_ft", "method", "params"):
            if r.get(k) != r0.get(k):
                raise ValueError(f"records: mixed {k!r} ({r0.get(k)!r} vs {r.get(k)!r})")
    seeds = tuple(s for r in records for s in r["seeds"])
    errors = np.array([float(e) for r in records for e in r["errors"]])
    gerr = np.array([g for r in records for g in r["group_errors"]], float)
    conv = np.array([bool(c) for r in records for c in r["converged"]])
    mean, std, sem, ci = _summarise(errors, conv)
    details = {k: [v for r in records for v in r["details"].get(k, [])] for k in r0["details"]}
    return FiniteSizeResult(d=int(r0["d"]), alpha_ft=float(r0["alpha_ft"]), n=int(r0["n"]), method=r0["method"],
                            seeds=seeds, errors=errors, group_errors=gerr, converged=conv, mean=mean, std=std,
                            sem=sem, ci95=ci, params=dict(r0["params"]), details=details)
