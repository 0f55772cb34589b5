"""Fine-tuning with linear teachers [SBG]: closed-form limits, risks, and the simulators that test them.

Source: [SBG] Shachaf, Brutzkus, Globerson, "A Theoretical Analysis of Fine-tuning with Linear Teachers",
NeurIPS 2021, arXiv:2107.01641 (Sec. 3 linear regression, Sec. 4 deep linear networks, Sec. 5 shallow ReLU
networks in the NTK regime). Symbolic derivations: ``theory.linear_teachers`` (finetune_limit,
population_risk, expected_risk_isotropic, similarity, deep_linear_limit, relu_ntk).

Setting: target data ``x ~ N(0, Sigma)``, labels ``y = theta_T . x + noise`` (variance ``noise^2``); the
source model ``theta_S`` is the start of gradient descent (GD) on the target loss ``(1/2n)||X w - y||^2``
(``n < d``: many interpolators; GD picks one).

* Linear model: :func:`finetune_limit` ``theta_S + X^+ (y - X theta_S)``; :func:`population_risk`;
  :func:`expected_risk` (isotropic Gaussian designs, closed form).
* Depth-N linear network from a balanced factorisation of ``theta_S`` (:func:`balanced_factorisation`):
  :func:`deep_linear_limit` ``X^+ y + c (I - P) theta_S`` with the scalar ``c`` of the conservation law;
  :func:`simulate_deep_linear_gd` (GD on the layers, optionally with the first layers frozen).
* Two-layer ReLU network: :func:`relu_ntk` (closed-form arc-cosine NTK), :func:`ntk_finetune_predictor`
  (kernel regression of the residual from the pretrained function), :func:`init_relu_network`,
  :func:`simulate_relu_gd` (GD on both layers from a given start).

Every random draw takes an explicit seed; bad input raises ValueError naming the parameter; a simulation
that stops before its tolerance returns ``converged=False`` and emits a NotConvergedWarning.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from ptft.numerics.data import SeedLike, as_generator
from ptft.numerics.validation import (as_finite_array, as_matrix, as_vector, check_int, check_nonnegative,
                                     check_positive, warn_not_converged)

__all__ = ["finetune_limit", "population_risk", "expected_risk", "similarity", "sample_complexity_isotropic",
           "DeterministicRisk", "expected_risk_deterministic", "power_law_spectrum", "expected_risk_power_law",
           "DeepLinearLimit", "deep_linear_limit", "balanced_factorisation", "stack_weights",
           "DeepLinearGDResult", "simulate_deep_linear_gd", "frozen_first_layers_limit",
           "relu_ntk", "ntk_finetune_predictor", "ReluNetwork", "init_relu_network", "relu_forward",
           "ReluGDResult", "simulate_relu_gd", "MAX_DEPTH"]

#: the deepest network the deep-linear functions accept
MAX_DEPTH = 8


# ----------------------------------------------------------------------------------------------------
# linear regression from theta_S
# ----------------------------------------------------------------------------------------------------
def _design_and_labels(X, y, theta_s=None):
    X = as_matrix("X", X)
    y = as_vector("y", y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y: has {y.shape[0]} entries but X has {X.shape[0]} rows")
    if theta_s is None:
        return X, y, None
    theta_s = as_vector("theta_s", theta_s)
    if theta_s.shape[0] != X.shape[1]:
        raise ValueError(f"theta_s: has {theta_s.shape[0]} entries but X has {X.shape[1]} columns")
    return X, y, theta_s


def _pinv_solve(X: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``X^+ r`` by least squares (the minimum-norm solution; SVD based, well conditioned)."""
    return np.linalg.lstsq(X, r, rcond=None)[0]


def finetune_limit(X, y, theta_s) -> np.ndarray:
    """GD on ``(1/2n)||X theta - y||^2`` from ``theta_S`` ends at ``theta_S + X^+ (y - X theta_S)``.

    [SBG] Sec. 3 (linear regression; theory: ``linear_teachers.finetune_limit``): every GD update is in the
    row space of ``X``, so the endpoint is the interpolator closest to ``theta_S`` in Euclidean norm, for
    any stable step size (no O(lr) error). ``X`` (n, d), ``y`` (n,), ``theta_s`` (d,).
    """
    X, y, theta_s = _design_and_labels(X, y, theta_s)
    return theta_s + _pinv_solve(X, y - X @ theta_s)


def _covariance(sigma, d: int) -> np.ndarray | None:
    """``sigma`` as a (d, d) matrix, a (d,) diagonal, or None (identity)."""
    if sigma is None:
        return None
    s = as_finite_array("sigma", sigma, (1, 2))
    if s.ndim == 1:
        if s.shape[0] != d:
            raise ValueError(f"sigma: diagonal has {s.shape[0]} entries, expected {d}")
        if np.any(s < 0):
            raise ValueError("sigma: a covariance diagonal must be non-negative")
        return s
    if s.shape != (d, d):
        raise ValueError(f"sigma: expected shape ({d}, {d}), got {s.shape}")
    if not np.allclose(s, s.T, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(s).max()))):
        raise ValueError("sigma: a covariance matrix must be symmetric")
    return s


