"""The four finetuning regimes (regimes.*) and the proportional-limit error (asymptotics.*).

Each derived result is compared with an independent evaluation: the l-order and pretraining dependence with
mpmath numerical differentiation of the [DL] penalty, the closed-form errors with fixed points solved
numerically (SciPy), the Donoho-Tanner curve with the minimax formula of [DMM] maximised numerically, with
state-evolution iterations and with basis pursuit (linear programming) on a random instance.
"""
from __future__ import annotations

import math
import random

import mpmath
import numpy as np
import pytest
import sympy as sp

from ptft import theory
from ptft.theory import asymptotics as asy
from ptft.theory import regimes

EXPECTED = {
    "regimes.l_order", "regimes.pretraining_dependence", "regimes.bounds", "regimes.limits",
    "asymptotics.prox_map", "asymptotics.fixed_point", "asymptotics.regime_III", "asymptotics.regime_II_weighted_l2",
    "asymptotics.regime_II_subset", "asymptotics.l1_state_evolution", "asymptotics.donoho_tanner",
    "asymptotics.regime_IV_bounds",
}
OURS = sorted(n for n in theory.names() if n.split(".")[0] in ("regimes", "asymptotics"))


def test_registered_names() -> None:
    assert set(OURS) == EXPECTED


@pytest.mark.parametrize("name", OURS)
def test_derivation_builds_and_is_verified(name: str) -> None:
    d = theory.get(name)
    assert d.name == name and d.title
    assert d.checks and d.verified
    assert d.source and d.assumptions
    assert d.latex(steps=True).strip()
    assert "THEORY.md" not in d.source + d.notes and "issue" not in (d.source + d.notes).lower()


def test_new_references_are_listed() -> None:
    from ptft.theory.references import REFERENCES, cited_keys

    assert {"DT", "DMM"} <= set(REFERENCES)
    assert cited_keys(theory.get("asymptotics.donoho_tanner").source) == ["DMM", "DT"]


# --------------------------------------------------------------------------------------------------
# l-order and pretraining dependence: the derived forms against numerical differentiation of the penalty
# --------------------------------------------------------------------------------------------------
def _random_params(rnd: random.Random):
    return dict(beta=10 ** rnd.uniform(-2, 2), beta_pt=10 ** rnd.uniform(-2, 2), c_pt=10 ** rnd.uniform(-3, 3),
                lam=rnd.uniform(-0.99, 1.0), g=rnd.choice([0.0, 10 ** rnd.uniform(-2, 1.5)]))


def test_l_order_and_pd_match_numerical_log_derivatives_of_the_penalty() -> None:
    """O = d log q/d log|beta| and PD = d log q/d log|beta_PT| of the ptft.dl_handoff penalty, by mpmath.diff."""
    pen = theory.get("ptft.dl_handoff")
    q = sp.lambdify(pen.symbols, pen.expr, "mpmath")  # (beta, beta_PT, c_PT, lambda_PT, gamma)
    dO, dPD = theory.get("regimes.l_order"), theory.get("regimes.pretraining_dependence")
    fO, fPD = (sp.lambdify(d.symbols, d.expr, "mpmath") for d in (dO, dPD))
    rnd = random.Random(7)
    with mpmath.workdps(40):
        for _ in range(12):
            p = _random_params(rnd)
            b, bp, c, lam, g = (mpmath.mpf(p[k]) for k in ("beta", "beta_pt", "c_pt", "lam", "g"))
            O_num = mpmath.diff(lambda t: mpmath.log(q(mpmath.exp(t), bp, c, lam, g)), mpmath.log(b))
            PD_num = mpmath.diff(lambda t: mpmath.log(q(b, mpmath.exp(t), c, lam, g)), mpmath.log(bp))
            assert abs(fO(b, bp, c, lam, g) - O_num) < mpmath.mpf(10) ** -20
            assert abs(fPD(b, bp, c, lam, g) - PD_num) < mpmath.mpf(10) ** -20


