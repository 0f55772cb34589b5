"""Benchmark of numerics.dl_finite (a script, not a test).

``python benchmarks/bench_dl_finite.py [--d20000] [--dense]``

(1) Penalty minimiser (:func:`numerics.dl_finite.finetune_minimiser`): wall time per solve at d = 1000 and
    5000, alpha_ft in {0.1, 0.3, 0.5}, in regime IV (c_PT = 1e-3, lambda_PT = 0, gamma_FT = 0) and regime I
    (lambda_PT = -0.99, the slowest: rich, basis-pursuit-like), full overlap rho_PT = rho_FT = 0.1; with
    Newton steps, Hessian factorisations and PCG iterations. ``--dense`` adds the float64 dense Newton
    (``solver="newton-dense"``, a factorisation per step) for comparison; ``--d20000`` adds one solve at
    d = 20000, alpha_ft = 0.1 (regime IV).
(2) GD (:func:`numerics.dl_finite.finetune_gd` through ``finite_d_error(method="gd")``): time per run at
    d = 1000, alpha_ft = 0.3, one seed, default step (``lr_scale = 1``), tol = 1e-4.

BLAS threads: 1 unless the environment sets ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` (on a shared
2-core machine, multi-threaded BLAS under load was ~10x slower than one thread). Single timings (each solve
is seconds long; the machine may be shared, so treat them as upper bounds).
"""
from __future__ import annotations

import os
import sys
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from ptft.numerics import dl_finite as df  # noqa: E402

STATS = dict(rho_pt=0.1, rho_ft_shared=1.0, rho_ft_new=0.0)
REGIMES = {"IV": dict(c_pt=1e-3, lambda_pt=0.0, gamma_ft=0.0), "I": dict(c_pt=1e-3, lambda_pt=-0.99, gamma_ft=0.0)}


def solve_row(d, alpha, regime, solver="newton-pcg", seed=0):
    t, X, y = df.draw_problem(d, alpha, **STATS, seed=seed)
    t0 = time.perf_counter()
    r = df.finetune_minimiser(X, y, t.beta_pt, **REGIMES[regime], solver=solver)
    dt = time.perf_counter() - t0
    err = float(np.mean((r.beta - t.beta_ft) ** 2))
    return (f"d={d:6d} alpha={alpha:.1f} n={X.shape[0]:5d} regime {regime:3s} {solver:12s} {dt:7.2f} s  "
            f"newton={r.nit:3d} factors={r.n_factorizations:3d} pcg={r.cg_iterations:4d} "
            f"kkt={r.kkt_residual:.1e} converged={r.converged} error={err:.3e}")


def gd_row(d, alpha, regime):
    t0 = time.perf_counter()
    res = df.finite_d_error(d, alpha, **REGIMES[regime], **STATS, seeds=[0], method="gd")
    dt = time.perf_counter() - t0
    mn = df.finite_d_error(d, alpha, **REGIMES[regime], **STATS, seeds=[0])
    return (f"GD d={d} alpha={alpha} regime {regime:3s} {dt:7.2f} s  steps={res.details['steps'][0]} "
            f"lr={res.details['lr'][0]:.3g} converged={res.success} error={res.errors[0]:.3e} "
            f"(minimiser {mn.errors[0]:.3e})")


def main(argv):
    print(f"BLAS threads: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}", flush=True)
    solvers = ["newton-pcg"] + (["newton-dense"] if "--dense" in argv else [])
    for d in (1000, 5000):
        for alpha in (0.1, 0.3, 0.5):
            for regime in REGIMES:
                for s in solvers:
                    print(solve_row(d, alpha, regime, s), flush=True)
    if "--d20000" in argv:
        print(solve_row(20000, 0.1, "IV"), flush=True)
    for regime in ("IV", "I"):
        print(gd_row(1000, 0.3, regime), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