def population_risk(theta, theta_t, sigma=None, noise: float = 0.0):
    """``E_(x, y) (theta . x - y)^2 = (theta - theta_T)^T Sigma (theta - theta_T) + noise^2``.

    [SBG] Sec. 2 (squared loss, linear teacher ``y = theta_T . x + noise``; theory:
    ``linear_teachers.population_risk``). ``theta`` (d,) or a batch (B, d); ``sigma`` the covariance of
    ``x``: (d, d), its diagonal (d,), or None for the identity; ``noise`` the label-noise standard deviation
    (the excess risk is the value minus ``noise^2``). Returns a float, or (B,) for a batch.
    """
    theta = as_vector("theta", theta, batched=True)
    theta_t = as_vector("theta_t", theta_t)
    if theta.shape[-1] != theta_t.shape[0]:
        raise ValueError(f"theta_t: has {theta_t.shape[0]} entries but theta has {theta.shape[-1]}")
    noise = check_nonnegative("noise", noise)
    s = _covariance(sigma, theta_t.shape[0])
    delta = theta - theta_t
    if s is None:
        q = np.sum(delta * delta, axis=-1)
    elif s.ndim == 1:
        q = np.sum(s * delta * delta, axis=-1)
    else:
        q = np.einsum("...i,ij,...j->...", delta, s, delta)
    q = q + noise ** 2
    return float(q) if np.ndim(q) == 0 else q


def expected_risk(n: int, d: int, theta_s, theta_t, noise: float = 0.0) -> float:
    """Mean population risk of the fine-tuned ``theta_hat`` over isotropic Gaussian designs ``X ~ N(0, I)^(n x d)``.

    ``theta_hat - theta_T = (I - P)(theta_S - theta_T) + X^+ eps`` with ``P = X^+ X`` a uniformly random
    rank-min(n, d) projection, so ``E (I - P) = (1 - n/d) I`` for ``n <= d``, and
    ``E tr((X X^T)^-1) = n/(d - n - 1)`` (inverse Wishart):

    * ``n < d``:  ``(1 - n/d) ||theta_S - theta_T||^2 + noise^2 (1 + n/(d - n - 1))``,
    * ``n >= d``: ``noise^2 (1 + d/(n - d - 1))`` (least squares; ``theta_S`` forgotten).

    [SBG] Sec. 3 (theory: ``linear_teachers.expected_risk_isotropic``); the noise term needs ``d - n > 1``
    (``n - d > 1`` above ``d``), else it is infinite. Includes the irreducible ``noise^2``.
    """
    n = check_int("n", n, minimum=0)
    d = check_int("d", d)
    theta_s = as_vector("theta_s", theta_s)
    theta_t = as_vector("theta_t", theta_t)
    if theta_s.shape != (d,) or theta_t.shape != (d,):
        raise ValueError(f"theta_s: theta_s and theta_t must have d = {d} entries, got {theta_s.shape}, "
                         f"{theta_t.shape}")
    noise = check_nonnegative("noise", noise)
    dist2 = float(np.sum((theta_s - theta_t) ** 2))
    var = 0.0
    if noise > 0:
        if n < d:
            var = n / (d - n - 1) if d - n - 1 > 0 else math.inf
        else:
            var = d / (n - d - 1) if n - d - 1 > 0 else math.inf
    bias = (1.0 - n / d) * dist2 if n < d else 0.0
    return bias + noise ** 2 * (1.0 + var)


def similarity(theta_s, theta_t, sigma=None) -> float:
    """``||Sigma^(1/2) (theta_S - theta_T)||^2``: the risk of the source model on the target (noiseless).

    The measure of source-target similarity that weighs the difference by the target covariance ([SBG]
    Sec. 3, "the relation between the source task, the target task and the covariance structure of the
    target data"; theory: ``linear_teachers.similarity``, which states the realised measure
    ``||Sigma^(1/2)(I - P)(theta_S - theta_T)||^2`` given the design; this is its value at ``n = 0``, where
    ``P = 0``). It is the fine-tuned risk at ``n = 0`` and scales
    the whole risk curve: for a difference of random direction ``E risk(n) = similarity * r(n)``, with
    ``r(n)`` the normalised risk curve of the covariance, so the samples needed for a risk ``eps`` fall as
    the similarity falls.
    """
    return population_risk(theta_s, theta_t, sigma)


def sample_complexity_isotropic(eps: float, d: int, measure: float) -> int:
    """Smallest ``n`` with ``(1 - n/d) measure <= eps`` (isotropic designs, noiseless):
    ``ceil(d (1 - eps/measure))``, 0 when ``measure <= eps`` ([SBG] Sec. 3 with :func:`expected_risk`)."""
    eps = check_positive("eps", eps)
    d = check_int("d", d)
    measure = check_nonnegative("measure", measure)
    if measure <= eps:
        return 0
    return int(math.ceil(d * (1.0 - eps / measure) - 1e-12))


@dataclass
class DeterministicRisk:
    """Proportional-limit risk of the fine-tuned interpolator: ``risk = bias + variance + noise^2``;
    ``kappa`` the effective regularisation, ``df2``; ``success``/``message`` from the root finder."""

    risk: float
    bias: float
    variance: float
    kappa: float
    df2: float
    success: bool
    message: str