def test_bounds_hold_at_random_points_with_mpmath() -> None:
    dO, dPD = theory.get("regimes.l_order"), theory.get("regimes.pretraining_dependence")
    fO, fPD = (sp.lambdify(d.symbols, d.expr, "mpmath") for d in (dO, dPD))
    rnd = random.Random(11)
    with mpmath.workdps(30):
        for _ in range(500):
            p = _random_params(rnd)
            args = [mpmath.mpf(p[k]) for k in ("beta", "beta_pt", "c_pt", "lam", "g")]
            O, PD = fO(*args), fPD(*args)
            assert 1 <= O <= 2 and -1 <= PD <= 0 and 1 <= O + PD <= 2, (p, O, PD)


def test_bounds_derivation_is_proved_symbolically() -> None:
    d = theory.get("regimes.bounds")
    proved = [c for c in d.checks if "(proved" in c.description]
    assert len(proved) >= 6
    assert any(c.description.startswith("corroboration (numeric") for c in d.checks)
    assert min(d.extra["worst_margins"].values()) >= 0


def test_l_order_limits_and_series() -> None:
    u = sp.Symbol("u", positive=True)
    O = regimes.l_order_of_u(u)
    assert sp.limit(O, u, 0, "+") == 2 and sp.limit(O, u, sp.oo) == 1
    f = sp.lambdify(u, O, "mpmath")
    with mpmath.workdps(30):
        for x in ("1e-3", "0.5", "1", "7", "1e4"):
            x = mpmath.mpf(x)
            direct = x * mpmath.asinh(x) / (1 - mpmath.sqrt(1 + x**2) + x * mpmath.asinh(x))
            assert abs(f(x) - direct) < mpmath.mpf(10) ** -20


# --------------------------------------------------------------------------------------------------
# regime limits
# --------------------------------------------------------------------------------------------------
def test_regime_limits_derivation_values() -> None:
    d = theory.get("regimes.limits")
    assert d.extra["values"] == {"I": (1, 0), "II": (2, -1), "III": (2, 0)}
    b, bpt, lam = sp.symbols("beta beta_PT lambda_PT", positive=True)
    u_star = d.extra["u_star"].subs({s: {"beta": b, "beta_PT": bpt, "lambda_PT": lam}[s.name]
                                     for s in d.extra["u_star"].free_symbols})
    assert sp.simplify(u_star - b / ((1 + lam) * bpt)) == 0
    # the statement's last row lies on the conservation line O + PD = 1
    rhs = d.statement.rhs
    assert sp.simplify(rhs[3, 0] + rhs[3, 1] - 1) == 0


@pytest.mark.parametrize("params, corner", [
    (dict(c_pt=1e-3, lambda_pt=-1.0, gamma_ft=1e-100), (1.0, 0.0)),       # I (logarithmic: u = 2e200)
    (dict(c_pt=1e-12, lambda_pt=1.0, gamma_ft=0.0, beta=1e-4), (2.0, -1.0)),  # II (with |beta| << |beta_PT|)
    (dict(c_pt=1e8, lambda_pt=0.0, gamma_ft=0.0), (2.0, 0.0)),             # III, c_PT -> oo
    (dict(c_pt=1e-3, lambda_pt=0.0, gamma_ft=1e4), (2.0, 0.0)),            # III, gamma -> oo
])
def test_numeric_values_approach_the_corners(params, corner) -> None:
    O, PD, _, _ = regimes.regime_values(**params)
    assert abs(O - corner[0]) < 5e-3 and abs(PD - corner[1]) < 5e-3


def test_regime_iv_family_is_on_the_conservation_line() -> None:
    for lam in (-0.9, -0.5, 0.0, 0.5):
        O, PD, c_ft, _ = regimes.regime_values(c_pt=1e-12, lambda_pt=lam, gamma_ft=0.0, beta=1.0, beta_pt=1.0)
        assert c_ft == pytest.approx(1 + lam, rel=1e-9)
        assert 1 < O < 2 and O + PD == pytest.approx(1.0, abs=1e-9)
        assert O == pytest.approx(float(regimes.l_order_of_u(sp.Float(1 / (1 + lam)))), abs=1e-12)


