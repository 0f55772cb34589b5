"""A simulation or solver that stops before its tolerance says so: NotConvergedWarning with the residual."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from ptft.numerics import NotConvergedWarning
from ptft.numerics import diagonal as nd
from ptft.numerics import mtl as nm
from ptft.numerics import ptft as npf
from ptft.numerics.separable_dual import minimize_penalty_interpolation
from ptft.numerics.teacher_student import generalisation_errors


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 12))
    return X, X @ rng.standard_normal(12)


def _residual_in(message: str) -> float:
    m = re.search(r"relative residual ([0-9.eE+-]+) > tol = ", message)
    assert m, message
    return float(m.group(1))


def test_is_a_runtime_warning():
    assert issubclass(NotConvergedWarning, RuntimeWarning)


def test_too_short_gd_run_warns_with_its_residual(problem):
    X, y = problem
    with pytest.warns(NotConvergedWarning, match=r"simulate_gd did not converge: relative residual .* "
                                                 r"> tol = 1e-10 \(max_steps = 5 reached\)") as rec:
        r = nd.simulate_gd(X, y, np.full(12, 0.1), np.zeros(12), 0.01, max_steps=5)
    assert not r.converged
    assert _residual_in(str(rec[0].message)) == pytest.approx(r.rel_residual, rel=1e-2)
    assert rec[0].filename == __file__   # points at the caller, not into the package


def test_batched_run_counts_the_runs_that_stopped_early(problem):
    X, y = problem
    with pytest.warns(NotConvergedWarning, match=r"in 2 of 2 runs: worst relative residual") as rec:
        r = nd.simulate_gd_two_pathway(np.stack([X, X]), np.stack([y, 2 * y]), 0.1, 0.01, max_steps=4)
    assert _residual_in(str(rec[0].message)) == pytest.approx(np.max(r.rel_residual), rel=1e-2)


@pytest.mark.parametrize("run, name", [
    (lambda X, y: nm.simulate_mtl_gd(X, y, X, -y, 0.1, 0.01, max_steps=3), "simulate_mtl_gd"),
    (lambda X, y: npf.simulate_pretraining(X, y, 0.1, 0.01, max_steps=3), "two-pathway GD on (X_aux, y_aux)"),
    (lambda X, y: nd.simulate_flow(X, y, np.full(12, 0.1), np.zeros(12), t_max=1e-3), "simulate_flow"),
    (lambda X, y: minimize_penalty_interpolation(X, y, nd.implicit_bias_penalty(np.full(12, 0.1), np.zeros(12)),
                                                 max_iter=1), "minimize_penalty_interpolation"),
    (lambda X, y: nd.extrapolate_to_flow(X, y, np.full(12, 0.5), np.zeros(12), [0.02, 0.01], max_steps=5),
     "extrapolate_to_flow"),
])
def test_every_simulator_and_solver_warns(problem, run, name):
    X, y = problem
    with pytest.warns(NotConvergedWarning, match=re.escape(name) + " did not converge") as rec:
        r = run(X, y)
    assert not r.success and _residual_in(str(rec[0].message)) > 0
    assert len([w for w in rec if issubclass(w.category, NotConvergedWarning)]) == 1   # said once, not per run


def test_converged_runs_do_not_warn(problem):
    X, y = problem
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotConvergedWarning)
        assert nd.simulate_gd(X, y, np.full(12, 0.5), np.zeros(12), 0.05, tol=1e-6).converged
        assert nd.implicit_bias_dual(X, y, np.full(12, 0.5), np.zeros(12)).success


def test_callers_that_record_the_flag_do_not_repeat_the_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotConvergedWarning)
        out = generalisation_errors(20, 3, 3, 3, 10, 6, "mtl", [0], max_steps=2, theory=False)
    assert out["converged"] == [False] and np.isnan(out["gd_error"][0])
