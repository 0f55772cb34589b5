"""Exact proportional-limit (replica-symmetric) generalisation error of finetuning after the [DL] hand-off.

Source: [DL] Anguita, Locatello, Saxe, Mondelli, Mancini, Lippl, Dominé, "A Theory of How Pretraining
Shapes Inductive Bias in Fine-Tuning", arXiv:2602.20062, Sec. 4 (Thm 4.1: the finetuning implicit bias
after the hand-off; Prop. 4.2: its replica-symmetric generalisation error).
The equations below were checked against the first author's public replica solver
(``Nico31415/toy-unlearning``, ``experiments/diagonal/replica/ptft_replica_qk.py``; read, not copied)
and against classical closed forms in ``tests/numerics/test_asymptotics.py``.

Setting
-------
Finetuning data ``y = X beta_FT + noise``, ``X_ij ~ N(0, 1/d)``, ``n = alpha_ft d``, label noise of standard
deviation ``noise``. By default pretraining is the oracle: ``beta_PT`` is the pretraining teacher, ``pt_amplitude`` on
a fraction ``rho_pt`` of the coordinates and 0 elsewhere. The [DL] hand-off makes finetuning (gradient
flow from ``beta = 0``) select

    beta_hat = argmin_{X beta = y} sum_d q_{k_d}(beta_d),
    q_k(x) = (sqrt k / 4) (1 - sqrt(1 + 4 x^2/k) + (2x/sqrt k) asinh(2x/sqrt k)),  q_k'(x) = asinh(2x/sqrt k)/2,
    sqrt k_d = 2 c_PT (1 + lambda_PT)(1 + sqrt(1 + (beta_PT,d/c_PT)^2)) + gamma_FT^2  (= 2 c_FT,d),

with ``c_PT > 0``, the *relative* scale ``lambda_PT`` in ``[-1, 1]`` and ``gamma_FT >= 0``
(:func:`ptft.numerics.ptft.dl_handoff_penalty`). With ``ridge > 0`` the estimator is instead the explicitly
regularised ``argmin (1/2n)||y - X beta||^2 + (ridge/d) sum_d q_{k_d}(beta_d)`` (``ridge -> 0`` recovers the
interpolator).

Task statistics: four coordinate groups ("pt_ft", "pt_only", "ft_only", "neither") with probabilities
``rho_pt rho_ft_shared``, ``rho_pt (1 - rho_ft_shared)``, ``(1 - rho_pt) rho_ft_new``,
``(1 - rho_pt)(1 - rho_ft_new)``; the finetuning teacher is ``N(0, 1/rho_FT)`` on the groups it uses, with
``rho_FT = rho_pt rho_ft_shared + (1 - rho_pt) rho_ft_new`` so that ``E[beta_FT^2] = 1``. The paper's figure
form ``(rho_FT, omega)`` (omega = fraction of the finetuning support inside the pretraining support) maps
to it through :func:`task_from_overlap`.

Replica-symmetric equations (Prop. 4.2 form)
--------------------------------------------------------------
Scalar channel ``Y = B + sqrt(theta0) Z`` per group (``B`` the finetuning coefficient, ``Z ~ N(0, 1)``),
estimate ``B_hat = eta(Y; theta, k) = argmin_x (x - Y)^2/(2 theta) + q_k(x)``, i.e. the root of
``x - Y + (theta/2) asinh(2x/sqrt k) = 0``, with ``d eta/dY = 1/(1 + theta/sqrt(k + 4 B_hat^2))``; then

    theta0 = (noise^2 + E[(B_hat - B)^2]) / alpha_ft,
    theta  = ridge + (theta/alpha_ft) E[d eta/dY]       (interpolation, ridge = 0:  E[d eta/dY] = alpha_ft),

and the generalisation error is ``E[(beta_hat - beta_FT)^2] = E[(B_hat - B)^2]`` (the second equation is
The general form ``theta = gamma_ext + (1/alpha) E[(1/theta + 1/sqrt(K + 4 B_hat^2))^-1]`` with ``gamma_ext =
ridge``). For ``alpha_ft >= 1`` and ``ridge = 0`` the interpolator is the least-squares solution and the
error is the classical ``noise^2/(alpha_ft - 1)`` (0 when noiseless), returned in closed form.

Finite pretraining data (``alpha_pt``; an extension, not in [DL])
-----------------------------------------------------------------
With ``alpha_pt`` given, ``beta_PT`` in ``k_d`` is not the teacher but the estimate of gradient-flow pretraining
on ``n_PT = alpha_pt d`` noiseless samples ``y_PT = X_PT beta*_PT`` (``X_PT`` Gaussian, independent of the
finetuning design and noise) from the [DL] pretraining init -- the estimator of
:func:`ptft.numerics.dl_finite.finite_d_error` (``method="minimiser"``): since ``beta(0) = 0`` and ``M = 2 c_PT``
on every coordinate, its implicit bias is ``q_{k_PT}`` with ``sqrt k_PT = 2 c_PT`` (whatever ``lambda_PT``), so

    beta_hat_PT = argmin_{X_PT b = y_PT} sum_d q_{k_PT}(b_d).

1. Pretraining fixed point (:func:`pretraining_error`): the same RS equations with a point-mass teacher
   ``B_PT = pt_amplitude`` (fraction ``rho_pt``) or ``0``, no noise, interpolation (``E[d eta/dY] = alpha_pt``):
   ``theta0_PT = E[(eta(B_PT + sqrt(theta0_PT) Z_PT; theta_PT, k_PT) - B_PT)^2]/alpha_pt``.
   ``alpha_pt >= 1`` (or ``rho_pt = 0``): the interpolator is the teacher (oracle pretraining, exact).
2. Per coordinate, the pretrained value is ``beta_hat_PT = eta(B_PT + sqrt(theta0_PT) Z_PT; theta_PT, k_PT)``,
   with ``Z_PT ~ N(0, 1)`` independent of the group and, given the group, of the finetuning coefficient ``B``
   (the pretraining design and the finetuning teacher's values are independent; only the supports are
   correlated, through the groups).
3. Finetuning fixed point: the equations above with ``k_d`` now a random function of ``beta_hat_PT``; every
   expectation ``E_group`` becomes ``E_group E_{Z_PT}``, i.e. group ``g`` splits into sub-groups with
   probability ``P(g) w_j`` and scale ``c_FT(beta_hat_PT = b_j)``, ``(b_j, w_j)`` a quadrature of the law of
   ``|beta_hat_PT|`` given ``B_PT`` (``amp`` on "pt_ft"/"pt_only", 0 on "ft_only"/"neither"; ``k`` depends on
   ``beta_hat_PT^2`` only). The finetuning design is independent of ``k_d``, so the finetuning problem is a
   separable regression with i.i.d. side information ``(B_d, k_d)``, whose RS equations are the ones above with
   the expectation over their joint law.
Assumptions beyond those of Prop. 4.2: replica symmetry for both problems, independent Gaussian designs,
noiseless pretraining labels, and gradient-flow pretraining (its minimiser; the GD pipeline of ``dl_finite``
approaches it as the step size shrinks). Checked against the finite-d pipeline in
``dl.rs_finite_pretraining_matches_finite_d`` and against exact limits (``lambda_PT = -1`` and ``c_PT -> oo``,
where ``k`` ignores ``beta_PT``; the lazy pretraining error ``(1 - alpha_pt) rho_pt A^2``) in
``tests/numerics/test_asymptotics_finite_pt.py``. Quadrature: the law of ``|beta_hat_PT|`` uses the same
``u``-parametrisation, ``beta_hat_PT = c_PT sinh u`` (so ``c_FT = c_PT (1 + lambda_PT)(1 + cosh u) + gamma_FT^2/2``
is entire in ``u``), with ``max(2, nodes // 2)`` Gauss-Legendre points per panel (doubling them changes the
error by < 1e-9).

Numerical method (exact to quadrature error)
--------------------------------------------
Expectations are one-dimensional: the Gaussian ``B`` is integrated analytically (``Y ~ N(0, s^2)`` with
``s^2 = var B + theta0``; ``E[(eta(Y) - B)^2] = E[(eta(Y) - m Y)^2] + v``, ``m = var B/s^2``,
``v = var B theta0/s^2``). The remaining integral over ``Y`` is taken in the *exact* parametrisation
``B_hat = c sinh u``, ``Y = c sinh u + (theta/2) u`` (``c = sqrt(k)/2``), in which the prox is explicit and
every integrand is an entire function of ``u``; this removes the near-kink of ``eta`` in the rich regime
(``k -> 0``, where ``eta`` approaches soft thresholding) that makes Gauss-Hermite in ``Y`` converge slowly.
The ``u``-axis is cut into panels (breakpoints every 0.5 in ``u`` and at ``Y = s/2, s, ...,10 s``) with
``nodes``-point Gauss-Legendre on each panel; doubling ``nodes`` changes the error by < 1e-12 in the tests.
The fixed point is solved in ``(log theta0, log theta)`` by Newton's method with the analytic Jacobian
(line search, warm starts); if it fails, a nested bracketed solve (Brent on ``log theta0``, a safeguarded
monotone solve of the ``theta`` equation inside) takes over. Non-convergence is always reported
(``converged``, ``residual``, ``message`` and a :class:`~ptft.numerics.validation.NotConvergedWarning`).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
from scipy import optimize, special

from ptft.numerics.ptft import _check_lambda_pt, dl_pretrained_first_layer_sq
from ptft.numerics.validation import (check_probability, NotConvergedWarning, as_finite_array, check_int, check_nonnegative,
                                      check_positive, warn_not_converged)

__all__ = ["GROUPS", "AsymptoticResult", "CurveResult", "MapResult", "task_from_overlap", "handoff_scales",
           "q_k", "eta", "eta_derivative", "generalization_error", "generalization_error_curve", "error_map",
           "error_map_point", "pretraining_error", "REGIME_REPRESENTATIVES"]

#: One initialisation ``{c_pt, lambda_pt, gamma_ft}`` per named [DL] regime (relative lambda_PT), all at
#: c_PT = 1e-3 (the authors' Fig. 4 scale); the one source for the figures, the claims and
#: :mod:`ptft.numerics.best_initialisation`. Each is confirmed by :func:`ptft.theory.regimes.classify_regime` at
#: |beta| = |beta_PT| = 1 (tests/paper_figures/test_dl_figures.py): I rich PT-independent (O, PD) = (1.036, 0),
#: II lazy PT-dependent (1.963, -0.962), III lazy PT-independent (2.000, -0.020), IV rich PT-dependent
#: (1.230, -0.230). Differences from the authors' Fig. 4: their regime II uses lambda = 0, which classifies as IV
#: here ((O, PD) = (1.887, -0.886): the lazy corner needs lambda_PT -> 1); their regime I uses lambda =
#: -0.999999 c_PT ((1.074, -0.074), also I); here lambda_PT = -1 exactly with gamma_FT = 1e-6 (PD = 0 exactly).
REGIME_REPRESENTATIVES = {
    "I": {"c_pt": 1e-3, "lambda_pt": -1.0, "gamma_ft": 1e-6},
    "II": {"c_pt": 1e-3, "lambda_pt": 1.0, "gamma_ft": 0.0},
    "III": {"c_pt": 1e-3, "lambda_pt": 0.0, "gamma_ft": 10.0},
    "IV": {"c_pt": 1e-3, "lambda_pt": -0.99, "gamma_ft": 0.0},
}

#: The four coordinate groups: pretraining and finetuning teacher both use the coordinate, only
#: pretraining, only finetuning, neither.
GROUPS = ("pt_ft", "pt_only", "ft_only", "neither")

#: ``|beta_hat_d| > ACTIVE_THRESHOLD`` counts a coordinate as active (q_k never gives exact zeros).
ACTIVE_THRESHOLD = 1e-6

_TAIL = 10.0          # integrate Y over |Y| <= _TAIL s (Gaussian tail beyond: < 1e-21 relative)
_DZ = 0.5             # breakpoints every _DZ s in Y ...
_DU = 0.5             # ... and every _DU in u
_SQRT2PI = math.sqrt(2.0 * math.pi)
_MAP_VERSION = "1"


# ----------------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------------
_check_probability = check_probability  # a probability or fraction in [0, 1], named in the error


_check_lambda = _check_lambda_pt  # lambda_PT in [-1, 1], named in the error


def task_from_overlap(rho_pt, rho_ft, omega) -> dict:
    """The paper's figure form ``(rho_PT, rho_FT, omega)`` as ``(rho_pt, rho_ft_shared, rho_ft_new)``.

    ``omega`` is the fraction of the finetuning support inside the pretraining support, so the groups have
    probabilities ``omega rho_FT`` (both), ``(1 - omega) rho_FT`` (finetuning only), ``rho_PT - omega rho_FT``
    (pretraining only) and ``1 - rho_PT - (1 - omega) rho_FT`` (neither) [DL, Fig. 3/4; the authors' code],
    i.e. ``rho_ft_shared = omega rho_FT / rho_PT`` and ``rho_ft_new = (1 - omega) rho_FT / (1 - rho_PT)``.
    Raises ValueError (naming the parameter) unless these are probabilities: ``omega rho_FT <= rho_PT`` and
    ``(1 - omega) rho_FT <= 1 - rho_PT``. Returns a dict to splat into :func:`generalization_error`.
    """
    rho_pt = _check_probability("rho_pt", rho_pt)
    rho_ft = _check_probability("rho_ft", rho_ft)
    omega = _check_probability("omega", omega)
    if rho_ft == 0.0:
        raise ValueError("rho_ft: must be > 0 (the finetuning teacher must use some coordinate)")
    shared_mass, new_mass = omega * rho_ft, (1.0 - omega) * rho_ft
    eps = 1e-12
    if shared_mass > rho_pt + eps:
        raise ValueError(f"omega: omega * rho_ft = {shared_mass:g} exceeds rho_pt = {rho_pt:g} (the shared part of "
                         "the finetuning support does not fit in the pretraining support)")
    if new_mass > 1.0 - rho_pt + eps:
        raise ValueError(f"omega: (1 - omega) * rho_ft = {new_mass:g} exceeds 1 - rho_pt = {1 - rho_pt:g} (the new "
                         "part of the finetuning support does not fit outside the pretraining support)")
    shared = min(shared_mass / rho_pt, 1.0) if rho_pt > 0 else 0.0
    new = min(new_mass / (1.0 - rho_pt), 1.0) if rho_pt < 1 else 0.0
    return {"rho_pt": rho_pt, "rho_ft_shared": shared, "rho_ft_new": new}


def handoff_scales(beta_pt, c_pt, lambda_pt, gamma_ft) -> np.ndarray:
    """``c_FT = sqrt(k)/2 = c_PT (1 + lambda_PT)(1 + sqrt(1 + (beta_PT/c_PT)^2)) + gamma_FT^2/2`` [DL Thm 4.1].

    Equal to ``ptft.numerics.ptft.dl_handoff_penalty(...).scale`` (the same formula; relative ``lambda_PT``).
    """
    g = check_nonnegative("gamma_ft", gamma_ft)
    c = dl_pretrained_first_layer_sq(beta_pt, c_pt, lambda_pt) + 0.5 * g * g
    if np.any(c <= 0):
        raise ValueError("gamma_ft: = 0 with lambda_pt = -1 gives a zero finetuning first layer (k = 0: every "
                         "coordinate stays at 0); use gamma_ft > 0")
    return c


# ----------------------------------------------------------------------------------------------------
# the scalar penalty, its prox and the prox derivative
# ----------------------------------------------------------------------------------------------------
def q_k(x, k) -> np.ndarray:
    """``q_k(x) = (sqrt k/4)(1 - sqrt(1 + 4x^2/k) + (2x/sqrt k) asinh(2x/sqrt k))`` without cancellation."""
    x = np.asarray(x, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    w = 2.0 * x / np.sqrt(k)
    return 0.25 * np.sqrt(k) * (w * np.arcsinh(w) - w * w / (1.0 + np.sqrt(1.0 + w * w)))


def _solve_u(z, theta, c, max_iter: int = 60):
    """Root ``u >= 0`` of ``G(u) = c sinh u + (theta/2) u - z`` for ``z >= 0`` (arrays broadcast).

    ``G`` is increasing and convex on ``u >= 0``. Both ``asinh(z/c)`` and ``z/(c + theta/2)`` are upper bounds
    (``G >= 0`` there); Newton from the smaller one decreases monotonically to the root (convexity), and
    ``asinh(max(z - theta hi/2, 0)/c)`` is a lower bound kept as a bracket (bisection if a step leaves it).
    Returns ``(u, converged_mask)``.
    """
    z, theta, c = np.broadcast_arrays(np.asarray(z, float), np.asarray(theta, float), np.asarray(c, float))
    z, theta, c = z.ravel(), theta.ravel(), c.ravel()
    half = 0.5 * theta
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        hi = np.minimum(np.arcsinh(z / c), z / (c + half))
    hi = np.where(np.isfinite(hi), hi, np.arcsinh(z / c))
    lo = np.arcsinh(np.maximum(z - half * hi, 0.0) / c)
    u = hi.copy()
    done = z <= 0
    u[done] = 0.0
    idx = np.flatnonzero(~done)
    for _ in range(max_iter):
        if idx.size == 0:
            break
        ui, ci, hf, zi = u[idx], c[idx], half[idx], z[idx]
        g = ci * np.sinh(ui) + hf * ui - zi
        gp = ci * np.cosh(ui) + hf
        pos = g > 0
        hi[idx] = np.where(pos, ui, hi[idx])
        lo[idx] = np.where(pos, lo[idx], ui)
        new = ui - g / gp
        bad = ~((new >= lo[idx]) & (new <= hi[idx]))
        new = np.where(bad, 0.5 * (lo[idx] + hi[idx]), new)
        step = np.abs(new - ui)
        u[idx] = new
        fin = (step <= 1e-10 * np.maximum(np.abs(new), 1e-300)) | (hi[idx] - lo[idx] <= 4e-16 * np.abs(new))
        idx = idx[~fin]
    ok = np.ones(u.shape, bool)
    ok[idx] = False
    return u, ok


def _theta_k(theta, k):
    theta = np.asarray(theta, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    if np.any(~np.isfinite(theta)) or np.any(theta <= 0):
        raise ValueError("theta: must be positive and finite")
    if np.any(~np.isfinite(k)) or np.any(k <= 0):
        raise ValueError("k: must be positive and finite")
    return theta, k


def eta(z, theta, k) -> np.ndarray:
    """Proximal map of ``q_k``: ``argmin_x (x - z)^2/(2 theta) + q_k(x)``, the root of
    ``x - z + (theta/2) asinh(2x/sqrt k) = 0`` (vectorised safeguarded Newton, see :func:`_solve_u`;
    solved in ``x = (sqrt k/2) sinh u`` where the equation is convex, so Newton is monotone).

    Arrays broadcast. Accurate to a few ulps of ``x``; raises RuntimeError if some point fails (never seen).
    """
    z = as_finite_array("z", z)
    theta, k = _theta_k(theta, k)
    c = 0.5 * np.sqrt(k)
    zb, tb, cb = np.broadcast_arrays(z, theta, c)
    u, ok = _solve_u(np.abs(zb), tb, cb)
    if not np.all(ok):
        raise RuntimeError(f"eta: Newton failed at {int((~ok).sum())} point(s)")
    return (np.sign(zb).ravel() * cb.ravel() * np.sinh(u)).reshape(zb.shape)


def eta_derivative(z, theta, k) -> np.ndarray:
    """``d eta/dz = 1/(1 + theta/sqrt(k + 4 eta(z)^2))`` (implicit differentiation of the prox equation)."""
    x = eta(z, theta, k)
    theta, k = _theta_k(theta, k)
    return 1.0 / (1.0 + theta / np.sqrt(k + 4.0 * x * x))


# ----------------------------------------------------------------------------------------------------
# the model: groups, quadrature, moments
# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Model:
    prob: np.ndarray      # (G,) group probabilities (only groups with prob > 0)
    scale: np.ndarray     # (G,) c_FT = sqrt(k)/2
    var_b: np.ndarray     # (G,) variance of the finetuning coefficient (1/rho_FT or 0)
    names: tuple          # (G,) group names
    all_prob: dict        # every group's probability
    all_scale: dict       # every group's c_FT
    noise2: float
    rho_ft: float
    mean: np.ndarray | None = None    # (G,) point-mass |B| per group (pretraining channel; var_b then = mean^2)
    member: np.ndarray | None = None  # (G,) index into GROUPS of each sub-group (finite pretraining)
    pretraining: object = None        # the pretraining AsymptoticResult (finite pretraining)


def _build_model(c_pt, lambda_pt, gamma_ft, rho_pt, rho_ft_shared, rho_ft_new, noise, pt_amplitude) -> _Model:
    c_pt = check_positive("c_pt", c_pt)
    lam = _check_lambda(lambda_pt)
    gamma_ft = check_nonnegative("gamma_ft", gamma_ft)
    rho_pt = _check_probability("rho_pt", rho_pt)
    shared = _check_probability("rho_ft_shared", rho_ft_shared)
    new = _check_probability("rho_ft_new", rho_ft_new)
    noise = check_nonnegative("noise", noise)
    amp = check_positive("pt_amplitude", pt_amplitude)
    probs = np.array([rho_pt * shared, rho_pt * (1.0 - shared), (1.0 - rho_pt) * new,
                      (1.0 - rho_pt) * (1.0 - new)])
    rho_ft = probs[0] + probs[2]
    if not rho_ft > 0:
        bad = "rho_ft_shared" if rho_pt > 0 and (rho_pt == 1 or new == 0) else "rho_ft_new"
        raise ValueError(f"{bad}: the finetuning teacher uses no coordinate (rho_FT = rho_pt rho_ft_shared + "
                         f"(1 - rho_pt) rho_ft_new = 0); E[beta_FT^2] = 1 cannot be normalised")
    if lam == -1.0 and gamma_ft == 0.0:
        raise ValueError("gamma_ft: = 0 with lambda_pt = -1 gives a zero finetuning first layer (k = 0: every "
                         "coordinate stays at 0); use gamma_ft > 0")
    scales = handoff_scales(np.array([amp, amp, 0.0, 0.0]), c_pt, lam, gamma_ft)
    var_b = np.array([1.0 / rho_ft, 0.0, 1.0 / rho_ft, 0.0])
    keep = probs > 0
    return _Model(prob=probs[keep], scale=scales[keep], var_b=var_b[keep],
                  names=tuple(g for g, kp in zip(GROUPS, keep) if kp),
                  all_prob=dict(zip(GROUPS, probs.tolist())), all_scale=dict(zip(GROUPS, scales.tolist())),
                  noise2=noise * noise, rho_ft=float(rho_ft))


@lru_cache(maxsize=16)
def _leggauss(m: int):
    x, w = np.polynomial.legendre.leggauss(m)
    return x, w


@dataclass
class _Grid:
    u: np.ndarray         # nodes (all groups concatenated)
    w: np.ndarray         # weights
    gid: np.ndarray       # group index per node
    ok: bool


def _panels(breaks: np.ndarray, umax: float, xi: np.ndarray, wi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the composite Gauss-Legendre rule (``xi``, ``wi`` on [-1, 1]) on ``[0, umax]``, with
    panel ends at ``breaks`` (inside the interval) and every ``_DU``; panels shorter than ``1e-9 umax`` merged."""
    bp = np.unique(np.concatenate(([0.0], breaks, np.arange(_DU, umax, _DU))))
    bp = bp[bp <= umax]
    bp = bp[np.concatenate(([True], np.diff(bp) > 1e-9 * max(umax, 1e-300)))]
    if bp.size < 2:
        bp = np.array([0.0, umax])
    a, b = bp[:-1], bp[1:]
    half = 0.5 * (b - a)
    return ((a + b)[:, None] * 0.5 + half[:, None] * xi[None, :]).ravel(), (half[:, None] * wi[None, :]).ravel()


def _make_grid(s: np.ndarray, theta: float, c: np.ndarray, nodes: int) -> _Grid:
    """Composite Gauss-Legendre grid on ``u in [0, U_g]`` per group (integrands are even in ``u``).

    Breakpoints: ``u(Y)`` at ``Y = _DZ s, 2 _DZ s, ..., _TAIL s`` (resolves the Gaussian) and every ``_DU`` in
    ``u`` (resolves the knee of ``eta`` where ``c sinh u`` takes over from ``(theta/2) u``).
    """
    G = s.size
    nz = int(round(_TAIL / _DZ))
    zs = s[:, None] * (_DZ * np.arange(1, nz + 1))[None, :]
    uz, ok = _solve_u(zs, theta, np.broadcast_to(c[:, None], zs.shape))
    uz = uz.reshape(G, nz)
    xi, wi = _leggauss(nodes)
    us, ws, gs = [], [], []
    for g in range(G):
        u, w = _panels(uz[g], uz[g, -1], xi, wi)
        us.append(u)
        ws.append(w)
        gs.append(np.full(u.size, g))
    return _Grid(np.concatenate(us), np.concatenate(ws), np.concatenate(gs), bool(np.all(ok)))


def _make_grid_many(s: np.ndarray, theta: float, c: np.ndarray, nodes: int) -> _Grid:
    """:func:`_make_grid` vectorised over many groups (the sub-groups of finite pretraining).

    The same breakpoints per group (``u(Y)`` at ``Y = _DZ s j`` and every ``_DU`` in ``u`` up to ``u(_TAIL s)``),
    padded to a common count with the group's ``U_g`` (zero-width panels, whose nodes are dropped); panels
    narrower than ``1e-9 U_g`` are kept rather than merged (both rules integrate to the same ~1e-13).
    """
    G = s.size
    nz = int(round(_TAIL / _DZ))
    zs = s[:, None] * (_DZ * np.arange(1, nz + 1))[None, :]
    uz, ok = _solve_u(zs, theta, np.broadcast_to(c[:, None], zs.shape))
    uz = uz.reshape(G, nz)
    umax = uz[:, -1]
    kmax = int(np.ceil(float(np.max(umax)) / _DU))
    du = _DU * np.arange(1, kmax + 1)
    bp = np.concatenate((np.zeros((G, 1)), uz, np.broadcast_to(du, (G, kmax))), axis=1)
    bp = np.sort(np.minimum(bp, umax[:, None]), axis=1)
    a, b = bp[:, :-1], bp[:, 1:]
    half = 0.5 * (b - a)
    xi, wi = _leggauss(nodes)
    u = (0.5 * (a + b))[:, :, None] + half[:, :, None] * xi[None, None, :]
    w = half[:, :, None] * wi[None, None, :]
    gid = np.broadcast_to(np.arange(G)[:, None, None], u.shape)
    keep = (w > 0).ravel()
    return _Grid(u.ravel()[keep], w.ravel()[keep], gid.ravel()[keep], bool(np.all(ok)))


@dataclass
class _Moments:
    D: float              # E[d eta/dY] (all groups)
    M: float              # E[(B_hat - B)^2]
    D_g: np.ndarray       # per group (conditional)
    M_g: np.ndarray
    dD: np.ndarray        # (d/dtheta0, d/dtheta) of D
    dM: np.ndarray
    active_g: np.ndarray  # P(|B_hat| > ACTIVE_THRESHOLD | group)
    grid_ok: bool


def _moments(model: _Model, theta0: float, theta: float, nodes: int) -> _Moments:
    """Group-wise ``E[d eta/dY]`` and ``E[(B_hat - B)^2]`` and their derivatives in ``(theta0, theta)``."""
    if model.mean is not None:
        return _point_mass_moments(model, theta0, theta, nodes)
    c = model.scale
    vb = model.var_b
    s2 = vb + theta0
    s = np.sqrt(s2)
    grid = (_make_grid if model.member is None else _make_grid_many)(s, theta, c, nodes)
    u, w, gi = grid.u, grid.w, grid.gid
    cg, s2g, vbg = c[gi], s2[gi], vb[gi]
    sh, ch = np.sinh(u), np.cosh(u)
    x = cg * sh
    z = x + 0.5 * theta * u
    zp = cg * ch + 0.5 * theta
    dens = np.exp(-0.5 * z * z / s2g) / (_SQRT2PI * np.sqrt(s2g))
    m = vbg / s2g
    e = x - m * z
    dG_theta = dens * (-0.5 * z * u / s2g)                  # d dens / d theta
    dG_s2 = dens * (0.5 * z * z / (s2g * s2g) - 0.5 / s2g)  # d dens / d theta0 (= d s^2)
    dm_theta0 = -vbg / (s2g * s2g)
    G = c.size
    w2 = 2.0 * w                                            # even integrands: [0, U] counted twice

    def gsum(f):
        return np.bincount(gi, weights=w2 * f, minlength=G)

    D_g = gsum(dens * cg * ch)
    mvec = vb / s2
    v = vb * theta0 / s2
    M_g = gsum(e * e * dens * zp) + v
    dD_theta0 = gsum(dG_s2 * cg * ch)
    dD_theta = gsum(dG_theta * cg * ch)
    dM_theta0 = gsum(-2.0 * e * z * dm_theta0 * dens * zp + e * e * dG_s2 * zp) + mvec * mvec
    dM_theta = gsum(-m * u * e * dens * zp + e * e * (dG_theta * zp + 0.5 * dens))
    p = model.prob
    # active fraction: |B_hat| > eps  <=>  |Y| > eps + (theta/2) asinh(eps/c)
    z_eps = ACTIVE_THRESHOLD + 0.5 * theta * np.arcsinh(ACTIVE_THRESHOLD / c)
    active_g = special.erfc(z_eps / (s * math.sqrt(2.0)))
    return _Moments(D=float(p @ D_g), M=float(p @ M_g), D_g=D_g, M_g=M_g,
                    dD=np.array([p @ dD_theta0, p @ dD_theta]), dM=np.array([p @ dM_theta0, p @ dM_theta]),
                    active_g=active_g, grid_ok=grid.ok)


# ----------------------------------------------------------------------------------------------------
# finite pretraining: the pretraining channel (a point-mass teacher) and the law of the pretrained beta_PT
# ----------------------------------------------------------------------------------------------------
def _point_mass_grid(mu: np.ndarray, s: float, theta: float, c: np.ndarray, nodes: int) -> _Grid:
    """Composite Gauss-Legendre grid on ``u in [0, U_g]`` for ``Y = +-mu_g + s Z`` folded onto ``Y >= 0``.

    ``eta`` is odd, so the two signs of the teacher and of ``Y`` combine into integrands on ``u >= 0`` (the
    density of ``|Y|`` is ``phi_s(Y - mu) + phi_s(Y + mu)``). Breakpoints: ``u(Y)`` at ``Y = _DZ s j`` and
    ``Y = mu +- _DZ s j`` (``j = 1 .. _TAIL/_DZ``, inside ``(0, mu + _TAIL s]``) and every ``_DU`` in ``u``.
    """
    xi, wi = _leggauss(nodes)
    j = _DZ * np.arange(1, int(round(_TAIL / _DZ)) + 1)
    us, ws, gs = [], [], []
    ok_all = True
    for g in range(mu.size):
        ymax = mu[g] + _TAIL * s
        yb = s * j if mu[g] == 0 else np.concatenate((s * j, mu[g] + s * np.concatenate((-j[::-1], [0.0], j))))
        yb = yb[(yb > 0) & (yb < ymax)]
        ub, ok = _solve_u(np.append(yb, ymax), theta, c[g])
        ok_all = ok_all and bool(np.all(ok))
        u, w = _panels(ub, ub[-1], xi, wi)
        us.append(u)
        ws.append(w)
        gs.append(np.full(u.size, g))
    return _Grid(np.concatenate(us), np.concatenate(ws), np.concatenate(gs), ok_all)


def _point_mass_terms(model: _Model, theta0: float, theta: float, nodes: int):
    """Nodes and integrand pieces of the pretraining channel (shared by the moments and the law of |B_hat|)."""
    c, mu = model.scale, model.mean
    s2 = theta0
    s = math.sqrt(s2)
    grid = _point_mass_grid(mu, s, theta, c, nodes)
    u, w, gi = grid.u, grid.w, grid.gid
    cg, mg = c[gi], mu[gi]
    x = cg * np.sinh(u)
    z = x + 0.5 * theta * u
    zp = cg * np.cosh(u) + 0.5 * theta
    rp, rm = z - mg, z + mg
    norm = 1.0 / (_SQRT2PI * s)
    php = norm * np.exp(-0.5 * rp * rp / s2)
    phm = norm * np.exp(-0.5 * rm * rm / s2)
    return grid, u, w, gi, cg, mg, x, z, zp, rp, rm, php, phm


def _point_mass_moments(model: _Model, theta0: float, theta: float, nodes: int) -> _Moments:
    """:func:`_moments` for a point-mass teacher ``B = +-mean_g`` (the noiseless pretraining channel).

    On ``u >= 0`` (``x = c sinh u``, ``Y = x + (theta/2) u``, ``dY/du = c cosh u + theta/2``):
    ``E[d eta/dY] = int c cosh u (phi_s(Y - mu) + phi_s(Y + mu)) du`` and
    ``E[(B_hat - B)^2] = int (dY/du) (phi_s(Y - mu)(x - mu)^2 + phi_s(Y + mu)(x + mu)^2) du`` (``s^2 = theta0``;
    ``mu = 0`` gives the formulas of :func:`_moments` with ``var B = 0``); derivatives by differentiating
    the Gaussian densities at fixed ``u`` (``d phi/d theta0 = phi (r^2/(2 s^4) - 1/(2 s^2))``,
    ``d phi/d theta = -phi r u/(2 s^2)``, ``d(dY/du)/d theta = 1/2``).
    """
    grid, u, w, gi, cg, mg, x, z, zp, rp, rm, php, phm = _point_mass_terms(model, theta0, theta, nodes)
    s2 = theta0
    G = model.scale.size
    ch = cg * np.cosh(u)
    ep, em = (x - mg) ** 2, (x + mg) ** 2
    dp_s2 = php * (0.5 * rp * rp / (s2 * s2) - 0.5 / s2)
    dm_s2 = phm * (0.5 * rm * rm / (s2 * s2) - 0.5 / s2)
    dp_th = -php * rp * u / (2.0 * s2)
    dm_th = -phm * rm * u / (2.0 * s2)

    def gsum(f):
        return np.bincount(gi, weights=w * f, minlength=G)

    D_g = gsum(ch * (php + phm))
    M_g = gsum(zp * (php * ep + phm * em))
    dD0, dDt = gsum(ch * (dp_s2 + dm_s2)), gsum(ch * (dp_th + dm_th))
    dM0 = gsum(zp * (dp_s2 * ep + dm_s2 * em))
    dMt = gsum(zp * (dp_th * ep + dm_th * em) + 0.5 * (php * ep + phm * em))
    p = model.prob
    z_eps = ACTIVE_THRESHOLD + 0.5 * theta * np.arcsinh(ACTIVE_THRESHOLD / model.scale)
    sq = math.sqrt(2.0 * s2)
    active_g = 0.5 * (special.erfc((z_eps - model.mean) / sq) + special.erfc((z_eps + model.mean) / sq))
    return _Moments(D=float(p @ D_g), M=float(p @ M_g), D_g=D_g, M_g=M_g,
                    dD=np.array([p @ dD0, p @ dDt]), dM=np.array([p @ dM0, p @ dMt]), active_g=active_g,
                    grid_ok=grid.ok)


def _pretraining_model(c_pt: float, rho_pt: float, amp: float) -> _Model:
    """The noiseless pretraining problem: teacher ``amp`` on a fraction ``rho_pt``, penalty ``q_k`` with
    ``sqrt k = 2 c_PT`` on every coordinate (groups "pt" and "off")."""
    probs = np.array([rho_pt, 1.0 - rho_pt])
    mean = np.array([amp, 0.0])
    keep = probs > 0
    return _Model(prob=probs[keep], scale=np.full(int(keep.sum()), c_pt), var_b=(mean * mean)[keep],
                  names=tuple(n for n, k in zip(("pt", "off"), keep) if k), all_prob={"pt": rho_pt, "off": 1 - rho_pt},
                  all_scale={"pt": c_pt, "off": c_pt}, noise2=0.0, rho_ft=float("nan"), mean=mean[keep])


def _pt_result_from(prob, x, F, mom: _Moments, conv, iterations, message, method, params) -> AsymptoticResult:
    m = prob.model
    ge = {"pt": float("nan"), "off": float("nan")}
    ga = dict(ge)
    for name, e, a in zip(m.names, mom.M_g, mom.active_g):
        ge[name], ga[name] = float(e), float(a)
    return AsymptoticResult(
        error=float(mom.M), theta=math.exp(x[1]), theta0=math.exp(x[0]), converged=bool(conv),
        residual=float(np.max(np.abs(F))), iterations=int(iterations), message=message, method=method,
        group_errors=ge, group_probabilities=dict(m.all_prob), group_scales=dict(m.all_scale),
        active_fraction=float(m.prob @ mom.active_g), group_active=ga, mean_derivative=float(mom.D), params=params)


def pretraining_error(*, c_pt, rho_pt, alpha_pt, pt_amplitude=1.0, nodes: int = 8,
                      tol: float = 1e-10) -> AsymptoticResult:
    """Replica-symmetric error ``E[(beta_hat_PT - beta_PT)^2]`` of [DL] pretraining on ``alpha_pt d`` samples.

    The pretraining estimator of ``numerics.dl_finite`` (method "minimiser"): gradient flow from the [DL]
    pretraining init (``beta(0) = 0``, ``M = 2 c_PT`` on every coordinate, whatever ``lambda_PT``) on
    noiseless labels ``y_PT = X_PT beta_PT`` reaches ``argmin_{X_PT b = y_PT} sum_d q_{k_PT}(b_d)`` with
    ``sqrt k_PT = 2 c_PT`` (:func:`ptft.numerics.ptft.finetuning_penalty` of
    :func:`ptft.numerics.ptft.dl_pretraining_start`: ``SinhPenalty(scale=c_PT)``). Its RS fixed point is the one
    of the module docstring with a point-mass teacher ``B = pt_amplitude`` (fraction ``rho_pt``) or ``0``,
    ``noise = 0`` and the interpolation equation ``E[d eta/dY] = alpha_pt`` (derivation asymptotics.fixed_point;
    teacher signs do not matter, ``eta`` being odd). ``alpha_pt >= 1`` (or ``rho_pt = 0``): the interpolator
    is the teacher, error 0 (closed form, ``theta0 = theta = 0``).

    Returns an :class:`AsymptoticResult` with groups ``"pt"`` (teacher on) and ``"off"``; non-convergence is
    reported (``converged=False`` and a NotConvergedWarning).
    """
    c_pt = check_positive("c_pt", c_pt)
    rho_pt = _check_probability("rho_pt", rho_pt)
    alpha_pt = check_positive("alpha_pt", alpha_pt)
    amp = check_positive("pt_amplitude", pt_amplitude)
    nodes = check_int("nodes", nodes, minimum=2)
    tol = check_positive("tol", tol)
    return _solve_pretraining(c_pt, rho_pt, alpha_pt, amp, nodes, tol)


@lru_cache(maxsize=32)
def _solve_pretraining(c_pt: float, rho_pt: float, alpha_pt: float, amp: float, nodes: int,
                       tol: float) -> AsymptoticResult:
    model = _pretraining_model(c_pt, rho_pt, amp)
    params = dict(c_pt=c_pt, rho_pt=rho_pt, alpha_pt=alpha_pt, pt_amplitude=amp, nodes=nodes, tol=tol)
    if alpha_pt >= 1 or rho_pt == 0:
        why = "alpha_pt >= 1" if alpha_pt >= 1 else "rho_pt = 0"
        return AsymptoticResult(error=0.0, theta=0.0, theta0=0.0, converged=True, residual=0.0, iterations=0,
                                message=f"closed form: {why}, noiseless pretraining recovers the teacher exactly",
                                method="closed-form", group_errors={"pt": 0.0, "off": 0.0},
                                group_probabilities=dict(model.all_prob), group_scales=dict(model.all_scale),
                                active_fraction=rho_pt, group_active={"pt": 1.0, "off": 0.0}, mean_derivative=1.0,
                                params=params)
    return _solve_point(model, alpha_pt, 0.0, nodes, tol, params, make_result=_pt_result_from)


def _pretrained_law(pt: AsymptoticResult, c_pt: float, amp: float, nodes: int):
    """Quadrature for the law of ``|beta_hat_PT|`` given the teacher value: for ``mu in (amp, 0)`` the nodes
    ``b_j = c_PT sinh u_j`` and weights ``w_j (dY/du)(u_j) (phi_s(Y_j - mu) + phi_s(Y_j + mu))`` (``s^2 =
    theta0_PT``; they sum to 1 up to the ``10 s`` Gaussian tail, and are renormalised). Returns
    ``{mu: (b, weights)}``; weights below ``1e-16`` are dropped (total dropped mass < 1e-13)."""
    out = {}
    for mu in (amp, 0.0):
        m = _Model(prob=np.ones(1), scale=np.array([c_pt]), var_b=np.array([mu * mu]), names=("x",), all_prob={},
                   all_scale={}, noise2=0.0, rho_ft=float("nan"), mean=np.array([mu]))
        grid, u, w, gi, cg, mg, x, z, zp, rp, rm, php, phm = _point_mass_terms(m, pt.theta0, pt.theta, nodes)
        if not grid.ok:
            raise RuntimeError("pretrained law: the prox root failed on the quadrature grid")
        om = w * zp * (php + phm)
        total = om.sum()
        keep = om > 1e-16
        out[mu] = (x[keep], om[keep] / total)
    return out


def _finite_pt_model(model: _Model, pt: AsymptoticResult, c_pt, lambda_pt, gamma_ft, amp, nodes) -> _Model:
    """The finetuning model after finite pretraining: every group splits into sub-groups, one per node of the
    law of ``|beta_hat_PT|`` given its pretraining teacher value (``amp`` on "pt_ft"/"pt_only", 0 on
    "ft_only"/"neither"), with probability ``P(group) w_j`` and scale ``c_FT(beta_hat_PT = b_j)``."""
    law = _pretrained_law(pt, c_pt, amp, nodes)
    probs, scales, vbs, member = [], [], [], []
    mean_scale = {}
    for gi, name in enumerate(GROUPS):
        p = model.all_prob[name]
        if p <= 0:
            mean_scale[name] = float("nan")
            continue
        b, w = law[amp] if name in ("pt_ft", "pt_only") else law[0.0]
        sc = handoff_scales(b, c_pt, lambda_pt, gamma_ft)
        vb = 1.0 / model.rho_ft if name in ("pt_ft", "ft_only") else 0.0
        probs.append(p * w)
        scales.append(sc)
        vbs.append(np.full(b.size, vb))
        member.append(np.full(b.size, gi))
        mean_scale[name] = float(w @ sc)
    return _Model(prob=np.concatenate(probs), scale=np.concatenate(scales), var_b=np.concatenate(vbs),
                  names=tuple(GROUPS[i] for i in np.concatenate(member)), all_prob=dict(model.all_prob),
                  all_scale=mean_scale, noise2=model.noise2, rho_ft=model.rho_ft, member=np.concatenate(member))


# ----------------------------------------------------------------------------------------------------
# fixed-point solvers
# ----------------------------------------------------------------------------------------------------
@dataclass
class _Problem:
    model: _Model
    alpha: float
    ridge: float
    nodes: int

    def residual(self, x, mom: _Moments | None = None):
        """``F = (log theta0 - log((noise^2 + M)/alpha), D/alpha - 1 + ridge/theta)`` and its Jacobian in
        ``(log theta0, log theta)``."""
        x = np.clip(np.asarray(x, float), -690.0, 690.0)   # keep exp() finite and nonzero
        t0, t = math.exp(x[0]), math.exp(x[1])
        if mom is None:
            mom = _moments(self.model, t0, t, self.nodes)
        tot = self.model.noise2 + mom.M
        F = np.array([x[0] - math.log(tot / self.alpha), mom.D / self.alpha - 1.0 + self.ridge / t])
        J = np.array([[1.0 - t0 * mom.dM[0] / tot, -t * mom.dM[1] / tot],
                      [t0 * mom.dD[0] / self.alpha, t * mom.dD[1] / self.alpha - self.ridge / t]])
        return F, J, mom

    def lazy_guess(self) -> np.ndarray:
        """Start from the lazy (weighted-l2, ``q_k ~ x^2/(2 sqrt k)``) solution, which is closed form up to a
        1-D root."""
        wts = 2.0 * self.model.scale
        p, vb = self.model.prob, self.model.var_b
        a, r = self.alpha, self.ridge

        def f(lt):
            t = math.exp(lt)
            return float(p @ (wts / (wts + t))) - a * (1.0 - r / t)

        lo, hi = math.log(wts.min()) - 40.0, math.log(wts.max()) + 40.0
        if r > 0:
            lo = min(lo, math.log(r) - 1.0)
        flo, fhi = f(lo), f(hi)
        lt = optimize.brentq(f, lo, hi, xtol=1e-12) if flo > 0 > fhi else (lo if flo <= 0 else hi)
        t = math.exp(lt)
        sh = wts / (wts + t)
        a1 = float(p @ ((1.0 - sh) ** 2 * vb))
        a2 = float(p @ (sh * sh))
        t0 = (self.model.noise2 + a1) / max(a - a2, 1e-3 * a)
        return np.array([math.log(max(t0, 1e-300)), lt])


def _newton(prob: _Problem, x0, tol: float, max_iter: int):
    """Damped Newton on ``F(log theta0, log theta) = 0``; returns (x, F, mom, converged, iterations, message)."""
    x = np.array(x0, dtype=float)
    F, J, mom = prob.residual(x)
    it = 0
    msg = "maximum number of Newton iterations reached"
    for it in range(1, max_iter + 1):
        if np.max(np.abs(F)) <= tol and mom.grid_ok:
            return x, F, mom, True, it - 1, "Newton: residual below tolerance"
        try:
            step = np.linalg.solve(J, -F)
        except np.linalg.LinAlgError:
            msg = "Newton: singular Jacobian"
            break
        if not np.all(np.isfinite(step)):
            msg = "Newton: non-finite step"
            break
        big = np.max(np.abs(step))
        if big > 2.0:
            step *= 2.0 / big
        f0 = float(F @ F)
        t = 1.0
        accepted = False
        while t >= 1.0 / 64:
            xn = x + t * step
            try:
                Fn, Jn, momn = prob.residual(xn)
            except (FloatingPointError, OverflowError, ValueError):
                Fn = None
            if Fn is not None and np.all(np.isfinite(Fn)) and float(Fn @ Fn) <= (1.0 - 1e-4 * t) * f0:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            msg = "Newton: line search failed"
            break
        x, F, J, mom = xn, Fn, Jn, momn
    else:
        if np.max(np.abs(F)) <= tol and mom.grid_ok:
            return x, F, mom, True, max_iter, "Newton: residual below tolerance"
    return x, F, mom, False, it, msg


def _solve_theta(prob: _Problem, l0: float, lt_guess: float, tol: float):
    """For fixed ``log theta0``, the root in ``log theta`` of ``F2`` (decreasing in ``log theta``).

    Safeguarded Newton (analytic derivative, steps capped at 3, bisection inside a bracket once a sign
    change is seen) until ``|F2| <= tol``; Brent on the bracket if that stalls. Returns
    ``(log theta, evaluations)``.
    """
    t0 = math.exp(min(max(l0, -690.0), 690.0))
    evals = [0]

    def f2(lt, deriv=False):
        evals[0] += 1
        t = math.exp(min(max(lt, -690.0), 690.0))
        mom = _moments(prob.model, t0, t, prob.nodes)
        val = mom.D / prob.alpha - 1.0 + prob.ridge / t
        if deriv:
            return val, t * mom.dD[1] / prob.alpha - prob.ridge / t
        return val

    lo, hi = -np.inf, np.inf          # f2(lo) > 0 > f2(hi)
    lt = float(lt_guess)
    best = (np.inf, lt)
    for _ in range(40):
        val, der = f2(lt, True)
        if abs(val) <= tol:
            return lt, evals[0]
        best = min(best, (abs(val), lt))
        if val > 0:
            lo = max(lo, lt)
        else:
            hi = min(hi, lt)
        step = -val / der if (der < 0 and np.isfinite(der)) else (3.0 if val > 0 else -3.0)
        step = max(-3.0, min(3.0, step))
        new = lt + step
        if np.isfinite(lo) and np.isfinite(hi) and not (lo < new < hi):
            new = 0.5 * (lo + hi)
        if abs(new - lt) <= 1e-15 * max(1.0, abs(lt)):
            break
        lt = new
    if not (np.isfinite(lo) and np.isfinite(hi)):
        if best[0] <= 1e-9:           # Newton stalled at the root (rounding): accept it
            return best[1], evals[0]
        step = 1.0                    # otherwise search for a sign change
        a = best[1]
        fa = f2(a)
        while step < 2.0 ** 10:
            b = a + step if fa > 0 else a - step
            fb = f2(b)
            if (fa > 0) != (fb > 0):
                lo, hi = (a, b) if fa > 0 else (b, a)
                break
            a, fa = b, fb
            step *= 2.0
        else:
            raise RuntimeError("theta equation: no sign change found")
    lt = optimize.brentq(f2, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200)
    return lt, evals[0]


def _nested(prob: _Problem, x0, tol: float):
    """Robust fallback: Brent on ``log theta0`` of ``F1(log theta0, log theta*(log theta0))``."""
    cache = {"lt": float(x0[1]), "evals": 0}

    def g(l0):
        lt, ev = _solve_theta(prob, l0, cache["lt"], 1e-13)
        cache["lt"] = lt
        cache["evals"] += ev + 1
        F, _, _ = prob.residual(np.array([l0, lt]))
        return F[0]

    a = float(x0[0])
    ga = g(a)
    step = 1.0
    b, gb = a, ga
    while (ga > 0) == (gb > 0) and step < 2 ** 9:
        b = a - step if ga > 0 else a + step
        gb = g(b)
        if (ga > 0) == (gb > 0):
            a, ga = b, gb
        step *= 2.0
    if (ga > 0) == (gb > 0):
        raise RuntimeError("theta0 equation: no sign change found")
    l0 = optimize.brentq(g, min(a, b), max(a, b), xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=200)
    lt, _ = _solve_theta(prob, l0, cache["lt"], 1e-13)
    x = np.array([l0, lt])
    F, _, mom = prob.residual(x)
    conv = bool(np.max(np.abs(F)) <= tol and mom.grid_ok)
    return x, F, mom, conv, cache["evals"], ("nested Brent: residual below tolerance" if conv else
                                             "nested Brent: residual above tolerance")


# ----------------------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------------------
@dataclass
class AsymptoticResult:
    """Replica-symmetric prediction at one parameter point (in the manner of ``scipy.optimize.OptimizeResult``).

    ``error`` = ``E[(beta_hat - beta_FT)^2]`` per coordinate; ``theta0`` (effective noise variance of the
    scalar channel) and ``theta`` (prox parameter) the fixed point; ``converged``/``residual`` (max of the two
    relative residuals)/``iterations``/``message``/``method`` the solver's verdict; ``group_errors``
    (conditional ``E[(B_hat - B)^2 | group]``), ``group_probabilities``, ``group_scales`` (``c_FT = sqrt k/2``),
    ``active_fraction`` (``P(|beta_hat_d| > ACTIVE_THRESHOLD)``), ``mean_derivative`` (``E[d eta/dY]``),
    ``params`` (the validated inputs), ``pretraining`` (with ``alpha_pt``: the pretraining fixed point of
    :func:`pretraining_error`, whose non-convergence makes this result non-converged; else None).
    """

    error: float
    theta: float
    theta0: float
    converged: bool
    residual: float
    iterations: int
    message: str
    method: str
    group_errors: dict
    group_probabilities: dict
    group_scales: dict
    active_fraction: float
    group_active: dict
    mean_derivative: float
    params: dict = field(default_factory=dict)
    pretraining: "AsymptoticResult | None" = None

    @property
    def success(self) -> bool:
        return self.converged

    @property
    def x(self) -> np.ndarray:
        """``(log theta0, log theta)``, the solver's variables (a warm start for a nearby point)."""
        return np.array([math.log(self.theta0) if self.theta0 > 0 else -np.inf,
                         math.log(self.theta) if self.theta > 0 else -np.inf])


_PARAMS = ("c_pt", "lambda_pt", "gamma_ft", "rho_pt", "rho_ft_shared", "rho_ft_new", "alpha_ft", "noise",
           "ridge", "pt_amplitude", "alpha_pt", "nodes", "tol")


def _prepare(c_pt, lambda_pt, gamma_ft, rho_pt, rho_ft_shared, rho_ft_new, noise, ridge, pt_amplitude,
             alpha_pt, nodes, tol):
    model = _build_model(c_pt, lambda_pt, gamma_ft, rho_pt, rho_ft_shared, rho_ft_new, noise, pt_amplitude)
    ridge = check_nonnegative("ridge", ridge)
    nodes = check_int("nodes", nodes, minimum=2)
    tol = check_positive("tol", tol)
    if alpha_pt is not None:
        alpha_pt = check_positive("alpha_pt", alpha_pt)
        c, lam, g, amp = float(c_pt), float(lambda_pt), float(gamma_ft), float(pt_amplitude)
        pt = _solve_pretraining(c, float(rho_pt), alpha_pt, amp, nodes, tol)
        if pt.method == "closed-form":      # the pretrained beta_PT is the teacher: oracle pretraining
            model = replace(model, pretraining=pt)
        else:
            model = replace(_finite_pt_model(model, pt, c, lam, g, amp, max(2, nodes // 2)), pretraining=pt)
    return model, ridge, nodes, tol


def _result_from(prob: _Problem, x, F, mom: _Moments, conv: bool, iterations: int, message: str, method: str,
                 params: dict) -> AsymptoticResult:
    m = prob.model
    ge = {g: float("nan") for g in GROUPS}
    ga = {g: float("nan") for g in GROUPS}
    if m.member is None:
        for name, e, a in zip(m.names, mom.M_g, mom.active_g):
            ge[name], ga[name] = float(e), float(a)
    else:                       # finite pretraining: average the sub-groups of each group
        for gi, name in enumerate(GROUPS):
            sel = m.member == gi
            if np.any(sel):
                p = m.prob[sel]
                ge[name] = float(p @ mom.M_g[sel] / p.sum())
                ga[name] = float(p @ mom.active_g[sel] / p.sum())
    pt = m.pretraining
    if pt is not None and not pt.converged:
        conv = False
        message = f"{message}; pretraining fixed point not converged ({pt.message})"
    return AsymptoticResult(
        error=float(mom.M), theta=math.exp(x[1]), theta0=math.exp(x[0]), converged=bool(conv),
        residual=float(np.max(np.abs(F))), iterations=int(iterations), message=message, method=method,
        group_errors=ge, group_probabilities=dict(m.all_prob), group_scales=dict(m.all_scale),
        active_fraction=float(m.prob @ mom.active_g), group_active=ga, mean_derivative=float(mom.D),
        params=params, pretraining=pt)


def _closed_form_ls(model: _Model, alpha: float, params: dict) -> AsymptoticResult:
    """``ridge = 0``, ``alpha >= 1``: the interpolator is least squares, ``beta_hat - beta = (X^T X)^-1 X^T noise``,
    error ``noise^2 tr((X^T X)^-1)/d -> noise^2/(alpha - 1)`` (inverse-Wishart mean); 0 when noiseless."""
    if model.noise2 == 0:
        err = 0.0
    elif alpha > 1:
        err = model.noise2 / (alpha - 1.0)
    else:
        err = float("inf")
    ge = {g: (err if model.all_prob[g] > 0 else float("nan")) for g in GROUPS}
    ga = {}
    for g in GROUPS:
        ga[g] = float("nan") if model.all_prob[g] == 0 else (1.0 if (g in ("pt_ft", "ft_only") or err > 0) else 0.0)
    act = float(sum(model.all_prob[g] * ga[g] for g in GROUPS if model.all_prob[g] > 0))
    return AsymptoticResult(error=err, theta=0.0, theta0=err, converged=True, residual=0.0, iterations=0,
                            message="closed form: alpha_ft >= 1 and ridge = 0, the interpolator is least squares",
                            method="closed-form", group_errors=ge, group_probabilities=dict(model.all_prob),
                            group_scales=dict(model.all_scale), active_fraction=act, group_active=ga,
                            mean_derivative=1.0, params=params, pretraining=model.pretraining)


def _solve_point(model, alpha, ridge, nodes, tol, params, x0=None, max_iter: int = 60,
                 warn: bool = True, make_result=None) -> AsymptoticResult:
    if make_result is None:
        make_result = _result_from
    if ridge == 0 and alpha >= 1:
        return _closed_form_ls(model, alpha, params)
    prob = _Problem(model, alpha, ridge, nodes)

    def cold_guess():
        guess = prob.lazy_guess()
        try:   # put theta on the right scale first (the lazy guess can be far off in the rich regime)
            guess[1], _ = _solve_theta(prob, guess[0], guess[1], 1e-4)
        except (RuntimeError, ValueError, OverflowError, FloatingPointError):
            pass
        return guess

    starts = []
    if x0 is not None and np.all(np.isfinite(x0)):
        starts.append(lambda: np.asarray(x0, float))
    starts.append(cold_guess)
    messages = []
    best = None
    iters = 0
    for start in starts:
        x, F, mom, conv, it, msg = _newton(prob, start(), tol, max_iter)
        iters += it
        if conv:
            return make_result(prob, x, F, mom, True, iters, msg, "newton", params)
        messages.append(msg)
        if best is None or np.max(np.abs(F)) < np.max(np.abs(best[1])):
            best = (x, F, mom, it)
    try:
        x, F, mom, conv, it, msg = _nested(prob, best[0], tol)
        method = "nested-brent"
        if not conv and np.max(np.abs(F)) > np.max(np.abs(best[1])):
            x, F, mom, it = best
            method = "newton"
    except (RuntimeError, ValueError, OverflowError, FloatingPointError) as exc:
        x, F, mom, it = best
        conv, msg, method = False, f"nested Brent failed ({exc})", "newton"
    messages.append(msg)
    message = "; ".join(messages)
    res = make_result(prob, x, F, mom, conv, it, message if conv else "not converged: " + message, method, params)
    if not conv and warn:
        warn_not_converged("asymptotics.generalization_error", res.residual, tol, detail=message, stacklevel=3)
    return res


# ----------------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------------
def generalization_error(*, c_pt, lambda_pt, gamma_ft, rho_pt, rho_ft_shared, rho_ft_new, alpha_ft, noise=0.0,
                         ridge=0.0, pt_amplitude=1.0, alpha_pt=None, nodes: int = 8,
                         tol: float = 1e-10) -> AsymptoticResult:
    """Replica-symmetric finetuning generalisation error ``E[(beta_hat - beta_FT)^2]`` after the [DL] hand-off.

    Parameters (keyword only; every one is validated, a bad value raises ValueError naming it)
    ----------
    c_pt > 0, lambda_pt in [-1, 1] (relative: ``(w^2 - v^2)/c_PT``), gamma_ft >= 0: the initialisation
        ([DL] Thm 4.1); ``lambda_pt = -1`` needs ``gamma_ft > 0``.
    rho_pt, rho_ft_shared, rho_ft_new in [0, 1]: task statistics (module docstring; :func:`task_from_overlap`
        converts the paper's ``(rho_FT, omega)``).
    alpha_ft > 0: ``n/d`` of finetuning. noise >= 0: label-noise *standard deviation*.
    ridge >= 0: explicit regularisation ``(ridge/d) sum q_k`` added to ``(1/2n)||y - X beta||^2``; 0 = the
        gradient-flow interpolator.
    pt_amplitude > 0: ``|beta_PT|`` on the pretraining support.
    alpha_pt > 0: pretraining on ``alpha_pt d`` noiseless samples by the pretraining minimiser (module
        docstring, "Finite pretraining data"; the result's ``pretraining`` holds its RS fixed point, and
        ``group_scales`` are then the mean ``c_FT`` per group); ``None`` = oracle pretraining.
    nodes >= 2: Gauss-Legendre points per panel; tol: solver tolerance on the relative residuals.

    Returns an :class:`AsymptoticResult`; a point that does not converge is returned with
    ``converged=False`` and a NotConvergedWarning (never a silent number).
    """
    model, ridge, nodes, tol = _prepare(c_pt, lambda_pt, gamma_ft, rho_pt, rho_ft_shared, rho_ft_new, noise,
                                        ridge, pt_amplitude, alpha_pt, nodes, tol)
    alpha = check_positive("alpha_ft", alpha_ft)
    params = dict(c_pt=float(c_pt), lambda_pt=float(lambda_pt), gamma_ft=float(gamma_ft), rho_pt=float(rho_pt),
                  rho_ft_shared=float(rho_ft_shared), rho_ft_new=float(rho_ft_new), alpha_ft=alpha,
                  noise=float(noise), ridge=ridge, pt_amplitude=float(pt_amplitude), alpha_pt=alpha_pt,
                  nodes=nodes, tol=tol)
    return _solve_point(model, alpha, ridge, nodes, tol, params)


@dataclass
class CurveResult:
    """:func:`generalization_error_curve`: both continuation branches and the chosen one, per ``alpha``.

    ``alphas`` in the caller's order; ``forward`` / ``backward``: lists of :class:`AsymptoticResult` from the
    increasing / decreasing sweep; ``error``, ``theta``, ``theta0``, ``converged``, ``residual``: arrays of the
    chosen branch; ``disagree[i]``: at ``alphas[i]`` the branch errors differ by more than ``branch_rtol``
    relative (+ 1e-12 absolute), or only one branch converged; ``choice[i]``: "agree", "forward" or
    "backward". Choice rule where they differ: a converged branch over a non-converged one; if both
    converged, the smaller error (the authors' best-of-branches rule; for the strictly convex ``q_k`` the RS
    fixed point is unique, so a disagreement signals a numerical problem and is worth a look); if neither
    converged, the smaller residual.
    """

    alphas: np.ndarray
    forward: list
    backward: list
    chosen: list
    error: np.ndarray
    theta: np.ndarray
    theta0: np.ndarray
    converged: np.ndarray
    residual: np.ndarray
    disagree: np.ndarray
    choice: np.ndarray
    branch_rtol: float

    @property
    def success(self) -> bool:
        return bool(np.all(self.converged))

    @property
    def forward_error(self) -> np.ndarray:
        return np.array([r.error for r in self.forward])

    @property
    def backward_error(self) -> np.ndarray:
        return np.array([r.error for r in self.backward])


def _sweep(model, alphas_sorted, ridge, nodes, tol, params_base):
    out = []
    prev = []          # (log alpha, x) of the last two converged points, for a secant predictor
    for a in alphas_sorted:
        x0 = None
        if len(prev) == 2 and prev[0][0] != prev[1][0]:
            (la1, x1), (la2, x2) = prev
            x0 = x2 + (x2 - x1) * (math.log(a) - la2) / (la2 - la1)
        elif prev:
            x0 = prev[-1][1]
        r = _solve_point(model, a, ridge, nodes, tol, dict(params_base, alpha_ft=float(a)), x0=x0, warn=False)
        out.append(r)
        if r.converged and r.method != "closed-form":
            prev = (prev + [(math.log(a), r.x)])[-2:]
    return out


def _choose_branch(f: AsymptoticResult, b: AsymptoticResult, rtol: float):
    """``(chosen, label, disagree)`` for the forward result ``f`` and backward result ``b`` at one alpha
    (rule in :class:`CurveResult`)."""
    diff = abs(f.error - b.error)
    close = diff <= 1e-12 + rtol * max(abs(f.error), abs(b.error))
    if close and f.converged == b.converged:
        return (f if f.residual <= b.residual else b), "agree", False
    if f.converged != b.converged:
        return ((f, "forward") if f.converged else (b, "backward")) + (True,)
    if f.converged:
        return ((f, "forward") if f.error <= b.error else (b, "backward")) + (True,)
    return ((f, "forward") if f.residual <= b.residual else (b, "backward")) + (True,)


def generalization_error_curve(alphas, *, branch_rtol: float = 1e-6, **kwargs) -> CurveResult:
    """:func:`generalization_error` along ``alphas`` with warm-started continuation in both directions.

    ``kwargs`` are those of :func:`generalization_error` except ``alpha_ft``. The increasing sweep starts
    each point from a secant extrapolation of the previous two solutions (as does the decreasing one);
    both branches are kept and compared (:class:`CurveResult`). One NotConvergedWarning summarises any
    chosen point that did not converge.
    """
    if "alpha_ft" in kwargs:
        raise ValueError("alpha_ft: give the values as `alphas`, not as alpha_ft")
    unknown = set(kwargs) - set(_PARAMS)
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: unknown parameter of generalization_error")
    a = as_finite_array("alphas", alphas, (1,))
    if np.any(a <= 0):
        raise ValueError(f"alphas: every alpha_ft must be > 0, got min {a.min():g}")
    branch_rtol = check_positive("branch_rtol", branch_rtol)
    kw = dict(noise=0.0, ridge=0.0, pt_amplitude=1.0, alpha_pt=None, nodes=8, tol=1e-10)
    kw.update(kwargs)
    try:
        model, ridge, nodes, tol = _prepare(kw["c_pt"], kw["lambda_pt"], kw["gamma_ft"], kw["rho_pt"],
                                            kw["rho_ft_shared"], kw["rho_ft_new"], kw["noise"], kw["ridge"],
                                            kw["pt_amplitude"], kw["alpha_pt"], kw["nodes"], kw["tol"])
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]}: required parameter missing") from None
    base = {k: kw[k] for k in _PARAMS if k != "alpha_ft"}
    base.update(ridge=ridge, nodes=nodes, tol=tol)
    order = np.argsort(a, kind="stable")
    fwd_sorted = _sweep(model, a[order], ridge, nodes, tol, base)
    bwd_sorted = _sweep(model, a[order][::-1], ridge, nodes, tol, base)[::-1]
    inv = np.empty_like(order)
    inv[order] = np.arange(order.size)
    fwd = [fwd_sorted[i] for i in inv]
    bwd = [bwd_sorted[i] for i in inv]
    chosen, choice, disagree = [], [], []
    for f, b in zip(fwd, bwd):
        c, lab, dis = _choose_branch(f, b, branch_rtol)
        chosen.append(c)
        choice.append(lab)
        disagree.append(dis)
    conv = np.array([c.converged for c in chosen])
    res = CurveResult(alphas=a, forward=fwd, backward=bwd, chosen=chosen,
                      error=np.array([c.error for c in chosen]), theta=np.array([c.theta for c in chosen]),
                      theta0=np.array([c.theta0 for c in chosen]), converged=conv,
                      residual=np.array([c.residual for c in chosen]), disagree=np.array(disagree),
                      choice=np.array(choice), branch_rtol=branch_rtol)
    if not np.all(conv):
        warn_not_converged("asymptotics.generalization_error_curve", res.residual, tol, conv,
                           detail=f"at alpha_ft = {a[~conv].tolist()}", stacklevel=2)
    return res


def error_map_point(**point) -> dict:
    """Sweep point function of :func:`error_map` (module level, so it travels to workers by reference)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        r = generalization_error(**point)
    return {"error": r.error, "theta": r.theta, "theta0": r.theta0, "converged": r.converged,
            "residual": r.residual, "iterations": r.iterations, "message": r.message,
            "active_fraction": r.active_fraction}


@dataclass
class MapResult:
    """:func:`error_map`: ``error[i, j]`` at ``param_x = values_x[i]``, ``param_y = values_y[j]`` (same for
    ``theta``, ``theta0``, ``converged``, ``residual``, ``active_fraction``); ``fixed`` the other parameters."""

    param_x: str
    values_x: np.ndarray
    param_y: str
    values_y: np.ndarray
    error: np.ndarray
    theta: np.ndarray
    theta0: np.ndarray
    converged: np.ndarray
    residual: np.ndarray
    active_fraction: np.ndarray
    fixed: dict

    @property
    def success(self) -> bool:
        return bool(np.all(self.converged))


def error_map(param_x, values_x, param_y, values_y, *, executor=None, cache_dir=None, progress: bool = False,
              **fixed) -> MapResult:
    """:func:`generalization_error` on the grid ``param_x x param_y`` through
    :func:`ptft.numerics.sweeps.run_sweep` (any executor; per-point JSON cache under ``cache_dir``).

    ``param_x``/``param_y`` are keyword names of :func:`generalization_error`; ``fixed`` gives the others.
    Every point is validated before anything runs. Each point is an independent cold solve (a worker
    gets no warm start), so a point's value does not depend on the executor.
    """
    from ptft.numerics.sweeps import grid, run_sweep

    for name, p in (("param_x", param_x), ("param_y", param_y)):
        if p not in _PARAMS or p in ("nodes", "tol", "alpha_pt"):
            raise ValueError(f"{name}: {p!r} is not a swept parameter of generalization_error")
    if param_x == param_y:
        raise ValueError("param_y: must differ from param_x")
    clash = {param_x, param_y} & set(fixed)
    if clash:
        raise ValueError(f"{sorted(clash)[0]}: given both as a swept and as a fixed parameter")
    unknown = set(fixed) - set(_PARAMS)
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: unknown parameter of generalization_error")
    vx = as_finite_array("values_x", values_x, (1,))
    vy = as_finite_array("values_y", values_y, (1,))
    points = [dict(fixed, **pt) for pt in grid(**{param_x: vx.tolist(), param_y: vy.tolist()})]
    for pt in points:      # validate up front (raises ValueError naming the parameter)
        kw = dict(noise=0.0, ridge=0.0, pt_amplitude=1.0, alpha_pt=None, nodes=8, tol=1e-10)
        kw.update(pt)
        missing = [k for k in ("c_pt", "lambda_pt", "gamma_ft", "rho_pt", "rho_ft_shared", "rho_ft_new", "alpha_ft")
                   if k not in kw]
        if missing:
            raise ValueError(f"{missing[0]}: required parameter missing")
        _prepare(kw["c_pt"], kw["lambda_pt"], kw["gamma_ft"], kw["rho_pt"], kw["rho_ft_shared"], kw["rho_ft_new"],
                 kw["noise"], kw["ridge"], kw["pt_amplitude"], kw["alpha_pt"], kw["nodes"], kw["tol"])
        check_positive("alpha_ft", kw["alpha_ft"])
    out = run_sweep(error_map_point, points, cache_dir=cache_dir, version=_MAP_VERSION, executor=executor,
                    progress=progress, desc="error_map")
    shape = (vx.size, vy.size)

    def arr(key, dtype=float):
        return np.array([o[key] for o in out], dtype=dtype).reshape(shape)

    conv = arr("converged", bool)
    res = MapResult(param_x=param_x, values_x=vx, param_y=param_y, values_y=vy, error=arr("error"),
                    theta=arr("theta"), theta0=arr("theta0"), converged=conv, residual=arr("residual"),
                    active_fraction=arr("active_fraction"), fixed=dict(fixed))
    if not np.all(conv):
        warn_not_converged("asymptotics.error_map", res.residual, float(fixed.get("tol", 1e-10)), conv,
                           stacklevel=2)
    return res
