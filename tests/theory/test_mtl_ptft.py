"""Tests of theory.mtl, theory.ptft and theory.conservation.

Every derivation builds and is verified; then the derived formulas are checked against independent
numerics: scipy minimisation of the factorisation cost, quadrature of the inverted flow, gradient-flow
simulations (solve_ivp) whose limits must equal the argmin of the derived penalties, and finite
differences for the conservation law and the nested-selection slope gap.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import quad, solve_ivp
from scipy.optimize import brentq, minimize, minimize_scalar

from ptft import theory
from ptft.theory import conservation, mtl, ptft

EXPECTED = {
    "mtl.min_norm_factorisation",
    "mtl.conditional_penalty",
    "mtl.conserved_quantity",
    "mtl.flow_metric",
    "mtl.sequential_limit",
    "ptft.general_start_flow",
    "ptft.exact_penalty",
    "ptft.rescaled_start",
    "ptft.plotted_penalty",
    "ptft.exact_limits",
    "ptft.nested_feature_selection",
    "ptft.dl_handoff",
    "ptft.selection_contrast",
    "conservation.mtl",
    "conservation.ptft_plotted_gamma0",
    "conservation.ptft_exact_gamma0",
    "conservation.ptft_gamma",
    "conservation.ptft_exact_gamma",
    "conservation.mtl_reference_values",
}
OURS = sorted(n for n in theory.names() if n.split(".")[0] in ("mtl", "ptft", "conservation"))


def _f(name: str):
    return theory.get(name).lambdify()


# --------------------------------------------------------------------------------------------------
# every derivation
# --------------------------------------------------------------------------------------------------
def test_registered_names() -> None:
    assert set(OURS) == EXPECTED


@pytest.mark.parametrize("name", OURS)
def test_derivation_builds_and_is_verified(name: str) -> None:
    d = theory.get(name)
    assert d.name == name
    assert d.verified and d.checks
    assert d.latex().strip() and d.latex(steps=True).strip()
    assert d.summary().startswith(name)
    assert d.source and d.assumptions
    assert isinstance(d.statement, sp.Equality)
    # 0.7 for positive symbols, 0.3 otherwise: valid for every statement (e.g. M = 0.7 > 2 beta0 = 0.6)
    args = [0.7 if s.is_positive else 0.3 for s in d.symbols]
    val = np.asarray(d.lambdify()(*args), dtype=float)
    assert np.all(np.isfinite(val))


def test_import_is_lazy() -> None:
    import subprocess
    import sys

    code = ("import theory\nfrom theory.derivation import _BUILDERS\n"
            "print(sum(_BUILDERS[n].cache_info().currsize for n in _BUILDERS "
            "if n.split('.')[0] in ('mtl', 'ptft', 'conservation')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


# --------------------------------------------------------------------------------------------------
# MTL
# --------------------------------------------------------------------------------------------------
def test_min_norm_factorisation_vs_scalar_minimisation() -> None:
    f = _f("mtl.min_norm_factorisation")
    rng = np.random.default_rng(0)
    for bm, ba in rng.normal(size=(10, 2)) * 2:
        res = minimize_scalar(lambda w: w**2 + (bm**2 + ba**2) / w**2, bounds=(1e-4, 1e2), method="bounded",
                              options={"xatol": 1e-12})
        assert res.fun == pytest.approx(f(bm, ba), rel=1e-9)
        assert res.x**2 == pytest.approx(np.hypot(bm, ba), rel=1e-5)


def test_conditional_penalty_limits() -> None:
    f = _f("mtl.conditional_penalty")
    assert f(1e-3, 2.0) == pytest.approx(1e-6 / 4, rel=1e-5)  # beta^2/(2|beta_aux|)
    assert f(1e4, -2.0) == pytest.approx(1e4 - 2.0, rel=1e-7)  # |beta| - |beta_aux|


def test_mtl_conserved_quantity_along_simulated_flow() -> None:
    rng = np.random.default_rng(1)
    X, Xa = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    y, ya = rng.normal(size=3), rng.normal(size=3)

    def rhs(_t, z):
        w, vm, va = z.reshape(3, 4)
        gm = -X.T @ (X @ (w * vm) - y) / 3
        ga = -Xa.T @ (Xa @ (w * va) - ya) / 3
        return np.concatenate([gm * vm + ga * va, gm * w, ga * w])

    z0 = rng.uniform(0.2, 1.0, size=12)
    sol = solve_ivp(rhs, (0, 20), z0, rtol=1e-10, atol=1e-12)
    delta = _f("mtl.conserved_quantity")
    d0 = delta(*z0.reshape(3, 4))
    d1 = delta(*sol.y[:, -1].reshape(3, 4))
    np.testing.assert_allclose(d1, d0, atol=1e-7)


def test_mtl_flow_metric_matches_simulated_velocity() -> None:
    # d beta/dt = H g with H = W I + beta beta^T / W, W = w^2 (the metric of mtl.flow_metric)
    H = theory.get("mtl.flow_metric").extra["H"]
    bm, ba, W = theory.get("mtl.flow_metric").symbols
    fH = sp.lambdify((bm, ba, W), H, "numpy")
    w, vm, va, gm, ga = 0.8, 0.5, -1.2, 0.3, -0.7
    vel = np.array([(gm * vm + ga * va) * vm + w * gm * w, (gm * vm + ga * va) * va + w * ga * w])
    np.testing.assert_allclose(np.asarray(fH(w * vm, w * va, w**2), dtype=float) @ [gm, ga], vel, rtol=1e-12)


def test_sequential_limit_equals_two_phase_gradient_flow() -> None:
    """Aux task alone, then main task alone: the main limit is argmin sum R_seq s.t. X beta = y."""
    rng = np.random.default_rng(2)
    d, n_aux, n_main, alpha = 4, 4, 2, 0.3
    # phase 1 on a well-conditioned design (R_seq holds for whatever beta_aux phase 1 reaches; the
    # conditioning only makes the auxiliary fit converge quickly)
    Xa = 2.0 * np.linalg.qr(rng.normal(size=(n_aux, d)))[0]
    Xm = rng.normal(size=(n_main, d))
    ya = Xa @ np.array([1.0, -0.6, 0.0, 0.0])
    ym = Xm @ np.array([0.8, 0.0, 0.5, 0.0])

    def rhs(_t, z, phase):
        wp, wm, vpm, vmm, vpa, vma = z.reshape(6, d)
        if phase == 1:
            g_a, g_m = -Xa.T @ (Xa @ (wp * vpa - wm * vma) - ya) / n_aux, np.zeros(d)
        else:
            g_a, g_m = np.zeros(d), -Xm.T @ (Xm @ (wp * vpm - wm * vmm) - ym) / n_main
        return np.concatenate([g_m * vpm + g_a * vpa, -(g_m * vmm + g_a * vma), g_m * wp, -g_m * wm,
                               g_a * wp, -g_a * wm])

    z = np.full(6 * d, alpha)
    z = solve_ivp(rhs, (0, 400), z, args=(1,), method="LSODA", rtol=1e-10, atol=1e-12).y[:, -1]
    wp, wm, vpm, vmm, vpa, vma = z.reshape(6, d)
    b_aux = wp * vpa - wm * vma
    assert np.allclose(Xa @ b_aux, ya, atol=1e-6)
    z = solve_ivp(rhs, (0, 400), z, args=(2,), method="LSODA", rtol=1e-10, atol=1e-12).y[:, -1]
    wp, wm, vpm, vmm, _, _ = z.reshape(6, d)
    b_gd = wp * vpm - wm * vmm
    assert np.allclose(Xm @ b_gd, ym, atol=1e-6)

    R = _f("mtl.sequential_limit")
    b_pen = _argmin_on_affine(lambda b: np.sum(R(b, b_aux, alpha)), Xm, ym)
    np.testing.assert_allclose(b_gd, b_pen, atol=2e-5)


# --------------------------------------------------------------------------------------------------
# PT+FT
# --------------------------------------------------------------------------------------------------
def _argmin_on_affine(fun, X, y):
    """argmin fun(b) subject to X b = y, by BFGS over the null space of X, started at the min-norm solution."""
    b_p = np.linalg.lstsq(X, y, rcond=None)[0]
    _, _, vt = np.linalg.svd(X)
    N = vt[X.shape[0]:].T
    res = minimize(lambda z: fun(b_p + N @ z), np.zeros(N.shape[1]), method="BFGS", options={"gtol": 1e-10})
    return b_p + N @ res.x


def test_exact_penalty_vs_quadrature_of_inverted_flow() -> None:
    B = _f("ptft.general_start_flow")  # beta(S; beta0, M)
    Q = _f("ptft.exact_penalty")  # Q(beta; beta0, M)
    rng = np.random.default_rng(3)
    for _ in range(6):
        beta0 = rng.uniform(-1, 1)
        M = 2 * abs(beta0) + rng.uniform(0.05, 2)
        beta = rng.uniform(-4, 4)

        def S_of(x):
            return brentq(lambda S: B(S, beta0, M) - x, -20, 20, xtol=1e-14)

        val, _ = quad(S_of, 0, beta, epsabs=1e-12, epsrel=1e-12)
        assert Q(beta, beta0, M) == pytest.approx(val, abs=1e-9)
        # the start is the minimum
        assert Q(beta0, beta0, M) <= Q(beta, beta0, M) + 1e-12


def test_general_start_flow_vs_simulated_branches() -> None:
    B = _f("ptft.general_start_flow")
    wp, vp, wm, vm = 0.7, -0.2, 0.4, 1.1
    beta0, M = wp * vp - wm * vm, wp**2 + vp**2 + wm**2 + vm**2

    def rhs(t, z):  # g(t) = cos t, dS/dt = g
        g = np.cos(t)
        return [g * z[1], g * z[0], -g * z[3], -g * z[2], g]

    sol = solve_ivp(rhs, (0, 2.0), [wp, vp, wm, vm, 0.0], rtol=1e-11, atol=1e-12)
    z = sol.y[:, -1]
    assert z[0] * z[1] - z[2] * z[3] == pytest.approx(B(z[4], beta0, M), abs=1e-8)


@pytest.mark.parametrize("lam, beta_target", [(0.5, 0.8), (-0.3, -1.3), (1.0, 0.4)])
def test_dl_handoff_first_layer_and_k_vs_simulated_pretraining_flow(lam: float, beta_target: float) -> None:
    """Integrate the two-branch pretraining flow of one coordinate (scalar loss (beta - b)^2/2) from the [DL]
    init, stop it at beta_PT, apply the hand-off numerically, and compare M and Q' with ``ptft.dl_handoff``."""
    d = theory.get("ptft.dl_handoff")
    c_pt, gamma = 0.2, 0.35
    w0, v0 = np.sqrt(c_pt * (1 + lam) / 2), np.sqrt(c_pt * (1 - lam) / 2)

    def rhs(_t, z):
        g = beta_target - (z[0] * z[1] - z[2] * z[3])
        return [g * z[1], g * z[0], -g * z[3], -g * z[2]]

    z = solve_ivp(rhs, (0, 400.0), [w0, v0, w0, v0], method="LSODA", rtol=1e-12, atol=1e-14).y[:, -1]
    beta_pt = z[0] * z[1] - z[2] * z[3]
    assert beta_pt == pytest.approx(beta_target, abs=1e-9)
    W = z[0] + z[2]                                             # hand-off: both first layers <- w_p + w_m
    M_sim = 2 * W**2 + 2 * (gamma / np.sqrt(2)) ** 2
    M_th = float(d.extra["M"].subs(dict(zip(d.symbols[1:], (beta_pt, c_pt, lam, gamma)))))
    assert M_sim == pytest.approx(M_th, rel=1e-9)
    # the penalty's slope is the mirror map (1/2) asinh(2 beta / sqrt k) with sqrt k = M
    dQ = sp.lambdify(d.symbols, sp.diff(d.expr, d.symbols[0]), "mpmath")
    for b in (-2.0, 0.3, 1.7):
        assert float(dQ(b, beta_pt, c_pt, lam, gamma)) == pytest.approx(0.5 * np.arcsinh(2 * b / M_sim), rel=1e-9)


