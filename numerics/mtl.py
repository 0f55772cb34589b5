"""Multi-task learning (MTL) in two-pathway diagonal networks: gradient descent and the l1,2 penalty.

Model ([LL] Lippl & Lindsey, arXiv:2310.02396, Sec. 3, as in the authors' public code): one shared
first layer ``w_plus, w_minus`` (d,) and one readout pair per task,

    beta_t = w_plus * v_plus_t - w_minus * v_minus_t,        t in {main, aux},

every weight starting at ``alpha`` (so ``beta_t(0) = 0``), trained by full-batch gradient descent on
the MSE over the *concatenated* samples of both tasks,

    L = (||X_main beta_main - y_main||^2 + ||X_aux beta_aux - y_aux||^2) / (2 (n_main + n_aux)).

(The two tasks are weighted by their sample counts, not equally: with n_aux >> n_main the auxiliary
task dominates the shared-layer gradient, as in the authors' code.) A run has converged when
``||X_t beta_t - y_t|| <= tol ||y_t||`` for *every* task.

The minimum weight-norm factorisation of ``(beta_main_i, beta_aux_i)`` costs
``2 ||(beta_main_i, beta_aux_i)||_2``, giving the l1,2 ("group lasso") penalty [LL, Sec. 3].
That is the *explicit* (weight-decay) bias: gradient descent from small ``alpha`` does not land on the
l1,2 minimiser exactly. :func:`mtl_gap_vs_alpha` measures by how much.

The gradient-descent engine :func:`shared_layer_gd` handles any number of tasks; the single-task
case (``K = 1``) is the two-pathway network used for pretraining and finetuning in
:mod:`numerics.ptft`.

Batching: every array may carry an optional leading batch axis ``B`` (independent runs). Runs are
frozen (removed from the working set) as soon as they converge, so a run's result does not depend on
its batch mates (up to BLAS rounding, ~1e-15 relative).
"""
from __future__ import annotations

import warnings

from dataclasses import dataclass, field

import numpy as np

from ptft.numerics.validation import as_finite_array, batch_shape, check_int, check_positive, warn_not_converged

__all__ = ["conditional_penalty", "MTLWeights", "MTLResult", "GroupLassoResult", "MTLGapTable", "simulate_mtl_gd",
           "group_lasso_interpolator", "group_norm", "mtl_gap_vs_alpha", "shared_layer_gd"]

#: a loss this many times the reference loss ``sum_t ||y_t||^2 / (2N)`` (or larger than the starting
#: loss by the same factor) counts as divergence.
DIVERGENCE_FACTOR = 1e6


# ----------------------------------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------------------------------
def _task_arrays(pairs):
    """Validate ``[(name_X, X, name_y, y), ...]``; return batched-or-shared X's, batched y's, B, batched."""
    Xs, ys = [], []
    for nx, X, ny, y in pairs:
        Xs.append(as_finite_array(nx, X, (2, 3)))
        ys.append(as_finite_array(ny, y, (1, 2)))
    B = batch_shape(**{p[0]: (X, 2) for p, X in zip(pairs, Xs)}, **{p[2]: (y, 1) for p, y in zip(pairs, ys)})
    batched = B is not None
    B = 1 if B is None else B
    d = Xs[0].shape[-1]
    out_X, out_y = [], []
    for (nx, _, ny, _), X, y in zip(pairs, Xs, ys):
        if X.shape[-1] != d:
            raise ValueError(f"{nx}: has {X.shape[-1]} columns (features), {pairs[0][0]} has {d}")
        n = X.shape[-2]
        if y.shape[-1] != n:
            raise ValueError(f"{ny}: has {y.shape[-1]} samples, {nx} has {n} rows")
        out_X.append(X)                                    # (n, d) shared or (B, n, d)
        out_y.append(np.broadcast_to(y, (B, n)).copy())    # (B, n)
    return out_X, out_y, B, batched, d


