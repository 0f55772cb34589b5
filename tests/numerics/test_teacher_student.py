"""Teacher-student cells of [LL]: learning-rate rule, divergence retry, determinism, input errors."""
import numpy as np
import pytest

from ptft.numerics import teacher_student as ts


def test_lr_is_a_quarter_of_the_stability_bound_at_the_teacher_scale():
    rng = np.random.default_rng(0)
    X1, X2 = rng.standard_normal((5, 12)), rng.standard_normal((9, 12))
    lam = np.linalg.eigvalsh(X1 @ X1.T)[-1] / 14 + np.linalg.eigvalsh(X2 @ X2.T)[-1] / 14
    b1, b2 = np.array([0.0, 0.5, -0.2]), np.array([0.3, -0.7, 0.0])
    S = ts._weight_scale(2, b1, b2)
    assert S == pytest.approx(2 * np.sqrt(2) * 0.7)
    assert ts._lr(S, (X1, 1 / 14), (X2, 1 / 14)) == pytest.approx(0.25 * 2 / (S * lam))
    assert ts._weight_scale(1, np.zeros(3)) == 1e-3              # an all-zero teacher does not give lr = inf


def test_divergence_is_retried_at_a_quarter_of_the_step_and_other_errors_propagate():
    calls = []

    def run(lr):
        calls.append(lr)
        if lr > 0.1:
            raise ValueError(f"lr: gradient descent diverged (run 0, step 3); reduce lr={lr:g}")
        return "ok"

    assert ts._with_retries(run, 1.0) == ("ok", 1.0 / 16)
    assert calls == [1.0, 0.25, 0.0625]
    with pytest.raises(ValueError, match="diverged"):
        ts._with_retries(run, 100.0)                              # still diverging after 2 retries

    def bad(lr):
        raise ValueError("X_main: wrong shape")

    with pytest.raises(ValueError, match="X_main"):
        ts._with_retries(bad, 1.0)


@pytest.mark.parametrize("method, c", [("single_task", 1.0), ("mtl", 1.0), ("ptft", 0.1)])
def test_cells_converge_and_are_deterministic(method, c):
    kw = dict(d=40, k_aux=4, k_main=2, shared=2, n_aux=30, n_main=10, method=method, seeds=[0, 1], c=c,
              max_steps=200_000)
    a, b = ts.generalisation_errors(**kw), ts.generalisation_errors(**kw)
    assert all(a["converged"]) and a == b
    assert np.all(np.isfinite(a["gd_error"])) and np.all(np.isfinite(a["theory_error"]))


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="method"):
        ts.generalisation_errors(40, 4, 2, 2, 30, 10, "finetune", [0])
    with pytest.raises(ValueError, match="shared"):
        ts.generalisation_errors(40, 4, 2, 3, 30, 10, "mtl", [0])
    with pytest.raises(ValueError, match="alpha"):
        ts.generalisation_errors(40, 4, 2, 2, 30, 10, "mtl", [0], alpha=-1.0)