def _finetune(X, y, wp, vp, wm, vm, T=3000.0):
    n, d = X.shape

    def rhs(_t, z):
        a, b, c, e = z.reshape(4, d)
        g = -X.T @ (X @ (a * b - c * e) - y) / n
        return np.concatenate([g * b, g * a, -g * e, -g * c])

    z = solve_ivp(rhs, (0, T), np.concatenate([wp, vp, wm, vm]), method="LSODA", rtol=1e-10, atol=1e-12).y[:, -1]
    a, b, c, e = z.reshape(4, d)
    return a * b - c * e


def test_rescaled_start_penalty_is_the_implicit_bias_of_finetuning() -> None:
    """Gradient flow from the [LL] hand-off converges to argmin sum R_exact; the plotted penalty's argmin differs."""
    rng = np.random.default_rng(4)
    d, n = 5, 2
    X = rng.normal(size=(n, d))
    y = X @ np.array([0.6, 0.0, 0.4, -0.3, 0.0])
    b_aux = np.array([1.0, 0.5, 0.0, 0.0, -0.8])
    c, gamma = 0.8, 0.3
    act = np.sqrt(np.abs(b_aux))
    wp, wm = c * act * (b_aux > 0), c * act * (b_aux < 0)
    b_gd = _finetune(X, y, wp, np.full(d, gamma), wm, np.full(d, gamma))
    assert np.allclose(X @ b_gd, y, atol=1e-7)
    R = _f("ptft.rescaled_start")
    b_ex = _argmin_on_affine(lambda b: np.sum(R(b, b_aux, c, gamma)), X, y)
    np.testing.assert_allclose(b_gd, b_ex, atol=2e-5)
    # the same via the general-start penalty with M, beta0 from the weights
    Q = _f("ptft.exact_penalty")
    M, beta0 = wp**2 + wm**2 + 2 * gamma**2, (wp - wm) * gamma
    b_q = _argmin_on_affine(lambda b: np.sum(Q(b, beta0, M)), X, y)
    np.testing.assert_allclose(b_gd, b_q, atol=2e-5)
    # the plotted approximation (c = 1 form, with c^2|beta_aux| as its pretrained scale) lands elsewhere
    Rp = _f("ptft.plotted_penalty")
    b_pl = _argmin_on_affine(lambda b: np.sum(Rp(b, c**2 * b_aux, gamma)), X, y)
    assert np.max(np.abs(b_pl - b_gd)) > 1e-3


