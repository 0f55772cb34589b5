"""Benchmark of numerics.diagonal (a script, not a test): ``python benchmarks/bench_diagonal.py``.

(1) GD throughput, n = 500, d = 2000, 16 runs sharing X, 300 steps: time per step of
    :func:`numerics.diagonal.simulate_gd` against the two bare matrix products one step needs,
    ``(B,d)@(d,n)`` and ``(B,n)@(n,d)``, timed in the same process (target ratio <= 1.5).
    "marginal" excludes the one-off setup (validation, lambda_max for the lr check) by subtracting
    a 0-step call; "total" includes it.
(2) Implicit-bias dual solve, n = 500, d = 2000, 20-sparse teacher, u0 = alpha, v0 = 0:
    time to KKT residual 1e-10 and Newton iterations (target < 1 s).
Timings are the best of ``REPEAT`` repetitions (the machine may be shared).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
from _timing import best_of as _best_of  # noqa: E402

from ptft.numerics import diagonal as nd  # noqa: E402
from ptft.numerics.data import gaussian_design, make_regression, sparse_teacher  # noqa: E402

REPEAT = 5


def best_of(fn, repeat: int = REPEAT) -> float:
    return _best_of(fn, repeat)


def bench_gd(n: int = 500, d: int = 2000, B: int = 16, steps: int = 300) -> None:
    X = gaussian_design(n, d, seed=0)
    y = X @ sparse_teacher(d, 20, seed=1)
    rng = np.random.default_rng(2)
    u0 = 0.5 + 0.5 * rng.random((B, d))
    v0 = 0.1 * rng.standard_normal((B, d))
    lr = 0.5 / (nd.lambda_max(X) * np.max(u0**2 + v0**2))
    kw = dict(max_steps=steps, tol=1e-15)

    beta = u0 * v0
    R, G = np.empty((B, n)), np.empty((B, d))
    XT = X.T

    def bare():
        for _ in range(steps):
            np.matmul(beta, XT, out=R)
            np.matmul(R, X, out=G)

    bare()                                               # warm up BLAS threads
    res = nd.simulate_gd(X, y, u0, v0, lr, **kw)
    assert res.steps.min() == steps, "benchmark problem converged early"
    t_bare = best_of(bare) / steps
    t_total = best_of(lambda: nd.simulate_gd(X, y, u0, v0, lr, **kw)) / steps
    t_setup = best_of(lambda: nd.simulate_gd(X, y, u0, v0, lr, max_steps=0))
    t_marg = t_total - t_setup / steps

    # two-pathway model and a batched design (per-run matrix-vector products), for reference
    alpha = np.full((B, d), 0.5)
    t_tp = best_of(lambda: nd.simulate_gd_two_pathway(X, y, alpha, 0.5 * lr, **kw), 3) / steps
    Xb = np.broadcast_to(X, (B, n, d)).copy()
    t_bx = best_of(lambda: nd.simulate_gd(Xb, y, u0, v0, lr, **kw), 1) / steps

    print(f"(1) GD throughput: n={n}, d={d}, B={B} runs sharing X, {steps} steps")
    print(f"    {'quantity':<44}{'ms/step':>10}{'ratio':>8}")
    rows = [("two bare products (B,d)@(d,n), (B,n)@(n,d)", t_bare),
            ("simulate_gd, marginal (setup excluded)", t_marg),
            ("simulate_gd, total (incl. setup)", t_total),
            ("simulate_gd_two_pathway, total", t_tp),
            ("simulate_gd, batched X (B,n,d), total", t_bx)]
    for name, t in rows:
        print(f"    {name:<44}{1e3 * t:>10.3f}{t / t_bare:>8.2f}")
    print(f"    one-off setup (validation + lambda_max): {1e3 * t_setup:.1f} ms;  target ratio <= 1.5: "
          f"{'met' if t_marg / t_bare <= 1.5 else 'NOT met'} (marginal), "
          f"{'met' if t_total / t_bare <= 1.5 else 'NOT met'} (total)")


def bench_dual(n: int = 500, d: int = 2000, k: int = 20) -> None:
    X, y, beta_star = make_regression(n, d, k, seed=3)
    print(f"\n(2) implicit-bias dual solve: n={n}, d={d}, k={k}, u0 = alpha, v0 = 0, KKT tol 1e-10")
    print(f"    {'alpha':>8}{'time (s)':>10}{'Newton it':>11}{'KKT resid':>12}{'|b - b*|/|b*|':>15}  status")
    for alpha in (1.0, 1e-2, 1e-5):
        out = {}

        def solve():
            out["r"] = nd.implicit_bias_dual(X, y, alpha, 0.0, tol=1e-10)

        t = best_of(solve, 3)
        r = out["r"]
        err = np.linalg.norm(r.beta - beta_star) / np.linalg.norm(beta_star)
        print(f"    {alpha:>8.0e}{t:>10.3f}{r.nit:>11d}{r.kkt_residual:>12.2e}{err:>15.2e}  "
              f"{'ok' if r.success else 'FAILED: ' + r.message}{'' if t < 1 else ' (slower than 1 s)'}")


if __name__ == "__main__":
    print(f"numpy {np.__version__}; {os.cpu_count()} CPUs\n")
    bench_gd()
    bench_dual()
