"""Pretraining + finetuning (PT+FT) in two-pathway diagonal networks: simulation and implicit bias.

Model ([LL] Lippl & Lindsey, NeurIPS 2024, arXiv:2310.02396, Sec. 4, as in the authors' public
code): ``beta = w_plus * v_plus - w_minus * v_minus`` per coordinate, loss ``(1/2n)||X beta - y||^2``,
full-batch gradient descent (GD).

1. Pretraining on the auxiliary task, every weight starting at ``alpha`` (:func:`simulate_pretraining`).
2. Hand-off (:func:`finetuning_start`): first layer multiplied by ``c > 0``, both readouts reset to
   ``gamma >= 0``.
3. Finetuning on the main task by GD from that start (:func:`simulate_finetuning`).

Exact finetuning implicit bias for *any* start [derived here; theory: ``ptft.exact_penalty``]. Per coordinate, gradient
flow gives ``beta(S) = beta0 cosh 2S + (M/2) sinh 2S`` with ``S`` in the row space of ``X``,
``M = w+^2 + v+^2 + w-^2 + v-^2`` and ``beta0 = w+ v+ - w- v-`` at the start. Since
``M/2 >= |w+ v+| + |w- v-| >= |beta0|``, write ``a cosh(phi) = M/2``, ``a sinh(phi) = beta0`` with
``a = sqrt(M^2/4 - beta0^2)``, ``phi = asinh(beta0 / a)``; then ``beta(S) = a sinh(2S + phi)``, which is
the link of :class:`numerics.separable_dual.SinhPenalty` ``(scale=a, phase=phi)`` (``a = sqrt(k)/2`` in
the notation of [DL]). The GD endpoint approaches its minimum-penalty interpolator as ``lr -> 0``
(error ``O(lr)``). ``a`` is computed without cancellation:
``M/2 - |beta0| = ((w+ - s v+)^2 + (w- + s v-)^2) / 2`` with ``s = sign(beta0)``.

Plotted approximation [LL]: ``R_FT(beta) = sum_i K_i q_W(2 beta_i / K_i)``, ``K_i = |beta_aux_i| + gamma^2``,
``q_W(z) = 2 - sqrt(4 + z^2) + z asinh(z/2)``. Since ``q_W'(z) = asinh(z/2)``,
``d/dbeta [K q_W(2 beta/K)] = 2 asinh(beta/K)``, and ``K q_W(2 beta/K) = 2 K q(beta/K)`` with
``q(z) = z asinh z - sqrt(1+z^2) + 1``: ``R_FT = 4 * SinhPenalty(scale=K, phase=0)``, the same
minimiser. With a rescaling ``c`` we use ``K_i = c^2 |beta_aux_i| + gamma^2`` ([LL], Sec. 6:
rescaling replaces ``|beta_aux|`` by ``c^2 |beta_aux|``; ``c = 1`` is the paper's plotted form).

``gamma = 0`` is *not* degenerate in general: the readout gradients are ``g w+`` and ``-g w-``, which
vanish only where the rescaled first layer vanishes. :func:`finetuning_start` raises (naming ``gamma``)
only if ``gamma = 0`` and some coordinate has ``w+ = w- = 0`` (that coordinate would stay 0 forever;
its penalty scale ``a`` is 0).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ptft.numerics.mtl import _task_arrays, _weights_array, shared_layer_gd
from ptft.numerics.separable_dual import DualResult, SinhPenalty, minimize_penalty_interpolation
from ptft.numerics.validation import as_finite_array, check_int, check_nonnegative, check_positive, warn_not_converged

__all__ = ["dl_pretrained_first_layer_sq", "TwoPathwayWeights", "GDResult", "PTFTResult", "PenaltyComparison", "simulate_pretraining",
           "finetuning_start", "simulate_finetuning", "simulate_ptft", "finetuning_penalty", "handoff_penalty",
           "finetuning_implicit_bias", "plotted_penalty", "plotted_penalty_value",
           "plotted_penalty_minimiser",
           "compare_ptft_penalties", "q_W", "dl_pretraining_start", "dl_finetuning_start", "dl_handoff_penalty",
           "selection_contrast", "selection_contrast_level"]


def q_W(z):
    """``q_W(z) = 2 - sqrt(4 + z^2) + z asinh(z/2)`` ([W], [LL]), without cancellation at small ``z``."""
    z = np.asarray(z, dtype=np.float64)
    return z * np.arcsinh(0.5 * z) - z * z / (2.0 + np.sqrt(4.0 + z * z))


@dataclass
class TwoPathwayWeights:
    """``beta = w_plus * v_plus - w_minus * v_minus``; arrays (d,) or (B, d)."""

    w_plus: np.ndarray
    v_plus: np.ndarray
    w_minus: np.ndarray
    v_minus: np.ndarray

    @property
    def beta(self) -> np.ndarray:
        return self.w_plus * self.v_plus - self.w_minus * self.v_minus

    @property
    def M(self) -> np.ndarray:
        """``w+^2 + v+^2 + w-^2 + v-^2`` (twice the ``cosh`` amplitude of the flow solution)."""
        return self.w_plus ** 2 + self.v_plus ** 2 + self.w_minus ** 2 + self.v_minus ** 2

    @property
    def batched(self) -> bool:
        return np.ndim(self.w_plus) == 2

    def run(self, b: int) -> "TwoPathwayWeights":
        """The weights of run ``b`` of a batch."""
        return TwoPathwayWeights(self.w_plus[b], self.v_plus[b], self.w_minus[b], self.v_minus[b])


def _check_weights(name, w: TwoPathwayWeights) -> TwoPathwayWeights:
    if not isinstance(w, TwoPathwayWeights):
        raise ValueError(f"{name}: expected TwoPathwayWeights, got {type(w).__name__}")
    arrs = [as_finite_array(f"{name}.{k}", getattr(w, k), (1, 2)) for k in ("w_plus", "v_plus", "w_minus", "v_minus")]
    if len({a.shape for a in arrs}) != 1:
        raise ValueError(f"{name}: w_plus, v_plus, w_minus, v_minus have different shapes "
                         f"{[a.shape for a in arrs]}")
    return TwoPathwayWeights(*arrs)


@dataclass
class GDResult:
    """Endpoint of single-task two-pathway GD (cf. ``scipy.optimize.OptimizeResult``).

    ``beta`` (d,) or (B, d); ``weights``; ``converged``/``steps``/``residual`` (relative
    ``||X beta - y|| / ||y||``) scalars or (B,) arrays; ``message`` str or list of B strings.
    """

    beta: np.ndarray
    weights: TwoPathwayWeights
    converged: bool | np.ndarray
    steps: int | np.ndarray
    residual: float | np.ndarray
    message: str | list
    lr: float = field(default=np.nan)

    @property
    def success(self) -> bool:
        return bool(np.all(self.converged))


def simulate_finetuning(X, y, start: TwoPathwayWeights, lr, max_steps: int = 200_000, tol: float = 1e-6,
                        *, names=("X", "y")) -> GDResult:
    """Full-batch GD on ``(1/2n)||X beta - y||^2``, ``beta = w+ v+ - w- v-``, from the weights ``start``.

    ``X`` (n, d) or (B, n, d), ``y`` (n,) or (B, n), ``start`` (d,) or (B, d) arrays. Stops when
    ``||X beta - y|| <= tol ||y||`` or after ``max_steps`` updates (``converged=False``, with message).
    Divergence raises ValueError naming ``lr``. Runs of a batch are independent (frozen on convergence).
    """
    Xs, ys, B, batched, d = _task_arrays([(names[0], X, names[1], y)])
    start = _check_weights("start", start)
    if start.batched:
        if batched and start.w_plus.shape[0] != B:
            raise ValueError(f"start: batch size {start.w_plus.shape[0]} does not match {names[0]}'s {B}")
        if not batched:
            B, batched = start.w_plus.shape[0], True
            ys = [np.broadcast_to(yy, (B, yy.shape[1])).copy() for yy in ys]
    lr = check_positive("lr", lr)
    max_steps = check_int("max_steps", max_steps, minimum=0)
    tol = check_positive("tol", tol)
    wp, vp, wm, vm = (_weights_array(f"start.{k}", getattr(start, k), B, d)
                      for k in ("w_plus", "v_plus", "w_minus", "v_minus"))
    o = shared_layer_gd(Xs, ys, wp, wm, [vp], [vm], lr, max_steps, tol)
    if not np.all(o.converged):
        warn_not_converged(f"two-pathway GD on ({names[0]}, {names[1]})",
                           o.residuals[0], tol, o.converged, f"max_steps = {max_steps} reached")
    sq = (lambda a: a) if batched else (lambda a: a[0])
    w = TwoPathwayWeights(sq(o.w_plus), sq(o.v_plus[0]), sq(o.w_minus), sq(o.v_minus[0]))
    return GDResult(beta=w.beta, weights=w, converged=o.converged if batched else bool(o.converged[0]),
                    steps=o.steps if batched else int(o.steps[0]),
                    residual=o.residuals[0] if batched else float(o.residuals[0, 0]),
                    message=o.messages if batched else o.messages[0], lr=lr)


def simulate_pretraining(X_aux, y_aux, alpha, lr, max_steps: int = 200_000, tol: float = 1e-6) -> GDResult:
    """Pretraining: two-pathway GD on the auxiliary task from ``w+ = v+ = w- = v- = alpha`` [LL].

    Returns a :class:`GDResult`; ``result.weights`` are the pretrained weights, ``result.beta`` is
    ``beta_aux``.
    """
    Xs, _, B, batched, d = _task_arrays([("X_aux", X_aux, "y_aux", y_aux)])
    alpha = check_positive("alpha", alpha)
    shape = (B, d) if batched else (d,)
    start = TwoPathwayWeights(*(np.full(shape, alpha) for _ in range(4)))
    return simulate_finetuning(X_aux, y_aux, start, lr, max_steps=max_steps, tol=tol, names=("X_aux", "y_aux"))


def finetuning_start(weights: TwoPathwayWeights, c, gamma) -> TwoPathwayWeights:
    """The [LL] hand-off: ``w+- <- c w+-`` (rescaling ``c > 0``), ``v+ = v- = gamma >= 0``.

    Raises ValueError naming ``c``/``gamma`` for bad values, and naming ``gamma`` if ``gamma = 0`` and a
    coordinate has ``w+ = w- = 0`` (all its gradients vanish: ``beta_i`` would stay 0 forever).
    """
    weights = _check_weights("weights", weights)
    c = check_positive("c", c)
    gamma = check_nonnegative("gamma", gamma)
    wp, wm = c * weights.w_plus, c * weights.w_minus
    if gamma == 0.0:
        dead = (wp == 0) & (wm == 0)
        if np.any(dead):
            raise ValueError(f"gamma: = 0 with {int(dead.sum())} coordinate(s) whose first layer is 0; "
                             "there every gradient vanishes and beta_i stays 0 (degenerate start)")
    g = np.full_like(wp, gamma)
    return TwoPathwayWeights(wp, g, wm, g.copy())


@dataclass
class PTFTResult:
    """Outcome of :func:`simulate_ptft`.

    ``beta_aux`` (pretrained), ``beta_main`` (finetuned); ``pretraining``/``finetuning`` the two
    :class:`GDResult` s; ``start`` the finetuning start; ``converged`` = both converged (per run);
    ``message`` explains failures. A non-converged pretraining is still handed off (so the caller can
    inspect it) but ``converged`` is False.
    """

    beta_aux: np.ndarray
    beta_main: np.ndarray
    pretraining: GDResult
    finetuning: GDResult
    start: TwoPathwayWeights
    converged: bool | np.ndarray
    message: str | list
    alpha: float
    c: float
    gamma: float

    @property
    def success(self) -> bool:
        return bool(np.all(self.converged))

    @property
    def steps(self):
        return self.pretraining.steps, self.finetuning.steps


def simulate_ptft(X_main, y_main, X_aux, y_aux, alpha, c, gamma, lr, *, lr_ft=None, max_steps: int = 200_000,
                  tol: float = 1e-6, tol_ft=None, max_steps_ft=None) -> PTFTResult:
    """Pretrain on (X_aux, y_aux) from ``alpha``, hand off with ``(c, gamma)``, finetune on (X_main, y_main).

    ``lr``, ``tol``, ``max_steps`` govern pretraining; ``lr_ft``, ``tol_ft``, ``max_steps_ft`` finetuning
    (each defaults to its pretraining value). Arrays may be batched (leading axis B) independently: an
    unbatched pretraining is shared by a batch of main tasks.
    """
    # validate everything up front so a bad finetuning argument fails before the pretraining run
    _task_arrays([("X_main", X_main, "y_main", y_main), ("X_aux", X_aux, "y_aux", y_aux)])
    c = check_positive("c", c)
    gamma = check_nonnegative("gamma", gamma)
    lr_ft = check_positive("lr_ft", lr if lr_ft is None else lr_ft)
    tol_ft = check_positive("tol_ft", tol if tol_ft is None else tol_ft)
    max_steps_ft = check_int("max_steps_ft", max_steps if max_steps_ft is None else max_steps_ft, minimum=0)
    pt = simulate_pretraining(X_aux, y_aux, alpha, lr, max_steps=max_steps, tol=tol)
    start = finetuning_start(pt.weights, c, gamma)
    ft = simulate_finetuning(X_main, y_main, start, lr_ft, max_steps=max_steps_ft, tol=tol_ft,
                             names=("X_main", "y_main"))
    batched = np.ndim(ft.converged) == 1
    pconv = np.broadcast_to(pt.converged, np.shape(ft.converged))
    conv = np.logical_and(pconv, ft.converged)

    def msg(pc, fc, fm):
        if pc and fc:
            return "converged: pretraining and finetuning"
        parts = [] if pc else ["pretraining did not converge"]
        if not fc:
            parts.append("finetuning: " + fm)
        return "; ".join(parts)

    if batched:
        fms = ft.message
        message = [msg(bool(p), bool(f), m) for p, f, m in zip(pconv, ft.converged, fms)]
    else:
        message, conv = msg(bool(pt.converged), bool(ft.converged), ft.message), bool(conv)
    return PTFTResult(beta_aux=pt.beta, beta_main=ft.beta, pretraining=pt, finetuning=ft, start=start,
                      converged=conv, message=message, alpha=float(alpha), c=c, gamma=gamma)


# ----------------------------------------------------------------------------------------------------
# implicit biases
# ----------------------------------------------------------------------------------------------------
def finetuning_penalty(start: TwoPathwayWeights) -> SinhPenalty:
    """Exact gradient-flow implicit bias from ``start``: ``SinhPenalty(scale=a, phase=phi)``.

    ``a = sqrt(M^2/4 - beta0^2)``, ``phi = asinh(beta0 / a)`` (module docstring; theory: ``ptft.exact_penalty``).
    Unbatched only. Raises ValueError (``start``) where ``a = 0`` (degenerate coordinate).
    """
    start = _check_weights("start", start)
    if start.batched:
        raise ValueError("start: batched weights; call finetuning_penalty once per run (start.run(b))")
    wp, vp, wm, vm = start.w_plus, start.v_plus, start.w_minus, start.v_minus
    beta0 = wp * vp - wm * vm
    half_M = 0.5 * (wp * wp + vp * vp + wm * wm + vm * vm)
    s = np.where(beta0 >= 0, 1.0, -1.0)
    # M/2 - |beta0| without cancellation
    diff = 0.5 * ((wp - s * vp) ** 2 + (wm + s * vm) ** 2)
    a = np.sqrt(diff * (half_M + np.abs(beta0)))
    if np.any(a <= 0):
        raise ValueError(f"start: {int(np.sum(a <= 0))} coordinate(s) with M/2 = |beta0| (a = 0): degenerate "
                         "start whose implicit bias is not a SinhPenalty")
    return SinhPenalty(scale=a, phase=np.arcsinh(beta0 / a))


def handoff_penalty(beta_aux, c, gamma, alpha: float = 0.0) -> SinhPenalty:
    """Exact finetuning penalty predicted from ``beta_aux`` alone, assuming *gradient-flow* pretraining.

    Balanced pretraining from ``alpha`` keeps ``w+ = v+ = alpha e^S``, ``w- = v- = alpha e^-S`` so
    ``w+^2 + w-^2 = sqrt(beta_aux^2 + 4 alpha^4)``, ``w+ w- = alpha^2``. After the hand-off
    ``(c, gamma)``: ``beta0 = c gamma sign(beta_aux) sqrt(sqrt(beta_aux^2 + 4 alpha^4) - 2 alpha^2)`` and
    ``a = sqrt(c^4 (beta_aux^2 + 4 alpha^4) + 8 c^2 gamma^2 alpha^2 + 4 gamma^4) / 2``; for ``alpha -> 0``
    ``2a = sqrt k = sqrt(c^4 beta_aux^2 + 4 gamma^4)`` (theory: ``ptft.rescaled_start``).
    """
    b = as_finite_array("beta_aux", beta_aux, (1,))
    c = check_positive("c", c)
    gamma = check_nonnegative("gamma", gamma)
    alpha = check_nonnegative("alpha", alpha)
    R = np.sqrt(b * b + 4.0 * alpha ** 4)
    beta0 = c * gamma * np.sign(b) * np.sqrt(np.maximum(R - 2.0 * alpha ** 2, 0.0))
    a = 0.5 * np.sqrt(c ** 4 * R * R + 8.0 * c * c * gamma * gamma * alpha * alpha + 4.0 * gamma ** 4)
    if np.any(a <= 0):
        raise ValueError("gamma: = 0 with beta_aux_i = 0 and alpha = 0 gives a degenerate (zero-scale) penalty")
    return SinhPenalty(scale=a, phase=np.arcsinh(beta0 / a))


def selection_contrast(beta, beta_aux, c, gamma, alpha: float = 0.0) -> np.ndarray:
    """rho = s_pre / s_new, the rich-limit price of a pretrained feature relative to a new one.

    ``s_pre = (1/2) ln(4|beta| / ((c sqrt|beta_aux| + gamma)^2 + gamma^2))`` (a feature the auxiliary task
    used, after the [LL] hand-off) and ``s_new = (1/2) ln(2|beta| / (gamma^2 + c^2 alpha^2))`` (one it did
    not use, first layer ``c alpha`` after pretraining from ``alpha``): theory ``ptft.selection_contrast``.
    Nested feature selection needs ``0 < rho < 1`` and is stronger the smaller ``rho``; ``rho <= 0`` is the
    lazy side (pretrained features not rich), ``rho -> 1`` forgets pretraining. All arguments broadcast
    (e.g. ``c`` and ``gamma`` as a grid); ``beta`` and ``beta_aux`` are magnitudes (nonzero).
    """
    b = np.abs(as_finite_array("beta", beta))
    ba = np.abs(as_finite_array("beta_aux", beta_aux))
    c = as_finite_array("c", c)
    g = as_finite_array("gamma", gamma)
    alpha = check_nonnegative("alpha", alpha)
    for name, v in (("beta", b), ("beta_aux", ba), ("c", c), ("gamma", g)):
        if np.any(v <= 0):
            raise ValueError(f"{name}: must be nonzero (positive for c and gamma), got min {np.min(v):g}")
    s_new = 0.5 * np.log(2.0 * b / (g * g + (c * alpha) ** 2))
    if np.any(s_new <= 0):
        raise ValueError("gamma: not in the rich limit (2|beta| <= gamma^2 + c^2 alpha^2), rho is undefined")
    s_pre = 0.5 * np.log(4.0 * b / ((c * np.sqrt(ba) + g) ** 2 + g * g))
    return s_pre / s_new


def selection_contrast_level(rho, beta, beta_aux, c) -> np.ndarray:
    """gamma on the level set ``rho`` of the leading-order contrast (gamma -> 0 in s_pre, alpha = 0).

    ``gamma = sqrt(2|beta|) (c^2 |beta_aux| / (4|beta|))^(1/(2 rho))`` (theory ``ptft.selection_contrast``);
    ``rho = 1/2`` gives ``gamma = c^2 |beta_aux| / sqrt(8|beta|)``.
    """
    r = as_finite_array("rho", rho)
    if np.any((r <= 0) | (r >= 1)):
        raise ValueError("rho: level sets are drawn for 0 < rho < 1")
    b = np.abs(as_finite_array("beta", beta))
    ba = np.abs(as_finite_array("beta_aux", beta_aux))
    c = as_finite_array("c", c)
    if np.any(c <= 0):
        raise ValueError("c: must be positive")
    return np.sqrt(2.0 * b) * (c * c * ba / (4.0 * b)) ** (1.0 / (2.0 * r))


# ----------------------------------------------------------------------------------------------------
# the [DL] hand-off (Anguita et al., arXiv:2602.20062; theory: ptft.dl_handoff)
# ----------------------------------------------------------------------------------------------------
def _check_lambda_pt(lambda_pt) -> float:
    """The [DL] relative scale ``lambda_PT = (w0^2 - v0^2)/c_PT``, which must lie in [-1, 1]."""
    try:
        lam = float(lambda_pt)
    except (TypeError, ValueError):
        raise ValueError(f"lambda_pt: must lie in [-1, 1], got {lambda_pt!r}") from None
    if not np.isfinite(lam) or abs(lam) > 1:
        raise ValueError(f"lambda_pt: must lie in [-1, 1] (relative scale (w^2 - v^2)/c_PT), got {lambda_pt!r}")
    return lam


def dl_pretrained_first_layer_sq(beta_pt, c_pt, lambda_pt) -> np.ndarray:
    """``(w+ + w-)^2 = c_PT (1 + lambda_PT)(1 + sqrt(1 + beta_PT^2/c_PT^2))`` after gradient-flow pretraining.

    Both branches start from :func:`dl_pretraining_start` and pretraining ends at ``beta_pt`` (any shape);
    the [DL] hand-off sets both first-layer weights to ``w+ + w-``, so ``sqrt k_d = 2 (w+ + w-)^2 + gamma^2``
    ([DL], Thm 4.1; derivation ``ptft.dl_handoff``).
    """
    b = as_finite_array("beta_pt", beta_pt)
    c_pt = check_positive("c_pt", c_pt)
    lam = _check_lambda_pt(lambda_pt)
    return c_pt * (1.0 + lam) * (1.0 + np.hypot(1.0, b / c_pt))


def dl_pretraining_start(shape, c_pt, lambda_pt) -> TwoPathwayWeights:
    """[DL] pretraining init: both branches ``w = sqrt(c_PT (1 + lambda_PT)/2)``, ``v = sqrt(c_PT (1 - lambda_PT)/2)``.

    ``c_PT = w^2 + v^2 > 0`` is the absolute and ``lambda_PT = (w^2 - v^2)/c_PT`` in ``[-1, 1]`` the relative
    scale; ``beta(0) = 0``. ``shape`` is ``d`` or ``(B, d)``.
    """
    c_pt = check_positive("c_pt", c_pt)
    lam = _check_lambda_pt(lambda_pt)
    w = np.full(shape, np.sqrt(c_pt * (1.0 + lam) / 2.0))
    v = np.full(shape, np.sqrt(c_pt * (1.0 - lam) / 2.0))
    return TwoPathwayWeights(w, v, w.copy(), v.copy())


def dl_finetuning_start(weights: TwoPathwayWeights, gamma) -> TwoPathwayWeights:
    """[DL] hand-off: both first-layer weights ``<- w+ + w-`` of pretraining, both readouts ``<- gamma/sqrt 2``.

    The finetuning start has ``beta0 = 0`` and ``M = 2 (w+ + w-)^2 + gamma^2``. Raises ValueError naming
    ``gamma`` if ``gamma = 0`` and some coordinate's first layer sums to 0 (it would stay at 0).
    """
    weights = _check_weights("weights", weights)
    gamma = check_nonnegative("gamma", gamma)
    W = weights.w_plus + weights.w_minus
    if gamma == 0.0 and np.any(W == 0):
        raise ValueError(f"gamma: = 0 with {int(np.sum(W == 0))} coordinate(s) whose first layer sums to 0 "
                         "(degenerate start: every gradient vanishes there)")
    g = np.full_like(W, gamma / np.sqrt(2.0))
    return TwoPathwayWeights(W, g, W.copy(), g.copy())


def dl_handoff_penalty(beta_pt, c_pt, lambda_pt, gamma_ft) -> SinhPenalty:
    """Finetuning implicit bias after the [DL] hand-off, from ``beta_PT`` alone (theory: ``ptft.dl_handoff``).

    ``beta0 = 0`` and ``sqrt k = M = 2 c_PT (1 + lambda_PT)(1 + sqrt(1 + beta_PT^2/c_PT^2)) + gamma_FT^2``
    (gradient-flow pretraining from :func:`dl_pretraining_start`), so the penalty is
    ``SinhPenalty(scale=M/2, phase=0)`` (= ``q_k``; ``c_FT = M/2`` in the notation of [DL], Thm 4.1).
    """
    as_finite_array("beta_pt", beta_pt, (1,))
    gamma_ft = check_nonnegative("gamma_ft", gamma_ft)
    M = 2.0 * dl_pretrained_first_layer_sq(beta_pt, c_pt, lambda_pt) + gamma_ft ** 2
    if np.any(M <= 0):
        raise ValueError("gamma_ft: = 0 with lambda_pt = -1 gives a zero first layer (degenerate penalty)")
    return SinhPenalty(scale=0.5 * M, phase=np.zeros_like(M))


def finetuning_implicit_bias(X, y, start: TwoPathwayWeights, **solver_options) -> DualResult:
    """``argmin_{X beta = y} sum_i Q_i(beta_i)`` for the exact finetuning penalty of ``start``.

    Solved by :func:`solve_penalty_interpolation` (options passed through; default ``tol = 1e-10``).
    """
    return minimize_penalty_interpolation(X, y, finetuning_penalty(start), **solver_options)


def plotted_penalty(beta_aux, gamma, c: float = 1.0) -> SinhPenalty:
    """``SinhPenalty(scale=K, phase=0)``, ``K = c^2 |beta_aux| + gamma^2``: a quarter of [LL]'s ``R_FT``."""
    b = as_finite_array("beta_aux", beta_aux, (1,))
    gamma = check_nonnegative("gamma", gamma)
    c = check_positive("c", c)
    K = c * c * np.abs(b) + gamma * gamma
    if np.any(K <= 0):
        raise ValueError("gamma: = 0 with beta_aux_i = 0 gives K_i = 0 (degenerate plotted penalty)")
    return SinhPenalty(scale=K, phase=np.zeros_like(K))


