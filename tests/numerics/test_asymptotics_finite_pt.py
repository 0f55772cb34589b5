"""Finite pretraining data in the RS equations (numerics.asymptotics, ``alpha_pt``; ``pretraining_error``)."""
from __future__ import annotations


import numpy as np
import pytest

from ptft.numerics import asymptotics as A
from ptft.numerics.data import gaussian_design
from ptft.numerics import dl_finite as F
from ptft.numerics.ptft import dl_pretraining_start, finetuning_penalty
from ptft.numerics.separable_dual import minimize_penalty_interpolation

TASK = A.task_from_overlap(0.2, 0.1, 0.5)
IV = dict(c_pt=1e-3, lambda_pt=0.0, gamma_ft=0.1)


@pytest.mark.parametrize("alpha_pt", [0.2, 0.5, 0.9])
def test_pretraining_lazy_limit_is_min_norm_error(alpha_pt):
    """c_PT -> oo: q_k ~ x^2/(4 c_PT), the min-l2 interpolator of a noiseless teacher; its error is the part of
    beta_PT outside the row space, (1 - alpha_pt) E[beta_PT^2] = (1 - alpha_pt) rho_PT A^2."""
    r = A.pretraining_error(c_pt=1e6, rho_pt=0.2, alpha_pt=alpha_pt, pt_amplitude=1.5)
    assert r.converged
    assert r.error == pytest.approx((1 - alpha_pt) * 0.2 * 1.5 ** 2, rel=1e-9)


def test_pretraining_closed_forms():
    assert A.pretraining_error(c_pt=1e-3, rho_pt=0.2, alpha_pt=1.0).error == 0.0
    assert A.pretraining_error(c_pt=1e-3, rho_pt=0.0, alpha_pt=0.3).error == 0.0


def test_pretraining_error_matches_finite_d_pretraining_minimiser():
    """RS pretraining error against the mean over seeds of the finite-d pretraining minimiser (the estimator of
    numerics.dl_finite with alpha_pt): d = 400, 24 seeds; pass within 4 s.e. + 0.005 (finite-size bias)."""
    d, alpha_pt, c_pt, rho_pt = 400, 0.4, 1e-2, 0.2
    rs = A.pretraining_error(c_pt=c_pt, rho_pt=rho_pt, alpha_pt=alpha_pt)
    errs = []
    for s in range(24):
        t = F.draw_task(d, rho_pt=rho_pt, rho_ft_shared=0.5, rho_ft_new=0.1, seed=s)
        X = gaussian_design(int(alpha_pt * d), d, 1000 + s, normalize="1/sqrt_d")
        r = minimize_penalty_interpolation(X, X @ t.beta_pt, finetuning_penalty(dl_pretraining_start(d, c_pt, 0.3)),
                                           tol=1e-10)
        assert r.success
        errs.append(np.mean((r.beta - t.beta_pt) ** 2))
    m, se = np.mean(errs), np.std(errs, ddof=1) / np.sqrt(len(errs))
    assert abs(m - rs.error) <= 4 * se + 0.005, (m, se, rs.error)
    assert rs.error > 10 * (4 * se + 0.005) / 4      # a non-trivial error, far from 0


def test_point_mass_moments_at_zero_mean_equal_the_gaussian_moments_with_zero_variance():
    """The two integrators agree where they overlap (B = 0): D, M and their derivatives."""
    theta0, theta, c = 0.07, 0.3, np.array([0.02, 0.5])
    pm = A._Model(prob=np.array([0.4, 0.6]), scale=c, var_b=np.zeros(2), names=("a", "b"), all_prob={},
                  all_scale={}, noise2=0.0, rho_ft=1.0, mean=np.zeros(2))
    gm = A._Model(prob=np.array([0.4, 0.6]), scale=c, var_b=np.zeros(2), names=("a", "b"), all_prob={},
                  all_scale={}, noise2=0.0, rho_ft=1.0)
    a, b = A._moments(pm, theta0, theta, 16), A._moments(gm, theta0, theta, 16)
    np.testing.assert_allclose([a.D, a.M, *a.dD, *a.dM], [b.D, b.M, *b.dD, *b.dM], rtol=1e-11, atol=1e-15)


def test_point_mass_moment_derivatives_match_finite_differences():
    m = A._pretraining_model(0.01, 0.2, 1.0)
    t0, t, h = 0.05, 0.2, 1e-6
    mom = A._moments(m, t0, t, 16)
    for i, (dt0, dt) in enumerate(((h * t0, 0.0), (0.0, h * t))):
        up, dn = A._moments(m, t0 + dt0, t + dt, 16), A._moments(m, t0 - dt0, t - dt, 16)
        step = 2 * (dt0 + dt)
        assert mom.dD[i] == pytest.approx((up.D - dn.D) / step, rel=1e-6)
        assert mom.dM[i] == pytest.approx((up.M - dn.M) / step, rel=1e-6)


