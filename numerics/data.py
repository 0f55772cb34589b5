"""Seeded synthetic data: Gaussian designs, sparse linear teachers and regression problems.

Every function takes ``seed`` (anything :func:`numpy.random.default_rng` accepts: an int, a
:class:`numpy.random.SeedSequence`, ``None`` for fresh entropy) or a :class:`numpy.random.Generator`,
and never touches NumPy's global random state. The same integer seed always gives the same numbers.

Conventions follow the teacher-student experiments of [LL] Lippl & Lindsey (NeurIPS 2024, arXiv:2310.02396):
Gaussian inputs rescaled so that every row has norm ``sqrt(d)``, noiseless labels, teachers with
``k`` nonzero coordinates of size ``1/sqrt(k)`` (so ``||beta*|| = 1``) and random signs.

Stream layout of :func:`make_regression` (so that results are reproducible and the teacher of a
seed does not depend on ``n``): the seed is split with ``SeedSequence.spawn`` into three independent
child streams, used for the design, the teacher and the label noise respectively.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence, Union

import numpy as np

from ptft.numerics.validation import check_int, check_nonnegative

__all__ = ["SeedLike", "NORMALIZATIONS", "RegressionData", "RegressionBatch", "as_generator",
           "gaussian_design", "sparse_teacher", "make_regression", "make_regression_batch"]

SeedLike = Union[None, int, np.integer, np.random.SeedSequence, np.random.Generator]

#: Accepted values of ``normalize`` in :func:`gaussian_design`.
NORMALIZATIONS = ("sqrt_d", "none", "1/sqrt_d")


def as_generator(seed: SeedLike) -> np.random.Generator:
    """``seed`` as a :class:`numpy.random.Generator` (a Generator is returned unchanged, not copied)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        raise ValueError("seed: legacy RandomState is not supported; pass an int or a numpy Generator")
    if isinstance(seed, (bool, float)):
        raise ValueError(f"seed: must be an int, a SeedSequence, a Generator or None, got {seed!r}")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"seed: cannot seed a generator from {seed!r} ({exc})") from None


def _spawn(seed: SeedLike, count: int) -> list[np.random.Generator]:
    """``count`` independent child generators of ``seed``."""
    rng = as_generator(seed)
    try:
        return list(rng.spawn(count))
    except (AttributeError, TypeError, ValueError):   # bit generator without a SeedSequence
        return [rng] * count                           # fall back to consuming one stream in order


def gaussian_design(n: int, d: int, seed: SeedLike, normalize: str = "sqrt_d") -> np.ndarray:
    """An ``(n, d)`` Gaussian design matrix.

    ``normalize``:
      * ``"sqrt_d"`` (default): i.i.d. ``N(0, 1)`` rows rescaled to Euclidean norm exactly ``sqrt(d)``
        (as in Lippl & Lindsey's experiments);
      * ``"none"``: i.i.d. ``N(0, 1)`` entries;
      * ``"1/sqrt_d"``: i.i.d. ``N(0, 1/d)`` entries (the proportional-limit convention of
        [DL] Anguita et al., arXiv:2602.20062).
    """
    n = check_int("n", n)
    d = check_int("d", d)
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize: must be one of {NORMALIZATIONS}, got {normalize!r}")
    X = as_generator(seed).standard_normal((n, d))
    if normalize == "sqrt_d":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        X *= np.sqrt(d) / norms
    elif normalize == "1/sqrt_d":
        X *= 1.0 / np.sqrt(d)
    return X


def sparse_teacher(
    d: int,
    k: int,
    seed: SeedLike = None,
    support: Sequence[int] | np.ndarray | None = None,
    amplitude: float | Sequence[float] | np.ndarray | None = None,
    signs: str | Sequence[float] | np.ndarray = "random",
) -> np.ndarray:
    """A ``k``-sparse teacher ``beta*`` in ``R^d``.

    Parameters
    ----------
    d, k : dimension and number of nonzero coordinates (``1 <= k <= d``).
    seed : random source for the support and the signs (unused if both are given).
    support : the ``k`` distinct indices of the nonzeros; default a uniformly random ``k``-subset
        (sorted).
    amplitude : magnitude of the nonzeros, a scalar or ``k`` values; default ``1/sqrt(k)`` so that
        ``||beta*|| = 1``.
    signs : ``"random"`` (independent fair +-1), ``"positive"``, ``"negative"``, or ``k`` values in
        ``{-1, +1}``.
    """
    d = check_int("d", d)
    k = check_int("k", k)
    if k > d:
        raise ValueError(f"k: the number of nonzeros ({k}) cannot exceed the dimension d = {d}")
    rng = None
    if support is None:
        rng = as_generator(seed)
        idx = np.sort(rng.choice(d, size=k, replace=False))
    else:
        idx = np.asarray(support)
        if idx.ndim != 1 or idx.shape[0] != k:
            raise ValueError(f"support: expected {k} indices, got shape {idx.shape}")
        if not np.issubdtype(idx.dtype, np.integer):
            if not np.all(np.isfinite(idx.astype(float))) or np.any(idx != np.round(idx)):
                raise ValueError("support: indices must be integers")
            idx = idx.astype(np.int64)
        if np.any(idx < 0) or np.any(idx >= d):
            raise ValueError(f"support: indices must lie in [0, {d})")
        if np.unique(idx).shape[0] != k:
            raise ValueError("support: indices must be distinct")
    if amplitude is None:
        amp = np.full(k, 1.0 / np.sqrt(k))
    else:
        amp = np.asarray(amplitude, dtype=np.float64)
        if amp.ndim == 0:
            amp = np.full(k, float(amp))
        if amp.shape != (k,):
            raise ValueError(f"amplitude: expected a scalar or {k} values, got shape {amp.shape}")
        if not np.all(np.isfinite(amp)):
            raise ValueError("amplitude: contains non-finite values")
    if isinstance(signs, str):
        if signs == "random":
            rng = as_generator(seed) if rng is None else rng
            sgn = np.where(rng.random(k) < 0.5, -1.0, 1.0)
        elif signs == "positive":
            sgn = np.ones(k)
        elif signs == "negative":
            sgn = -np.ones(k)
        else:
            raise ValueError(f"signs: must be 'random', 'positive', 'negative' or {k} values of +-1, got {signs!r}")
    else:
        sgn = np.asarray(signs, dtype=np.float64)
        if sgn.shape != (k,) or not np.all(np.abs(sgn) == 1.0):
            raise ValueError(f"signs: expected {k} values in {{-1, +1}}, got {signs!r}")
    beta = np.zeros(d)
    beta[idx] = sgn * amp
    return beta