# --------------------------------------------------------------------------------------------------
# classify_regime
# --------------------------------------------------------------------------------------------------
def test_classify_regime_I() -> None:
    exact = regimes.classify_regime(c_pt=1e-3, lambda_pt=-1.0, gamma_ft=0.0)
    assert exact.regime == "I" and exact.l_order == 1.0 and exact.pretraining_dependence == 0.0
    near = regimes.classify_regime(c_pt=1e-3, lambda_pt=-0.999999, gamma_ft=0.0)
    assert near.regime == "I"
    assert 0 < near.o_minus_1 <= near.o_tol and 0 <= near.minus_pd <= near.pd_tol
    # the rich corner is approached only logarithmically: a 1e-2 threshold on O - 1 is not met
    assert regimes.classify_regime(c_pt=1e-3, lambda_pt=-0.999999, gamma_ft=0.0, o_tol=0.01).regime == "IV"


def test_classify_regime_II() -> None:
    r = regimes.classify_regime(c_pt=1e-8, lambda_pt=1.0, gamma_ft=0.0)
    assert r.regime == "II"
    # at |beta| = |beta_PT| = 1: c_FT = 2, u = 1/2, O = 1.963
    assert r.c_ft == pytest.approx(2.0, rel=1e-6) and r.u == pytest.approx(0.5, rel=1e-6)
    assert r.l_order == pytest.approx(1.9630, abs=1e-4) and r.l_order + r.pretraining_dependence == pytest.approx(1, abs=1e-6)
    assert r.two_minus_o == pytest.approx(2 - r.l_order) and r.pd_plus_1 == pytest.approx(1 + r.pretraining_dependence)
    assert r.two_minus_o <= r.o_tol and r.pd_plus_1 <= r.pd_tol
    # a tighter threshold moves it into the interior: regime II needs |beta| << |beta_PT|
    assert regimes.classify_regime(c_pt=1e-8, lambda_pt=1.0, gamma_ft=0.0, o_tol=0.02, pd_tol=0.02).regime == "IV"
    assert regimes.classify_regime(c_pt=1e-8, lambda_pt=1.0, gamma_ft=0.0, beta=0.1, o_tol=0.02,
                                   pd_tol=0.02).regime == "II"


@pytest.mark.parametrize("kw", [dict(c_pt=1e3, lambda_pt=0.0, gamma_ft=0.0), dict(c_pt=1e-3, lambda_pt=0.0, gamma_ft=100.0),
                                dict(c_pt=1e6, lambda_pt=-0.5, gamma_ft=1.0)])
def test_classify_regime_III(kw) -> None:
    r = regimes.classify_regime(**kw)
    assert r.regime == "III"
    assert r.two_minus_o <= r.o_tol and r.minus_pd <= r.pd_tol and r.pd_plus_1 > r.pd_tol


def test_classify_regime_IV() -> None:
    r = regimes.classify_regime(c_pt=1e-6, lambda_pt=-0.99, gamma_ft=0.0)
    assert r.regime == "IV"
    assert r.o_minus_1 > r.o_tol and r.two_minus_o > r.o_tol and r.minus_pd > r.pd_tol
    assert 1.2 < r.l_order < 1.3  # u = 100
    assert set(r.margins) == {"O-1", "2-O", "-PD", "PD+1"}
    assert "no corner" in r.reason