def _weights_array(name, w, B, d):
    """A weight vector (d,) or batch (B, d) as a fresh (B, d) array."""
    w = as_finite_array(name, w, (1, 2))
    if w.shape[-1] != d:
        raise ValueError(f"{name}: has {w.shape[-1]} coordinates, the design has {d} columns")
    if w.ndim == 2 and w.shape[0] != B:
        raise ValueError(f"{name}: batch size {w.shape[0]} does not match the data's {B}")
    return np.broadcast_to(w, (B, d)).copy()


def _matvec(X, b):
    """``X b`` for a batch of vectors b (B, d); X shared (n, d) or batched (B, n, d)."""
    if X.ndim == 2:
        return b @ X.T
    return np.matmul(X, b[:, :, None])[:, :, 0]


def _rmatvec(X, r):
    """``X^T r`` for a batch r (B, n)."""
    if X.ndim == 2:
        return r @ X
    return np.matmul(r[:, None, :], X)[:, 0, :]


# ----------------------------------------------------------------------------------------------------
# the gradient-descent engine
# ----------------------------------------------------------------------------------------------------
@dataclass
class _EngineOutput:
    w_plus: np.ndarray          # (B, d)
    w_minus: np.ndarray         # (B, d)
    v_plus: list                # K arrays (B, d)
    v_minus: list               # K arrays (B, d)
    converged: np.ndarray       # (B,) bool
    steps: np.ndarray           # (B,) int
    residuals: np.ndarray       # (K, B) relative residuals ||X_t beta_t - y_t|| / ||y_t||
    messages: list              # B strings


#: a task's loss is evaluated through its Gram matrix ``X^T X`` (one d x d matvec per step instead of two
#: n x d ones) when ``2 n > d`` and the stopping tolerance is at least this. Below it the Gram-form
#: residual ``b^T G b - 2 b^T X^T y + ||y||^2`` (cancellation error ~1e-13 ||y||^2) is too coarse to steer
#: the stopping rule, and the direct form is used.
GRAM_MIN_TOL = 1e-6


class _TaskLoss:
    """One task's term ``||X beta - y||^2`` for a batch of runs: squared residual norms and ``X^T r``.

    Direct form: ``r = X beta - y`` (two n x d matvecs). Gram form (``gram=True``): ``g = G beta - X^T y``
    with ``G = X^T X`` precomputed, and ``||r||^2 = beta . (g - X^T y) + ||y||^2`` (one d x d matvec). The
    Gram-form residual is an estimate; :meth:`exact_rn2` recomputes it directly, and the engine only
    accepts convergence on the exact value. Both forms give the same iterates up to rounding (~1e-13).
    """

    def __init__(self, X, y, gram: bool):
        self.X, self.y, self.gram = X, y, gram
        if gram:
            if X.ndim == 2:
                self.G = X.T @ X
            else:
                self.G = np.matmul(np.swapaxes(X, 1, 2), X)
            self.Xty = _rmatvec(X, y)
            self.yy = np.einsum("bn,bn->b", y, y)

    def keep(self, idx) -> None:
        """Restrict to the runs ``idx`` (those still training)."""
        if self.X.ndim == 3:
            self.X = self.X[idx]
            if self.gram:
                self.G = self.G[idx]
        self.y = self.y[idx]
        if self.gram:
            self.Xty, self.yy = self.Xty[idx], self.yy[idx]

    def evaluate(self, beta):
        """``(||X beta - y||^2, X^T (X beta - y))`` per run; the first exact in direct form, estimated in Gram form."""
        if self.gram:
            g = _matvec(self.G, beta) - self.Xty
            rn2 = np.einsum("bd,bd->b", beta, g - self.Xty) + self.yy
            return np.maximum(rn2, 0.0), g
        r = _matvec(self.X, beta) - self.y
        return np.einsum("bn,bn->b", r, r), _rmatvec(self.X, r)

    def exact_rn2(self, beta, idx):
        """``||X beta - y||^2`` computed directly, for the runs ``idx`` of the working set."""
        X = self.X if self.X.ndim == 2 else self.X[idx]
        r = _matvec(X, beta[idx]) - self.y[idx]
        return np.einsum("bn,bn->b", r, r)


