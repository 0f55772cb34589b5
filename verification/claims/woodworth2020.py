"""Claims for the single-task two-layer diagonal network.

Sources: [W] Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry, Srebro, "Kernel and Rich
Regimes in Overparametrized Models", COLT 2020; [A] Azulay, Moroshko, Nacson, Woodworth, Srebro,
Globerson, Soudry, "On the Implicit Bias of Initialization Shape", ICML 2021.

Theory side: the implicit-bias minimiser ``argmin Q s.t. X beta = y`` (theory: ``diagonal.penalty``,
solved through the smooth dual). Simulation side: full-batch gradient descent on ``beta = u * v``.
"""
from __future__ import annotations

import warnings

import numpy as np

from ptft.numerics import diagonal as nd
from ptft.numerics.data import gaussian_design, sparse_teacher
from ptft.numerics.validation import NotConvergedWarning
from ptft.verification.registry import Measurement, NotConverged, RunConfig, claim

W = "[W] Woodworth et al., COLT 2020"
A = "[A] Azulay et al., ICML 2021"


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _problem(cfg: RunConfig, key: str, n: int, d: int, k: int):
    rng = cfg.rng("woodworth2020", key)
    X = gaussian_design(n, d, seed=rng, normalize="sqrt_d")
    beta_star = sparse_teacher(d, k, seed=rng)
    return X, X @ beta_star, beta_star, rng


def _unbalanced_init(rng: np.random.Generator, d: int, alpha: float):
    """A generic start with |u0| != |v0| everywhere, so the linear term phi of Q is exercised ([A])."""
    u0 = alpha * (1.0 + 0.5 * rng.random(d))
    v0 = alpha * 0.6 * (rng.random(d) - 0.5)
    return u0, v0


def _gd(X, y, u0, v0, lr, tol=1e-12, max_steps=400_000):
    r = nd.simulate_gd(X, y, u0, v0, lr, max_steps=max_steps, tol=tol)
    if not np.all(r.converged):
        raise NotConverged(f"GD at lr={lr}: {r.message}")
    return r.beta


def _dual(X, y, u0, v0):
    r = nd.implicit_bias_dual(X, y, u0, v0, tol=1e-13)
    if not r.success:
        raise NotConverged(f"dual solver: {r.message} (KKT residual {r.kkt_residual:.1e})")
    return r.beta


_LR_LEVELS = 4


def _lr_ladder(cfg: RunConfig):
    n, d = cfg.pick((12, 30), (20, 60))
    X, y, _, rng = _problem(cfg, "lr-ladder", n, d, 3)
    u0, v0 = _unbalanced_init(rng, d, 0.5)
    lam_max = np.linalg.eigvalsh(X.T @ X / n)[-1]
    lr0 = 0.2 / lam_max
    lrs = lr0 / 2.0 ** np.arange(_LR_LEVELS)
    return X, y, u0, v0, lrs


@claim("diagonal.gd_gap_is_first_order_in_lr",
       "The GD endpoint differs from the implicit-bias minimiser by O(lr): log-log slope of the gap is 1",
       f"{W}; {A}", tags=("diagonal",))
def gd_gap_first_order(cfg: RunConfig) -> Measurement:
    X, y, u0, v0, lrs = _lr_ladder(cfg)
    beta_q = _dual(X, y, u0, v0)
    gaps = np.array([_rel(_gd(X, y, u0, v0, lr), beta_q) for lr in lrs])
    slope = float(np.polyfit(np.log(lrs), np.log(gaps), 1)[0])
    local = np.diff(np.log(gaps)) / np.diff(np.log(lrs))
    return Measurement(
        theory=1.0, simulation=slope, error=abs(slope - 1.0), tolerance=0.05,
        tolerance_reason="GD = flow + a1 lr + a2 lr^2: the O(lr^2) term bends the log-log slope by about "
                         "a2 lr / a1; over lr0..lr0/8 (lr0 = 0.2/lambda_max) the local slopes measured here "
                         "differ from each other by far less than 0.05, so 0.05 bounds the curvature bias",
        metric="|fitted log-log slope of relative gap vs lr - 1|",
        theory_label="predicted slope", simulation_label="fitted slope",
        details={"lrs": lrs, "relative_gaps": gaps, "local_slopes": local})


@claim("diagonal.gd_extrapolates_to_implicit_bias",
       "Richardson-extrapolated GD (lr -> 0) equals argmin Q s.t. X beta = y to 1e-6 relative",
       f"{W}; {A}; theory: diagonal.penalty, diagonal.flow_solution", tags=("diagonal",))
