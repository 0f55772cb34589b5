"""Shared timing helper for the benchmark scripts."""
import time

import numpy as np


def best_of(fn, repeat: int) -> float:
    """The fastest of ``repeat`` wall-clock timings of ``fn()`` (seconds): the least disturbed run."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