def shared_layer_gd(Xs, ys, w_plus, w_minus, v_plus, v_minus, lr, max_steps, tol) -> _EngineOutput:
    """Full-batch GD on ``L = sum_t ||X_t beta_t - y_t||^2 / (2 sum_t n_t)``, ``beta_t = w+ v+_t - w- v-_t``.

    Low-level engine (inputs already validated): ``Xs`` K designs, each (n_t, d) shared by the batch or
    (B, n_t, d); ``ys`` K arrays (B, n_t); weights (B, d) (``v_plus``/``v_minus`` lists of K). Gradients,
    with ``g_t = X_t^T (X_t beta_t - y_t) / N``: ``dL/dw+ = sum_t g_t v+_t``, ``dL/dw- = -sum_t g_t v-_t``,
    ``dL/dv+_t = g_t w+``, ``dL/dv-_t = -g_t w-``. Internally the minus pathway is stored with a signed
    readout ``-v-`` so both pathways share one formula: ``U = (w+, w-)``, ``V_t = (v+_t, -v-_t)``,
    ``beta_t = sum_p U_p V_tp``, ``dL/dU = sum_t g_t V_t``, ``dL/dV_t = g_t U``.
    A task with ``2 n_t > d`` is evaluated through its Gram matrix when ``tol >= GRAM_MIN_TOL`` (about
    half the cost per step); convergence is then confirmed on the directly computed residual.
    Convergence is checked before every update; ``steps`` counts updates. A run whose loss becomes
    non-finite or exceeds ``DIVERGENCE_FACTOR`` times its reference loss raises ValueError (``lr``).
    """
    K = len(Xs)
    B, d = w_plus.shape
    N = float(sum(X.shape[-2] for X in Xs))
    ynorm = np.stack([np.linalg.norm(y, axis=1) for y in ys])            # (K, B)
    thresh_all = (tol * ynorm) ** 2
    U = np.stack([w_plus, w_minus])                                       # (2, B, d)
    V = np.stack([np.stack([v_plus[t], -v_minus[t]]) for t in range(K)])  # (K, 2, B, d)
    losses = [_TaskLoss(X, y, gram=(2 * X.shape[-2] > d and tol >= GRAM_MIN_TOL)) for X, y in zip(Xs, ys)]

    out_U, out_V = U.copy(), V.copy()
    converged = np.zeros(B, dtype=bool)
    steps = np.full(B, max_steps, dtype=np.int64)
    rn2_out = np.full((K, B), np.nan)
    messages = [f"maximum number of steps (max_steps={max_steps}) reached before ||X beta - y|| <= "
                f"tol ||y|| (tol={tol:g}) for every task"] * B
    ok_msg = "converged: ||X beta - y|| <= tol ||y|| for every task"

    # working set: only the runs still being trained
    act = np.arange(B)
    thresh = thresh_all
    ynsq = 0.5 * np.sum(ynorm ** 2, axis=0) / N
    ref_loss = None
    rn2 = np.empty((K, B))
    G = np.empty((K, B, d))
    inv_N = 1.0 / N

    for step in range(max_steps + 1):
        betas = np.einsum("pbd,tpbd->tbd", U, V) if K > 1 else (U[0] * V[0, 0] + U[1] * V[0, 1])[None]
        for t in range(K):
            rn2[t], G[t] = losses[t].evaluate(betas[t])
        loss = (0.5 * inv_N) * rn2.sum(axis=0)
        if ref_loss is None:
            ref_loss = DIVERGENCE_FACTOR * np.maximum(np.maximum(loss, ynsq), np.finfo(float).tiny)
        if not np.all(loss <= ref_loss):              # also catches NaN
            j = int(np.flatnonzero(~(loss <= ref_loss))[0])
            raise ValueError(f"lr: gradient descent diverged (run {int(act[j])}, step {step}, loss "
                             f"{loss[j]:.3g} > {DIVERGENCE_FACTOR:g} x reference "
                             f"{ref_loss[j] / DIVERGENCE_FACTOR:.3g}); reduce lr={lr:g}")
        done = (rn2 <= thresh).all(axis=0)
        if step == max_steps or done.any():
            # confirm (or report) on directly computed residuals where the Gram form only estimated them
            idx = np.arange(act.size) if step == max_steps else np.flatnonzero(done)
            for t in range(K):
                if losses[t].gram:
                    rn2[t, idx] = losses[t].exact_rn2(betas[t], idx)
            done = (rn2 <= thresh).all(axis=0)
        if step == max_steps or done.any():
            fin = np.arange(act.size) if step == max_steps else np.flatnonzero(done)
            g_idx = act[fin]
            out_U[:, g_idx] = U[:, fin]
            out_V[:, :, g_idx] = V[:, :, fin]
            rn2_out[:, g_idx] = rn2[:, fin]
            for j in np.flatnonzero(done):
                converged[act[j]] = True
                steps[act[j]] = step
                messages[act[j]] = ok_msg
            if step == max_steps:
                break
            keep = np.flatnonzero(~done)
            if keep.size == 0:
                break
            act = act[keep]
            U, V = U[:, keep], V[:, :, keep]
            G = G[:, keep]
            for task in losses:
                task.keep(keep)
            thresh = thresh_all[:, act]
            ref_loss = ref_loss[keep]
            rn2 = np.empty((K, act.size))
        G *= lr * inv_N                                   # lr * gradient w.r.t. beta_t
        dU = np.einsum("tbd,tpbd->pbd", G, V) if K > 1 else G[0] * V[0]
        V -= G[:, None] * U[None]
        U -= dU

    with np.errstate(divide="ignore", invalid="ignore"):
        rn = np.sqrt(rn2_out)
        residuals = np.where(ynorm > 0, rn / ynorm, rn)
    return _EngineOutput(out_U[0], out_U[1], [out_V[t, 0] for t in range(K)], [-out_V[t, 1] for t in range(K)],
                         converged, steps, residuals, messages)