def test_plotted_vs_exact_at_gamma0() -> None:
    Rp, Re = _f("ptft.plotted_penalty"), _f("ptft.rescaled_start")
    for b, ba in [(0.3, 1.0), (2.0, -0.5), (-5.0, 0.01)]:
        assert Rp(b, ba, 0.0) == pytest.approx(4 * Re(b, 2 * ba, 1.0, 0.0), rel=1e-12)


def test_exact_limits_numerically() -> None:
    Q, Qr = _f("ptft.exact_penalty"), _f("ptft.exact_limits")
    beta0, M = 0.4, 1.5
    for b in (1e4, -1e4):
        assert Q(b, beta0, M) == pytest.approx(Qr(b, beta0, M), abs=1e-4)
    small = theory.get("ptft.exact_limits").extra["small_beta"]
    s = theory.get("ptft.exact_limits").symbols
    fs = sp.lambdify(s, small)
    assert Q(beta0 + 1e-2, beta0, M) == pytest.approx(fs(beta0 + 1e-2, beta0, M), abs=1e-9)


def test_nested_selection_slope_gap_vs_finite_differences() -> None:
    R = _f("ptft.rescaled_start")
    gap = _f("ptft.nested_feature_selection")
    c, b_aux = 0.5, 0.8
    for gamma in (1e-1, 1e-2, 1e-3):
        beta, h = 1e3, 1e-2

        def slope(ba):
            return (R(beta + h, ba, c, gamma) - R(beta - h, ba, c, gamma)) / (2 * h)

        fd = slope(0.0) - slope(b_aux)
        assert fd == pytest.approx(gap(b_aux, c, gamma), abs=1e-6)
    # divergence like (1/2) log(c^2 |beta_aux| / (2 gamma^2))
    g = 1e-4
    assert gap(b_aux, c, g) == pytest.approx(0.5 * np.log(c**2 * b_aux / (2 * g**2)), abs=1e-3)
    assert gap(-b_aux, c, g) == pytest.approx(0.5 * np.log(c**2 * b_aux / (2 * g**2)), abs=1e-3)


