"""numerics.blas: one BLAS thread inside small problems, the caller's setting restored, same numbers."""
import numpy as np
from threadpoolctl import threadpool_info

from ptft.numerics.blas import SMALL_PROBLEM_ROWS, single_thread_if_small
from ptft.numerics.separable_dual import minimize_penalty_interpolation
from ptft.numerics.ptft import dl_handoff_penalty


def _blas_threads():
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_small_problems_run_on_one_thread_and_the_setting_is_restored():
    before = _blas_threads()
    with single_thread_if_small(SMALL_PROBLEM_ROWS):
        assert all(t == 1 for t in _blas_threads())
    assert _blas_threads() == before
    with single_thread_if_small(SMALL_PROBLEM_ROWS + 1):
        assert _blas_threads() == before


def test_solver_answer_does_not_depend_on_the_thread_limit():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 120)) / np.sqrt(120)
    beta = np.zeros(120)
    beta[:8] = rng.normal(size=8)
    b_pt = np.where(rng.random(120) < 0.2, 1.0, 0.0)
    pen = dl_handoff_penalty(b_pt, 1e-3, 0.0, 0.1)
    a = minimize_penalty_interpolation(X, X @ beta, pen, tol=1e-12)
    from ptft.numerics.separable_dual import _minimize_penalty_interpolation
    b = _minimize_penalty_interpolation(X, X @ beta, pen, tol=1e-12)
    assert a.success and b.success
    np.testing.assert_allclose(a.beta, b.beta, rtol=0, atol=1e-12)
