"""The SymPy statements of ``theory.linear_teachers`` against the NumPy code of ``numerics.linear_teachers``.

The two were written independently (the derivation by SymPy from the flow and the Gaussian integrals,
the numerics from the closed forms in their docstrings); here the lambdified derivations evaluate the
numerics' answers. Conventions: the derivation's risk is the excess risk; ``numerics.expected_risk``
includes the irreducible ``noise^2``.
"""
import numpy as np
import pytest
import sympy as sp

from ptft.numerics import linear_teachers as L
from ptft.theory import get


def test_expected_risk_isotropic_is_the_derived_formula_plus_noise_floor():
    f = get("linear_teachers.expected_risk_isotropic").lambdify()
    rng = np.random.default_rng(0)
    for n, d, noise in ((10, 50, 0.0), (30, 50, 0.7), (5, 200, 1.3)):
        ts, tt = rng.normal(size=d), rng.normal(size=d)
        dist2 = float(np.sum((ts - tt) ** 2))
        assert L.expected_risk(n, d, ts, tt, noise=noise) - noise ** 2 == pytest.approx(f(n, d, dist2, noise), rel=1e-13)


@pytest.mark.parametrize("depth", [2, 3, 4, 7])
def test_deep_linear_c_solves_the_derived_equation(depth):
    d = get("linear_teachers.deep_linear_limit")
    c, N, normS2, b2, q2 = d.symbols
    residual = sp.lambdify(d.symbols, d.statement.lhs - d.statement.rhs)
    rng = np.random.default_rng(depth)
    X, ts = rng.normal(size=(8, 20)), rng.normal(size=20)
    y = X @ rng.normal(size=20)
    r = L.deep_linear_limit(X, y, ts, depth)
    assert r.success
    P = np.linalg.pinv(X) @ X
    xy = np.linalg.pinv(X) @ y
    q = (np.eye(20) - P) @ ts
    args = (r.c, depth, ts @ ts, xy @ xy, q @ q)
    assert abs(residual(*args)) < 1e-10 * (xy @ xy + ts @ ts)
    # and the end-to-end vector is X^+ y + c (I - P) theta_S, the derived form
    np.testing.assert_allclose(r.w, xy + r.c * q, rtol=0, atol=1e-10)


def test_relu_ntk_kernel_is_the_derived_closed_form():
    theta = get("linear_teachers.relu_ntk").lambdify()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, 5))
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    u = np.clip(Xn @ Xn.T, -1, 1)
    off = ~np.eye(6, dtype=bool)   # on the diagonal u = 1 - O(1e-16) and sqrt(1 - u^2) ~ 1e-8 amplifies rounding
    np.testing.assert_allclose(L.relu_ntk(Xn)[off], theta(u)[off], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.diag(L.relu_ntk(Xn)), theta(1.0), rtol=1e-7)
