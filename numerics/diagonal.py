"""Single-task two-layer diagonal linear networks: gradient descent, exact gradient flow, implicit bias.

Model and conventions ([W] Woodworth et al., COLT 2020; [A] Azulay et al., ICML 2021). One coordinate of the network is ``beta_i = u_i v_i``;
the loss is ``L = (1/2n) ||X beta - y||^2`` and gradient descent updates both factors at once,
``u <- u - lr dL/du = u - lr v g``, ``v <- v - lr u g`` with ``g = dL/dbeta = X^T (X beta - y) / n``.

Gradient flow has a closed form. With ``S(t) = -int_0^t g``, the flow is
``u + v = (u0 + v0) e^S`` and ``u - v = (u0 - v0) e^-S``, so

    beta_i(t) = |c_i| sinh(2 S_i(t) + phi_i),
    c_i = (u0_i^2 - v0_i^2) / 2            (conserved: u_i^2 - v_i^2 = 2 c_i),
    phi_i = artanh(2 u0_i v0_i / (u0_i^2 + v0_i^2)) = ln|u0_i + v0_i| - ln|u0_i - v0_i|.

Since ``g`` always lies in the row space of ``X``, so does ``S = X^T lambda``, and the limit of the
flow is the minimiser of ``Q(beta) = sum_i [|c_i| q(beta_i/|c_i|) - phi_i beta_i] / 2`` (with
``q(z) = z asinh z - sqrt(1+z^2) + 1``) subject to ``X beta = y``: the mirror map of ``Q`` is
``Q'(beta) = S``. This requires ``|u0_i| != |v0_i|`` in every coordinate (else ``c_i = 0`` and the
penalty degenerates). Sources: Woodworth et al., "Kernel and Rich Regimes in Overparametrized
Models", COLT 2020 (the two-pathway model ``beta = w+^2 - w-^2``); Azulay et al., "On the Implicit
Bias of Initialization Shape", ICML 2021 (general ``u0, v0``: the phase ``phi``).

Contents
--------
* :func:`simulate_gd`, :func:`simulate_gd_two_pathway` -- vectorised full-batch GD (batched runs).
* :func:`simulate_flow` -- the exact flow, an ``n``-dimensional ODE for ``lambda`` (``S = X^T lambda``).
* :func:`extrapolate_to_flow` -- Richardson extrapolation of GD endpoints to ``lr -> 0``.
* :func:`implicit_bias_solution`, :func:`implicit_bias_dual`, :func:`implicit_bias_solution_two_pathway`
  -- the minimum-penalty interpolator through :func:`numerics.separable_dual.minimize_penalty_interpolation`.
* :func:`min_l1_interpolator`, :func:`min_l2_interpolator` -- the rich and lazy limits.
* :func:`flow_constants`, :func:`implicit_bias_penalty`, :func:`penalty_value`.
"""
from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy.integrate
import scipy.optimize

from ptft.numerics.separable_dual import DualResult, SinhPenalty, minimize_penalty_interpolation
from ptft.numerics.extrapolation import neville_table
from ptft.numerics.validation import (NotConvergedWarning, as_finite_array, as_matrix, as_vector, batch_shape,
                                 check_int, check_positive, warn_not_converged)

__all__ = [
    "GDResult", "FlowResult", "ExtrapolationResult", "WoodworthPenalty",
    "simulate_gd", "simulate_gd_two_pathway", "simulate_flow", "extrapolate_to_flow",
    "flow_constants", "implicit_bias_penalty", "implicit_bias_solution", "implicit_bias_dual",
    "implicit_bias_solution_two_pathway", "min_l1_interpolator", "min_l2_interpolator", "penalty_value",
    "lambda_max",
]

#: A run is declared diverged once its loss exceeds this multiple of its initial loss.
DIVERGENCE_FACTOR = 1e6


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------

@dataclass
class GDResult:
    """Result of :func:`simulate_gd` / :func:`simulate_gd_two_pathway` (in the spirit of scipy's
    ``OptimizeResult``).

    For a single run ``beta, u, v`` are ``(d,)`` arrays and ``converged, steps, loss, rel_residual``
    scalars; for a batch of ``B`` runs they carry a leading batch axis. For the two-pathway model
    ``u`` holds ``w_plus`` and ``v`` holds ``w_minus``.

    ``converged``: ``||X beta - y|| <= tol ||y||`` was reached (per run); ``steps``: GD updates made
    (per run; a converged run is frozen at the step where it converged); ``loss``: final
    ``(1/2n)||X beta - y||^2``; ``rel_residual``: final ``||X beta - y|| / ||y||``; ``history``: the loss
    at steps ``history_steps`` (``(T,)`` or ``(T, B)``; a frozen run repeats its final loss), or
    ``None`` when ``record_every = 0``.
    """

    beta: np.ndarray
    u: np.ndarray
    v: np.ndarray
    converged: bool | np.ndarray
    steps: int | np.ndarray
    loss: float | np.ndarray
    rel_residual: float | np.ndarray
    message: str
    lr: float
    history: np.ndarray | None = None
    history_steps: np.ndarray | None = None
    parametrization: str = "uv"

    @property
    def success(self) -> bool:
        """All runs converged."""
        return bool(np.all(self.converged))


