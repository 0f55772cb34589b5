"""Minimum-penalty interpolation ``argmin_beta sum_i Q_i(beta_i)  s.t.  X beta = y`` through its dual.

For a separable, strictly convex penalty with mirror map ``s = Q_i'(beta)`` and inverse ("link")
``beta = h_i(s)``, the Lagrangian dual is the smooth unconstrained concave problem

    max_lambda  D(lambda) = lambda . y - sum_i Q_i*((X^T lambda)_i),      Q_i*' = h_i,

whose maximiser gives the primal solution ``beta_i = h_i((X^T lambda)_i)``. Stationarity then holds
exactly by construction; the only KKT residual is primal feasibility ``||X beta - y||``, and the
duality gap is ``lambda . (X beta - y)``. This is the exact, well-conditioned formulation suggested
by gradient flow itself: for mirror flows the integrated gradient ``S(t)`` stays in the row space of
``X``, so ``S(inf) = X^T lambda`` (Woodworth et al. COLT 2020; Azulay et al. ICML 2021).

We maximise ``D`` with damped Newton (Armijo backtracking) on the ``n``-dimensional dual variable;
each iteration costs one ``n x n`` Cholesky of ``X diag(h'(s)) X^T``.

Penalties provided: :class:`SinhPenalty` (diagonal networks, single task and PT+FT; link
``beta = a sinh(2 s + phi)``) and :class:`WeightedL2Penalty` (lazy limits; link ``beta = w s``).
Anything with ``link``, ``link_derivative``, ``conjugate`` and ``value`` can be passed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np
import scipy.linalg

from ptft.numerics.validation import as_matrix, as_vector, check_int, check_positive, warn_not_converged

__all__ = ["SeparablePenalty", "SinhPenalty", "WeightedL2Penalty", "DualResult", "minimize_penalty_interpolation", "damped_dual_step",
           "q_function"]


def q_function(z: np.ndarray) -> np.ndarray:
    """``q(z) = z asinh z - sqrt(1 + z^2) + 1`` evaluated without cancellation for small ``|z|``.

    Uses ``sqrt(1+z^2) - 1 = z^2 / (1 + sqrt(1+z^2))``. (theory: ``diagonal.q``.)
    """
    z = np.asarray(z, dtype=np.float64)
    return z * np.arcsinh(z) - z * z / (1.0 + np.sqrt(1.0 + z * z))


class SeparablePenalty(Protocol):
    """Per-coordinate convex penalty described by its link (inverse mirror map) and conjugate."""

    def link(self, s: np.ndarray) -> np.ndarray: ...
    def link_derivative(self, s: np.ndarray) -> np.ndarray: ...
    def conjugate(self, s: np.ndarray) -> np.ndarray: ...
    def value(self, beta: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class SinhPenalty:
    """``Q_i(beta) = (a_i q(beta/a_i) - phi_i beta) / 2`` with link ``beta = a_i sinh(2 s + phi_i)``.

    This is the implicit bias of one diagonal-network coordinate started from ``beta_i(0) =
    a_i sinh(phi_i)`` (theory: ``diagonal.penalty``; for PT+FT ``a = sqrt(k)/2``, ``ptft.exact_penalty``).
    Its conjugate is ``Q*(s) = a (cosh(2 s + phi) - 1) / 2``.
    """

    scale: np.ndarray
    phase: np.ndarray

    def __post_init__(self):
        a = as_vector("scale", self.scale)
        p = as_vector("phase", np.broadcast_to(self.phase, a.shape))
        if np.any(a <= 0):
            raise ValueError("scale: must be > 0 in every coordinate (|u0| = |v0| makes the penalty degenerate)")
        object.__setattr__(self, "scale", a)
        object.__setattr__(self, "phase", np.array(p))

    def link(self, s):
        with np.errstate(over="ignore"):
            return self.scale * np.sinh(2.0 * s + self.phase)

    def link_derivative(self, s):
        with np.errstate(over="ignore"):
            return 2.0 * self.scale * np.cosh(2.0 * s + self.phase)

    def conjugate(self, s):
        x = 2.0 * s + self.phase
        with np.errstate(over="ignore"):
            # cosh(x) - 1 = 2 sinh(x/2)^2, exact for small x
            return self.scale * np.sinh(0.5 * x) ** 2

    def value(self, beta):
        beta = np.asarray(beta, dtype=np.float64)
        return 0.5 * (self.scale * q_function(beta / self.scale) - self.phase * beta)


@dataclass(frozen=True)
class WeightedL2Penalty:
    """``Q_i(beta) = beta^2 / (2 w_i)`` with link ``beta = w_i s`` (the lazy / kernel limits)."""

    weights: np.ndarray

    def __post_init__(self):
        w = as_vector("weights", self.weights)
        if np.any(w <= 0):
            raise ValueError("weights: must be > 0 in every coordinate")
        object.__setattr__(self, "weights", w)

    def link(self, s):
        return self.weights * s

    def link_derivative(self, s):
        return np.broadcast_to(self.weights, np.shape(s)).copy()

    def conjugate(self, s):
        return 0.5 * self.weights * s * s

    def value(self, beta):
        beta = np.asarray(beta, dtype=np.float64)
        return beta * beta / (2.0 * self.weights)


@dataclass
class DualResult:
    """Result of :func:`minimize_penalty_interpolation` (in the manner of ``scipy.optimize.OptimizeResult``).

    ``beta`` the primal minimiser, ``lam`` the dual variable, ``success``/``message`` the verdict,
    ``nit`` Newton iterations, ``kkt_residual`` = ``||X beta - y|| / ||y||`` (stationarity is exact),
    ``duality_gap`` = ``|lambda . (X beta - y)|``, ``penalty`` = ``sum_i Q_i(beta_i)``.
    """

    beta: np.ndarray
    lam: np.ndarray
    success: bool
    message: str
    nit: int
    kkt_residual: float
    duality_gap: float
    penalty: float

    @property
    def converged(self) -> bool:
        return self.success


def damped_dual_step(dual_at: Callable[[float], float], value: float, slope: float, t0: float, ds: float,
                     residual_at: Callable[[float], float], residual: float) -> tuple[float, float] | None:
    """Step length along a dual Newton direction: ``(t, dual value at t)``, or None if none is acceptable.

    Armijo backtracking (sufficient increase ``1e-4 t slope``) from ``t0`` (the trust-region limit on the
    change of ``s = X^T lambda``; ``ds`` is that change at ``t = 1``). Near the optimum the dual is flat at
    machine precision and Armijo cannot see progress; there the residual norm is the right merit function
    (Newton's method for grad D = 0): the step ``t0`` is accepted if it lowers the residual below ``residual``.
    ``dual_at(t)`` and ``residual_at(t)`` evaluate the dual value and ``||y - X beta||`` at ``lambda + t step``.
    """
    t = t0
    while True:
        new_value = dual_at(t)
        if new_value >= value + 1e-4 * t * slope:
            return t, new_value
        t *= 0.5
        if t * ds < 1e-14:
            break
    if not residual_at(t0) < residual:
        return None
    return t0, dual_at(t0)


def minimize_penalty_interpolation(X, y, penalty: "SeparablePenalty", *, tol: float = 1e-12, max_iter: int = 500,
                                   lam0=None, max_dual_step: float = 4.0) -> "DualResult":
    from ptft.numerics.blas import single_thread_if_small

    with single_thread_if_small(np.shape(X)[0] if np.ndim(X) == 2 else 0):
        return _minimize_penalty_interpolation(X, y, penalty, tol=tol, max_iter=max_iter, lam0=lam0,
                                               max_dual_step=max_dual_step)


def _minimize_penalty_interpolation(
    X,
    y,
    penalty: SeparablePenalty,
    *,
    tol: float = 1e-12,
    max_iter: int = 500,
    lam0=None,
    max_dual_step: float = 4.0,
) -> DualResult:
    """Solve ``min sum_i Q_i(beta_i)  s.t.  X beta = y`` by damped Newton on the smooth dual.

    Parameters
    ----------
    X : (n, d) design; y : (n,) targets; penalty : a :class:`SeparablePenalty` with ``d`` coordinates.
    tol : stop when ``||X beta - y|| <= tol * ||y||``.
    max_iter : Newton iterations before giving up (``success=False``; never silently used).
    lam0 : optional warm start for the dual variable.
    max_dual_step : largest change of any ``s_i = (X^T lambda)_i`` per Newton step (trust region).

    Returns
    -------
    DualResult
    """
    X = as_matrix("X", X)
    y = as_vector("y", y)
    n, d = X.shape
    if y.shape[0] != n:
        raise ValueError(f"y: length {y.shape[0]} does not match X's {n} rows")
    tol = check_positive("tol", tol)
    max_iter = check_int("max_iter", max_iter)
    max_dual_step = check_positive("max_dual_step", max_dual_step)
    lam = np.zeros(n) if lam0 is None else as_vector("lam0", lam0).copy()
    if lam.shape != (n,):
        raise ValueError(f"lam0: expected shape ({n},), got {lam.shape}")
    try:
        probe = np.asarray(penalty.link(np.zeros(d)))
    except ValueError:
        probe = None
    if probe is None or probe.shape != (d,):
        raise ValueError(f"penalty: its coordinates do not match X's {d} columns")

    ynorm = max(float(np.linalg.norm(y)), np.finfo(float).tiny)

    def dual_value(lam_):
        s_ = X.T @ lam_
        with np.errstate(over="ignore", invalid="ignore"):
            val = lam_ @ y - np.sum(penalty.conjugate(s_))
        return val if np.isfinite(val) else -np.inf

    s = X.T @ lam
    beta = penalty.link(s)
    value = dual_value(lam)
    message = "maximum number of Newton iterations reached"
    success = False
    nit = 0
    for nit in range(1, max_iter + 1):
        resid = y - X @ beta                          # dual gradient
        if np.linalg.norm(resid) <= tol * ynorm:
            success, message = True, "KKT residual below tolerance"
            nit -= 1
            break
        H = (X * penalty.link_derivative(s)) @ X.T    # minus the dual Hessian, n x n, PSD
        try:
            step = scipy.linalg.cho_solve(scipy.linalg.cho_factor(H, check_finite=True), resid)
        except (np.linalg.LinAlgError, ValueError):
            step = scipy.linalg.lstsq(H, resid, check_finite=False)[0]
        slope = float(resid @ step)                   # directional derivative of D, > 0
        if not np.isfinite(slope) or slope <= 0:
            message = "Newton direction is not an ascent direction (ill-conditioned dual)"
            break
        # trust region in s = X^T lambda: exponential links make a change of s by more than
        # max_dual_step meaningless for the quadratic model (and would overflow cosh)
        ds = float(np.max(np.abs(X.T @ step)))
        t0 = min(1.0, max_dual_step / ds) if ds > 0 else 1.0
        accepted = damped_dual_step(lambda t: dual_value(lam + t * step), value, slope, t0, ds,
                                    lambda t: np.linalg.norm(y - X @ penalty.link(X.T @ (lam + t * step))),
                                    float(np.linalg.norm(resid)))
        if accepted is None:
            message = "line search failed (no ascent and no residual decrease at machine precision)"
            break
        t, new_value = accepted
        lam_new = lam + t * step
        lam, value = lam_new, new_value
        s = X.T @ lam
        beta = penalty.link(s)
    kkt = float(np.linalg.norm(X @ beta - y) / ynorm)
    if not success and kkt <= tol:
        success, message = True, "KKT residual below tolerance"
    if not success:
        warn_not_converged("minimize_penalty_interpolation", kkt, tol, detail=f"{message}; {nit} Newton iterations")
    gap = float(abs(lam @ (X @ beta - y)))
    pen = float(np.sum(penalty.value(beta)))
    return DualResult(beta=beta, lam=lam, success=success, message=message, nit=nit, kkt_residual=kkt,
                      duality_gap=gap, penalty=pen)


minimize_penalty_interpolation.__doc__ = (_minimize_penalty_interpolation.__doc__ or "") + (
    "\n    Small problems (``n <= 1024`` rows) run with one BLAS thread "
    "(:func:`ptft.numerics.blas.single_thread_if_small`):\n    the same numbers, without the threading overhead "
    "that dominates small factorisations.\n")