def test_selection_contrast_vs_finite_difference_slopes() -> None:
    """rho = (slope of R at a pretrained feature) / (slope at a new one), slopes by central differences of
    the rescaled-start penalty (alpha = 0) far out in the rich regime."""
    R = _f("ptft.rescaled_start")
    rho = _f("ptft.selection_contrast")
    beta, h = 1e4, 1e-1
    for b_aux, c, gamma in ((0.3, 0.1, 1e-3), (0.8, 0.5, 1e-2), (0.2, 0.03, 1e-5)):
        def slope(ba):
            return (R(beta + h, ba, c, gamma) - R(beta - h, ba, c, gamma)) / (2 * h)

        assert slope(b_aux) / slope(0.0) == pytest.approx(rho(beta, b_aux, c, gamma, 0.0), abs=1e-6)


def test_selection_contrast_level_sets_and_numerics() -> None:
    from ptft.numerics.ptft import selection_contrast, selection_contrast_level

    d = theory.get("ptft.selection_contrast")
    rho = d.lambdify()
    s = {x.name: x for x in d.symbols}
    lead = sp.lambdify((s["beta"], s["a"], s["c"], s["gamma"]), d.extra["rho_lead"])
    rng = np.random.default_rng(3)
    for _ in range(20):
        b, ba, c = rng.uniform(0.2, 2.0), rng.uniform(0.05, 1.0), 10 ** rng.uniform(-3, 0)
        g, al = 10 ** rng.uniform(-6, -1), 10 ** rng.uniform(-4, -2)
        # numerics (closed form) == SymPy statement, with and without a finite pretraining init
        assert selection_contrast(b, ba, c, g, al) == pytest.approx(rho(b, ba, c, g, al), rel=1e-12)
        assert selection_contrast(b, -ba, c, g) == pytest.approx(rho(b, ba, c, g, 0.0), rel=1e-12)
        r = rng.uniform(0.2, 0.9)
        assert lead(b, ba, c, float(selection_contrast_level(r, b, ba, c))) == pytest.approx(r, rel=1e-10)
    # rho -> 1 when gamma >> c sqrt|beta_aux| (pretraining forgotten); small when gamma << c sqrt|beta_aux|
    assert selection_contrast(0.7, 0.2, 1e-3, 1e-1) == pytest.approx(1.0, abs=0.05)
    assert selection_contrast(0.7, 0.2, 0.1, 1e-6) < 0.3
    with pytest.raises(ValueError, match="gamma"):
        selection_contrast(0.7, 0.2, 0.1, 0.0)
    with pytest.raises(ValueError, match="gamma"):
        selection_contrast(0.7, 0.2, 0.1, 2.0)   # 2|beta| <= gamma^2: not rich
    with pytest.raises(ValueError, match="rho"):
        selection_contrast_level(1.0, 0.7, 0.2, 0.1)