@dataclass
class FlowResult:
    """Result of :func:`simulate_flow`: ``beta`` at the stopping time ``t``, the dual variable ``lam``
    (``S = X^T lam``), ``converged`` (relative residual reached ``tol``), ``rel_residual``, ``message``,
    ``nfev``/``njev`` (right-hand-side / Jacobian evaluations by the integrator)."""

    beta: np.ndarray
    lam: np.ndarray
    t: float
    converged: bool
    message: str
    nfev: int
    njev: int = 0
    rel_residual: float = float("nan")

    @property
    def success(self) -> bool:
        return bool(self.converged)


@dataclass
class ExtrapolationResult:
    """Result of :func:`extrapolate_to_flow`.

    ``beta``: the Richardson (Neville) extrapolation to ``lr = 0`` of the GD endpoints (all NaN if
    some run did not converge); ``betas``: the endpoints, one per learning rate (axis 0); ``lrs``;
    ``converged``: one flag per learning rate; ``error_estimate``: ``||P_{0..K-1} - P_{1..K-1}||``, the
    change from dropping the largest learning rate; ``table``: the Neville table, ``table[j][i]`` the
    extrapolant through points ``i..i+j``; ``gd_results``: the :class:`GDResult` of every run.
    """

    beta: np.ndarray
    betas: np.ndarray
    lrs: np.ndarray
    converged: np.ndarray
    message: str
    error_estimate: float = float("nan")
    table: list = field(default_factory=list, repr=False)
    gd_results: list = field(default_factory=list, repr=False)

    @property
    def success(self) -> bool:
        return bool(np.all(self.converged))


# ---------------------------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------------------------

def _parse_problem(X, y, **inits) -> tuple[np.ndarray, np.ndarray, dict, int | None]:
    """Validate ``X`` ((n,d) or (B,n,d)), ``y`` ((n,) or (B,n)) and per-coordinate initialisations
    (scalar, (d,) or (B,d)). Returns X, y, the inits as float arrays, and the batch size (None if
    nothing is batched)."""
    X = as_matrix("X", X, batched=True)
    y = as_vector("y", y, batched=True)
    n, d = X.shape[-2:]
    if y.shape[-1] != n:
        raise ValueError(f"y: length {y.shape[-1]} does not match the {n} rows of X")
    arrs = {}
    for name, val in inits.items():
        a = as_finite_array(name, val, (0, 1, 2))
        if a.ndim >= 1 and a.shape[-1] != d:
            raise ValueError(f"{name}: expected {d} entries (one per column of X), got shape {a.shape}")
        arrs[name] = a
    shapes = {"X": (X, 2), "y": (y, 1)}
    shapes.update({k: (a, 1) for k, a in arrs.items()})
    B = batch_shape(**shapes)
    return X, y, arrs, B


