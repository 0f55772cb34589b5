"""[SBG] linear teachers: closed forms against direct computation, balanced factorisations, GD result objects."""
import math
import warnings

import numpy as np
import pytest

from ptft.numerics import linear_teachers as lt
from ptft.numerics.validation import NotConvergedWarning


def _problem(seed=0, n=6, d=30, alpha=2.0):
    rng = np.random.default_rng(seed)
    ts = rng.standard_normal(d) / np.sqrt(d)
    tt = alpha * ts + 0.3 * rng.standard_normal(d) / np.sqrt(d)
    X = rng.standard_normal((n, d))
    return X, X @ tt, ts, tt


def test_finetune_limit_is_closest_interpolator():
    X, y, ts, _ = _problem()
    w = lt.finetune_limit(X, y, ts)
    assert np.allclose(X @ w, y, atol=1e-12)
    # closest to theta_S: w - theta_S is in the row space of X (orthogonal to the null space)
    null = np.linalg.svd(X)[2][X.shape[0]:]
    assert np.max(np.abs(null @ (w - ts))) < 1e-12
    # against the explicit projector formula
    P = np.linalg.pinv(X) @ X
    assert np.allclose(w, ts + P @ (np.linalg.pinv(X) @ y - ts), atol=1e-12)


def test_population_risk_matrix_diagonal_identity_and_batch():
    rng = np.random.default_rng(1)
    th, tt = rng.standard_normal((3, 5)), rng.standard_normal(5)
    lam = rng.random(5) + 0.1
    full = np.diag(lam)
    r_diag = lt.population_risk(th, tt, lam, noise=0.5)
    r_full = lt.population_risk(th, tt, full, noise=0.5)
    direct = np.array([(t - tt) @ full @ (t - tt) + 0.25 for t in th])
    assert np.allclose(r_diag, direct) and np.allclose(r_full, direct)
    assert lt.population_risk(th[0], tt) == pytest.approx(float(np.sum((th[0] - tt) ** 2)))


def test_expected_risk_closed_form_values_and_limits():
    d = 20
    ts, tt = np.ones(d) / np.sqrt(d), np.zeros(d)
    assert lt.expected_risk(0, d, ts, tt) == pytest.approx(1.0)
    assert lt.expected_risk(5, d, ts, tt) == pytest.approx(0.75)
    assert lt.expected_risk(5, d, ts, tt, noise=1.0) == pytest.approx(0.75 + 1 + 5 / 14)
    assert lt.expected_risk(30, d, ts, tt, noise=1.0) == pytest.approx(1 + 20 / 9)
    assert lt.expected_risk(30, d, ts, tt) == 0.0
    assert math.isinf(lt.expected_risk(19, d, ts, tt, noise=0.1))


def test_sample_complexity_inverts_the_isotropic_risk():
    d, m, eps = 100, 0.1, 0.05
    n = lt.sample_complexity_isotropic(eps, d, m)
    ts, tt = np.zeros(d), np.full(d, np.sqrt(m / d))
    assert lt.expected_risk(n, d, ts, tt) <= eps < lt.expected_risk(n - 1, d, ts, tt)
    assert lt.sample_complexity_isotropic(0.2, d, m) == 0


def test_deterministic_equivalent_isotropic_reduces_to_closed_form():
    d, n = 200, 50
    delta = np.random.default_rng(2).standard_normal(d) / np.sqrt(d)
    r = lt.expected_risk_deterministic(n, np.ones(d), delta, noise=0.5)
    assert r.success and r.kappa == pytest.approx(d / n - 1)
    assert r.bias == pytest.approx((1 - n / d) * delta @ delta)
    assert r.variance == pytest.approx(0.25 * n / (d - n))
    lam = lt.power_law_spectrum(d, 1.5)
    assert lam.sum() == pytest.approx(d) and np.all(np.diff(lam) < 0)


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 7, 8])
def test_deep_linear_limit_satisfies_conservation_law(depth):
    X, y, ts, _ = _problem(depth)
    r = lt.deep_linear_limit(X, y, ts, depth)
    assert r.success
    assert np.allclose(X @ r.w, y, atol=1e-10)
    P = np.linalg.pinv(X) @ X
    perp = ts - P @ ts
    assert np.allclose(r.w - P @ r.w, r.c * perp, atol=1e-12)
    if depth > 1:   # c = (||w|| / ||theta_S||)^((N-1)/N)
        assert r.c == pytest.approx((np.linalg.norm(r.w) / np.linalg.norm(ts)) ** ((depth - 1) / depth), rel=1e-12)


