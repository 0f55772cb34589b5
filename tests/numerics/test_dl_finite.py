"""Finite-size [DL] pipeline (numerics.dl_finite): tasks, the penalty minimiser, GD, error statistics."""
from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

from ptft.numerics import NotConvergedWarning
from ptft.numerics import dl_finite as df
from ptft.numerics.data import gaussian_design
from ptft.numerics.diagonal import min_l2_interpolator
from ptft.numerics.ptft import dl_finetuning_start, dl_handoff_penalty, dl_pretraining_start, simulate_finetuning
from ptft.numerics.sweeps import grid, run_sweep

STATS = dict(rho_pt=0.2, rho_ft_shared=0.5, rho_ft_new=0.05)          # rho_FT = 0.14, omega = 5/7
HANDOFF = dict(c_pt=0.05, lambda_pt=0.3, gamma_ft=0.2)


def _problem(d=120, n=40, seed=3, stats=STATS):
    t = df.draw_task(d, **stats, seed=seed)
    X = gaussian_design(n, d, seed + 100, normalize="1/sqrt_d")
    return t, X, X @ t.beta_ft


# ----------------------------------------------------------------------------------------------------
# tasks
# ----------------------------------------------------------------------------------------------------
def test_draw_task_is_deterministic_per_seed_and_differs_between_seeds():
    a, b = df.draw_task(500, **STATS, seed=7), df.draw_task(500, **STATS, seed=7)
    c = df.draw_task(500, **STATS, seed=8)
    for k in ("beta_pt", "beta_ft", "groups"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    assert not np.array_equal(a.beta_ft, c.beta_ft)
    assert not np.array_equal(a.groups, c.groups)


def test_draw_tasks_rows_equal_single_draws():
    batch = df.draw_tasks(300, **STATS, seeds=[4, 5, 6], groups="bernoulli", pt_signs="random")
    assert batch.beta_ft.shape == (3, 300) and batch.groups.shape == (3, 300)
    for b, s in enumerate([4, 5, 6]):
        one = df.draw_task(300, **STATS, seed=s, groups="bernoulli", pt_signs="random")
        np.testing.assert_array_equal(batch.beta_ft[b], one.beta_ft)
        np.testing.assert_array_equal(batch.beta_pt[b], one.beta_pt)
        np.testing.assert_array_equal(batch.run(b).groups, one.groups)


def test_exact_group_counts_and_teacher_supports():
    d = 1000
    t = df.draw_task(d, rho_pt=0.1, rho_ft_shared=0.3, rho_ft_new=0.02, seed=0)
    k_pt = 100
    np.testing.assert_array_equal(t.group_counts, [30, round(0.02 * 900), k_pt - 30, 900 - 18])
    pt_on, ft_on = np.isin(t.groups, (0, 2)), np.isin(t.groups, (0, 1))
    np.testing.assert_array_equal(t.beta_pt != 0, pt_on)
    np.testing.assert_array_equal(t.beta_ft != 0, ft_on)
    assert np.all(t.beta_pt[pt_on] == 1.0)                          # positive amplitude by default
    r = df.draw_task(d, rho_pt=0.1, rho_ft_shared=0.3, rho_ft_new=0.02, seed=0, pt_signs="random",
                     pt_amplitude=2.5)
    np.testing.assert_array_equal(r.beta_ft, t.beta_ft)             # the sign choice does not move beta_FT
    assert set(np.unique(r.beta_pt[pt_on])) == {-2.5, 2.5}


def test_bernoulli_group_fractions_and_unit_teacher_power():
    d, seeds = 20000, range(4)
    tasks = df.draw_tasks(d, **STATS, seeds=seeds, groups="bernoulli")
    p = tasks.group_probabilities
    frac = tasks.group_counts.sum(axis=0) / (d * len(seeds))
    sd = np.sqrt(p * (1 - p) / (d * len(seeds)))
    assert np.all(np.abs(frac - p) < 5 * sd), (frac, p)
    # E[beta_FT^2] = 1: nonzeros N(0, 1/rho_FT) on a fraction rho_FT; per coordinate var 3/rho_FT - 1
    m = np.mean(tasks.beta_ft ** 2)
    sd_m = np.sqrt((3 / tasks.rho_ft - 1) / (d * len(seeds)))
    assert abs(m - 1.0) < 5 * sd_m, m


def test_conditional_rates_round_trip_and_infeasible_statistics():
    sh, nw = df.conditional_rates(0.1, 0.1, 1.0)
    assert (sh, nw) == (pytest.approx(1.0), 0.0)
    sh, nw = df.conditional_rates(0.2, 0.14, 5 / 7)
    assert sh == pytest.approx(0.5) and nw == pytest.approx(0.05)
    assert df.overlap_form(0.2, 0.5, 0.05) == (pytest.approx(0.14), pytest.approx(5 / 7))
    with pytest.raises(ValueError, match="^omega:"):
        df.conditional_rates(0.05, 0.1, 1.0)                        # shared mass 0.1 > rho_pt


def test_design_of_a_smaller_alpha_is_a_prefix_and_labels_are_reproducible():
    t1, X1, y1 = df.draw_problem(200, 0.2, **STATS, seed=11)
    t2, X2, y2 = df.draw_problem(200, 0.45, **STATS, seed=11, noise=0.1)
    np.testing.assert_array_equal(t1.beta_ft, t2.beta_ft)
    np.testing.assert_array_equal(X2[:40], X1)
    np.testing.assert_allclose(X1 @ t1.beta_ft, y1, rtol=0, atol=0)
    assert 0 < np.std(y2 - X2 @ t2.beta_ft) < 0.2                 # the noise, with its own stream
    _, _, y3 = df.draw_problem(200, 0.45, **STATS, seed=11, noise=0.1)
    np.testing.assert_array_equal(y2, y3)


# ----------------------------------------------------------------------------------------------------
# the minimiser
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("handoff", [HANDOFF, dict(c_pt=1e-3, lambda_pt=0.0, gamma_ft=0.0),
                                     dict(c_pt=1e-3, lambda_pt=-0.99, gamma_ft=0.0),
                                     dict(c_pt=1e-6, lambda_pt=0.99, gamma_ft=0.0)])
def test_minimiser_interpolates_and_satisfies_kkt(handoff):
    t, X, y = _problem(d=300, n=90)
    r = df.finetune_minimiser(X, y, t.beta_pt, **handoff)
    assert r.converged and r.kkt_residual <= 1e-10
    assert np.linalg.norm(X @ r.beta - y) <= 1e-10 * np.linalg.norm(y)
    # KKT computed from beta alone: Q'(beta) = asinh(beta / a)/2 lies in the row space of X
    a = dl_handoff_penalty(t.beta_pt, **handoff).scale
    grad = 0.5 * np.arcsinh(r.beta / a)
    lam = np.linalg.lstsq(X.T, grad, rcond=None)[0]
    assert np.linalg.norm(X.T @ lam - grad) <= 1e-8 * np.linalg.norm(grad)
    # the dense float64 solver finds the same point
    dense = df.finetune_minimiser(X, y, t.beta_pt, **handoff, solver="newton-dense")
    np.testing.assert_allclose(r.beta, dense.beta, rtol=0, atol=1e-8 * np.max(np.abs(dense.beta)))


def test_minimiser_is_not_the_minimiser_of_another_penalty():
    """Discrimination: the KKT check above fails for a different k_d (so that test can fail)."""
    t, X, y = _problem(d=300, n=90)
    r = df.finetune_minimiser(X, y, t.beta_pt, **HANDOFF)
    a_wrong = dl_handoff_penalty(t.beta_pt, 0.05, -0.5, 0.2).scale
    grad = 0.5 * np.arcsinh(r.beta / a_wrong)
    lam = np.linalg.lstsq(X.T, grad, rcond=None)[0]
    assert np.linalg.norm(X.T @ lam - grad) > 1e-3 * np.linalg.norm(grad)


def test_minimiser_non_convergence_is_flagged_and_warned():
    t, X, y = _problem(d=300, n=90)
    with pytest.warns(NotConvergedWarning, match="finetune_minimiser did not converge"):
        r = df.finetune_minimiser(X, y, t.beta_pt, c_pt=1e-3, lambda_pt=0.0, gamma_ft=0.0, max_iter=1)
    assert not r.converged and r.kkt_residual > 1e-10


@pytest.mark.parametrize("c_pt, gamma_ft", [(1e3, 0.0), (1e-3, 100.0)])
def test_regime_III_is_the_min_l2_interpolator_with_error_one_minus_alpha(c_pt, gamma_ft):
    """Large c_PT or gamma_FT: sqrt(k_d) >= 4e3 on every coordinate, so q_k is the uniform l2 penalty up to
    relative O((beta/sqrt k)^2) ~ 1e-5 and the minimiser is X^+ y.

    Its error is ``||(I - P) beta_FT||^2 / d`` with ``P`` the projection on the row space of the isotropic
    design: given the teacher, ``E = (1 - n/d) mean(beta_FT^2)`` with relative standard deviation
    ``sqrt(2 alpha / ((1 - alpha)(d + 2)))`` (Beta((d-n)/2, n/2) law) = 0.029 at d = 1000, alpha = 0.3; the
    mean ratio over 4 seeds is tested to 4 of its standard deviations (0.058). Unconditionally E = 1 - alpha
    (E[beta_FT^2] = 1): with exact counts mean(beta_FT^2) has relative sd sqrt(2/(rho_FT d)) = 0.141 per seed
    (rho_FT = 0.1), 0.073 for the 4-seed mean with the projection noise; tested to 4 sd (0.29).
    """
    d, alpha, seeds = 1000, 0.3, range(4)
    kw = dict(rho_pt=0.1, rho_ft_shared=1.0, rho_ft_new=0.0)
    res = df.finite_d_error(d, alpha, c_pt=c_pt, lambda_pt=0.0, gamma_ft=gamma_ft, **kw, seeds=seeds)
    assert res.success
    ratios = []
    for i, s in enumerate(seeds):
        t, X, y = df.draw_problem(d, alpha, **kw, seed=s)
        r = df.finetune_minimiser(X, y, t.beta_pt, c_pt=c_pt, lambda_pt=0.0, gamma_ft=gamma_ft)
        l2 = min_l2_interpolator(X, y)
        assert np.linalg.norm(r.beta - l2) <= 1e-4 * np.linalg.norm(l2)
        assert res.errors[i] == pytest.approx(np.mean((r.beta - t.beta_ft) ** 2), rel=1e-10)
        ratios.append(res.errors[i] / ((1 - alpha) * np.mean(t.beta_ft ** 2)))
    assert abs(np.mean(ratios) - 1) < 4 * np.sqrt(2 * alpha / ((1 - alpha) * (d + 2))) / 2
    assert abs(res.mean / (1 - alpha) - 1) < 0.29
    assert res.ci95[0] < res.mean < res.ci95[1]


# ----------------------------------------------------------------------------------------------------
# gradient descent
# ----------------------------------------------------------------------------------------------------
def test_oracle_start_matches_gradient_descent_pretraining():
    """W = w+ + w- of GD pretraining from the [DL] init approaches the closed form as lr -> 0 (O(lr))."""
    d = 12
    rng = np.random.default_rng(5)
    b_pt = np.where(rng.random(d) < 0.4, rng.choice([-1.0, 1.0], d), 0.0)
    Xa = gaussian_design(3 * d, d, 6)
    ya = Xa @ b_pt
    lam_max = np.linalg.eigvalsh(Xa.T @ Xa)[-1] / Xa.shape[0]
    exact = df.dl_oracle_finetuning_start(b_pt, 0.2, 0.4, 0.3)
    ends = []
    for h in (0.1, 0.05):
        pt = simulate_finetuning(Xa, ya, dl_pretraining_start(d, 0.2, 0.4), h / lam_max, tol=1e-13,
                                 max_steps=500_000)
        st = dl_finetuning_start(pt.weights, 0.3)
        ends.append(st.w_plus)
        np.testing.assert_allclose(st.v_plus, exact.v_plus)
    gaps = [np.max(np.abs(w - exact.w_plus)) for w in ends]
    assert 0.4 < gaps[1] / gaps[0] < 0.6                                     # first order in lr
    richardson = np.max(np.abs(2 * ends[1] - ends[0] - exact.w_plus))
    # measured 7.7e-5; lambda_PT off by 1 % (0.396) moves W by 1.9e-3, which this bound rejects
    assert richardson < 3e-4


def test_gd_approaches_the_minimiser_at_first_order_in_lr():
    t, X, y = _problem(d=40, n=16)
    mn = df.finetune_minimiser(X, y, t.beta_pt, **HANDOFF, tol=1e-13)
    st = df.dl_oracle_finetuning_start(t.beta_pt, **HANDOFF)
    lr0 = df.gd_step_size(X, np.sqrt(st.M ** 2 + 4 * t.beta_ft ** 2), 0.2)
    ends = [df.finetune_gd(X, y, t.beta_pt, **HANDOFF, lr=lr0 * f, tol=1e-12, max_steps=200_000) for f in (1, 0.5)]
    assert all(e.converged for e in ends)
    gaps = [np.linalg.norm(e.beta - mn.beta) / np.linalg.norm(mn.beta) for e in ends]
    assert 1e-4 < gaps[0] < 1e-1
    assert 0.4 < gaps[1] / gaps[0] < 0.6                                     # first order in lr
    richardson = 2 * ends[1].beta - ends[0].beta
    assert np.linalg.norm(richardson - mn.beta) / np.linalg.norm(mn.beta) < 0.1 * gaps[1]


def test_batched_gd_equals_single_runs():
    probs = [_problem(d=40, n=16, seed=s) for s in (1, 2)]
    X = np.stack([p[1] for p in probs])
    y = np.stack([p[2] for p in probs])
    bpt = np.stack([p[0].beta_pt for p in probs])
    batch = df.finetune_gd(X, y, bpt, **HANDOFF, lr=0.5, tol=1e-8, max_steps=100_000)
    assert batch.beta.shape == (2, 40) and np.all(batch.converged)
    for b, (t, Xb, yb) in enumerate(probs):
        one = df.finetune_gd(Xb, yb, t.beta_pt, **HANDOFF, lr=0.5, tol=1e-8, max_steps=100_000)
        np.testing.assert_allclose(batch.beta[b], one.beta, rtol=0, atol=1e-12)


def test_gd_non_convergence_is_flagged_warned_and_excluded():
    with pytest.warns(NotConvergedWarning) as rec:
        res = df.finite_d_error(100, 0.3, **HANDOFF, **STATS, seeds=[0, 1], method="gd", max_steps=5)
    assert any("excluded from mean" in str(w.message) for w in rec)
    assert not res.success and res.n_converged == 0
    assert np.all(np.isfinite(res.errors)) and np.isnan(res.mean) and np.isnan(res.ci95[0])


# ----------------------------------------------------------------------------------------------------
# finite_d_error
# ----------------------------------------------------------------------------------------------------
def test_finite_d_error_is_reproducible_and_adds_up_by_group():
    kw = dict(**HANDOFF, **STATS, seeds=[0, 1, 2])
    a = df.finite_d_error(200, 0.3, **kw)
    b = df.finite_d_error(200, 0.3, **kw)
    np.testing.assert_allclose(a.errors, b.errors, rtol=1e-12)
    np.testing.assert_allclose(a.group_errors.sum(axis=1), a.errors, rtol=1e-12)
    assert a.success and a.n == 60 and len(a.seeds) == 3
    e = a.errors
    assert a.mean == pytest.approx(e.mean()) and a.sem == pytest.approx(e.std(ddof=1) / np.sqrt(3))
    half = 4.302653 * a.sem                                                   # t_{0.975, 2}
    assert a.ci95 == (pytest.approx(a.mean - half), pytest.approx(a.mean + half))
    one = df.finite_d_error(200, 0.3, **{**kw, "seeds": [1]})
    assert one.errors[0] == pytest.approx(a.errors[1], rel=1e-12)             # a seed's result is its own
    assert np.isnan(one.sem)


def test_gd_and_minimiser_errors_agree():
    kw = dict(**HANDOFF, **STATS, seeds=[0, 1])
    mn = df.finite_d_error(150, 0.3, **kw)
    gd = df.finite_d_error(150, 0.3, **kw, method="gd", lr_scale=0.25, tol=1e-8)
    assert gd.success
    np.testing.assert_allclose(gd.errors, mn.errors, rtol=2e-2)


def test_pretraining_with_enough_samples_is_the_oracle():
    kw = dict(**HANDOFF, **STATS, seeds=[0, 1])
    oracle = df.finite_d_error(150, 0.3, **kw)
    full = df.finite_d_error(150, 0.3, **kw, alpha_pt=1.2)
    np.testing.assert_allclose(full.errors, oracle.errors, rtol=1e-8)
    partial = df.finite_d_error(150, 0.3, **kw, alpha_pt=0.6)
    assert partial.success and not np.allclose(partial.errors, oracle.errors, rtol=1e-3)
    gd = df.finite_d_error(150, 0.3, **kw, alpha_pt=0.6, method="gd", lr_scale=0.25, tol=1e-8)
    np.testing.assert_allclose(gd.errors, partial.errors, rtol=2e-2)


def test_sweep_points_combine_into_the_batched_result(tmp_path):
    kw = dict(**HANDOFF, **STATS)
    pts = [dict(p, **kw) for p in grid(d=[120], alpha_ft=[0.25], seed=[0, 1, 2])]
    recs = run_sweep(df.finite_d_error_point, pts, cache_dir=tmp_path, progress=False)
    comb = df.combine_points(recs)
    direct = df.finite_d_error(120, 0.25, **kw, seeds=[0, 1, 2])
    np.testing.assert_allclose(comb.errors, direct.errors, rtol=1e-12)
    assert comb.mean == pytest.approx(direct.mean) and comb.ci95 == pytest.approx(direct.ci95)
    again = run_sweep(df.finite_d_error_point, pts, cache_dir=tmp_path, progress=False)     # from the cache
    np.testing.assert_allclose(df.combine_points(again).errors, direct.errors, rtol=1e-12)
    back = pickle.loads(pickle.dumps(direct))
    np.testing.assert_array_equal(back.errors, direct.errors)


# ----------------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------------
_OK = dict(c_pt=0.1, lambda_pt=0.0, gamma_ft=0.1, **STATS, seeds=[0])


@pytest.mark.parametrize("call, name", [
    (lambda: df.draw_task(0, **STATS, seed=0), "d"),
    (lambda: df.draw_task(10, rho_pt=1.5, rho_ft_shared=0.5, rho_ft_new=0.1, seed=0), "rho_pt"),
    (lambda: df.draw_task(10, rho_pt=0.5, rho_ft_shared=-0.1, rho_ft_new=0.1, seed=0), "rho_ft_shared"),
    (lambda: df.draw_task(10, rho_pt=0.5, rho_ft_shared=0.5, rho_ft_new=np.nan, seed=0), "rho_ft_new"),
    (lambda: df.draw_task(10, rho_pt=0.5, rho_ft_shared=0.0, rho_ft_new=0.0, seed=0), "rho_ft_shared"),
    (lambda: df.draw_task(10, **STATS, seed=None), "seed"),
    (lambda: df.draw_task(10, **STATS, seed=0, groups="binomial"), "groups"),
    (lambda: df.draw_task(10, **STATS, seed=0, pt_signs="negative"), "pt_signs"),
    (lambda: df.draw_task(10, **STATS, seed=0, pt_amplitude=0.0), "pt_amplitude"),
    (lambda: df.draw_tasks(10, **STATS, seeds=3), "seeds"),
    (lambda: df.draw_tasks(10, **STATS, seeds=[]), "seeds"),
    (lambda: df.finite_d_error(50, 0.0, **_OK), "alpha_ft"),
    (lambda: df.finite_d_error(50, 1.5, **_OK), "alpha_ft"),
    (lambda: df.finite_d_error(50, 0.001, **_OK), "alpha_ft"),
    (lambda: df.finite_d_error(50, 0.3, **{**_OK, "c_pt": 0.0}), "c_pt"),
    (lambda: df.finite_d_error(50, 0.3, **{**_OK, "lambda_pt": 1.2}), "lambda_pt"),
    (lambda: df.finite_d_error(50, 0.3, **{**_OK, "gamma_ft": -1.0}), "gamma_ft"),
    (lambda: df.finite_d_error(50, 0.3, **{**_OK, "lambda_pt": -1.0, "gamma_ft": 0.0}), "gamma_ft"),
    (lambda: df.finite_d_error(50, 0.3, **_OK, method="sgd"), "method"),
    (lambda: df.finite_d_error(50, 0.3, **_OK, noise=-0.1), "noise"),
    (lambda: df.finite_d_error(50, 0.3, **_OK, alpha_pt=0.0), "alpha_pt"),
    (lambda: df.finite_d_error(50, 0.3, **_OK, method="gd", lr=-1.0), "lr"),
    (lambda: df.finite_d_error(50, 0.3, **_OK, method="gd", lr_scale=2.5), "lr_scale"),
    (lambda: df.finite_d_error(50, 0.3, **_OK, solver="cg"), "solver"),
    (lambda: df.finite_d_error_point(50, 0.3, 1.5, **{k: v for k, v in _OK.items() if k != "seeds"}), "seed"),
    (lambda: df.finetune_minimiser(np.ones((3, 2)), np.ones(3), np.ones(2), **HANDOFF), "X"),
    (lambda: df.finetune_minimiser(np.ones((2, 3)), np.ones(3), np.ones(3), **HANDOFF), "y"),
    (lambda: df.finetune_minimiser(np.ones((2, 3)), np.ones(2), np.ones(4), **HANDOFF), "beta_pt"),
    (lambda: df.finetune_minimiser(np.eye(2, 3), np.ones(2), np.ones(3), **HANDOFF, precision="half"),
     "precision"),
    (lambda: df.finetune_gd(np.eye(2, 3), np.ones(2), np.ones(3), **HANDOFF, lr=0.0), "lr"),
    (lambda: df.finetune_gd(np.eye(2, 3), np.ones(2), np.ones(3), **HANDOFF, lr=1e3), "lr"),   # diverges
    (lambda: df.combine_points([]), "records"),
])
def test_bad_input_names_the_parameter(call, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        with pytest.raises(ValueError, match=f"^{name}:"):
            call()
