"""Richardson extrapolation to zero step size (Neville's scheme).

If a quantity computed with step size ``h`` behaves like ``F(h) = F(0) + a1 h + a2 h^2 + ...`` (the
endpoint of gradient descent as a function of the learning rate does: GD is a consistent one-step
discretisation of gradient flow), polynomial extrapolation of ``F(h_0), ..., F(h_{K-1})`` to ``h = 0``
removes the first ``K - 1`` terms.
"""
from __future__ import annotations

import numpy as np

__all__ = ["neville_table", "richardson_to_zero"]


def neville_table(h, values: list[np.ndarray]) -> list[list[np.ndarray]]:
    """Neville table at ``h = 0``: ``table[j][i]`` interpolates the points ``i..i+j``,
    ``P_{i..i+j}(0) = (h_i P_{i+1..i+j} - h_{i+j} P_{i..i+j-1}) / (h_i - h_{i+j})``."""
    h = np.asarray(h, dtype=float)
    if h.ndim != 1 or len(h) != len(values) or len(h) < 1:
        raise ValueError(f"h: expected one step size per value ({len(values)}), got shape {h.shape}")
    if len(np.unique(h)) != len(h):
        raise ValueError("h: step sizes must be distinct")
    table = [list(values)]
    K = len(values)
    for j in range(1, K):
        prev = table[-1]
        table.append([(h[i] * prev[i + 1] - h[i + j] * prev[i]) / (h[i] - h[i + j]) for i in range(K - j)])
    return table


def richardson_to_zero(h, values: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """The extrapolation to ``h = 0`` of all points and an error estimate (its change from dropping the
    largest step size, i.e. the difference of the two best entries of the table)."""
    table = neville_table(h, values)
    best = table[-1][0]
    if len(values) < 2:
        return best, float("nan")
    err = float(np.linalg.norm(best - table[-2][1]))
    return best, err