def expected_risk_deterministic(n: int, eigenvalues, delta, noise: float = 0.0) -> DeterministicRisk:
    """Deterministic equivalent of the mean risk of ``theta_S + X^+ (y - X theta_S)``, rows ``x ~ N(0, Sigma)``,
    ``n < d``, in the eigenbasis of Sigma (``eigenvalues`` lambda_i, ``delta`` the coordinates of
    ``theta_S - theta_T``):

    ``sum_i lambda_i / (lambda_i + kappa) = n``, ``df2 = sum_i lambda_i^2 / (lambda_i + kappa)^2``,
    ``bias = kappa^2 sum_i lambda_i delta_i^2 / (lambda_i + kappa)^2 / (1 - df2/n)``,
    ``variance = noise^2 df2 / (n - df2)``.

    The ridgeless limit of the ridge-regression deterministic equivalent (Hastie, Montanari, Rosset,
    Tibshirani 2019/2022, Thm. for min-norm interpolation; Bach 2023, SIAM J. Math. Data Sci.), applied to
    ``theta - theta_S`` (fine-tuning from theta_S is min-norm interpolation of the shifted target
    ``theta_T - theta_S``). Exact as n, d -> oo at fixed n/d; beyond [SBG], who bound this risk for
    general Sigma (Sec. 3). Isotropic check: ``kappa = d/n - 1`` gives ``(1 - n/d)||delta||^2`` and
    ``noise^2 n/(d - n)``. Includes the irreducible ``noise^2``. kappa is found by brentq in ``log kappa``.
    """
    n = check_int("n", n, minimum=1)
    lam = as_vector("eigenvalues", eigenvalues)
    if np.any(lam <= 0):
        raise ValueError("eigenvalues: must be positive")
    delta = as_vector("delta", delta)
    if delta.shape != lam.shape:
        raise ValueError(f"delta: has {delta.shape[0]} entries but eigenvalues has {lam.shape[0]}")
    noise = check_nonnegative("noise", noise)
    d = lam.shape[0]
    if n >= d:
        raise ValueError(f"n: the interpolation regime needs n < d = {d}, got {n}")

    def f(t):
        return float(np.sum(lam / (lam + math.exp(t)))) - n

    lo, hi = math.log(lam.min()) - 5.0, math.log(lam.max()) + 5.0
    while f(lo) < 0:
        lo -= 5.0
    while f(hi) > 0:
        hi += 5.0
    t, info = optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-15, full_output=True, disp=False)
    kappa = math.exp(t)
    wgt = lam / (lam + kappa)
    df2 = float(np.sum(wgt ** 2))
    bias = kappa ** 2 * float(np.sum(lam * delta ** 2 / (lam + kappa) ** 2)) / (1.0 - df2 / n)
    var = noise ** 2 * df2 / (n - df2)
    return DeterministicRisk(risk=bias + var + noise ** 2, bias=bias, variance=var, kappa=kappa, df2=df2,
                             success=bool(info.converged), message=f"brentq: {info.flag}")


def power_law_spectrum(d: int, exponent: float) -> np.ndarray:
    """``lambda_i = i^-exponent``, rescaled so that ``sum_i lambda_i = d`` (the total variance of N(0, I_d))."""
    d = check_int("d", d)
    exponent = check_nonnegative("exponent", exponent)
    lam = np.arange(1, d + 1, dtype=float) ** (-exponent)
    return lam * (d / lam.sum())


def expected_risk_power_law(n: int, d: int, exponent: float, delta, noise: float = 0.0) -> DeterministicRisk:
    """:func:`expected_risk_deterministic` for the power-law spectrum :func:`power_law_spectrum` (``delta`` in
    its eigenbasis, largest eigenvalue first)."""
    return expected_risk_deterministic(n, power_law_spectrum(d, exponent), delta, noise)


# ----------------------------------------------------------------------------------------------------
# deep linear networks
# ----------------------------------------------------------------------------------------------------
def _check_depth(depth) -> int | float:
    """An integer depth in 1..MAX_DEPTH, or ``math.inf`` (the infinite-depth limit)."""
    if isinstance(depth, float) and math.isinf(depth) and depth > 0:
        return math.inf
    try:
        k = check_int("depth", depth, minimum=1)
    except (TypeError, ValueError):
        raise ValueError(f"depth: must be an integer between 1 and {MAX_DEPTH} (or math.inf), got {depth!r}") from None
    if k > MAX_DEPTH:
        raise ValueError(f"depth: must be between 1 and {MAX_DEPTH} (or math.inf for the limit), got {depth!r}")
    return k


@dataclass
class DeepLinearLimit:
    """The predicted end of GD on a depth-N linear network (cf. ``scipy.optimize.OptimizeResult``).

    ``w = X^+ y + c (I - P) theta_S``; ``c`` the root of the conservation law; ``residual`` the relative
    residual of that scalar equation at ``c``; ``success``/``message`` from the root finder.
    """

    w: np.ndarray
    c: float
    depth: float
    success: bool
    message: str
    residual: float = 0.0
    norms: dict = field(default_factory=dict)


