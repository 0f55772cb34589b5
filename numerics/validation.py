"""Argument checks shared by the public numerical functions.

Every check raises :class:`ValueError` whose message starts with the parameter's name, so a user
learns which argument was wrong and why.
"""
from __future__ import annotations

import numpy as np

__all__ = ["as_matrix", "as_vector", "as_finite_array", "check_positive", "check_nonnegative",
           "check_int", "batch_shape"]


def as_finite_array(name: str, a, ndim: tuple[int, ...] | None = None) -> np.ndarray:
    """``a`` as a float64 array; checks its number of dimensions and that it is finite."""
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot be converted to a float array ({exc})") from None
    if ndim is not None and arr.ndim not in ndim:
        want = " or ".join(str(k) for k in ndim)
        raise ValueError(f"{name}: expected {want} dimensions, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: is empty (shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name}: contains {bad} non-finite value(s) (NaN or inf)")
    return arr


def as_matrix(name: str, a, batched: bool = False) -> np.ndarray:
    """A finite 2-d array (or 3-d, a batch of matrices, when ``batched``)."""
    return as_finite_array(name, a, (2, 3) if batched else (2,))


def as_vector(name: str, a, batched: bool = False) -> np.ndarray:
    """A finite 1-d array (or 2-d, a batch of vectors, when ``batched``)."""
    return as_finite_array(name, a, (1, 2) if batched else (1,))


def check_positive(name: str, x) -> float:
    """A finite scalar > 0."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a positive number, got {x!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name}: must be a positive finite number, got {x!r}")
    return v


def check_nonnegative(name: str, x) -> float:
    """A finite scalar >= 0."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a non-negative number, got {x!r}") from None
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name}: must be a non-negative finite number, got {x!r}")
    return v


def check_int(name: str, x, minimum: int = 1) -> int:
    """An integer >= ``minimum``."""
    if isinstance(x, bool) or int(x) != x:
        raise ValueError(f"{name}: must be an integer, got {x!r}")
    if int(x) < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {x!r}")
    return int(x)


def batch_shape(**arrays: tuple[np.ndarray, int]) -> int | None:
    """The common batch size of arrays given as ``name=(array, unbatched_ndim)``.

    Arrays with one more dimension than ``unbatched_ndim`` are batched along axis 0; every batched
    array must have the same leading size. Returns ``None`` if nothing is batched.
    """
    size = None
    first = None
    for name, (arr, nd) in arrays.items():
        if arr.ndim == nd + 1:
            if size is None:
                size, first = arr.shape[0], name
            elif arr.shape[0] != size:
                raise ValueError(f"{name}: batch size {arr.shape[0]} does not match {first}'s {size}")
    return size
