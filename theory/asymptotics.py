"""Proportional-limit generalisation error of finetuning ([DL], Prop 4.2) and its closed-form limits.

In the proportional limit (d, n -> oo, alpha = n/d, Gaussian design) the minimiser of a separable penalty
sum_d q_d(beta_d) subject to the data decouples over coordinates into a *scalar channel*: coordinate B is
estimated from z = B + sqrt(theta0) Z, Z ~ N(0, 1), by the proximal map eta(z; theta) of its penalty.
The replica-symmetric fixed point fixes theta0 and theta. This module derives, as registered derivations:

``asymptotics.prox_map``
    the proximal map of a separable penalty, x - z + theta q'(x) = 0, and d eta/dz = 1/(1 + theta q''(eta)),
    for the finetuning penalty q_k of [DL] (q_k' = asinh(2x/sqrt k)/2, q_k'' = 1/sqrt(k + 4x^2)).
``asymptotics.fixed_point``
    the replica-symmetric equations and their interpolation limit E[d eta/dz] = alpha,
    theta0 = (sigma0^2 + E[(eta - B)^2])/alpha.
``asymptotics.regime_III``
    uniform l2 penalty (lazy, pretraining-independent): error = 1 - alpha + alpha sigma0^2/(1 - alpha).
``asymptotics.regime_II_weighted_l2``
    weighted l2 penalty: error = E[(theta/(w+theta))^2 B^2]/(1 - E[(w/(w+theta))^2]/alpha), E[w/(w+theta)] = alpha.
``asymptotics.regime_II_subset``
    regime II on a subset task (FT support inside the PT support, infinite weight contrast):
    error = 1 - alpha/rho_PT for alpha < rho_PT, 0 above.
``asymptotics.l1_state_evolution``
    soft thresholding (regime I, l1): the state-evolution map in closed form (Phi, phi).
``asymptotics.donoho_tanner``
    the l1 phase transition derived from the fixed point: delta = 2 phi/(tau + 2(phi - tau Phi(-tau))),
    rho = 1 - tau Phi(-tau)/phi(tau) (the Donoho-Tanner curve, as in [DMM]).
``asymptotics.regime_IV_bounds``
    a two-level weighted l1 proxy of regime IV on a subset task: its threshold is min_tau S_kappa(tau),
    non-decreasing in the weight contrast kappa, between rho_PT delta_c(rho_FT/rho_PT) and delta_c(rho_FT).

Numerical helpers (NumPy/SciPy, evaluated from the derived expressions, lambdified once): :func:`prox_qk`,
:func:`soft_threshold_risk`, :func:`donoho_tanner_curve`, :func:`donoho_tanner_rho`,
:func:`donoho_tanner_delta`, :func:`l1_threshold`, :func:`weighted_l1_threshold`, :func:`l2_uniform_error`,
:func:`weighted_l2_error`, :func:`regime_ii_subset_error`.

Conventions: X_ij ~ N(0, 1/d), alpha = n/d, noise variance sigma0^2, E[B^2] = 1 for the finetuning teacher;
"error" is the per-coordinate parameter MSE E[(eta - B)^2]. In the Donoho-Tanner plane delta = n/d = alpha
and rho = k/n (k nonzeros); the sparsity fraction is epsilon = k/d = rho delta (rho_FT of [DL]).

Sources: [DL] Anguita et al., arXiv:2602.20062 (Prop 4.2, the scalar channel and fixed point); [DMM] Donoho,
Maleki & Montanari, PNAS 2009 (state evolution of soft thresholding and its phase transition); [DT] Donoho &
Tanner, J. AMS 2009 (the l1 phase transition from random polytopes). Importing this module does no SymPy work.
"""
from __future__ import annotations

import functools
import math
from types import SimpleNamespace

import sympy as sp

from ptft.theory.derivation import (Check, Definition, Derivation, DerivationError, Display, Step, check_identity,
                                    register)

__all__ = [
    "prox_qk", "soft_threshold_risk", "donoho_tanner_curve", "donoho_tanner_rho", "donoho_tanner_delta",
    "l1_threshold", "weighted_l1_threshold", "l2_uniform_error", "weighted_l2_error", "regime_ii_subset_error",
]

_SRC_DL = "Anguita et al., arXiv:2602.20062 [DL] (Prop 4.2)"
_SRC_DMM = "Donoho, Maleki & Montanari, PNAS 2009 [DMM]; Donoho & Tanner, J. AMS 2009 [DT]"


@functools.lru_cache(maxsize=None)
def _s() -> SimpleNamespace:
    """Symbols of this module (and their printed names)."""
    from ptft.theory.latex import SYMBOL_MEANING, SYMBOL_TEX

    printed = {
        "deta_dz": r"\partial_z \eta", "E_deta": r"\mathbb{E}\,\partial_z \eta", "E_err": r"\mathbb{E}(\eta - B)^2",
        "E_var": r"\mathbb{E}\,(\theta^{-1} + q''(\eta))^{-1}", "Ex": r"\mathbb{E}", "qp": "q'", "qpp": "q''",
        "qp_k": "q_k'", "qpp_k": "q_k''", "err": r"\mathcal{E}", "err_III": r"\mathcal{E}_{\mathrm{III}}",
        "err_II": r"\mathcal{E}_{\mathrm{II}}", "alpha_IV": r"\alpha_{c}^{\mathrm{IV}}", "delta_c": r"\delta_{c}",
        "theta0": r"\theta_0", "sigma0": r"\sigma_0", "s_1": "s_1", "s_0": "s_0", "w_1": "w_1", "w_0": "w_0",
        "S_kappa": r"S_{\kappa}", "D_kappa": r"D_{\kappa}", "L_z": "L_z",
    }
    for k, v in printed.items():
        SYMBOL_TEX.setdefault(k, v)
    meaning = {
        "theta0": "variance of the effective Gaussian noise of the scalar channel ([DL], Prop 4.2)",
        "theta": "effective regularisation of the scalar channel ([DL], Prop 4.2)",
        "sigma0": "standard deviation of the label noise",
        "eta": "proximal map of the penalty (the scalar-channel estimate)",
        "tau": "soft threshold in units of the channel noise, $\\theta = \\tau\\sqrt{\\theta_0}$",
        "epsilon": "sparsity fraction $k/d$ of the finetuning teacher ($\\rho_{\\mathrm{FT}}$ of [DL])",
        "rho": "Donoho-Tanner sparsity $k/n$ ([DT], [DMM])",
        "delta": "undersampling $n/d$ ($= \\alpha$) in the Donoho-Tanner plane",
        "kappa": "weight contrast $w_{\\mathrm{on}}/w_{\\mathrm{off}}$ of the two-level weighted l1 proxy (regime IV)",
        "rho_PT": "fraction of coordinates used by the pretraining task",
        "rho_FT": "fraction of coordinates used by the finetuning task",
    }
    for k, v in meaning.items():
        SYMBOL_MEANING.setdefault(k, v)
    return SimpleNamespace(
        x=sp.Symbol("x", real=True), z=sp.Symbol("z", real=True), B=sp.Symbol("B", real=True),
        Z=sp.Symbol("Z", real=True), th=sp.Symbol("theta", positive=True), th0=sp.Symbol("theta0", positive=True),
        al=sp.Symbol("alpha", positive=True), sig=sp.Symbol("sigma0", nonnegative=True),
        k=sp.Symbol("k", positive=True), w=sp.Symbol("w", positive=True), eta=sp.Symbol("eta", real=True),
        gext=sp.Symbol("gamma_ext", nonnegative=True), mu=sp.Symbol("mu", real=True),
        tau=sp.Symbol("tau", positive=True), eps=sp.Symbol("epsilon", positive=True),
        rho=sp.Symbol("rho", positive=True), delta=sp.Symbol("delta", positive=True),
        kap=sp.Symbol("kappa", positive=True), rpt=sp.Symbol("rho_PT", positive=True),
        rft=sp.Symbol("rho_FT", positive=True), w1=sp.Symbol("w_1", positive=True), w0=sp.Symbol("w_0", positive=True),
        s1=sp.Symbol("s_1", positive=True), s0=sp.Symbol("s_0", positive=True), t=sp.Symbol("t", positive=True),
        E_deta=sp.Symbol("E_deta"), E_err=sp.Symbol("E_err"), E_var=sp.Symbol("E_var"),
        deta=sp.Symbol("deta_dz"), err=sp.Symbol("err"), err3=sp.Symbol("err_III"), err2=sp.Symbol("err_II"),
        Ex=sp.Function("Ex"), Phi=sp.Function("Phi"), phi=sp.Function("phi"), r=sp.Function("r"),
        Psi=sp.Function("Psi"), q=sp.Function("q"), qp=sp.Function("qp"), qpp=sp.Function("qpp"),
        qpp_k=sp.Function("qpp_k"), etaf=sp.Function("eta"),
    )


def _gauss_defs() -> tuple[Definition, Definition]:
    """Phi(x) = (1 + erf(x/sqrt 2))/2 and phi(x) = exp(-x^2/2)/sqrt(2 pi)."""
    s = _s()
    return (Definition(s.Phi(s.x), (1 + sp.erf(s.x / sp.sqrt(2))) / 2, "the standard normal distribution function"),
            Definition(s.phi(s.x), sp.exp(-s.x**2 / 2) / sp.sqrt(2 * sp.pi), "its density"))