def deep_linear_limit(X, y, theta_s, depth) -> DeepLinearLimit:
    """GD from a balanced depth-N factorisation of ``theta_S`` ends at ``w = X^+ y + c (I - P) theta_S``.

    ``c > 0`` solves ``c^(2N/(N-1)) ||theta_S||^2 = ||X^+ y||^2 + c^2 ||(I - P) theta_S||^2``.

    [SBG] Sec. 4 (deep linear networks initialised at pretrained weights; theory:
    ``linear_teachers.deep_linear_limit``); the form here is an independent derivation (this project):
    for balanced layers the first layer is rank one, ``W_1 = s u v^T`` with ``s = ||w||^(1/N)``,
    ``v = w/||w||``; its gradient ``-s^(N-1) u g^T`` has ``g`` in the row space of ``X``, so ``W_1 (I - P)`` is
    conserved: ``(I - P) w = c (I - P) theta_S`` with ``c = (||w|| / ||theta_S||)^((N-1)/N)``; the
    interpolation ``P w = X^+ y`` and Pythagoras give the scalar equation. Depth 1: ``c = 1``
    (:func:`finetune_limit`); ``depth = math.inf``: ``c = ||X^+ y|| / ||P theta_S||`` (only the direction of
    ``theta_S`` matters). Assumes gradient flow (GD as ``lr -> 0``) that converges to an interpolator.

    The root is found in ``t = log c``: ``g(t) = log||theta_S||^2 + p t - log(||X^+ y||^2 + b e^(2t))``,
    ``p = 2N/(N-1)``, increases with slope in ``[p - 2, p]``, which gives a bracket for brentq in closed form.
    """
    X, y, theta_s = _design_and_labels(X, y, theta_s)
    depth = _check_depth(depth)
    xy = _pinv_solve(X, y)
    p_theta = _pinv_solve(X, X @ theta_s)
    perp = theta_s - p_theta
    a = float(theta_s @ theta_s)
    b = float(perp @ perp)
    q = float(xy @ xy)
    norms = {"theta_s_sq": a, "perp_sq": b, "pinv_y_sq": q}
    if a == 0.0:
        raise ValueError("theta_s: is zero; a balanced factorisation of 0 has no direction (GD stays at 0)")
    if depth == 1:
        return DeepLinearLimit(w=xy + perp, c=1.0, depth=1, success=True, message="depth 1: c = 1", norms=norms)
    if math.isinf(depth):
        if a - b <= 1e-14 * a:
            return DeepLinearLimit(w=xy + perp, c=math.nan, depth=depth, success=False, norms=norms,
                                   message="theta_s is orthogonal to the row space of X: c undefined at infinite depth")
        c = math.sqrt(q / (a - b))
        return DeepLinearLimit(w=xy + c * perp, c=c, depth=depth, success=True, norms=norms,
                               message="infinite depth: c = ||X^+ y|| / ||P theta_s||")
    pw = 2.0 * depth / (depth - 1.0)
    if q == 0.0:   # y = 0 (in the row space): the nonzero root c^(p - 2) = b/a
        if b == 0.0:
            return DeepLinearLimit(w=np.zeros_like(theta_s), c=0.0, depth=depth, success=True, norms=norms,
                                   message="y = 0 and theta_s in the row space of X: w = 0")
        c = (b / a) ** (1.0 / (pw - 2.0))
        return DeepLinearLimit(w=c * perp, c=c, depth=depth, success=True, norms=norms,
                               message="y = 0: c = (||(I - P) theta_s||^2 / ||theta_s||^2)^((N-1)/2)")

    def g(t):
        return math.log(a) + pw * t - math.log(q + b * math.exp(2.0 * t))

    t0 = 0.5 * math.log(q / a)      # the root when b = 0 up to the exponent
    g0 = g(t0)
    if g0 == 0.0:
        lo = hi = t0
    elif g0 < 0:
        lo, hi = t0 - g0 / pw, t0 - g0 / (pw - 2.0)
    else:
        lo, hi = t0 - g0 / (pw - 2.0), t0 - g0 / pw
    if lo == hi:
        t = lo
        ok, msg = True, "exact root at the starting point"
    else:
        # widen by a hair: the bracket ends are exact roots of the bounding lines
        span = hi - lo
        t, info = optimize.brentq(g, lo - 1e-9 * span - 1e-300, hi + 1e-9 * span + 1e-300, xtol=1e-15, rtol=1e-15,
                                  maxiter=200, full_output=True, disp=False)
        ok, msg = bool(info.converged), f"brentq: {info.flag} after {info.iterations} iterations"
    c = math.exp(t)
    lhs, rhs = a * c ** pw, q + b * c * c
    return DeepLinearLimit(w=xy + c * perp, c=c, depth=depth, success=ok, message=msg,
                           residual=abs(lhs - rhs) / rhs, norms=norms)


def _unit(rng: np.random.Generator, k: int) -> np.ndarray:
    v = rng.standard_normal(k)
    return v / np.linalg.norm(v)


