"""Argument checks shared by the public numerical functions.

Every check raises :class:`ValueError` whose message starts with the parameter's name, so a user
learns which argument was wrong and why.

A simulation or solver that stops before its tolerance returns ``converged=False`` (or
``success=False``) *and* emits a :class:`NotConvergedWarning` whose message carries the residual
(:func:`warn_not_converged`). Code that handles non-convergence on purpose (it records the flag) may
silence it with ``warnings.catch_warnings()`` / ``warnings.simplefilter("ignore", NotConvergedWarning)``.
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["check_probability", "as_matrix", "as_vector", "as_finite_array", "check_positive", "check_nonnegative",
           "check_int", "batch_shape", "NotConvergedWarning", "warn_not_converged"]


class NotConvergedWarning(RuntimeWarning):
    """A simulation or solver stopped before reaching its tolerance (the message gives the residual)."""


def warn_not_converged(what: str, residual, tol: float, converged=None, detail: str = "",
                       stacklevel: int = 2) -> None:
    """Emit a :class:`NotConvergedWarning` for ``what`` with its (worst) relative ``residual``.

    ``residual`` and ``converged`` may be per-run arrays of a batch; the message then counts the runs
    that stopped early and gives their worst residual. ``stacklevel`` as for :func:`warnings.warn`,
    counted from the caller of this function.
    """
    res = np.atleast_1d(np.asarray(residual, dtype=float))
    conv = np.zeros(res.shape, bool) if converged is None else np.atleast_1d(np.asarray(converged, bool))
    bad = res[~conv] if conv.shape == res.shape and (~conv).any() else res
    worst = float(np.nanmax(bad)) if bad.size and not np.all(np.isnan(bad)) else float("nan")
    runs = f" in {int((~conv).sum())} of {conv.size} runs: worst" if conv.size > 1 else ":"
    msg = (f"{what} did not converge{runs} relative residual {worst:.3g} > tol = {tol:g}"
           + (f" ({detail})" if detail else ""))
    warnings.warn(msg, NotConvergedWarning, stacklevel=stacklevel + 1)


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


def check_probability(name: str, x) -> float:
    """``float(x)`` if it is a finite number in [0, 1]; else a ValueError naming ``name``."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a probability in [0, 1], got {x!r}") from None
    if not np.isfinite(v) or v < 0.0 or v > 1.0:
        raise ValueError(f"{name}: must be a probability in [0, 1], got {x!r}")
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
