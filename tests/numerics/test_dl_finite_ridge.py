"""The explicit-ridge option of numerics.dl_finite: the dual Newton solver against a dense primal reference."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from ptft.numerics import dl_finite as df
from ptft.numerics.data import gaussian_design
from ptft.numerics.ptft import dl_handoff_penalty

STATS = dict(rho_pt=0.2, rho_ft_shared=0.5, rho_ft_new=0.05)
HANDOFF = dict(c_pt=0.05, lambda_pt=0.3, gamma_ft=0.2)


def _problem(d=60, n=25, seed=5, noise=0.3):
    t = df.draw_task(d, **STATS, seed=seed)
    X = gaussian_design(n, d, seed + 100, normalize="1/sqrt_d")
    z = np.random.default_rng(seed + 200).standard_normal(n)
    return t, X, X @ t.beta_ft + noise * z


def _primal_reference(X, y, pen, ridge):
    """``argmin (1/2n)||y - X b||^2 + (ridge/d) sum Q(b)`` by scipy's trust-region Newton (exact Hessian)."""
    n, d = X.shape
    a = pen.scale

    def f(b):
        r = y - X @ b
        return 0.5 * r @ r / n + ridge / d * np.sum(pen.value(b))

    def g(b):
        return -X.T @ (y - X @ b) / n + ridge / d * 0.5 * np.arcsinh(b / a)

    def h(b):
        return X.T @ X / n + np.diag(ridge / d * 0.5 / np.sqrt(a * a + b * b))

    r = optimize.minimize(f, np.zeros(d), jac=g, hess=h, method="trust-exact", options={"gtol": 1e-12})
    b = r.x
    for _ in range(3):          # polish with full Newton steps (the problem is strongly convex and smooth)
        b = b - np.linalg.solve(h(b), g(b))
    assert np.linalg.norm(g(b)) < 1e-14
    return b, g, h


@pytest.mark.parametrize("ridge", [1e-3, 0.05, 2.0])
def test_ridge_minimiser_matches_dense_primal_reference(ridge):
    t, X, y = _problem()
    pen = dl_handoff_penalty(t.beta_pt, **HANDOFF)
    r = df.finetune_minimiser(X, y, t.beta_pt, **HANDOFF, ridge=ridge, tol=1e-13)
    assert r.converged and r.kkt_residual <= 1e-13
    ref, grad, hess = _primal_reference(X, y, pen, ridge)
    # both are stationary to rounding; the distance of two near-stationary points of a strongly convex function
    # is at most (sum of gradient norms) / (smallest Hessian eigenvalue); 10x for rounding in the bound itself
    lam_min = np.linalg.eigvalsh(hess(ref))[0]
    bound = 10 * (np.linalg.norm(grad(r.beta)) + np.linalg.norm(grad(ref))) / lam_min + 1e-13
    assert np.linalg.norm(r.beta - ref) <= bound <= 1e-7
    # the dual variable is the residual at the optimum
    np.testing.assert_allclose(r.lam, y - X @ r.beta, atol=1e-12 * np.linalg.norm(y))


def test_vanishing_ridge_tends_to_the_interpolator_and_large_ridge_shrinks():
    t, X, y = _problem(noise=0.0)
    interp = df.finetune_minimiser(X, y, t.beta_pt, **HANDOFF, tol=1e-12)
    gaps = [np.linalg.norm(df.finetune_minimiser(X, y, t.beta_pt, **HANDOFF, ridge=r).beta - interp.beta)
            for r in (1e-4, 1e-6)]
    # the ridge path leaves the interpolator at first order: 100x less ridge, 100x closer (+-10 %)
    assert 0.009 < gaps[1] / gaps[0] < 0.011 and gaps[1] < 1e-4 * np.linalg.norm(interp.beta)
    big = df.finetune_minimiser(X, y, t.beta_pt, **HANDOFF, ridge=1e4)
    assert np.linalg.norm(big.beta) < 1e-2 * np.linalg.norm(interp.beta)


def test_finite_d_error_with_ridge_uses_the_ridge_solver():
    kw = dict(**HANDOFF, **STATS, seeds=[1, 2], noise=0.5)
    a = df.finite_d_error(80, 0.5, **kw, ridge=0.1)
    b = df.finite_d_error(80, 0.5, **kw)
    assert a.success and b.success and a.params["ridge"] == 0.1
    # with sigma = 0.5 noise the interpolator overfits: a moderate ridge lowers the error on these seeds
    assert np.all(a.errors < b.errors)
    t, X, y = df.draw_problem(80, 0.5, **STATS, seed=1, noise=0.5)
    r = df.finetune_minimiser(X, y, t.beta_pt, **HANDOFF, ridge=0.1)
    assert a.errors[0] == pytest.approx(np.mean((r.beta - t.beta_ft) ** 2), rel=1e-9)


@pytest.mark.parametrize("call, name", [
    (lambda: df.finite_d_error(50, 0.5, **HANDOFF, **STATS, seeds=[0], ridge=-1.0), "ridge"),
    (lambda: df.finite_d_error(50, 0.5, **HANDOFF, **STATS, seeds=[0], ridge=0.1, method="gd"), "ridge"),
    (lambda: df.finetune_minimiser(np.eye(3), np.ones(3), np.zeros(3), **HANDOFF, ridge=np.nan), "ridge"),
])
def test_bad_ridge_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