def test_classify_regime_values_agree_with_mpmath_evaluation_of_the_derivations() -> None:
    dO, dPD = theory.get("regimes.l_order"), theory.get("regimes.pretraining_dependence")
    fO, fPD = (sp.lambdify(d.symbols, d.expr, "mpmath") for d in (dO, dPD))
    rnd = random.Random(3)
    for _ in range(50):
        p = _random_params(rnd)
        r = regimes.classify_regime(c_pt=p["c_pt"], lambda_pt=p["lam"], gamma_ft=p["g"], beta=p["beta"],
                                    beta_pt=p["beta_pt"])
        with mpmath.workdps(30):
            args = [mpmath.mpf(p[k]) for k in ("beta", "beta_pt", "c_pt", "lam", "g")]
            assert r.l_order == pytest.approx(float(fO(*args)), abs=1e-12)
            assert r.pretraining_dependence == pytest.approx(float(fPD(*args)), abs=1e-12)


def test_classify_regime_ignores_signs_and_handles_small_beta() -> None:
    a = regimes.classify_regime(c_pt=0.1, lambda_pt=0.3, gamma_ft=0.5, beta=-2.0, beta_pt=-0.7)
    b = regimes.classify_regime(c_pt=0.1, lambda_pt=0.3, gamma_ft=0.5, beta=2.0, beta_pt=0.7)
    assert a.l_order == b.l_order and a.pretraining_dependence == b.pretraining_dependence
    tiny = regimes.classify_regime(c_pt=1.0, lambda_pt=0.0, gamma_ft=0.0, beta=1e-9)
    assert tiny.l_order == pytest.approx(2.0, abs=1e-12)  # no cancellation at small u


@pytest.mark.parametrize("kw, name", [
    (dict(c_pt=0.0, lambda_pt=0.0, gamma_ft=0.0), "c_pt"), (dict(c_pt=-1.0, lambda_pt=0.0, gamma_ft=0.0), "c_pt"),
    (dict(c_pt=1.0, lambda_pt=1.5, gamma_ft=0.0), "lambda_pt"), (dict(c_pt=1.0, lambda_pt=-1.01, gamma_ft=0.0), "lambda_pt"),
    (dict(c_pt=1.0, lambda_pt=0.0, gamma_ft=-0.1), "gamma_ft"), (dict(c_pt=float("nan"), lambda_pt=0.0, gamma_ft=0.0), "c_pt"),
    (dict(c_pt=1.0, lambda_pt=float("nan"), gamma_ft=0.0), "lambda_pt"),
    (dict(c_pt=1.0, lambda_pt=0.0, gamma_ft=float("nan")), "gamma_ft"),
    (dict(c_pt=1.0, lambda_pt=0.0, gamma_ft=0.0, beta=float("nan")), "beta"),
    (dict(c_pt=1.0, lambda_pt=0.0, gamma_ft=0.0, beta_pt=float("inf")), "beta_pt"),
    (dict(c_pt=1.0, lambda_pt=0.0, gamma_ft=0.0, o_tol=0.6), "o_tol"),
    (dict(c_pt=1.0, lambda_pt=0.0, gamma_ft=0.0, pd_tol=0.0), "pd_tol"),
    (dict(c_pt="x", lambda_pt=0.0, gamma_ft=0.0), "c_pt"),
])
def test_classify_regime_validation(kw, name) -> None:
    with pytest.raises(ValueError, match=name):
        regimes.classify_regime(**kw)


# --------------------------------------------------------------------------------------------------
# closed forms against direct numerical solutions of the fixed point
# --------------------------------------------------------------------------------------------------
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(61)
_GH_W = _GH_W / _GH_W.sum()  # E f(Z) = sum w f(x), Z ~ N(0, 1)


def _solve_fixed_point(prox, dprox, B_nodes, B_weights, alpha, theta_bracket):
    """Noiseless RS fixed point in the interpolation limit, solved directly: for each theta0 the effective
    regularisation theta solves E[d eta/dz] = alpha (brentq), and theta0 solves theta0 = E[(eta - B)^2]/alpha
    (an outer brentq). Returns (error, theta)."""
    from scipy.optimize import brentq

    Zs, wz = _GH_X[None, :], _GH_W[None, :]
    Bn, wb = np.asarray(B_nodes)[:, None], np.asarray(B_weights)[:, None]

    def inner(th0):
        z = Bn + math.sqrt(th0) * Zs
        th = brentq(lambda t: float(np.sum(wb * wz * dprox(z, t))) - alpha, *theta_bracket, xtol=1e-12, rtol=1e-13)
        return float(np.sum(wb * wz * (prox(z, th) - Bn) ** 2)), th

    th0 = brentq(lambda t: inner(t)[0] / alpha - t, 1e-6, 1e3, xtol=1e-13, rtol=1e-12)
    err, th = inner(th0)
    return err, th


