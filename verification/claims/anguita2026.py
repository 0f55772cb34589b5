"""Claims for the [DL] hand-off of pretraining + finetuning in diagonal networks.

Source: [DL] Anguita, Locatello, Saxe, Mondelli, Mancini, Lippl, Dominé, "A Theory of How Pretraining
Shapes Inductive Bias in Fine-Tuning", 2026, arXiv:2602.20062 (Thm 4.1).
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
def _rs(alpha, *, task, **kw):
    """RS error at one point (``ptft.numerics.asymptotics``); a non-converged point raises NotConverged."""
    from ptft.numerics import asymptotics as A

    r = A.generalization_error(**kw, **A.task_from_overlap(*task), alpha_ft=alpha)
    if not r.converged:
        raise NotConverged(f"RS fixed point at alpha = {alpha:g} ({kw}): {r.message}")
    return r.error


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
    from ptft.numerics import dl_finite as F

    d, n_seeds = cfg.pick((400, 64), (1200, 128))
    allowance = 0.5 / np.sqrt(d)
    settings = {"IV": dict(c_pt=1e-3, lambda_pt=0.0, gamma_ft=0.1, task=(0.2, 0.1, 0.5)),
                "I": dict(c_pt=1e-6, lambda_pt=-1.0, gamma_ft=1e-3, task=(0.1, 0.1, 0.0))}
    alpha, rows = 0.25, {}
    for name, s in settings.items():
        seeds = [int(x) for x in cfg.rng("anguita2026", "dl_finite", name).integers(0, 2 ** 63 - 1, n_seeds)]
        kw = dict(c_pt=s["c_pt"], lambda_pt=s["lambda_pt"], gamma_ft=s["gamma_ft"])
        rs = _rs(alpha, task=s["task"], **kw)
        fd = F.finite_d_error(d, alpha, **kw, **A.task_from_overlap(*s["task"]), seeds=seeds, method="minimiser")
        if not fd.success:
            raise NotConverged(f"finite-d minimiser ({name}): {fd.n_converged}/{len(seeds)} seeds converged")
        gap = fd.mean - rs
        rows[name] = {**kw, "rho_pt_rho_ft_omega": s["task"], "rs": rs, "finite_d_mean": fd.mean, "sem": fd.sem,
                      "ci95": fd.ci95, "gap": gap, "gap_in_sem": gap / fd.sem,
                      "ratio": abs(gap) / (3 * fd.sem + allowance)}
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
