"""Helpers of the [DL] finding claims (verification/claims/anguita2026.py): the power-law fit of the finite-d
gap and the control-variate estimate of the finite-d mean error."""
import numpy as np
import pytest

from ptft.verification.claims.anguita2026 import _finite_d_gap, fit_power_law


def test_fit_power_law_recovers_exact_data():
    d = np.array([250.0, 500.0, 1000.0, 2000.0])
    gap = 0.004 * (d / 1000.0) ** -1.3
    f = fit_power_law(d, gap, np.full(d.size, 1e-4))
    assert f["p"] == pytest.approx(1.3, abs=1e-8)
    assert f["C"]["0"] == pytest.approx(0.004, rel=1e-8)
    assert f["chi2"] == pytest.approx(0.0, abs=1e-12) and f["dof"] == 2


def test_fit_power_law_shares_the_exponent_across_groups():
    d = np.array([250.0, 500.0, 1000.0] * 2)
    groups = ["a"] * 3 + ["b"] * 3
    gap = np.where(np.array(groups) == "a", 0.01, -0.002) * (d / 1000.0) ** -0.8
    f = fit_power_law(d, gap, np.full(d.size, 1e-4), groups=groups)
    assert f["p"] == pytest.approx(0.8, abs=1e-8)
    assert f["C"]["a"] == pytest.approx(0.01, rel=1e-8) and f["C"]["b"] == pytest.approx(-0.002, rel=1e-8)


def test_fit_power_law_error_bar_is_calibrated():
    """Monte Carlo: with Gaussian noise of the stated s.e., (p_hat - p)/p_se has spread ~1 (the claim's
    criterion p > 2 p_se relies on it)."""
    rng = np.random.default_rng(7)
    d = np.array([250.0, 500.0, 1000.0])
    truth = 0.01 * (d / 1000.0) ** -1.0
    sem = 0.15 * truth
    z = []
    for _ in range(300):
        f = fit_power_law(d, truth + sem * rng.standard_normal(d.size), sem)
        z.append((f["p"] - 1.0) / f["p_se"])
    z = np.array(z)
    assert abs(z.mean()) < 0.25 and 0.8 < z.std() < 1.25


@pytest.mark.parametrize("bad", [dict(sem=[1e-3, 0.0, 1e-3]), dict(d=[1.0, 2.0]), dict(sem=[1e-3, np.nan, 1e-3])])
def test_fit_power_law_rejects_bad_input(bad):
    kw = dict(d=[250.0, 500.0, 1000.0], gap=[3e-3, 2e-3, 1e-3], sem=[1e-4] * 3)
    kw.update(bad)
    with pytest.raises(ValueError):
        fit_power_law(**kw)


def test_finite_d_gap_control_variates_are_unbiased_and_sharp_in_the_lazy_regime():
    """Regime III (c_PT = 1e-3, lambda_PT = 0, gamma_FT = 10): the minimiser is nearly the l2 interpolator, so the
    control variates remove almost all variance, and the estimate agrees with the plain mean within its s.e."""
    init = dict(c_pt=1e-3, lambda_pt=0.0, gamma_ft=10.0)
    r = _finite_d_gap(200, 0.3, init, (0.1, 0.9, 0.0), list(range(12)), rs=0.0)
    assert r["variance_reduction"] > 1e3
    assert abs(r["mean"] - r["plain_mean"]) < 3 * r["plain_sem"]
    # the l2 interpolator's exact finite-d mean 1 - n/d (E ||beta_FT||^2/d = 1): the estimate is close to it
    assert abs(r["mean"] - (1 - 60 / 200)) < 5e-3