def test_regime_III_closed_form_against_the_qk_fixed_point() -> None:
    """Uniform lazy penalty: the fixed point with the (nonlinear) q_k prox at large k gives error 1 - alpha."""
    k = 1e8
    sk = math.sqrt(k)

    def prox(z, th):
        return asy.prox_qk(z, th, k)

    def dprox(z, th):
        x = asy.prox_qk(z, th, k)
        return np.sqrt(k + 4 * x * x) / (th + np.sqrt(k + 4 * x * x))

    for alpha in (0.2, 0.5, 0.8):
        err, th = _solve_fixed_point(prox, dprox, _GH_X, _GH_W, alpha, (1e-6 * sk, 1e6 * sk))
        assert err == pytest.approx(1 - alpha, abs=1e-4)
        assert err == pytest.approx(asy.l2_uniform_error(alpha), abs=1e-4)
        assert th == pytest.approx(sk * (1 - alpha) / alpha, rel=1e-3)
    d = theory.get("asymptotics.regime_III")
    f = d.lambdify()
    assert f(0.3, 0.0) == pytest.approx(0.7) and f(0.5, 0.2) == pytest.approx(0.5 + 0.5 * 0.04 / 0.5)


def test_weighted_l2_closed_form_against_a_direct_fixed_point() -> None:
    """Two weight groups with Gaussian teacher entries of different variances; noisy closed form too."""
    from scipy.optimize import brentq

    w = np.array([5.0, 0.2])
    p = np.array([0.3, 0.7])
    m2 = np.array([2.0, 1.0 / 0.7 * (1 - 0.3 * 2.0)])
    alpha, sigma0 = 0.45, 0.3
    err_cf, th_cf = asy.weighted_l2_error(alpha, w, p, m2, sigma0=sigma0)
    # direct: iterate theta0 with the explicit linear prox, group by group, Gauss-Hermite over B and Z
    th = brentq(lambda t: float(np.sum(p * w / (w + t))) - alpha, 1e-12, 1e12)
    th0 = 1.0
    for _ in range(300):
        mse = 0.0
        for wi, pi, mi in zip(w, p, m2):
            B = math.sqrt(mi) * _GH_X[:, None]
            z = B + math.sqrt(th0) * _GH_X[None, :]
            mse += pi * float(np.sum(_GH_W[:, None] * _GH_W[None, :] * (wi / (wi + th) * z - B) ** 2))
        th0 = (sigma0**2 + mse) / alpha
    assert th_cf == pytest.approx(th, rel=1e-10)
    assert err_cf == pytest.approx(alpha * th0 - sigma0**2, rel=1e-8)
    # the derivation's noiseless statement, evaluated with the same groups
    s = w / (w + th)
    expect = float(np.sum(p * (1 - s) ** 2 * m2)) / (1 - float(np.sum(p * s**2)) / alpha)
    assert asy.weighted_l2_error(alpha, w, p, m2)[0] == pytest.approx(expect, rel=1e-12)


@pytest.mark.parametrize("alpha", [0.02, 0.05, 0.08, 0.15, 0.4])
def test_regime_II_subset_against_weighted_l2_with_large_contrast(alpha) -> None:
    rho_pt = 0.1
    err, _ = asy.weighted_l2_error(alpha, [1.0, 1e-10], [rho_pt, 1 - rho_pt], [1 / rho_pt, 0.0])
    closed = asy.regime_ii_subset_error(alpha, rho_pt)
    assert closed == pytest.approx(max(0.0, 1 - alpha / rho_pt))
    assert err == pytest.approx(closed, abs=1e-6)
    f = theory.get("asymptotics.regime_II_subset").lambdify()
    assert float(f(alpha, rho_pt)) == pytest.approx(closed)


