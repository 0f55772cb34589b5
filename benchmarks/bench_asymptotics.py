"""Benchmark of numerics.asymptotics (a script, not a test): ``python benchmarks/bench_asymptotics.py``.

Every line prints a measured number and its ratio to the goal (ratio <= 1 meets it).
(1) Quadrature error: largest change of the error when the Gauss-Legendre nodes per panel double (8 -> 16),
    over five regimes x three alphas (goal < 1e-8).
(2) An 80-point curve, alpha in [0.01, 0.5], both continuation directions (one call does both), for the four
    regime settings of [DL] Fig. 3/4 (goal < 1 s each; best of 3).
(3) A 50 x 50 map over (lambda_PT, gamma_FT) on 2 worker processes (goal < 30 s). A 10 x 10 map is timed
    serially first; the full map runs only if its extrapolated time is below 90 s, else the extrapolation
    is printed (and marked as such).
(4) A Monte Carlo solver of the same fixed-point equations (expectations = means over 80,000 seeded samples
    of (group, B, Z), nested Brent as in the quadrature solver's fallback), 3 seeds: time per solve as a
    ratio to the quadrature solver's, and its error against the quadrature answer as a ratio to the
    quadrature's 1e-8 goal. Near a transition (e.g. regime II at alpha = rho_PT) the fixed point amplifies
    the sampling noise: the seed-to-seed spread there is far above the per-sample standard error.
Timings are best of ``REPEAT`` (the machine may be shared: the load average is printed).
"""
from __future__ import annotations

import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
from _timing import best_of  # noqa: E402
from scipy import optimize  # noqa: E402

from ptft.numerics import asymptotics as A  # noqa: E402

REPEAT = 3
TASK = A.task_from_overlap

REGIMES = {   # [DL] Fig. 3/4 regime settings (authors' experiment notes), relative lambda_PT
    "I   rich, PT-independent": dict(c_pt=1e-6, lambda_pt=-1.0, gamma_ft=1e-3, **TASK(0.1, 0.01, 0.0)),
    "II  lazy, PT-dependent": dict(c_pt=1e-6, lambda_pt=0.99, gamma_ft=0.0, **TASK(0.1, 0.1, 1.0)),
    "III lazy, PT-independent": dict(c_pt=1e-6, lambda_pt=0.0, gamma_ft=1.0, **TASK(0.1, 0.9, 0.0)),
    "IV  rich, PT-dependent": dict(c_pt=1e-6, lambda_pt=-0.99, gamma_ft=0.0, **TASK(0.1, 0.01, 1.0)),
}


def ratio(x: float, goal: float) -> str:
    return f"{x / goal:8.3f}  {'met' if x <= goal else 'NOT met'}"


def bench_quadrature() -> None:
    cfgs = list(REGIMES.values()) + [dict(c_pt=1.0, lambda_pt=0.5, gamma_ft=0.3, noise=0.3, **TASK(0.2, 0.1, 0.5))]
    worst = 0.0
    worst_coarse = 0.0
    for cfg in cfgs:
        for alpha in (0.03, 0.15, 0.4):
            e4 = A.generalization_error(**cfg, alpha_ft=alpha, nodes=4).error
            e8 = A.generalization_error(**cfg, alpha_ft=alpha, nodes=8).error
            e16 = A.generalization_error(**cfg, alpha_ft=alpha, nodes=16).error
            worst = max(worst, abs(e8 - e16))
            worst_coarse = max(worst_coarse, abs(e4 - e8))
    print("(1) quadrature: max |error(nodes=8) - error(nodes=16)| over 5 settings x 3 alphas")
    print(f"    measured {worst:.2e}   goal 1e-8   ratio {ratio(worst, 1e-8)}"
          f"   (nodes 4 -> 8: {worst_coarse:.2e})")


def bench_curve() -> None:
    alphas = np.linspace(0.01, 0.5, 80)
    print("\n(2) 80-point curve, alpha in [0.01, 0.5], increasing + decreasing continuation (goal 1 s)")
    print(f"    {'regime':<28}{'time (s)':>10}{'ratio':>10}  status  converged  disagree  mean Newton it")
    for name, cfg in REGIMES.items():
        out = {}

        def run():
            out["c"] = A.generalization_error_curve(alphas, **cfg)

        t = best_of(run, REPEAT)
        c = out["c"]
        its = np.mean([r.iterations for r in c.forward + c.backward])
        print(f"    {name:<28}{t:>10.3f}{ratio(t, 1.0)}  {c.converged.sum():>5d}/80  {c.disagree.sum():>8d}"
              f"  {its:>14.1f}")


MAP_FIXED = dict(c_pt=1e-3, **TASK(0.1, 0.1, 0.5), alpha_ft=0.2)


