"""numerics.separable_dual: the dual Newton solver against closed forms and its own guarantees."""
import mpmath
import numpy as np
import pytest

from ptft.numerics.data import make_regression
from ptft.numerics.separable_dual import SinhPenalty, WeightedL2Penalty, minimize_penalty_interpolation, q_function


def _problem(n=15, d=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, rng.standard_normal(n)


def test_weighted_l2_matches_closed_form():
    # argmin sum beta^2/(2 w) s.t. X beta = y  is  W X^T (X W X^T)^{-1} y  (weighted minimum norm)
    X, y = _problem()
    w = np.random.default_rng(1).uniform(0.1, 3.0, X.shape[1])
    r = minimize_penalty_interpolation(X, y, WeightedL2Penalty(w))
    closed = w * (X.T @ np.linalg.solve((X * w) @ X.T, y))
    assert r.success and r.nit == 1  # a quadratic: one Newton step
    np.testing.assert_allclose(r.beta, closed, rtol=1e-10, atol=1e-12)


def test_sinh_penalty_kkt_and_duality_gap_over_scales():
    X, y = _problem()
    for a in (1e2, 1.0, 1e-4, 1e-12):
        r = minimize_penalty_interpolation(X, y, SinhPenalty(np.full(X.shape[1], a), np.zeros(X.shape[1])))
        assert r.success, (a, r.message)
        assert r.kkt_residual < 1e-12 and r.duality_gap < 1e-9 * max(1.0, abs(r.penalty))


def test_sinh_penalty_is_optimal_against_feasible_perturbations():
    X, y = _problem(seed=3)
    pen = SinhPenalty(np.full(X.shape[1], 0.05), np.linspace(-0.5, 0.5, X.shape[1]))
    r = minimize_penalty_interpolation(X, y, pen)
    null = np.linalg.svd(X)[2][X.shape[0]:]          # basis of the null space of X
    rng = np.random.default_rng(0)
    base = np.sum(pen.value(r.beta))
    for _ in range(20):
        other = r.beta + 1e-3 * null.T @ rng.standard_normal(null.shape[0])
        assert np.sum(pen.value(other)) > base


@pytest.mark.parametrize("seed", range(10))
def test_flat_dual_near_optimum_still_converges(seed):
    # regression: Armijo sees no ascent at machine precision near the optimum on these problems
    X, y, _ = make_regression(30, 60, 3, seed=seed)
    for a in (1e-1, 1e-3, 1e-6):
        r = minimize_penalty_interpolation(X, y, SinhPenalty(np.full(60, a * a / 2), np.zeros(60)), tol=1e-12)
        assert r.success, (seed, a, r.message, r.kkt_residual)


def test_q_function_is_accurate_for_small_and_large_z():
    with mpmath.workdps(40):
        for z in (1e-9, 1e-4, 0.3, 5.0, 1e6):
            exact = float(mpmath.mpf(z) * mpmath.asinh(z) - mpmath.sqrt(1 + mpmath.mpf(z) ** 2) + 1)
            assert abs(q_function(np.array(z)) - exact) <= 1e-14 * abs(exact)


def test_bad_input_names_the_parameter():
    X, y = _problem()
    d = X.shape[1]
    pen = SinhPenalty(np.ones(d), np.zeros(d))
    with pytest.raises(ValueError, match="^y:"):
        minimize_penalty_interpolation(X, y[:-1], pen)
    with pytest.raises(ValueError, match="^X:.*non-finite"):
        minimize_penalty_interpolation(np.where(X > 2, np.nan, X), y, pen)
    with pytest.raises(ValueError, match="^penalty:"):
        minimize_penalty_interpolation(X[:, :-1], y, pen)
    with pytest.raises(ValueError, match="^scale:"):
        SinhPenalty(np.zeros(d), np.zeros(d))
    with pytest.raises(ValueError, match="^tol:"):
        minimize_penalty_interpolation(X, y, pen, tol=-1)


def test_non_convergence_is_reported_not_hidden():
    X, y = _problem()
    r = minimize_penalty_interpolation(X, y, SinhPenalty(np.full(X.shape[1], 1e-8), np.zeros(X.shape[1])), max_iter=2)
    assert not r.success and "maximum number" in r.message and r.kkt_residual > 1e-12