def test_deep_linear_limit_depth_one_is_finetune_limit_and_infinite_depth():
    X, y, ts, _ = _problem(3)
    assert np.allclose(lt.deep_linear_limit(X, y, ts, 1).w, lt.finetune_limit(X, y, ts), atol=1e-13)
    inf = lt.deep_linear_limit(X, y, ts, math.inf)
    P = np.linalg.pinv(X) @ X
    assert inf.c == pytest.approx(np.linalg.norm(P @ (np.linalg.pinv(X) @ y)) / np.linalg.norm(P @ ts))
    # depth 8 lies between depth 1 and infinity in c
    c8 = lt.deep_linear_limit(X, y, ts, 8).c
    assert min(1.0, inf.c) < c8 < max(1.0, inf.c)
    # zero labels: the nonzero root
    z = lt.deep_linear_limit(X, np.zeros(X.shape[0]), ts, 3)
    assert z.c == pytest.approx((np.linalg.norm(ts - P @ ts) / np.linalg.norm(ts)) ** 2)


@pytest.mark.parametrize("depth", [1, 2, 4, 8])
def test_balanced_factorisation_product_and_balance(depth):
    ts = np.random.default_rng(4).standard_normal(12)
    Ws = lt.balanced_factorisation(ts, depth, 50, seed=9)
    assert Ws[0].shape == ((50 if depth > 1 else 1), 12) and Ws[-1].shape[0] == 1
    prod = Ws[0]
    for W in Ws[1:]:
        prod = W @ prod
    assert np.allclose(prod[0], ts, atol=1e-13)
    for j in range(depth - 1):
        assert np.allclose(Ws[j + 1].T @ Ws[j + 1], Ws[j] @ Ws[j].T, atol=1e-13)
    assert np.array_equal(lt.balanced_factorisation(ts, depth, 50, seed=9)[0], Ws[0])


def test_deep_gd_approaches_limit_and_batches():
    X, y, ts, _ = _problem(5, n=4, d=20)
    lim = lt.deep_linear_limit(X, y, ts, 3)
    start = lt.stack_weights([lt.balanced_factorisation(ts, 3, 10, seed=s) for s in range(2)])
    lam = np.linalg.eigvalsh(X @ X.T / 4)[-1]
    lr = 0.1 / (3 * lam * max(np.linalg.norm(ts), np.linalg.norm(lim.w)) ** (4 / 3))
    r = lt.simulate_deep_linear_gd(X, y, start, lr, tol=1e-11)
    assert r.success and r.w.shape == (2, 20) and np.all(r.residual <= 1e-11)
    gap = np.linalg.norm(r.w - lim.w, axis=1) / np.linalg.norm(lim.w)
    assert np.all(gap < 2e-3)                          # O(lr) from the balancedness drift
    r2 = lt.simulate_deep_linear_gd(X, y, lt.balanced_factorisation(ts, 3, 10, seed=0), lr / 4, tol=1e-11)
    assert np.linalg.norm(r2.w - lim.w) / np.linalg.norm(lim.w) < gap[0] / 2   # the gap shrinks with lr


def test_deep_gd_not_converged_result_and_warning():
    X, y, ts, _ = _problem(6)
    with pytest.warns(NotConvergedWarning):
        r = lt.simulate_deep_linear_gd(X, y, lt.balanced_factorisation(ts, 2, 5, 0), 1e-4, max_steps=3)
    assert not r.converged and not r.success and r.steps == 3 and "max_steps" in r.message


