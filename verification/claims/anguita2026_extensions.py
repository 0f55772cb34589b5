"""Claims beyond the [DL] paper: label noise and an explicit ridge against finite d, finite pretraining data in
the replica-symmetric equations, and the best initialisation.

Source: [DL] Anguita, Locatello, Saxe, Mondelli, Mancini, Lippl, Dominé, "A Theory of How Pretraining Shapes
Inductive Bias in Fine-Tuning", 2026, arXiv:2602.20062 (Sec. 4, Prop. 4.2). The paper states the RS error for
oracle pretraining and (in the authors' code) carries a noise and an explicit-ridge term; the finite-d checks of
those terms, the finite-pretraining extension (``numerics.asymptotics``, ``alpha_pt``) and the optimisation over
the initialisation (``numerics.best_initialisation``) are this package's.
"""
from __future__ import annotations

import numpy as np

from ptft.verification.claims.anguita2026 import _finite_d, _gap_row, _rs_result
from ptft.verification.claims.anguita2026 import _seeds as _dl_seeds
from ptft.verification.registry import Measurement, NotConverged, RunConfig, claim

DL = "[DL] Anguita et al., 2026 (arXiv:2602.20062)"


def _seeds(cfg: RunConfig, n: int, *keys) -> list[int]:
    return _dl_seeds(cfg, n, *keys, root="anguita2026_extensions")


#: the regime-IV setting of dl.rs_matches_finite_d_minimiser (rich, pretraining-dependent)
_IV = dict(c_pt=1e-3, lambda_pt=0.0, gamma_ft=0.1)
_IV_TASK = (0.2, 0.1, 0.5)     # (rho_PT, rho_FT, omega)


@claim("dl.rs_noise_and_ridge_match_finite_d",
       "With label noise (sigma = 0.5), an explicit ridge, or both, the RS error equals the finite-d mean error",
       f"{DL}, Prop 4.2 (noise and ridge terms of the fixed point); theory: asymptotics.fixed_point",
       tags=("dl", "asymptotics"))
def dl_rs_noise_and_ridge(cfg: RunConfig) -> Measurement:
    """Regime IV (c_PT = 1e-3, lambda_PT = 0, gamma_FT = 0.1; rho_PT = 0.2, rho_FT = 0.1, omega = 0.5) at
    alpha = 0.5, where the noiseless interpolator has error 0.016, so both terms move the error far: three
    cases, noise sigma = 0.5 with the interpolator, noiseless with ridge 0.3, and both. The finite-d estimator is
    ``argmin (1/2n)||y - X b||^2 + (ridge/d) sum q_{k_d}(b)`` (``numerics.dl_finite``, dual Newton; the
    interpolator when ridge = 0), the RS error the fixed point ``theta0 = (sigma^2 + E)/alpha``,
    ``theta = ridge + (theta/alpha) E[eta']`` (``numerics.asymptotics``). d = 600 with 96 seeds (quick: d = 300,
    64 seeds); the seeds are the same in the three cases."""
    from ptft.numerics import asymptotics as A

    d, n_seeds = cfg.pick((300, 64), (600, 96))
    alpha, sigma, ridge = 0.5, 0.5, 0.3
    allowance = 0.1 / np.sqrt(d)
    task = A.task_from_overlap(*_IV_TASK)
    seeds = _seeds(cfg, n_seeds, "noise_ridge")
    clean = _rs_result(**_IV, **task, alpha_ft=alpha).error
    rows = {}
    for name, (noise, rdg) in {"noise": (sigma, 0.0), "ridge": (0.0, ridge), "noise+ridge": (sigma, ridge)}.items():
        rs = _rs_result(**_IV, **task, alpha_ft=alpha, noise=noise, ridge=rdg).error
        fd = _finite_d(d, alpha, seeds, name, **_IV, **task, noise=noise, ridge=rdg)
        rows[name] = {"noise": noise, "ridge": rdg, **_gap_row(rs, fd, allowance),
                      "rs_shift_from_noiseless_interpolator_in_sem": (rs - clean) / fd.sem}
    worst = max(rows.values(), key=lambda r: r["ratio"])
    both = rows["noise+ridge"]
    return Measurement(
        theory=both["rs"], simulation=both["finite_d_mean"], error=worst["ratio"], tolerance=1.0,
        tolerance_reason=f"pass when |mean - RS| <= 3 s.e. + 0.1/sqrt(d) in all three cases: 3 s.e. is the sampling "
                         f"error over {n_seeds} seeds; 0.1/sqrt(d) = {allowance:.4f} bounds the finite-size bias "
                         "(measured, same setting, gaps mean - RS: d = 400 with 512 seeds +0.0019 +- 0.0039 (noise), "
                         "+0.0016 +- 0.0021 (ridge), -0.0012 +- 0.0030 (both); d = 800 with 256 seeds +0.0027 +- "
                         "0.0040, +0.0028 +- 0.0021, -0.0007 +- 0.0030: no bias resolved); the solvers stop at "
                         "relative residual 1e-10. Each term moves the RS error by 30-100 s.e. (details), so the check "
                         "discriminates",
        metric="max over {noise, ridge, noise+ridge} of |finite-d mean - RS| / (3 s.e. + 0.1/sqrt d)",
        theory_label="RS error (sigma = 0.5, ridge = 0.3, alpha = 0.5)",
        simulation_label=f"finite-d mean (d = {d}, {n_seeds} seeds)",
        details={"d": d, "alpha_ft": alpha, "seeds": n_seeds, "allowance": allowance, **_IV,
                 "rho_pt_rho_ft_omega": _IV_TASK, "rs_noiseless_interpolator": clean, "cases": rows})