def plotted_penalty_value(beta, beta_aux, gamma, c: float = 1.0) -> float:
    """[LL]'s plotted penalty ``R_FT(beta) = sum_i K_i q_W(2 beta_i / K_i)``, ``K_i = c^2|beta_aux_i| + gamma^2``."""
    beta = as_finite_array("beta", beta, (1,))
    K = plotted_penalty(beta_aux, gamma, c).scale
    if K.shape != beta.shape:
        raise ValueError(f"beta: shape {beta.shape} does not match beta_aux's {K.shape}")
    return float(np.sum(K * q_W(2.0 * beta / K)))


def plotted_penalty_minimiser(X, y, beta_aux, gamma, c: float = 1.0, **solver_options) -> DualResult:
    """``argmin_{X beta = y} R_FT(beta)`` for [LL]'s plotted approximation (``penalty`` field = R_FT/4)."""
    return minimize_penalty_interpolation(X, y, plotted_penalty(beta_aux, gamma, c), **solver_options)


# ----------------------------------------------------------------------------------------------------
# which penalty does GD follow?
# ----------------------------------------------------------------------------------------------------
@dataclass
class PenaltyComparison:
    """Distances ``||beta_GD - beta_P||_2`` between the finetuning GD endpoint and three minimisers.

    ``exact``: :func:`finetuning_penalty` of the actual start (error O(lr_ft)); ``handoff``:
    :func:`handoff_penalty` from ``beta_aux`` (adds the pretraining GD error O(lr)); ``plotted``:
    [LL]'s ``R_FT`` with ``K = c^2|beta_aux| + gamma^2``. Each ``*_distance`` is an absolute l2 distance,
    ``*_relative`` the same divided by ``||beta_GD||``; arrays (B,) for a batched result.
    """

    beta_gd: np.ndarray
    beta_exact: np.ndarray
    beta_handoff: np.ndarray
    beta_plotted: np.ndarray
    exact_distance: float | np.ndarray
    handoff_distance: float | np.ndarray
    plotted_distance: float | np.ndarray
    exact_relative: float | np.ndarray
    handoff_relative: float | np.ndarray
    plotted_relative: float | np.ndarray
    solver_success: bool

    def __str__(self) -> str:
        f = lambda v: np.array2string(np.atleast_1d(v), precision=3)  # noqa: E731
        return (f"||GD - exact||   = {f(self.exact_distance)} (rel {f(self.exact_relative)})\n"
                f"||GD - handoff|| = {f(self.handoff_distance)} (rel {f(self.handoff_relative)})\n"
                f"||GD - plotted|| = {f(self.plotted_distance)} (rel {f(self.plotted_relative)})")


