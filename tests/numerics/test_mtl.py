"""MTL in two-pathway diagonal networks: GD engine, l1,2 interpolator, and the GD-vs-l1,2 gap."""
import numpy as np
import pytest

from ptft.numerics.mtl import (group_lasso_interpolator, group_norm, mtl_gap_vs_alpha, shared_layer_gd,
                          simulate_mtl_gd)


def _task(seed, n, d, support):
    """Gaussian design and a noiseless teacher with +-1/sqrt(k) entries on ``support`` (local generator)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    b = np.zeros(d)
    b[support] = rng.choice([-1.0, 1.0], len(support)) / np.sqrt(len(support))
    return X, X @ b


def _mtl_problem(seed=0, d=40, n_aux=60, n_main=10):
    """Aux teacher on 8 coordinates, main teacher on 6 of them (signs drawn independently)."""
    supp = np.random.default_rng(seed).choice(d, 8, replace=False)
    Xa, ya = _task(10 * seed + 1, n_aux, d, supp)
    Xm, ym = _task(10 * seed + 2, n_main, d, supp[:6])
    return Xm, ym, Xa, ya


def test_group_norm_values_and_shapes():
    assert group_norm([3.0, 0.0], [4.0, -2.0]) == pytest.approx(7.0)
    batch = group_norm(np.array([[3.0], [1.0]]), np.array([[4.0], [0.0]]))
    np.testing.assert_allclose(batch, [5.0, 1.0])
    with pytest.raises(ValueError, match="^beta_aux"):
        group_norm([1.0, 2.0], [1.0])


def test_group_lasso_interpolates_and_beats_random_feasible_points():
    Xm, ym, Xa, ya = _mtl_problem(seed=3, d=20, n_aux=8, n_main=5)
    gl = group_lasso_interpolator(Xm, ym, Xa, ya)
    assert gl.success and gl.status == "optimal"
    assert gl.residual_main < 1e-8 and gl.residual_aux < 1e-8
    assert gl.value == pytest.approx(gl.solver_value, rel=1e-7)
    # random feasible points: minimum-l2 solution plus null-space perturbations of every size
    rng = np.random.default_rng(0)
    bm0, ba0 = np.linalg.pinv(Xm) @ ym, np.linalg.pinv(Xa) @ ya
    Nm = np.linalg.svd(Xm)[2][Xm.shape[0]:].T
    Na = np.linalg.svd(Xa)[2][Xa.shape[0]:].T
    for scale in (0.0, 1e-3, 0.1, 1.0):
        for _ in range(50):
            bm = bm0 + scale * Nm @ rng.standard_normal(Nm.shape[1])
            ba = ba0 + scale * Na @ rng.standard_normal(Na.shape[1])
            assert group_norm(bm, ba) >= gl.value * (1 - 1e-9)
    # perturbing the optimum inside the feasible set cannot help either (local optimality)
    for _ in range(50):
        bm = gl.beta_main + 1e-4 * Nm @ rng.standard_normal(Nm.shape[1])
        ba = gl.beta_aux + 1e-4 * Na @ rng.standard_normal(Na.shape[1])
        assert group_norm(bm, ba) >= gl.value * (1 - 1e-9)


def test_engine_step_is_the_gradient_of_the_documented_loss():
    """One update equals ``w - lr dL/dw`` for L = (|r_main|^2 + |r_aux|^2) / (2 (n_main + n_aux))."""
    rng = np.random.default_rng(1)
    d, nm, na, lr = 6, 3, 5, 1e-3
    Xm, Xa = rng.standard_normal((nm, d)), rng.standard_normal((na, d))
    ym, ya = rng.standard_normal((1, nm)), rng.standard_normal((1, na))
    W = rng.standard_normal((6, 1, d))

    def loss(flat):
        wp, wm, vpm, vmm, vpa, vma = flat.reshape(6, d)
        rm = Xm @ (wp * vpm - wm * vmm) - ym[0]
        ra = Xa @ (wp * vpa - wm * vma) - ya[0]
        return (rm @ rm + ra @ ra) / (2 * (nm + na))

    flat = W.reshape(-1)
    eps = 1e-6
    grad = np.array([(loss(flat + eps * e) - loss(flat - eps * e)) / (2 * eps) for e in np.eye(flat.size)])
    o = shared_layer_gd([Xm, Xa], [ym, ya], W[0].copy(), W[1].copy(), [W[2].copy(), W[4].copy()],
                        [W[3].copy(), W[5].copy()], lr, 1, 1e-300)
    after = np.concatenate([o.w_plus[0], o.w_minus[0], o.v_plus[0][0], o.v_minus[0][0], o.v_plus[1][0],
                            o.v_minus[1][0]])
    np.testing.assert_allclose(after, flat - lr * grad, rtol=0, atol=1e-10)
    assert o.steps[0] == 1 and not o.converged[0]


def test_mtl_gd_gap_to_l12_minimum_is_positive_and_not_monotone_in_alpha():
    """GD lands *above* the l1,2 minimum (docs/differences.md), by an amount that is not monotone in alpha.

    Measured (d=40, n_aux=60, n_main=10, lr=0.3, tol=1e-4; min ||B||_1,2 = 3.58075):
    alpha = 1e-1: gap 0.0549; 3e-2: 0.0270; 1e-2: 0.0365; 1e-3: 0.0562; 1e-4: 0.0641 (tol 1e-5 changes
    these by < 1e-4). So shrinking alpha first brings GD closer to the l1,2 minimiser, then moves it away.
    """
    Xm, ym, Xa, ya = _mtl_problem()
    tab = mtl_gap_vs_alpha(Xm, ym, Xa, ya, [1e-1, 3e-2, 1e-3], lr=0.3, tol=1e-4)
    assert tab.converged.all()
    assert tab.group_norm_min == pytest.approx(3.58075, rel=1e-5)
    for r in tab.results:
        assert r.residual_main <= 1e-4 and r.residual_aux <= 1e-4
    assert np.all(tab.group_norm_gd >= tab.group_norm_min)
    # regression values from the table above; 2e-3 covers the O(tol) uncertainty of the endpoints
    np.testing.assert_allclose(tab.gap, [0.0549, 0.0270, 0.0562], atol=2e-3)
    assert tab.gap[1] < tab.gap[0] and tab.gap[2] > tab.gap[1]
    assert "min ||B||_1,2" in str(tab)


def test_mtl_batched_equals_looped_and_is_deterministic():
    problems = [_mtl_problem(seed=s, d=20, n_aux=12, n_main=6) for s in range(3)]
    stack = [np.stack([p[i] for p in problems]) for i in range(4)]
    kw = dict(alpha=0.1, lr=0.3, tol=1e-6)
    batched = simulate_mtl_gd(*stack, **kw)
    assert batched.success and batched.converged.shape == (3,)
    steps = []
    for b, p in enumerate(problems):
        single = simulate_mtl_gd(*p, **kw)
        assert single.converged and single.steps == batched.steps[b]
        np.testing.assert_allclose(batched.beta_main[b], single.beta_main, rtol=0, atol=1e-11)
        np.testing.assert_allclose(batched.beta_aux[b], single.beta_aux, rtol=0, atol=1e-11)
        steps.append(single.steps)
    assert len(set(steps)) > 1          # runs really froze at different steps
    again = simulate_mtl_gd(*stack, **kw)
    np.testing.assert_array_equal(again.beta_main, batched.beta_main)
    np.testing.assert_array_equal(again.steps, batched.steps)
    # a shared design with batched targets is also accepted
    shared = simulate_mtl_gd(problems[0][0], stack[1][:1], problems[0][2], problems[0][3], **kw)
    np.testing.assert_allclose(shared.beta_main[0], simulate_mtl_gd(*problems[0], **kw).beta_main, atol=1e-11)


def test_mtl_nonconvergence_is_reported():
    Xm, ym, Xa, ya = _mtl_problem(d=20, n_aux=12, n_main=6)
    r = simulate_mtl_gd(Xm, ym, Xa, ya, alpha=0.1, lr=0.3, max_steps=10)
    assert not r.converged and not r.success and r.steps == 10
    assert "max_steps=10" in r.message
    assert r.residual_aux > 1e-6


def test_mtl_divergence_raises_naming_lr():
    Xm, ym, Xa, ya = _mtl_problem(d=20, n_aux=12, n_main=6)
    with pytest.raises(ValueError, match="^lr"):
        simulate_mtl_gd(Xm, ym, Xa, ya, alpha=1.0, lr=50.0, max_steps=1000)


@pytest.mark.parametrize("change, name", [
    (lambda a: dict(a, y_main=np.r_[a["y_main"][:-1], np.nan]), "y_main"),
    (lambda a: dict(a, X_aux=a["X_aux"][:, :-1]), "X_aux"),
    (lambda a: dict(a, y_aux=a["y_aux"][:-1]), "y_aux"),
    (lambda a: dict(a, X_main=np.stack([a["X_main"]] * 2), y_aux=np.stack([a["y_aux"]] * 3)), "y_aux"),
    (lambda a: dict(a, alpha=-0.1), "alpha"),
    (lambda a: dict(a, lr=0.0), "lr"),
    (lambda a: dict(a, max_steps=1.5), "max_steps"),
    (lambda a: dict(a, tol=np.nan), "tol"),
])
def test_mtl_bad_input_names_the_parameter(change, name):
    Xm, ym, Xa, ya = _mtl_problem(d=10, n_aux=6, n_main=4)
    args = dict(X_main=Xm, y_main=ym, X_aux=Xa, y_aux=ya, alpha=0.1, lr=0.1)
    with pytest.raises(ValueError, match=f"^{name}"):
        simulate_mtl_gd(**change(args))


def test_group_lasso_rejects_batches_and_bad_shapes():
    Xm, ym, Xa, ya = _mtl_problem(d=10, n_aux=6, n_main=4)
    with pytest.raises(ValueError, match="^X_main"):
        group_lasso_interpolator(np.stack([Xm, Xm]), ym, Xa, ya)
    with pytest.raises(ValueError, match="^y_main"):
        group_lasso_interpolator(Xm, ym[:-1], Xa, ya)
    with pytest.raises(ValueError, match="^alphas"):
        mtl_gap_vs_alpha(Xm, ym, Xa, ya, [0.1, -1.0], lr=0.1)


def test_conditional_penalty_is_accurate_where_the_direct_form_cancels():
    import mpmath

    from ptft.numerics.mtl import conditional_penalty

    for b, ba in ((1e-3, 1e2), (1.0, 1.0), (10.0, 1e-3), (0.0, 0.0), (-0.5, 2.0)):
        with mpmath.workdps(40):
            exact = float(mpmath.sqrt(mpmath.mpf(b) ** 2 + mpmath.mpf(ba) ** 2) - abs(mpmath.mpf(ba)))
        got = float(conditional_penalty(np.array([b]), np.array([ba]))[0])
        assert abs(got - exact) <= 1e-15 * max(abs(exact), 1e-300)


@pytest.mark.parametrize("shared_design", [False, True])
def test_gram_form_gives_the_direct_iterates(monkeypatch, shared_design):
    """Tasks with 2 n > d run through X^T X; iterates, step counts and residuals match the direct form."""
    import ptft.numerics.mtl as nm

    problems = [_mtl_problem(seed=s, d=30, n_aux=50, n_main=8) for s in range(3)]
    stack = [np.stack([p[i] for p in problems]) for i in range(4)]
    if shared_design:           # one auxiliary design shared by the batch, three target vectors
        stack[2] = problems[0][2]
        stack[3] = np.stack([problems[0][3], -problems[0][3], 0.5 * problems[0][3]])
    kw = dict(alpha=0.05, lr=0.2, tol=1e-4, max_steps=50_000)
    gram = simulate_mtl_gd(*stack, **kw)
    monkeypatch.setattr(nm, "GRAM_MIN_TOL", np.inf)              # force the direct form everywhere
    direct = simulate_mtl_gd(*stack, **kw)
    assert gram.success and direct.success
    np.testing.assert_array_equal(gram.steps, direct.steps)
    np.testing.assert_allclose(gram.beta_main, direct.beta_main, rtol=0, atol=1e-12)
    np.testing.assert_allclose(gram.beta_aux, direct.beta_aux, rtol=0, atol=1e-12)
    # reported residuals are the directly computed ones in both forms
    np.testing.assert_allclose(gram.residual_aux, direct.residual_aux, rtol=1e-9)
    assert np.all(gram.residual_aux <= 1e-4) and np.all(gram.residual_main <= 1e-4)


def test_gram_form_is_not_used_below_its_tolerance(monkeypatch):
    """With tol < GRAM_MIN_TOL every task uses the direct residual (the Gram estimate is too coarse)."""
    import ptft.numerics.mtl as nm

    used = []
    real = nm._TaskLoss.__init__

    def spy(self, X, y, gram):
        used.append(gram)
        real(self, X, y, gram)

    monkeypatch.setattr(nm._TaskLoss, "__init__", spy)
    Xm, ym, Xa, ya = _mtl_problem(d=30, n_aux=50, n_main=8)
    simulate_mtl_gd(Xm, ym, Xa, ya, alpha=0.05, lr=0.2, tol=1e-4, max_steps=10)
    assert used == [False, True]                 # main: 2 n <= d; aux: 2 n > d
    used.clear()
    simulate_mtl_gd(Xm, ym, Xa, ya, alpha=0.05, lr=0.2, tol=1e-9, max_steps=10)
    assert used == [False, False]
