"""Tests of theory.diagonal: every derivation builds and is verified, plus numerical spot checks."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from ptft import theory
from ptft.theory import diagonal
from ptft.theory.symbols import S, alpha, beta, beta_pos, c_abs, phi, u0, v0

EXPECTED = {
    "diagonal.flow_solution",
    "diagonal.conserved_quantity",
    "diagonal.beta_of_S",
    "diagonal.mirror_map",
    "diagonal.q",
    "diagonal.penalty",
    "diagonal.penalty_lazy_limit",
    "diagonal.penalty_rich_limit",
    "diagonal.two_pathway_penalty",
    "diagonal.woodworth_equivalence",
}
DIAG = sorted(n for n in theory.names() if n.startswith("diagonal."))


def test_registered_names() -> None:
    assert set(DIAG) == EXPECTED


@pytest.mark.parametrize("name", DIAG)
def test_derivation_builds_and_is_verified(name: str) -> None:
    d = theory.get(name)
    assert d.name == name
    assert d.verified
    assert d.checks, "every derivation must record its checks"
    assert all(c.passed for c in d.checks)
    tex = d.latex()
    assert isinstance(tex, str) and tex.strip()
    assert d.latex(steps=True).strip()
    assert d.summary().startswith(name)
    assert d.source and d.assumptions
    f = d.lambdify()
    args = [0.7 if s.is_positive else 0.3 for s in d.symbols]
    val = np.asarray(f(*args), dtype=float)
    assert np.all(np.isfinite(val))


def test_import_is_lazy() -> None:
    # builders are registered (cached functions), nothing forces SymPy work at import time
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    code = textwrap.dedent(
        """
        import ptft.theory.diagonal
        from ptft.theory.derivation import _BUILDERS
        assert all(b.cache_info().currsize == 0 for n, b in _BUILDERS.items() if n.startswith("diagonal."))
        """
    )
    root = Path(theory.__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(root))


# --------------------------------------------------------------------------------------------------
# numerical spot checks
# --------------------------------------------------------------------------------------------------
def test_penalty_derivative_is_mirror_map() -> None:
    Qf = theory.get("diagonal.penalty").lambdify()
    Mf = theory.get("diagonal.mirror_map").lambdify()
    rng = np.random.default_rng(0)
    h = 1e-5
    for _ in range(20):
        b, ca, ph = rng.uniform(-3, 3), rng.uniform(0.05, 2), rng.uniform(-2, 2)
        fd = (Qf(b + h, ca, ph) - Qf(b - h, ca, ph)) / (2 * h)
        assert fd == pytest.approx(Mf(b, ca, ph), rel=1e-7, abs=1e-8)
    assert Qf(0.0, 0.8, 0.3) == pytest.approx(0.0, abs=1e-15)


def test_q_matches_penalty_at_unit_scale() -> None:
    qf = theory.get("diagonal.q").lambdify()
    Qf = theory.get("diagonal.penalty").lambdify()
    for zz in (-3.0, -0.4, 0.0, 0.9, 5.0):
        assert qf(zz) == pytest.approx(2 * Qf(zz, 1.0, 0.0), abs=1e-14)


def test_lazy_limit_error_scales_as_beta6() -> None:
    d = theory.get("diagonal.penalty_lazy_limit")
    lazy = d.lambdify(modules="mpmath")
    Qf = theory.get("diagonal.penalty").lambdify(modules="mpmath")
    ca, ph = 1.3, 0.4
    coef = float(d.extra["remainder_coefficient"].subs(c_abs, ca))
    errs = []
    for b in (0.2, 0.1, 0.05):
        err = float(Qf(b, ca, ph) - lazy(b, ca, ph))
        rel = abs(err) / abs(float(Qf(b, ca, ph)))
        assert rel < 1e-3
        errs.append(err)
        assert err / b**6 == pytest.approx(coef, rel=0.02)  # remainder beta^6/(160 |c|^5)
    # halving beta divides the error by ~2^6
    assert errs[0] / errs[1] == pytest.approx(64, rel=0.02)
    assert errs[1] / errs[2] == pytest.approx(64, rel=0.01)
    # and the kernel (quadratic) part alone is accurate to O(beta^4)
    lead = sp.lambdify((beta, c_abs, phi), d.extra["leading"], "mpmath")
    e1 = abs(float(Qf(0.1, ca, ph) - lead(0.1, ca, ph)))
    e2 = abs(float(Qf(0.05, ca, ph) - lead(0.05, ca, ph)))
    assert e1 / e2 == pytest.approx(16, rel=0.02)


def test_rich_limit_error_is_half_c() -> None:
    rich = theory.get("diagonal.penalty_rich_limit").lambdify(modules="mpmath")
    Qf = theory.get("diagonal.penalty").lambdify(modules="mpmath")
    b, ph = 1.5, 0.3
    prev = None
    for ca in (1e-2, 1e-3, 1e-4, 1e-5):
        err = float(Qf(b, ca, ph) - rich(b, ca, ph))
        rel = abs(err) / abs(float(Qf(b, ca, ph)))
        assert err / ca == pytest.approx(0.5, rel=0.05)  # next term |c|/2
        if prev is not None:
            assert rel < prev / 5  # relative error shrinks ~ linearly in |c|
        prev = rel
    assert prev < 1e-5


def _closed_form_flow():
    d = theory.get("diagonal.flow_solution")
    uv = d.lambdify()
    bS = sp.lambdify((S, u0, v0), d.extra["beta"])
    return uv, bS


def test_flow_solution_matches_solve_ivp() -> None:
    uv, bS = _closed_form_flow()
    bs = theory.get("diagonal.beta_of_S")
    beta_cs = bs.lambdify()
    ca_f = sp.lambdify((u0, v0), bs.extra["c_abs"])
    ph_f = sp.lambdify((u0, v0), bs.extra["phi"])
    for a0, b0 in ((0.7, -0.2), (0.1, 0.3), (-1.2, 0.5)):
        Ss = np.array([0.3, 1.0, 2.0])
        sol = solve_ivp(lambda s, y: [y[1], y[0]], (0, Ss[-1]), [a0, b0], t_eval=Ss, rtol=1e-12, atol=1e-12)
        for k, s in enumerate(Ss):
            cf = np.asarray(uv(s, a0, b0), dtype=float).ravel()
            np.testing.assert_allclose(sol.y[:, k], cf, rtol=1e-9, atol=1e-10)
            prod = sol.y[0, k] * sol.y[1, k]
            assert prod == pytest.approx(bS(s, a0, b0), rel=1e-9, abs=1e-10)
            assert prod == pytest.approx(beta_cs(s, ca_f(a0, b0), ph_f(a0, b0)), rel=1e-9, abs=1e-10)
            # conservation law
            assert sol.y[0, k] ** 2 - sol.y[1, k] ** 2 == pytest.approx(a0**2 - b0**2, abs=1e-9)


def test_gradient_flow_in_real_time_follows_closed_form() -> None:
    """Train beta = u v on L = (beta - y)^2/2 in time t; (u, v) must be the closed form at S(t)."""
    uv, _ = _closed_form_flow()
    y_target, a0, b0 = 1.7, 0.3, -0.1

    def rhs(_t, x):
        u_, v_, _S = x
        g = y_target - u_ * v_
        return [g * v_, g * u_, g]

    ts = np.array([0.5, 2.0, 10.0])
    sol = solve_ivp(rhs, (0, ts[-1]), [a0, b0, 0.0], t_eval=ts, rtol=1e-12, atol=1e-12)
    for k in range(len(ts)):
        cf = np.asarray(uv(sol.y[2, k], a0, b0), dtype=float).ravel()
        np.testing.assert_allclose(sol.y[:2, k], cf, rtol=1e-8, atol=1e-9)


def test_implicit_bias_underdetermined_regression() -> None:
    """Gradient flow on an underdetermined problem converges to argmin sum_i Q_i s.t. X beta = y."""
    Mf = theory.get("diagonal.mirror_map").lambdify()
    bs = theory.get("diagonal.beta_of_S")
    ca_f = sp.lambdify((u0, v0), bs.extra["c_abs"])
    ph_f = sp.lambdify((u0, v0), bs.extra["phi"])
    x = np.array([1.0, 2.0, -0.5])
    y_target = 1.0
    U0 = np.array([0.4, 0.3, 0.5])
    V0 = np.array([0.1, -0.2, 0.25])

    def rhs(_t, w):
        uu, vv = w[:3], w[3:]
        r = y_target - x @ (uu * vv)
        g = r * x
        return np.concatenate([g * vv, g * uu])

    sol = solve_ivp(rhs, (0, 400), np.concatenate([U0, V0]), rtol=1e-11, atol=1e-12, method="LSODA")
    b_gd = sol.y[:3, -1] * sol.y[3:, -1]
    assert abs(x @ b_gd - y_target) < 1e-8
    # KKT of min Q s.t. x.beta = y: grad Q(beta) = lambda x; with |c_i| sinh monotone -> 1-D root
    ca, ph = ca_f(U0, V0), ph_f(U0, V0)

    def beta_of_lam(lam):
        return ca * np.sinh(2 * lam * x + ph)

    lam = brentq(lambda l_: x @ beta_of_lam(l_) - y_target, -5, 5, xtol=1e-15)
    b_star = beta_of_lam(lam)
    np.testing.assert_allclose(b_gd, b_star, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(Mf(b_star, ca, ph), lam * x, rtol=1e-9, atol=1e-12)


def test_two_pathway_and_woodworth_numerically() -> None:
    d = theory.get("diagonal.woodworth_equivalence")
    lhs = sp.lambdify(d.symbols, d.statement.lhs)
    rhs = d.lambdify()
    Q2 = theory.get("diagonal.two_pathway_penalty").lambdify()
    Qd = theory.get("diagonal.penalty").lambdify()
    assert d.extra["factor"] == sp.Rational(1, 4)
    rng = np.random.default_rng(1)
    for _ in range(50):
        b, a = rng.uniform(-10, 10), rng.uniform(0.1, 3)
        qw = 2 - np.sqrt(4 + (b / a**2) ** 2) + (b / a**2) * np.arcsinh(b / (2 * a**2))
        assert Q2(b, a) == pytest.approx(lhs(b, a), rel=1e-12, abs=1e-12)
        assert Q2(b, a) == pytest.approx(0.25 * a**2 * qw, rel=1e-10, abs=1e-12)
        assert rhs(b, a) == pytest.approx(0.25 * a**2 * qw, rel=1e-10, abs=1e-12)
        assert Qd(b, 2 * a**2, 0.0) == pytest.approx(2 * Q2(b, a), rel=1e-10, abs=1e-12)


def test_two_pathway_flow_numerically() -> None:
    tp = theory.get("diagonal.two_pathway_penalty")
    b_of_S = sp.lambdify((S, alpha), tp.extra["beta"])
    a = 0.3
    Ss = [0.1, 0.5, 1.0]
    sol = solve_ivp(lambda s, w: [2 * w[0], -2 * w[1]], (0, 1.0), [a, a], t_eval=Ss, rtol=1e-12, atol=1e-14)
    for k, s in enumerate(Ss):
        assert sol.y[0, k] ** 2 - sol.y[1, k] ** 2 == pytest.approx(b_of_S(s, a), rel=1e-9)


def test_helpers() -> None:
    assert diagonal.penalty_expr() == theory.get("diagonal.penalty").expr
    assert diagonal.q_expr() == theory.get("diagonal.q").expr
    assert theory.get("diagonal.penalty_rich_limit").symbols[0] is beta_pos