def bench_map() -> None:
    print("\n(3) error map over (lambda_PT in [-1, 1], gamma_FT in [1e-3, 10] log) at c_PT = 1e-3, "
          "rho = 0.1, omega = 0.5, alpha = 0.2 (goal 50 x 50 < 30 s on 2 cores)")
    lam10, gam10 = np.linspace(-1, 1, 10), np.logspace(-3, 1, 10)
    t0 = time.perf_counter()
    m10 = A.error_map("lambda_pt", lam10, "gamma_ft", gam10, **MAP_FIXED)
    t10 = time.perf_counter() - t0
    est_serial = t10 * 25
    print(f"    10 x 10 serial: {t10:.2f} s ({m10.converged.sum()}/100 converged); "
          f"extrapolated 50 x 50: {est_serial:.1f} s serial, {est_serial / 2:.1f} s on 2 cores")
    if est_serial > 90:
        print(f"    full map NOT run (extrapolated); ratio of the extrapolated 2-core time {ratio(est_serial / 2, 30)}")
        return
    lam, gam = np.linspace(-1, 1, 50), np.logspace(-3, 1, 50)
    with ProcessPoolExecutor(2) as ex:
        ex.submit(int, 0).result()   # start the workers before the clock
        t0 = time.perf_counter()
        m = A.error_map("lambda_pt", lam, "gamma_ft", gam, executor=ex, **MAP_FIXED)
        t = time.perf_counter() - t0
    print(f"    50 x 50 on 2 processes: {t:.2f} s   goal 30 s   ratio {ratio(t, 30.0)}   "
          f"converged {m.converged.sum()}/2500, error range [{m.error.min():.3f}, {m.error.max():.3f}]")


def mc_solve(cfg: dict, alpha: float, samples: int = 80_000, seed: int = 0) -> tuple[float, float]:
    """The same RS equations with sample means over ``samples`` seeded draws of (group, B, Z) (common
    random numbers for every evaluation); nested Brent in (log theta0, log theta). Returns (error, SE)."""
    model = A._build_model(cfg["c_pt"], cfg["lambda_pt"], cfg["gamma_ft"], cfg["rho_pt"], cfg["rho_ft_shared"],
                           cfg["rho_ft_new"], cfg.get("noise", 0.0), cfg.get("pt_amplitude", 1.0))
    rng = np.random.default_rng(seed)
    g = rng.choice(model.prob.size, size=samples, p=model.prob / model.prob.sum())
    b = np.sqrt(model.var_b[g]) * rng.standard_normal(samples)
    zeta = rng.standard_normal(samples)
    k = (2.0 * model.scale[g]) ** 2

    def sample(t0, t):
        x = A.eta(b + math.sqrt(t0) * zeta, t, k)
        return x, np.mean(1.0 / (1.0 + t / np.sqrt(k + 4 * x * x)))

    def theta_of(l0):
        f = lambda lt: sample(math.exp(l0), math.exp(lt))[1] / alpha - 1.0  # noqa: E731
        lo, hi = -5.0, 5.0
        while f(lo) < 0:
            lo -= 5.0
        while f(hi) > 0:
            hi += 5.0
        return optimize.brentq(f, lo, hi, xtol=1e-10)

    def outer(l0):
        x, _ = sample(math.exp(l0), math.exp(theta_of(l0)))
        return l0 - math.log((model.noise2 + np.mean((x - b) ** 2)) / alpha)

    lo, hi = -5.0, 5.0
    while outer(lo) > 0:
        lo -= 5.0
    while outer(hi) < 0:
        hi += 5.0
    l0 = optimize.brentq(outer, lo, hi, xtol=1e-10)
    x, _ = sample(math.exp(l0), math.exp(theta_of(l0)))
    e2 = (x - b) ** 2
    return float(e2.mean()), float(e2.std() / math.sqrt(samples))


def bench_monte_carlo(seeds=(0, 1, 2)) -> None:
    print(f"\n(4) Monte Carlo solver of the same equations, 80,000 samples x {len(seeds)} seeds, vs the quadrature "
          "solver\n    (time ratio = t_MC per solve / t_quad; accuracy ratio = |mean MC - quad| / 1e-8, the "
          "quadrature error goal; 'spread' = seed-to-seed SD of the MC fixed point)")
    print(f"    {'regime':<28}{'alpha':>6}{'quad err':>12}{'MC mean':>12}{'spread':>10}{'|MC-quad|':>11}"
          f"{'t_quad (s)':>11}{'t_MC (s)':>10}{'time ratio':>11}{'acc. ratio':>11}")
    for name, cfg in REGIMES.items():
        for alpha in (0.1, 0.3):
            out = {}
            tq = best_of(lambda: out.__setitem__("q", A.generalization_error(**cfg, alpha_ft=alpha)), REPEAT)
            t0 = time.perf_counter()
            emc = np.array([mc_solve(cfg, alpha, seed=s)[0] for s in seeds])
            tmc = (time.perf_counter() - t0) / len(seeds)
            eq = out["q"].error
            gap = abs(emc.mean() - eq)
            print(f"    {name:<28}{alpha:>6.2f}{eq:>12.6f}{emc.mean():>12.6f}{emc.std(ddof=1):>10.1e}{gap:>11.2e}"
                  f"{tq:>11.4f}{tmc:>10.2f}{tmc / tq:>11.0f}{max(gap, 1e-16) / 1e-8:>11.1e}")


if __name__ == "__main__":
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"numpy {np.__version__}; {os.cpu_count()} CPUs; load average {load:.2f}\n")
    bench_quadrature()
    bench_curve()
    bench_map()
    bench_monte_carlo()
