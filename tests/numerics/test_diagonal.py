"""Tests of numerics.diagonal: GD vs the implicit-bias minimiser, exact flow, limits, batching, errors.

Small problems (n = 10..30, d = 30..60), all seeded; the whole file runs in a few seconds.
"""
from __future__ import annotations

import numpy as np
import pytest

from ptft.numerics import diagonal as nd
from ptft.numerics.data import make_regression, make_regression_batch
from ptft.numerics.separable_dual import SinhPenalty


def rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


@pytest.fixture(scope="module")
def small():
    """n=10, d=30, 3-sparse teacher; a generic (u0, v0) with |u0| != |v0| and a nonzero phase."""
    X, y, _ = make_regression(10, 30, 3, seed=0)
    rng = np.random.default_rng(5)
    u0 = 1.0 + 0.2 * rng.random(30)
    v0 = 0.3 * rng.standard_normal(30)
    ref = nd.implicit_bias_solution(X, y, u0, v0, tol=1e-13)
    return X, y, u0, v0, ref


@pytest.fixture(scope="module")
def sparse_problem():
    """n=30, d=60, 3-sparse teacher: the min-l1 interpolator is unique and equals the teacher."""
    return make_regression(30, 60, 3, seed=1)


# --- GD against the implicit-bias minimiser -----------------------------------------------------

def test_gd_gap_is_first_order_in_lr(small):
    X, y, u0, v0, ref = small
    gaps = [rel(nd.simulate_gd(X, y, u0, v0, lr, tol=1e-12).beta, ref) for lr in (0.04, 0.02, 0.01)]
    assert gaps[0] > gaps[1] > gaps[2] > 0
    for big, half in zip(gaps, gaps[1:]):
        assert 1.5 <= big / half <= 2.5, gaps


def test_flow_equals_implicit_bias(small):
    X, y, u0, v0, ref = small
    fl = nd.simulate_flow(X, y, u0, v0, tol=1e-11)
    assert fl.converged and fl.success, fl.message
    assert fl.rel_residual <= 1.01e-11
    assert rel(fl.beta, ref) < 1e-7
    assert fl.nfev > 0 and fl.t > 0


def test_richardson_extrapolation_reaches_flow_limit(small):
    X, y, u0, v0, ref = small
    ex = nd.extrapolate_to_flow(X, y, u0, v0, [0.04, 0.02, 0.01, 0.005], tol=1e-13)
    assert ex.success, ex.message
    assert ex.betas.shape == (4, 30) and ex.converged.all()
    raw = rel(ex.betas[-1], ref)
    assert rel(ex.beta, ref) < 1e-6 < raw
    assert ex.error_estimate < 1e-4


def test_extrapolation_refuses_unconverged_runs(small):
    X, y, u0, v0, _ = small
    ex = nd.extrapolate_to_flow(X, y, u0, v0, [0.02, 0.01], max_steps=50)
    assert not ex.success and not ex.converged.any()
    assert np.all(np.isnan(ex.beta)) and "not extrapolated" in ex.message


# --- lazy and rich limits ------------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [10.0, 30.0])
def test_large_init_gives_min_l2(sparse_problem, alpha):
    X, y, _ = sparse_problem
    l2 = nd.min_l2_interpolator(X, y)
    assert rel(nd.implicit_bias_solution(X, y, alpha, 0.0), l2) < 1e-4
    lr = 0.5 / (nd.lambda_max(X) * alpha**2)
    r = nd.simulate_gd(X, y, alpha, 0.0, lr, tol=1e-10)
    assert r.success, r.message
    assert rel(r.beta, l2) < 1e-4


def test_small_init_gives_min_l1(sparse_problem):
    X, y, beta_star = sparse_problem
    l1 = nd.min_l1_interpolator(X, y)
    assert np.allclose(l1, beta_star, atol=1e-10)          # unique l1 solution = the teacher
    errs = [rel(nd.implicit_bias_solution(X, y, a, 0.0), l1) for a in (1e-6, 1e-8, 1e-10)]
    assert errs[0] < 1e-6 and errs[2] < errs[1] < errs[0]
    # plain GD from alpha = 1e-6 (only to a modest residual: the last phase of rich GD is slow)
    r = nd.simulate_gd(X, y, 1e-6, 0.0, 0.1, tol=1e-4)
    assert r.success, r.message
    assert rel(r.beta, l1) < 1e-3


