"""numerics.best_initialisation: the initialisation minimising the RS finetuning error."""
from __future__ import annotations


import numpy as np
import pytest

from ptft.numerics import asymptotics as A
from ptft.numerics import best_initialisation as B

TASK = A.task_from_overlap(0.2, 0.1, 0.5)


@pytest.fixture(scope="module")
def result():
    return B.best_initialisation(**TASK, alpha_ft=0.25)


def test_representatives_are_those_of_the_figures():
    from ptft.paper_figures.dl_common import REGIMES

    assert set(B.REGIME_REPRESENTATIVES) == set(REGIMES)
    for name, (c, lam, g) in B.REGIME_REPRESENTATIVES.items():
        assert (c, lam, g) == (REGIMES[name].c_pt, REGIMES[name].lambda_pt, REGIMES[name].gamma_ft)


def test_transform_round_trip_and_clipping():
    x = B.to_transformed(3e-2, 0.4, 0.7)
    np.testing.assert_allclose(B.from_transformed(x), (3e-2, 0.4, 0.7), rtol=1e-14)
    lo = B.to_transformed(1e-3, -1.0, 0.0)
    assert lo[1] == -17.0 and lo[2] == -6.0
    assert B.to_transformed(1e9, 1.0, 1e9).tolist() == [2.0, 17.0, 2.0]


def test_optimum_beats_every_start_and_every_regime(result):
    r = result
    assert r.success and r.n_not_converged == 0
    assert all(r.error <= s["error"] * (1 + 1e-9) for s in r.starts)   # cold re-solve: RS accuracy ~1e-10
    assert all(r.error < e for e in r.regime_errors.values())
    # the regime errors are the RS errors at the representatives exactly as given
    for name, (c, lam, g) in B.REGIME_REPRESENTATIVES.items():
        e = A.generalization_error(c_pt=c, lambda_pt=lam, gamma_ft=g, **TASK, alpha_ft=0.25).error
        assert r.regime_errors[name] == pytest.approx(e, rel=1e-12)
    # and the reported error is the RS error at the reported x (cold solve)
    c, lam, g = r.x
    assert r.error == pytest.approx(A.generalization_error(c_pt=c, lambda_pt=lam, gamma_ft=g, **TASK,
                                                           alpha_ft=0.25).error, rel=1e-9)
    assert r.improvement > 1.2          # here the optimum is far better than the best named regime (IV)


def test_optimum_is_a_local_minimum_in_the_box(result):
    """No coordinate step of 0.05 (in the transformed variables) that stays in the box lowers the error by more
    than the solver's relative accuracy."""
    x, b = result.x_transformed, np.array(B.DEFAULT_BOUNDS)
    for i in range(3):
        for h in (-0.05, 0.05):
            xp = x.copy()
            xp[i] = np.clip(xp[i] + h, *b[i])
            if xp[i] == x[i]:
                continue
            c, lam, g = B.from_transformed(xp)
            e = A.generalization_error(c_pt=c, lambda_pt=lam, gamma_ft=g, **TASK, alpha_ft=0.25).error
            assert e >= result.error * (1 - 1e-8), (i, h, e, result.error)


def test_flat_objective_in_the_least_squares_branch():
    """alpha_ft > 1, ridge = 0: the interpolator is least squares whatever the initialisation, error
    noise^2/(alpha - 1)."""
    r = B.best_initialisation(**TASK, alpha_ft=1.5, noise=0.3)
    assert r.success and r.error == pytest.approx(0.09 / 0.5, rel=1e-14)
    assert all(e == pytest.approx(0.18, rel=1e-14) for e in r.regime_errors.values())


@pytest.mark.parametrize("kw, name", [(dict(bounds=((0, 1), (0, 1))), "bounds"),
                                      (dict(bounds=((1, 0), (-1, 1), (0, 1))), "bounds"),
                                      (dict(bounds=((-6, 2), (-20, 17), (-6, 2))), "bounds"),
                                      (dict(fd_step=0.0), "fd_step"), (dict(alpha_ft=-1.0), "alpha_ft"),
                                      (dict(rho_pt=1.5), "rho_pt"), (dict(noise=-1.0), "noise"),
                                      (dict(max_iter=0), "max_iter"), (dict(stationarity_tol=0.0), "stationarity_tol")])
def test_bad_input_names_the_parameter(kw, name):
    args = dict(TASK, alpha_ft=0.25)
    args.update(kw)
    with pytest.raises(ValueError, match=f"^{name}"):
        B.best_initialisation(**args)