# ----------------------------------------------------------------------------------------------------
# MTL gradient descent
# ----------------------------------------------------------------------------------------------------
@dataclass
class MTLWeights:
    """Weights of the two-task network; arrays (d,) or (B, d)."""

    w_plus: np.ndarray
    w_minus: np.ndarray
    v_plus_main: np.ndarray
    v_minus_main: np.ndarray
    v_plus_aux: np.ndarray
    v_minus_aux: np.ndarray

    @property
    def beta_main(self) -> np.ndarray:
        return self.w_plus * self.v_plus_main - self.w_minus * self.v_minus_main

    @property
    def beta_aux(self) -> np.ndarray:
        return self.w_plus * self.v_plus_aux - self.w_minus * self.v_minus_aux


@dataclass
class MTLResult:
    """Endpoint of :func:`simulate_mtl_gd` (cf. ``scipy.optimize.OptimizeResult``).

    ``beta_main``, ``beta_aux`` (d,) or (B, d); ``weights`` (:class:`MTLWeights`); ``converged`` and
    ``steps`` (scalars, or (B,) arrays when batched); ``residual_main``/``residual_aux`` the relative
    residuals ``||X beta - y|| / ||y||``; ``message`` (str, or a list of B strings). ``success`` is True
    only if every run converged.
    """

    beta_main: np.ndarray
    beta_aux: np.ndarray
    weights: MTLWeights
    converged: bool | np.ndarray
    steps: int | np.ndarray
    residual_main: float | np.ndarray
    residual_aux: float | np.ndarray
    message: str | list
    alpha: float = field(default=np.nan)
    lr: float = field(default=np.nan)

    @property
    def success(self) -> bool:
        return bool(np.all(self.converged))