# --------------------------------------------------------------------------------------------------
# conservation law
# --------------------------------------------------------------------------------------------------
CONS = ["conservation.mtl", "conservation.ptft_plotted_gamma0", "conservation.ptft_exact_gamma0",
        "conservation.ptft_gamma", "conservation.ptft_exact_gamma"]


@pytest.mark.parametrize("name", CONS)
def test_conservation_law_at_random_points(name: str) -> None:
    d = theory.get(name)
    syms = d.symbols
    fO = sp.lambdify(syms, d.extra["O"])
    fFD = sp.lambdify(syms, d.extra["FD"])
    fR = sp.lambdify(syms, d.extra["R"])
    fG = sp.lambdify(syms, d.extra["GD"]) if d.extra["GD"] is not None else None
    beta_s, aux_s = conservation.positive_symbols()[:2]
    rng = np.random.default_rng(5)
    for _ in range(8):
        # beta in (1, 4) and gamma <= 0.3 keep the exact penalty positive (log R defined)
        args = {s: rng.uniform(1.0, 4.0) if s == beta_s else rng.uniform(0.05, 0.3) if s.name == "gamma"
                else rng.uniform(0.2, 2.0) for s in syms}
        vals = [args[s] for s in syms]
        total = fO(*vals) + fFD(*vals) + (0.5 * fG(*vals) if fG else 0.0)
        assert total == pytest.approx(1.0, abs=1e-10)
        # finite differences of log R in log beta, log beta_aux (and log gamma)
        eps = 1e-6

        def dlog(sym):
            up, dn = dict(args), dict(args)
            up[sym] *= np.exp(eps)
            dn[sym] *= np.exp(-eps)
            return (np.log(fR(*[up[s] for s in syms])) - np.log(fR(*[dn[s] for s in syms]))) / (2 * eps)

        fd_total = dlog(beta_s) + dlog(aux_s)
        if fG:
            fd_total += 0.5 * dlog(next(s for s in syms if s.name == "gamma"))
        assert fd_total == pytest.approx(1.0, abs=1e-6)
        assert dlog(beta_s) == pytest.approx(fO(*vals), abs=1e-6)