def _Phi(x: sp.Expr) -> sp.Expr:
    return (1 + sp.erf(x / sp.sqrt(2))) / 2


def _phi(x: sp.Expr) -> sp.Expr:
    return sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)


def _to_gauss_names(expr: sp.Expr) -> sp.Expr:
    """``expr`` with Phi and phi written out (erf, exp)."""
    s = _s()
    return expr.replace(s.Phi, sp.Lambda(s.x, _Phi(s.x))).replace(s.phi, sp.Lambda(s.x, _phi(s.x)))


def _expect_Z(expr: sp.Expr, Z: sp.Symbol) -> sp.Expr:
    """E over Z ~ N(0, 1) of a polynomial in Z (moments: E Z^n = (n-1)!! for even n, 0 for odd n)."""
    poly = sp.Poly(sp.expand(expr), Z)
    out = sp.Integer(0)
    for (n,), coeff in poly.terms():
        out += coeff * (sp.factorial2(n - 1) if n % 2 == 0 else 0)
    return sp.expand(out)


# --------------------------------------------------------------------------------------------------
# asymptotics.prox_map
# --------------------------------------------------------------------------------------------------
@register("asymptotics.prox_map", title="Scalar channel and proximal map of the finetuning penalty")
def prox_map() -> Derivation:
    """eta(z) = argmin_x (x - z)^2/(2 theta) + q(x): x - z + theta q'(x) = 0, d eta/dz = 1/(1 + theta q''(eta)).

    For q_k of [DL]: q_k' = asinh(2x/sqrt k)/2, q_k'' = 1/sqrt(k + 4x^2), so
    d eta/dz = sqrt(k + 4 eta^2)/(theta + sqrt(k + 4 eta^2)).
    Source: [DL] (Prop 4.2: the scalar channel); derived here.
    """
    from ptft.theory import ptft

    s = _s()
    x, z, th = s.x, s.z, s.th
    L = (x - z) ** 2 / (2 * th) + s.q(x)
    stationary = sp.expand(th * sp.diff(L, x))
    # implicit differentiation of F(eta(z), z) = eta - z + theta q'(eta) = 0
    e = s.etaf(z)
    F = e - z + th * s.qp(e)
    dF = sp.diff(F, z).replace(lambda a: isinstance(a, sp.Subs) or (isinstance(a, sp.Derivative) and a.expr == s.qp(e)),
                               lambda a: s.qpp(e))
    sol = sp.solve(dF, sp.Derivative(e, z))
    if len(sol) != 1:
        raise DerivationError(f"asymptotics.prox_map: implicit derivative not unique: {sol}")
    deta_generic = sp.simplify(sol[0])
    q2 = sp.Symbol("q2", real=True)
    checks = [check_identity(deta_generic.subs(s.qpp(e), q2), 1 / (1 + th * q2),
                             "d eta/dz = 1/(1 + theta q''(eta)) (implicit differentiation, with q''(eta) as a number)")]
    # q_k
    qk = ptft.q_k(x, sp.sqrt(s.k))
    qk1 = sp.diff(qk, x)
    qk2 = sp.diff(qk, x, 2)
    checks.append(check_identity(qk1, sp.asinh(2 * x / sp.sqrt(s.k)) / 2, "q_k'(x) = asinh(2x/sqrt k)/2"))
    checks.append(check_identity(qk2, 1 / sp.sqrt(s.k + 4 * x**2), "q_k''(x) = 1/sqrt(k + 4x^2)"))
    deta_qk = sp.sqrt(s.k + 4 * s.eta**2) / (th + sp.sqrt(s.k + 4 * s.eta**2))
    checks.append(check_identity(deta_generic.subs(s.qpp(e), qk2.subs(x, s.eta)), deta_qk,
                                 "d eta/dz for q_k = sqrt(k + 4 eta^2)/(theta + sqrt(k + 4 eta^2))"))
    # the prox equation has exactly one root: its x-derivative is 1 + theta q_k'' > 0
    checks.append(Check("the prox equation is strictly increasing in x (1 + theta q_k'' > 0): one root, between 0 and z "
                        "(proved: SymPy's sign assumptions)",
                        passed=bool(sp.simplify(1 + th * qk2).is_positive)))
    if not checks[-1].passed:
        raise DerivationError("asymptotics.prox_map: monotonicity of the prox equation not established")
    steps = [
        Step("In the proportional limit each coordinate $B$ of the finetuning teacher is seen through the scalar "
             "channel $z = B + \\sqrt{\\theta_0} Z$, $Z \\sim N(0, 1)$, and estimated by the proximal map "
             "$\\eta(z) = \\arg\\min_x L_z(x)$ of its penalty $q$, with", sp.Eq(sp.Function("L_z")(x), L)),
        Step("Its stationarity condition, multiplied by $\\theta$, is the prox equation", sp.Eq(stationary, 0)),
        Step("Differentiating $\\eta(z) - z + \\theta q'(\\eta(z)) = 0$ in $z$",
             sp.Eq(sp.Derivative(e, z), deta_generic)),
        Step("For the finetuning penalty $q_k$ of [DL] (derivation ptft.dl_handoff)",
             sp.Tuple(sp.Eq(sp.Function("qp_k")(x), sp.asinh(2 * x / sp.sqrt(s.k)) / 2),
                      sp.Eq(s.qpp_k(x), 1 / sp.sqrt(s.k + 4 * x**2)))),
        Step("so the proximal map of $q_k$ is the root of a strictly increasing function of $x$",
             sp.Eq(x - z + th / 2 * sp.asinh(2 * x / sp.sqrt(s.k)), 0)),
    ]
    display = Display(sp.Eq(s.deta, 1 / (1 + th * s.qpp_k(s.eta))),
                      where=(Definition(s.qpp_k(x), 1 / sp.sqrt(s.k + 4 * x**2),
                                        "the curvature of $q_k$; $\\eta$ is the root of "
                                        "$\\eta - z + (\\theta/2) \\asinh(2\\eta/\\sqrt{k}) = 0$"),))
    return Derivation(
        name="asymptotics.prox_map",
        title="Scalar channel and proximal map of the finetuning penalty",
        statement=sp.Eq(s.deta, deta_qk),
        display=display,
        symbols=(s.eta, th, s.k),
        assumptions=("$\\theta > 0$, $k > 0$; the penalty is separable over coordinates",),
        source=f"{_SRC_DL}; derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Between the two regimes of $q_k$: for $|\\eta| \\ll \\sqrt{k}$ the map is linear, "
               "$\\eta = z\\sqrt{k}/(\\sqrt{k} + \\theta)$ (lazy); for $|\\eta| \\gg \\sqrt{k}$ the slope "
               "$q_k' \\approx \\tfrac12 \\log(4|\\eta|/\\sqrt{k})$ grows only logarithmically (rich, l1-like)."),
        extra={"qk1": qk1, "qk2": qk2},
    )


# --------------------------------------------------------------------------------------------------
# asymptotics.fixed_point
# --------------------------------------------------------------------------------------------------
@register("asymptotics.fixed_point", title="Replica-symmetric fixed point in the interpolation limit")
def fixed_point() -> Derivation:
    """theta0 = (sigma0^2 + E[(eta - B)^2])/alpha and E[d eta/dz] = alpha (interpolation limit).

    The replica-symmetric equations, in the form of the [DL] authors' public code: theta0 = (sigma0^2 +
    E[(eta - B)^2])/alpha and theta = gamma_ext + (1/alpha) E[(1/theta + q''(eta))^-1]. With
    (1/theta + q'')^-1 = theta d eta/dz the second equation is theta (1 - E[d eta/dz]/alpha) = gamma_ext; the
    interpolator reached by gradient flow is the limit gamma_ext -> 0 with theta > 0, E[d eta/dz] = alpha.
    Source: [DL] (Prop 4.2); derived here.
    """
    s = _s()
    th, al = s.th, s.al
    qpp = sp.Symbol("q_pp", positive=True)
    checks = [check_identity(1 / (1 / th + qpp), th / (1 + th * qpp),
                             "(1/theta + q'')^-1 = theta/(1 + theta q'') = theta d eta/dz (asymptotics.prox_map)")]
    m = sp.Symbol("m", positive=True)  # E[d eta/dz]
    gamma_of = sp.solve(sp.Eq(th, s.gext + th * m / al), s.gext)[0]
    checks.append(check_identity(gamma_of, th * (1 - m / al), "gamma_ext = theta (1 - E[d eta/dz]/alpha)"))
    lim = sp.solve(sp.Eq(gamma_of / th, 0), m)
    checks.append(Check("gamma_ext -> 0 at theta > 0: E[d eta/dz] = alpha (SymPy solve)", passed=(lim == [al])))
    if lim != [al]:
        raise DerivationError(f"asymptotics.fixed_point: interpolation limit gave {lim}")
    err_of = sp.solve(sp.Eq(s.th0, (s.sig**2 + s.E_err) / al), s.E_err)[0]
    checks.append(check_identity(err_of, al * s.th0 - s.sig**2, "E[(eta - B)^2] = alpha theta0 - sigma0^2"))
    steps = [
        Step("The replica-symmetric fixed point ([DL], Prop 4.2, as implemented in the authors' public code), with "
             "$\\eta = \\eta(B + \\sqrt{\\theta_0} Z)$, the expectations over the coordinate groups, $B$ and $Z$, "
             "and an explicit ridge $\\gamma_{\\mathrm{ext}} \\ge 0$",
             sp.Tuple(sp.Eq(s.th0, (s.sig**2 + s.E_err) / al), sp.Eq(th, s.gext + s.E_var / al))),
        Step("By derivation asymptotics.prox_map, $(\\theta^{-1} + q'')^{-1} = \\theta\\,\\partial_z\\eta$, so the second "
             "equation reads", sp.Eq(s.gext, th * (1 - s.E_deta / al))),
        Step("Gradient flow reaches the interpolator, the limit $\\gamma_{\\mathrm{ext}} \\to 0$ at $\\theta > 0$",
             sp.Eq(s.E_deta, al)),
        Step("and the error (per-coordinate parameter MSE) follows from the first equation",
             sp.Eq(s.err, al * s.th0 - s.sig**2)),
    ]
    return Derivation(
        name="asymptotics.fixed_point",
        title="Replica-symmetric fixed point in the interpolation limit",
        statement=sp.Tuple(sp.Eq(s.th0, (s.sig**2 + s.E_err) / al), sp.Eq(s.E_deta, al)),
        symbols=(s.E_err, s.sig, al),
        assumptions=("Gaussian design $X_{ij} \\sim N(0, 1/d)$, $n, d \\to \\infty$ at $\\alpha = n/d$; "
                     "replica symmetry; label noise of variance $\\sigma_0^2$",
                     "$\\mathcal{E} = \\mathbb{E}(\\eta - B)^2$ is the parameter error; the test error adds "
                     "$\\sigma_0^2$ for isotropic inputs"),
        source=f"{_SRC_DL}; interpolation limit derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("The form of the equations is the one of the [DL] authors' public replica code (the effective "
               "regularisation equation with an explicit ridge $\\gamma_{\\mathrm{ext}}$); the paper's own statement "
               "of Prop 4.2 could not be consulted for this derivation."),
    )