def test_prox_qk_solves_the_prox_equation_and_its_derivative() -> None:
    z = np.linspace(-30, 30, 61)
    for th, k in ((0.5, 1e-4), (3.0, 1.0), (10.0, 1e4)):
        x = asy.prox_qk(z, th, k)
        assert np.max(np.abs(x - z + 0.5 * th * np.arcsinh(2 * x / math.sqrt(k)))) < 1e-10
        assert np.all(np.diff(x) > 0) and np.all(np.abs(x) <= np.abs(z) + 1e-15)
        h = 1e-6
        fd = (asy.prox_qk(z + h, th, k) - asy.prox_qk(z - h, th, k)) / (2 * h)
        f = theory.get("asymptotics.prox_map").lambdify()
        assert np.max(np.abs(fd - f(x, th, k))) < 1e-5
    with pytest.raises(ValueError, match="theta"):
        asy.prox_qk(1.0, 0.0, 1.0)


def test_soft_threshold_risk_against_quadrature() -> None:
    from scipy.integrate import quad
    from scipy.stats import norm

    for mu, tau in ((0.0, 1.0), (0.7, 0.3), (-2.0, 1.5), (5.0, 2.0)):
        direct = quad(lambda z: (np.sign(mu + z) * max(abs(mu + z) - tau, 0.0) - mu) ** 2 * norm.pdf(z),
                      -12, 12, points=[-tau - mu, tau - mu], limit=200)[0]
        assert asy.soft_threshold_risk(mu, tau) == pytest.approx(direct, abs=1e-10)


# --------------------------------------------------------------------------------------------------
# the Donoho-Tanner curve
# --------------------------------------------------------------------------------------------------
def _minimax_rho(delta: float) -> float:
    """[DMM]'s formula rho(delta) = max_tau (1 - 2M/delta)/(1 + tau^2 - 2M), M = (1+tau^2)Phi(-tau) - tau phi(tau)."""
    from scipy.optimize import minimize_scalar
    from scipy.stats import norm

    def neg(t):
        M = (1 + t * t) * norm.sf(t) - t * norm.pdf(t)
        return -(1 - 2 * M / delta) / (1 + t * t - 2 * M)

    return -minimize_scalar(neg, bounds=(1e-8, 20), method="bounded", options={"xatol": 1e-12}).fun


@pytest.mark.parametrize("delta", [0.05, 0.1, 0.25, 0.5, 0.75, 0.9])
def test_donoho_tanner_curve_equals_the_minimax_formula(delta) -> None:
    assert asy.donoho_tanner_rho(delta) == pytest.approx(_minimax_rho(delta), abs=1e-9)
    assert asy.donoho_tanner_delta(asy.donoho_tanner_rho(delta)) == pytest.approx(delta, abs=1e-10)


def test_donoho_tanner_reference_values() -> None:
    # weak threshold of the cross-polytope [DT] = l1 phase transition of [DMM]
    assert asy.donoho_tanner_rho(0.5) == pytest.approx(0.385690, abs=1e-6)
    assert round(asy.donoho_tanner_rho(0.5), 3) == 0.386
    # minimal n/d for exact recovery at sparsity k/d (rho_FT)
    assert asy.l1_threshold(0.1) == pytest.approx(0.328794, abs=1e-6)
    assert asy.l1_threshold(0.01) == pytest.approx(0.061244, abs=1e-6)
    assert round(asy.l1_threshold(0.1), 3) == 0.329 and round(asy.l1_threshold(0.01), 3) == 0.061
    # shape: rho increases with delta from 0 to 1
    ds = np.linspace(0.02, 0.98, 25)
    rs = [asy.donoho_tanner_rho(d) for d in ds]
    assert np.all(np.diff(rs) > 0) and 0 < rs[0] < rs[-1] < 1
    with pytest.raises(ValueError, match="delta"):
        asy.donoho_tanner_rho(1.2)
    with pytest.raises(ValueError, match="rho"):
        asy.donoho_tanner_delta(0.0)