def gd_extrapolates(cfg: RunConfig) -> Measurement:
    X, y, u0, v0, lrs = _lr_ladder(cfg)
    beta_q = _dual(X, y, u0, v0)
    ex = nd.extrapolate_to_flow(X, y, u0, v0, lrs, tol=1e-13, max_steps=400_000)
    if not np.all(ex.converged):
        raise NotConverged(ex.message)
    err = _rel(ex.beta, beta_q)
    gap_smallest_lr = _rel(ex.betas[-1], beta_q)
    return Measurement(
        theory=float(np.linalg.norm(beta_q)), simulation=float(np.linalg.norm(ex.beta)), error=err, tolerance=1e-6,
        tolerance_reason="Richardson over 4 step sizes leaves O(lr^4) (about 1e-9 here); GD stops at relative "
                         "residual 1e-13 and the dual at KKT residual 1e-13; 1e-6 is far above those errors and far "
                         "below the raw O(lr) gap (~1e-3), so it separates the flow's endpoint from GD's",
        metric="relative l2 distance between extrapolated GD endpoint and the dual minimiser",
        theory_label="||beta_Q||", simulation_label="||beta_GD(lr->0)||",
        details={"lrs": lrs, "gap_at_smallest_lr": gap_smallest_lr, "improvement": gap_smallest_lr / max(err, 1e-300)})


@claim("diagonal.flow_equals_implicit_bias",
       "The exact gradient flow (closed form, integrated in the dual variable) ends at argmin Q",
       f"{W}; {A}; theory: diagonal.beta_of_S, diagonal.penalty", tags=("diagonal",))
def flow_equals(cfg: RunConfig) -> Measurement:
    n, d = cfg.pick((12, 30), (30, 100))
    X, y, _, rng = _problem(cfg, "flow", n, d, 3)
    u0, v0 = _unbalanced_init(rng, d, 0.1)
    beta_q = _dual(X, y, u0, v0)
    fl = nd.simulate_flow(X, y, u0, v0, tol=1e-11, rtol=1e-11, atol=1e-14)
    if not fl.converged:
        raise NotConverged(fl.message)
    err = _rel(fl.beta, beta_q)
    return Measurement(
        theory=float(np.linalg.norm(beta_q)), simulation=float(np.linalg.norm(fl.beta)), error=err, tolerance=1e-7,
        tolerance_reason="ODE integrated with rtol 1e-11 and stopped at relative residual 1e-11; the stopped "
                         "point is at distance ~ residual x condition of X restricted to the penalty metric",
        metric="relative l2 distance between flow endpoint and dual minimiser",
        theory_label="||beta_Q||", simulation_label="||beta_flow||", details={"t_end": fl.t, "nfev": fl.nfev})


def _init_scan(cfg: RunConfig, key: str, n: int, d: int, k: int, alphas, lr_scale):
    X, y, beta_star, _ = _problem(cfg, key, n, d, k)
    lam_max = np.linalg.eigvalsh(X.T @ X / n)[-1]
    out = []
    for a in alphas:
        u0, v0 = np.full(d, a), np.zeros(d)
        lr = lr_scale / (lam_max * max(a * a, 1.0))
        out.append((a, _dual(X, y, u0, v0), _gd(X, y, u0, v0, lr, tol=1e-10)))
    return X, y, beta_star, out


@claim("diagonal.large_init_gives_min_l2",
       "Large initialisation (lazy regime): GD lands on the minimum-l2 interpolator, with gap ~ alpha^-4",
       f"{W}; theory: diagonal.penalty_lazy_limit", tags=("diagonal",))
def large_init_l2(cfg: RunConfig) -> Measurement:
    n, d = cfg.pick((15, 40), (30, 100))
    alphas = np.array([4.0, 8.0, 16.0, 32.0])
    X, y, _, runs = _init_scan(cfg, "lazy", n, d, 5, alphas, lr_scale=0.5)
    beta_l2 = nd.min_l2_interpolator(X, y)
    gd_gap = np.array([_rel(b_gd, beta_l2) for _, _, b_gd in runs])
    q_gap = np.array([_rel(b_q, beta_l2) for _, b_q, _ in runs])
    slope = float(np.polyfit(np.log(alphas), np.log(gd_gap), 1)[0])
    return Measurement(
        theory=-4.0, simulation=slope, error=abs(slope + 4.0), tolerance=0.1,
        tolerance_reason="the lazy series Q = beta^2/(4|c|) - beta^4/(48|c|^3) + ... with |c| = alpha^2/2 makes the "
                         "minimiser deviate from min-l2 at relative order (beta/|c|)^2 ~ alpha^-4; the next term "
                         "(alpha^-8) and GD's step-size bias (lr scaled with 1/alpha^2, so a constant fraction) bend "
                         "the fitted slope by well under 0.1 for alpha >= 4",
        metric="|fitted log-log slope of the GD endpoint's relative distance to min-l2 vs alpha + 4|",
        theory_label="predicted exponent", simulation_label="fitted exponent",
        details={"alphas": alphas, "gd_gap_to_l2": gd_gap, "Q_minimiser_gap_to_l2": q_gap})


@claim("diagonal.small_init_gives_min_l1",
       "Small initialisation (rich regime): gradient flow lands on the minimum-l1 interpolator",
       f"{W}; theory: diagonal.penalty_rich_limit", tags=("diagonal",))
