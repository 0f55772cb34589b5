"""The initialisation ``(c_PT, lambda_PT, gamma_FT)`` that minimises the replica-symmetric finetuning error.

Equation in words: minimise ``E(c_PT, lambda_PT, gamma_FT) = E[(beta_hat - beta_FT)^2]``, the RS error of
:func:`ptft.numerics.asymptotics.generalization_error` for fixed task statistics ``(rho_pt, rho_ft_shared,
rho_ft_new)``, sample ratio ``alpha_ft`` (and optional ``noise``, ``ridge``, ``pt_amplitude``, ``alpha_pt``),
over the [DL] initialisation.

Source: [DL] Anguita et al., arXiv:2602.20062, Sec. 4 (Thm 4.1: the hand-off penalty ``q_{k_d}``; Prop. 4.2: its
RS error; Sec. 5 names four regimes, each represented by one initialisation). The optimisation over the whole
initialisation is not in the paper.

Method. The search runs in transformed variables ``x = (log10 c_PT, atanh lambda_PT, log10 gamma_FT)`` on the
box ``bounds`` (default ``[-6, 2] x [-17, 17] x [-6, 2]``: ``lambda_PT = tanh x_2`` stays in ``[-1, 1]``, and
``1 -+ lambda_PT`` is resolved on a log scale down to ``2 e^-34 = 3e-15``; the optimum is often at ``1 + lambda_PT
~ 1e-8``, invisible to a finite-difference step in ``lambda_PT`` itself) and minimises ``log E`` (the error spans
many decades between the regimes) with L-BFGS-B and forward-difference gradients (step ``fd_step`` in ``x``; the
RS error is a smooth function of the initialisation, computed to relative accuracy ~1e-10, so a step of 1e-5
gives gradients accurate to ~1e-5). It starts from each of the four regime representatives
(:data:`REGIME_REPRESENTATIVES`, mapped into the box: ``gamma_FT = 0`` becomes the lower bound ``10^-6``,
which moves ``sqrt k`` by ``1e-12``, and ``lambda_PT = +-1`` becomes ``+-tanh 17`` (``1 - tanh 17 = 3.4e-15``),
which moves ``sqrt k`` by at most ``1.4e-14 (c_PT + |beta_PT|)``) and keeps the best end point. Each RS
evaluation is warm-started from the nearest previous fixed point. An RS point that does not converge is given
the value ``+inf`` (never used as a number) and counted in ``n_not_converged``.

Assumptions: those of :mod:`ptft.numerics.asymptotics` (Gaussian design, proportional limit, replica symmetry).
The optimum is local: four starts do not prove a global minimum (``starts`` records every run).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from ptft.numerics import asymptotics as A
from ptft.numerics.validation import NotConvergedWarning, as_finite_array, check_positive

__all__ = ["REGIME_REPRESENTATIVES", "DEFAULT_BOUNDS", "BestInitialisationResult", "best_initialisation",
           "to_transformed", "from_transformed"]

#: The four named [DL] regimes, one initialisation each ``(c_PT, lambda_PT, gamma_FT)``: the tuples of
#: :data:`ptft.numerics.asymptotics.REGIME_REPRESENTATIVES` (I rich PT-independent, II lazy PT-dependent,
#: III lazy PT-independent, IV rich PT-dependent; all at c_PT = 1e-3).
REGIME_REPRESENTATIVES = {name: (p["c_pt"], p["lambda_pt"], p["gamma_ft"])
                          for name, p in A.REGIME_REPRESENTATIVES.items()}

#: Box in ``(log10 c_PT, atanh lambda_PT, log10 gamma_FT)``.
DEFAULT_BOUNDS = ((-6.0, 2.0), (-17.0, 17.0), (-6.0, 2.0))


def to_transformed(c_pt, lambda_pt, gamma_ft, bounds=DEFAULT_BOUNDS) -> np.ndarray:
    """``(log10 c_PT, atanh lambda_PT, log10 gamma_FT)``, clipped into ``bounds`` (``gamma_FT = 0`` and
    ``lambda_PT = +-1`` go to the bounds)."""
    lg = math.log10(gamma_ft) if gamma_ft > 0 else -np.inf
    lam = float(lambda_pt)
    t = math.copysign(np.inf, lam) if abs(lam) >= 1 else math.atanh(lam)
    x = np.array([math.log10(c_pt), t, lg])
    lo, hi = np.array(bounds, float).T
    return np.clip(x, lo, hi)


def from_transformed(x) -> tuple[float, float, float]:
    """``(c_PT, lambda_PT, gamma_FT)`` from ``(log10 c_PT, atanh lambda_PT, log10 gamma_FT)``."""
    return float(10.0 ** x[0]), float(math.tanh(x[1])), float(10.0 ** x[2])


@dataclass
class BestInitialisationResult:
    """Result of :func:`best_initialisation` (in the manner of ``scipy.optimize.OptimizeResult``).

    ``x`` = ``(c_PT, lambda_PT, gamma_FT)`` of the best end point, ``error`` its RS error (re-solved cold at
    ``x``), ``success`` (that optimiser run reported success and the RS point at ``x`` converged), ``message``;
    ``regime_errors`` the RS error of each representative of :data:`REGIME_REPRESENTATIVES` (exactly as given,
    ``gamma_FT = 0`` included), ``regime_start`` the transformed start used for it; ``starts`` one dict per
    optimiser run (start, end, error, success, optimizer_success, projected_gradient, message, nit, nfev; a run
    succeeds if L-BFGS-B says so or if the projected forward-difference gradient of ``log E`` is below
    ``stationarity_tol``: L-BFGS-B's line search can stop "abnormally" at a stationary point where the
    difference gradient is at its noise floor); ``nfev`` RS evaluations in total; ``n_not_converged`` RS
    evaluations that did not converge (valued +inf); ``at_bound`` per transformed coordinate "lower", "upper"
    or "" (an optimum on the box boundary is the infimum over the box, not an interior minimum); ``params``
    the fixed parameters.
    """

    x: tuple
    error: float
    success: bool
    message: str
    regime_errors: dict
    x_transformed: np.ndarray
    starts: list
    nfev: int
    n_not_converged: int
    at_bound: tuple = ("", "", "")
    params: dict = field(default_factory=dict)

    @property
    def c_pt(self) -> float:
        return self.x[0]

    @property
    def lambda_pt(self) -> float:
        return self.x[1]

    @property
    def gamma_ft(self) -> float:
        return self.x[2]

    @property
    def best_regime(self) -> str:
        """The named regime with the lowest RS error."""
        return min(self.regime_errors, key=self.regime_errors.get)

    @property
    def improvement(self) -> float:
        """``min(regime errors) / error``: how much the optimum improves on the best named regime."""
        return min(self.regime_errors.values()) / self.error if self.error > 0 else math.inf


def _check_bounds(bounds) -> np.ndarray:
    b = as_finite_array("bounds", bounds, (2,))
    if b.shape != (3, 2) or np.any(b[:, 0] >= b[:, 1]):
        raise ValueError("bounds: expected ((lo, hi) for log10 c_pt, atanh lambda_pt, log10 gamma_ft) with lo < hi")
    if np.any(np.abs(b[1]) > 18.0):
        raise ValueError("bounds: |atanh lambda_pt| must be <= 18 (tanh 18 rounds to 1 in float64)")
    return b


def best_initialisation(*, rho_pt, rho_ft_shared, rho_ft_new, alpha_ft, noise=0.0, ridge=0.0, pt_amplitude=1.0,
                        alpha_pt=None, bounds=DEFAULT_BOUNDS, fd_step: float = 1e-5, max_iter: int = 200,
                        stationarity_tol: float = 1e-4, nodes: int = 8, tol: float = 1e-10) -> BestInitialisationResult:
    """``argmin over (c_PT, lambda_PT, gamma_FT)`` of the RS finetuning error (module docstring).

    Keyword arguments as :func:`ptft.numerics.asymptotics.generalization_error` for the fixed parameters (each
    validated there; ValueError names the parameter); ``bounds`` the box in ``(log10 c_PT, atanh
    lambda_PT, log10 gamma_FT)``; ``fd_step`` the forward-difference step in those variables; ``max_iter`` per L-BFGS-B
    run. Returns a :class:`BestInitialisationResult`.
    """
    fixed = dict(rho_pt=rho_pt, rho_ft_shared=rho_ft_shared, rho_ft_new=rho_ft_new, noise=noise, ridge=ridge,
                 pt_amplitude=pt_amplitude, alpha_pt=alpha_pt)
    b = _check_bounds(bounds)
    fd_step = check_positive("fd_step", fd_step)
    stationarity_tol = check_positive("stationarity_tol", stationarity_tol)
    alpha = check_positive("alpha_ft", alpha_ft)
    if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter: must be a positive int, got {max_iter!r}")
    # validate every fixed parameter once, at the first representative (raises ValueError naming it)
    A.generalization_error(c_pt=1e-3, lambda_pt=0.0, gamma_ft=1.0, alpha_ft=alpha, nodes=nodes, tol=tol, **fixed)

    cache: dict = {}
    warm: list = []          # (x, fixed-point variables) of converged evaluations
    counts = {"nfev": 0, "bad": 0}

    def rs(x):
        key = tuple(np.round(np.asarray(x, float), 14))
        if key in cache:
            return cache[key]
        c, lam, g = from_transformed(x)
        model, rdg, nd, tl = A._prepare(c, lam, g, rho_pt, rho_ft_shared, rho_ft_new, noise, ridge, pt_amplitude,
                                        alpha_pt, nodes, tol)
        x0 = None
        if warm:
            d2 = [float(np.sum((np.asarray(x) - w[0]) ** 2)) for w in warm]
            x0 = warm[int(np.argmin(d2))][1]
        r = A._solve_point(model, alpha, rdg, nd, tl, {}, x0=x0, warn=False)
        counts["nfev"] += 1
        if r.converged and r.method != "closed-form":
            warm.append((np.asarray(x, float).copy(), r.x))
            del warm[:-50]
        if not r.converged or not np.isfinite(r.error):
            counts["bad"] += 1
            val = math.inf
        else:
            val = r.error
        cache[key] = val
        return val

    def objective(x):
        e = rs(x)
        return math.log(e) if 0 < e < math.inf else (-700.0 if e == 0 else 1e300)

    def grad(x, f0):
        g = np.empty(3)
        for i in range(3):
            h = fd_step if x[i] + fd_step <= b[i, 1] else -fd_step
            xp = np.array(x, float)
            xp[i] += h
            g[i] = (objective(xp) - f0) / h
        return g

    def fun(x):
        f0 = objective(x)
        if f0 >= 1e300:
            return f0, np.zeros(3)
        return f0, grad(x, f0)

    regime_errors, regime_start, starts = {}, {}, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        for name, (c, lam, g) in REGIME_REPRESENTATIVES.items():
            rr = A.generalization_error(c_pt=c, lambda_pt=lam, gamma_ft=g, alpha_ft=alpha, nodes=nodes, tol=tol,
                                        **fixed)
            regime_errors[name] = rr.error if rr.converged else math.inf
            x0 = to_transformed(c, lam, g, b)
            regime_start[name] = x0
            opt = optimize.minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=b,
                                    options={"maxiter": max_iter, "ftol": 1e-12, "gtol": 1e-8})
            end = np.asarray(opt.x)
            pg = _projected_gradient(end, fun(end)[1], b)
            starts.append({"regime": name, "start": x0, "end": end, "error": rs(end),
                           "success": bool(opt.success) or pg <= stationarity_tol,
                           "optimizer_success": bool(opt.success),
                           "projected_gradient": pg, "message": str(opt.message), "nit": int(opt.nit),
                           "nfev": int(opt.nfev)})
        best = min(starts, key=lambda s: s["error"])
        final = A.generalization_error(**dict(zip(("c_pt", "lambda_pt", "gamma_ft"), from_transformed(best["end"]))),
                                       alpha_ft=alpha, nodes=nodes, tol=tol, **fixed)
    ok = bool(best["success"] and final.converged)
    msg = (f"best of {len(starts)} L-BFGS-B runs (from regime {best['regime']}): {best['message']} (projected "
           f"gradient of log E {best['projected_gradient']:.2g})"
           + ("" if final.converged else f"; RS point at the optimum not converged ({final.message})"))
    end = np.asarray(best["end"])
    at = tuple("lower" if end[i] <= b[i, 0] else ("upper" if end[i] >= b[i, 1] else "") for i in range(3))
    return BestInitialisationResult(
        x=from_transformed(end), error=float(final.error), success=ok, message=msg,
        regime_errors=regime_errors, x_transformed=end, starts=starts, nfev=counts["nfev"],
        n_not_converged=counts["bad"], at_bound=at,
        params=dict(fixed, alpha_ft=alpha, bounds=b.tolist(), nodes=nodes, tol=tol))


def _projected_gradient(x, g, b) -> float:
    """Max-norm of the gradient projected on the box (components pushing out of an active bound dropped)."""
    g = np.array(g, float)
    g[(x <= b[:, 0]) & (g > 0)] = 0.0
    g[(x >= b[:, 1]) & (g < 0)] = 0.0
    return float(np.max(np.abs(g)))
