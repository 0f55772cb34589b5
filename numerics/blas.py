"""BLAS threads for small dense problems: one thread where a multithreaded BLAS only adds overhead.

OpenBLAS starts its worker threads for every call above a tiny size; on the many small Cholesky
factorisations and matrix products of a dual Newton solve with ``n`` up to several hundred the hand-off costs
more than the arithmetic. Measured on 2 cores, one dense dual solve of the [DL] penalty (d = 2.5-2.9 n):
n = 250: 0.034 s on one thread, 0.071 s on two; n = 350: 0.10 / 0.34 s; n = 700: 0.53 / 0.91 s; n = 1500:
3.6 / 3.1 s (two threads win). `dl.rs_gap_shrinks_with_d`, quick (about 1300 solves, n = 25 ... 250): 12.9 s
with two threads, 3.3 s with one. Problems above ``SMALL_PROBLEM_ROWS`` keep every thread.
The thread limit goes through threadpoolctl (one controller per process), so it works whatever BLAS NumPy
and SciPy were built with and restores the previous setting on exit.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["SMALL_PROBLEM_ROWS", "single_thread_if_small"]

#: at most this many rows (the size of the Newton systems) counts as small
SMALL_PROBLEM_ROWS = 1024

_controller = None


def _get_controller():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


@contextlib.contextmanager
def single_thread_if_small(n_rows: int) -> Iterator[None]:
    """Limit BLAS to one thread inside the block when ``n_rows <= SMALL_PROBLEM_ROWS``; else do nothing."""
    if n_rows > SMALL_PROBLEM_ROWS:
        yield
        return
    with _get_controller().limit(limits=1, user_api="blas"):
        yield