# --------------------------------------------------------------------------------------------------
# asymptotics.regime_III
# --------------------------------------------------------------------------------------------------
@register("asymptotics.regime_III", title="Generalisation error of the uniform l2 penalty (regime III)")
def regime_III() -> Derivation:
    """Uniform l2 penalty x^2/(2w): error = 1 - alpha + alpha sigma0^2/(1 - alpha) (E[B^2] = 1, alpha < 1).

    Source: [DL] (regime III); derived here from the fixed point (asymptotics.fixed_point).
    """
    from ptft.theory import ptft

    s = _s()
    x, z, th, al, w = s.x, s.z, s.th, s.al, s.w
    checks, steps = [], []
    ser = sp.series(ptft.q_k(x, sp.sqrt(s.k)), x, 0, 4).removeO()
    checks.append(check_identity(ser, x**2 / (2 * sp.sqrt(s.k)), "lazy limit: q_k(x) = x^2/(2 sqrt k) + O(x^4)"))
    steps.append(Step("In the lazy limit ($|x| \\ll \\sqrt{k}$) the finetuning penalty is quadratic; in regime III its "
                      "scale $w = \\sqrt{k}$ is the same for every coordinate",
                      sp.Eq(sp.Function("q_k")(x), ser)))
    eta = sp.solve(sp.Eq(x - z + th * sp.diff(x**2 / (2 * w), x), 0), x)[0]
    checks.append(check_identity(eta, w * z / (w + th), "prox of x^2/(2w): eta = w z/(w + theta)"))
    sfac = w / (w + th)
    steps.append(Step("The proximal map (derivation asymptotics.prox_map) is linear, $\\eta = s z$ with "
                      "$s = w/(w + \\theta)$; the interpolation limit $\\mathbb{E}\\,\\partial_z\\eta = s = \\alpha$ gives",
                      sp.Eq(th, sp.solve(sp.Eq(sfac, al), th)[0])))
    mse_given_B = _expect_Z((sfac * (s.B + sp.sqrt(s.th0) * s.Z) - s.B) ** 2, s.Z)
    checks.append(check_identity(mse_given_B, (1 - sfac) ** 2 * s.B**2 + sfac**2 * s.th0,
                                 "E_Z[(s(B + sqrt(theta0) Z) - B)^2] = (1-s)^2 B^2 + s^2 theta0"))
    m2 = sp.Symbol("m_2", positive=True)  # E[B^2]
    th0 = sp.solve(sp.Eq(al * s.th0, s.sig**2 + (1 - al) ** 2 * m2 + al**2 * s.th0), s.th0)[0]
    th0_form = (s.sig**2 + (1 - al) ** 2 * m2) / (al * (1 - al))
    checks.append(check_identity(th0, th0_form, "theta0 = (sigma0^2 + (1 - alpha)^2 E[B^2])/(alpha (1 - alpha))",
                                 ranges={al: (0.05, 0.95)}))
    err = sp.factor(sp.simplify(al * th0 - s.sig**2))
    err_form = (1 - al) * m2 + al * s.sig**2 / (1 - al)
    checks.append(check_identity(err, err_form, "error = (1 - alpha) E[B^2] + alpha sigma0^2/(1 - alpha)",
                                 ranges={al: (0.05, 0.95)}))
    steps.append(Step("Averaging over $Z$ with $s = \\alpha$ and $\\mathbb{E}B^2 = m_2$, the first fixed-point equation is "
                      "linear in $\\theta_0$", sp.Eq(al * s.th0, s.sig**2 + (1 - al) ** 2 * m2 + al**2 * s.th0)))
    steps.append(Step("so $\\theta_0$ and the error $\\mathcal{E} = \\alpha\\theta_0 - \\sigma_0^2$ are",
                      sp.Tuple(sp.Eq(s.th0, th0_form), sp.Eq(s.err3, err_form))))
    final = err_form.subs(m2, 1)
    steps.append(Step("Noiseless, with $\\mathbb{E}B^2 = 1$", sp.Eq(s.err3, final.subs(s.sig, 0))))
    checks.append(check_identity(final.subs(s.sig, 0), 1 - al, "noiseless, E[B^2] = 1: error = 1 - alpha"))
    return Derivation(
        name="asymptotics.regime_III",
        title="Generalisation error of the uniform l2 penalty (regime III)",
        statement=sp.Eq(s.err3, final),
        symbols=(al, s.sig),
        assumptions=("$0 < \\alpha < 1$; $\\mathbb{E}B^2 = 1$; a uniform quadratic penalty (the lazy limit of "
                     "$q_k$ with one scale for all coordinates)",),
        source=f"{_SRC_DL}; derived here from derivation asymptotics.fixed_point",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Independent of the scale $w$ and of pretraining, as regime III should be. The noiseless error "
               "$1 - \\alpha$ is that of the minimum-norm interpolator (the projection of $B$ onto the row space)."),
    )


# --------------------------------------------------------------------------------------------------
# asymptotics.regime_II_weighted_l2
# --------------------------------------------------------------------------------------------------
@register("asymptotics.regime_II_weighted_l2", title="Generalisation error of a weighted l2 penalty (regime II)")
def regime_II_weighted_l2() -> Derivation:
    """error = E[(theta/(w+theta))^2 B^2] / (1 - E[(w/(w+theta))^2]/alpha), with E[w/(w+theta)] = alpha.

    Penalty sum_d x_d^2/(2 w_d) with random weights w (e.g. w = 4|beta_PT| on pretrained coordinates).
    Source: [DL] (regime II); derived here from the fixed point (asymptotics.fixed_point).
    """
    s = _s()
    th, al, w = s.th, s.al, s.w
    checks, steps = [], []
    sfac = w / (w + th)
    mse_given = _expect_Z((sfac * (s.B + sp.sqrt(s.th0) * s.Z) - s.B) ** 2, s.Z)
    checks.append(check_identity(mse_given, (th / (w + th)) ** 2 * s.B**2 + sfac**2 * s.th0,
                                 "E_Z[(s(B + sqrt(theta0) Z) - B)^2] = (theta/(w+theta))^2 B^2 + s^2 theta0"))
    S2, T = sp.symbols("S_2 T", positive=True)  # E[s^2], E[(1-s)^2 B^2]
    th0 = sp.solve(sp.Eq(al * s.th0, s.sig**2 + T + S2 * s.th0), s.th0)[0]
    err = sp.simplify(al * th0 - s.sig**2)
    err_form = (T + s.sig**2 * S2 / al) / (1 - S2 / al)
    checks.append(check_identity(err, err_form, "error = (E[(1-s)^2 B^2] + sigma0^2 E[s^2]/alpha)/(1 - E[s^2]/alpha)",
                                 ranges={al: (0.5, 0.9), S2: (0.01, 0.4)}))
    Ex = s.Ex
    shown = {T: Ex((th / (w + th)) ** 2 * s.B**2), S2: Ex((w / (w + th)) ** 2)}
    steps += [
        Step("Per coordinate the penalty is $x^2/(2w)$ with its own weight $w$ (the lazy limit of $q_{k_d}$, "
             "$w = \\sqrt{k_d}$; in regime II $w = 4|\\beta_{\\mathrm{PT}}|$ on pretrained coordinates); its proximal map "
             "is $\\eta = s z$, $s = w/(w + \\theta)$, and the interpolation limit (derivation asymptotics.fixed_point) "
             "fixes $\\theta$ by", sp.Eq(Ex(sfac), al)),
        Step("Given $B$ and $w$, the average over $Z$ of the squared error is", sp.Eq(
            sp.Function("Ex_Z")((s.eta - s.B) ** 2), (th / (w + th)) ** 2 * s.B**2 + sfac**2 * s.th0)),
        Step("so the first fixed-point equation is linear in $\\theta_0$; solving it, the error "
             "$\\mathcal{E} = \\alpha\\theta_0 - \\sigma_0^2$ is", sp.Eq(s.err2, err_form.xreplace(shown))),
    ]
    from ptft.theory.latex import SYMBOL_TEX

    SYMBOL_TEX.setdefault("Ex_Z", r"\mathbb{E}_Z")
    noiseless = err_form.subs(s.sig, 0).xreplace(shown)
    statement = sp.Tuple(sp.Eq(s.err2, noiseless), sp.Eq(Ex(sfac), al))
    # uniform weights recover regime III
    unif = err_form.subs({T: (1 - al) ** 2, S2: al**2})
    checks.append(check_identity(unif, 1 - al + al * s.sig**2 / (1 - al),
                                 "constant w (s = alpha, E[B^2] = 1): the regime III error 1 - alpha + alpha sigma0^2/(1-alpha)",
                                 ranges={al: (0.05, 0.95)}))
    steps.append(Step("With one weight for all coordinates ($s = \\alpha$, $\\mathbb{E}B^2 = 1$) this is the error of "
                      "derivation asymptotics.regime_III", sp.Eq(s.err3, 1 - al + al * s.sig**2 / (1 - al))))
    return Derivation(
        name="asymptotics.regime_II_weighted_l2",
        title="Generalisation error of a weighted l2 penalty (regime II)",
        statement=statement,
        symbols=(al, th, w),
        assumptions=("Noiseless ($\\sigma_0 = 0$; the noisy form is in the steps); weights $w > 0$ independent of the "
                     "design; $\\mathbb{E}(w/(w + \\theta))^2 < \\alpha$ (a stable fixed point)",),
        source=f"{_SRC_DL}; derived here from derivation asymptotics.fixed_point",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("The expectations are over the joint law of the weight $w$ and the teacher coordinate $B$ (the "
               "coordinate groups of the task). The quadratic approximation of $q_k$ needs "
               "$|\\beta| \\ll \\sqrt{k_d}$ (derivation regimes.limits, regime II)."),
        extra={"err_general": err_form, "S2": S2, "T": T},
    )