def lambda_max(X: np.ndarray) -> float | np.ndarray:
    """Largest eigenvalue of ``X^T X / n`` (per matrix for a stack ``(B, n, d)``), from the smaller Gram."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape[-2:]
    Xt = np.swapaxes(X, -1, -2)
    gram = (X @ Xt) if n <= d else (Xt @ X)
    return np.linalg.eigvalsh(gram)[..., -1] / n


def _check_lr_curvature(X, P, Q, lr: float, factor: float, formula: str) -> None:
    """Raise if ``lr * lambda_max(X^T X/n) * factor * max_i(P_i^2 + Q_i^2) > 2`` for some run."""
    lam = lambda_max(X)
    m = factor * np.max(P * P + Q * Q, axis=-1)
    val = lr * lam * m
    bad = np.flatnonzero(np.atleast_1d(val) > 2.0)
    if bad.size:
        b = int(bad[0])
        v = float(np.atleast_1d(val)[b])
        limit = 2.0 / float(np.atleast_1d(np.broadcast_to(lam * m, np.shape(val)))[b])
        where = f" (run {b})" if np.ndim(val) else ""
        raise ValueError(
            f"lr: lr * lambda_max(X^T X / n) * {formula} = {v:.4g} > 2{where}: the learning rate exceeds "
            f"the local curvature bound at initialisation (gradient descent would be unstable); "
            f"use lr < {limit:.4g}")


# ---------------------------------------------------------------------------------------------
# gradient descent
# ---------------------------------------------------------------------------------------------

def _update_uv(P, Q, G, beta, T):
    """``u <- u - G v``, ``v <- v - G u`` (simultaneous; ``G = lr dL/dbeta``), then ``beta = u v``."""
    np.multiply(G, Q, out=T)
    np.multiply(G, P, out=G)
    P -= T
    Q -= G
    np.multiply(P, Q, out=beta)


def _update_two_pathway(P, Q, G, beta, T):
    """``w+ <- w+ - lr 2 w+ g = w+ (1 - G)``, ``w- <- w- + lr 2 w- g = w- (1 + G)`` with ``G = 2 lr g``,
    then ``beta = w+^2 - w-^2``."""
    np.subtract(1.0, G, out=T)
    P *= T
    np.add(1.0, G, out=T)
    Q *= T
    np.multiply(P, P, out=beta)
    np.multiply(Q, Q, out=T)
    beta -= T


def _beta_uv(P, Q):
    return P * Q


def _beta_two_pathway(P, Q):
    return P * P - Q * Q


def _run_gd(X: np.ndarray, Y: np.ndarray, P: np.ndarray, Q: np.ndarray, *, lr: float, grad_factor: float,
            update: Callable, beta_of: Callable, max_steps: int, tol: float, record_every: int) -> dict:
    """The vectorised GD loop over ``B`` runs (``P, Q``: (B, d) factors, updated in place).

    One step costs two matrix products (residual ``X beta - y`` and gradient ``X^T r``) and a few
    fused in-place elementwise passes. With a shared ``X`` and ``B > 1`` each product is one GEMM
    ``(B,d)x(d,n)`` / ``(B,n)x(n,d)``; otherwise (batched ``X``, or a single run) each run uses its own
    matrix-vector products, so a run computes bit-for-bit the same numbers alone or in a batch.
    Runs that converge are frozen and removed from the working set.
    """
    B, d = P.shape
    n = Y.shape[1]
    shared = X.ndim == 2 and B > 1
    if X.ndim == 2 and not shared:
        X = X[None]                        # a single run: per-run matrix-vector path
    Xw = X                                  # working (active) design
    Ya = Y
    beta = beta_of(P, Q)
    ynorm2 = np.einsum("ij,ij->i", Y, Y)
    thr2 = tol * tol * ynorm2
    idx = np.arange(B)

    P_out, Q_out, beta_out = np.empty((B, d)), np.empty((B, d)), np.empty((B, d))
    steps_out = np.zeros(B, dtype=np.int64)
    conv_out = np.zeros(B, dtype=bool)
    rr_out = np.zeros(B)
    hist, hist_steps = ([], []) if record_every else (None, None)
    loss_all = np.zeros(B)
    half_over_n = 0.5 / n
    gscale = grad_factor * lr / n

    def buffers(m):
        if shared:
            R = np.empty((m, n))
            G = np.empty((m, d))
            return R, G, None, None, np.empty((m, d))
        R3 = np.empty((m, n, 1))
        G3 = np.empty((m, 1, d))
        return R3[:, :, 0], G3[:, 0, :], R3, G3, np.empty((m, d))

    R, G, R3, G3, T = buffers(B)
    XT = Xw.T if shared else None
    limit = None
    t = 0
    with np.errstate(over="ignore", invalid="ignore"):
        while True:
            if shared:
                np.matmul(beta, XT, out=R)
            else:
                np.matmul(Xw, beta[:, :, None], out=R3)
            R -= Ya
            rr = np.einsum("ij,ij->i", R, R)
            if limit is None:
                if not np.all(np.isfinite(rr)):
                    raise ValueError("X: the initial residual X beta0 - y is not finite (overflow)")
                limit = DIVERGENCE_FACTOR * np.maximum(rr, np.finfo(float).tiny)
            elif not np.all(rr <= limit):
                bad = int(np.flatnonzero(~(rr <= limit))[0])
                what = ("became non-finite" if not np.isfinite(rr[bad])
                        else f"exceeded {DIVERGENCE_FACTOR:.0e} times its initial value")
                run = f" (run {int(idx[bad])})" if B > 1 else ""
                raise ValueError(f"lr: gradient descent diverged at step {t}{run}: the loss {what}; "
                                 f"reduce lr (lr = {lr:g})")
            if record_every and t % record_every == 0:
                loss_all[idx] = rr * half_over_n
                hist.append(loss_all.copy())
                hist_steps.append(t)
            done = rr <= thr2
            last = t >= max_steps
            if last or done.any():
                fin = np.ones(idx.shape[0], dtype=bool) if last else done
                j = idx[fin]
                P_out[j], Q_out[j], beta_out[j] = P[fin], Q[fin], beta[fin]
                steps_out[j] = t
                conv_out[j] = done[fin]
                rr_out[j] = rr[fin]
                loss_all[j] = rr[fin] * half_over_n
                if last:
                    break
                keep = ~done
                if not keep.any():
                    break
                # freeze the converged runs: compact the working set (rare: at most B times)
                idx, P, Q, beta = idx[keep], P[keep], Q[keep], beta[keep]
                Ya, thr2, limit = Ya[keep], thr2[keep], limit[keep]
                if not shared:
                    Xw = Xw[keep]
                Rk = R[keep]
                R, G, R3, G3, T = buffers(idx.shape[0])
                R[...] = Rk
            R *= gscale
            if shared:
                np.matmul(R, Xw, out=G)
            else:
                np.matmul(R3.transpose(0, 2, 1), Xw, out=G3)
            update(P, Q, G, beta, T)
            t += 1
    return dict(P=P_out, Q=Q_out, beta=beta_out, steps=steps_out, converged=conv_out,
                loss=rr_out * half_over_n, rel_residual=np.sqrt(rr_out / np.maximum(ynorm2, 1e-300)),
                history=None if hist is None else np.array(hist),
                history_steps=None if hist_steps is None else np.array(hist_steps, dtype=np.int64))


def _gd_entry(X, y, inits: dict, lr, max_steps, tol, record_every, *, kind: str) -> GDResult:
    lr = check_positive("lr", lr)
    tol = check_positive("tol", tol)
    max_steps = check_int("max_steps", max_steps, minimum=0)
    record_every = check_int("record_every", record_every, minimum=0)
    X, y, arrs, B = _parse_problem(X, y, **inits)
    n, d = X.shape[-2:]
    batched = B is not None
    Bn = B if batched else 1
    if kind == "uv":
        P = np.array(np.broadcast_to(arrs["u0"], (Bn, d)), dtype=np.float64)
        Q = np.array(np.broadcast_to(arrs["v0"], (Bn, d)), dtype=np.float64)
        _check_lr_curvature(X, P if batched else P[0], Q if batched else Q[0], lr, 1.0, "max(u0^2 + v0^2)")
        update, beta_of, gf = _update_uv, _beta_uv, 1.0
    else:
        P = np.array(np.broadcast_to(arrs["alpha"], (Bn, d)), dtype=np.float64)
        Q = P.copy()
        _check_lr_curvature(X, P if batched else P[0], Q if batched else Q[0], lr, 4.0,
                            "4 max(w+^2 + w-^2) = 8 max(alpha^2)")
        update, beta_of, gf = _update_two_pathway, _beta_two_pathway, 2.0
    Y = np.array(np.broadcast_to(y, (Bn, n)), dtype=np.float64)
    out = _run_gd(X, Y, P, Q, lr=lr, grad_factor=gf, update=update, beta_of=beta_of,
                  max_steps=max_steps, tol=tol, record_every=record_every)
    conv = out["converged"]
    nconv = int(conv.sum())
    if batched:
        if nconv == Bn:
            msg = (f"all {Bn} runs converged (relative residual <= tol = {tol:g}); "
                   f"steps {out['steps'].min()}..{out['steps'].max()}")
        else:
            msg = (f"{Bn - nconv} of {Bn} runs did not converge within max_steps = {max_steps} "
                   f"(relative residual > tol = {tol:g})")
        res = GDResult(beta=out["beta"], u=out["P"], v=out["Q"], converged=conv, steps=out["steps"],
                       loss=out["loss"], rel_residual=out["rel_residual"], message=msg, lr=lr,
                       history=out["history"], history_steps=out["history_steps"], parametrization=kind)
    else:
        r = float(out["rel_residual"][0])
        s = int(out["steps"][0])
        if conv[0]:
            msg = f"converged after {s} steps (relative residual {r:.3g} <= tol = {tol:g})"
        else:
            msg = (f"did not converge within max_steps = {max_steps} "
                   f"(relative residual {r:.3g} > tol = {tol:g})")
        hist = None if out["history"] is None else out["history"][:, 0]
        res = GDResult(beta=out["beta"][0], u=out["P"][0], v=out["Q"][0], converged=bool(conv[0]), steps=s,
                       loss=float(out["loss"][0]), rel_residual=r, message=msg, lr=lr, history=hist,
                       history_steps=out["history_steps"], parametrization=kind)
    if not res.success:
        warn_not_converged("simulate_gd" if kind == "uv" else "simulate_gd_two_pathway", res.rel_residual, tol,
                           res.converged, f"max_steps = {max_steps} reached", stacklevel=3)
    return res


def simulate_gd(X, y, u0, v0, lr: float, max_steps: int = 200_000, tol: float = 1e-10,
                record_every: int = 0) -> GDResult:
    """Full-batch gradient descent on ``beta = u * v`` (elementwise), ``L = (1/2n)||X beta - y||^2``.

    Update (simultaneous): ``u <- u - lr v g``, ``v <- v - lr u g`` with ``g = X^T (X beta - y) / n``.
    As ``lr -> 0`` the endpoint tends to the implicit-bias solution (:func:`implicit_bias_solution`)
    with error ``O(lr)`` (Woodworth et al. COLT 2020, Azulay et al. ICML 2021).

    Parameters
    ----------
    X : (n, d) or a batch (B, n, d).  y : (n,) or (B, n).
    u0, v0 : initial factors: scalars, (d,) or (B, d) (broadcast).
        Any batched input makes a batch of ``B`` independent runs, computed together (a shared ``X``
        costs one GEMM per product for the whole batch).
    lr : learning rate (> 0).
    max_steps : most GD updates per run (>= 0); not converging is reported, not raised.
    tol : a run has converged once ``||X beta - y|| <= tol ||y||``; it is then frozen (no further
        updates), so its result does not depend on the rest of the batch.
    record_every : if > 0, record the loss every ``record_every`` steps (``GDResult.history``).

    Raises
    ------
    ValueError
        naming the parameter for bad shapes / non-finite values / ``lr <= 0`` / ``tol <= 0``; naming
        ``lr`` if ``lr * lambda_max(X^T X / n) * max(u0^2 + v0^2) > 2`` (the curvature of the loss in
        ``(u, v)`` at initialisation, so GD would be unstable from the first step), or if a run
        diverges (loss non-finite or above ``1e6`` times its initial value).

    Notes
    -----
    With a shared ``X`` and ``B > 1`` the batch uses matrix-matrix products whose rounding differs from
    the matrix-vector products of a single run at the level of ``1e-16`` relative per product, so a
    batched run agrees with the same run alone to rounding (same ``steps`` and ``converged`` unless
    ``||X beta - y||`` sits within rounding of the threshold). With a batched ``X`` every run uses its
    own matrix-vector products and agrees bit for bit.
    """
    return _gd_entry(X, y, {"u0": u0, "v0": v0}, lr, max_steps, tol, record_every, kind="uv")


def simulate_gd_two_pathway(X, y, alpha, lr: float, max_steps: int = 200_000, tol: float = 1e-10,
                            record_every: int = 0) -> GDResult:
    """Full-batch GD on Woodworth et al.'s two-pathway model ``beta = w+^2 - w-^2``, ``w+ = w- = alpha``
    at initialisation (so ``beta(0) = 0``).

    Update: ``w+ <- w+ - lr 2 w+ g``, ``w- <- w- + lr 2 w- g``, ``g = X^T (X beta - y) / n``; the result's
    ``u``/``v`` fields hold ``w+``/``w-``. The parameters, batching and errors are those of
    :func:`simulate_gd` (``alpha`` plays the role of ``u0, v0``; the curvature bound at initialisation
    is ``lr * lambda_max(X^T X / n) * 4 max(w+^2 + w-^2) <= 2``).

    Exact correspondence [derived]: with ``u = w+ + w-``, ``v = w+ - w-`` one has ``u v = w+^2 - w-^2``
    and the update above becomes ``u <- u - 2 lr v g``, ``v <- v - 2 lr u g``: two-pathway GD at
    learning rate ``lr`` from ``alpha`` *is* ``u v`` GD at learning rate ``2 lr`` from ``u0 = 2 alpha``,
    ``v0 = 0`` (step for step, up to rounding). The update here is implemented on ``(w+, w-)``
    directly (multiplicative form ``w+ (1 - 2 lr g)``), not through :func:`simulate_gd`, so the agreement
    of the two parametrisations is a genuine check. Source: Woodworth et al., COLT 2020.
    """
    return _gd_entry(X, y, {"alpha": alpha}, lr, max_steps, tol, record_every, kind="two_pathway")


# ---------------------------------------------------------------------------------------------
# implicit bias
# ---------------------------------------------------------------------------------------------

def flow_constants(u0, v0) -> tuple[np.ndarray, np.ndarray]:
    """``(|c|, phi)`` of the flow ``beta = |c| sinh(2 S + phi)`` started from ``(u0, v0)``.

    ``|c| = |u0^2 - v0^2| / 2 = |u0 + v0| |u0 - v0| / 2`` and
    ``phi = artanh(2 u0 v0 / (u0^2 + v0^2)) = ln|u0 + v0| - ln|u0 - v0|`` (the second forms are exact
    rewritings, free of cancellation). Arrays broadcast against each other. Requires
    ``|u0| != |v0|`` in every coordinate (raises ``ValueError`` naming ``u0``/``v0``).
    Source: Azulay et al., ICML 2021 (theory: ``diagonal.penalty``).
    """
    u0 = as_finite_array("u0", u0)
    v0 = as_finite_array("v0", v0)
    try:
        u0, v0 = np.broadcast_arrays(u0, v0)
    except ValueError:
        raise ValueError(f"u0, v0: shapes {u0.shape} and {v0.shape} do not broadcast") from None
    p = np.abs(u0 + v0)
    m = np.abs(u0 - v0)
    bad = (p == 0) | (m == 0)
    if np.any(bad):
        where = np.argwhere(bad)[:5].tolist() if u0.ndim else ""
        raise ValueError(f"u0, v0: |u0| == |v0| in {int(np.count_nonzero(bad))} coordinate(s) {where}: "
                         "then c = (u0^2 - v0^2)/2 = 0 and the implicit-bias penalty degenerates "
                         "(the closed-form flow needs |u0| != |v0| everywhere)")
    return 0.5 * p * m, np.log(p) - np.log(m)


def implicit_bias_penalty(u0, v0) -> SinhPenalty:
    """The implicit-bias penalty of the flow from ``(u0, v0)``: ``SinhPenalty(scale=|c|, phase=phi)``,
    i.e. ``Q(beta) = sum_i [|c_i| q(beta_i/|c_i|) - phi_i beta_i] / 2`` (``u0, v0`` 1-d, or broadcast to
    1-d)."""
    c_abs, phi = flow_constants(u0, v0)
    return SinhPenalty(scale=np.atleast_1d(c_abs), phase=np.atleast_1d(phi))


def _inits_for(X, u0, v0) -> tuple[np.ndarray, np.ndarray]:
    d = X.shape[1]
    out = []
    for name, a in (("u0", u0), ("v0", v0)):
        arr = as_finite_array(name, a, (0, 1))
        if arr.ndim == 1 and arr.shape[0] != d:
            raise ValueError(f"{name}: expected {d} entries (one per column of X), got shape {arr.shape}")
        out.append(np.broadcast_to(arr, (d,)))
    return out[0], out[1]


def _check_xy(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = as_matrix("X", X)
    y = as_vector("y", y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y: length {y.shape[0]} does not match the {X.shape[0]} rows of X")
    return X, y


def implicit_bias_dual(X, y, u0, v0, tol: float = 1e-12) -> DualResult:
    """``argmin Q(beta) s.t. X beta = y`` with ``Q`` = :func:`implicit_bias_penalty` ``(u0, v0)``: the
    limit of gradient flow from ``(u0, v0)``, solved by damped Newton on the smooth dual
    (:func:`numerics.separable_dual.minimize_penalty_interpolation`). Returns the full
    :class:`~numerics.separable_dual.DualResult` (``success=False`` is not raised here)."""
    X, y = _check_xy(X, y)
    tol = check_positive("tol", tol)
    u, v = _inits_for(X, u0, v0)
    return minimize_penalty_interpolation(X, y, implicit_bias_penalty(u, v), tol=tol)


def implicit_bias_solution(X, y, u0, v0, tol: float = 1e-12) -> np.ndarray:
    """``beta`` of :func:`implicit_bias_dual`; raises ``RuntimeError`` (with the solver's message) if the
    dual solver did not reach ``||X beta - y|| <= tol ||y||``.

    Assumptions: ``|u0_i| != |v0_i|``; ``X beta = y`` feasible (e.g. ``n <= d``, full row rank).
    """
    with warnings.catch_warnings():   # a failure raises below, with the solver's message
        warnings.simplefilter("ignore", NotConvergedWarning)
        res = implicit_bias_dual(X, y, u0, v0, tol=tol)
    if not res.success:
        raise RuntimeError(f"implicit_bias_solution: dual solver did not converge: {res.message} "
                           f"(KKT residual {res.kkt_residual:.3g} after {res.nit} Newton iterations)")
    return res.beta


@dataclass(frozen=True)
class WoodworthPenalty:
    """Woodworth et al.'s published two-pathway penalty ``Q_alpha(beta) = sum_i alpha_i^2 q_W(beta_i / alpha_i^2)``,
    ``q_W(z) = 2 - sqrt(4 + z^2) + z asinh(z / 2)`` (COLT 2020, Theorem 1).

    Mirror map and link: ``q_W'(z) = asinh(z/2)``, so ``Q_alpha'(beta) = asinh(beta / (2 alpha^2))`` and
    the link (inverse mirror map) is ``beta = 2 alpha^2 sinh(s)``, with derivative ``2 alpha^2 cosh(s)`` and
    conjugate ``Q*(s) = int_0^s link = 2 alpha^2 (cosh s - 1) = 4 alpha^2 sinh(s/2)^2``.

    Conversion to :class:`~numerics.separable_dual.SinhPenalty` [derived]: with ``q(z) = z asinh z -
    sqrt(1+z^2) + 1`` one has ``q(z/2) = q_W(z)/2``, hence
    ``Q_alpha(beta) = 2 alpha^2 q(beta / (2 alpha^2)) = 2 * SinhPenalty(scale=2 alpha^2, phase=0).value(beta)``:
    the same minimiser as the ``u v`` model from ``u0 = 2 alpha, v0 = 0`` (``|c| = 2 alpha^2``,
    ``phi = 0``), with twice the penalty and twice the dual variable (``s = 2 S``). This class is
    used on purpose instead of that conversion, so the identity is checked numerically.
    """

    alpha: np.ndarray

    def __post_init__(self):
        a = as_vector("alpha", self.alpha)
        if np.any(a == 0):
            raise ValueError("alpha: must be nonzero in every coordinate (alpha = 0 is a saddle of the flow)")
        object.__setattr__(self, "alpha", a)

    @property
    def _a2(self) -> np.ndarray:
        return self.alpha * self.alpha

    def link(self, s):
        with np.errstate(over="ignore"):
            return 2.0 * self._a2 * np.sinh(s)

    def link_derivative(self, s):
        with np.errstate(over="ignore"):
            return 2.0 * self._a2 * np.cosh(s)

    def conjugate(self, s):
        with np.errstate(over="ignore"):
            return 4.0 * self._a2 * np.sinh(0.5 * np.asarray(s)) ** 2

    def value(self, beta):
        z = np.asarray(beta, dtype=np.float64) / self._a2
        # 2 - sqrt(4 + z^2) = -z^2 / (2 + sqrt(4 + z^2)), exact for small |z|
        return self._a2 * (z * np.arcsinh(0.5 * z) - z * z / (2.0 + np.sqrt(4.0 + z * z)))


def implicit_bias_solution_two_pathway(X, y, alpha, tol: float = 1e-12) -> np.ndarray:
    """Minimiser of Woodworth et al.'s ``Q_alpha`` (:class:`WoodworthPenalty`) subject to ``X beta = y``:
    the limit of gradient flow on ``beta = w+^2 - w-^2`` from ``w+ = w- = alpha`` (COLT 2020, Thm 1).

    Solved by the same dual solver with the penalty's own link ``beta = 2 alpha^2 sinh(s)``. It equals
    :func:`implicit_bias_solution` with ``u0 = 2 alpha, v0 = 0`` (see :class:`WoodworthPenalty`).
    Raises ``RuntimeError`` if the dual solver fails.
    """
    X, y = _check_xy(X, y)
    tol = check_positive("tol", tol)
    a = as_finite_array("alpha", alpha, (0, 1))
    if a.ndim == 1 and a.shape[0] != X.shape[1]:
        raise ValueError(f"alpha: expected {X.shape[1]} entries (one per column of X), got shape {a.shape}")
    pen = WoodworthPenalty(alpha=np.array(np.broadcast_to(a, (X.shape[1],))))
    with warnings.catch_warnings():   # a failure raises below, with the solver's message
        warnings.simplefilter("ignore", NotConvergedWarning)
        res = minimize_penalty_interpolation(X, y, pen, tol=tol)
    if not res.success:
        raise RuntimeError(f"implicit_bias_solution_two_pathway: dual solver did not converge: {res.message} "
                           f"(KKT residual {res.kkt_residual:.3g})")
    return res.beta


def penalty_value(beta, u0, v0) -> float:
    """``Q(beta) = sum_i [|c_i| q(beta_i/|c_i|) - phi_i beta_i] / 2``, the implicit-bias penalty of the flow
    from ``(u0, v0)`` (``u0, v0`` broadcast to the shape of ``beta``)."""
    beta = as_vector("beta", beta)
    u = as_finite_array("u0", u0, (0, 1))
    v = as_finite_array("v0", v0, (0, 1))
    for name, a in (("u0", u), ("v0", v)):
        if a.ndim == 1 and a.shape != beta.shape:
            raise ValueError(f"{name}: expected {beta.shape[0]} entries (the length of beta), got {a.shape}")
    pen = implicit_bias_penalty(np.broadcast_to(u, beta.shape), np.broadcast_to(v, beta.shape))
    return float(np.sum(pen.value(beta)))


# ---------------------------------------------------------------------------------------------
# exact flow and extrapolation
# ---------------------------------------------------------------------------------------------

def simulate_flow(X, y, u0, v0, tol: float = 1e-10, t_max: float | None = None, rtol: float = 1e-10,
                  atol: float = 1e-14, method: str = "LSODA") -> FlowResult:
    """Exact gradient flow of ``beta = u v`` through its closed form (no discretisation in ``lr``).

    By the closed-form flow (theory: ``diagonal.beta_of_S``), ``beta(t) = |c| sinh(2 X^T lambda(t) + phi)`` where ``lambda`` solves the
    ``n``-dimensional ODE ``d lambda/dt = -(1/n) (X beta(X^T lambda) - y)``, ``lambda(0) = 0``
    (``S(t) = X^T lambda(t)`` is the integrated negative gradient). It is integrated with
    :func:`scipy.integrate.solve_ivp` (``method``, ``rtol``, ``atol`` passed through), with the
    analytic Jacobian ``-(1/n) X diag(2 |c| cosh(2 X^T lambda + phi)) X^T`` for implicit methods, and
    stopped by a terminal event once ``||X beta - y|| <= tol ||y||`` (or at ``t_max``; default
    ``1e12``, i.e. effectively only the event). Requires ``|u0| != |v0|`` (ValueError naming them).
    Sources: Woodworth et al. COLT 2020; Azulay et al. ICML 2021.
    """
    X, y = _check_xy(X, y)
    tol = check_positive("tol", tol)
    rtol = check_positive("rtol", rtol)
    atol = check_positive("atol", atol)
    t_max = 1e12 if t_max is None else check_positive("t_max", t_max)
    u, v = _inits_for(X, u0, v0)
    c_abs, phi = flow_constants(u, v)
    n = X.shape[0]
    ynorm = float(np.linalg.norm(y))
    target = tol * ynorm

    def beta_of(lam):
        with np.errstate(over="ignore"):
            return c_abs * np.sinh(2.0 * (X.T @ lam) + phi)

    def rhs(t, lam):
        return (y - X @ beta_of(lam)) / n

    def jac(t, lam):
        with np.errstate(over="ignore"):
            w = 2.0 * c_abs * np.cosh(2.0 * (X.T @ lam) + phi)
        return -((X * w) @ X.T) / n

    def event(t, lam):
        return float(np.linalg.norm(X @ beta_of(lam) - y)) - target

    event.terminal = True
    event.direction = -1

    lam0 = np.zeros(n)
    if event(0.0, lam0) <= 0:
        beta = beta_of(lam0)
        return FlowResult(beta=beta, lam=lam0, t=0.0, converged=True, message="residual below tol at t = 0",
                          nfev=1, rel_residual=float(np.linalg.norm(X @ beta - y) / max(ynorm, 1e-300)))
    kwargs = {"jac": jac} if method in ("LSODA", "BDF", "Radau") else {}
    sol = scipy.integrate.solve_ivp(rhs, (0.0, t_max), lam0, method=method, rtol=rtol, atol=atol,
                                    events=event, **kwargs)
    if sol.status == 1 and len(sol.t_events[0]):
        lam, t_end, conv = sol.y_events[0][-1], float(sol.t_events[0][-1]), True
        msg = f"relative residual reached tol = {tol:g} at t = {t_end:.6g}"
    else:
        lam, t_end, conv = sol.y[:, -1], float(sol.t[-1]), False
        msg = (f"did not reach tol = {tol:g}: " +
               ("t_max reached" if sol.status == 0 else f"integrator failed: {sol.message}"))
    beta = beta_of(lam)
    rel = float(np.linalg.norm(X @ beta - y) / max(ynorm, 1e-300))
    if not conv:
        warn_not_converged("simulate_flow", rel, tol, detail=msg.split(": ", 1)[-1])
    # the event root is located to ~machine precision in t; accept the event point
    return FlowResult(beta=beta, lam=lam, t=t_end, converged=conv, message=msg, nfev=int(sol.nfev),
                      njev=int(sol.njev), rel_residual=rel)


def extrapolate_to_flow(X, y, u0, v0, lrs, **gd_kwargs) -> ExtrapolationResult:
    """Richardson extrapolation of GD endpoints to the gradient-flow limit.

    Runs :func:`simulate_gd` at every learning rate in ``lrs`` (e.g. ``lr0, lr0/2, lr0/4, ...``) and
    fits ``beta(lr) = beta_flow + a1 lr + a2 lr^2 + ...`` through the endpoints (polynomial of degree
    ``K - 1`` evaluated at ``lr = 0`` by Neville's scheme). The endpoint of GD is a smooth function of
    ``lr`` [derived: ``u + v = (u0 + v0) prod_k (1 - lr g_k)``, ``u - v = (u0 - v0) prod_k (1 + lr g_k)``,
    so GD equals the flow of a modified initialisation, ``log`` of the products expanding in powers of
    ``lr``]; the stopping tolerance limits the attainable accuracy (use a small ``tol``).
    If any run did not converge, nothing is extrapolated: ``beta`` is NaN and ``converged`` says which.
    ``gd_kwargs`` go to :func:`simulate_gd` (``max_steps``, ``tol``, ``record_every``).
    """
    lrs = as_vector("lrs", lrs)
    if np.any(lrs <= 0):
        raise ValueError("lrs: learning rates must be > 0")
    if np.unique(lrs).shape[0] != lrs.shape[0]:
        raise ValueError("lrs: learning rates must be distinct")
    with warnings.catch_warnings():   # one warning for the whole ladder, below
        warnings.simplefilter("ignore", NotConvergedWarning)
        results = [simulate_gd(X, y, u0, v0, float(lr), **gd_kwargs) for lr in lrs]
    betas = np.stack([r.beta for r in results])
    conv = np.array([r.success for r in results])
    if not conv.all():
        bad = ", ".join(f"{lr:g}" for lr in lrs[~conv])
        warn_not_converged("extrapolate_to_flow",
                           [np.max(r.rel_residual) for r in results],
                           gd_kwargs.get("tol", inspect.signature(simulate_gd).parameters["tol"].default),
                           conv, f"not extrapolated: GD did not converge at lr = {bad}")
        return ExtrapolationResult(beta=np.full(betas.shape[1:], np.nan), betas=betas, lrs=lrs, converged=conv,
                                   message=f"not extrapolated: GD did not converge at lr = {bad}",
                                   gd_results=results)
    table = neville_table(lrs, [b for b in betas])
    beta = table[-1][0]
    err = float(np.linalg.norm(table[-1][0] - table[-2][1])) if len(lrs) > 1 else float("nan")
    return ExtrapolationResult(beta=beta, betas=betas, lrs=lrs, converged=conv,
                               message=f"extrapolated from {len(lrs)} learning rates (degree {len(lrs) - 1})",
                               error_estimate=err, table=table, gd_results=results)


# ---------------------------------------------------------------------------------------------
# limits: min l1 and min l2 interpolators
# ---------------------------------------------------------------------------------------------

def min_l1_interpolator(X, y) -> np.ndarray:
    """``argmin ||beta||_1 s.t. X beta = y`` (basis pursuit; the small-initialisation limit).

    Linear program in ``beta = p - m``, ``p, m >= 0``: ``min 1.(p + m)`` s.t. ``X p - X m = y``, solved by
    :func:`scipy.optimize.linprog` (``method="highs"``, tightened tolerances). The vertex returned
    has at most ``n`` nonzeros; the values on that support are then polished by a least-squares
    solve on the support columns when that keeps the signs and lowers the residual. Raises
    ``RuntimeError`` if the program is infeasible or the solver fails. (If the minimiser is not
    unique, one minimiser is returned.)
    """
    X, y = _check_xy(X, y)
    n, d = X.shape
    res = scipy.optimize.linprog(
        c=np.ones(2 * d), A_eq=np.hstack([X, -X]), b_eq=y, bounds=(0, None), method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10})
    if res.status != 0 or res.x is None:
        raise RuntimeError(f"min_l1_interpolator: linprog failed (status {res.status}): {res.message}")
    beta = res.x[:d] - res.x[d:]
    scale = max(float(np.max(np.abs(beta))), 1e-300)
    supp = np.flatnonzero(np.abs(beta) > 1e-9 * scale)
    if 0 < supp.size <= n:
        bs = np.linalg.lstsq(X[:, supp], y, rcond=None)[0]
        cand = np.zeros(d)
        cand[supp] = bs
        if (np.all(np.sign(bs) == np.sign(beta[supp]))
                and np.linalg.norm(X @ cand - y) <= np.linalg.norm(X @ beta - y)):
            beta = cand
    return beta


def min_l2_interpolator(X, y) -> np.ndarray:
    """``argmin ||beta||_2 s.t. X beta = y`` = ``X^+ y`` (the large-initialisation / lazy limit), by
    :func:`numpy.linalg.lstsq`. Raises ``RuntimeError`` if ``X beta = y`` has no solution (relative
    residual above ``1e-8``)."""
    X, y = _check_xy(X, y)
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    ynorm = float(np.linalg.norm(y))
    r = float(np.linalg.norm(X @ beta - y))
    if r > 1e-8 * max(ynorm, 1e-300) and ynorm > 0:
        raise RuntimeError(f"min_l2_interpolator: X beta = y has no solution (relative residual {r / ynorm:.3g})")
    return beta
