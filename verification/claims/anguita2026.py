"""Claims for [DL]: the hand-off of pretraining + finetuning in diagonal networks, the replica-symmetric (RS)
finetuning error against its limits and against finite d, and the paper's findings (which initialisation
generalises best on which task; finite d -> RS; GD -> the hand-off minimiser in every regime).

Source: [DL] Anguita, Locatello, Saxe, Mondelli, Mancini, Lippl, Dominé, "A Theory of How Pretraining
Shapes Inductive Bias in Fine-Tuning", 2026, arXiv:2602.20062 (Thm 4.1, Prop. 4.2, Figs. 3-4).
"""
from __future__ import annotations

import numpy as np

from ptft.numerics import ptft as npf
from ptft.numerics.data import gaussian_design
from ptft.numerics.extrapolation import richardson_to_zero
from ptft.numerics.separable_dual import minimize_penalty_interpolation
from ptft.verification.claims.lippl_lindsey2023 import _rel
from ptft.verification.registry import Measurement, NotConverged, RunConfig, claim

DL = "[DL] Anguita et al., 2026 (arXiv:2602.20062)"


@claim("ptft.dl_handoff_follows_k_d",
       "After the [DL] hand-off, PT+FT gradient descent lands on the minimiser of q_k with the derived k_d",
       f"{DL}, Thm 4.1; theory: ptft.dl_handoff", tags=("ptft", "dl"))