# --------------------------------------------------------------------------------------------------
# asymptotics.regime_II_subset
# --------------------------------------------------------------------------------------------------
@register("asymptotics.regime_II_subset", title="Regime II on a subset task: error 1 - alpha/rho_PT")
def regime_II_subset() -> Derivation:
    """error = 1 - alpha/rho_PT for alpha < rho_PT, 0 above: weighted l2, infinite contrast, FT support in PT support.

    Source: [DL] (regime II on a subset task); derived here from asymptotics.regime_II_weighted_l2.
    """
    s = _s()
    al, th, rho = s.al, s.th, s.rpt
    s1, s0, w1, w0 = s.s1, s.s0, s.w1, s.w0
    d = regime_II_weighted_l2()
    errT = d.extra["err_general"].subs(s.sig, 0)
    S2, T = d.extra["S2"], d.extra["T"]
    checks, steps = [], []
    ES = rho * s1 + (1 - rho) * s0
    ES2 = rho * s1**2 + (1 - rho) * s0**2
    ET = rho * (1 - s1) ** 2 / rho
    steps.append(Step("Two weight levels, $w_1$ on the coordinates the pretraining task used (a fraction "
                      "$\\rho_{\\mathrm{PT}}$) and $w_0$ on the others, with $s_i = w_i/(w_i + \\theta)$; on a subset task "
                      "($\\omega = 1$) the teacher is nonzero only on the pretrained coordinates, where "
                      "$\\mathbb{E}B^2 = 1/\\rho_{\\mathrm{PT}}$, so the moments of derivation asymptotics.regime_II_weighted_l2 are",
                      sp.Tuple(sp.Eq(s.Ex(sp.Symbol("s")), ES), sp.Eq(s.Ex(sp.Symbol("s") ** 2), ES2),
                               sp.Eq(s.Ex((1 - sp.Symbol("s")) ** 2 * s.B**2), sp.simplify(ET)))))
    # alpha < rho: w0 -> 0 at fixed theta: s0 -> 0
    s0_lim = sp.limit(w0 / (w0 + th), w0, 0, "+")
    s1_sol = sp.solve(sp.Eq(ES.subs(s0, s0_lim), al), s1)[0]
    err_below = sp.simplify(errT.subs({T: ET, S2: ES2}).subs(s0, s0_lim).subs(s1, s1_sol))
    checks.append(check_identity(err_below, 1 - al / rho, "alpha < rho_PT, w0/w1 -> 0: error = 1 - alpha/rho_PT",
                                 ranges={al: (0.01, 0.09), rho: (0.1, 0.5)}))
    steps.append(Step("Below $\\rho_{\\mathrm{PT}}$: as $w_0/w_1 \\to 0$ at fixed $\\theta$, $s_0 \\to 0$; the interpolation "
                      "condition gives $s_1 = \\alpha/\\rho_{\\mathrm{PT}}$ and the error",
                      sp.Tuple(sp.Eq(sp.Limit(s0, w0, 0, "+"), s0_lim), sp.Eq(s1, s1_sol), sp.Eq(s.err2, err_below))))
    # alpha > rho: theta = t w0 -> s0 = 1/(1+t), s1 -> 1
    tt = s.t
    s0_t = sp.simplify((w0 / (w0 + tt * w0)))
    s1_t = sp.limit(w1 / (w1 + tt * w0), w0, 0, "+")
    t_sol = sp.solve(sp.Eq(ES.subs({s0: s0_t, s1: s1_t}), al), tt)
    if len(t_sol) != 1:
        raise DerivationError(f"asymptotics.regime_II_subset: t not unique: {t_sol}")
    t_sol = t_sol[0]
    checks.append(check_identity(t_sol, (1 - al) / (al - rho), "alpha > rho_PT: theta = t w0 with t = (1-alpha)/(alpha-rho_PT)",
                                 ranges={al: (0.6, 0.9), rho: (0.1, 0.5)}))
    num = sp.simplify(ET.subs(s1, s1_t))
    den = sp.simplify((1 - ES2 / al).subs({s0: s0_t, s1: s1_t}).subs(tt, t_sol))
    den_form = (al - rho) * (1 - al) / (al * (1 - rho))
    checks.append(check_identity(den, den_form, "alpha > rho_PT: 1 - E[s^2]/alpha -> (alpha - rho)(1 - alpha)/(alpha(1 - rho)) > 0",
                                 ranges={al: (0.6, 0.9), rho: (0.1, 0.5)}))
    checks.append(Check("alpha > rho_PT: the numerator E[(1-s)^2 B^2] -> 0 while the denominator stays positive: "
                        "error -> 0", passed=bool(num == 0)))
    if num != 0:
        raise DerivationError("asymptotics.regime_II_subset: numerator does not vanish above rho_PT")
    steps.append(Step("Above $\\rho_{\\mathrm{PT}}$ the interpolation condition needs the unpretrained coordinates: "
                      "$\\theta = t w_0$ with $t$ fixed as $w_0 \\to 0$, so $s_0 = 1/(1+t)$, $s_1 \\to 1$, and the "
                      "numerator of the error vanishes while its denominator stays positive",
                      sp.Tuple(sp.Eq(tt, t_sol), sp.Eq(1 - s.Ex(sp.Symbol("s") ** 2) / al, den_form))))
    stmt = sp.Eq(s.err2, sp.Piecewise((1 - al / rho, al < rho), (0, True)))
    return Derivation(
        name="asymptotics.regime_II_subset",
        title="Regime II on a subset task: error 1 - alpha/rho_PT",
        statement=stmt,
        symbols=(al, rho),
        assumptions=("Noiseless; $\\mathbb{E}B^2 = 1$; the finetuning support lies inside the pretraining support "
                     "($\\omega = 1$); weight contrast $w_0/w_1 \\to 0$ (regime II: $w_0 \\propto c_{\\mathrm{PT}} \\to 0$, "
                     "$w_1 = 4|\\beta_{\\mathrm{PT}}|$)", "$0 < \\alpha < 1$, $0 < \\rho_{\\mathrm{PT}} < 1$"),
        source=f"{_SRC_DL}; derived here from derivation asymptotics.regime_II_weighted_l2",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("The weighted $\\ell_2$ interpolator restricted to the $\\rho_{\\mathrm{PT}} d$ pretrained coordinates "
               "is the minimum-norm solution of an $n \\times \\rho_{\\mathrm{PT}} d$ system, hence the error "
               "$1 - \\alpha/\\rho_{\\mathrm{PT}}$ of derivation asymptotics.regime_III with $\\alpha$ replaced by "
               "$\\alpha/\\rho_{\\mathrm{PT}}$; exact recovery needs $\\alpha \\ge \\rho_{\\mathrm{PT}}$, however sparse "
               "the finetuning task."),
    )


# --------------------------------------------------------------------------------------------------
# asymptotics.l1_state_evolution
# --------------------------------------------------------------------------------------------------
def _risk_closed_form(mu: sp.Expr, tau: sp.Expr) -> sp.Expr:
    """r(mu, tau) in Phi, phi (undefined functions of the module)."""
    s = _s()
    P, p = s.Phi, s.phi
    return (mu**2 * (P(tau - mu) - P(-tau - mu)) + (1 + tau**2) * (P(mu - tau) + P(-mu - tau))
            - (tau + mu) * p(tau - mu) - (tau - mu) * p(tau + mu))


