"""Benchmark of numerics.mtl and numerics.ptft (a script, not a test): ``python benchmarks/bench_mtl_ptft.py``.

Size of the [LL] diagonal experiments: d = 1000, n_main = 64, n_aux = 1024, 6 seeds (each its own
design, rows rescaled to norm sqrt(d); auxiliary teacher 40 coordinates of +-1/sqrt(40); main teacher
on the same 40 coordinates with its own signs).

(1) MTL GD throughput: steps/second of :func:`numerics.mtl.simulate_mtl_gd` on the batch of 6 against
    the bare matrix products one step needs (``X_t beta_t`` and ``X_t^T r_t`` for both tasks, as batched
    ``np.matmul``), timed in the same process. "marginal" subtracts a 0-step call (validation, setup;
    for the Gram form this includes forming ``X^T X``). Direct form and Gram form (used when 2 n > d and
    tol >= GRAM_MIN_TOL). Also with one design shared by the 6 runs (products become matrix-matrix).
(2) PT+FT pipeline wall time: :func:`numerics.ptft.simulate_ptft` on the batch of 6 (alpha = 1e-3,
    c = 1, gamma = 1e-3, lr = 0.5; pretraining to tol 1e-3 -- with n_aux > d the off-support
    coordinates relax at a rate ~alpha^2, so tighter pretraining tolerances take > 40k steps --
    finetuning to tol 1e-4), with steps and the main-task teacher error.
Timings are the best of ``REPEAT`` repetitions (the machine may be shared).
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
from _timing import best_of as _best_of  # noqa: E402

from ptft.numerics.data import gaussian_design, sparse_teacher  # noqa: E402
from ptft.numerics.mtl import simulate_mtl_gd  # noqa: E402
from ptft.numerics.ptft import simulate_ptft  # noqa: E402

REPEAT = 3
D, N_MAIN, N_AUX, B, K = 1000, 64, 1024, 6, 40


def best_of(fn, repeat: int = REPEAT) -> float:
    return _best_of(fn, repeat)


def make_data():
    Xa = np.stack([gaussian_design(N_AUX, D, seed=100 + s) for s in range(B)])
    Xm = np.stack([gaussian_design(N_MAIN, D, seed=200 + s) for s in range(B)])
    ta = np.stack([sparse_teacher(D, K, seed=300 + s) for s in range(B)])
    tm = np.stack([sparse_teacher(D, K, seed=400 + s, support=np.flatnonzero(ta[s])) for s in range(B)])
    ya = np.einsum("bnd,bd->bn", Xa, ta)
    ym = np.einsum("bnd,bd->bn", Xm, tm)
    return Xm, ym, Xa, ya, tm


def bench_mtl_throughput(Xm, ym, Xa, ya, steps: int = 100) -> list[str]:
    """Steps/s of simulate_mtl_gd in its direct form (tol < GRAM_MIN_TOL) and its Gram form (tol = 1e-3).

    Ratios are to the bare products of the *direct* form (``X_t beta_t`` and ``X_t^T r_t`` for both
    tasks); the Gram form replaces the auxiliary pair by one ``G_aux beta`` (d x d), so its ideal ratio is
    (d^2 + 2 n_main d) / (2 (n_aux + n_main) d), about 0.52 here.
    """
    rows = []
    rng = np.random.default_rng(0)
    for label, args in [("6 designs", (Xm, ym, Xa, ya)), ("shared design", (Xm[0], ym, Xa[0], ya))]:
        Xm_, _, Xa_, _ = args
        beta = 1e-3 * rng.standard_normal((B, D))
        rm, ra = np.empty((B, N_MAIN)), np.empty((B, N_AUX))

        if Xm_.ndim == 3:
            def bare():
                for _ in range(steps):
                    for X, r in ((Xm_, rm), (Xa_, ra)):
                        r[:] = np.matmul(X, beta[:, :, None])[:, :, 0]
                        np.matmul(r[:, None, :], X)
        else:
            def bare():
                for _ in range(steps):
                    for X, r in ((Xm_, rm), (Xa_, ra)):
                        np.matmul(beta, X.T, out=r)
                        r @ X

        bare()                                                   # warm up BLAS
        t_bare = best_of(bare) / steps
        for form, tol in (("direct", 1e-15), ("Gram", 1e-3)):
            kw = dict(alpha=1e-3, lr=0.5, tol=tol)
            res = simulate_mtl_gd(*args, max_steps=steps, **kw)
            assert np.all(res.steps == steps) and not res.success, "benchmark problem converged early"
            t_total = best_of(lambda: simulate_mtl_gd(*args, max_steps=steps, **kw)) / steps
            t_setup = best_of(lambda: simulate_mtl_gd(*args, max_steps=0, **kw))
            t_marg = t_total - t_setup / steps
            rows.append(f"{label:<14} {form:<7} {1 / t_marg:10.0f} {1e3 * t_marg:9.3f} {1e3 * t_bare:9.3f} "
                        f"{t_marg / t_bare:8.2f} {t_total / t_bare:8.2f}")
    head = (f"(1) MTL GD, d={D}, n_main={N_MAIN}, n_aux={N_AUX}, B={B}, {steps} steps (ratios to the direct form's "
            f"bare products)\n"
            f"{'design':<14} {'form':<7} {'steps/s':>10} {'ms/step':>9} {'bare ms':>9} {'marginal':>8} {'total':>8}")
    return [head] + rows


def bench_ptft_pipeline(Xm, ym, Xa, ya, tm) -> list[str]:
    t0 = time.perf_counter()
    r = simulate_ptft(Xm, ym, Xa, ya, alpha=1e-3, c=1.0, gamma=1e-3, lr=0.5, tol=1e-3, tol_ft=1e-4,
                      max_steps=20_000)
    wall = time.perf_counter() - t0
    pt_steps, ft_steps = r.steps
    err = np.linalg.norm(r.beta_main - tm, axis=1)
    return [f"(2) PT+FT pipeline, B={B}, alpha=1e-3, c=1, gamma=1e-3, lr=0.5, tol PT 1e-3 / FT 1e-4",
            f"wall time {wall:.1f} s; converged {int(np.sum(r.converged))}/{B}",
            f"pretraining steps {np.array2string(pt_steps)}; finetuning steps {np.array2string(ft_steps)}",
            f"||beta_main - teacher|| per seed {np.array2string(err, precision=3)}"]


def main() -> None:
    data = make_data()
    for line in bench_mtl_throughput(*data[:4]):
        print(line, flush=True)
    print()
    for line in bench_ptft_pipeline(*data):
        print(line, flush=True)


if __name__ == "__main__":
    main()