def dl_handoff_follows_k_d(cfg: RunConfig) -> Measurement:
    """Pretrain by GD from (c_PT, lambda_PT), hand off, finetune by GD; extrapolate both step sizes to 0.

    The auxiliary task has n_aux = 2d samples, so beta_PT is the auxiliary teacher whatever the
    pretraining bias (as [DL] assume), and the prediction uses beta_PT alone: k_d from
    ``ptft.dl_handoff``. Both learning rates scale with one h; the pipeline endpoint is smooth in h, so
    Richardson extrapolation over 4 values of h removes the O(h), O(h^2), O(h^3) errors (the drift of
    the pretraining conserved quantity w^2 - v^2 and the finetuning step-size bias).
    """
    d, n_main, k = cfg.pick((20, 8, 4), (30, 12, 5))
    c_pt, lam, gamma = 0.1, 0.5, 0.3
    rng = cfg.rng("anguita2026", "dl_handoff")
    supp = rng.permutation(d)
    b_pt = np.zeros(d)
    b_pt[supp[:k]] = rng.choice([-1.0, 1.0], k) / np.sqrt(k)
    b_main = np.zeros(d)
    b_main[supp[k // 2: k // 2 + k]] = rng.choice([-1.0, 1.0], k) / np.sqrt(k)   # half shared, half new
    Xa = gaussian_design(2 * d, d, seed=rng)
    Xm = gaussian_design(n_main, d, seed=rng)
    ya, ym = Xa @ b_pt, Xm @ b_main
    lam_a = float(np.linalg.eigvalsh(Xa.T @ Xa)[-1]) / Xa.shape[0]
    lam_m = float(np.linalg.eigvalsh(Xm @ Xm.T)[-1]) / n_main
    theory = minimize_penalty_interpolation(Xm, ym, npf.dl_handoff_penalty(b_pt, c_pt, lam, gamma), tol=1e-13)
    if not theory.success:
        raise NotConverged(f"k_d penalty minimiser: {theory.message}")
    hs = 0.5 ** np.arange(4)
    ends, pt_err = [], []
    for h in hs:
        pt = npf.simulate_finetuning(Xa, ya, npf.dl_pretraining_start(d, c_pt, lam), 0.2 * h / lam_a, tol=1e-12,
                                     max_steps=500_000, names=("X_aux", "y_aux"))
        if not pt.converged:
            raise NotConverged(f"pretraining at h={h:g}: {pt.message}")
        ft = npf.simulate_finetuning(Xm, ym, npf.dl_finetuning_start(pt.weights, gamma), 0.2 * h / lam_m,
                                     tol=1e-13, max_steps=500_000, names=("X_main", "y_main"))
        if not ft.converged:
            raise NotConverged(f"finetuning at h={h:g}: {ft.message}")
        ends.append(ft.beta)
        pt_err.append(_rel(pt.beta, b_pt))
    extrapolated, est = richardson_to_zero(hs, ends)
    err = _rel(extrapolated, theory.beta)
    # discrimination: the same pipeline against k_d with lambda_PT dropped, and against the [LL]-style
    # symmetric start that ignores pretraining (M = gamma^2)
    alt = {name: _rel(extrapolated, minimize_penalty_interpolation(Xm, ym, pen, tol=1e-13).beta)
           for name, pen in (("k_d with lambda_PT = 0", npf.dl_handoff_penalty(b_pt, c_pt, 0.0, gamma)),
                             ("k_d with lambda_PT = -1 (pretraining ignored)",
                              npf.dl_handoff_penalty(b_pt, c_pt, -1.0, gamma)))}
    return Measurement(
        theory=float(np.linalg.norm(theory.beta)), simulation=float(np.linalg.norm(extrapolated)), error=err,
        tolerance=1e-6,
        tolerance_reason="Richardson over 4 step sizes leaves O(h^4) of a raw O(1e-3) gap; GD stops at relative "
                         "residuals 1e-12 (pretraining) and 1e-13 (finetuning), the dual at 1e-13; 1e-6 is the bar "
                         "of the other extrapolated claims, and wrong k's miss by > 1e-2 (details)",
        metric="relative distance of Richardson-extrapolated PT+FT GD ([DL] hand-off) to argmin q_k(k_d)",
        theory_label="||argmin q_k(k_d)||", simulation_label="||beta_GD(h->0)||",
        details={"c_pt": c_pt, "lambda_pt": lam, "gamma": gamma, "hs": hs,
                 "raw_gaps": [_rel(b, theory.beta) for b in ends], "extrapolation_error_estimate": est,
                 "pretraining_error": pt_err, "distance_to_alternatives": alt})


# ----------------------------------------------------------------------------------------------------
# proportional limit (d, n -> oo, alpha = n/d): the replica-symmetric error (numerics.asymptotics)
# against its derived closed-form limits and against finite-d minimisers
# ----------------------------------------------------------------------------------------------------
def _rs_result(**kw):
    """``numerics.asymptotics.generalization_error(**kw)``; a non-converged point raises NotConverged."""
    from ptft.numerics import asymptotics as A

    r = A.generalization_error(**kw)
    if not r.converged:
        raise NotConverged(f"RS fixed point ({kw}): {r.message}")
    return r


def _rs(alpha, *, task, **kw):
    """RS error at one point, the task as ``(rho_PT, rho_FT, omega)`` (:func:`_rs_result`)."""
    from ptft.numerics import asymptotics as A

    return _rs_result(**kw, **A.task_from_overlap(*task), alpha_ft=alpha).error


def _seeds(cfg: RunConfig, n: int, *keys, root: str = "anguita2026") -> list[int]:
    """``n`` seeds from ``cfg.rng(root, *keys)``."""
    return [int(x) for x in cfg.rng(root, *keys).integers(0, 2 ** 63 - 1, n)]


def _finite_d(d, alpha, seeds, what, **kw):
    """``numerics.dl_finite.finite_d_error`` by the minimiser (``kw``: initialisation, task rates, noise, ...);
    NotConverged, naming ``what``, if a seed did not converge."""
    from ptft.numerics import dl_finite as F

    fd = F.finite_d_error(d, alpha, seeds=seeds, method="minimiser", **kw)
    if not fd.success:
        raise NotConverged(f"finite-d minimiser ({what}, d = {d}, alpha = {alpha:g}): {fd.n_converged}/"
                           f"{len(seeds)} seeds converged")
    return fd


@claim("dl.rs_lazy_limit_is_one_minus_alpha",
       "At large c_PT the replica-symmetric finetuning error is the uniform-l2 (regime III) error 1 - alpha",
       f"{DL}, Prop 4.2 (regime III); theory: asymptotics.regime_III", tags=("dl", "asymptotics"))
def dl_rs_lazy_limit(cfg: RunConfig) -> Measurement:
    """RS error at c_PT = 1e6 (lambda_PT = 0, gamma_FT = 0: sqrt k = 2 c_FT ~ 4e6 on every coordinate) against
    ``1 - alpha + alpha sigma^2/(1 - alpha)`` (derivation asymptotics.regime_III) at several alphas, noiseless
    and with label noise sigma = 0.5. Deterministic (no sampling)."""
    from ptft.theory import asymptotics as T

    alphas = (0.1, 0.3, 0.5, 0.7, 0.9)
    kw = dict(c_pt=1e6, lambda_pt=0.0, gamma_ft=0.0, task=(0.1, 0.1, 0.5))
    rows = []
    for noise in (0.0, 0.5):
        for a in alphas:
            rs, exact = _rs(a, noise=noise, **kw), T.l2_uniform_error(a, noise)
            rows.append({"noise": noise, "alpha": a, "rs": rs, "theory": exact, "rel_gap": abs(rs - exact) / exact})
    worst = max(rows, key=lambda r: r["rel_gap"])
    mid = next(r for r in rows if r["noise"] == 0.0 and r["alpha"] == 0.5)
    return Measurement(
        theory=mid["theory"], simulation=mid["rs"], error=worst["rel_gap"], tolerance=1e-8,
        tolerance_reason="the RS solver stops at relative residual 1e-10 and its quadrature agrees with node doubling "
                         "to < 1e-8 (tests/numerics/test_asymptotics.py); q_k = x^2/(2 sqrt k)(1 + O(x^2/k)) with "
                         "sqrt k ~ 4e6 makes the lazy-limit correction ~ E[B^2 | B != 0]/k ~ 1e-12",
        metric="max over alpha in {0.1, ..., 0.9} and noise in {0, 0.5} of |RS - (1 - alpha + alpha sigma^2/(1 - alpha))| "
               "/ (1 - alpha + ...)",
        theory_label="1 - alpha at alpha = 0.5", simulation_label="RS error at c_PT = 1e6, alpha = 0.5",
        details={"c_pt": 1e6, "lambda_pt": 0.0, "gamma_ft": 0.0, "rho_pt_rho_ft_omega": kw["task"], "rows": rows})


@claim("dl.rs_subset_limit_is_one_minus_alpha_over_rho_pt",
       "Regime II on a subset task: the RS finetuning error is 1 - alpha/rho_PT below rho_PT and 0 above",
       f"{DL}, Prop 4.2 (regime II); theory: asymptotics.regime_II_subset", tags=("dl", "asymptotics"))
def dl_rs_subset_limit(cfg: RunConfig) -> Measurement:
    """c_PT = 1e-9, lambda_PT = 1, gamma_FT = 0, omega = 1 (finetuning support inside the pretraining support,
    rho_PT = 0.1, rho_FT = 0.05), pretraining amplitude A = 1e4: sqrt k ~ 8A on the pretraining support and
    ~ 1.6e-8 off it, the infinite-contrast limit of derivation asymptotics.regime_II_subset. The same alphas at
    A = 1e3 are in the details: the gap shrinks 100-fold per decade of A (the O(1/A^2) finite-contrast and
    curvature correction)."""
    from ptft.theory import asymptotics as T

    rho_pt, amp = 0.1, 1e4
    alphas = (0.02, 0.05, 0.08, 0.095, 0.12, 0.2)
    kw = dict(c_pt=1e-9, lambda_pt=1.0, gamma_ft=0.0, task=(rho_pt, 0.05, 1.0))
    rows = []
    for a in alphas:
        exact = T.regime_ii_subset_error(a, rho_pt)
        rs, rs_small = _rs(a, pt_amplitude=amp, **kw), _rs(a, pt_amplitude=amp / 10, **kw)
        rows.append({"alpha": a, "rs": rs, "theory": exact, "gap": abs(rs - exact),
                     "gap_at_amplitude_1e3": abs(rs_small - exact)})
    worst = max(rows, key=lambda r: r["gap"])
    mid = next(r for r in rows if r["alpha"] == 0.05)
    return Measurement(
        theory=mid["theory"], simulation=mid["rs"], error=worst["gap"], tolerance=1e-8,
        tolerance_reason="the finite weight contrast and the curvature of q_k on the support give an O(E[B^2 | supp]/k) "
                         "= (1/rho_FT)/(8A)^2 ~ 3e-9 correction at A = 1e4 (it scales as 1/A^2: details, A = 1e3); "
                         "the RS solver stops at relative residual 1e-10",
        metric="max over alpha (4 below rho_PT = 0.1, 2 above) of |RS - max(1 - alpha/rho_PT, 0)|",
        theory_label="1 - alpha/rho_PT at alpha = 0.05", simulation_label="RS error at alpha = 0.05",
        details={"c_pt": 1e-9, "lambda_pt": 1.0, "gamma_ft": 0.0, "pt_amplitude": amp,
                 "rho_pt_rho_ft_omega": kw["task"], "rows": rows})


@claim("dl.rs_l1_limit_recovers_at_donoho_tanner",
       "Regime I (rich, PT-independent): the RS exact-recovery transition is at the Donoho-Tanner threshold",
       f"{DL}, Prop 4.2 (regime I); theory: asymptotics.donoho_tanner", tags=("dl", "asymptotics"))
def dl_rs_l1_transition(cfg: RunConfig) -> Measurement:
    """lambda_PT = -1 makes sqrt k = gamma_FT^2 on every coordinate; as k -> 0, q_k tends to l1 with an O(1/L)
    log-weight correction, L = log(4/sqrt k). The transition alpha* is the zero of the a + b/L extrapolation
    (L -> oo) of the RS error from two values of gamma_FT (L = 93 and 139 with gamma_FT = 1e-20, 1e-30), found by
    brentq; it is compared with alpha_DT(rho_FT) from the derived curve (``theory.asymptotics.l1_threshold``,
    lambdified from derivation asymptotics.donoho_tanner). Full configuration: rho_FT = 0.1 and 0.01; quick: 0.1.
    In the full configuration the details also give alpha* from gamma_FT = (1e-12, 1e-15), L = (57, 70): the gap
    shrinks as L grows (-1.7% -> -1.2% at rho_FT = 0.1, -2.6% -> -1.9% at 0.01)."""
    import math

    from scipy import optimize

    from ptft.theory import asymptotics as T

    def err(a, rho_ft, g):
        return _rs(a, c_pt=1e-6, lambda_pt=-1.0, gamma_ft=g, task=(0.1, rho_ft, 0.0))

    def transition(rho_ft, gammas, ac):
        L1, L2 = (math.log(4 / g ** 2) for g in gammas)

        def limit(a):
            return (L2 * err(a, rho_ft, gammas[1]) - L1 * err(a, rho_ft, gammas[0])) / (L2 - L1)

        return optimize.brentq(limit, 0.85 * ac, 1.15 * ac, xtol=1e-6 * ac)

    rows = []
    for rho_ft in cfg.pick((0.1,), (0.1, 0.01)):
        ac = T.l1_threshold(rho_ft)
        row = {"rho_ft": rho_ft, "alpha_dt": ac}
        row["alpha_star"] = transition(rho_ft, (1e-20, 1e-30), ac)
        row["rel_gap"] = row["alpha_star"] / ac - 1
        if not cfg.quick:   # the L-trend: the same from L = 57, 70
            row["alpha_star_L=57,70"] = transition(rho_ft, (1e-12, 1e-15), ac)
            row["rel_gap_L=57,70"] = row["alpha_star_L=57,70"] / ac - 1
        rows.append(row)
    worst = max(rows, key=lambda r: abs(r["rel_gap"]))
    return Measurement(
        theory=rows[0]["alpha_dt"], simulation=rows[0]["alpha_star"], error=abs(worst["rel_gap"]), tolerance=0.03,
        tolerance_reason="the a + b/L extrapolation removes the O(1/L) log-weight correction of q_k only to leading "
                         "order (its coefficient drifts slowly with L); 1/L = 1.1% at L = 93, and the tolerance 3% "
                         "is about three times that; the measured gap shrinks as L grows (details: L = 57,70 vs 93,139); "
                         "brentq and the RS solver contribute < 1e-5",
        metric="max over rho_FT of |alpha*/alpha_DT - 1|, alpha* the zero of the L -> oo extrapolated RS error",
        theory_label="alpha_DT(rho_FT = 0.1)", simulation_label="RS transition alpha* (rho_FT = 0.1)",
        details={"c_pt": 1e-6, "lambda_pt": -1.0, "rho_pt": 0.1, "omega": 0.0, "rows": rows})


def _gap_row(rs: float, fd, allowance: float) -> dict:
    """RS error against a finite-d mean (a ``FiniteSizeResult``): the gap, in s.e., and the pass ratio
    ``|mean - RS| / (3 s.e. + allowance)`` (3 s.e. the sampling error, ``allowance`` the finite-size bias)."""
    gap = fd.mean - rs
    return {"rs": rs, "finite_d_mean": fd.mean, "sem": fd.sem, "ci95": fd.ci95, "gap": gap, "gap_in_sem": gap / fd.sem,
            "ratio": abs(gap) / (3 * fd.sem + allowance)}


@claim("dl.rs_matches_finite_d_minimiser",
       "The RS error equals the mean error of the finite-d minimum-penalty interpolator (regimes IV and I)",
       f"{DL}, Prop 4.2; theory: asymptotics.fixed_point", tags=("dl", "asymptotics"))
def dl_rs_matches_finite_d(cfg: RunConfig) -> Measurement:
    """Two settings, alpha = 0.25: regime IV (rich, PT-dependent: c_PT = 1e-3, lambda_PT = 0, gamma_FT = 0.1,
    rho_PT = 0.2, rho_FT = 0.1, omega = 0.5) and regime I (rich, PT-independent: c_PT = 1e-6, lambda_PT = -1,
    gamma_FT = 1e-3, rho_PT = 0.1, rho_FT = 0.1, omega = 0; below the Donoho-Tanner threshold 0.329, so the
    error is far from 0). For each: the mean over seeds of the finite-d error of the exact minimiser of
    sum q_{k_d} subject to X beta = y (``numerics.dl_finite.finite_d_error``, method "minimiser", exact group
    counts, oracle pretraining) against the RS error (derivation asymptotics.fixed_point, solved by
    ``numerics.asymptotics``). d = 1200 with 128 seeds (quick: d = 400, 64 seeds)."""
    from ptft.numerics import asymptotics as A

    d, n_seeds = cfg.pick((400, 64), (1200, 128))
    allowance = 0.5 / np.sqrt(d)
    settings = {"IV": dict(c_pt=1e-3, lambda_pt=0.0, gamma_ft=0.1, task=(0.2, 0.1, 0.5)),
                "I": dict(c_pt=1e-6, lambda_pt=-1.0, gamma_ft=1e-3, task=(0.1, 0.1, 0.0))}
    alpha, rows = 0.25, {}
    for name, s in settings.items():
        kw = dict(c_pt=s["c_pt"], lambda_pt=s["lambda_pt"], gamma_ft=s["gamma_ft"])
        rs = _rs(alpha, task=s["task"], **kw)
        fd = _finite_d(d, alpha, _seeds(cfg, n_seeds, "dl_finite", name), name, **kw, **A.task_from_overlap(*s["task"]))
        rows[name] = {**kw, "rho_pt_rho_ft_omega": s["task"], **_gap_row(rs, fd, allowance)}
    worst = max(rows.values(), key=lambda r: r["ratio"])
    iv = rows["IV"]
    return Measurement(
        theory=iv["rs"], simulation=iv["finite_d_mean"], error=worst["ratio"], tolerance=1.0,
        tolerance_reason=f"pass when |mean - RS| <= 3 s.e. + 0.5/sqrt(d) in both settings: 3 s.e. is the sampling "
                         f"error over {n_seeds} seeds; 0.5/sqrt(d) = {allowance:.3f} bounds the finite-size bias "
                         "(measured with 512 seeds at d = 400: +0.016 +- 0.006 (I), +0.008 +- 0.007 (IV); at d = 1200 "
                         "with 256 seeds within 1 s.e. of 0); the minimiser stops at relative residual 1e-10",
        metric="max over the two settings of |finite-d mean - RS| / (3 s.e. + 0.5/sqrt d)",
        theory_label="RS error (regime IV, alpha = 0.25)",
        simulation_label=f"finite-d minimiser mean (regime IV, d = {d}, {n_seeds} seeds)",
        details={"d": d, "alpha_ft": alpha, "seeds": n_seeds, "allowance": allowance, "settings": rows})


# ----------------------------------------------------------------------------------------------------
# [DL] findings: which initialisation generalises best on which task (RS errors, finite-d spot checks),
# and the convergence of finite d to the RS theory
# ----------------------------------------------------------------------------------------------------
def _rs_curve(alphas, *, task, **init):
    """RS errors along ``alphas`` (``generalization_error_curve``, both continuation directions); NotConverged
    if any chosen point did not converge or the two directions disagree (the RS fixed point of the strictly
    convex q_k is unique, so a disagreement is a numerical failure)."""
    from ptft.numerics import asymptotics as A

    cu = A.generalization_error_curve(np.asarray(alphas, float), **init, **A.task_from_overlap(*task))
    if not cu.success:
        raise NotConverged(f"RS curve ({init}, task {task}) at alpha = {cu.alphas[~cu.converged].tolist()}")
    if np.any(cu.disagree):
        raise NotConverged(f"RS curve ({init}, task {task}): continuation branches disagree at alpha = "
                           f"{cu.alphas[cu.disagree].tolist()}")
    return cu.error


def _paired_finite_d(d, alpha, inits: dict, task, seeds) -> dict:
    """Finite-d minimiser errors of several initialisations on the *same* seeds (same task, design and labels
    per seed, so differences are paired); NotConverged if a seed fails."""
    from ptft.numerics import asymptotics as A

    return {name: _finite_d(d, alpha, seeds, name, **init, **A.task_from_overlap(*task)) for name, init in inits.items()}


def _paired_difference(a: np.ndarray, b: np.ndarray) -> dict:
    """Mean of ``a - b`` over paired seeds, its standard error and Student-t 95 % interval."""
    from scipy import stats

    diff = np.asarray(a, float) - np.asarray(b, float)
    m, se = float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(diff.size))
    h = float(stats.t.ppf(0.975, diff.size - 1)) * se
    return {"mean": m, "sem": se, "ci95": (m - h, m + h)}


_SUBSET_FIRST_LAYER = dict(c_pt=1e-3, gamma_ft=0.0)   # [DL] Fig. 3F (authors' figure script): c_PT = 1e-3, gamma = 0


@claim("dl.smaller_first_layer_wins_on_subset_task",
       "lambda_PT = -0.99 (rich, PT-dependent) beats every lambda_PT >= 0 on a sparse subset task at intermediate "
       "alpha; on a denser subset lambda_PT = -0.99 loses for alpha <= 0.1 and a moderate lambda_PT = -0.7 wins",
       f"{DL}, abstract and Fig. 3F (c_PT = 1e-3, gamma_FT = 0, omega = 1)", tags=("dl", "asymptotics"))
def dl_smaller_first_layer_wins(cfg: RunConfig) -> Measurement:
    """A relatively smaller first layer (lambda_PT < 0: w^2 - v^2 = lambda_PT c_PT) gives a lower RS finetuning
    error than any lambda_PT in {0, 0.5, 0.99} on tasks whose finetuning features are a subset of the
    pretraining features; how negative is best depends on how sparse the subset is.

    Source: [DL] abstract ("a smaller initialization scale in earlier layers ... superior generalization on
    fine-tuning tasks that rely on a subset of pretraining features") and Fig. 3F, whose settings (c_PT = 1e-3,
    gamma_FT = 0, rho_PT = 0.1, omega = 1, rho_FT in {0.01, 0.04, 0.1}) were read from the authors' figure script.
    Setting: oracle pretraining (amplitude 1), noiseless labels, RS errors (``numerics.asymptotics``).
    Checks (each a winner/loser ratio that must be < 1):
    * sparse subset rho_FT = 0.01 (10% of the pretraining support): lambda_PT = -0.99 beats the best of
      lambda_PT in {0, 0.5, 0.99} at alpha in {0.02, 0.03, 0.05, 0.08, 0.1};
    * dense subset rho_FT = 0.04 (40%): lambda_PT = -0.99 *loses* to lambda_PT = 0 at alpha in {0.02, 0.05, 0.1}
      and wins at alpha in {0.15, 0.2}; lambda_PT = -0.7 beats every lambda_PT >= 0 at alpha in {0.05, 0.08, 0.1};
    * finite d, sparse subset, alpha = 0.05: the exact hand-off minimiser with lambda_PT = -0.99 against
      lambda_PT = 0 on the same seeds (paired), d = 2000 with 24 seeds (quick: d = 1000, 12 seeds); the upper
      end of the paired 95 % interval of err(-0.99) - err(0) must be < 0.
    """
    lams = (-0.99, -0.7, 0.0, 0.5, 0.99)
    nonneg = (0.0, 0.5, 0.99)
    sparse_a = (0.02, 0.03, 0.05, 0.08, 0.1)
    dense_lose_a, dense_win_a, moderate_a = (0.02, 0.05, 0.1), (0.15, 0.2), (0.05, 0.08, 0.1)
    dense_a = (0.02, 0.05, 0.08, 0.1, 0.15, 0.2)
    sparse = {lam: _rs_curve(sparse_a, task=(0.1, 0.01, 1.0), lambda_pt=lam, **_SUBSET_FIRST_LAYER) for lam in lams}
    dense = {lam: _rs_curve(dense_a, task=(0.1, 0.04, 1.0), lambda_pt=lam, **_SUBSET_FIRST_LAYER) for lam in lams}
    best_sparse = np.min([sparse[lam] for lam in nonneg], axis=0)
    best_dense = np.min([dense[lam] for lam in nonneg], axis=0)
    r_sparse = sparse[-0.99] / best_sparse                         # < 1: lambda = -0.99 wins
    r_dense = dense[-0.99] / best_dense
    r_moderate = dense[-0.7] / best_dense
    at = {a: i for i, a in enumerate(dense_a)}
    ratios = {"sparse: err(-0.99)/min err(lambda>=0)": r_sparse,
              "dense, alpha<=0.1: min err(lambda>=0)/err(-0.99)": np.array([1.0 / r_dense[at[a]] for a in dense_lose_a]),
              "dense, alpha>=0.15: err(-0.99)/min err(lambda>=0)": np.array([r_dense[at[a]] for a in dense_win_a]),
              "dense: err(-0.7)/min err(lambda>=0)": np.array([r_moderate[at[a]] for a in moderate_a])}
    # finite d, sparse subset, alpha = 0.05: lambda = -0.99 against lambda = 0, paired seeds
    d, n_seeds, a_fd = cfg.pick(1000, 2000), cfg.pick(12, 24), 0.05
    fd = _paired_finite_d(d, a_fd, {lam: dict(lambda_pt=lam, **_SUBSET_FIRST_LAYER) for lam in (-0.99, 0.0)},
                          (0.1, 0.01, 1.0), _seeds(cfg, n_seeds, "subset_win"))
    diff = _paired_difference(fd[-0.99].errors, fd[0.0].errors)
    fd_ratio = 1.0 + diff["ci95"][1] / fd[0.0].mean      # < 1 iff the upper 95 % bound of the paired gain is < 0
    ratios["finite d: 1 + upper CI of paired err(-0.99) - err(0), / mean err(0)"] = np.array([fd_ratio])
    worst_name, worst_vals = max(ratios.items(), key=lambda kv: float(np.max(kv[1])))
    worst = float(np.max(worst_vals))
    i05 = sparse_a.index(0.05)
    return Measurement(
        theory=float(sparse[-0.99][i05]), simulation=float(fd[-0.99].mean), error=worst, tolerance=1.0 - 1e-6,
        tolerance_reason="an ordering: every winner/loser ratio must be < 1; the RS errors are accurate to ~1e-8 "
                         "relative (solver residual 1e-10), so the strict bound 1 - 1e-6 cannot be met by rounding; "
                         "the finite-d ratio uses the upper end of the paired 95 % interval, so sampling error is "
                         "accounted for",
        metric="max over the checks of the docstring of a winner/loser error ratio (RS errors; finite d: 1 + upper "
               "95 % bound of the paired difference err(-0.99) - err(0) over mean err(0))",
        theory_label="RS error, lambda_PT = -0.99, rho_FT = 0.01, alpha = 0.05",
        simulation_label=f"finite-d mean, lambda_PT = -0.99 (d = {d}, {n_seeds} seeds)",
        details={**_SUBSET_FIRST_LAYER, "rho_pt": 0.1, "omega": 1.0, "tightest_check": worst_name,
                 "ratios": ratios,
                 "sparse_rho_ft_0.01": {"alphas": sparse_a, **{f"lambda={lam}": sparse[lam] for lam in lams}},
                 "dense_rho_ft_0.04": {"alphas": dense_a, **{f"lambda={lam}": dense[lam] for lam in lams}},
                 "finite_d": {"d": d, "alpha": a_fd, "seeds": n_seeds,
                              "rs": {"lambda=-0.99": float(sparse[-0.99][i05]), "lambda=0": float(sparse[0.0][i05])},
                              "mean": {"lambda=-0.99": fd[-0.99].mean, "lambda=0": fd[0.0].mean},
                              "ci95": {"lambda=-0.99": fd[-0.99].ci95, "lambda=0": fd[0.0].ci95},
                              "paired_difference_minus0.99_minus_0": diff}})


def _increasing(rows: np.ndarray) -> np.ndarray:
    """Per column, the largest ratio ``E(x_j)/E(x_{j+1})`` of consecutive rows (< 1: strictly increasing)."""
    return np.max(rows[:-1] / rows[1:], axis=0)


def _ordering(cfg: RunConfig, name: str, values: tuple, grid: tuple, fixed: dict, lo: float, hi: float,
              a_fd: float) -> dict:
    """The data of an ordering claim over one initialisation parameter ``name``, rho_PT = rho_FT = 0.1.

    RS errors on ``values`` x ``grid`` (alpha) on the shared-feature task (omega = 1: ``shared``) and the
    new-feature task (omega = 0: ``new``), their consecutive ratios (:func:`_increasing`), and the paired finite-d
    check of ``lo`` against ``hi`` at alpha = ``a_fd`` on the shared task (d = 2000, 8 seeds; quick: 1000, 6):
    ``fd_ratio`` = 1 + upper end of the paired 95 % interval of err(lo) - err(hi), over mean err(hi).
    """
    shared = np.array([_rs_curve(grid, task=(0.1, 0.1, 1.0), **{name: v}, **fixed) for v in values])
    new = np.array([_rs_curve(grid, task=(0.1, 0.1, 0.0), **{name: v}, **fixed) for v in values])
    d, n_seeds = cfg.pick(1000, 2000), cfg.pick(6, 8)
    fd = _paired_finite_d(d, a_fd, {v: {name: v, **fixed} for v in (lo, hi)}, (0.1, 0.1, 1.0),
                          _seeds(cfg, n_seeds, name))
    diff = _paired_difference(fd[lo].errors, fd[hi].errors)
    i = grid.index(a_fd)
    return {"shared": shared, "new": new, "r_shared": _increasing(shared), "r_new": _increasing(new), "fd": fd,
            "d": d, "n_seeds": n_seeds, "i": i, "fd_ratio": 1.0 + diff["ci95"][1] / fd[hi].mean,
            "finite_d": {"d": d, "alpha": a_fd, "seeds": n_seeds,
                         "rs": {str(v): float(shared[values.index(v), i]) for v in (lo, hi)},
                         "mean": {str(v): fd[v].mean for v in (lo, hi)},
                         "ci95": {str(v): fd[v].ci95 for v in (lo, hi)},
                         "paired_difference": diff}}


@claim("dl.larger_c_pt_hurts",
       "On a task reusing the pretraining features the RS error increases strictly with c_PT at every alpha in "
       "[0.1, 0.3]; on a task with new features a larger c_PT helps below alpha ~ 0.3",
       f"{DL}, Fig. 3A (c_PT in {{1e-6, 1e-3, 1}}, lambda_PT = 0, gamma_FT = 0, omega in {{0, 1}})",
       tags=("dl", "asymptotics"))
def dl_larger_c_pt_hurts(cfg: RunConfig) -> Measurement:
    """A larger pretraining initialisation scale c_PT (lambda_PT = 0, gamma_FT = 0) gives a larger RS finetuning
    error when the finetuning task reuses the pretraining features (rich pretraining makes the hand-off penalty
    favour them); the statement is task dependent.

    Source: [DL] Fig. 3A and 3D; settings (rho_PT = rho_FT = 0.1, lambda_PT = 0, gamma_FT = 0, omega in {0, 1},
    c_PT in {1e-6, 1e-3, 1}) read from the authors' figure script. Setting: oracle pretraining (amplitude 1),
    noiseless labels. Measured: the RS error on the grid c_PT in {1e-6, 1e-4, 1e-3, 1e-2, 0.1, 1, 10} on the
    shared-feature task (omega = 1, the finetuning support equals the pretraining support) at alpha in
    {0.1, 0.15, 0.2, 0.25, 0.3} must increase strictly from each c_PT to the next. Details: alpha = 0.05 (flat
    between 1e-6 and 1e-4: the largest ratio is above 1) and the new-feature task (omega = 0), where a larger
    c_PT *lowers* the error at small alpha (the rich l1-like penalty overshoots below its recovery threshold,
    errors > 1) and the ordering holds only from alpha ~ 0.4. Finite-d check at alpha = 0.15, omega = 1,
    c_PT = 1e-3 and 0.1: paired seeds, d = 2000 with 8 seeds (quick: d = 1000, 6 seeds); the upper end of the
    paired 95 % interval of err(1e-3) - err(0.1) must be < 0.
    """
    cs = (1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
    alphas = (0.1, 0.15, 0.2, 0.25, 0.3)
    extra = (0.05, 0.4, 0.5)
    grid = alphas + extra
    k, a_fd, c_lo, c_hi = len(alphas), 0.15, 1e-3, 1e-1
    o = _ordering(cfg, "c_pt", cs, grid, dict(lambda_pt=0.0, gamma_ft=0.0), c_lo, c_hi, a_fd)
    shared, r_shared, r_new, fd, d, n_seeds, i = (o[x] for x in ("shared", "r_shared", "r_new", "fd", "d", "n_seeds", "i"))
    worst = max(float(np.max(r_shared[:k])), o["fd_ratio"])
    return Measurement(
        theory=float(shared[cs.index(c_lo), i]), simulation=float(fd[c_lo].mean), error=worst, tolerance=1.0 - 1e-6,
        tolerance_reason="an ordering: E(c_j)/E(c_{j+1}) < 1 for consecutive grid values; the tightest ratio (0.96, "
                         "alpha = 0.1) compares errors 0.04 and 0.08 that the RS solver gives to ~1e-8, and where errors "
                         "are tiny (6e-11 at c_PT = 1e-6, alpha = 0.3) consecutive ratios are < 1e-3, so the strict "
                         "bound 1 - 1e-6 is decided by the theory, not by solver error; the finite-d ratio uses the "
                         "upper end of the paired 95 % interval",
        metric="max over alpha in [0.1, 0.3] and consecutive c_PT of E(c_j)/E(c_{j+1}) (omega = 1), and 1 + upper 95 % "
               "bound of the paired finite-d err(1e-3) - err(0.1) over mean err(0.1)",
        theory_label="RS error, c_PT = 1e-3, alpha = 0.15, omega = 1",
        simulation_label=f"finite-d mean, c_PT = 1e-3 (d = {d}, {n_seeds} seeds)",
        details={"lambda_pt": 0.0, "gamma_ft": 0.0, "rho_pt": 0.1, "rho_ft": 0.1, "c_pts": cs, "alphas": grid,
                 "omega_1_errors": shared, "omega_1_max_consecutive_ratio": r_shared,
                 "omega_0_errors": o["new"], "omega_0_max_consecutive_ratio": r_new,
                 "omega_0_increasing_at": [a for a, r in zip(grid, r_new) if r < 1], "finite_d": o["finite_d"]})


@claim("dl.smaller_gamma_ft_helps_at_intermediate_alpha",
       "On the shared-feature task a smaller finetuning readout gamma_FT gives a strictly lower RS error for "
       "alpha in [0.05, 0.9]; at alpha <= 0.02 gamma_FT = 0 and 0.1 swap order, at alpha >= 1 all errors are 0",
       f"{DL}, Fig. 3B/3E (gamma_FT in {{0, 1, 10}}, c_PT = 1e-3, lambda_PT = 0, omega in {{0, 1}})",
       tags=("dl", "asymptotics"))
def dl_smaller_gamma_helps(cfg: RunConfig) -> Measurement:
    """A smaller readout scale at the start of finetuning (gamma_FT) keeps finetuning rich and PT-dependent, and
    on a task that reuses the pretraining features it lowers the RS error at intermediate alpha.

    Source: [DL] Fig. 3B and 3E; settings (c_PT = 1e-3, lambda_PT = 0, rho_PT = rho_FT = 0.1, omega in {0, 1},
    gamma in {0, 1, 10}) read from the authors' figure script. Setting: oracle pretraining (amplitude 1),
    noiseless labels. Measured: gamma_FT on the grid {0, 0.1, 0.3, 1, 3, 10}; on the shared-feature task
    (omega = 1) the RS error must increase strictly with gamma_FT at alpha in {0.05, 0.1, 0.2, 0.3, 0.5, 0.7,
    0.9}. Where it does not hold (details): at alpha in {0.01, 0.02} gamma_FT = 0.1 is marginally (2e-4
    relative) below gamma_FT = 0, so the order is not monotone, and the spread over the whole grid shrinks to
    10% (alpha = 0.01) and 21% (0.02) of the smallest error, against a factor > 900 at alpha = 0.2; at alpha >= 1 every
    gamma_FT interpolates uniquely (error 0, noiseless); on the new-feature task (omega = 0) a larger gamma_FT
    *helps* at alpha <= 0.2 (the rich penalty overshoots below its recovery threshold), the ordering is mixed at
    0.3 (gamma_FT = 0.1 marginally below 0) and a smaller gamma_FT is strictly better from alpha = 0.5.
    Finite-d check at alpha = 0.2, omega = 1, gamma_FT = 0 against 1: paired seeds, d = 2000 with 8 seeds
    (quick: d = 1000, 6 seeds).
    """
    gs = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0)
    alphas = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
    small = (0.01, 0.02)
    grid = small + alphas
    kw = dict(c_pt=1e-3, lambda_pt=0.0)
    k, a_fd, g_lo, g_hi = len(small), 0.2, 0.0, 1.0
    o = _ordering(cfg, "gamma_ft", gs, grid, kw, g_lo, g_hi, a_fd)
    shared, r_shared, r_new, fd, d, n_seeds, i = (o[x] for x in ("shared", "r_shared", "r_new", "fd", "d", "n_seeds", "i"))
    spread_small = (shared[:, :k].max(axis=0) - shared[:, :k].min(axis=0)) / shared[:, :k].min(axis=0)
    worst = max(float(np.max(r_shared[k:])), o["fd_ratio"])
    return Measurement(
        theory=float(shared[0, i]), simulation=float(fd[g_lo].mean), error=worst, tolerance=1.0 - 1e-6,
        tolerance_reason="an ordering: E(gamma_j)/E(gamma_{j+1}) < 1 for consecutive grid values; the tightest "
                         "ratio (0.98, alpha = 0.05) compares errors ~0.5 that the RS solver gives to ~1e-8, and where "
                         "errors are tiny (1e-7 at gamma = 0, alpha = 0.9) consecutive ratios are < 0.1, so the strict "
                         "bound 1 - 1e-6 is decided by the theory, not by solver error; the finite-d ratio uses the "
                         "upper end of the paired 95 % interval",
        metric="max over alpha in [0.05, 0.9] and consecutive gamma_FT of E(gamma_j)/E(gamma_{j+1}) (omega = 1), and "
               "1 + upper 95 % bound of the paired finite-d err(gamma = 0) - err(gamma = 1) over mean err(gamma = 1)",
        theory_label="RS error, gamma_FT = 0, alpha = 0.2, omega = 1",
        simulation_label=f"finite-d mean, gamma_FT = 0 (d = {d}, {n_seeds} seeds)",
        details={**kw, "rho_pt": 0.1, "rho_ft": 0.1, "gamma_fts": gs, "alphas": grid,
                 "omega_1_errors": shared, "omega_1_max_consecutive_ratio": r_shared,
                 "omega_1_relative_spread_at_small_alpha": dict(zip(small, spread_small)),
                 "omega_1_errors_at_alpha_1.2": [_rs(1.2, task=(0.1, 0.1, 1.0), gamma_ft=g, **kw) for g in gs],
                 "omega_0_errors": o["new"], "omega_0_max_consecutive_ratio": r_new,
                 "omega_0_increasing_at": [a for a, r in zip(grid, r_new) if r < 1], "finite_d": o["finite_d"]})


@claim("dl.each_regime_best_on_some_task",
       "Each of the four [DL] regimes' representative initialisations has the lowest RS error of the four on a task "
       "of its own",
       f"{DL}, Sec. 4 and Fig. 4 (the four regimes and the task statistics that favour each)",
       tags=("dl", "asymptotics"))
def dl_each_regime_best(cfg: RunConfig) -> Measurement:
    """For each regime there is a task on which its representative initialisation generalises best of the four.

    Source: [DL] Sec. 4 / Fig. 4 (four regimes, "distinguished by ... the task statistics for which they are
    beneficial", abstract); tasks from the authors' experiment summary (``ExperimentSetup`` /
    ``DIAGONAL_EXPERIMENTS_SUMMARY.md`` of ``Nico31415/toy-unlearning``): I on omega = 0, rho_FT = 0.01 (few new
    features); IV on omega = 1, rho_FT = 0.01 (a sparse subset of the pretraining features); II on omega = 1,
    rho_FT = 0.1 (all pretraining features); III on omega = 0, rho_FT = 0.9 (many new features); rho_PT = 0.1.
    Representatives: ``numerics.asymptotics.REGIME_REPRESENTATIVES`` (c_PT = 1e-3; I: lambda_PT = -1, gamma_FT = 1e-6; II:
    lambda_PT = 1, gamma_FT = 0; III: lambda_PT = 0, gamma_FT = 10; IV: lambda_PT = -0.99, gamma_FT = 0; each
    classified by ``theory.regimes.classify_regime`` at |beta| = |beta_PT| = 1, see that module). Oracle
    pretraining, noiseless labels, RS errors. The check is at one intermediate alpha per task (I: 0.05, IV: 0.05,
    II: 0.1, III: 0.3); the details give the whole grid alpha in {0.01, ..., 0.9} and the alphas at which each
    representative is best (I: from 0.02 on, III at 0.01 -- beyond 0.08 every rich error is < 1e-4, so there the
    ranking concerns tiny errors; IV: 0.01-0.05, then I; II: 0.01-0.2, then IV and I; III: the whole grid).
    All four statements hold with the authors' tasks. The same check is made with the authors' own
    representatives (c_PT = 1e-6; I: lambda_PT = -1 with gamma_FT = 1e-3 instead of their degenerate 0; II:
    lambda_PT = 0.99; III: lambda_PT = 0, gamma_FT = 1; IV: lambda_PT = -0.99), and holds too; note that their
    regime-III setting classifies as IV at |beta| = |beta_PT| = 1 (O = 1.94, PD = -0.63; ``classify_regime``).
    """
    from ptft.numerics.asymptotics import REGIME_REPRESENTATIVES as REGIMES

    REGIME_ORDER = tuple(REGIMES)

    tasks = {"I": ((0.1, 0.01, 0.0), 0.05), "IV": ((0.1, 0.01, 1.0), 0.05), "II": ((0.1, 0.1, 1.0), 0.1),
             "III": ((0.1, 0.9, 0.0), 0.3)}
    grid = (0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 0.9)
    # the authors' own representatives (experiment summary; c_PT = 1e-6, absolute lambda = c_PT lambda_PT), with
    # gamma_FT = 1e-3 for I (their gamma = 0 with lambda = -c_PT gives k = 0, a degenerate penalty)
    authors = {"I": dict(c_pt=1e-6, lambda_pt=-1.0, gamma_ft=1e-3), "II": dict(c_pt=1e-6, lambda_pt=0.99, gamma_ft=0.0),
               "III": dict(c_pt=1e-6, lambda_pt=0.0, gamma_ft=1.0), "IV": dict(c_pt=1e-6, lambda_pt=-0.99, gamma_ft=0.0)}
    authors_rows = {}
    for name, (task, alpha) in tasks.items():
        e = {r: float(_rs_curve((alpha,), task=task, **authors[r])[0]) for r in REGIME_ORDER}
        others = {r: v for r, v in e.items() if r != name}
        authors_rows[name] = {"alpha": alpha, "errors": e, "ratio": e[name] / min(others.values())}
    rows, ratios = {}, {}
    for name, (task, alpha) in tasks.items():
        errs = {r: _rs_curve(grid, task=task, **REGIMES[r]) for r in REGIME_ORDER}
        i = grid.index(alpha)
        own = float(errs[name][i])
        others = {r: float(e[i]) for r, e in errs.items() if r != name}
        runner_up = min(others, key=others.get)
        ratios[name] = own / others[runner_up]
        table = np.array([errs[r] for r in REGIME_ORDER])
        best = [REGIME_ORDER[j] for j in table.argmin(axis=0)]
        rows[name] = {"task_rho_pt_rho_ft_omega": task, "alpha": alpha, "own_error": own, "errors_of_others": others,
                      "runner_up": runner_up, "margin": others[runner_up] - own, "ratio": ratios[name],
                      "alphas": grid, "errors": {r: errs[r] for r in REGIME_ORDER}, "best_by_alpha": best,
                      "own_best_at": [a for a, b in zip(grid, best) if b == name]}
    worst = max(ratios, key=ratios.get)
    worst_authors = max(r["ratio"] for r in authors_rows.values())
    return Measurement(
        theory=rows[worst]["errors_of_others"][rows[worst]["runner_up"]], simulation=rows[worst]["own_error"],
        error=max(ratios[worst], worst_authors), tolerance=1.0 - 1e-6,
        tolerance_reason="an ordering: on each task the own regime's RS error must be strictly below the other three; "
                         "the margins are 0.14-0.37 in absolute error (details), far beyond the ~1e-8 accuracy of the "
                         "RS solver, so the strict bound 1 - 1e-6 is decided by the theory",
        metric="max over the four tasks, and over both sets of representatives (this package's and the authors'), of "
               "(RS error of the task's own regime) / (lowest RS error of the other three) at the task's alpha",
        theory_label=f"runner-up RS error on the regime-{worst} task", simulation_label=f"regime-{worst} RS error",
        details={"representatives": {r: REGIMES[r] for r in REGIME_ORDER}, "tasks": rows,
                 "tightest_task": worst, "authors_representatives": authors, "authors_check": authors_rows})


# ----------------------------------------------------------------------------------------------------
# finite d -> RS: the size of the gap and its decay
# ----------------------------------------------------------------------------------------------------
def fit_power_law(d, gap, sem, groups=None, d_ref: float = 1000.0) -> dict:
    """Weighted least-squares fit of ``gap = C_g (d/d_ref)^(-p)``: one exponent ``p`` shared by all groups, one
    amplitude ``C_g`` per group (``groups`` labels each point; None: one group).

    Fitted on the gaps themselves (not on log|gap|, which is biased and undefined for noisy gaps near 0), with
    weights ``1/sem^2`` and ``absolute_sigma`` (the standard errors are taken as known). Returns ``p``, its
    standard error ``p_se``, the amplitudes ``C`` (dict by group), ``chi2`` and ``dof``. Raises ValueError for
    fewer points than parameters + 1 or a non-positive standard error.
    """
    from scipy import optimize

    d = np.asarray(d, float)
    gap = np.asarray(gap, float)
    sem = np.asarray(sem, float)
    if not (d.shape == gap.shape == sem.shape and d.ndim == 1):
        raise ValueError("d, gap, sem: must be 1-D arrays of one length")
    if np.any(sem <= 0) or not np.all(np.isfinite(sem)):
        raise ValueError("sem: every standard error must be positive and finite")
    labels = np.zeros(d.size, int) if groups is None else np.asarray(groups)
    names = list(dict.fromkeys(labels.tolist()))
    idx = np.array([names.index(g) for g in labels.tolist()])
    if d.size < len(names) + 2:
        raise ValueError(f"d: {d.size} points cannot fit {len(names) + 1} parameters with a residual")
    x = np.log(d / d_ref)

    def model(_, p, *C):
        return np.asarray(C)[idx] * np.exp(-p * x)

    # start: unweighted log-log slope over positive gaps (p = 1 if there are too few), amplitudes from it
    pos = gap > 0
    p0 = float(-np.polyfit(x[pos], np.log(gap[pos]), 1)[0]) if pos.sum() >= 2 and np.ptp(x[pos]) > 0 else 1.0
    C0 = [float(np.mean(gap[idx == k] * np.exp(p0 * x[idx == k]))) for k in range(len(names))]
    popt, pcov = optimize.curve_fit(model, x, gap, p0=[p0, *C0], sigma=sem, absolute_sigma=True, maxfev=20000)
    resid = (gap - model(x, *popt)) / sem
    return {"p": float(popt[0]), "p_se": float(np.sqrt(pcov[0, 0])),
            "C": {str(n): float(c) for n, c in zip(names, popt[1:])},
            "C_se": {str(n): float(np.sqrt(pcov[k + 1, k + 1])) for k, n in enumerate(names)},
            "chi2": float(resid @ resid), "dof": int(d.size - len(popt)), "d_ref": d_ref}


def _finite_d_gap(d, alpha, init, task, seeds, rs) -> dict:
    """Mean finite-d minimiser error minus the RS error, with two control variates of known mean.

    Per seed (the problem of ``numerics.dl_finite.draw_problem``, the exact hand-off minimiser of
    ``finetune_minimiser``, relative KKT residual 1e-10): the error ``e``; ``b = ||beta_FT||^2/d``, whose mean
    ``n_FT/(rho_FT d)`` is exact (exact group counts, N(0, 1/rho_FT) values); and the error ``l`` of the
    minimum-l2-norm interpolator on the same (X, y), whose conditional mean ``(1 - n/d) b`` is exact (the row
    space of a Gaussian design is uniformly distributed). The estimate is the intercept of the least-squares
    regression of ``e`` on ``(b - E b, l - (1 - n/d) b)``: unbiased up to O(1/seeds), with the standard error
    of that regression; both the plain mean and this estimate are returned.
    """
    from ptft.numerics import asymptotics as A
    from ptft.numerics import dl_finite as F

    rates = A.task_from_overlap(*task)
    e, b, l2 = (np.empty(len(seeds)) for _ in range(3))
    mean_b = None
    for i, s in enumerate(seeds):
        t, X, y = F.draw_problem(d, alpha, **rates, seed=s)
        n = X.shape[0]
        # the dense dual Newton is faster for small n (the same minimiser, same tolerance)
        r = F.finetune_minimiser(X, y, t.beta_pt, **init, solver="newton-dense" if n <= 150 else "newton-pcg")
        if not r.converged:
            raise NotConverged(f"finite-d minimiser (d = {d}, alpha = {alpha:g}, seed {s}): {r.message}")
        e[i] = np.mean((r.beta - t.beta_ft) ** 2)
        b[i] = np.mean(t.beta_ft ** 2)
        l2[i] = np.mean((X.T @ np.linalg.solve(X @ X.T, y) - t.beta_ft) ** 2)
        n_ft = int(np.sum((t.groups == 0) | (t.groups == 1)))
        mean_b = n_ft / (t.rho_ft * d)
    Z = np.column_stack([np.ones(e.size), b - mean_b, l2 - (1.0 - n / d) * b])
    coef, *_ = np.linalg.lstsq(Z, e, rcond=None)
    res = e - Z @ coef
    cov = (res @ res) / (e.size - Z.shape[1]) * np.linalg.inv(Z.T @ Z)
    cv, cv_se = float(coef[0]), float(np.sqrt(cov[0, 0]))
    plain, plain_se = float(e.mean()), float(e.std(ddof=1) / np.sqrt(e.size))
    return {"d": d, "seeds": len(seeds), "rs": rs, "mean": cv, "sem": cv_se, "gap": cv - rs, "gap_in_sem": (cv - rs) / cv_se,
            "plain_mean": plain, "plain_sem": plain_se, "variance_reduction": (plain_se / cv_se) ** 2}


#: claim dl.rs_gap_shrinks_with_d: per regime the representative of ``numerics.asymptotics.REGIME_REPRESENTATIVES``, a task
#: and an alpha near the regime's recovery transition on that task, where the finite-size gap is best resolved
#: (measured at d = 500 with 200 seeds over a grid of alphas; elsewhere it is below the sampling error)
_GAP_SETTINGS = {"I": ((0.1, 0.1, 0.0), 0.35), "II": ((0.1, 0.1, 1.0), 0.15), "IV": ((0.1, 0.1, 1.0), 0.25),
                 "III": ((0.1, 0.9, 0.0), 0.3)}


@claim("dl.rs_gap_shrinks_with_d",
       "The gap between the finite-d minimiser error and the RS error shrinks as a power of d in the rich and "
       "PT-dependent regimes (I, II, IV; exponents 0.6-1.6) and is below 1e-4 in the lazy regime III",
       f"{DL}, Prop 4.2 (the RS error is the d -> oo limit); theory: asymptotics.fixed_point",
       tags=("dl", "asymptotics"))
def dl_rs_gap_shrinks(cfg: RunConfig) -> Measurement:
    """finite-d mean error - RS error = C d^(-p) with p > 0 in regimes I, II, IV; = 0 in regime III.

    Source: [DL] Prop. 4.2 (the RS error is the proportional limit of the finite-d error). Setting: oracle
    pretraining (amplitude 1), noiseless labels, the exact hand-off minimiser per seed, representatives of
    ``numerics.asymptotics.REGIME_REPRESENTATIVES``; regime, (rho_PT, rho_FT, omega), alpha: I (0.1, 0.1, 0), 0.35 (just
    above the Donoho-Tanner alpha 0.329); II (0.1, 0.1, 1), 0.15 (past the regime-II kink at alpha = rho_PT);
    IV (0.1, 0.1, 1), 0.25; III (0.1, 0.9, 0), 0.3. Of the alphas scanned (d = 500, 200 seeds) these resolve the
    gap best (largest gap / s.e.; near each regime's recovery transition); far from a transition the gap is
    below the sampling error of a few hundred seeds at d = 500. d = 250, 500, 1000 with 300, 150, 75 seeds (II
    and IV: 800, 400, 200, and II also d = 2000 with 200; III: 24, 12, 8); quick: d = 100, 200, 400 with 120,
    60, 30 (II, IV: 300, 150, 75; III: 16, 8, 8). Means are variance-reduced by control variates of known mean
    (``_finite_d_gap``; the variance falls 1.2-1.7x in I, II, IV and ~1e5x in III). The exponent p is fitted by
    weighted least squares (:func:`fit_power_law`, weights 1/s.e.^2) per regime; the regimes' exponents differ
    (full configuration, seed 0: I 1.09 +- 0.25, II 0.77 +- 0.15, IV 1.55 +- 0.16), so a common-exponent fit is
    reported only for reference.

    Run time: d up to 8000 was asked for; the gaps at d = 1000 are 4e-4 to 2e-3 with per-seed spreads 1e-3 to
    7e-3, so resolving them at d = 8000 (gaps ~1e-4 if p ~ 1) would need hundreds to thousands of seeds of
    multi-second solves. d = 1000 (2000 in regime II) is the largest that fits the budget (regime I, whose rich
    minimiser needs ~20 Newton steps, dominates).
    """
    from ptft.numerics.asymptotics import REGIME_REPRESENTATIVES as REGIMES

    ds = cfg.pick((100, 200, 400), (250, 500, 1000))
    seeds_for = {"I": cfg.pick((120, 60, 30), (300, 150, 75)), "II": cfg.pick((300, 150, 75), (800, 400, 200)),
                 "IV": cfg.pick((300, 150, 75), (800, 400, 200)), "III": cfg.pick((16, 8, 8), (24, 12, 8))}
    sizes = {name: list(zip(ds, k)) for name, k in seeds_for.items()}
    if not cfg.quick:      # regime II has the smallest exponent: one more size, cheap there (~0.1 s per seed)
        sizes["II"].append((2000, 200))
    rows, fits = {}, {}
    for name, (task, alpha) in _GAP_SETTINGS.items():
        init = REGIMES[name]
        rs = _rs(alpha, task=task, **init)
        rows[name] = [_finite_d_gap(d, alpha, init, task, _seeds(cfg, k, "rs_gap", name, d), rs) for d, k in sizes[name]]
    shrink = ("I", "II", "IV")
    ratios = {}
    for name in shrink:
        r = rows[name]
        fits[name] = fit_power_law([x["d"] for x in r], [x["gap"] for x in r], [x["sem"] for x in r])
        p, se = fits[name]["p"], fits[name]["p_se"]
        ratios[f"{name}: s.e.(p)/p"] = se / p if p > 0 else float("inf")
    w = np.array([fits[n]["p_se"] ** -2 for n in shrink])
    p_bar = float(np.dot(w, [fits[n]["p"] for n in shrink]) / w.sum())
    se_bar = float(w.sum() ** -0.5)
    ratios["inverse-variance mean: 3 s.e./p"] = 3.0 * se_bar / p_bar if p_bar > 0 else float("inf")
    # a common exponent with one amplitude per regime, for reference (not a criterion: the regimes' exponents
    # differ, I and II ~0.6-1.1, IV ~1.3-1.6 in the full configuration, and its chi2 is often poor)
    pts = [(x["d"], x["gap"], x["sem"], name) for name in shrink for x in rows[name]]
    joint = fit_power_law([q[0] for q in pts], [q[1] for q in pts], [q[2] for q in pts], groups=[q[3] for q in pts])
    # regime III: the lazy minimiser is the l2 interpolator up to the curvature of q_k; its finite-d mean equals
    # 1 - alpha exactly, so the only possible gap is of the size of that curvature correction |RS - (1 - alpha)|
    curvature = abs(rows["III"][0]["rs"] - (1.0 - _GAP_SETTINGS["III"][1]))
    ratios["III: |gap|/(3 s.e. + |RS - (1 - alpha)|)"] = max(abs(x["gap"]) / (3.0 * x["sem"] + curvature)
                                                             for x in rows["III"])
    worst = max(ratios, key=ratios.get)
    last = rows["I"][-1]
    return Measurement(
        theory=last["rs"], simulation=last["mean"], error=ratios[worst], tolerance=1.0,
        tolerance_reason="I, II, IV: each regime's exponent must exceed its standard error and their inverse-variance "
                         "mean three times its standard error (the s.e. propagate the sampling s.e. of every gap; with "
                         "three sizes a single regime's exponent is resolved at 2-4 s.e. in the quick configuration and "
                         "3-9 s.e. in the full one, so a per-regime 2 s.e. bar would fail by sampling alone in quick "
                         "runs with some seeds); III: |gap| <= 3 s.e. + |RS - (1 - alpha)| at every d (the l2 "
                         "interpolator has no finite-size bias; the curvature of q_k changes the RS error by that "
                         "amount); the minimiser stops at relative residual 1e-10",
        metric="max of: s.e.(p)/p per regime I, II, IV; 3 s.e./p of their inverse-variance mean exponent; max over d of "
               "|gap|/(3 s.e. + |RS - (1 - alpha)|) in regime III",
        theory_label="RS error, regime I (alpha = 0.35)",
        simulation_label=f"finite-d mean, regime I (d = {last['d']}, {last['seeds']} seeds)",
        details={"settings": {n: {"rho_pt_rho_ft_omega": t, "alpha": a, **REGIMES[n]}
                              for n, (t, a) in _GAP_SETTINGS.items()},
                 "sizes_and_seeds": sizes, "rows": rows, "fits": fits, "joint_fit": joint,
                 "exponents": {n: f"{fits[n]['p']:.2f} +- {fits[n]['p_se']:.2f}" for n in shrink},
                 "mean_exponent": f"{p_bar:.2f} +- {se_bar:.2f}",
                 "joint_exponent": f"{joint['p']:.2f} +- {joint['p_se']:.2f} (chi2 {joint['chi2']:.1f}/{joint['dof']})",
                 "ratios": ratios, "binding": worst,
                 "regime_III_curvature_allowance": curvature})


#: claim dl.gd_matches_minimiser_in_every_regime: the claim-5 settings, except regime I at gamma_FT = 1e-3 (GD from
#: the representative's gamma_FT = 1e-6 needs ~4x more steps: 59k instead of 13k at d = 400, lr_scale 1)
_GD_INITS = {"I": {"gamma_ft": 1e-3}}


@claim("dl.gd_matches_minimiser_in_every_regime",
       "In every regime, finetuning GD from the [DL] hand-off lands on the minimiser of sum q_{k_d} up to a "
       "first-order step-size bias, which 2-point Richardson extrapolation in the step removes",
       f"{DL}, Thm 4.1 (finetuning implicit bias); cf. ptft.dl_handoff_follows_k_d", tags=("dl", "ptft"))
def dl_gd_matches_minimiser(cfg: RunConfig) -> Measurement:
    """GD endpoint(lr) = argmin_{X beta = y} sum_d q_{k_d}(beta_d) + O(lr), per regime, at d = 1000.

    Source: [DL] Thm 4.1 (gradient flow after the hand-off converges to the minimiser of sum q_{k_d}). Setting:
    oracle pretraining (amplitude 1), the hand-off start of ``numerics.dl_finite.dl_oracle_finetuning_start``,
    noiseless labels; per regime the task and alpha of claim ``dl.rs_gap_shrinks_with_d`` and the
    representative of ``numerics.asymptotics.REGIME_REPRESENTATIVES``, except regime I at gamma_FT = 1e-3 (sqrt k = 1e-6; GD
    from gamma_FT = 1e-6 takes ~4x more steps). d = 1000 with 2 seeds (quick: d = 250, 1 seed), the same seeds
    (hence the same task, design and labels) for GD and the minimiser. GD: float64, ``numerics.dl_finite.
    finetune_gd`` (the engine of ``finite_d_error(method="gd")``) with that function's default step (lr_scale 1 of
    ``gd_step_size``, one step per batch of seeds) and stopping rule (relative residual 1e-4), run at lr and lr/2.
    Minimiser: ``finetune_minimiser`` at relative KKT residual 1e-12.

    Measured (the brief expected the stopping rule to set the tolerance; it does not): the relative distance
    D(lr) = ||beta_GD - beta_min|| / ||beta_min|| is 1e-3-2e-2 in the rich and PT-dependent regimes and halves
    with lr (first order: the discrete-step bias of GD on diagonal networks), while in the lazy regime III it is
    ~2e-4 at both steps (the stopping residual; the near-quadratic penalty has no step bias). Check: the
    Richardson extrapolate 2 beta(lr/2) - beta(lr) is within 1e-3 + 0.1 D(lr) of the minimiser in all four
    regimes and every seed (it removes > 90% of a step bias of a few 1e-2). The ratios D(lr)/D(lr/2) are in the
    details.

    Link to ``ptft.dl_handoff_follows_k_d``: that claim runs the whole pipeline (pretraining GD too) at d = 20-30
    and extrapolates over 4 step sizes to 1e-6 for one initialisation; this one starts at the oracle hand-off and
    checks the finetuning bias in each regime at larger d with a 2-point extrapolation (cheaper, less precise).
    """
    from ptft.numerics import asymptotics as A
    from ptft.numerics import dl_finite as F
    from ptft.numerics.ptft import TwoPathwayWeights, dl_handoff_penalty
    from ptft.numerics.asymptotics import REGIME_REPRESENTATIVES as REGIMES

    d, n_seeds, tol = cfg.pick(250, 1000), cfg.pick(1, 2), 1e-4
    rows, ratios = {}, {}
    for name, (task, alpha) in _GAP_SETTINGS.items():
        init = {**REGIMES[name], **_GD_INITS.get(name, {})}
        seeds = _seeds(cfg, n_seeds, "gd_vs_minimiser", name)
        probs = [F.draw_problem(d, alpha, **A.task_from_overlap(*task), seed=s) for s in seeds]
        mins = []
        for (t, X, y), s in zip(probs, seeds):
            r = F.finetune_minimiser(X, y, t.beta_pt, **init, tol=1e-12)
            if not r.converged:
                raise NotConverged(f"minimiser (regime {name}, seed {s}): {r.message}")
            mins.append(r.beta)
        starts = [F.dl_oracle_finetuning_start(t.beta_pt, **init) for t, _, _ in probs]
        start = TwoPathwayWeights(*(np.stack([getattr(w, k) for w in starts])
                                    for k in ("w_plus", "v_plus", "w_minus", "v_minus")))
        Xb, yb = np.stack([p[1] for p in probs]), np.stack([p[2] for p in probs])
        # the step of finite_d_error(method="gd"): curvature bound with m = max(M_start, sqrt(k + 4 beta_FT^2))
        m = np.stack([np.maximum(w.M, np.sqrt((2 * dl_handoff_penalty(t.beta_pt, **init).scale) ** 2 + 4 * t.beta_ft ** 2))
                      for w, (t, _, _) in zip(starts, probs)])
        lr = float(np.min(F.gd_step_size(Xb, m, 1.0)))
        ends, steps = {}, {}
        for h in (1.0, 0.5):
            g = F.finetune_gd(Xb, yb, None, **init, lr=h * lr, tol=tol, max_steps=2_000_000, start=start)
            if not g.success:
                raise NotConverged(f"GD (regime {name}, lr x {h}): {g.message}")
            ends[h], steps[h] = g.beta, np.atleast_1d(g.steps).tolist()
        per_seed = []
        for i, bm in enumerate(mins):
            nm = np.linalg.norm(bm)
            dist = {h: float(np.linalg.norm(ends[h][i] - bm) / nm) for h in ends}
            rich = float(np.linalg.norm(2 * ends[0.5][i] - ends[1.0][i] - bm) / nm)
            t = probs[i][0]
            per_seed.append({"distance_lr": dist[1.0], "distance_lr/2": dist[0.5], "ratio": dist[1.0] / dist[0.5],
                             "distance_extrapolated": rich,
                             "error_gd_lr": float(np.mean((ends[1.0][i] - t.beta_ft) ** 2)),
                             "error_minimiser": float(np.mean((bm - t.beta_ft) ** 2))})
        rows[name] = {**init, "rho_pt_rho_ft_omega": task, "alpha": alpha, "lr": lr, "steps": steps, "seeds": per_seed}
        ratios[name] = max(p["distance_extrapolated"] / (1e-3 + 0.1 * p["distance_lr"]) for p in per_seed)
    worst = max(ratios, key=ratios.get)
    iv = rows["IV"]["seeds"][0]
    return Measurement(
        theory=iv["error_minimiser"], simulation=iv["error_gd_lr"], error=ratios[worst], tolerance=1.0,
        tolerance_reason="the extrapolate 2 beta(lr/2) - beta(lr) leaves (i) the stopping floor, ~2e-4 (the distance "
                         "in regime III, which has no step bias, at relative residual 1e-4), allowed 5x: 1e-3; and (ii) "
                         "the O(lr^2) remainder |b| lr^2/2 of beta(lr) = beta* + a lr + b lr^2, which is <= 0.1 D(lr) "
                         "when |D(lr)/D(lr/2) - 2| is ~0.2 or less (measured 1.93-2.23 wherever D(lr) > 2e-3; the "
                         "floor pulls the ratio off 2 when D(lr) is only ~10x of it; details); the minimiser's KKT residual "
                         "is 1e-12",
        metric="max over regimes and seeds of D(extrapolate) / (1e-3 + 0.1 D(lr)); D = ||beta - beta_min|| / "
               "||beta_min||, extrapolate = 2 beta_GD(lr/2) - beta_GD(lr)",
        theory_label="minimiser error (regime IV, seed 1)", simulation_label="GD error at lr (regime IV, seed 1)",
        details={"d": d, "stop_tol": tol, "regimes": rows, "ratios": ratios, "worst_regime": worst})