def simulate_mtl_gd(X_main, y_main, X_aux, y_aux, alpha, lr, max_steps: int = 200_000,
                    tol: float = 1e-6) -> MTLResult:
    """Full-batch GD of the shared-first-layer two-pathway network on a main and an auxiliary task.

    ``L = (||X_main beta_main - y_main||^2 + ||X_aux beta_aux - y_aux||^2) / (2 (n_main + n_aux))``
    (MSE over the concatenated samples) with ``beta_t = w+ v+_t - w- v-_t``, all six weight vectors
    starting at ``alpha`` [LL, Sec. 3; authors' code]. Stops when ``||X_t beta_t - y_t|| <= tol ||y_t||``
    for both tasks, or after ``max_steps`` updates (then ``converged=False`` with a message).

    Parameters
    ----------
    X_main : (n_main, d) or (B, n_main, d); y_main : (n_main,) or (B, n_main)
    X_aux : (n_aux, d) or (B, n_aux, d); y_aux : (n_aux,) or (B, n_aux)
    alpha : initial value of every weight (> 0). lr : learning rate (> 0).

    Raises
    ------
    ValueError naming the parameter for malformed input, and naming ``lr`` on divergence.
    """
    Xs, ys, B, batched, d = _task_arrays([("X_main", X_main, "y_main", y_main), ("X_aux", X_aux, "y_aux", y_aux)])
    alpha = check_positive("alpha", alpha)
    lr = check_positive("lr", lr)
    max_steps = check_int("max_steps", max_steps, minimum=0)
    tol = check_positive("tol", tol)
    init = [np.full((B, d), alpha) for _ in range(6)]
    o = shared_layer_gd(Xs, ys, init[0], init[1], [init[2], init[3]], [init[4], init[5]], lr, max_steps, tol)
    sq = (lambda a: a) if batched else (lambda a: a[0])
    w = MTLWeights(sq(o.w_plus), sq(o.w_minus), sq(o.v_plus[0]), sq(o.v_minus[0]), sq(o.v_plus[1]),
                   sq(o.v_minus[1]))
    conv = o.converged if batched else bool(o.converged[0])
    steps = o.steps if batched else int(o.steps[0])
    if not np.all(o.converged):
        warn_not_converged("simulate_mtl_gd", np.max(o.residuals, axis=0), tol, o.converged,
                           f"max_steps = {max_steps} reached")
    return MTLResult(beta_main=w.beta_main, beta_aux=w.beta_aux, weights=w, converged=conv, steps=steps,
                     residual_main=sq(o.residuals[0]) if batched else float(o.residuals[0, 0]),
                     residual_aux=sq(o.residuals[1]) if batched else float(o.residuals[1, 0]),
                     message=o.messages if batched else o.messages[0], alpha=alpha, lr=lr)


# ----------------------------------------------------------------------------------------------------
# the l1,2 (group-lasso) interpolator
# ----------------------------------------------------------------------------------------------------
def group_norm(beta_main, beta_aux) -> float | np.ndarray:
    """``||B||_{1,2} = sum_i sqrt(beta_main_i^2 + beta_aux_i^2)`` (per run if batched (B, d))."""
    bm = as_finite_array("beta_main", beta_main, (1, 2))
    ba = as_finite_array("beta_aux", beta_aux, (1, 2))
    if bm.shape != ba.shape:
        raise ValueError(f"beta_aux: shape {ba.shape} does not match beta_main's {bm.shape}")
    val = np.sum(np.hypot(bm, ba), axis=-1)
    return float(val) if bm.ndim == 1 else val