@register("asymptotics.l1_state_evolution", title="State evolution of soft thresholding in closed form (regime I)")
def l1_state_evolution() -> Derivation:
    """Psi(theta0) = (sigma0^2 + theta0 E_B[r(B/sqrt theta0, tau)])/alpha, r the soft-thresholding risk in Phi, phi.

    Regime I is the l1 penalty, whose proximal map is soft thresholding eta(z; theta) = sign(z)(|z| - theta)_+;
    with theta = tau sqrt(theta0) the first fixed-point equation is theta0 = Psi(theta0).
    Source: [DMM] (state evolution), [DL] (regime I); the Gaussian integrals are done here by SymPy.
    """
    from ptft.theory import ptft

    s = _s()
    z, mu, tau, th = s.z, s.mu, s.tau, s.th
    checks, steps = [], []
    # rich limit of q_k: (|x|/2)(log(4|x|/sqrt k) - 1)
    xp = sp.Symbol("x", positive=True)
    rich = xp / 2 * (sp.log(4 * xp / sp.sqrt(s.k)) - 1) + sp.sqrt(s.k) / 4
    lim = sp.limit(ptft.q_k(xp, sp.sqrt(s.k)) - rich, xp, sp.oo)
    checks.append(Check("rich limit: q_k(x) - (x/2)(log(4x/sqrt k) - 1) - sqrt(k)/4 -> 0 as x -> oo (SymPy limit)",
                        passed=bool(lim == 0)))
    if lim != 0:
        raise DerivationError(f"asymptotics.l1_state_evolution: rich limit of q_k off by {lim}")
    steps.append(Step("In the rich limit ($|x| \\gg \\sqrt{k}$) the finetuning penalty is an $\\ell_1$ penalty with a "
                      "slowly varying (logarithmic) weight; with one scale for every coordinate (regime I) it is "
                      "$\\ell_1$, whose proximal map is soft thresholding, $\\eta(z) = \\sign(z)(|z| - \\theta)_+$",
                      sp.Eq(sp.Function("q_k")(xp), rich + sp.Order(1 / xp, (xp, sp.oo)))))
    # soft thresholding satisfies the prox condition: z > theta: x = z - theta solves x - z + theta = 0
    checks.append(check_identity((z - th) - z + th, sp.Integer(0), "z > theta: x = z - theta solves x - z + theta sign(x) = 0"))
    # Gaussian integrals: z = mu + Z, threshold tau (units of sqrt(theta0))
    zz = sp.Symbol("zeta", real=True)
    dens = sp.exp(-zz**2 / 2) / sp.sqrt(2 * sp.pi)
    I_up = sp.integrate((zz - tau) ** 2 * dens, (zz, tau - mu, sp.oo))
    I_lo = sp.integrate((zz + tau) ** 2 * dens, (zz, -sp.oo, -tau - mu))
    I_mid = sp.integrate(mu**2 * dens, (zz, -tau - mu, tau - mu))
    r_derived = I_up + I_lo + I_mid
    r_form = _risk_closed_form(mu, tau)
    checks.append(check_identity(r_derived, _to_gauss_names(r_form),
                                 "r(mu, tau) = E[(eta(mu + Z; tau) - mu)^2]: three Gaussian integrals in closed form",
                                 ranges={mu: (-3.0, 3.0)}))
    deta = sp.integrate(dens, (zz, tau - mu, sp.oo)) + sp.integrate(dens, (zz, -sp.oo, -tau - mu))
    checks.append(check_identity(deta, _to_gauss_names(s.Phi(mu - tau) + s.Phi(-mu - tau)),
                                 "E[d eta/dz] = P(|mu + Z| > tau) = Phi(mu - tau) + Phi(-mu - tau)",
                                 ranges={mu: (-3.0, 3.0)}))
    r0 = sp.simplify(_to_gauss_names(r_form.subs(mu, 0)))
    r0_form = 2 * ((1 + tau**2) * s.Phi(-tau) - tau * s.phi(tau))
    checks.append(check_identity(r0, _to_gauss_names(r0_form), "r(0, tau) = 2((1 + tau^2) Phi(-tau) - tau phi(tau))"))
    r_inf = sp.limit(_to_gauss_names(r_form), mu, sp.oo)
    checks.append(check_identity(r_inf, 1 + tau**2, "lim_{mu -> oo} r(mu, tau) = 1 + tau^2 (SymPy limit)"))
    # scaling: eta(c z; c tau) = c eta(z; tau) -> E[(eta(B + sqrt(th0) Z; tau sqrt th0) - B)^2] = th0 r(B/sqrt th0, tau)
    c = sp.Symbol("c", positive=True)
    soft = lambda v, t: sp.sign(v) * sp.Max(sp.Abs(v) - t, 0)  # noqa: E731
    checks.append(check_identity(soft(c * z, c * tau), c * soft(z, tau), "soft thresholding is homogeneous: "
                                 "eta(c z; c tau) = c eta(z; tau)"))
    steps += [
        Step("Thresholds scale with the channel noise, $\\theta = \\tau\\sqrt{\\theta_0}$; since soft thresholding is "
             "homogeneous, $\\mathbb{E}_Z(\\eta - B)^2 = \\theta_0\\, r(B/\\sqrt{\\theta_0}, \\tau)$ with the risk "
             "$r(\\mu, \\tau) = \\mathbb{E}(\\eta(\\mu + Z; \\tau) - \\mu)^2$, three Gaussian integrals (SymPy)",
             sp.Eq(s.r(mu, tau), r_form)),
        Step("The derivative $\\partial_z\\eta = 1\\{|z| > \\theta\\}$ averages to",
             sp.Eq(sp.Function("Ex_Z")(s.deta), s.Phi(mu - tau) + s.Phi(-mu - tau))),
        Step("At a zero coordinate and at a coordinate much larger than the noise",
             sp.Tuple(sp.Eq(s.r(0, tau), r0_form), sp.Eq(sp.Limit(s.r(mu, tau), mu, sp.oo), 1 + tau**2))),
    ]
    from ptft.theory.latex import SYMBOL_TEX

    SYMBOL_TEX.setdefault("Ex_Z", r"\mathbb{E}_Z")
    SYMBOL_TEX.setdefault("Ex_B", r"\mathbb{E}_B")
    ExB = sp.Function("Ex_B")
    rhs_named = (s.sig**2 + s.th0 * ExB(s.r(s.B / sp.sqrt(s.th0), tau))) / s.al
    display = Display(sp.Eq(s.Psi(s.th0), rhs_named),
                      where=(Definition(s.r(mu, tau), r_form, "the risk of soft thresholding at $\\mu$, threshold "
                                                              "$\\tau$, unit noise"),) + _gauss_defs())
    return Derivation(
        name="asymptotics.l1_state_evolution",
        title="State evolution of soft thresholding in closed form (regime I)",
        statement=display.expanded(),
        display=display,
        symbols=(s.th0, tau, s.al, s.sig),
        assumptions=("$\\ell_1$ penalty (regime I); threshold $\\theta = \\tau\\sqrt{\\theta_0}$; the expectation "
                     "$\\mathbb{E}_B$ is over the law of a teacher coordinate",),
        source=f"{_SRC_DMM}; {_SRC_DL}; derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("The fixed point $\\theta_0 = \\Psi(\\theta_0)$ together with the interpolation condition "
               "$\\mathbb{E}_B[\\Phi(\\mu - \\tau) + \\Phi(-\\mu - \\tau)] = \\alpha$, $\\mu = B/\\sqrt{\\theta_0}$, is the "
               "fixed point of derivation asymptotics.fixed_point for the $\\ell_1$ penalty; it gives the "
               "Donoho-Tanner curve (derivation asymptotics.donoho_tanner)."),
        extra={"r_form": r_form, "r0_form": r0_form},
    )


# --------------------------------------------------------------------------------------------------
# asymptotics.donoho_tanner
# --------------------------------------------------------------------------------------------------
def _plain_S_D(eps, tau):
    """S(tau) = eps (1 + tau^2) + (1 - eps) r(0, tau) and D(tau) = eps + 2 (1 - eps) Phi(-tau), in Phi/phi."""
    s = _s()
    r0 = 2 * ((1 + tau**2) * s.Phi(-tau) - tau * s.phi(tau))
    return eps * (1 + tau**2) + (1 - eps) * r0, eps + 2 * (1 - eps) * s.Phi(-tau)