def balanced_factorisation(theta_s, depth: int, width: int, seed: SeedLike) -> list[np.ndarray]:
    """Balanced layers with product ``theta_S^T``: ``W_1 = s u_1 v^T`` (width x d),
    ``W_j = s u_j u_(j-1)^T`` (width x width), ``W_N = s u_(N-1)^T`` (1 x width).

    ``s = ||theta_S||^(1/N)``, ``v = theta_S/||theta_S||``, ``u_j`` independent uniformly random unit vectors
    (from ``seed``). Then ``W_N ... W_1 = theta_S^T`` and ``W_(j+1)^T W_(j+1) = W_j W_j^T = s^2 u_j u_j^T``
    (balanced; with a scalar output balanced layers are rank one). [SBG] Sec. 4 (the pretrained, balanced
    initialisation); depth 1 gives ``[theta_S^T]``.
    """
    theta_s = as_vector("theta_s", theta_s)
    depth = _check_depth(depth)
    if math.isinf(depth):
        raise ValueError("depth: must be a finite integer for a factorisation")
    width = check_int("width", width)
    norm = float(np.linalg.norm(theta_s))
    if norm == 0.0:
        raise ValueError("theta_s: is zero; a balanced factorisation needs a direction")
    if depth == 1:
        return [theta_s[None, :].copy()]
    rng = as_generator(seed)
    s = norm ** (1.0 / depth)
    v = theta_s / norm
    us = [_unit(rng, width) for _ in range(depth - 1)]
    layers = [s * np.outer(us[0], v)]
    for j in range(1, depth - 1):
        layers.append(s * np.outer(us[j], us[j - 1]))
    layers.append(s * us[-1][None, :])
    return layers


def stack_weights(weight_lists: list[list[np.ndarray]]) -> list[np.ndarray]:
    """A batch (leading axis B) from B lists of layer weights of equal shapes (one list per seed)."""
    if not weight_lists:
        raise ValueError("weight_lists: is empty")
    depth = len(weight_lists[0])
    if any(len(w) != depth for w in weight_lists):
        raise ValueError("weight_lists: every entry must have the same number of layers")
    return [np.stack([np.asarray(w[j], float) for w in weight_lists]) for j in range(depth)]


@dataclass
class DeepLinearGDResult:
    """End of GD on a deep linear network (cf. ``scipy.optimize.OptimizeResult``).

    ``w`` the end-to-end vector ``(W_N ... W_1)^T``: (d,) or (B, d); ``weights`` the layers; ``converged``,
    ``steps``, ``residual`` (relative training residual ``||X w - y||/||y||``; with ``criterion="gradient"``
    the relative gradient norm is in ``gradient``): scalars or (B,) arrays; ``message`` str or list.
    """

    w: np.ndarray
    weights: list
    converged: bool | np.ndarray
    steps: int | np.ndarray
    residual: float | np.ndarray
    gradient: float | np.ndarray
    message: str | list
    lr: float = math.nan

    @property
    def success(self) -> bool:
        return bool(np.all(self.converged))


def _check_layers(weights, d: int):
    if not isinstance(weights, (list, tuple)) or len(weights) == 0:
        raise ValueError("weights: expected a non-empty list of layer matrices W_1, ..., W_N")
    if len(weights) > MAX_DEPTH:
        raise ValueError(f"weights: depth {len(weights)} exceeds {MAX_DEPTH}")
    Ws = [as_finite_array(f"weights[{j}]", W, (2, 3)) for j, W in enumerate(weights)]
    batched = Ws[0].ndim == 3
    if any((W.ndim == 3) != batched for W in Ws):
        raise ValueError("weights: mix of batched (3-d) and single (2-d) layers")
    Ws = [W if batched else W[None] for W in Ws]
    B = Ws[0].shape[0]
    prev = d
    for j, W in enumerate(Ws):
        if W.shape[0] != B:
            raise ValueError(f"weights[{j}]: batch size {W.shape[0]} does not match weights[0]'s {B}")
        if W.shape[2] != prev:
            raise ValueError(f"weights[{j}]: has {W.shape[2]} columns, expected {prev}")
        prev = W.shape[1]
    if prev != 1:
        raise ValueError(f"weights[{len(Ws) - 1}]: the last layer must have one row (scalar output), got {prev}")
    return [W.copy() for W in Ws], B, batched