def conditional_penalty(beta, beta_aux) -> np.ndarray:
    """MTL cost of a main-task coefficient given the auxiliary one: ``sqrt(beta^2 + beta_aux^2) - |beta_aux|``.

    The per-coordinate l1,2 penalty minus its value at ``beta = 0`` (theory: ``mtl.conditional_penalty``;
    [LL] Sec. 3). Evaluated as ``beta^2 / (sqrt(beta^2 + beta_aux^2) + |beta_aux|)``, which has no
    cancellation when ``|beta| << |beta_aux|`` (the direct form loses all digits there).
    """
    b = as_finite_array("beta", beta)
    ba = as_finite_array("beta_aux", beta_aux)
    denom = np.hypot(b, ba) + np.abs(ba)
    return np.divide(b * b, denom, out=np.zeros(np.broadcast(b, ba).shape), where=denom > 0)


@dataclass
class GroupLassoResult:
    """``argmin sum_i ||(b_main_i, b_aux_i)||_2  s.t.  X_main b_main = y_main, X_aux b_aux = y_aux``.

    ``value`` is the optimal ``||B||_{1,2}`` (recomputed from the returned point), ``status`` the cvxpy
    status, ``residual_main``/``residual_aux`` the relative constraint violations.
    """

    beta_main: np.ndarray
    beta_aux: np.ndarray
    value: float
    status: str
    residual_main: float
    residual_aux: float
    solver_value: float = np.nan

    @property
    def success(self) -> bool:
        return self.status == "optimal"

    converged = success


def group_lasso_interpolator(X_main, y_main, X_aux, y_aux, *, tol: float = 1e-10) -> GroupLassoResult:
    """Minimum-l1,2 interpolating pair, the explicit (minimum weight-norm) bias of MTL [LL, Sec. 3].

    Second-order cone program solved by cvxpy with CLARABEL (``tol_gap_abs = tol_gap_rel = tol_feas =
    tol``). Unbatched only. Raises RuntimeError if the solver does not report ``optimal``.
    """
    import cvxpy as cp

    Xs, ys, B, batched, d = _task_arrays([("X_main", X_main, "y_main", y_main), ("X_aux", X_aux, "y_aux", y_aux)])
    if batched:
        raise ValueError("X_main: group_lasso_interpolator takes one problem (no batch axis); loop over runs")
    tol = check_positive("tol", tol)
    Xm, Xa = Xs
    ym, ya = ys[0][0], ys[1][0]
    # rows rescaled to unit norm: the same feasible set, better conditioned for the interior-point solver
    sm = 1.0 / np.maximum(np.linalg.norm(Xm, axis=1), np.finfo(float).tiny)
    sa = 1.0 / np.maximum(np.linalg.norm(Xa, axis=1), np.finfo(float).tiny)
    bm, ba = cp.Variable(d), cp.Variable(d)
    obj = cp.Minimize(cp.sum(cp.norm(cp.vstack([bm, ba]), 2, axis=0)))
    cons = [(Xm * sm[:, None]) @ bm == ym * sm, (Xa * sa[:, None]) @ ba == ya * sa]
    prob = cp.Problem(obj, cons)
    try:
        with warnings.catch_warnings():
            # cvxpy warns on 'optimal_inaccurate'; we check feasibility ourselves below and keep the status
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            prob.solve(solver=cp.CLARABEL, tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol, max_iter=500)
    except cp.error.SolverError as exc:
        raise RuntimeError(f"group_lasso_interpolator: CLARABEL failed ({exc})") from None
    def rel(X, b, y):
        return float(np.linalg.norm(X @ b - y) / max(np.linalg.norm(y), np.finfo(float).tiny))

    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or bm.value is None:
        raise RuntimeError(f"group_lasso_interpolator: solver status {prob.status!r} (not optimal)")
    b_m, b_a = np.asarray(bm.value, dtype=float), np.asarray(ba.value, dtype=float)
    if prob.status == cp.OPTIMAL_INACCURATE:
        # accepted only if our own check finds the point feasible to 1e-7 (the objective is then within the
        # solver's reported gap); the status is kept in the result so the caller can see it
        worst = max(rel(Xm, b_m, ym), rel(Xa, b_a, ya))
        if not worst <= 1e-7:
            raise RuntimeError(f"group_lasso_interpolator: solver status 'optimal_inaccurate' with relative "
                               f"constraint residual {worst:.1e} > 1e-7")

    return GroupLassoResult(beta_main=b_m, beta_aux=b_a, value=group_norm(b_m, b_a), status=prob.status,
                            residual_main=rel(Xm, b_m, ym), residual_aux=rel(Xa, b_a, ya),
                            solver_value=float(prob.value))


