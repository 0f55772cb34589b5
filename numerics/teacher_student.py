"""Teacher-student generalisation experiments of [LL] Lippl & Lindsey (NeurIPS 2024, arXiv:2310.02396),
diagonal networks.

Tasks: an auxiliary sparse teacher with ``k_aux`` nonzeros ``+-1/sqrt(k_aux)``
and a main teacher with ``k_main`` nonzeros ``+-1/sqrt(k_main)``, of which ``shared`` sit on
auxiliary features (the rest on features the auxiliary task does not use); signs are independent.
Inputs are Gaussian rows rescaled to norm ``sqrt(d)``, labels noiseless.

Test error. Rows uniform on the sphere of radius ``sqrt(d)`` have ``E[x x^T] = I``, so the population
mean-squared error of a predictor ``beta_hat`` is exactly ``||beta_hat - beta*||^2``; we use it
instead of the authors' 10,000 validation samples (same expectation, no sampling noise).

Methods, each by gradient descent (the simulation) and by its predicted implicit-bias minimiser
(the theory):

- ``single_task``: two-pathway GD from ``alpha`` on the main task | argmin of the derived ``Q``
  (``|c| = 2 alpha^2``, ``phi = 0``).
- ``mtl``: shared first layer, joint MSE over both tasks | the l1,2 (group-lasso) interpolator.
- ``ptft``: pretrain on the auxiliary task, first layer rescaled by ``c``, readouts reset to
  ``gamma``, finetune | the exact general-start finetuning penalty (theory ``ptft.exact_penalty``)
  evaluated at the *theoretical* pretrained coefficients.

:func:`generalisation_errors` evaluates one (task, method, n_main) cell for a batch of seeds; it is a
module-level function so :func:`numerics.sweeps.run_sweep` can cache and distribute it.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ptft.numerics import diagonal as nd
from ptft.numerics import mtl as nm
from ptft.numerics import ptft as npf
from ptft.numerics.data import gaussian_design
from ptft.numerics.separable_dual import minimize_penalty_interpolation
from ptft.numerics.validation import NotConvergedWarning, check_int, check_nonnegative, check_positive

__all__ = ["TaskSpec", "TaskPair", "make_task_pair", "generalisation_errors", "METHODS"]

METHODS = ("single_task", "mtl", "ptft")


@dataclass(frozen=True)
class TaskSpec:
    """Sizes of a main/auxiliary sparse-teacher pair ([LL] defaults: d = 1000, k_aux = 40)."""

    d: int = 1000
    k_aux: int = 40
    k_main: int = 40
    shared: int = 40

    def __post_init__(self):
        check_int("d", self.d)
        check_int("k_aux", self.k_aux)
        check_int("k_main", self.k_main)
        check_int("shared", self.shared, minimum=0)
        if self.k_aux > self.d:
            raise ValueError(f"k_aux: {self.k_aux} exceeds d = {self.d}")
        if self.shared > min(self.k_main, self.k_aux):
            raise ValueError(f"shared: {self.shared} exceeds min(k_main, k_aux) = {min(self.k_main, self.k_aux)}")
        if self.k_aux + self.k_main - self.shared > self.d:
            raise ValueError(f"k_main: the union of supports ({self.k_aux + self.k_main - self.shared}) exceeds d")


@dataclass(frozen=True)
class TaskPair:
    """One draw: auxiliary and main datasets and their teachers."""

    X_aux: np.ndarray
    y_aux: np.ndarray
    X_main: np.ndarray
    y_main: np.ndarray
    beta_aux: np.ndarray
    beta_main: np.ndarray


def make_task_pair(spec: TaskSpec, n_aux: int, n_main: int, seed: int) -> TaskPair:
    """Draw teachers and designs for ``spec`` from ``seed`` (same seed, same task pair).

    The teachers depend only on ``(spec, seed)``, not on the sample sizes, so curves over ``n_main``
    share their teachers; the main design is the first ``n_main`` rows of a fixed 4096-row stream
    (nested datasets, as when samples are added).
    """
    n_aux = check_int("n_aux", n_aux)
    n_main = check_int("n_main", n_main)
    rng = np.random.default_rng([int(seed), 7])
    d = spec.d
    perm = rng.permutation(d)
    aux_support = perm[: spec.k_aux]
    new_support = perm[spec.k_aux: spec.k_aux + spec.k_main - spec.shared]
    main_support = np.concatenate([rng.permutation(aux_support)[: spec.shared], new_support])
    beta_aux = np.zeros(d)
    beta_aux[aux_support] = rng.choice([-1.0, 1.0], spec.k_aux) / np.sqrt(spec.k_aux)
    beta_main = np.zeros(d)
    beta_main[main_support] = rng.choice([-1.0, 1.0], spec.k_main) / np.sqrt(spec.k_main)
    X_aux = gaussian_design(n_aux, d, seed=np.random.default_rng([int(seed), 11, n_aux]), normalize="sqrt_d")
    pool = max(4096, n_main)
    X_main = gaussian_design(pool, d, seed=np.random.default_rng([int(seed), 13, pool]), normalize="sqrt_d")[:n_main]
    return TaskPair(X_aux, X_aux @ beta_aux, X_main, X_main @ beta_main, beta_aux, beta_main)


def _lr(weight_scale: float, *Xs_with_weight) -> float:
    """A quarter of the GD stability bound at the weight scale the teachers imply.

    Near the end of training the curvature of L(w) along a coordinate is about ``(u^2 + v^2)`` times that
    of L(beta), i.e. at most ``S lambda`` with ``lambda`` the largest eigenvalue of the (weighted) Gram
    matrices and ``S = max_i (u_i^2 + v_i^2)``; GD is stable for ``lr < 2 / (S lambda)``. A balanced fit
    of ``beta_i`` has ``u^2 + v^2 = 2|beta_i|``, and a shared first layer serving K tasks at most
    ``sqrt(K)`` times that, so ``S = 2 sqrt(K) max |beta*|`` (``weight_scale``), and we take
    ``lr = 1 / (2 S lambda)``. (For the [LL] teachers, +-1/sqrt 40, the largest ``u^2 + v^2`` measured
    along MTL GD was 0.36 against S = 0.45.) A run that diverges anyway is retried at lr/4
    (see :func:`generalisation_errors`).
    """
    lam = sum(w * np.linalg.eigvalsh(X @ X.T)[-1] for X, w in Xs_with_weight)
    return 1.0 / (2.0 * weight_scale * lam)


def _weight_scale(n_tasks: int, *teachers) -> float:
    """``S = 2 sqrt(K) max |beta*|`` over the given teachers (at least 1e-3, for an all-zero teacher)."""
    return max(2.0 * np.sqrt(n_tasks) * max(float(np.max(np.abs(t))) for t in teachers), 1e-3)


def _with_retries(run, lr: float, retries: int = 2):
    """``run(lr)``, retried at lr/4 (up to ``retries`` times) if GD diverges (ValueError naming lr).

    A run that stops before its tolerance is not an error here: its ``converged`` flag is returned
    per seed and its error reported as NaN, so the :class:`NotConvergedWarning` is not repeated."""
    for attempt in range(retries + 1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotConvergedWarning)
                return run(lr), lr
        except ValueError as exc:
            if "diverged" not in str(exc) or attempt == retries:
                raise
            lr /= 4.0
    raise AssertionError("unreachable")


def generalisation_errors(
    d: int,
    k_aux: int,
    k_main: int,
    shared: int,
    n_aux: int,
    n_main: int,
    method: str,
    seeds: list[int],
    alpha: float = 1e-3,
    c: float = 1.0,
    gamma: float = 1e-3,
    tol: float = 1e-3,
    max_steps: int = 100_000,
    theory: bool = True,
) -> dict:
    """Main-task test error of ``method`` by GD and by its implicit-bias minimiser, one value per seed.

    GD stops at relative training residual ``tol`` (default 1e-3, i.e. a training MSE of about
    1e-6 ||y||^2/n, stricter than the authors' 1e-4 criterion). A tighter stop is not useful here:
    from small initialisation, coordinates activated on the way decay like 1/t, so the last digits
    of the residual cost orders of magnitude more steps while changing the test error by ~tol^2.

    Returns a dict with lists ``gd_error``, ``theory_error`` (``None`` entries if ``theory=False``),
    ``converged``, ``steps`` and the learning rate used. A GD run that did not converge has its error
    reported as ``nan`` and ``converged`` False: it is never averaged in silently.
    """
    if method not in METHODS:
        raise ValueError(f"method: {method!r} is not one of {METHODS}")
    spec = TaskSpec(d=d, k_aux=k_aux, k_main=k_main, shared=shared)
    alpha = check_positive("alpha", alpha)
    c = check_positive("c", c)
    gamma = check_nonnegative("gamma", gamma)
    pairs = [make_task_pair(spec, n_aux, n_main, s) for s in seeds]
    Xm = np.stack([p.X_main for p in pairs])
    ym = np.stack([p.y_main for p in pairs])
    Xa = np.stack([p.X_aux for p in pairs])
    ya = np.stack([p.y_aux for p in pairs])
    bm = np.stack([p.beta_main for p in pairs])

    ba = np.stack([p.beta_aux for p in pairs])
    if method == "single_task":
        S = _weight_scale(1, bm)
        lr = min(_lr(S, (X, 1.0 / n_main)) for X in Xm)
        res, lr = _with_retries(lambda h: nd.simulate_gd_two_pathway(Xm, ym, alpha, h, max_steps=max_steps, tol=tol),
                                lr)
        beta_gd, conv, steps = res.beta, np.atleast_1d(res.converged), np.atleast_1d(res.steps)
    elif method == "mtl":
        n_tot = n_main + n_aux
        S = _weight_scale(2, bm, ba)
        lr = min(_lr(S, (X1, 1.0 / n_tot), (X2, 1.0 / n_tot)) for X1, X2 in zip(Xm, Xa))
        res, lr = _with_retries(lambda h: nm.simulate_mtl_gd(Xm, ym, Xa, ya, alpha, h, max_steps=max_steps, tol=tol),
                                lr)
        beta_gd, conv, steps = res.beta_main, np.atleast_1d(res.converged), np.atleast_1d(res.steps)
    else:
        lr_pt = min(_lr(_weight_scale(1, ba), (X, 1.0 / n_aux)) for X in Xa)
        # finetuning conserves w^2 - v^2 per branch, so at the end u^2 + v^2 = sqrt(c^4 beta_aux^2 + 4 beta^2)
        S_ft = max(float(np.max(np.sqrt(c ** 4 * ba ** 2 + 4.0 * bm ** 2))), 1e-3)
        lr_ft = min(_lr(S_ft, (X, 1.0 / n_main)) for X in Xm)
        res, lr_ft = _with_retries(lambda h: npf.simulate_ptft(Xm, ym, Xa, ya, alpha, c, gamma, lr_pt, lr_ft=h,
                                                               max_steps=max_steps, tol=tol), lr_ft)
        beta_gd, conv = res.beta_main, np.atleast_1d(res.converged)
        steps = np.atleast_1d(res.finetuning.steps)
        lr = lr_ft
    gd_err = np.sum((beta_gd - bm) ** 2, axis=-1)
    gd_err = np.where(conv, gd_err, np.nan)

    th_err: list = [None] * len(seeds)
    if theory:
        th_err = []
        for p in pairs:
            if method == "single_task":
                b = nd.implicit_bias_solution(p.X_main, p.y_main, np.full(d, 2 * alpha), np.zeros(d))
            elif method == "mtl":
                b = nm.group_lasso_interpolator(p.X_main, p.y_main, p.X_aux, p.y_aux, tol=1e-8).beta_main
            else:
                b_aux = nd.implicit_bias_solution(p.X_aux, p.y_aux, np.full(d, 2 * alpha), np.zeros(d))
                r = minimize_penalty_interpolation(p.X_main, p.y_main, npf.handoff_penalty(b_aux, c, gamma, alpha),
                                                   tol=1e-10)
                if not r.success:
                    raise RuntimeError(f"PT+FT theory minimiser did not converge: {r.message}")
                b = r.beta
            th_err.append(float(np.sum((b - p.beta_main) ** 2)))
    return {"gd_error": gd_err.tolist(), "theory_error": th_err, "converged": conv.tolist(),
            "steps": steps.tolist(), "lr": lr}