@register("asymptotics.donoho_tanner", title="The l1 phase transition (Donoho-Tanner curve) from the fixed point")
def donoho_tanner() -> Derivation:
    """delta(tau) = 2 phi/(tau + 2(phi - tau Phi(-tau))), rho(tau) = 1 - tau Phi(-tau)/phi(tau).

    Exact recovery (error 0) by the l1 interpolator iff rho = k/n < rho(delta), delta = n/d = alpha.
    Derived from the fixed point at theta0 -> 0: interpolation D(tau) = alpha and marginal stability
    S(tau) = alpha, two equations linear in (epsilon, alpha). Source: [DMM], [DT]; derived here.
    """
    s = _s()
    tau, eps, al = s.tau, s.eps, s.al
    P, p = sp.Symbol("P", positive=True), sp.Symbol("p", positive=True)  # Phi(-tau), phi(tau)
    S, D = _plain_S_D(eps, tau)
    named = {s.Phi(-tau): P, s.phi(tau): p}
    sol = sp.solve([sp.Eq(D.xreplace(named), al), sp.Eq(S.xreplace(named), al)], [eps, al], dict=True)
    if len(sol) != 1:
        raise DerivationError(f"asymptotics.donoho_tanner: linear system not uniquely solvable: {sol}")
    G = p - tau * P
    eps_sol, al_sol = sol[0][eps], sol[0][al]
    checks = [check_identity(eps_sol, 2 * G / (tau + 2 * G), "epsilon = 2G/(tau + 2G), G = phi(tau) - tau Phi(-tau)"),
              check_identity(al_sol, 2 * p / (tau + 2 * G), "alpha = delta = 2 phi(tau)/(tau + 2G)")]
    rho_sol = sp.simplify(eps_sol / al_sol)
    checks.append(check_identity(rho_sol, 1 - tau * P / p, "rho = epsilon/delta = 1 - tau Phi(-tau)/phi(tau)"))
    # S - D = (tau/2) S' (so the solution is the stationary point of S in tau) and S'' > 0
    Se, De = _to_gauss_names(S), _to_gauss_names(D)
    checks.append(check_identity(Se - De, tau / 2 * sp.diff(Se, tau), "S - D = (tau/2) dS/dtau"))
    S2 = sp.simplify(sp.diff(Se, tau, 2))
    checks.append(check_identity(S2, _to_gauss_names(2 * eps + 4 * (1 - eps) * s.Phi(-tau)),
                                 "d^2S/dtau^2 = 2 epsilon + 4 (1 - epsilon) Phi(-tau) > 0: S is convex",
                                 ranges={eps: (0.01, 0.9)}))
    # the curve in Phi/phi
    Gn = s.phi(tau) - tau * s.Phi(-tau)
    delta_c = 2 * s.phi(tau) / (tau + 2 * Gn)
    rho_c = 1 - tau * s.Phi(-tau) / s.phi(tau)
    # numbers, computed two ways: parametric curve and DMM's minimax formula max_tau (1 - 2M/delta)/(1 + tau^2 - 2M)
    nums = _dt_numbers()
    checks.append(Check(f"rho(delta = 1/2) = {nums['rho_half']:.6f} from the curve, {nums['rho_half_minimax']:.6f} from "
                        "the minimax formula of [DMM] (maximum over tau; mpmath)",
                        passed=abs(nums["rho_half"] - nums["rho_half_minimax"]) < 1e-12))
    checks.append(Check(f"threshold alpha_c(epsilon) = min_tau S(tau): {nums['alpha_0.1']:.6f} at epsilon = 0.1, "
                        f"{nums['alpha_0.01']:.6f} at epsilon = 0.01 (curve and direct minimisation agree)",
                        passed=nums["agree_min"]))
    if not all(c.passed for c in checks):
        raise DerivationError("asymptotics.donoho_tanner: a numeric check failed")
    steps = [
        Step("Noiseless regime I with an $\\epsilon$-sparse teacher ($\\epsilon = k/d$; nonzero entries of any law without "
             "an atom at 0). At the exact-recovery fixed point $\\theta_0 \\to 0$, so $|B|/\\sqrt{\\theta_0} \\to \\infty$ "
             "on the support, and by derivation asymptotics.l1_state_evolution $\\mathbb{E}\\,\\partial_z\\eta \\to D(\\tau)$ "
             "and $\\Psi(\\theta_0)/\\theta_0 \\to S(\\tau)/\\alpha$ with",
             sp.Tuple(sp.Eq(sp.Function("D")(tau), D), sp.Eq(sp.Function("S")(tau), S))),
        Step("The interpolation condition $D(\\tau) = \\alpha$ and marginal stability of $\\theta_0 = 0$, "
             "$\\Psi'(0) = S(\\tau)/\\alpha = 1$, are linear in $(\\epsilon, \\alpha)$; with "
             "$G = \\phi(\\tau) - \\tau\\Phi(-\\tau)$ their solution is",
             sp.Tuple(sp.Eq(eps, 2 * sp.Symbol("G") / (tau + 2 * sp.Symbol("G"))),
                      sp.Eq(al, 2 * s.phi(tau) / (tau + 2 * sp.Symbol("G"))))),
        Step("Since $S - D = (\\tau/2) S'(\\tau)$ and $S'' = 2\\epsilon + 4(1 - \\epsilon)\\Phi(-\\tau) > 0$, the solution "
             "is the minimum of $S$: exact recovery for $\\alpha$ above the threshold",
             sp.Eq(sp.Symbol("alpha_c"), sp.Function("min_tau")(sp.Function("S")(tau)))),
        Step("In the Donoho-Tanner plane, $\\delta = n/d = \\alpha$ and $\\rho = k/n = \\epsilon/\\delta$", sp.Eq(s.rho, rho_c)),
    ]
    from ptft.theory.latex import SYMBOL_TEX

    SYMBOL_TEX.setdefault("min_tau", r"\min_{\tau}")
    dlt = sp.Function("delta")(tau)
    display = Display(sp.Eq(sp.Function("rho")(dlt), rho_c),
                      where=(Definition(dlt, delta_c, "the undersampling $n/d$ on the curve, parametrised by "
                                                      "the threshold $\\tau > 0$; $\\rho = k/n$"),) + _gauss_defs())
    return Derivation(
        name="asymptotics.donoho_tanner",
        title="The l1 phase transition (Donoho-Tanner curve) from the fixed point",
        statement=display.expanded(),
        display=display,
        symbols=(tau,),
        assumptions=("Noiseless; $\\ell_1$ penalty (regime I); Gaussian design; sparsity $\\epsilon = k/d$; "
                     "$\\tau > 0$ parametrises the curve",),
        source=f"{_SRC_DMM}; derived here from derivations asymptotics.fixed_point and asymptotics.l1_state_evolution",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=(f"Agrees with the phase transition of [DMM], which equals the weak threshold of [DT]: "
               f"$\\rho(1/2) = {nums['rho_half']:.4f}$; the minimal sample ratio for exact recovery is "
               f"$\\alpha_c = {nums['alpha_0.1']:.4f}$ at $\\epsilon = \\rho_{{\\mathrm{{FT}}}} = 0.1$ and "
               f"${nums['alpha_0.01']:.4f}$ at $0.01$."),
        extra={"numbers": nums, "delta": delta_c, "rho": rho_c},
    )


@functools.lru_cache(maxsize=None)
def _dt_numbers() -> dict:
    """rho(1/2) and alpha_c(0.1), alpha_c(0.01) with mpmath, from the curve and from direct optimisation."""
    import mpmath

    with mpmath.workdps(30):
        phi = mpmath.npdf
        Q = lambda t: mpmath.ncdf(-t)  # noqa: E731
        G = lambda t: phi(t) - t * Q(t)  # noqa: E731
        dl = lambda t: 2 * phi(t) / (t + 2 * G(t))  # noqa: E731
        rh = lambda t: 1 - t * Q(t) / phi(t)  # noqa: E731
        t_half = mpmath.findroot(lambda t: dl(t) - mpmath.mpf("0.5"), 0.9)
        M = lambda t: (1 + t**2) * Q(t) - t * phi(t)  # noqa: E731
        f = lambda t: (1 - 2 * M(t) / mpmath.mpf("0.5")) / (1 + t**2 - 2 * M(t))  # noqa: E731
        t_star = mpmath.findroot(lambda t: mpmath.diff(f, t), t_half)
        out = {"rho_half": float(rh(t_half)), "rho_half_minimax": float(f(t_star)), "tau_half": float(t_half)}
        agree = True
        for e in ("0.1", "0.01"):
            E = mpmath.mpf(e)
            t_e = mpmath.findroot(lambda t: 2 * G(t) / (t + 2 * G(t)) - E, 1.5)
            S = lambda t: E * (1 + t**2) + 2 * (1 - E) * M(t)  # noqa: E731
            t_min = mpmath.findroot(lambda t: mpmath.diff(S, t), t_e)
            out[f"alpha_{e}"] = float(dl(t_e))
            agree = agree and abs(dl(t_e) - S(t_min)) < mpmath.mpf(10) ** -20
        out["agree_min"] = bool(agree)
    return out