def test_frozen_first_layer_ends_on_theta_s_line():
    X, y, ts, _ = _problem(7)
    lam = np.linalg.eigvalsh(X @ X.T / X.shape[0])[-1]
    pred = lt.frozen_first_layers_limit(X, y, ts)
    if pred @ ts < 0:          # keep the trainable product away from the saddle at 0
        y = -y
        pred = -pred
    r = lt.simulate_deep_linear_gd(X, y, lt.balanced_factorisation(ts, 3, 8, 1), 0.2 / (3 * lam), frozen=1,
                                   criterion="gradient", tol=1e-10)
    assert r.success and r.residual > 1e-3                   # cannot fit the data
    assert np.linalg.norm(r.w - pred) / np.linalg.norm(pred) < 1e-8


def test_relu_ntk_matches_empirical_kernel():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((4, 3))
    K = lt.relu_ntk(X)
    m = 200_000
    W, a = rng.standard_normal((m, 3)), rng.standard_normal(m)
    pre = X @ W.T
    feats = np.maximum(pre, 0)
    emp = feats @ feats.T / m + (X @ X.T) * (((pre > 0) * a ** 2) @ (pre > 0).T / m)
    assert np.allclose(K, emp, rtol=0.02, atol=0.02)
    assert np.allclose(K, K.T) and np.all(np.linalg.eigvalsh(K) > 0)


def test_relu_gd_symmetric_start_and_ntk_predictor_interpolates():
    rng = np.random.default_rng(9)
    X, Xte = rng.standard_normal((5, 3)), rng.standard_normal((7, 3))
    y = X @ np.array([1.0, -0.5, 0.2])
    net = lt.init_relu_network(3, 512, seed=1)
    assert np.allclose(lt.relu_forward(net, X), 0.0)
    f = lt.ntk_finetune_predictor(X, y, np.zeros(5), X, np.zeros(5))
    assert np.allclose(f, y, atol=1e-10)
    r = lt.simulate_relu_gd(X, y, net, 1.0 / np.linalg.eigvalsh(lt.relu_ntk(X))[-1], tol=1e-9)
    assert r.success and r.residual <= 1e-9
    ntk = lt.ntk_finetune_predictor(X, y, np.zeros(5), Xte, np.zeros(7))
    assert np.sqrt(np.mean((lt.relu_forward(r.network, Xte) - ntk) ** 2) / np.mean(ntk ** 2)) < 0.15


@pytest.mark.parametrize("call, name", [
    (lambda: lt.finetune_limit(np.ones((2, 3)), np.ones(3), np.ones(3)), "y"),
    (lambda: lt.finetune_limit(np.ones((2, 3)), np.ones(2), np.ones(4)), "theta_s"),
    (lambda: lt.population_risk(np.ones(3), np.ones(3), -np.ones(3)), "sigma"),
    (lambda: lt.population_risk(np.ones(3), np.ones(3), noise=-1), "noise"),
    (lambda: lt.expected_risk(-1, 3, np.ones(3), np.ones(3)), "n"),
    (lambda: lt.deep_linear_limit(np.ones((2, 3)), np.ones(2), np.ones(3), 9), "depth"),
    (lambda: lt.deep_linear_limit(np.ones((2, 3)), np.ones(2), np.ones(3), 0), "depth"),
    (lambda: lt.deep_linear_limit(np.ones((2, 3)), np.ones(2), np.zeros(3), 2), "theta_s"),
    (lambda: lt.balanced_factorisation(np.ones(3), 2, 0, 0), "width"),
    (lambda: lt.simulate_deep_linear_gd(np.ones((2, 3)), np.ones(2), [np.ones((1, 3))], -1.0), "lr"),
    (lambda: lt.simulate_deep_linear_gd(np.ones((2, 3)), np.ones(2), [np.ones((2, 3))], 0.1), "weights"),
    (lambda: lt.simulate_deep_linear_gd(np.ones((2, 3)), np.ones(2), [np.ones((1, 3))], 0.1, frozen=1), "frozen"),
    (lambda: lt.simulate_deep_linear_gd(np.ones((2, 3)), np.ones(2), [np.ones((1, 3))], 100.0), "lr"),
    (lambda: lt.init_relu_network(3, 5, 0), "width"),
    (lambda: lt.relu_ntk(np.zeros((2, 3))), "X1"),
    (lambda: lt.expected_risk_deterministic(10, np.ones(5), np.ones(5)), "n"),
])
def test_bad_input_names_parameter(call, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        with pytest.raises(ValueError, match=f"^{name}"):
            call()