def test_state_evolution_recovers_above_and_fails_below_the_threshold() -> None:
    """Iterate the l1 fixed point (interpolation condition + theta0 map) for an epsilon = 0.1 Gaussian teacher."""
    from scipy.optimize import brentq
    from scipy.stats import norm

    eps = 0.1
    Bn = _GH_X / math.sqrt(eps)  # nonzero entries N(0, 1/eps), E[B^2] = 1

    def step(th0, alpha):
        mu = Bn / math.sqrt(th0)

        def D(t):
            return (1 - eps) * 2 * norm.sf(t) + eps * float(np.sum(_GH_W * (norm.cdf(mu - t) + norm.cdf(-mu - t))))

        tau = brentq(lambda t: D(t) - alpha, 1e-10, 40)
        risk = (1 - eps) * asy.soft_threshold_risk(0.0, tau) + eps * float(np.sum(_GH_W * asy.soft_threshold_risk(mu, tau)))
        return th0 * risk / alpha

    alpha_c = asy.l1_threshold(eps)
    for alpha, recovers in ((alpha_c - 0.06, False), (alpha_c + 0.06, True)):
        th0 = 1.0
        for _ in range(600):
            th0 = step(th0, alpha)
            if th0 < 1e-12:
                break
        err = alpha * th0
        assert (err < 1e-8) == recovers, (alpha, err)


def test_basis_pursuit_on_a_random_instance_agrees_with_the_threshold() -> None:
    """l1 minimisation (linear program) at d = 400, k = 40: recovers at alpha = 0.45, fails at alpha = 0.2."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(0)
    d, k = 400, 40
    beta = np.zeros(d)
    beta[rng.choice(d, k, replace=False)] = rng.normal(size=k) / math.sqrt(k / d)
    out = {}
    for alpha in (0.2, 0.45):
        n = int(alpha * d)
        X = rng.normal(size=(n, d)) / math.sqrt(d)
        y = X @ beta
        res = linprog(np.ones(2 * d), A_eq=np.hstack([X, -X]), b_eq=y, bounds=(0, None), method="highs")
        est = res.x[:d] - res.x[d:]
        out[alpha] = float(np.mean((est - beta) ** 2))
    assert asy.l1_threshold(k / d) == pytest.approx(0.3288, abs=1e-4)
    assert out[0.45] < 1e-8 and out[0.2] > 1e-2


# --------------------------------------------------------------------------------------------------
# regime IV proxy
# --------------------------------------------------------------------------------------------------
def test_weighted_l1_threshold_bounds_and_monotonicity() -> None:
    rft, rpt = 0.01, 0.1
    lower, upper = rpt * asy.l1_threshold(rft / rpt), asy.l1_threshold(rft)
    ks = [1e-4, 0.3, 0.45, 0.6, 0.8, 1.0]
    vals = [asy.weighted_l1_threshold(rft, rpt, k) for k in ks]
    assert all(b > a for a, b in zip(vals, vals[1:]))
    assert vals[0] == pytest.approx(lower, abs=1e-6) and vals[-1] == pytest.approx(upper, abs=1e-9)
    assert lower < vals[2] < upper < rpt  # regime IV beats regime II (needs alpha >= rho_PT) on a subset task
    d = theory.get("asymptotics.regime_IV_bounds")
    assert d.extra["numbers"]["lower"] == pytest.approx(lower) and d.extra["numbers"]["upper"] == pytest.approx(upper)
    # with new features (omega < 1) a large contrast makes recovery harder than plain l1
    assert asy.weighted_l1_threshold(rft, rpt, 0.2, omega=0.5) > upper
    with pytest.raises(ValueError, match="kappa"):
        asy.weighted_l1_threshold(rft, rpt, 0.0)