# --------------------------------------------------------------------------------------------------
# asymptotics.regime_IV_bounds
# --------------------------------------------------------------------------------------------------
@register("asymptotics.regime_IV_bounds", title="Recovery threshold of a two-level weighted l1 proxy of regime IV")
def regime_IV_bounds() -> Derivation:
    """rho_PT delta_c(rho_FT/rho_PT) <= alpha_IV(kappa) = min_tau S_kappa(tau) <= delta_c(rho_FT) on a subset task.

    Proxy: weighted l1 with threshold theta on the pretrained coordinates and theta/kappa on the others
    (kappa = w_on/w_off in (0, 1]); FT support inside the PT support (omega = 1). delta_c(eps) is the l1
    threshold of asymptotics.donoho_tanner (minimal alpha at sparsity eps = k/d).
    Source: derived here with the method of [DMM]; the regimes of [DL]. The exact threshold of the q_k
    penalty itself (log weights that depend on |beta|) is not derived.
    """
    s = _s()
    tau, kap, rft, rpt = s.tau, s.kap, s.rft, s.rpt
    P, p = s.Phi, s.phi
    r0 = lambda t: 2 * ((1 + t**2) * P(-t) - t * p(t))  # noqa: E731
    S = rft * (1 + tau**2) + (rpt - rft) * r0(tau) + (1 - rpt) * r0(tau / kap)
    D = rft + 2 * (rpt - rft) * P(-tau) + 2 * (1 - rpt) * P(-tau / kap)
    Se, De = _to_gauss_names(S), _to_gauss_names(D)
    checks = [check_identity(Se - De, tau / 2 * sp.diff(Se, tau), "S_kappa - D_kappa = (tau/2) dS_kappa/dtau",
                             ranges={rft: (0.01, 0.05), rpt: (0.1, 0.5), kap: (0.1, 1.0)})]
    S2 = sp.diff(Se, tau, 2)
    S2_form = _to_gauss_names(2 * rft + 4 * (rpt - rft) * P(-tau) + 4 * (1 - rpt) / kap**2 * P(-tau / kap))
    checks.append(check_identity(S2, S2_form, "d^2 S_kappa/dtau^2 > 0 (sum of positive terms): convex",
                                 ranges={rft: (0.01, 0.05), rpt: (0.1, 0.5), kap: (0.1, 1.0)}))
    Gf = lambda t: p(t) - t * P(-t)  # noqa: E731
    dS_dk = sp.diff(Se, kap)
    checks.append(check_identity(dS_dk, _to_gauss_names(4 * (1 - rpt) * tau / kap**2 * Gf(tau / kap)),
                                 "dS_kappa/dkappa = 4 (1 - rho_PT) (tau/kappa^2) G(tau/kappa)",
                                 ranges={rft: (0.01, 0.05), rpt: (0.1, 0.5), kap: (0.1, 1.0)}))
    # G > 0: G' = -Phi(-t) < 0 and G(oo) = 0
    tt = s.t
    Ge = _to_gauss_names(Gf(tt))
    checks.append(check_identity(sp.diff(Ge, tt), _to_gauss_names(-P(-tt)), "G'(t) = -Phi(-t) < 0"))
    G_inf = sp.limit(Ge, tt, sp.oo)
    checks.append(Check("G(t) = phi(t) - t Phi(-t) decreases to lim G = 0 (SymPy limit), so G > 0 and S_kappa is "
                        "non-decreasing in kappa (proved)", passed=bool(G_inf == 0)))
    # endpoints
    S_plain = lambda e: e * (1 + tau**2) + (1 - e) * r0(tau)  # noqa: E731
    checks.append(check_identity(_to_gauss_names(S.subs(kap, 1)), _to_gauss_names(S_plain(rft)),
                                 "kappa = 1: S_1 = S for the plain l1 penalty at epsilon = rho_FT",
                                 ranges={rft: (0.01, 0.05), rpt: (0.1, 0.5)}))
    off = sp.limit(_to_gauss_names(r0(tau / kap)), kap, 0, "+")
    checks.append(Check("kappa -> 0: r(0, tau/kappa) -> 0 (SymPy limit)", passed=bool(off == 0)))
    S0 = rft * (1 + tau**2) + (rpt - rft) * r0(tau)  # S_kappa without the vanishing off-support term
    checks.append(check_identity(_to_gauss_names(S0), _to_gauss_names(rpt * S_plain(rft / rpt)),
                                 "kappa -> 0: S_0 = rho_PT S(epsilon = rho_FT/rho_PT)",
                                 ranges={rft: (0.01, 0.05), rpt: (0.1, 0.5)}))
    nums = _regime_iv_numbers()
    checks.append(Check(f"numbers (rho_PT = 0.1, rho_FT = 0.01): lower {nums['lower']:.5f}, kappa = 0.5: "
                        f"{nums['kappa_0.5']:.5f}, upper {nums['upper']:.5f}; non-decreasing in kappa on a grid",
                        passed=nums["monotone"]))
    if not all(c.passed for c in checks):
        raise DerivationError("asymptotics.regime_IV_bounds: a check failed")
    aIV = sp.Symbol("alpha_IV")
    dc = sp.Function("delta_c")
    steps = [
        Step("Proxy of regime IV: in the rich limit $q_{k_d}(x) \\approx \\tfrac{|x|}{2}\\log(4|x|/(e\\sqrt{k_d}))$ "
             "(derivation asymptotics.l1_state_evolution), an $\\ell_1$ penalty whose weight is smaller on the "
             "pretrained coordinates; take two weight levels, thresholds $\\theta$ on the pretrained coordinates and "
             "$\\theta/\\kappa$ on the others, $0 < \\kappa \\le 1$, and a subset task ($\\omega = 1$). At the "
             "exact-recovery fixed point ($\\theta_0 \\to 0$, $\\theta = \\tau\\sqrt{\\theta_0}$, as in derivation "
             "asymptotics.donoho_tanner)",
             sp.Tuple(sp.Eq(sp.Symbol("D_kappa"), D), sp.Eq(sp.Symbol("S_kappa"), S))),
        Step("Again $S_{\\kappa} - D_{\\kappa} = (\\tau/2) \\partial_\\tau S_{\\kappa}$ and $S_{\\kappa}$ is convex, so the "
             "recovery threshold is", sp.Eq(aIV, sp.Function("min_tau")(sp.Symbol("S_kappa")))),
        Step("With $G(t) = \\phi(t) - t\\Phi(-t) > 0$ ($G' = -\\Phi(-t)$, $G(\\infty) = 0$), $S_{\\kappa}$ and hence the "
             "threshold are non-decreasing in $\\kappa$",
             sp.Eq(sp.Derivative(sp.Symbol("S_kappa"), kap), 4 * (1 - rpt) * tau / kap**2 * Gf(tau / kap))),
        Step("At $\\kappa = 1$ (no preference: regime I) and as $\\kappa \\to 0$ (the off-support coordinates are "
             "excluded, leaving an $\\ell_1$ problem on $\\rho_{\\mathrm{PT}} d$ coordinates at sparsity "
             "$\\rho_{\\mathrm{FT}}/\\rho_{\\mathrm{PT}}$)",
             sp.Tuple(sp.Eq(sp.Function("alpha_IV")(1), dc(rft)),
                      sp.Eq(sp.Limit(sp.Function("alpha_IV")(kap), kap, 0, "+"), rpt * dc(rft / rpt)))),
    ]
    statement = sp.Contains(aIV, sp.Interval(rpt * dc(rft / rpt), dc(rft)), evaluate=False)
    return Derivation(
        name="asymptotics.regime_IV_bounds",
        title="Recovery threshold of a two-level weighted l1 proxy of regime IV",
        statement=statement,
        symbols=(rft, rpt),
        assumptions=("Noiseless; subset task ($\\omega = 1$: the finetuning support inside the pretraining support, "
                     "fractions $\\rho_{\\mathrm{FT}} \\le \\rho_{\\mathrm{PT}}$); the two-level weighted $\\ell_1$ proxy of "
                     "the regime-IV penalty, weight contrast $0 < \\kappa \\le 1$",
                     "$\\delta_c(\\epsilon)$ is the $\\ell_1$ threshold of derivation asymptotics.donoho_tanner "
                     "(minimal $\\alpha$ at sparsity $\\epsilon = k/d$)"),
        source=f"derived here with the method of {_SRC_DMM}; regimes of Anguita et al., arXiv:2602.20062 [DL]",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=(f"At $\\rho_{{\\mathrm{{PT}}}} = 0.1$, $\\rho_{{\\mathrm{{FT}}}} = 0.01$ the threshold runs from "
               f"{nums['lower']:.4f} ($\\kappa \\to 0$) to {nums['upper']:.4f} ($\\kappa = 1$), "
               f"{nums['kappa_0.5']:.4f} at $\\kappa = 1/2$; regime II on the same task needs "
               "$\\alpha \\ge \\rho_{\\mathrm{PT}} = 0.1$ (derivation asymptotics.regime_II_subset). What is derived: the "
               "threshold of the two-level weighted $\\ell_1$ proxy, exactly (within the replica / state-evolution "
               "framework), its monotonicity in $\\kappa$ and the two bounds. What is not derived: the threshold of the "
               "$q_k$ penalty itself, whose rich-limit weight $\\tfrac12\\log(4|x|/(e\\sqrt{k_d}))$ depends on $|x|$, "
               "so its effective contrast $\\kappa$ is only approximately a constant; and tasks with new features "
               "($\\omega < 1$), where the new nonzeros contribute $(1 - \\omega)\\rho_{\\mathrm{FT}}(1 + \\tau^2/\\kappa^2)$ "
               "to $S_{\\kappa}$ and the lower bound fails as $\\kappa \\to 0$."),
        extra={"numbers": nums, "S": S, "D": D},
    )


@functools.lru_cache(maxsize=None)
def _regime_iv_numbers() -> dict:
    lower = 0.1 * l1_threshold(0.1)
    upper = l1_threshold(0.01)
    ks = [1e-3, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0]
    vals = [weighted_l1_threshold(0.01, 0.1, k) for k in ks]
    mono = all(b >= a - 1e-10 for a, b in zip(vals, vals[1:])) and lower - 1e-9 <= vals[0] and vals[-1] <= upper + 1e-9
    return {"lower": lower, "upper": upper, "kappa_0.5": weighted_l1_threshold(0.01, 0.1, 0.5), "grid": dict(zip(ks, vals)),
            "monotone": bool(mono and abs(vals[-1] - upper) < 1e-8)}