def test_l1_l2_interpolators_interpolate(sparse_problem):
    X, y, _ = sparse_problem
    l1, l2 = nd.min_l1_interpolator(X, y), nd.min_l2_interpolator(X, y)
    assert np.linalg.norm(X @ l1 - y) < 1e-10 and np.linalg.norm(X @ l2 - y) < 1e-10
    assert np.abs(l1).sum() <= np.abs(l2).sum() and np.linalg.norm(l2) <= np.linalg.norm(l1)
    np.testing.assert_allclose(l2, np.linalg.pinv(X) @ y, atol=1e-12)


def test_l1_infeasible_raises():
    X = np.array([[1.0, 1.0], [1.0, 1.0]])
    with pytest.raises(RuntimeError, match="linprog"):
        nd.min_l1_interpolator(X, np.array([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="no solution"):
        nd.min_l2_interpolator(X, np.array([1.0, 2.0]))


# --- penalty and constants -----------------------------------------------------------------------

def test_flow_constants_and_penalty(small):
    X, y, u0, v0, ref = small
    c_abs, phi = nd.flow_constants(u0, v0)
    np.testing.assert_allclose(c_abs, np.abs(u0**2 - v0**2) / 2, rtol=1e-14)
    np.testing.assert_allclose(phi, np.arctanh(2 * u0 * v0 / (u0**2 + v0**2)), rtol=1e-12, atol=1e-15)
    pen = nd.implicit_bias_penalty(u0, v0)
    # the link reproduces beta(S) = u v of the closed-form flow
    S = 0.37
    u, v = u0 * np.cosh(S) + v0 * np.sinh(S), v0 * np.cosh(S) + u0 * np.sinh(S)
    np.testing.assert_allclose(pen.link(np.full(30, S)), u * v, rtol=1e-13)
    # the minimiser has the smallest penalty among interpolators
    q_ref = nd.penalty_value(ref, u0, v0)
    for other in (nd.min_l2_interpolator(X, y), nd.min_l1_interpolator(X, y)):
        assert q_ref < nd.penalty_value(other, u0, v0)
    res = nd.implicit_bias_dual(X, y, u0, v0)
    assert res.success and res.kkt_residual <= 1e-12 and np.isclose(res.penalty, q_ref, rtol=1e-9)


# --- two-pathway model ---------------------------------------------------------------------------

def test_two_pathway_gd_equals_uv_gd_with_doubled_lr(small):
    X, y, _, _, _ = small
    alpha, lr = 0.3, 0.05
    tp = nd.simulate_gd_two_pathway(X, y, alpha, lr, tol=1e-12)
    uv = nd.simulate_gd(X, y, 2 * alpha, 0.0, 2 * lr, tol=1e-12)
    assert tp.success and uv.success and tp.parametrization == "two_pathway"
    assert tp.steps == uv.steps
    np.testing.assert_allclose(tp.beta, uv.beta, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(tp.u + tp.v, uv.u, rtol=1e-10, atol=1e-13)      # u = w+ + w-
    np.testing.assert_allclose(tp.u - tp.v, uv.v, rtol=1e-10, atol=1e-13)      # v = w+ - w-
    # also step for step
    h_tp = nd.simulate_gd_two_pathway(X, y, alpha, lr, max_steps=40, record_every=10).history
    h_uv = nd.simulate_gd(X, y, 2 * alpha, 0.0, 2 * lr, max_steps=40, record_every=10).history
    np.testing.assert_allclose(h_tp, h_uv, rtol=1e-11)


@pytest.mark.parametrize("alpha", [0.05, 1.0])
def test_woodworth_penalty_minimiser_equals_uv_minimiser(small, alpha):
    X, y, _, _, _ = small
    b_w = nd.implicit_bias_solution_two_pathway(X, y, alpha)
    b_uv = nd.implicit_bias_solution(X, y, 2 * alpha, 0.0)
    assert rel(b_w, b_uv) < 1e-10
    # Q_alpha = 2 * SinhPenalty(2 alpha^2, 0)
    z = np.linspace(-3, 3, 30)
    np.testing.assert_allclose(nd.WoodworthPenalty(np.full(30, alpha)).value(z),
                               2 * SinhPenalty(np.full(30, 2 * alpha**2), 0.0).value(z), rtol=1e-12, atol=1e-15)


def test_two_pathway_gd_reaches_woodworth_minimiser(small):
    X, y, _, _, _ = small
    alpha = 0.5
    b_w = nd.implicit_bias_solution_two_pathway(X, y, alpha)
    gaps = [rel(nd.simulate_gd_two_pathway(X, y, alpha, lr, tol=1e-12).beta, b_w) for lr in (0.02, 0.01)]
    assert gaps[1] < gaps[0] < 1e-2
    assert 1.5 <= gaps[0] / gaps[1] <= 2.5


# --- batching ------------------------------------------------------------------------------------

def test_batched_design_equals_looped_runs_exactly():
    Xb, yb, _ = make_regression_batch(12, 30, 3, seeds=[0, 1, 2])
    u0 = np.array([1.0, 0.5, 2.0])[:, None] * np.ones(30)
    v0 = 0.1
    batch = nd.simulate_gd(Xb, yb, u0, v0, 0.02, tol=1e-10, record_every=50)
    assert batch.success and batch.beta.shape == (3, 30) and batch.converged.shape == (3,)
    assert len(set(batch.steps.tolist())) > 1           # runs froze at different steps
    for b in range(3):
        one = nd.simulate_gd(Xb[b], yb[b], u0[b], v0, 0.02, tol=1e-10, record_every=50)
        assert one.steps == batch.steps[b] and one.converged
        assert np.array_equal(one.beta, batch.beta[b]) and np.array_equal(one.u, batch.u[b])
        assert np.array_equal(one.v, batch.v[b]) and one.loss == batch.loss[b]
        T = one.history.shape[0]
        assert np.array_equal(one.history, batch.history[:T, b])
        assert np.all(batch.history[T:, b] == one.loss)  # frozen run repeats its final loss


def test_shared_design_batch_equals_looped_runs(small):
    X, y, _, _, _ = small
    u0 = np.array([[1.0], [0.3], [2.0], [0.7]]) * np.ones(30)
    batch = nd.simulate_gd(X, y, u0, 0.05, 0.02, tol=1e-10)
    assert batch.success and len(set(batch.steps.tolist())) > 1
    for b in range(4):
        one = nd.simulate_gd(X, y, u0[b], 0.05, 0.02, tol=1e-10)
        # GEMM vs GEMV rounding only (see simulate_gd Notes)
        assert one.steps == batch.steps[b]
        np.testing.assert_allclose(batch.beta[b], one.beta, rtol=1e-12, atol=1e-14)
    # a frozen run's result does not depend on its companions
    sub = nd.simulate_gd(X, y, u0[[0, 2]], 0.05, 0.02, tol=1e-10)
    assert np.array_equal(sub.steps, batch.steps[[0, 2]])
    np.testing.assert_allclose(sub.beta, batch.beta[[0, 2]], rtol=1e-12, atol=1e-14)


def test_batched_y_shared_X(small):
    X, y, u0, v0, _ = small
    Y = np.stack([y, 2 * y])
    batch = nd.simulate_gd(X, Y, u0, v0, 0.02, tol=1e-10)
    one = nd.simulate_gd(X, 2 * y, u0, v0, 0.02, tol=1e-10)
    np.testing.assert_allclose(batch.beta[1], one.beta, rtol=1e-12, atol=1e-14)


# --- reporting and errors ------------------------------------------------------------------------

def test_non_convergence_is_reported_not_raised(small):
    X, y, u0, v0, _ = small
    r = nd.simulate_gd(X, y, u0, v0, 0.02, max_steps=5)
    assert r.converged is False and r.success is False and r.steps == 5
    assert "did not converge" in r.message and isinstance(r.loss, float)
    rb = nd.simulate_gd(X, np.stack([y, y]), u0, v0, 0.02, max_steps=3)
    assert not rb.success and rb.converged.tolist() == [False, False] and "2 of 2" in rb.message
    r0 = nd.simulate_gd(X, y, u0, v0, 0.02, max_steps=0, record_every=1)
    assert r0.steps == 0 and r0.history.shape == (1,)
    np.testing.assert_array_equal(r0.beta, u0 * v0)


def test_history_records_loss(small):
    X, y, u0, v0, _ = small
    r = nd.simulate_gd(X, y, u0, v0, 0.02, max_steps=100, record_every=10)
    assert r.history.shape == (11,) and r.history_steps.tolist() == list(range(0, 101, 10))
    assert np.isclose(r.history[0], np.sum((X @ (u0 * v0) - y) ** 2) / (2 * 10))
    assert np.all(np.diff(r.history) < 0)
    assert nd.simulate_gd(X, y, u0, v0, 0.02, max_steps=10).history is None


def test_divergence_raises_naming_lr(small):
    X, y, _, _, _ = small
    # passes the curvature check at init (tiny init) but diverges once beta has grown
    with pytest.raises(ValueError, match=r"^lr: .*diverged at step \d+"):
        nd.simulate_gd(X, y, 0.1, 0.0, 10.0, max_steps=10_000)


def _bad(match, fn, *args, **kw):
    with pytest.raises(ValueError, match=match):
        fn(*args, **kw)


def test_bad_inputs_name_the_parameter(small):
    X, y, u0, v0, _ = small
    gd = nd.simulate_gd
    _bad("^y:", gd, X, y[:-1], u0, v0, 0.01)
    _bad("^u0:", gd, X, y, u0[:-1], v0, 0.01)
    _bad("^v0:", gd, X, y, u0, np.ones((2, 3, 30)), 0.01)
    _bad("^u0:.*batch size", gd, X, np.ones((3, 10)), np.ones((2, 30)), v0, 0.01)  # 2 vs 3
    Xn = X.copy()
    Xn[0, 0] = np.nan
    _bad("^X:.*non-finite", gd, Xn, y, u0, v0, 0.01)
    _bad("^y:.*non-finite", gd, X, np.full(10, np.inf), u0, v0, 0.01)
    _bad("^X:", gd, X[0], y, u0, v0, 0.01)
    _bad("^lr:", gd, X, y, u0, v0, 0.0)
    _bad("^lr:", gd, X, y, u0, v0, -1.0)
    _bad("^lr:.*curvature bound at initiali[sz]ation", gd, X, y, u0, v0, 10.0)
    _bad("^lr:.*run 1", gd, X, y, np.stack([u0, 10 * u0]), v0, 0.05)
    _bad("^tol:", gd, X, y, u0, v0, 0.01, tol=0.0)
    _bad("^tol:", gd, X, y, u0, v0, 0.01, tol=-1e-3)
    _bad("^max_steps:", gd, X, y, u0, v0, 0.01, max_steps=-1)
    _bad("^record_every:", gd, X, y, u0, v0, 0.01, record_every=1.5)
    _bad("^lr:", nd.simulate_gd_two_pathway, X, y, 1.0, 1.0)
    _bad("^alpha:", nd.simulate_gd_two_pathway, X, y, np.ones(7), 0.01)
    # |u0| == |v0| makes the implicit-bias penalty degenerate
    uv_bad = u0.copy()
    uv_bad[3] = -v0[3]
    for fn in (nd.implicit_bias_solution, nd.implicit_bias_dual, nd.simulate_flow):
        _bad(r"^u0, v0: \|u0\| == \|v0\|", fn, X, y, uv_bad, v0)
    _bad(r"^u0, v0:", nd.flow_constants, 1.0, 1.0)
    _bad(r"^u0, v0:", nd.penalty_value, np.ones(30), 0.5, -0.5)
    _bad("^tol:", nd.simulate_flow, X, y, u0, v0, tol=0)
    _bad("^tol:", nd.implicit_bias_solution, X, y, u0, v0, tol=-1.0)
    _bad("^alpha:", nd.implicit_bias_solution_two_pathway, X, y, 0.0)
    _bad("^lrs:", nd.extrapolate_to_flow, X, y, u0, v0, [0.01, -0.01])
    _bad("^y:", nd.min_l1_interpolator, X, y[:3])