@claim("dl.rs_finite_pretraining_matches_finite_d",
       "With pretraining on alpha_PT d noiseless samples, the extended RS error equals the finite-d mean error",
       f"{DL}, Prop 4.2 extended to a learned beta_PT (numerics.asymptotics, alpha_pt); theory: "
       "asymptotics.fixed_point", tags=("dl", "asymptotics"))
def dl_rs_finite_pretraining(cfg: RunConfig) -> Measurement:
    """The finite-pretraining RS error (the pretraining fixed point first, then the finetuning fixed point
    averaged over the law of the pretrained ``beta_PT``, ``numerics.asymptotics.generalization_error(...,
    alpha_pt)``) against the mean over seeds of the finite-d pipeline that pretrains on ``round(alpha_pt d)``
    noiseless samples by the pretraining minimiser and finetunes by the hand-off minimiser
    (``numerics.dl_finite.finite_d_error(..., alpha_pt)``, independent designs). Setting A: regime IV (c_PT =
    1e-3, lambda_PT = 0, gamma_FT = 0.1; rho_PT = 0.2, rho_FT = 0.1, omega = 0.5), alpha_FT = alpha_PT = 0.5,
    where the learned beta_PT raises the error five-fold over oracle pretraining. Setting B (full only):
    c_PT = 0.1, lambda_PT = 0.5, gamma_FT = 0.1, alpha_FT = 0.3, alpha_PT = 0.4. d = 600 with 80 seeds (quick:
    setting A, d = 300, 64 seeds)."""
    from ptft.numerics import asymptotics as A

    d, n_seeds = cfg.pick((300, 64), (600, 80))
    allowance = 3.0 / d
    task = A.task_from_overlap(*_IV_TASK)
    settings = {"A": (dict(_IV), 0.5, 0.5)}
    if not cfg.quick:
        settings["B"] = (dict(c_pt=0.1, lambda_pt=0.5, gamma_ft=0.1), 0.3, 0.4)
    rows = {}
    for name, (kw, alpha, alpha_pt) in settings.items():
        seeds = _seeds(cfg, n_seeds, "finite_pt", name)
        r = _rs_result(**kw, **task, alpha_ft=alpha, alpha_pt=alpha_pt)
        oracle = _rs_result(**kw, **task, alpha_ft=alpha).error
        fd = _finite_d(d, alpha, seeds, f"setting {name}", **kw, **task, alpha_pt=alpha_pt)
        rows[name] = {**kw, "alpha_ft": alpha, "alpha_pt": alpha_pt, **_gap_row(r.error, fd, allowance),
                      "rs_pretraining_error": r.pretraining.error, "rs_oracle_pretraining": oracle,
                      "oracle_gap_in_sem": (fd.mean - oracle) / fd.sem}
    worst = max(rows.values(), key=lambda r: r["ratio"])
    a = rows["A"]
    return Measurement(
        theory=a["rs"], simulation=a["finite_d_mean"], error=worst["ratio"], tolerance=1.0,
        tolerance_reason=f"pass when |mean - RS| <= 3 s.e. + 3/d in every setting: 3 s.e. is the sampling error over "
                         f"{n_seeds} seeds; 3/d = {allowance:.4f} bounds the finite-size bias, measured in setting A "
                         "(mean - RS: +0.0065 +- 0.0019 at d = 300 with 512 seeds, +0.0048 +- 0.0022 at d = 400 with "
                         "256, +0.0000 +- 0.0015 at d = 800 with 256: about 2/d) and in setting B (+0.006 +- 0.006 at "
                         "d = 300, -0.004 +- 0.007 at d = 400, -0.004 +- 0.008 at d = 1200); the quadrature of the "
                         "pretrained law converges to < 1e-8 (tests) and the solvers stop at relative residual 1e-10. "
                         "The oracle-pretraining RS error is far outside the band (details: oracle_gap_in_sem)",
        metric="max over settings of |finite-d mean - RS(alpha_pt)| / (3 s.e. + 3/d)",
        theory_label="RS error with alpha_PT = 0.5 (setting A)",
        simulation_label=f"finite-d mean (setting A, d = {d}, {n_seeds} seeds)",
        details={"d": d, "seeds": n_seeds, "allowance": allowance, "rho_pt_rho_ft_omega": _IV_TASK, "settings": rows})