# --------------------------------------------------------------------------------------------------
# numerical helpers (from the derived expressions, lambdified once)
# --------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _lambdified():
    s = _s()
    d_dt = donoho_tanner()
    d_se = l1_state_evolution()
    import numpy as np
    from scipy.special import ndtr

    # Phi and phi are evaluated by scipy's ndtr and the density: accurate in the tails, where the erf form cancels
    mods = [{"Phi": ndtr, "phi": lambda x: np.exp(-0.5 * np.square(x)) / math.sqrt(2.0 * math.pi)}, "numpy"]
    delta_e, rho_e = d_dt.display.where[0].rhs, d_dt.display.statement.rhs
    f_delta = sp.lambdify(s.tau, delta_e, mods)
    f_rho = sp.lambdify(s.tau, rho_e, mods)
    f_risk = sp.lambdify((s.mu, s.tau), d_se.extra["r_form"], mods)
    return f_delta, f_rho, f_risk


def _check_open_unit(name: str, v: float) -> float:
    x = float(v)
    if not (0.0 < x < 1.0) or math.isnan(x):
        raise ValueError(f"{name} must lie in (0, 1), got {v!r}")
    return x


def donoho_tanner_curve(tau):
    """(delta, rho) on the l1 phase transition at threshold parameter ``tau > 0`` (derivation asymptotics.donoho_tanner)."""
    import numpy as np

    f_delta, f_rho, _ = _lambdified()
    t = np.asarray(tau, dtype=float)
    if np.any(~(t > 0)):
        raise ValueError("tau must be > 0")
    return f_delta(t), f_rho(t)


def donoho_tanner_rho(delta: float) -> float:
    """rho = k/n on the l1 phase transition at undersampling ``delta = n/d`` in (0, 1) ([DT], [DMM]).

    Solves delta(tau) = delta (delta decreases from 1 to 0 as tau runs over (0, oo)) and returns rho(tau).
    """
    from scipy.optimize import brentq

    d = _check_open_unit("delta", delta)
    f_delta, f_rho, _ = _lambdified()
    tau = brentq(lambda t: float(f_delta(t)) - d, 1e-12, 30.0, xtol=1e-15, rtol=1e-15, maxiter=500)
    return float(f_rho(tau))


def donoho_tanner_delta(rho: float) -> float:
    """delta = n/d on the l1 phase transition at sparsity ``rho = k/n`` in (0, 1) (inverse of :func:`donoho_tanner_rho`)."""
    from scipy.optimize import brentq

    r = _check_open_unit("rho", rho)
    f_delta, f_rho, _ = _lambdified()
    tau = brentq(lambda t: float(f_rho(t)) - r, 1e-12, 30.0, xtol=1e-15, rtol=1e-15, maxiter=500)
    return float(f_delta(tau))


def l1_threshold(epsilon: float) -> float:
    """Minimal sample ratio alpha = n/d for exact l1 recovery at sparsity ``epsilon = k/d`` in (0, 1).

    The point of the Donoho-Tanner curve with rho delta = epsilon (regime I threshold; delta_c of
    asymptotics.regime_IV_bounds).
    """
    from scipy.optimize import brentq

    e = _check_open_unit("epsilon", epsilon)
    f_delta, f_rho, _ = _lambdified()
    tau = brentq(lambda t: float(f_rho(t) * f_delta(t)) - e, 1e-12, 30.0, xtol=1e-15, rtol=1e-15, maxiter=500)
    return float(f_delta(tau))


def weighted_l1_threshold(rho_ft: float, rho_pt: float, kappa: float, omega: float = 1.0) -> float:
    """Recovery threshold min_tau S_kappa(tau) of the two-level weighted l1 proxy (asymptotics.regime_IV_bounds).

    ``kappa`` in (0, 1] is the weight contrast (threshold theta on pretrained coordinates, theta/kappa on the
    others); ``omega`` the shared fraction of the finetuning support (the bounds of the derivation need omega = 1).
    """
    from scipy.optimize import minimize_scalar

    rft, rpt = _check_open_unit("rho_ft", rho_ft), _check_open_unit("rho_pt", rho_pt)
    k, om = float(kappa), float(omega)
    if not 0 < k <= 1 or math.isnan(k):
        raise ValueError(f"kappa must lie in (0, 1], got {kappa!r}")
    if not 0 <= om <= 1 or math.isnan(om):
        raise ValueError(f"omega must lie in [0, 1], got {omega!r}")
    if om * rft > rpt or rpt + (1 - om) * rft > 1:
        raise ValueError("infeasible task: need omega*rho_ft <= rho_pt and rho_pt + (1-omega)*rho_ft <= 1")
    _, _, f_risk = _lambdified()

    def S(t):
        return float(om * rft * (1 + t * t) + (1 - om) * rft * (1 + t * t / (k * k))
                     + (rpt - om * rft) * f_risk(0.0, t) + (1 - rpt - (1 - om) * rft) * f_risk(0.0, t / k))

    res = minimize_scalar(S, bounds=(1e-9, 60.0), method="bounded", options={"xatol": 1e-12, "maxiter": 1000})
    return float(min(res.fun, S(res.x)))


def soft_threshold_risk(mu, tau):
    """r(mu, tau) = E[(eta(mu + Z; tau) - mu)^2] of soft thresholding (derivation asymptotics.l1_state_evolution)."""
    _, _, f_risk = _lambdified()
    return f_risk(mu, tau)


def l2_uniform_error(alpha: float, sigma0: float = 0.0) -> float:
    """Regime III error 1 - alpha + alpha sigma0^2/(1 - alpha) (E[B^2] = 1, 0 < alpha < 1)."""
    a = _check_open_unit("alpha", alpha)
    return 1.0 - a + a * float(sigma0) ** 2 / (1.0 - a)


def weighted_l2_error(alpha: float, weights, probs, second_moments, sigma0: float = 0.0) -> tuple[float, float]:
    """(error, theta) of the weighted l2 interpolator (asymptotics.regime_II_weighted_l2), discrete weight groups.

    ``weights[i]`` is the weight w of group i (penalty x^2/(2w)), ``probs[i]`` its fraction of coordinates,
    ``second_moments[i]`` = E[B^2 | group i]. Solves E[w/(w+theta)] = alpha for theta (brentq), then
    error = (E[(theta/(w+theta))^2 B^2] + sigma0^2 E[s^2]/alpha)/(1 - E[s^2]/alpha).
    """
    import numpy as np
    from scipy.optimize import brentq

    a = _check_open_unit("alpha", alpha)
    w, p, m2 = (np.asarray(v, dtype=float) for v in (weights, probs, second_moments))
    if np.any(w <= 0) or np.any(p < 0) or abs(p.sum() - 1) > 1e-9:
        raise ValueError("weights must be > 0 and probs a probability vector")
    Es = lambda lt: float(np.sum(p * w / (w + math.exp(lt))))  # noqa: E731  (in log theta)
    lo, hi = math.log(w.min()) - 60.0, math.log(w.max()) + 60.0
    th = math.exp(brentq(lambda lt: Es(lt) - a, lo, hi, xtol=1e-14, rtol=1e-15, maxiter=500))
    s = w / (w + th)
    S2, T = float(np.sum(p * s**2)), float(np.sum(p * (1 - s) ** 2 * m2))
    if S2 >= a:
        raise ValueError("no stable fixed point: E[s^2] >= alpha")
    return (T + float(sigma0) ** 2 * S2 / a) / (1 - S2 / a), th


def regime_ii_subset_error(alpha: float, rho_pt: float) -> float:
    """1 - alpha/rho_PT below rho_PT, 0 above (asymptotics.regime_II_subset; noiseless, omega = 1, infinite contrast)."""
    a, r = _check_open_unit("alpha", alpha), _check_open_unit("rho_pt", rho_pt)
    return 1.0 - a / r if a < r else 0.0


def prox_qk(z, theta: float, k: float, *, tol: float = 1e-14, max_iter: int = 200):
    """Proximal map of q_k: the root x of x - z + (theta/2) asinh(2x/sqrt k) = 0 (asymptotics.prox_map).

    Safeguarded Newton on the bracket [min(0, z), max(0, z)] (the function is strictly increasing).
    Returns an array like ``z``.
    """
    import numpy as np

    z = np.asarray(z, dtype=float)
    th, kk = float(theta), float(k)
    if not th > 0 or not kk > 0:
        raise ValueError("theta and k must be > 0")
    sk = math.sqrt(kk)
    lo, hi = np.minimum(z, 0.0), np.maximum(z, 0.0)
    x = z / (1.0 + th / sk)  # the lazy solution: exact for small |z|, inside the bracket
    for _ in range(max_iter):
        F = x - z + 0.5 * th * np.arcsinh(2.0 * x / sk)
        if np.all(np.abs(F) <= tol * (1.0 + np.abs(z))):
            break
        lo = np.where(F < 0, x, lo)
        hi = np.where(F > 0, x, hi)
        xn = x - F / (1.0 + th / np.sqrt(kk + 4.0 * x * x))
        bad = (xn <= lo) | (xn >= hi) | ~np.isfinite(xn)
        x = np.where(bad, 0.5 * (lo + hi), xn)
    return x