def test_reference_values_match_the_published_l_orders() -> None:
    d = theory.get("conservation.mtl_reference_values")
    v = d.extra["values"]
    np.testing.assert_allclose(np.round(v["mtl"], 2), [1.01, 1.71, 2.00])
    np.testing.assert_allclose(np.round(v["ptft_plotted"], 2), [1.23, 1.89, 2.00])
    # the same numbers straight from the penalties (finite differences of log R)
    Rm, Rp = _f("mtl.conditional_penalty"), _f("ptft.plotted_penalty")
    for i, ba in enumerate((0.01, 1.0, 100.0)):
        eps = 1e-6
        om = (np.log(Rm(np.exp(eps), ba)) - np.log(Rm(np.exp(-eps), ba))) / (2 * eps)
        op = (np.log(Rp(np.exp(eps), ba, 0.0)) - np.log(Rp(np.exp(-eps), ba, 0.0))) / (2 * eps)
        assert om == pytest.approx(v["mtl"][i], abs=1e-5)
        assert op == pytest.approx(v["ptft_plotted"][i], abs=1e-5)


def test_l_order_helpers() -> None:
    b, a, g, _ = conservation.positive_symbols()
    assert sp.simplify(conservation.l_order(b**2 * a, b) - 2) == 0
    assert sp.simplify(conservation.pretraining_dependence(b**2 / a, a) + 1) == 0
    assert sp.simplify(conservation.gamma_dependence(g**3, g) - 3) == 0


def test_expression_helpers() -> None:
    assert mtl.mtl_penalty_expr().has(sp.sqrt(sp.Symbol("beta_aux", real=True) ** 2
                                              + sp.Symbol("beta_main", real=True) ** 2))
    assert ptft.exact_penalty_expr().has(sp.asinh)
    assert ptft.plotted_penalty_expr(gamma=sp.Integer(0)).free_symbols == {sp.Symbol("beta", real=True),
                                                                         sp.Symbol("beta_aux", real=True)}