@claim("dl.best_initialisation_beats_named_regimes",
       "The RS-optimal initialisation (c_PT, lambda_PT, gamma_FT) beats each of the four named regime "
       "representatives at finite d (paired seeds)",
       f"{DL}, Sec. 5 (the four regimes) and Prop 4.2; optimisation: numerics.best_initialisation",
       tags=("dl", "asymptotics"))
def dl_best_initialisation(cfg: RunConfig) -> Measurement:
    """Task rho_PT = 0.2, rho_FT = 0.1, omega = 0.5 at alpha = 0.25, noiseless. ``best_initialisation`` minimises
    the RS error over (log10 c_PT, atanh lambda_PT, log10 gamma_FT) in [-6, 2] x [-17, 17] x [-6, 2] from the four
    regime representatives (``REGIME_REPRESENTATIVES``, c_PT = 1e-3: I (lambda -1, gamma 1e-6), II (1, 0),
    III (0, 10), IV (-0.99, 0)). Then the finite-d minimiser error (``numerics.dl_finite``) at the optimum and at
    each representative on the same seeds (same task, design and labels): per regime the paired difference
    (regime - optimum), its mean and standard error over seeds. d = 600 with 80 seeds (quick: d = 300, 80)."""
    from ptft.numerics import asymptotics as A
    from ptft.numerics.best_initialisation import REGIME_REPRESENTATIVES, best_initialisation

    d, n_seeds = cfg.pick((300, 80), (600, 80))
    alpha = 0.25
    task = A.task_from_overlap(*_IV_TASK)
    opt = best_initialisation(**task, alpha_ft=alpha)
    if not opt.success:
        raise NotConverged(f"best_initialisation: {opt.message}")
    seeds = _seeds(cfg, n_seeds, "best_init")
    inits = {"optimum": opt.x, **REGIME_REPRESENTATIVES}
    fds = {name: _finite_d(d, alpha, seeds, name, c_pt=c, lambda_pt=lam, gamma_ft=g, **task)
           for name, (c, lam, g) in inits.items()}
    rows = {}
    for name in REGIME_REPRESENTATIVES:
        diff = fds[name].errors - fds["optimum"].errors
        mean, sem = float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(diff.size))
        rows[name] = {"init": inits[name], "rs": opt.regime_errors[name], "finite_d_mean": fds[name].mean,
                      "finite_d_sem": fds[name].sem, "paired_difference": mean, "paired_sem": sem,
                      "margin_in_sem": mean / sem, "ratio": (3 * sem / mean) if mean > 0 else float("inf")}
    worst = max(rows.values(), key=lambda r: r["ratio"])
    fo = fds["optimum"]
    return Measurement(
        theory=opt.error, simulation=fo.mean, error=worst["ratio"], tolerance=1.0,
        tolerance_reason=f"pass when, for every named regime, the paired mean error difference (regime - optimum) "
                         f"over {n_seeds} common seeds exceeds 3 of its standard errors (a one-sided test at about "
                         "the 0.1 % level per regime; the paired difference removes the seed-to-seed spread the five "
                         "initialisations share). The RS errors are reported beside the finite-d means (details) but "
                         "not tested here (dl.rs_matches_finite_d_minimiser does that); at d = 600 every finite-d mean "
                         "is within 1 s.e. of its RS value",
        metric="max over the four regimes of 3 s.e.(paired difference) / mean paired difference (regime - optimum; "
               "inf if the optimum is not better)",
        theory_label="RS error at the optimum",
        simulation_label=f"finite-d mean error at the optimum (d = {d}, {n_seeds} seeds)",
        details={"d": d, "alpha_ft": alpha, "seeds": n_seeds, "rho_pt_rho_ft_omega": _IV_TASK,
                 "optimum": {"c_pt": opt.x[0], "lambda_pt": opt.x[1], "one_plus_lambda_pt": 1.0 + opt.x[1],
                             "gamma_ft": opt.x[2], "rs": opt.error, "at_bound": opt.at_bound,
                             "finite_d_mean": fo.mean, "finite_d_sem": fo.sem, "message": opt.message,
                             "starts": [{k: s[k] for k in ("regime", "end", "error", "success")} for s in opt.starts]},
                 "rs_improvement_over_best_regime": opt.improvement, "regimes": rows})