def test_alpha_pt_at_least_one_is_the_oracle():
    o = A.generalization_error(**IV, **TASK, alpha_ft=0.25)
    r = A.generalization_error(**IV, **TASK, alpha_ft=0.25, alpha_pt=1.5)
    assert r.error == o.error and r.pretraining.error == 0.0 and r.converged


@pytest.mark.parametrize("kw", [dict(c_pt=1e-3, lambda_pt=-1.0, gamma_ft=0.3),     # k independent of beta_PT
                                dict(c_pt=1e6, lambda_pt=0.0, gamma_ft=0.0)])       # lazy: beta_PT/c_PT ~ 0
def test_finite_pretraining_is_irrelevant_where_k_ignores_beta_pt(kw):
    """lambda_PT = -1 makes sqrt k = gamma_FT^2 whatever beta_PT; c_PT -> oo makes k_d uniform: the sub-group
    mixture must then reproduce the oracle error (to quadrature and solver accuracy)."""
    o = A.generalization_error(**kw, **TASK, alpha_ft=0.3, noise=0.2)
    r = A.generalization_error(**kw, **TASK, alpha_ft=0.3, noise=0.2, alpha_pt=0.4)
    assert r.converged and r.pretraining.converged and r.pretraining.error > 0.01
    assert r.error == pytest.approx(o.error, rel=1e-8)


def test_finite_pretraining_changes_the_error_and_the_fixed_point_holds():
    alpha, noise, ridge = 0.5, 0.1, 0.02
    o = A.generalization_error(**IV, **TASK, alpha_ft=alpha, noise=noise, ridge=ridge)
    r = A.generalization_error(**IV, **TASK, alpha_ft=alpha, noise=noise, ridge=ridge, alpha_pt=0.5)
    assert r.converged and r.error > 1.5 * o.error
    model = A._prepare(IV["c_pt"], IV["lambda_pt"], IV["gamma_ft"], TASK["rho_pt"], TASK["rho_ft_shared"],
                       TASK["rho_ft_new"], noise, ridge, 1.0, 0.5, 8, 1e-10)[0]
    assert model.member is not None and abs(model.prob.sum() - 1) < 1e-12
    mom = A._moments(model, r.theta0, r.theta, 8)
    assert r.theta0 == pytest.approx((noise ** 2 + mom.M) / alpha, rel=1e-9)
    assert r.theta == pytest.approx(ridge + r.theta * mom.D / alpha, rel=1e-9)
    total = sum(r.group_probabilities[g] * r.group_errors[g] for g in A.GROUPS)
    assert total == pytest.approx(r.error, rel=1e-10)


def test_finite_pretraining_quadrature_converges():
    a = A.generalization_error(**IV, **TASK, alpha_ft=0.25, alpha_pt=0.5, nodes=8)
    b = A.generalization_error(**IV, **TASK, alpha_ft=0.25, alpha_pt=0.5, nodes=16)
    assert a.error == pytest.approx(b.error, rel=1e-8)


def test_curve_accepts_alpha_pt():
    c = A.generalization_error_curve([0.2, 0.4], **IV, **TASK, alpha_pt=0.5)
    for a, e in zip((0.2, 0.4), c.error):
        assert e == pytest.approx(A.generalization_error(**IV, **TASK, alpha_ft=a, alpha_pt=0.5).error, rel=1e-7)


@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_alpha_pt_names_the_parameter(value):
    with pytest.raises(ValueError, match="^alpha_pt"):
        A.generalization_error(**IV, **TASK, alpha_ft=0.25, alpha_pt=value)
    with pytest.raises(ValueError, match="^alpha_pt"):
        A.pretraining_error(c_pt=1e-3, rho_pt=0.2, alpha_pt=value)


def test_vectorised_grid_equals_the_per_group_grid():
    """The sub-group grid (``_make_grid_many``) integrates as the per-group one (``_make_grid``)."""
    from dataclasses import replace

    model = A._prepare(IV["c_pt"], IV["lambda_pt"], IV["gamma_ft"], TASK["rho_pt"], TASK["rho_ft_shared"],
                       TASK["rho_ft_new"], 0.1, 0.0, 1.0, 0.5, 8, 1e-10)[0]
    loop = replace(model, member=None)
    for t0, t in [(0.05, 0.3), (0.5, 0.01), (1e-3, 1.0)]:
        a, b = A._moments(model, t0, t, 8), A._moments(loop, t0, t, 8)
        np.testing.assert_allclose([a.D, a.M, *a.dD, *a.dM], [b.D, b.M, *b.dD, *b.dM], rtol=1e-12)
