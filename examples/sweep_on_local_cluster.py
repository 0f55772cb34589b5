"""A parameter sweep on a Dask LocalCluster, cached per point, with the same numbers as a serial run.

    pip install "ptft-theory[cluster]"
    python examples/sweep_on_local_cluster.py [--workers 2] [--cache-dir DIR]

Each point carries its own seed, so where it runs does not change its result. Points already in the
cache are not recomputed: run it twice and the second run is instant. To use a real cluster, start
``dask scheduler`` and ``dask worker tcp://HOST:8786`` elsewhere and pass ``--scheduler tcp://HOST:8786``.
"""
from __future__ import annotations

import argparse
import tempfile

import numpy as np

from ptft.numerics.executors import make_executor
from ptft.numerics.sweeps import grid, run_sweep


def gd_error(alpha: float, n: int, seed: int, d: int = 40, k: int = 3) -> dict:
    """Test error of GD from u0 = alpha, v0 = 0 on a k-sparse teacher (module level: it travels by name)."""
    from ptft.numerics import diagonal as nd
    from ptft.numerics.data import make_regression

    X, y, beta_star = make_regression(n, d, k, seed=seed)
    res = nd.simulate_gd(X, y, alpha, 0.0, lr=0.1, tol=1e-6, max_steps=200_000)
    return {"error": float(np.sum((res.beta - beta_star) ** 2)), "converged": bool(res.converged)}


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--scheduler", help="address of an existing dask scheduler")
    p.add_argument("--cache-dir", default=None)
    a = p.parse_args(argv)

    points = grid(alpha=[0.1, 1.0], n=[10, 20], seed=[0, 1])
    cache = a.cache_dir or tempfile.mkdtemp(prefix="ptft-sweep-")
    with make_executor(workers=a.workers, scheduler=a.scheduler, backend="dask") as ex:
        results = run_sweep(gd_error, points, cache_dir=cache, executor=ex, progress=False)
    serial = run_sweep(gd_error, points, progress=False)            # no cache, in this process
    assert results == serial, "a point's result must not depend on where it ran"
    for pt, r in zip(points, results):
        print(f"alpha={pt['alpha']:<6g} n={pt['n']:<3d} seed={pt['seed']}  error={r['error']:.3e}"
              f"{'' if r['converged'] else '  (did not converge)'}")
    print(f"cache: {cache}")
    return results


if __name__ == "__main__":
    main()