@dataclass(frozen=True)
class RegressionData:
    """A regression problem ``y = X beta_star + noise * z``. Unpacks as ``X, y, beta_star = data``."""

    X: np.ndarray
    y: np.ndarray
    beta_star: np.ndarray
    noise: float = 0.0

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.X, self.y, self.beta_star))


@dataclass(frozen=True)
class RegressionBatch:
    """``B`` independent problems stacked: ``X`` (B, n, d), ``y`` (B, n), ``beta_star`` (B, d).

    Unpacks as ``X, y, beta_star = batch``; ``seeds`` are the per-problem seeds (row ``b`` equals
    ``make_regression(n, d, k, seeds[b], ...)``).
    """

    X: np.ndarray
    y: np.ndarray
    beta_star: np.ndarray
    seeds: tuple
    noise: float = 0.0

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.X, self.y, self.beta_star))

    def __len__(self) -> int:
        return self.X.shape[0]


def make_regression(
    n: int,
    d: int,
    k: int,
    seed: SeedLike,
    noise: float = 0.0,
    normalize: str = "sqrt_d",
    support: Sequence[int] | np.ndarray | None = None,
    amplitude: float | Sequence[float] | np.ndarray | None = None,
    signs: str | Sequence[float] | np.ndarray = "random",
) -> RegressionData:
    """Gaussian design (:func:`gaussian_design`), ``k``-sparse teacher (:func:`sparse_teacher`) and
    labels ``y = X beta* + noise * z`` with ``z ~ N(0, I_n)``.

    The design, teacher and noise use three independent child streams of ``seed``, so the teacher
    of a given seed is the same for every ``n``. Returns a :class:`RegressionData` (unpackable as
    ``X, y, beta_star``).
    """
    n = check_int("n", n)
    d = check_int("d", d)
    k = check_int("k", k)
    if k > d:
        raise ValueError(f"k: the number of nonzeros ({k}) cannot exceed the dimension d = {d}")
    noise = check_nonnegative("noise", noise)
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize: must be one of {NORMALIZATIONS}, got {normalize!r}")
    rng_x, rng_t, rng_e = _spawn(seed, 3)
    X = gaussian_design(n, d, rng_x, normalize=normalize)
    beta = sparse_teacher(d, k, rng_t, support=support, amplitude=amplitude, signs=signs)
    y = X @ beta
    if noise > 0:
        y = y + noise * rng_e.standard_normal(n)
    return RegressionData(X=X, y=y, beta_star=beta, noise=noise)


def make_regression_batch(
    n: int,
    d: int,
    k: int,
    seeds: Sequence[SeedLike],
    noise: float = 0.0,
    normalize: str = "sqrt_d",
    support: Sequence[int] | np.ndarray | None = None,
    amplitude: float | Sequence[float] | np.ndarray | None = None,
    signs: str | Sequence[float] | np.ndarray = "random",
) -> RegressionBatch:
    """:func:`make_regression` for every seed in ``seeds``, stacked along a leading batch axis.

    Returns a :class:`RegressionBatch` with ``X`` (B, n, d), ``y`` (B, n), ``beta_star`` (B, d).
    """
    if isinstance(seeds, (int, np.integer, np.random.Generator, np.random.SeedSequence)) or seeds is None:
        raise ValueError("seeds: expected a sequence of seeds (one per problem)")
    seeds = tuple(seeds)
    if len(seeds) == 0:
        raise ValueError("seeds: must contain at least one seed")
    n = check_int("n", n)
    d = check_int("d", d)
    X = np.empty((len(seeds), n, d))
    y = np.empty((len(seeds), n))
    beta = np.empty((len(seeds), d))
    noise = check_nonnegative("noise", noise)
    for b, s in enumerate(seeds):
        data = make_regression(n, d, k, s, noise=noise, normalize=normalize, support=support,
                               amplitude=amplitude, signs=signs)
        X[b], y[b], beta[b] = data.X, data.y, data.beta_star
    return RegressionBatch(X=X, y=y, beta_star=beta, seeds=seeds, noise=noise)