# ----------------------------------------------------------------------------------------------------
# how far is the GD endpoint from the l1,2 minimiser?
# ----------------------------------------------------------------------------------------------------
@dataclass
class MTLGapTable:
    """Group norms of the GD endpoints against the l1,2 minimum, one row per ``alpha``.

    ``gap = ||B_GD||_{1,2} / min ||B||_{1,2} - 1`` (NaN where GD did not converge: never used
    silently); ``distance`` = ``||B_GD - B_min||_F / ||B_min||_F``.
    """

    alphas: np.ndarray
    group_norm_gd: np.ndarray
    group_norm_min: float
    gap: np.ndarray
    distance: np.ndarray
    steps: np.ndarray
    converged: np.ndarray
    lr: float
    minimiser: GroupLassoResult
    results: list

    def __str__(self) -> str:
        lines = [f"min ||B||_1,2 = {self.group_norm_min:.6g}   (lr = {self.lr:g})",
                 f"{'alpha':>10} {'||B_GD||_1,2':>14} {'gap':>10} {'dist':>10} {'steps':>8} conv"]
        for a, g, gp, dist, s, c in zip(self.alphas, self.group_norm_gd, self.gap, self.distance,
                                        self.steps, self.converged):
            lines.append(f"{a:10.3g} {g:14.6g} {gp:10.4g} {dist:10.4g} {s:8d} {bool(c)}")
        return "\n".join(lines)


def mtl_gap_vs_alpha(X_main, y_main, X_aux, y_aux, alphas, lr, *, max_steps: int = 200_000,
                     tol: float = 1e-6) -> MTLGapTable:
    """``||B_GD(alpha)||_{1,2} / min_{X B = Y} ||B||_{1,2} - 1`` for each initial scale in ``alphas``.

    One unbatched problem; GD by :func:`simulate_mtl_gd`, the minimum by :func:`group_lasso_interpolator`.
    The gap is *not* zero for small alpha (the GD endpoint is not the l1,2 minimiser; it grows as
    alpha -> 0, see docs/differences.md); this function measures it.
    """
    alphas = as_finite_array("alphas", np.atleast_1d(alphas), (1,))
    if np.any(alphas <= 0):
        raise ValueError("alphas: every initial scale must be > 0")
    lr = check_positive("lr", lr)
    gl = group_lasso_interpolator(X_main, y_main, X_aux, y_aux)
    Bmin = np.concatenate([gl.beta_main, gl.beta_aux])
    gn, gap, dist, steps, conv, results = [], [], [], [], [], []
    for a in alphas:
        r = simulate_mtl_gd(X_main, y_main, X_aux, y_aux, alpha=float(a), lr=lr, max_steps=max_steps, tol=tol)
        results.append(r)
        g = group_norm(r.beta_main, r.beta_aux)
        ok = bool(r.converged)
        gn.append(g if ok else np.nan)
        gap.append(g / gl.value - 1.0 if ok else np.nan)
        dist.append(np.linalg.norm(np.concatenate([r.beta_main, r.beta_aux]) - Bmin) / np.linalg.norm(Bmin)
                    if ok else np.nan)
        steps.append(r.steps)
        conv.append(ok)
    return MTLGapTable(alphas=alphas, group_norm_gd=np.array(gn), group_norm_min=gl.value, gap=np.array(gap),
                       distance=np.array(dist), steps=np.array(steps), converged=np.array(conv), lr=lr,
                       minimiser=gl, results=results)