def simulate_deep_linear_gd(X, y, weights, lr, *, max_steps: int = 200_000, tol: float = 1e-12,
                            frozen: int = 0, criterion: str = "residual") -> DeepLinearGDResult:
    """Full-batch GD on ``(1/2n)||X w - y||^2``, ``w^T = W_N ... W_1``, from the layers ``weights``.

    Gradient of layer j: ``(W_N ... W_(j+1))^T (W_(j-1) ... W_1 g)^T`` with ``g = X^T (X w - y)/n``
    (matrix-vector chains only: cost O(N width^2) a step). [SBG] Sec. 4 (fine-tuning a deep linear network
    from pretrained weights). ``weights``: list of N layers, (out_j, in_j) or a batch (B, out_j, in_j)
    (vectorised over B independent runs, e.g. seeds); ``X`` (n, d) or (B, n, d); ``y`` (n,) or (B, n);
    float64 throughout. ``frozen = k``: the first k layers are not updated.

    ``criterion="residual"``: stop when ``||X w - y|| <= tol ||y||``; ``"gradient"``: when the gradient of the
    trainable layers has fallen to ``tol`` times its first value (for frozen layers, where the residual
    need not vanish). Runs of a batch stop independently. After ``max_steps`` the result has
    ``converged=False`` and a NotConvergedWarning is emitted; divergence raises ValueError naming ``lr``.
    """
    X = as_finite_array("X", X, (2, 3))
    y = as_finite_array("y", y, (1, 2))
    d = X.shape[-1]
    Ws, B, batched = _check_layers(weights, d)
    if X.ndim == 3 and X.shape[0] != B:
        raise ValueError(f"X: batch size {X.shape[0]} does not match the weights' {B}")
    if y.shape[-1] != X.shape[-2]:
        raise ValueError(f"y: has {y.shape[-1]} entries but X has {X.shape[-2]} rows")
    if y.ndim == 2 and y.shape[0] != B:
        raise ValueError(f"y: batch size {y.shape[0]} does not match the weights' {B}")
    lr = check_positive("lr", lr)
    max_steps = check_int("max_steps", max_steps, minimum=0)
    tol = check_positive("tol", tol)
    N = len(Ws)
    frozen = check_int("frozen", frozen, minimum=0)
    if frozen >= N:
        raise ValueError(f"frozen: must be < depth = {N} (some layer must train), got {frozen}")
    if criterion not in ("residual", "gradient"):
        raise ValueError(f"criterion: must be 'residual' or 'gradient', got {criterion!r}")
    Xb = np.broadcast_to(X, (B,) + X.shape[-2:]) if X.ndim == 2 else X
    yb = np.broadcast_to(y, (B, y.shape[-1])) if y.ndim == 1 else y
    n = Xb.shape[1]
    ynorm = np.linalg.norm(yb, axis=1)
    ynorm = np.where(ynorm > 0, ynorm, 1.0)
    active = np.ones(B, bool)
    steps = np.zeros(B, int)
    residual = np.full(B, np.nan)
    gnorm_rel = np.full(B, np.nan)
    g0 = None

    def end_to_end(Wl):
        # suffix row vectors v_j = W_N ... W_(j+1) (v_N = 1); the end-to-end vector is v_0
        vs = [None] * (N + 1)
        vs[N] = np.ones((B, 1))
        for j in range(N - 1, -1, -1):
            vs[j] = np.matmul(vs[j + 1][:, None, :], Wl[j])[:, 0, :]
        return vs

    for it in range(max_steps + 1):
        if not active.any():
            break
        vs = end_to_end(Ws)
        r = np.matmul(Xb, vs[0][:, :, None])[:, :, 0] - yb
        res = np.linalg.norm(r, axis=1) / ynorm
        if not np.all(np.isfinite(res[active])) or np.any(res[active] > 1e12):
            raise ValueError(f"lr: = {lr:g} makes GD diverge (relative residual {float(np.nanmax(res)):.3g} at step "
                             f"{it}); use a smaller step size")
        residual[active] = res[active]
        g = np.matmul(r[:, None, :], Xb)[:, 0, :] / n
        us = [g]
        for j in range(N - 1):
            us.append(np.matmul(Ws[j], us[-1][:, :, None])[:, :, 0])
        grads = {j: vs[j + 1][:, :, None] * us[j][:, None, :] for j in range(frozen, N)}
        gn = np.sqrt(sum(np.sum(G * G, axis=(1, 2)) for G in grads.values()))
        if g0 is None:
            g0 = np.where(gn > 0, gn, 1.0)
        gnorm_rel[active] = (gn / g0)[active]
        done = res <= tol if criterion == "residual" else gn <= tol * g0
        active &= ~done
        if it == max_steps or not active.any():
            break
        step = (lr * active)[:, None, None]
        for j, G in grads.items():
            Ws[j] -= step * G
        steps += active
    converged = ~active
    conv_what = residual if criterion == "residual" else gnorm_rel
    msgs = [("converged" if c else f"max_steps = {max_steps} reached") +
            f": relative {'residual' if criterion == 'residual' else 'gradient'} {v:.3g} after {s} steps"
            for c, v, s in zip(converged, conv_what, steps)]
    if not np.all(converged):
        warn_not_converged(f"deep linear GD (depth {N}, criterion {criterion})", conv_what, tol, converged,
                           f"max_steps = {max_steps} reached")
    w = end_to_end(Ws)[0]
    if batched:
        return DeepLinearGDResult(w=w, weights=Ws, converged=converged, steps=steps, residual=residual,
                                  gradient=gnorm_rel, message=msgs, lr=lr)
    return DeepLinearGDResult(w=w[0], weights=[W[0] for W in Ws], converged=bool(converged[0]), steps=int(steps[0]),
                              residual=float(residual[0]), gradient=float(gnorm_rel[0]), message=msgs[0], lr=lr)


def frozen_first_layers_limit(X, y, theta_s) -> np.ndarray:
    """With the first layer(s) of a balanced factorisation frozen, GD ends at ``a* theta_S``,
    ``a* = (X theta_S) . y / ||X theta_S||^2`` (least squares along ``theta_S``).

    Balanced layers are rank one, so a frozen prefix ``W_k ... W_1 = s^k u_k v^T`` pins the end-to-end
    vector to the line of ``v = theta_S/||theta_S||``; GD on the remaining layers can only rescale it
    ([SBG] Sec. 4, freezing the first layers; the network cannot learn a target outside that line).
    """
    X, y, theta_s = _design_and_labels(X, y, theta_s)
    z = X @ theta_s
    zz = float(z @ z)
    if zz == 0.0:
        raise ValueError("theta_s: X theta_s = 0, the frozen network cannot fit anything")
    return (float(z @ y) / zz) * theta_s