def compare_ptft_penalties(X_main, y_main, result: PTFTResult, **solver_options) -> PenaltyComparison:
    """Solve the three minimum-penalty problems for ``result`` and measure their distance to GD.

    Raises ValueError (``result``) if any run of ``result`` did not converge, and RuntimeError if a
    penalty minimisation fails.
    """
    if not isinstance(result, PTFTResult):
        raise ValueError(f"result: expected PTFTResult, got {type(result).__name__}")
    if not result.success:
        raise ValueError(f"result: PT+FT run did not converge ({result.message}); not comparing")
    Xs, ys, B, batched, d = _task_arrays([("X_main", X_main, "y_main", y_main)])
    gd = np.atleast_2d(result.beta_main)
    Bres = gd.shape[0]
    aux = np.broadcast_to(np.atleast_2d(result.beta_aux), gd.shape)
    if batched and B != Bres:
        raise ValueError(f"X_main: batch size {B} does not match the result's {Bres}")
    start = result.start if result.start.batched else None
    out = {k: [] for k in ("exact", "handoff", "plotted")}
    ok = True
    for b in range(Bres):
        X = Xs[0] if Xs[0].ndim == 2 else Xs[0][b]
        y = ys[0][b if batched else 0]
        st = start.run(b) if start is not None else result.start
        sols = {"exact": finetuning_implicit_bias(X, y, st, **solver_options),
                "handoff": minimize_penalty_interpolation(X, y, handoff_penalty(aux[b], result.c, result.gamma,
                                                                             result.alpha), **solver_options),
                "plotted": plotted_penalty_minimiser(X, y, aux[b], result.gamma, result.c, **solver_options)}
        for k, r in sols.items():
            if not r.success:
                raise RuntimeError(f"compare_ptft_penalties: {k} penalty minimisation failed ({r.message})")
            out[k].append(r.beta)
    arr = {k: np.array(v) for k, v in out.items()}
    dist = {k: np.linalg.norm(v - gd, axis=1) for k, v in arr.items()}
    gnorm = np.maximum(np.linalg.norm(gd, axis=1), np.finfo(float).tiny)
    sq = (lambda a: a) if np.ndim(result.beta_main) == 2 else (lambda a: a[0])
    sqf = (lambda a: a) if np.ndim(result.beta_main) == 2 else (lambda a: float(a[0]))
    return PenaltyComparison(beta_gd=sq(gd), beta_exact=sq(arr["exact"]), beta_handoff=sq(arr["handoff"]),
                             beta_plotted=sq(arr["plotted"]), exact_distance=sqf(dist["exact"]),
                             handoff_distance=sqf(dist["handoff"]), plotted_distance=sqf(dist["plotted"]),
                             exact_relative=sqf(dist["exact"] / gnorm),
                             handoff_relative=sqf(dist["handoff"] / gnorm),
                             plotted_relative=sqf(dist["plotted"] / gnorm), solver_success=ok)