def small_init_l1(cfg: RunConfig) -> Measurement:
    n, d, k = cfg.pick((24, 40, 2), (40, 100, 3))
    alpha = cfg.pick(1e-4, 1e-6)
    X, y, _, _ = _problem(cfg, "rich", n, d, k)
    u0, v0 = np.full(d, alpha), np.zeros(d)
    beta_l1 = nd.min_l1_interpolator(X, y)
    beta_q = _dual(X, y, u0, v0)
    predicted = _rel(beta_q, beta_l1)
    fl = nd.simulate_flow(X, y, u0, v0, tol=1e-10)
    if not fl.converged:
        raise NotConverged(fl.message)
    err = _rel(fl.beta, beta_l1)
    # GD reaches the same point only sublinearly: coordinates activated on the way decay like 1/t
    # (d beta/dt ~ -beta |beta| while |beta| >> alpha^2), so it is stopped early and reported as such
    lam_max = np.linalg.eigvalsh(X.T @ X / n)[-1]
    with warnings.catch_warnings():   # stopped early on purpose; its residual is reported in the details
        warnings.simplefilter("ignore", NotConvergedWarning)
        gd = nd.simulate_gd(X, y, u0, v0, 0.5 / lam_max, tol=1e-5, max_steps=20_000)
    return Measurement(
        theory=predicted, simulation=err, error=err, tolerance=2 * predicted + 1e-7,
        tolerance_reason="the rich limit predicts the implicit-bias minimiser approaches min-l1 only as alpha -> 0; "
                         "its distance at this alpha (computed by the dual solver) is the predicted gap; the "
                         "tolerance is twice that plus the ODE's stopping error (residual 1e-10)",
        metric=f"relative l2 distance of the exact-flow endpoint (alpha = {alpha:g}) to min-l1 (HiGHS LP)",
        theory_label="predicted gap", simulation_label="flow gap",
        details={"alpha": alpha, "flow_t_end": fl.t, "gd_steps": int(gd.steps),
                 "gd_relative_residual_after_steps": float(gd.rel_residual),
                 "gd_gap_to_l1_not_converged": _rel(gd.beta, beta_l1)})


@claim("diagonal.woodworth_q_equals_derived_Q",
       "Woodworth's published q_W penalty and the derived Q (|c| = 2 alpha^2, phi = 0) have the same minimiser",
       f"{W} (Theorem 1); theory: diagonal.woodworth_equivalence", tags=("diagonal",))
def woodworth_equivalence(cfg: RunConfig) -> Measurement:
    n, d = cfg.pick((15, 40), (30, 100))
    X, y, _, _ = _problem(cfg, "woodworth", n, d, 4)
    errs = []
    for alpha in (1e-3, 0.1, 1.0, 10.0):
        b_w = nd.implicit_bias_solution_two_pathway(X, y, alpha)
        b_q = _dual(X, y, np.full(d, 2 * alpha), np.zeros(d))
        errs.append(_rel(b_w, b_q))
    return Measurement(
        theory=0.0, simulation=max(errs), error=max(errs), tolerance=1e-9,
        tolerance_reason="both minimisers are solved to KKT residual 1e-13; the dual is well conditioned at "
                         "these scales, so agreement to 1e-9 is solver precision",
        metric="max over alpha in {1e-3, 0.1, 1, 10} of the relative distance between the two minimisers",
        details={"alphas": [1e-3, 0.1, 1.0, 10.0], "relative_distances": errs})


@claim("diagonal.two_pathway_gd_matches_uv",
       "GD on beta = w+^2 - w-^2 (init alpha) lands on the same implicit-bias minimiser as beta = u v",
       f"{W} (two-pathway parametrisation beta = w+^2 - w-^2); theory: diagonal.two_pathway_penalty", tags=("diagonal",))
def two_pathway_gd(cfg: RunConfig) -> Measurement:
    n, d = cfg.pick((12, 30), (20, 60))
    X, y, _, _ = _problem(cfg, "two-pathway", n, d, 3)
    alpha = 0.2
    lam_max = np.linalg.eigvalsh(X.T @ X / n)[-1]
    lrs = (0.05 / lam_max) / 2.0 ** np.arange(3)
    b_q = nd.implicit_bias_solution_two_pathway(X, y, alpha)
    ends = []
    for lr in lrs:
        r = nd.simulate_gd_two_pathway(X, y, alpha, lr, tol=1e-13, max_steps=400_000)
        if not r.converged:
            raise NotConverged(f"two-pathway GD at lr={lr}: {r.message}")
        ends.append(r.beta)
    # Richardson (first order) on the two smallest step sizes: beta_flow ~ 2 beta(lr/2) - beta(lr)
    gaps = [_rel(b, b_q) for b in ends]
    richardson = 2 * ends[-1] - ends[-2]
    err = _rel(richardson, b_q)
    return Measurement(
        theory=float(np.linalg.norm(b_q)), simulation=float(np.linalg.norm(richardson)), error=err, tolerance=1e-5,
        tolerance_reason="one Richardson step removes the O(lr) bias and leaves O(lr^2): the raw gaps measured "
                         "here are ~1e-3, so the second-order remainder is ~1e-6; 1e-5 bounds it",
        metric="relative distance of first-order-extrapolated two-pathway GD to Woodworth's q_W minimiser",
        theory_label="||argmin Q_alpha||", simulation_label="||beta_GD(lr->0)||",
        details={"lrs": lrs, "raw_gaps": gaps})