# ----------------------------------------------------------------------------------------------------
# two-layer ReLU networks and their NTK
# ----------------------------------------------------------------------------------------------------
def relu_ntk(X1, X2=None) -> np.ndarray:
    """Infinite-width NTK of ``f(x) = m^(-1/2) sum_j a_j relu(w_j . x)``, ``w_j ~ N(0, I)``, ``a_j ~ N(0, 1)``,
    both layers trained: ``Theta(x, x') = (x . x') k0(u) + ||x|| ||x'|| k1(u)`` with ``u`` the cosine of the
    angle, ``k0(u) = (pi - arccos u)/(2 pi)``, ``k1(u) = (sqrt(1 - u^2) + (pi - arccos u) u)/(2 pi)``
    (arc-cosine kernels of orders 0 and 1, Cho & Saul 2009; Jacot et al. 2018).

    [SBG] Sec. 5 (shallow ReLU networks in the NTK regime; theory: ``linear_teachers.relu_ntk``).
    ``X1`` (n1, d), ``X2`` (n2, d) (default ``X1``); returns (n1, n2).
    """
    X1 = as_matrix("X1", X1)
    X2 = X1 if X2 is None else as_matrix("X2", X2)
    if X2.shape[1] != X1.shape[1]:
        raise ValueError(f"X2: has {X2.shape[1]} columns but X1 has {X1.shape[1]}")
    n1 = np.linalg.norm(X1, axis=1)
    n2 = np.linalg.norm(X2, axis=1)
    if np.any(n1 == 0) or np.any(n2 == 0):
        raise ValueError("X1: the NTK needs nonzero inputs (a zero row has no angle)")
    dot = X1 @ X2.T
    u = np.clip(dot / np.outer(n1, n2), -1.0, 1.0)
    th = np.arccos(u)
    k0 = (np.pi - th) / (2 * np.pi)
    k1 = (np.sqrt(np.maximum(1.0 - u * u, 0.0)) + (np.pi - th) * u) / (2 * np.pi)
    return dot * k0 + np.outer(n1, n2) * k1


def ntk_finetune_predictor(X_train, y_train, f_pre_train, X_test, f_pre_test) -> np.ndarray:
    """NTK-regime fine-tuning: ``f(x) = f_pre(x) + Theta(x, X) Theta(X, X)^-1 (y - f_pre(X))``.

    Kernel regression of the residual of the pretrained function with the infinite-width NTK
    (:func:`relu_ntk`): the limit of GD on a wide two-layer ReLU network started at the pretrained weights
    ([SBG] Sec. 5; theory: ``linear_teachers.relu_ntk``; Jacot et al. 2018, Lee et al. 2019). Returns the
    predictions at ``X_test``. The Gram matrix is solved by Cholesky (it is positive definite for distinct,
    non-parallel inputs).
    """
    X_train = as_matrix("X_train", X_train)
    y_train = as_vector("y_train", y_train)
    f_tr = as_vector("f_pre_train", f_pre_train)
    X_test = as_matrix("X_test", X_test)
    f_te = as_vector("f_pre_test", f_pre_test)
    if y_train.shape[0] != X_train.shape[0] or f_tr.shape[0] != X_train.shape[0]:
        raise ValueError("y_train: y_train and f_pre_train need one entry per row of X_train")
    if f_te.shape[0] != X_test.shape[0]:
        raise ValueError("f_pre_test: needs one entry per row of X_test")
    K = relu_ntk(X_train)
    from scipy.linalg import cho_factor, cho_solve

    try:
        alpha = cho_solve(cho_factor(K, lower=True), y_train - f_tr)
    except np.linalg.LinAlgError:
        raise ValueError("X_train: the NTK Gram matrix is singular (repeated or parallel inputs)") from None
    return f_te + relu_ntk(X_test, X_train) @ alpha


@dataclass
class ReluNetwork:
    """``f(x) = m^(-1/2) sum_j a_j relu(w_j . x)``: ``W`` (m, d) or (B, m, d), ``a`` (m,) or (B, m)."""

    W: np.ndarray
    a: np.ndarray

    @property
    def width(self) -> int:
        return int(self.a.shape[-1])


def init_relu_network(d: int, width: int, seed: SeedLike, *, batch: int | None = None,
                      symmetric: bool = True) -> ReluNetwork:
    """NTK-parametrised start ``w_j ~ N(0, I_d)``, ``a_j ~ N(0, 1)``.

    ``symmetric=True`` (default): ``width`` must be even and the second half copies the first with ``a``
    negated, so ``f = 0`` at the start while the NTK keeps its law (the infinite-width predictor then has
    no random initial function). ``batch``: B independent networks (leading axis) from the one seed.
    """
    d = check_int("d", d)
    width = check_int("width", width, minimum=2 if symmetric else 1)
    if symmetric and width % 2:
        raise ValueError(f"width: must be even for a symmetric start, got {width}")
    rng = as_generator(seed)
    lead = () if batch is None else (check_int("batch", batch),)
    half = width // 2 if symmetric else width
    W = rng.standard_normal(lead + (half, d))
    a = rng.standard_normal(lead + (half,))
    if symmetric:
        W = np.concatenate([W, W], axis=-2)
        a = np.concatenate([a, -a], axis=-1)
    return ReluNetwork(W=W, a=a)


