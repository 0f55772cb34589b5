"""Claims for multi-task learning and pretraining + finetuning in diagonal networks.

Source: [LL] Lippl & Lindsey, "Inductive biases of multi-task learning and finetuning: multiple regimes
of feature reuse", NeurIPS 2024 (arXiv:2310.02396; first version "Implicit regularization of multi-task
learning and finetuning in overparameterized neural networks", 2023).
"""
from __future__ import annotations

import functools

import numpy as np

from ptft.numerics import mtl as nm
from ptft.numerics import ptft as npf
from ptft.numerics.data import gaussian_design
from ptft.numerics.extrapolation import richardson_to_zero
from ptft.numerics.teacher_student import generalisation_errors
from ptft.verification.registry import DIFFERENCES_DOC, Measurement, NotConverged, Refutes, RunConfig, claim

LL = "[LL] Lippl & Lindsey, NeurIPS 2024 (arXiv:2310.02396)"


def _rel(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _two_tasks(cfg: RunConfig, key: str, d: int, n_main: int, n_aux: int, k: int, shared: int):
    """Small main/auxiliary sparse-teacher pair (the main task reuses ``shared`` auxiliary features)."""
    rng = cfg.rng("lippl_lindsey2023", key)
    support = rng.permutation(d)
    aux = np.zeros(d)
    aux[support[:k]] = rng.choice([-1.0, 1.0], k) / np.sqrt(k)
    main = np.zeros(d)
    main_support = np.concatenate([support[:shared], support[k: 2 * k - shared]])
    main[main_support] = rng.choice([-1.0, 1.0], k) / np.sqrt(k)
    Xm = gaussian_design(n_main, d, seed=rng)
    Xa = gaussian_design(n_aux, d, seed=rng)
    return Xm, Xm @ main, Xa, Xa @ aux, main, aux


def _lam(X) -> float:
    return float(np.linalg.eigvalsh(X @ X.T)[-1])


# ------------------------------------------------------------------------------------------------
# MTL: where does GD land relative to the l1,2 minimiser?
# ------------------------------------------------------------------------------------------------
@claim("mtl.gd_misses_group_lasso_minimum_as_alpha_shrinks",
       "MTL GD from small initialisation misses the l1,2 (group-lasso) minimum by a gap that grows as alpha -> 0",
       f"{LL}, Sec. 3 (MTL penalty); theory: mtl.flow_metric (MTL gradient flow is not a mirror flow)",
       tags=("mtl",),
       refutes=Refutes(source=f"{LL}, Sec. 3",
                       statement="MTL gradient descent from small initialisation is biased to minimise the l1,2 "
                                 "mixed norm, i.e. lands on the minimum-l1,2 (group-lasso) interpolator as alpha -> 0",
                       see=f"{DIFFERENCES_DOC}#mtl-gd-does-not-reach-the-l12-minimiser"),
       aliases=("mtl.gd_reaches_group_lasso_minimum",))
def mtl_group_lasso(cfg: RunConfig) -> Measurement:
    """Excess group norm ``||B_GD||_1,2 / min ||B||_1,2 - 1`` at the largest and the smallest alpha.

    If GD implemented the minimum-l1,2 bias, the excess would shrink to 0 as alpha -> 0. It grows. The
    claim holds when the excess at the smallest alpha exceeds the excess at the largest by more than
    the measured numerical error of both: the step-size bias (each endpoint rerun at twice the step
    size: GD's endpoint is O(lr) from the flow's, so the change bounds the bias at lr) plus the stopping
    error (each endpoint rerun with a 10x looser stop, tol 1e-3: the change from 1e-3 to 1e-4 bounds
    what remains below 1e-4 as long as the gap converges at least like tol^0.3; it is about linear).
    """
    d, n_main, n_aux, k = cfg.pick((30, 10, 16, 4), (60, 16, 30, 6))
    Xm, ym, Xa, ya, _, _ = _two_tasks(cfg, "mtl-gap", d, n_main, n_aux, k, shared=k // 2)
    alphas = np.array(cfg.pick([1e-2, 1e-3], [1e-2, 1e-3, 1e-4]))
    lr = 0.25 * (n_main + n_aux) / max(_lam(Xm), _lam(Xa))
    tol, max_steps = 1e-4, 400_000
    table = nm.mtl_gap_vs_alpha(Xm, ym, Xa, ya, alphas, lr, tol=tol, max_steps=max_steps)
    if not np.all(table.converged):
        raise NotConverged(f"MTL GD at alphas {alphas[~table.converged]}")
    ends = (0, len(alphas) - 1)   # largest and smallest alpha

    def gap_at(alpha, lr_, tol_):
        r = nm.simulate_mtl_gd(Xm, ym, Xa, ya, alpha=float(alpha), lr=lr_, tol=tol_, max_steps=max_steps)
        if not r.converged:
            raise NotConverged(f"MTL GD at alpha={alpha:g}, lr={lr_:g}, tol={tol_:g}: {r.message}")
        return float(nm.group_norm(r.beta_main, r.beta_aux) / table.group_norm_min - 1.0)

    lr_change = np.array([abs(gap_at(alphas[i], 2 * lr, tol) - table.gap[i]) for i in ends])
    tol_change = np.array([abs(gap_at(alphas[i], lr, 10 * tol) - table.gap[i]) for i in ends])
    margin = float(lr_change.sum() + tol_change.sum())
    gap_large, gap_small = float(table.gap[0]), float(table.gap[-1])
    return Measurement(
        theory=gap_large, simulation=gap_small, error=(gap_large + margin) / gap_small, tolerance=1.0,
        tolerance_reason=f"the excess must grow by more than the numerical error of both endpoints: step-size "
                         f"bias (change at 2 lr: {lr_change[0]:.1e} at alpha = {alphas[0]:g}, {lr_change[1]:.1e} at "
                         f"{alphas[-1]:g}) plus stopping error (change from tol 1e-3 to 1e-4: {tol_change[0]:.1e}, "
                         f"{tol_change[1]:.1e}), margin {margin:.1e} in all; the minimiser is solved to 1e-10",
        metric=f"(excess at alpha = {alphas[0]:g} + margin) / excess at alpha = {alphas[-1]:g}, where excess = "
               f"||B_GD||_1,2 / min ||B||_1,2 - 1; below 1 when the excess grows beyond the margin",
        theory_label=f"excess at alpha = {alphas[0]:g}", simulation_label=f"excess at alpha = {alphas[-1]:g}",
        details={"alphas": alphas, "gap": table.gap, "distance": table.distance, "steps": table.steps, "lr": lr,
                 "group_norm_min": table.group_norm_min, "gap_growth": gap_small - gap_large, "margin": margin,
                 "gap_change_at_2lr": lr_change, "gap_change_at_10tol": tol_change,
                 "gap_monotone_in_alpha": bool(np.all(np.diff(table.gap) > 0))})


# ------------------------------------------------------------------------------------------------
# PT+FT: GD follows the exact general-start penalty (not the plotted approximation)
# ------------------------------------------------------------------------------------------------
def _ptft_runs(cfg: RunConfig, lrs_ft, c: float, gamma: float):
    d, n_main, n_aux, k = cfg.pick((30, 10, 20, 4), (60, 16, 40, 6))
    Xm, ym, Xa, ya, _, _ = _two_tasks(cfg, "ptft", d, n_main, n_aux, k, shared=k // 2)
    lr_pt = 0.5 * n_aux / _lam(Xa)
    # The exact penalty is computed from the actual finetuning start, so these claims do not depend on how
    # well pretraining fitted: it is stopped at a 1% residual (from alpha = 1e-3 its tail is sublinear,
    # ~5e-4 after 5e4 steps, because transiently activated coordinates decay like 1/t).
    pt = npf.simulate_pretraining(Xa, ya, 1e-3, lr_pt, tol=1e-2, max_steps=100_000)
    if not pt.converged:
        raise NotConverged(f"pretraining: {pt.message}")
    start = npf.finetuning_start(pt.weights, c, gamma)
    ends = []
    for lr in lrs_ft:
        ft = npf.simulate_finetuning(Xm, ym, start, lr, tol=1e-13, max_steps=400_000)
        if not ft.converged:
            raise NotConverged(f"finetuning at lr={lr}: {ft.message}")
        ends.append(ft.beta)
    exact = npf.finetuning_implicit_bias(Xm, ym, start, tol=1e-13)
    if not exact.success:
        raise NotConverged(f"exact penalty minimiser: {exact.message}")
    plotted = npf.plotted_penalty_minimiser(Xm, ym, pt.beta, gamma, c, tol=1e-13)
    if not plotted.success:
        raise NotConverged(f"plotted penalty minimiser: {plotted.message}")
    return Xm, ym, ends, exact.beta, plotted.beta


@claim("ptft.gd_follows_exact_penalty",
       "Finetuning GD (extrapolated lr -> 0) lands on the minimiser of the exact general-start penalty",
       f"{LL}, Sec. 4; theory: ptft.exact_penalty", tags=("ptft",))
def ptft_exact(cfg: RunConfig) -> Measurement:
    c, gamma = 1.0, 0.1
    lrs = 0.1 / 2.0 ** np.arange(4)
    Xm, ym, ends, b_exact, _ = _ptft_runs(cfg, lrs, c, gamma)
    gaps = [_rel(b, b_exact) for b in ends]
    extrapolated, est = richardson_to_zero(lrs, ends)
    err = _rel(extrapolated, b_exact)
    return Measurement(
        theory=float(np.linalg.norm(b_exact)), simulation=float(np.linalg.norm(extrapolated)), error=err,
        tolerance=1e-6,
        tolerance_reason="Richardson (Neville) over 4 step sizes removes the O(lr), O(lr^2), O(lr^3) terms of the GD "
                         "endpoint; finetuning GD stops at relative residual 1e-13 and the dual at 1e-13; 1e-6 is "
                         "the same bar as the single-task claim",
        metric="relative distance of Richardson-extrapolated finetuning GD to the exact-penalty minimiser",
        theory_label="||argmin Q_exact||", simulation_label="||beta_GD(lr->0)||",
        details={"lrs": lrs, "raw_gaps": gaps, "extrapolation_error_estimate": est, "c": c, "gamma": gamma})


@claim("ptft.gd_follows_exact_not_plotted",
       "GD is far closer to the exact-penalty minimiser than to the minimiser of the penalty the paper plots",
       f"{LL}, Sec. 4 (R_FT); theory: ptft.rescaled_start, ptft.plotted_penalty", tags=("ptft",))
def ptft_exact_vs_plotted(cfg: RunConfig) -> Measurement:
    c, gamma = 1.0, 0.1
    lrs = np.array([0.05])
    Xm, ym, ends, b_exact, b_plot = _ptft_runs(cfg, lrs, c, gamma)
    d_exact = float(np.linalg.norm(ends[0] - b_exact))
    d_plot = float(np.linalg.norm(ends[0] - b_plot))
    return Measurement(
        theory=d_exact, simulation=d_plot, error=d_exact / d_plot, tolerance=0.1,
        tolerance_reason="GD at lr 0.05 is O(lr) from the exact minimiser; if the plotted penalty were as good a "
                         "description, the two distances would be comparable (ratio ~1); a ratio below 0.1 "
                         "means the exact penalty is at least ten times more accurate",
        metric="||beta_GD - argmin exact|| / ||beta_GD - argmin plotted||",
        theory_label="dist to exact", simulation_label="dist to plotted",
        details={"relative_to_exact": d_exact / np.linalg.norm(ends[0]),
                 "relative_to_plotted": d_plot / np.linalg.norm(ends[0])})


# ------------------------------------------------------------------------------------------------
# generalisation (teacher-student), qualitative results of [LL]
# ------------------------------------------------------------------------------------------------
ERROR_FLOOR = 1e-4
"""Test errors are compared as ``log((a + floor) / (b + floor))``: GD stops at relative training residual
1e-3, which leaves test errors of ~1e-5 even when the teacher is recovered, so differences below ~1e-4
are stopping noise, not inductive bias."""


def _n_grid(k_aux: int, fractions=(0.4, 0.8, 1.6)) -> list[int]:
    """Main-task sizes spanning the paper's few-shot range relative to the auxiliary support.

    [LL] plot n_main from 16 with k_aux = 40 (n / k_aux = 0.4) upward; by default we take 0.4, 0.8 and
    1.6 times k_aux (at least 4 samples), the part of the curve where the methods differ before all
    recover the teacher.
    """
    return sorted({max(4, round(f * k_aux)) for f in fractions})


@functools.lru_cache(maxsize=16)
def _curve(cfg: RunConfig, method: str, shared: int, k_main: int, c: float = 1.0, *, sizes=None,
           fractions=(0.4, 0.8, 1.6), n_seeds=None):
    """GD and theory test errors on the n-grid: arrays of shape (len(n_grid), seeds).

    ``sizes = (d, k_aux, n_aux)`` (default quick (80, 6, 64), full (250, 10, 200)); ``n_seeds`` default
    quick 3, full 6. Seeds are ``1000 seed + s``. Memoised within a process (arguments are hashable), so
    claims that share a curve compute it once; callers must not modify the returned arrays.
    """
    d, k_aux, n_aux = sizes if sizes is not None else cfg.pick((80, 6, 64), (250, 10, 200))
    n_seeds = n_seeds if n_seeds is not None else cfg.pick(3, 6)
    seeds = [cfg.seed * 1000 + s for s in range(n_seeds)]
    grid = _n_grid(k_aux, fractions)
    gd, th = [], []
    for n_main in grid:
        out = generalisation_errors(d, k_aux, k_main, shared, n_aux, n_main, method, seeds, alpha=1e-3, c=c,
                                    gamma=1e-3, tol=1e-3, max_steps=200_000)
        if not all(out["converged"]):
            raise NotConverged(f"{method} GD at n_main = {n_main} on {sum(not x for x in out['converged'])} seed(s)")
        gd.append(out["gd_error"])
        th.append(out["theory_error"])
    return np.array(gd, dtype=float), np.array(th, dtype=float), grid


def _curve_comparison(a, b, label_a, label_b, reason_extra, details) -> Measurement:
    """Paired comparison of two methods over the same (n, seed) task draws, on the log scale."""
    (a_gd, a_th, grid), (b_gd, b_th, _) = a, b
    log_gd = np.log((a_gd + ERROR_FLOOR) / (b_gd + ERROR_FLOOR))      # (n, seeds)
    log_th = np.log((a_th + ERROR_FLOOR) / (b_th + ERROR_FLOOR))
    per_seed = log_gd.mean(axis=0)                                    # seeds are the independent units
    mean, se = float(per_seed.mean()), float(per_seed.std(ddof=1) / np.sqrt(per_seed.size))
    th_mean = float(log_th.mean())
    return Measurement(
        theory=float(np.exp(th_mean)), simulation=float(np.exp(mean)), error=float(np.exp(max(th_mean, mean + 2 * se))),
        tolerance=1.0,
        tolerance_reason=f"{label_a} generalises better than {label_b} over the n_main grid when the "
                         f"geometric-mean error ratio is < 1: required of the theory (penalty minimisers) and of GD "
                         f"with a margin of 2 s.e. over seeds (errors floored at {ERROR_FLOOR:g}, GD's stopping "
                         f"accuracy). " + reason_extra,
        metric=f"max(theory ratio, GD ratio x exp(2 s.e.)) of test MSE {label_a} / {label_b}, geometric mean over "
               f"n_main in {grid} and seeds",
        theory_label="theory ratio", simulation_label="GD ratio",
        details={**details, "n_main": grid, "gd_log_ratio_per_n": log_gd.mean(axis=1), "gd_log_ratio_se": se,
                 "theory_log_ratio_per_n": log_th.mean(axis=1),
                 f"{label_a}_gd_mean_per_n": a_gd.mean(axis=1), f"{label_b}_gd_mean_per_n": b_gd.mean(axis=1),
                 f"{label_a}_theory_mean_per_n": a_th.mean(axis=1), f"{label_b}_theory_mean_per_n": b_th.mean(axis=1)})


IDENTICAL_FRACTIONS = (1.0, 1.6, 2.4)
"""n_main / k_aux of the identical-features claim: from k_aux samples (where PT+FT, whose pretrained features
are cheap, starts to recover the teacher) to where both methods reach GD's stopping floor."""


@claim("ll.ptft_beats_mtl_on_identical_features",
       "With features shared one to one, PT+FT generalises better than MTL in diagonal networks",
       f"{LL}, Sec. 5 (teacher-student experiments); theory: ptft.exact_penalty (PT+FT), l1,2 (MTL)",
       tags=("generalisation",),
       refutes=Refutes(source=f"{LL}, abstract (a result for ReLU networks)",
                       statement="MTL, biased toward using identical features for both tasks, generalises better "
                                 "than PT+FT when few main-task samples are available",
                       see=f"{DIFFERENCES_DOC}#ptft-beats-mtl-on-identical-features-in-diagonal-networks"),
       aliases=("ll.mtl_beats_ptft_on_identical_features",))
def ptft_wins_shared(cfg: RunConfig) -> Measurement:
    """Main and auxiliary teachers on the same k_aux features (independent signs); n_main = 1, 1.6, 2.4 k_aux.

    The hand-off keeps every pretrained feature at scale ~ sqrt|beta_aux| >> gamma, so finetuning is
    cheap (l2-like) on the auxiliary support and expensive off it: PT+FT needs about k_aux samples. The
    minimum-l1,2 interpolator (MTL's penalty in the rich limit) pays for the main task's own signs. Design
    fixed on pilot seeds 500-517 (quick sizes) and 500-505 (default sizes), not on the claim's seeds
    (1000 seed + s): 6 seeds, because over 3 seeds the per-seed spread (~1 in log ratio at quick sizes)
    leaves 2 s.e. wider than the effect.
    """
    k_aux = cfg.pick(6, 10)
    ptft = _curve(cfg, "ptft", shared=k_aux, k_main=k_aux, fractions=IDENTICAL_FRACTIONS, n_seeds=6)
    mtl = _curve(cfg, "mtl", shared=k_aux, k_main=k_aux, fractions=IDENTICAL_FRACTIONS, n_seeds=6)
    return _curve_comparison(ptft, mtl, "ptft", "mtl", "PT+FT: c = 1, gamma = alpha = 1e-3; 6 seeds.",
                             {"k": k_aux})


@claim("ll.rescaled_ptft_wins_on_sparse_subset",
       "When the main task uses a sparse subset of the auxiliary features, PT+FT with small rescaling beats MTL",
       f"{LL}, Sec. 5-6 (nested feature selection, Figs. 4-5); theory: ptft.rescaled_start, ptft.nested_feature_selection", tags=("generalisation",))
def rescaled_wins_subset(cfg: RunConfig) -> Measurement:
    """Main teacher on 2 of k_aux = 20 (quick: 16) auxiliary features; n_main = 0.2, 0.4, 0.8 k_aux.

    Design (fixed before the confirmatory run; see docs/differences.md). Nested feature selection makes
    PT+FT l1-like *within* the pretrained features, so it needs ~ k_main log(k_aux/k_main) samples, while
    MTL's reuse term is a weighted l2 on the auxiliary support (~ k_aux samples): the predicted advantage
    lives in a window of n_main between the two, whose width grows with k_aux/k_main. A first design
    (2 of k_aux = 10, n_main = 4, 8, 16) left that window one grid point wide; GD agreed in direction
    (ratio 0.57) but not beyond 2 s.e. over 6 seeds. The present sizes ([LL] use 5 of 40) were chosen
    on a pilot with separate seeds (500-505); the verdict uses the claim's own seeds (1000 seed + s).
    """
    c = 0.1
    sizes, k_main, n_seeds, fr = _subset_design(cfg)
    ptft = _curve(cfg, "ptft", shared=k_main, k_main=k_main, c=c, sizes=sizes, fractions=fr, n_seeds=n_seeds)
    mtl = _curve(cfg, "mtl", shared=k_main, k_main=k_main, sizes=sizes, fractions=fr, n_seeds=n_seeds)
    return _curve_comparison(ptft, mtl, "ptft_rescaled", "mtl",
                             f"Rescaling c = {c}, gamma = 1e-3; main task on {k_main} of k_aux = {sizes[1]} auxiliary "
                             f"features, d = {sizes[0]}, n_aux = {sizes[2]}, {n_seeds} seeds.",
                             {"k_main": k_main, "c": c, "d": sizes[0], "k_aux": sizes[1], "n_aux": sizes[2]})


def _subset_design(cfg: RunConfig):
    """The sparse-subset task of the two claims below: sizes, k_main, seeds, n-grid fractions."""
    return cfg.pick((100, 16, 96), (250, 20, 200)), 2, cfg.pick(4, 6), (0.2, 0.4, 0.8)


@claim("ll.rescaling_helps_on_sparse_subset",
       "When the main task uses a sparse subset of the auxiliary features, rescaling (c = 0.1) improves PT+FT",
       f"{LL}, Sec. 6 (weight rescaling after pretraining, Fig. 5); theory: ptft.rescaled_start, ptft.selection_contrast", tags=("generalisation",))
def rescaling_helps_subset(cfg: RunConfig) -> Measurement:
    """PT+FT with c = 0.1 against c = 1 on the design of ``ll.rescaled_ptft_wins_on_sparse_subset``.

    Theory: small c makes the pretrained features rich (l1-like among themselves) while gamma << c
    sqrt|beta_aux| keeps new features expensive (``ptft.nested_feature_selection``). Design and pilot
    as in that claim (pilot seeds 500-505: ratio 0.21, 2 s.e. bound 0.42).
    """
    sizes, k_main, n_seeds, fr = _subset_design(cfg)
    small = _curve(cfg, "ptft", shared=k_main, k_main=k_main, c=0.1, sizes=sizes, fractions=fr, n_seeds=n_seeds)
    one = _curve(cfg, "ptft", shared=k_main, k_main=k_main, c=1.0, sizes=sizes, fractions=fr, n_seeds=n_seeds)
    return _curve_comparison(small, one, "ptft_c0.1", "ptft_c1",
                             f"gamma = 1e-3; main task on {k_main} of k_aux = {sizes[1]} auxiliary features, "
                             f"d = {sizes[0]}, n_aux = {sizes[2]}, {n_seeds} seeds.",
                             {"k_main": k_main, "d": sizes[0], "k_aux": sizes[1], "n_aux": sizes[2]})


# ------------------------------------------------------------------------------------------------
# the reuse-sparsity conservation law: SymPy formulas against finite differences of the numerics
# ------------------------------------------------------------------------------------------------
def _numeric_penalties(gamma: float):
    """The penalties as the *numerics* implement them, as functions of (beta, beta_aux) > 0."""

    def mtl(b, ba):
        return float(nm.conditional_penalty(np.array([b]), np.array([ba]))[0])

    def ptft(b, ba, g=gamma):
        return float(np.sum(npf.handoff_penalty(np.array([ba]), 1.0, g).value(np.array([b]))))

    return {"mtl": mtl, "ptft": ptft}


def _log_slope(f, x, h=1e-5):
    """d log f / d log x by central differences in log x (truncation ~h^2, rounding ~1e-16/h)."""
    return (np.log(f(x * np.exp(h))) - np.log(f(x * np.exp(-h)))) / (2 * h)


@claim("conservation.law_holds_for_numerical_penalties",
       "Reuse-sparsity conservation: l-order + pretraining dependence = 1 for MTL and PT+FT (gamma = 0), "
       "and O + FD + (1/2) dlogR/dlog gamma = 1 for gamma > 0",
       f"{LL}, Sec. 4 (conservation law); theory: conservation.*", tags=("conservation",))
def conservation_numeric(cfg: RunConfig) -> Measurement:
    rng = cfg.rng("conservation")
    npts = cfg.pick(20, 100)
    betas = np.exp(rng.uniform(np.log(1e-2), np.log(1e2), npts))
    auxes = np.exp(rng.uniform(np.log(1e-2), np.log(1e2), npts))
    gamma = 0.3
    sums = []
    for name, R in _numeric_penalties(0.0).items():
        for b, ba in zip(betas, auxes):
            O = _log_slope(lambda x: R(x, ba), b)
            FD = _log_slope(lambda x: R(b, x), ba)
            sums.append(O + FD)
    Rg = _numeric_penalties(gamma)["ptft"]
    sums_g = []
    for b, ba in zip(betas, auxes):
        # the exact penalty with gamma > 0 is negative between 0 and ~2 beta0 (its minimum is at the start
        # beta0 > 0): the logarithmic derivatives are defined where R > 0, so test beta beyond that
        b = b + 4 * gamma * np.sqrt(ba)
        O = _log_slope(lambda x: Rg(x, ba), b)
        FD = _log_slope(lambda x: Rg(b, x), ba)
        G = _log_slope(lambda x: Rg(b, ba, g=x), gamma)
        sums_g.append(O + FD + 0.5 * G)
    dev = float(max(np.max(np.abs(np.array(sums) - 1)), np.max(np.abs(np.array(sums_g) - 1))))
    return Measurement(
        theory=1.0, simulation=float(np.mean(sums + sums_g)), error=dev, tolerance=1e-6,
        tolerance_reason="central differences in log coordinates with step 1e-5: truncation ~1e-10 times the "
                         "third log-derivative, rounding ~1e-16/1e-5 = 1e-11; 1e-6 leaves four orders of margin",
        metric=f"max |O + FD (+ dlogR/dlog gamma / 2) - 1| over {npts} random (beta, beta_aux) in [1e-2, 1e2]^2, "
               "finite differences of the numerical penalties",
        theory_label="derived sum", simulation_label="mean measured sum",
        details={"max_dev_gamma0": float(np.max(np.abs(np.array(sums) - 1))),
                 "max_dev_gamma": float(np.max(np.abs(np.array(sums_g) - 1))), "gamma": gamma})


@claim("conservation.measured_orders_match_formulas",
       "The l-order and pretraining dependence measured from the numerical penalties match the SymPy formulas",
       f"{LL}, Sec. 4; theory: conservation.mtl, conservation.ptft_exact_gamma0", tags=("conservation",))
def orders_match(cfg: RunConfig) -> Measurement:
    from ptft import theory
    rng = cfg.rng("orders")
    npts = cfg.pick(20, 100)
    betas = np.exp(rng.uniform(np.log(1e-2), np.log(1e2), npts))
    auxes = np.exp(rng.uniform(np.log(1e-2), np.log(1e2), npts))
    num = _numeric_penalties(0.0)
    worst = 0.0
    per = {}
    for name, dname in (("mtl", "conservation.mtl"), ("ptft", "conservation.ptft_exact_gamma0")):
        d = theory.get(dname)
        import sympy as sp

        O_f = sp.lambdify(d.symbols, d.extra["O"], "numpy")
        FD_f = sp.lambdify(d.symbols, d.extra["FD"], "numpy")
        extra_args = (1.0,) * (len(d.symbols) - 2)   # c = 1 where the penalty carries c
        errs = []
        for b, ba in zip(betas, auxes):
            O = _log_slope(lambda x: num[name](x, ba), b)
            FD = _log_slope(lambda x: num[name](b, x), ba)
            errs.append(max(abs(O - O_f(b, ba, *extra_args)), abs(FD - FD_f(b, ba, *extra_args))))
        per[name] = float(max(errs))
        worst = max(worst, per[name])
    ref = {name: [float(_log_slope(lambda x: num[name](x, a), 1.0)) for a in (0.01, 1.0, 100.0)] for name in num}
    return Measurement(
        theory=0.0, simulation=worst, error=worst, tolerance=1e-6,
        tolerance_reason="same finite-difference error budget as the conservation claim (~1e-10); the SymPy side "
                         "is exact; a larger difference would mean the numerics and the derivation disagree",
        metric="max |measured - derived| of O and FD over random points (MTL and PT+FT exact, gamma = 0, c = 1)",
        details={"max_error_per_model": per, "l_order_at_beta1_betaaux_0.01_1_100": ref})
