"""PT+FT in two-pathway diagonal networks: hand-off, exact finetuning bias vs GD, plotted approximation."""
import numpy as np
import pytest

from ptft.numerics.ptft import (PTFTResult, dl_finetuning_start, dl_handoff_penalty, dl_pretraining_start, TwoPathwayWeights, compare_ptft_penalties, finetuning_implicit_bias,
                           finetuning_penalty, finetuning_start, handoff_penalty, plotted_penalty,
                           plotted_penalty_minimiser, plotted_penalty_value, q_W, simulate_finetuning,
                           simulate_pretraining, simulate_ptft)


def _task(seed, n, d, support):
    """Gaussian design and a noiseless teacher with +-1/sqrt(k) entries on ``support`` (local generator)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    b = np.zeros(d)
    b[support] = rng.choice([-1.0, 1.0], len(support)) / np.sqrt(len(support))
    return X, X @ b


D = 30


def _problem(seed=0, n_aux=20, n_main=10):
    """Aux teacher on 6 coordinates, main teacher on 4 of them."""
    supp = np.random.default_rng(seed).choice(D, 6, replace=False)
    Xa, ya = _task(10 * seed + 1, n_aux, D, supp)
    Xm, ym = _task(10 * seed + 2, n_main, D, supp[:4])
    return Xm, ym, Xa, ya


@pytest.fixture(scope="module")
def pretrained():
    Xm, ym, Xa, ya = _problem()
    pt = simulate_pretraining(Xa, ya, alpha=0.1, lr=0.2, tol=1e-8)
    assert pt.converged, pt.message
    return Xm, ym, Xa, ya, pt


def test_flow_solution_is_a_sinh_link():
    """beta0 cosh 2S + (M/2) sinh 2S == a sinh(2S + phi) for random (signed) starts."""
    rng = np.random.default_rng(0)
    w = TwoPathwayWeights(*rng.standard_normal((4, 50)))
    pen = finetuning_penalty(w)
    S = rng.uniform(-2, 2, 50)
    np.testing.assert_allclose(pen.link(S), w.beta * np.cosh(2 * S) + 0.5 * w.M * np.sinh(2 * S),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pen.scale ** 2, w.M ** 2 / 4 - w.beta ** 2, rtol=1e-10)
    # near-degenerate start (w+ = v+, other branch tiny): a computed without cancellation
    tiny = TwoPathwayWeights(np.array([1.0]), np.array([1.0]), np.array([1e-9]), np.array([1e-9]))
    # a^2 = (M/2)^2 - beta0^2 = (1 + 1e-18)^2 - (1 - 1e-18)^2 = 4e-18: naive float64 evaluation gives 0
    assert finetuning_penalty(tiny).scale[0] == pytest.approx(2e-9, rel=1e-9)


def test_handoff_algebra():
    """sqrt k = 2a = sqrt(c^4 beta_aux^2 + 4 gamma^4), beta0 = c gamma sign(b) sqrt|b| (other branch 0)."""
    b = np.array([0.5, -0.2, 1e-3, -2.0])
    r = np.sqrt(np.abs(b))
    w = TwoPathwayWeights(np.where(b > 0, r, 0), np.where(b > 0, r, 0), np.where(b < 0, r, 0), np.where(b < 0, r, 0))
    for c, gamma in [(1.0, 0.1), (0.1, 0.3), (1e-2, 1.0), (2.0, 0.0)]:
        start = finetuning_start(w, c, gamma)
        np.testing.assert_allclose(start.v_plus, gamma)
        np.testing.assert_allclose(start.w_plus, c * w.w_plus)
        np.testing.assert_allclose(start.beta, c * gamma * np.sign(b) * r, atol=1e-15)
        pen = finetuning_penalty(start)
        np.testing.assert_allclose(2 * pen.scale, np.sqrt(c ** 4 * b ** 2 + 4 * gamma ** 4), rtol=1e-12)
        ideal = handoff_penalty(b, c, gamma)
        np.testing.assert_allclose(ideal.scale, pen.scale, rtol=1e-12)
        np.testing.assert_allclose(ideal.phase, pen.phase, rtol=1e-12, atol=1e-15)


def test_handoff_penalty_predicts_the_start_of_gd_pretrained_weights(pretrained):
    """With alpha > 0, handoff_penalty(beta_aux, c, gamma, alpha) equals the actual start's penalty up to
    the pretraining GD error (gradient-flow conservation w+^2 - v+^2 = 0 holds only to O(lr))."""
    *_, pt = pretrained
    start = finetuning_start(pt.weights, 1.0, 0.1)
    exact = finetuning_penalty(start)
    ideal = handoff_penalty(pt.beta, 1.0, 0.1, alpha=0.1)
    np.testing.assert_allclose(ideal.scale, exact.scale, rtol=2e-2)
    np.testing.assert_allclose(ideal.phase, exact.phase, atol=2e-2)


def test_finetuning_gd_matches_exact_bias_with_error_linear_in_lr(pretrained):
    """||beta_GD(lr) - beta_exact|| = O(lr). Measured (c=1, gamma=0.1): 9.90e-3 at lr 0.2, 4.93e-3 at 0.1,
    2.47e-3 at 0.05 (ratio 2.01, 2.00); the plotted approximation sits 0.126 away."""
    Xm, ym, _, _, pt = pretrained
    start = finetuning_start(pt.weights, 1.0, 0.1)
    ex = finetuning_implicit_bias(Xm, ym, start)
    assert ex.success and ex.kkt_residual <= 1e-10
    errs = []
    for lr in (0.2, 0.1):
        ft = simulate_finetuning(Xm, ym, start, lr=lr, tol=1e-11)
        assert ft.converged, ft.message
        errs.append(np.linalg.norm(ft.beta - ex.beta))
    assert errs[1] < 6e-3
    assert 1.8 < errs[0] / errs[1] < 2.2           # linear in lr
    pl = plotted_penalty_minimiser(Xm, ym, pt.beta, 0.1)
    assert np.linalg.norm(ft.beta - pl.beta) > 20 * errs[1]


def test_gamma_zero_is_not_degenerate(pretrained):
    """With v+- = 0 the readout gradients g w+- are non-zero, so GD moves and follows the exact bias."""
    Xm, ym, _, _, pt = pretrained
    start = finetuning_start(pt.weights, 1.0, 0.0)
    assert np.all(start.beta == 0)
    ft = simulate_finetuning(Xm, ym, start, lr=0.2, tol=1e-10)
    assert ft.converged and np.linalg.norm(ft.beta) > 0.1
    ex = finetuning_implicit_bias(Xm, ym, start)
    assert np.linalg.norm(ft.beta - ex.beta) < 1e-2      # measured 8.5e-3 (O(lr))
    # the truly degenerate case: gamma = 0 and a coordinate whose first layer is exactly 0
    dead = TwoPathwayWeights(np.array([1.0, 0.0]), np.array([1.0, 0.0]), np.array([0.0, 0.0]), np.array([0.0, 0.0]))
    with pytest.raises(ValueError, match="^gamma"):
        finetuning_start(dead, 1.0, 0.0)
    finetuning_start(dead, 1.0, 0.1)                      # fine with gamma > 0


def test_plotted_penalty_identities():
    """R_FT = sum K q_W(2 beta/K) = 4 SinhPenalty(K, 0); d/dbeta [K q_W(2 beta/K)] = 2 asinh(beta/K)."""
    rng = np.random.default_rng(2)
    b_aux, beta = rng.standard_normal(20), rng.standard_normal(20)
    gamma = 0.3
    K = np.abs(b_aux) + gamma ** 2
    pen = plotted_penalty(b_aux, gamma)
    assert plotted_penalty_value(beta, b_aux, gamma) == pytest.approx(4 * pen.value(beta).sum(), rel=1e-12)
    direct = np.sum(K * (2 - np.sqrt(4 + (2 * beta / K) ** 2) + (2 * beta / K) * np.arcsinh(beta / K)))
    assert plotted_penalty_value(beta, b_aux, gamma) == pytest.approx(direct, rel=1e-12)
    h = 1e-6
    fd = (K * q_W(2 * (beta + h) / K) - K * q_W(2 * (beta - h) / K)) / (2 * h)
    np.testing.assert_allclose(fd, 2 * np.arcsinh(beta / K), rtol=1e-6, atol=1e-8)
    # no cancellation at small z: q_W(z) ~ z^2 / 4
    assert q_W(1e-9) == pytest.approx(0.25e-18, rel=1e-6)
    with pytest.raises(ValueError, match="^gamma"):
        plotted_penalty(np.array([0.0, 1.0]), 0.0)


def test_compare_penalties_plotted_is_measurably_off(pretrained):
    """simulate_ptft + compare_ptft_penalties. Measured (alpha 0.1, c=1, gamma=0.3, lr_ft=0.1):
    ||GD - exact|| = 7.8e-3, ||GD - handoff|| = 8.9e-3, ||GD - plotted|| = 0.50."""
    Xm, ym, Xa, ya, _ = pretrained
    r = simulate_ptft(Xm, ym, Xa, ya, alpha=0.1, c=1.0, gamma=0.3, lr=0.2, lr_ft=0.1, tol=1e-8, tol_ft=1e-11)
    assert isinstance(r, PTFTResult) and r.success, r.message
    cmp = compare_ptft_penalties(Xm, ym, r)
    assert cmp.exact_distance < 1e-2 and cmp.handoff_distance < 1.5e-2
    assert cmp.plotted_distance == pytest.approx(0.5045, abs=0.02)
    assert cmp.plotted_distance > 30 * cmp.exact_distance
    assert "plotted" in str(cmp)


def test_ptft_batched_equals_looped_and_deterministic():
    problems = [_problem(seed=s, n_aux=12, n_main=6) for s in range(2)]
    stack = [np.stack([p[i] for p in problems]) for i in range(4)]
    kw = dict(alpha=0.2, c=0.5, gamma=0.2, lr=0.2, tol=1e-7)
    batched = simulate_ptft(*stack, **kw)
    assert batched.success and batched.converged.shape == (2,)
    for b, p in enumerate(problems):
        single = simulate_ptft(*p, **kw)
        assert single.success
        np.testing.assert_allclose(batched.beta_aux[b], single.beta_aux, rtol=0, atol=1e-11)
        np.testing.assert_allclose(batched.beta_main[b], single.beta_main, rtol=0, atol=1e-11)
        assert single.steps == (batched.steps[0][b], batched.steps[1][b])
    again = simulate_ptft(*stack, **kw)
    np.testing.assert_array_equal(again.beta_main, batched.beta_main)
    # one pretraining shared by a batch of main tasks
    shared = simulate_ptft(stack[0], stack[1], problems[0][2], problems[0][3], **kw)
    assert np.ndim(shared.beta_aux) == 1 and shared.beta_main.shape == (2, D)
    np.testing.assert_allclose(shared.beta_main[0], batched.beta_main[0], atol=1e-11)
    cmp = compare_ptft_penalties(stack[0], stack[1], batched)
    assert cmp.exact_distance.shape == (2,) and np.all(cmp.exact_distance < 0.05)


def test_nonconvergence_reported_and_not_used():
    Xm, ym, Xa, ya = _problem(n_aux=12, n_main=6)
    r = simulate_ptft(Xm, ym, Xa, ya, alpha=0.2, c=1.0, gamma=0.2, lr=0.2, tol=1e-6, max_steps_ft=3)
    assert r.pretraining.converged and not r.finetuning.converged and not r.success
    assert "finetuning" in r.message and "max_steps=3" in r.message
    with pytest.raises(ValueError, match="^result"):
        compare_ptft_penalties(Xm, ym, r)
    pt = simulate_pretraining(Xa, ya, alpha=0.2, lr=0.2, max_steps=2)
    assert not pt.converged and "max_steps=2" in pt.message


def test_divergence_raises_naming_lr():
    Xm, ym, Xa, ya = _problem(n_aux=12, n_main=6)
    with pytest.raises(ValueError, match="^lr"):
        simulate_pretraining(Xa, ya, alpha=1.0, lr=20.0, max_steps=1000)


@pytest.mark.parametrize("kw, name", [
    (dict(c=-1.0), "c"), (dict(c=0.0), "c"), (dict(gamma=-0.1), "gamma"), (dict(alpha=0.0), "alpha"),
    (dict(lr_ft=-1.0), "lr_ft"), (dict(y_main="nan"), "y_main"), (dict(X_aux="cols"), "X_aux"),
    (dict(y_aux="short"), "y_aux"),
])
def test_bad_input_names_the_parameter(kw, name):
    Xm, ym, Xa, ya = _problem(n_aux=12, n_main=6)
    args = dict(X_main=Xm, y_main=ym, X_aux=Xa, y_aux=ya, alpha=0.2, c=1.0, gamma=0.2, lr=0.2, max_steps=5)
    args.update(kw)
    if kw.get("y_main") == "nan":
        args["y_main"] = np.r_[ym[:-1], np.nan]
    if kw.get("X_aux") == "cols":
        args["X_aux"] = Xa[:, :-1]
    if kw.get("y_aux") == "short":
        args["y_aux"] = ya[:-1]
    with pytest.raises(ValueError, match=f"^{name}"):
        simulate_ptft(**args)


def test_weights_validation():
    w = TwoPathwayWeights(np.ones(3), np.ones(3), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="^weights"):
        finetuning_start(w, 1.0, 0.1)
    ok = TwoPathwayWeights(*np.ones((4, 3)))
    with pytest.raises(ValueError, match="^start"):
        finetuning_penalty(TwoPathwayWeights(*np.ones((4, 2, 3))))
    with pytest.raises(ValueError, match="^start"):
        simulate_finetuning(np.ones((2, 4)), np.ones(2), ok, lr=0.1)
    with pytest.raises(ValueError, match="^gamma"):
        finetuning_start(ok, 1.0, np.nan)


def test_dl_handoff_numerics_match_the_derivation():
    """dl_handoff_penalty is ptft.dl_handoff's Q (values), and the hand-off starts at beta0 = 0 with that M."""
    from ptft import theory
    d = theory.get("ptft.dl_handoff")
    Q = d.lambdify()
    rng = np.random.default_rng(4)
    b_pt = rng.normal(size=7)
    for c_pt, lam, gamma in ((0.1, 0.5, 0.3), (2.0, -0.9, 0.0), (1e-3, 1.0, 1.0)):
        pen = dl_handoff_penalty(b_pt, c_pt, lam, gamma)
        beta = rng.normal(size=7) * 2
        # SinhPenalty.value is Q up to the normalisation Q(0) = 0, which both satisfy
        np.testing.assert_allclose(pen.value(beta), [float(Q(b, bp, c_pt, lam, gamma)) for b, bp in zip(beta, b_pt)],
                                   rtol=1e-10, atol=1e-14)
    # weights: both branches at the [DL] init; after a hand-off beta0 = 0 and M = 2 (w+ + w-)^2 + gamma^2
    w = dl_pretraining_start((2, 5), 0.4, 0.25)
    assert w.w_plus.shape == (2, 5)
    np.testing.assert_allclose(w.w_plus ** 2 + w.v_plus ** 2, 0.4)
    np.testing.assert_allclose((w.w_plus ** 2 - w.v_plus ** 2) / 0.4, 0.25)
    np.testing.assert_array_equal(w.beta, 0.0)
    trained = TwoPathwayWeights(rng.normal(size=5), rng.normal(size=5), rng.normal(size=5), rng.normal(size=5))
    st = dl_finetuning_start(trained, 0.6)
    np.testing.assert_allclose(st.beta, 0.0, atol=1e-15)
    np.testing.assert_allclose(st.M, 2 * (trained.w_plus + trained.w_minus) ** 2 + 0.36)


@pytest.mark.parametrize("call, name", [
    (lambda: dl_pretraining_start(4, 0.1, 1.5), "lambda_pt"),
    (lambda: dl_pretraining_start(4, -0.1, 0.0), "c_pt"),
    (lambda: dl_handoff_penalty(np.ones(3), 0.1, -1.0, 0.0), "gamma"),
    (lambda: dl_handoff_penalty(np.array([1.0, np.nan]), 0.1, 0.0, 0.1), "beta_pt"),
    (lambda: dl_finetuning_start(TwoPathwayWeights(*(np.zeros(3) for _ in range(4))), 0.0), "gamma"),
])
def test_dl_handoff_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