def relu_forward(net: ReluNetwork, X) -> np.ndarray:
    """``f(X)``: (n,) for one network, (B, n) for a batch."""
    X = as_matrix("X", X)
    if X.shape[1] != net.W.shape[-1]:
        raise ValueError(f"X: has {X.shape[1]} columns but the network has input dimension {net.W.shape[-1]}")
    H = np.maximum(np.einsum("...md,nd->...nm", net.W, X), 0.0)
    return np.einsum("...nm,...m->...n", H, net.a) / math.sqrt(net.width)


@dataclass
class ReluGDResult:
    """End of GD on a two-layer ReLU network: ``network``, ``converged``/``steps``/``residual`` (relative
    training residual) per run, ``message``; ``success`` when every run converged."""

    network: ReluNetwork
    converged: bool | np.ndarray
    steps: int | np.ndarray
    residual: float | np.ndarray
    message: str | list
    lr: float = math.nan

    @property
    def success(self) -> bool:
        return bool(np.all(self.converged))


def simulate_relu_gd(X, y, start: ReluNetwork, lr, *, max_steps: int = 100_000, tol: float = 1e-10) -> ReluGDResult:
    """Full-batch GD on ``(1/2) sum_i (f(x_i) - y_i)^2`` over both layers from the network ``start``.

    In the NTK parametrisation the function moves as ``df = -lr Theta_m (f - y)`` to first order, so GD from
    pretrained weights approaches :func:`ntk_finetune_predictor` as the width grows ([SBG] Sec. 5). ``lr``
    must be below ``2/lambda_max(Theta(X, X))``. Batched over the leading axis of ``start`` (one ``X``, ``y``
    for all runs). Stops when ``||f(X) - y|| <= tol ||y||``; divergence raises ValueError naming ``lr``.
    """
    X = as_matrix("X", X)
    y = as_vector("y", y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y: has {y.shape[0]} entries but X has {X.shape[0]} rows")
    if not isinstance(start, ReluNetwork):
        raise ValueError(f"start: expected a ReluNetwork, got {type(start).__name__}")
    W = as_finite_array("start.W", start.W, (2, 3)).copy()
    a = as_finite_array("start.a", start.a, (1, 2)).copy()
    batched = W.ndim == 3
    if not batched:
        W, a = W[None], a[None]
    if W.shape[:2] != a.shape or W.shape[2] != X.shape[1]:
        raise ValueError(f"start: W {W.shape} and a {a.shape} do not fit inputs of dimension {X.shape[1]}")
    lr = check_positive("lr", lr)
    max_steps = check_int("max_steps", max_steps, minimum=0)
    tol = check_positive("tol", tol)
    B, m = a.shape
    sq = math.sqrt(m)
    ynorm = max(float(np.linalg.norm(y)), 1e-300)
    active = np.ones(B, bool)
    steps = np.zeros(B, int)
    residual = np.full(B, np.nan)
    for it in range(max_steps + 1):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        pre = np.matmul(X, np.swapaxes(W[idx], 1, 2))
        H = np.maximum(pre, 0.0)
        r = np.matmul(H, a[idx][:, :, None])[:, :, 0] / sq - y
        res = np.linalg.norm(r, axis=1) / ynorm
        if not np.all(np.isfinite(res)) or np.any(res > 1e8):
            raise ValueError(f"lr: = {lr:g} makes GD diverge (relative residual {float(np.nanmax(res)):.3g}); "
                             "use lr < 2/lambda_max(NTK Gram)")
        residual[idx] = res
        done = res <= tol
        if it == max_steps:
            break
        active[idx[done]] = False
        upd = ~done
        if not upd.any():
            break
        ui = idx[upd]
        ru, Hu, preu, au = r[upd], H[upd], pre[upd], a[ui]
        grad_a = np.matmul(ru[:, None, :], Hu)[:, 0, :] / sq
        mask = (preu > 0).astype(float)
        grad_W = np.matmul(np.swapaxes(ru[:, :, None] * mask, 1, 2), X) * (au / sq)[:, :, None]
        a[ui] -= lr * grad_a
        W[ui] -= lr * grad_W
        steps[ui] += 1
    converged = ~active
    msgs = [("converged" if c else f"max_steps = {max_steps} reached") + f": relative residual {v:.3g} after {s} steps"
            for c, v, s in zip(converged, residual, steps)]
    if not np.all(converged):
        warn_not_converged("two-layer ReLU GD", residual, tol, converged, f"max_steps = {max_steps} reached")
    if batched:
        return ReluGDResult(network=ReluNetwork(W, a), converged=converged, steps=steps, residual=residual,
                            message=msgs, lr=lr)
    return ReluGDResult(network=ReluNetwork(W[0], a[0]), converged=bool(converged[0]), steps=int(steps[0]),
                        residual=float(residual[0]), message=msgs[0], lr=lr)
