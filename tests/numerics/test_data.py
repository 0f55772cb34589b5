"""Tests of numerics.data: shapes, seeding, normalisations, teachers, errors."""
from __future__ import annotations

import numpy as np
import pytest

from ptft.numerics import data


def test_gaussian_design_normalisations():
    X = data.gaussian_design(40, 100, seed=0)
    assert X.shape == (40, 100)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 10.0, rtol=1e-13)
    raw = data.gaussian_design(40, 100, seed=0, normalize="none")
    # same underlying draw, rows only rescaled
    np.testing.assert_allclose(X, raw * (10.0 / np.linalg.norm(raw, axis=1, keepdims=True)), rtol=1e-13)
    small = data.gaussian_design(40, 100, seed=0, normalize="1/sqrt_d")
    np.testing.assert_allclose(small, raw / 10.0, rtol=1e-15)
    big = data.gaussian_design(200, 400, seed=3, normalize="1/sqrt_d")
    assert abs(big.var() * 400 - 1.0) < 0.02


def test_seeding_is_reproducible_and_local():
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    a = data.make_regression(20, 50, 5, seed=7)
    b = data.make_regression(20, 50, 5, seed=7)
    assert np.array_equal(np.random.get_state()[1], state)          # global state untouched
    for x, z in zip(a, b):
        assert np.array_equal(x, z)
    c = data.make_regression(20, 50, 5, seed=8)
    assert not np.array_equal(a.X, c.X) and not np.array_equal(a.beta_star, c.beta_star)
    # a Generator is accepted and consumed
    g1, g2 = np.random.default_rng(1), np.random.default_rng(1)
    assert np.array_equal(data.gaussian_design(5, 6, g1), data.gaussian_design(5, 6, g2))
    assert not np.array_equal(data.gaussian_design(5, 6, g1), data.gaussian_design(5, 6, np.random.default_rng(1)))


def test_teacher_does_not_depend_on_n():
    a = data.make_regression(10, 50, 5, seed=3)
    b = data.make_regression(30, 50, 5, seed=3)
    assert np.array_equal(a.beta_star, b.beta_star)


def test_sparse_teacher_defaults_and_options():
    b = data.sparse_teacher(100, 8, seed=0)
    nz = np.flatnonzero(b)
    assert nz.size == 8 and np.isclose(np.linalg.norm(b), 1.0)
    np.testing.assert_allclose(np.abs(b[nz]), 1 / np.sqrt(8))
    b2 = data.sparse_teacher(10, 3, support=[1, 4, 7], amplitude=[1.0, 2.0, 3.0], signs="negative")
    np.testing.assert_array_equal(b2[[1, 4, 7]], [-1.0, -2.0, -3.0])
    assert np.count_nonzero(b2) == 3
    b3 = data.sparse_teacher(10, 2, seed=1, support=[0, 9], signs=[1, -1], amplitude=0.5)
    np.testing.assert_array_equal(b3[[0, 9]], [0.5, -0.5])
    assert np.all(data.sparse_teacher(50, 50, seed=2, signs="positive") > 0)
    signs = np.sign(data.sparse_teacher(1000, 1000, seed=4))
    assert 400 < np.sum(signs > 0) < 600


def test_make_regression_labels_and_noise():
    X, y, beta = data.make_regression(15, 40, 4, seed=2)
    np.testing.assert_allclose(y, X @ beta, rtol=1e-14)
    noisy = data.make_regression(15, 40, 4, seed=2, noise=0.1)
    assert np.array_equal(noisy.X, X) and np.array_equal(noisy.beta_star, beta)
    r = noisy.y - X @ beta
    assert 0 < np.std(r) < 0.3 and noisy.noise == 0.1


def test_make_regression_batch_matches_single():
    batch = data.make_regression_batch(12, 30, 3, seeds=[5, 6, 7])
    X, y, beta = batch
    assert X.shape == (3, 12, 30) and y.shape == (3, 12) and beta.shape == (3, 30) and len(batch) == 3
    for i, s in enumerate([5, 6, 7]):
        single = data.make_regression(12, 30, 3, seed=s)
        assert np.array_equal(single.X, X[i]) and np.array_equal(single.y, y[i])
        assert np.array_equal(single.beta_star, beta[i])


@pytest.mark.parametrize("call, name", [
    (lambda: data.gaussian_design(0, 5, seed=0), "n"),
    (lambda: data.gaussian_design(5, 0, seed=0), "d"),
    (lambda: data.gaussian_design(5, 5, seed=0, normalize="unit"), "normalize"),
    (lambda: data.gaussian_design(5, 5, seed=1.5), "seed"),
    (lambda: data.sparse_teacher(5, 6, seed=0), "k"),
    (lambda: data.sparse_teacher(5, 0, seed=0), "k"),
    (lambda: data.sparse_teacher(5, 2, support=[1, 1]), "support"),
    (lambda: data.sparse_teacher(5, 2, support=[1, 5]), "support"),
    (lambda: data.sparse_teacher(5, 2, support=[1]), "support"),
    (lambda: data.sparse_teacher(5, 2, seed=0, amplitude=[1, 2, 3]), "amplitude"),
    (lambda: data.sparse_teacher(5, 2, seed=0, signs=[1, 0]), "signs"),
    (lambda: data.sparse_teacher(5, 2, seed=0, signs="up"), "signs"),
    (lambda: data.make_regression(0, 5, 1, seed=0), "n"),
    (lambda: data.make_regression(5, 5, 9, seed=0), "k"),
    (lambda: data.make_regression(5, 5, 1, seed=0, noise=-1.0), "noise"),
    (lambda: data.make_regression_batch(5, 5, 1, seeds=[]), "seeds"),
    (lambda: data.make_regression_batch(5, 5, 1, seeds=3), "seeds"),
])
def test_errors_name_the_parameter(call, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        call()
