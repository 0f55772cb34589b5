"""Pretraining + finetuning (PT+FT) in two-layer diagonal networks: flow and implicit bias.

One coordinate of the finetuned network has two branches, ``beta = w_p v_p - w_m v_m`` (first-layer
weight ``w``, readout ``v``), started from wherever pretraining left it. Gradient flow on the
finetuning loss moves every coordinate along a one-parameter curve ``beta(S)``, ``S(t)`` being the
time integral of the coordinate's negative loss gradient; because ``S`` stays in the row space of the
design, the limit minimises the potential whose derivative is the inverse curve (a mirror flow).

Derivations registered here (all derived with SymPy when first asked for):

``ptft.general_start_flow``
    beta(S) = beta0 cosh 2S + (M/2) sinh 2S,  M = w_p^2+v_p^2+w_m^2+v_m^2 at the start.
``ptft.exact_penalty``
    the implicit penalty Q(beta) = q_k(beta) - (beta/2) asinh(2 beta0/sqrt k), sqrt k = sqrt(M^2-4 beta0^2).
``ptft.rescaled_start``
    the [LL] hand-off (first layer times c, readouts reset to gamma): sqrt k = sqrt(c^4 beta_aux^2 + 4 gamma^4).
``ptft.plotted_penalty``
    the approximation [LL] plot, K q_W(2 beta/K), K = |beta_aux| + gamma^2, derived as the exact
    penalty of a symmetric surrogate start, with its limits and its distance to the exact penalty.
``ptft.exact_limits``
    lazy (quadratic about beta0) and rich (|beta| log |beta|) limits of the exact penalty.
``ptft.dl_handoff``
    the [DL] hand-off (pretraining init (c_PT, lambda_PT), readouts reset to gamma/sqrt 2): beta0 = 0 and
    sqrt k = 2 c_PT (1 + lambda_PT)(1 + sqrt(1 + beta_PT^2/c_PT^2)) + gamma^2.
``ptft.nested_feature_selection``
    the rich-limit slope gap between a new and a pretrained feature, ~ (1/2) log(c^2|beta_aux|/(2 gamma^2)).
``ptft.selection_contrast``
    rho = (price of a pretrained feature)/(price of a new one) ~ ln(4|beta|/(c^2|beta_aux|))/ln(2|beta|/gamma^2).

Sources: [LL] Lippl & Lindsey, arXiv:2310.02396 (PT+FT in diagonal networks, rescaling, plotted
penalty); [DL] Anguita et al., arXiv:2602.20062 (general-start penalty); [W] Woodworth et al.,
COLT 2020 (q_W). Importing this module does no SymPy work.
"""
from __future__ import annotations

import functools
from types import SimpleNamespace

import sympy as sp

from ptft.theory.derivation import Definition, Derivation, Display, Step, check_identity, register

__all__ = [
    "q_k",
    "q_W",
    "general_start_beta_expr",
    "exact_penalty_expr",
    "exact_penalty_k_expr",
    "mirror_map_expr",
    "rescaled_start_penalty_expr",
    "plotted_penalty_expr",
    "rich_slope_gap_expr",
    "dl_handoff_penalty_expr",
    "selection_contrast_expr",
]

_SOURCE_LL = "Lippl & Lindsey, arXiv:2310.02396 [LL]"
_SOURCE_DL = "Anguita et al., arXiv:2602.20062 [DL]"
_SOURCE_W = "Woodworth et al., COLT 2020 [W]"


@functools.lru_cache(maxsize=None)
def _s() -> SimpleNamespace:
    """The symbols of this module, with the assumptions the algebra uses."""
    from ptft.theory.latex import SYMBOL_MEANING

    for name, meaning in (("K", "$|\\beta_{\\mathrm{aux}}| + \\gamma^2$, the scale of the penalty plotted in [LL]"),
                          ("c_FT", "half the finetuning scale after the [DL] hand-off, $M/2$"),
                          ("s_pre", "rich-limit slope of the penalty of a pretrained feature"),
                          ("s_new", "rich-limit slope of the penalty of a new feature")):
        SYMBOL_MEANING.setdefault(name, meaning)
    return SimpleNamespace(
        S=sp.Symbol("S", real=True),  # integrated negative gradient of the coordinate
        x=sp.Symbol("x", real=True),  # integration variable
        y=sp.Symbol("y", real=True),
        beta=sp.Symbol("beta", real=True),  # finetuned (main-task) coefficient
        beta0=sp.Symbol("beta_0", real=True),  # coefficient at the start of finetuning
        M=sp.Symbol("M", positive=True),  # squared weight norm of the coordinate at the start
        A=sp.Symbol("A", positive=True),  # amplitude of beta(S) = A sinh(2S + phi), = sqrt(k)/2
        phi=sp.Symbol("phi", real=True),
        sqrt_k=sp.Symbol("sqrt_k", positive=True),
        beta_aux=sp.Symbol("beta_aux", real=True),  # pretrained (auxiliary-task) coefficient
        a=sp.Symbol("a", positive=True),  # |beta_aux| when the sign is handled separately
        c=sp.Symbol("c", positive=True),  # rescaling factor of the first layer
        gamma=sp.Symbol("gamma", nonnegative=True),  # readout value after the reset
        gp=sp.Symbol("gamma", positive=True),  # gamma when strictly positive
        K=sp.Symbol("K", positive=True),
        bp=sp.Symbol("beta", positive=True),  # beta > 0 (asymptotics; the penalties are handled by symmetry)
        t=sp.Symbol("t", positive=True),  # 1/beta in the large-beta series
        eps=sp.Symbol("epsilon", real=True),  # beta - beta0 in the small-beta series
        wp0=sp.Symbol("w_p_0", real=True),  # starting weights of the two branches (printed w_{p,0}, ...)
        vp0=sp.Symbol("v_p_0", real=True),
        wm0=sp.Symbol("w_m_0", real=True),
        vm0=sp.Symbol("v_m_0", real=True),
        k=sp.Symbol("k", positive=True),  # k = M^2 - 4 beta0^2, for printing (sqrt k is printed sqrt(k))
        z=sp.Symbol("z", real=True),  # argument of the named potentials q_k, q_W
    )


# --------------------------------------------------------------------------------------------------
# printing helpers: named quantities of the display forms and checked equivalent forms of step results
# --------------------------------------------------------------------------------------------------
def _shown(form: sp.Expr, derived: sp.Expr, what: str, ranges=None, in_exp: bool = False) -> sp.Expr:
    """``form``, a tidier way of writing ``derived`` for a step, after checking that the two are equal.

    ``in_exp``: compare both sides rewritten in exponentials and expanded (quick for hyperbolic functions).
    """
    a, b = (sp.expand(e.rewrite(sp.exp)) for e in (form, derived)) if in_exp else (form, derived)
    check_identity(a, b, f"printed form of {what}", ranges=ranges)
    return form


def _qk_definition() -> Definition:
    """q_k(z) = sqrt(k)/4 + (z/2) asinh(2z/sqrt k) - sqrt(k + 4z^2)/4, the general-start potential."""
    s = _s()
    z, k = s.z, s.k
    return Definition(sp.Function("q_k")(z), sp.sqrt(k) / 4 + z / 2 * sp.asinh(2 * z / sp.sqrt(k))
                      - sp.sqrt(k + 4 * z**2) / 4, "the general-start potential of [DL]")


def _qW_definition() -> Definition:
    """q_W(z) = 2 - sqrt(4 + z^2) + z asinh(z/2), the potential of [W]."""
    z = _s().z
    return Definition(sp.Function("q_W")(z), 2 - sp.sqrt(4 + z**2) + z * sp.asinh(z / 2), "the potential of [W]")


# --------------------------------------------------------------------------------------------------
# reference shapes (the forms quoted in the papers); derived results are CHECKED against
# these, never built from them
# --------------------------------------------------------------------------------------------------
def q_k(x: sp.Expr, sqrt_k: sp.Expr) -> sp.Expr:
    """The general-start potential shape q_k(x) = (sqrt k/4)(1 - sqrt(1+4x^2/k) + (2x/sqrt k) asinh(2x/sqrt k)).

    Source: [DL] (general start). Used to check derived expressions.
    """
    z = 2 * x / sqrt_k
    return sqrt_k / 4 * (1 - sp.sqrt(1 + z**2) + z * sp.asinh(z))


def q_W(z: sp.Expr) -> sp.Expr:
    """Woodworth's potential q_W(z) = 2 - sqrt(4+z^2) + z asinh(z/2) ([W])."""
    return 2 - sp.sqrt(4 + z**2) + z * sp.asinh(z / 2)


# --------------------------------------------------------------------------------------------------
# ptft.general_start_flow
# --------------------------------------------------------------------------------------------------
def _branch_solution(sign: int, w0: sp.Expr, v0: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """(w(S), v(S)) of one branch entering beta with ``sign``: dw/dS = sign v, dv/dS = sign w (dsolve)."""
    s = _s()
    w, v = sp.Function("w"), sp.Function("v")
    sol = sp.dsolve([sp.Eq(w(s.S).diff(s.S), sign * v(s.S)), sp.Eq(v(s.S).diff(s.S), sign * w(s.S))],
                    [w(s.S), v(s.S)], ics={w(0): w0, v(0): v0})
    sol = {eq.lhs: eq.rhs for eq in sol}
    return sp.expand(sol[w(s.S)]), sp.expand(sol[v(s.S)])


@register("ptft.general_start_flow",
          title="Gradient-flow trajectory of a two-branch diagonal coordinate from a general start")
def general_start_flow() -> Derivation:
    """beta(S) = beta(0) cosh 2S + (M/2) sinh 2S for one two-branch coordinate, from any start.

    In words: along gradient flow the coefficient of a coordinate with two branches
    ``beta = w_p v_p - w_m v_m`` traces a hyperbola in ``S = int_0^t g`` (g = -dL/dbeta), with
    ``M = w_p^2 + v_p^2 + w_m^2 + v_m^2`` the starting squared norm and ``beta0`` the starting
    coefficient. Source: [DL] (general start), [LL] (diagonal PT+FT); derived here with dsolve.
    Assumptions: gradient flow (continuous time), real weights, any start.
    """
    s = _s()
    steps = []
    wp, vp = _branch_solution(+1, s.wp0, s.vp0)
    wm, vm = _branch_solution(-1, s.wm0, s.vm0)
    wpf, vpf, wmf, vmf = (sp.Function(n)(s.S) for n in ("w_p", "v_p", "w_m", "v_m"))
    ch, sh = sp.cosh(s.S), sp.sinh(s.S)
    steps.append(Step("The positive branch follows $\\dot w_p = g v_p$, $\\dot v_p = g w_p$, a linear system in "
                      "the time $S$; solved from $(w_{p,0}, v_{p,0})$",
                      sp.Tuple(sp.Eq(wpf, _shown(s.wp0 * ch + s.vp0 * sh, wp, "w_p(S)", in_exp=True)),
                               sp.Eq(vpf, _shown(s.vp0 * ch + s.wp0 * sh, vp, "v_p(S)", in_exp=True)))))
    steps.append(Step("The negative branch follows $\\dot w_m = -g v_m$, $\\dot v_m = -g w_m$; from "
                      "$(w_{m,0}, v_{m,0})$",
                      sp.Tuple(sp.Eq(wmf, _shown(s.wm0 * ch - s.vm0 * sh, wm, "w_m(S)", in_exp=True)),
                               sp.Eq(vmf, _shown(s.vm0 * ch - s.wm0 * sh, vm, "v_m(S)", in_exp=True)))))
    beta_S = sp.expand(wp * vp - wm * vm)
    c2, s2 = sp.cosh(2 * s.S), sp.sinh(2 * s.S)
    steps.append(Step("Multiplying, with $\\cosh^2 S + \\sinh^2 S = \\cosh 2S$ and $2 \\sinh S \\cosh S = \\sinh 2S$",
                      sp.Tuple(*(sp.Eq(f1 * f2, _shown(a0 * b0 * c2 + sg * ((a0**2 + b0**2) * s2 / 2), e1 * e2_,
                                                         f"{f1} {f2}".replace("(S)", ""), in_exp=True))
                                 for f1, f2, a0, b0, e1, e2_, sg in ((wpf, vpf, s.wp0, s.vp0, wp, vp, 1),
                                                                     (wmf, vmf, s.wm0, s.vm0, wm, vm, -1))))))

    # collect in exp(2S): beta = P e^{2S} + N e^{-2S} + C0  ->  (P+N) cosh 2S + (P-N) sinh 2S + C0
    E = sp.Symbol("E", positive=True)
    poly = sp.expand(beta_S.rewrite(sp.exp).subs(sp.exp(s.S), E))
    P = poly.coeff(E, 2)
    N = poly.coeff(E, -2)
    C0 = sp.simplify(poly - P * E**2 - N * E**-2)
    coef_cosh = sp.factor(P + N)
    coef_sinh = sp.factor(P - N)
    steps.append(Step("Hence, for $\\beta = w_p v_p - w_m v_m$ (collected in $e^{\\pm 2S}$: no constant term remains)",
                      sp.Eq(sp.Function("beta")(s.S), coef_cosh * c2 + coef_sinh * s2 + C0)))
    beta_start = s.wp0 * s.vp0 - s.wm0 * s.vm0
    M_start = s.wp0**2 + s.vp0**2 + s.wm0**2 + s.vm0**2
    checks = [
        check_identity(C0, sp.Integer(0), "no constant term in beta(S)"),
        check_identity(coef_cosh, beta_start, "cosh-coefficient = beta(0) = w_p0 v_p0 - w_m0 v_m0"),
        check_identity(coef_sinh, M_start / 2, "sinh-coefficient = M/2, M = w_p0^2+v_p0^2+w_m0^2+v_m0^2"),
        check_identity(sp.simplify((wp**2 - vp**2) - (s.wp0**2 - s.vp0**2)), sp.Integer(0),
                       "w_p^2 - v_p^2 conserved along the flow"),
        check_identity(sp.simplify((wm**2 - vm**2) - (s.wm0**2 - s.vm0**2)), sp.Integer(0),
                       "w_m^2 - v_m^2 conserved along the flow"),
    ]
    rhs = s.beta0 * sp.cosh(2 * s.S) + s.M / 2 * sp.sinh(2 * s.S)
    diff = sp.expand((beta_S - rhs.subs({s.beta0: beta_start, s.M: M_start})).rewrite(sp.exp))
    checks.append(check_identity(diff, sp.Integer(0),
                                 "beta(S) = beta0 cosh 2S + (M/2) sinh 2S (difference in exponentials expands to 0)"))
    return Derivation(
        name="ptft.general_start_flow",
        title="Gradient-flow trajectory of a two-branch diagonal coordinate from a general start",
        statement=sp.Eq(sp.Function("beta")(s.S), rhs),
        symbols=(s.S, s.beta0, s.M),
        assumptions=(
            "Gradient flow (continuous time) on any loss of $\\beta = w_p v_p - w_m v_m$",
            "$S(t) = \\int_0^t g\\,dt'$ with $g = -\\partial L/\\partial\\beta$ (for a linear model the vector of "
            "the $S_i$ lies in the row space of the design $X$)",
            "Any real start, with $\\beta_0 = w_{p,0} v_{p,0} - w_{m,0} v_{m,0}$ and "
            "$M = w_{p,0}^2 + v_{p,0}^2 + w_{m,0}^2 + v_{m,0}^2$",
        ),
        source=f"{_SOURCE_DL}; {_SOURCE_LL}; derived here (dsolve)",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Each branch conserves $w^2 - v^2$. Always $M \\ge 2|\\beta_0|$, with equality only when both "
               "branches are balanced ($|w| = |v|$); then $k = M^2 - 4\\beta_0^2 = 0$ and the penalty of "
               "derivation ptft.exact_penalty degenerates."),
    )


def general_start_beta_expr() -> sp.Expr:
    """beta(S) = beta0 cosh 2S + (M/2) sinh 2S, in the symbols of ``ptft.general_start_flow``."""
    return general_start_flow().expr


# --------------------------------------------------------------------------------------------------
# ptft.exact_penalty
# --------------------------------------------------------------------------------------------------
@register("ptft.exact_penalty", title="Exact implicit penalty of gradient flow from a general two-branch start")
def exact_penalty() -> Derivation:
    """Q(beta) = q_k(beta) - (beta/2) asinh(2 beta0/sqrt k), sqrt k = sqrt(M^2 - 4 beta0^2).

    In words: inverting the trajectory beta(S) gives the mirror map S(beta); its integral Q is the
    implicit penalty, i.e. gradient flow from (beta0, M) converges to argmin sum_i Q_i(beta_i)
    subject to X beta = y. Q(0) = 0, Q'(beta0) = 0 (beta0 is the minimiser), Q'' = 1/sqrt(k+4 beta^2) > 0.
    Source: [DL]; derived here (solve + integrate).
    Assumptions: M > 2|beta0| (not both branches exactly balanced), convergence to an interpolator.
    """
    s = _s()
    steps = []
    B = general_start_beta_expr()
    Sf, Qf = sp.Function("S")(s.beta), sp.Function("Q")(s.beta)
    steps.append(Step("The trajectory (derivation ptft.general_start_flow)", sp.Eq(sp.Function("beta")(s.S), B)))
    # amplitude-phase form: A cosh(phi) = M/2, A sinh(phi) = beta0; cosh^2 - sinh^2 = 1 eliminates phi
    A_sol = sp.solve(sp.Eq(s.A**2, (s.M / 2) ** 2 - s.beta0**2), s.A)
    A_expr = A_sol[0]
    steps.append(Step("Write it as $\\beta(S) = A \\sinh(2S + \\phi)$, i.e. $A \\cosh \\phi = M/2$ and "
                      "$A \\sinh \\phi = \\beta_0$; since $\\cosh^2 \\phi - \\sinh^2 \\phi = 1$ the amplitude is "
                      "(positive when $M > 2|\\beta_0|$)", sp.Eq(s.A, A_expr)))
    # inverse of sinh: the real root of sinh(y) = z
    z = sp.Symbol("z", real=True)
    roots = sp.solve(sp.Eq(sp.sinh(s.y), z), s.y)
    real_roots = [r for r in roots
                  if all(abs(sp.im(sp.N(r.subs(z, zv)))) < 1e-12 for zv in (-3, sp.Rational(1, 3), 5))]
    steps.append(Step("The roots of $\\sinh y = z$; only the second is real, $\\ln(z + \\sqrt{1 + z^2}) = "
                      "\\operatorname{asinh} z$", sp.Tuple(*(sp.Eq(s.y, r) for r in roots))))
    checks = [check_identity(real_roots[0], sp.asinh(z), "the real root of sinh(y) = z is asinh(z)")]
    phi_expr = sp.asinh(s.beta0 / s.A)
    steps.append(Step("Hence the phase, from $\\sinh \\phi = \\beta_0/A$", sp.Eq(s.phi, phi_expr)))
    # from here on, work with sqrt k = 2A (a positive symbol): M = sqrt(k + 4 beta0^2)
    M_of_k = sp.sqrt(s.sqrt_k**2 + 4 * s.beta0**2)
    checks.append(check_identity(sp.solve(sp.Eq(2 * A_expr, s.sqrt_k), s.M)[0], M_of_k,
                                 "sqrt k := 2A, i.e. k = M^2 - 4 beta0^2, M = sqrt(k + 4 beta0^2)"))
    phi_k = phi_expr.subs(s.A, s.sqrt_k / 2)
    ampl = sp.expand_trig(s.A * sp.sinh(2 * s.S + s.phi)).subs({s.phi: phi_expr}).subs(s.A, s.sqrt_k / 2)
    checks.append(check_identity(B.subs(s.M, M_of_k), ampl, "beta(S) = A sinh(2S + phi)"))
    S_of_beta = (sp.asinh(s.beta / s.A) - phi_expr) / 2
    steps.append(Step("Inverting $\\beta = A \\sinh(2S + \\phi)$ gives the mirror map", sp.Eq(Sf, S_of_beta)))
    Q_A = sp.integrate(S_of_beta.subs(s.beta, s.x), (s.x, 0, s.beta))
    steps.append(Step("The penalty is its integral, $Q(\\beta) = \\int_0^\\beta S(x)\\,dx$", sp.Eq(Qf, Q_A)))
    Qk = sp.expand(Q_A.subs(s.A, s.sqrt_k / 2))
    mirror_k = S_of_beta.subs(s.A, s.sqrt_k / 2)
    steps.append(Step("In terms of $\\sqrt{k} = 2A$, i.e. $k = M^2 - 4\\beta_0^2$",
                      sp.Eq(Qf, Qk.subs(s.sqrt_k, sp.sqrt(s.k)))))
    rng = {s.beta: (-5.0, 5.0), s.beta0: (-2.0, 2.0)}
    checks += [
        check_identity(Qk, q_k(s.beta, s.sqrt_k) - s.beta / 2 * phi_k,
                       "Q = q_k(beta) - (beta/2) asinh(2 beta0/sqrt k) (the form of [DL])", ranges=rng),
        check_identity(sp.diff(Qk, s.beta), mirror_k, "dQ/dbeta = S(beta) (mirror map)", ranges=rng),
        check_identity(sp.expand_trig(B.subs(s.M, M_of_k).subs(s.S, mirror_k)), s.beta,
                       "beta(S(beta)) = beta (S is the inverse)", ranges=rng),
        check_identity(sp.diff(Qk, s.beta).subs(s.beta, s.beta0), sp.Integer(0),
                       "Q'(beta0) = 0: the start is the minimiser", ranges=rng),
        check_identity(sp.diff(Qk, s.beta, 2), 1 / sp.sqrt(s.sqrt_k**2 + 4 * s.beta**2),
                       "Q'' = 1/sqrt(k + 4 beta^2) > 0 (strictly convex)", ranges=rng),
        check_identity(Qk.subs(s.beta, 0), sp.Integer(0), "Q(0) = 0 (normalisation)"),
    ]
    sqrt_k_expr = sp.sqrt(s.M**2 - 4 * s.beta0**2)
    Q = Qk.subs(s.sqrt_k, sqrt_k_expr)
    mirror = mirror_k.subs(s.sqrt_k, sqrt_k_expr)
    qk = _qk_definition()
    display = Display(
        sp.Eq(Qf, qk.lhs.func(s.beta) - s.beta / 2 * sp.asinh(2 * s.beta0 / sp.sqrt(s.k))),
        where=(qk, Definition(s.k, s.M**2 - 4 * s.beta0**2, "positive unless both branches start balanced")),
    )
    return Derivation(
        display=display,
        name="ptft.exact_penalty",
        title="Exact implicit penalty of gradient flow from a general two-branch start",
        statement=sp.Eq(sp.Function("Q")(s.beta), Q),
        symbols=(s.beta, s.beta0, s.M),
        assumptions=(
            "$M > 2|\\beta_0|$, i.e. $k > 0$: the two branches do not both start balanced",
            "Gradient flow converges to an interpolator of $X\\beta = y$, and $S$ lies in the row space of $X$",
            "Normalisation $Q(0) = 0$; the implicit bias is $\\operatorname{argmin}_{X\\beta = y} \\sum_i "
            "Q(\\beta_i; \\beta_{0,i}, M_i)$",
        ),
        source=f"{_SOURCE_DL}; derived here (solve and integrate)",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Agrees with the general-start penalty of [DL]. Its minimum is at the start, "
               "$Q(\\beta_0) = (\\sqrt{k} - M)/4 \\le 0$, not at 0: Q is negative between 0 and about "
               "$2\\beta_0$, so $\\log Q$ (and the l-order) is singular there. The Bregman form "
               "$Q(\\beta) - Q(\\beta_0) \\ge 0$ is the same penalty up to a constant."),
        extra={"mirror_map": mirror, "sqrt_k": sqrt_k_expr, "phi": phi_k.subs(s.sqrt_k, sqrt_k_expr),
               "Q_k": Qk, "mirror_map_k": mirror_k, "symbols_k": (s.beta, s.beta0, s.sqrt_k)},
    )


def exact_penalty_expr(beta: sp.Expr | None = None, beta0: sp.Expr | None = None,
                       M: sp.Expr | None = None) -> sp.Expr:
    """Q(beta; beta0, M) of ``ptft.exact_penalty`` with its symbols replaced by the given expressions."""
    d = exact_penalty()
    s = _s()
    rep = {k: v for k, v in ((s.beta, beta), (s.beta0, beta0), (s.M, M)) if v is not None}
    return d.expr.subs(rep, simultaneous=True)


def exact_penalty_k_expr(beta: sp.Expr | None = None, beta0: sp.Expr | None = None,
                         sqrt_k: sp.Expr | None = None) -> sp.Expr:
    """Q(beta; beta0, sqrt k) of ``ptft.exact_penalty`` (parametrised by sqrt k = sqrt(M^2 - 4 beta0^2))."""
    d = exact_penalty()
    s = _s()
    rep = {k: v for k, v in ((s.beta, beta), (s.beta0, beta0), (s.sqrt_k, sqrt_k)) if v is not None}
    return d.extra["Q_k"].subs(rep, simultaneous=True)


def mirror_map_expr(beta: sp.Expr | None = None, beta0: sp.Expr | None = None,
                    M: sp.Expr | None = None) -> sp.Expr:
    """S(beta) = Q'(beta) = (asinh(2 beta/sqrt k) - asinh(2 beta0/sqrt k))/2 (``ptft.exact_penalty``)."""
    s = _s()
    rep = {k: v for k, v in ((s.beta, beta), (s.beta0, beta0), (s.M, M)) if v is not None}
    return exact_penalty().extra["mirror_map"].subs(rep, simultaneous=True)


# --------------------------------------------------------------------------------------------------
# ptft.rescaled_start
# --------------------------------------------------------------------------------------------------
@register("ptft.rescaled_start",
          title="Exact finetuning penalty after the [LL] hand-off (first layer rescaled by c, readouts reset to gamma)")
def rescaled_start() -> Derivation:
    """R_exact(beta; beta_aux, c, gamma): the exact finetuning penalty after the [LL] hand-off.

    In words: after rich pretraining (small balanced init) the active branch of a coordinate holds
    w = v = sqrt|beta_aux| and the other branch ~0; finetuning multiplies the first layer by c and
    resets both readouts to gamma, so M = c^2|beta_aux| + 2 gamma^2, beta0 = c gamma sign(beta_aux)
    sqrt|beta_aux| and sqrt k = sqrt(c^4 beta_aux^2 + 4 gamma^4); R_exact = Q(beta; beta0, M).
    Source: [LL] (hand-off, rescaling sweep). Assumptions: pretraining converged
    from the small-init limit (inactive branch's first layer -> 0), c > 0, gamma >= 0.
    """
    s = _s()
    steps = []
    # pretraining: balanced start (w = v = alpha) conserves w^2 - v^2 = 0; the fit gives w v = |beta_aux|
    wpt, vpt = sp.symbols("w_pt v_pt", positive=True)
    sol = sp.solve([sp.Eq(wpt**2 - vpt**2, 0), sp.Eq(wpt * vpt, s.a)], [wpt, vpt], dict=True)[0]
    w_, v_ = sp.symbols("w v", positive=True)
    steps.append(Step("Pretraining from a small balanced start conserves $w^2 - v^2 = 0$; fitting "
                      "$w v = |\\beta_{\\mathrm{aux}}| = a$, the active branch ends at",
                      sp.Tuple(sp.Eq(w_, sol[wpt]), sp.Eq(v_, sol[vpt]))))
    w_act = sol[wpt]
    # hand-off, beta_aux > 0: positive branch active; beta_aux < 0: negative branch active
    cases = {}
    for sign, (wp, vp, wm, vm) in {+1: (s.c * w_act, s.gamma, 0, s.gamma),
                                    -1: (0, s.gamma, s.c * w_act, s.gamma)}.items():
        M_ = sp.expand(wp**2 + vp**2 + wm**2 + vm**2)
        b0 = sp.expand(wp * vp - wm * vm)
        cases[sign] = (M_, b0)
        branch = ("positive branch active, $w_p = c \\sqrt{a}$, $w_m = 0$" if sign > 0 else
                  "negative branch active, $w_p = 0$, $w_m = c \\sqrt{a}$")
        steps.append(Step(f"Hand-off for $\\beta_{{\\mathrm{{aux}}}} = {'' if sign > 0 else '-'}a$ ({branch}; both "
                          "readouts reset to $\\gamma$)", sp.Tuple(sp.Eq(s.M, M_), sp.Eq(s.beta0, b0))))
    M_gen = s.c**2 * sp.Abs(s.beta_aux) + 2 * s.gamma**2
    b0_gen = s.c * s.gamma * sp.sign(s.beta_aux) * sp.sqrt(sp.Abs(s.beta_aux))
    checks = []
    for sign, (M_, b0) in cases.items():
        checks.append(check_identity(M_gen.subs(s.beta_aux, sign * s.a), M_, f"M for sign {sign:+d}"))
        checks.append(check_identity(b0_gen.subs(s.beta_aux, sign * s.a), b0, f"beta0 for sign {sign:+d}"))
    k = sp.factor(sp.expand(M_gen**2 - 4 * b0_gen**2))
    k = sp.simplify(k)
    steps.append(Step("Hence, for either sign, $k = M^2 - 4\\beta_0^2$ is", sp.Eq(s.k, k)))
    checks.append(check_identity(k, s.c**4 * s.beta_aux**2 + 4 * s.gamma**4,
                                 "k = c^4 beta_aux^2 + 4 gamma^4"))
    skk = sp.sqrt(k)
    R = exact_penalty_k_expr(s.beta, b0_gen, skk)
    steps.append(Step("The finetuning penalty is that of derivation ptft.exact_penalty at this start",
                      sp.Eq(sp.Function("R_exact")(s.beta), exact_penalty_k_expr(s.beta, s.beta0, sp.sqrt(s.k)))))
    rng = {s.beta: (-4.0, 4.0), s.beta_aux: (-3.0, 3.0), s.gamma: (0.05, 1.5)}
    checks.append(check_identity(
        R, q_k(s.beta, skk) - s.beta / 2 * sp.asinh(2 * b0_gen / skk),
        "R_exact = q_k(beta) - (beta/2) asinh(2 c gamma sign(beta_aux) sqrt|beta_aux| / sqrt k)", ranges=rng))
    checks.append(check_identity(R.subs({s.beta: -s.beta, s.beta_aux: -s.beta_aux}), R,
                                 "sign symmetry R(-beta; -beta_aux) = R(beta; beta_aux)", ranges=rng))
    display = Display(
        sp.Eq(sp.Function("R_exact")(s.beta, s.beta_aux, s.c, s.gamma),
              sp.Function("q_k")(s.beta) - s.beta / 2 * sp.asinh(2 * s.beta0 / sp.sqrt(s.k))),
        where=(_qk_definition(),
               Definition(s.k, s.c**4 * s.beta_aux**2 + 4 * s.gamma**4,
                          "equal to $M^2 - 4\\beta_0^2$ with $M = c^2|\\beta_{\\mathrm{aux}}| + 2\\gamma^2$"),
               Definition(s.beta0, b0_gen, "the coefficient at the start of finetuning")),
    )
    return Derivation(
        display=display,
        name="ptft.rescaled_start",
        title="Exact finetuning penalty after the [LL] hand-off (first layer rescaled by c, readouts reset to gamma)",
        statement=sp.Eq(sp.Function("R_exact")(s.beta, s.beta_aux, s.c, s.gamma), R),
        symbols=(s.beta, s.beta_aux, s.c, s.gamma),
        assumptions=(
            "Pretraining from a small balanced start ($w = v = \\alpha \\to 0$) has converged: the active branch "
            "holds $w = v = \\sqrt{|\\beta_{\\mathrm{aux}}|}$, the first layer of the inactive one is 0 (it decays "
            "like $\\alpha e^{-S}$)",
            "Finetuning multiplies the first layer by $c > 0$ and resets both readouts to $\\gamma \\ge 0$",
            "$\\gamma = 0$ with $\\beta_{\\mathrm{aux}} = 0$ is excluded: the coordinate is then a saddle ($M = 0$)",
        ),
        source=f"{_SOURCE_LL} (hand-off, rescaling c); derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("The penalty depends on c only through $c^2|\\beta_{\\mathrm{aux}}|$. With a finite pretraining "
               "initialisation $\\alpha$ the inactive branch keeps a first-layer weight of about "
               "$\\alpha^2/\\sqrt{|\\beta_{\\mathrm{aux}}|}$; derivation mtl.sequential_limit does the exact "
               "finite-$\\alpha$ bookkeeping."),
        extra={"M": M_gen, "beta0": b0_gen, "sqrt_k": skk},
    )


def rescaled_start_penalty_expr(beta: sp.Expr | None = None, beta_aux: sp.Expr | None = None,
                                c: sp.Expr | None = None, gamma: sp.Expr | None = None) -> sp.Expr:
    """R_exact(beta; beta_aux, c, gamma) of ``ptft.rescaled_start`` with symbols replaced as given."""
    s = _s()
    rep = {k: v for k, v in ((s.beta, beta), (s.beta_aux, beta_aux), (s.c, c), (s.gamma, gamma)) if v is not None}
    return rescaled_start().expr.subs(rep, simultaneous=True)


# --------------------------------------------------------------------------------------------------
# ptft.plotted_penalty
# --------------------------------------------------------------------------------------------------
def _large_beta_series(expr: sp.Expr, bp: sp.Symbol, order: int = 2) -> sp.Expr:
    """Asymptotic series of expr(bp) as bp -> +oo, via bp = 1/t, log-rewritten (bp must be positive)."""
    t = _s().t
    ser = sp.series(expr.rewrite(sp.log).subs(bp, 1 / t), t, 0, order).removeO()
    return sp.expand(sp.expand_log(ser.subs(t, 1 / bp), force=True))


@register("ptft.plotted_penalty",
          title="The PT+FT penalty plotted in [LL], its limits and its distance to the exact penalty")
def plotted_penalty() -> Derivation:
    """R_FT(beta) = K q_W(2 beta/K), K = |beta_aux| + gamma^2: the approximation [LL] plot.

    In words: the penalty is (4 times) the exact penalty of a *surrogate* start in which both branches
    are balanced with w^2 = v^2 = K/2 (the mean square weight of the active branch after the hand-off at
    c = 1) and beta0 = 0. Small beta: ~ beta^2/K (weighted l2); large: ~ 2|beta|(ln(2|beta|/K) - 1) (l1 with a
    log weight). Source: [LL] (plotted penalty), [W] (q_W). Assumptions: as ``ptft.rescaled_start``
    with c = 1 for the comparison.
    """
    s = _s()
    steps = []
    K = sp.Abs(s.beta_aux) + s.gamma**2
    M_sur, b0_sur = 4 * (K / 2), sp.Integer(0)  # two balanced branches, w^2 = v^2 = K/2 each
    RFT = sp.Function("R_FT")(s.beta)
    steps.append(Step("Surrogate start: both branches balanced with $w^2 = v^2 = K/2$, $K = |\\beta_{\\mathrm{aux}}| + "
                      "\\gamma^2$, so that $\\beta_0 = 0$ and", sp.Eq(s.M, M_sur)))
    Q_sur = exact_penalty_expr(s.beta, b0_sur, M_sur)
    Q_sur_K = exact_penalty_expr(s.beta, b0_sur, 2 * s.K)
    check_identity(Q_sur_K.subs(s.K, K), Q_sur, "printed form of the surrogate penalty")
    steps.append(Step("Its exact penalty (derivation ptft.exact_penalty with $\\beta_0 = 0$, $\\sqrt{k} = M = 2K$)",
                      sp.Eq(sp.Function("Q_sur")(s.beta), Q_sur_K)))
    R = sp.simplify(4 * Q_sur)
    R_K = sp.expand(4 * Q_sur_K)
    check_identity(R_K.subs(s.K, K), R, "printed form of R_FT in K")
    steps.append(Step("The normalisation of [LL] is four times this (twice the $\\alpha^2 q_W(\\beta/\\alpha^2)$ of "
                      "[W] at $\\alpha^2 = K/2$)", sp.Eq(RFT, R_K)))
    rng = {s.beta: (-4.0, 4.0), s.beta_aux: (-3.0, 3.0), s.gamma: (0.0, 1.5)}
    checks = [check_identity(R, K * q_W(2 * s.beta / K), "R_FT = K q_W(2 beta/K) (the form [LL] plot)", ranges=rng)]
    # limits, with beta > 0 and K a positive symbol (R_FT is even in beta)
    RK = (s.K * q_W(2 * s.bp / s.K))
    checks.append(check_identity(R.subs({s.beta_aux: s.K, s.gamma: 0, s.beta: s.bp}), RK, "R_FT in terms of K"))
    small = sp.series(RK, s.bp, 0, 5).removeO()
    large = _large_beta_series(RK, s.bp, 2)
    steps.append(Step("For small $\\beta$ (series about 0): weighted $\\ell_2$",
                      sp.Eq(sp.Function("R_FT")(s.bp),
                            _shown(s.bp**2 / s.K * (1 - s.bp**2 / (12 * s.K**2)), small, "the small-beta series")
                            + sp.O(s.bp**6))))
    large_form = 2 * s.bp * (sp.log(2 * s.bp / s.K) - 1) + 2 * s.K - s.K**2 / (2 * s.bp)
    check_identity(sp.expand(sp.expand_log(large_form, force=True)), large, "printed form of the large-beta series")
    steps.append(Step("For large $\\beta > 0$ (series at infinity; $R_{\\mathrm{FT}}$ is even): $\\ell_1$ with a "
                      "logarithmic weight", sp.Eq(sp.Function("R_FT")(s.bp), large_form + sp.O(s.bp**-2, (s.bp, sp.oo)))))
    checks.append(check_identity(small.coeff(s.bp, 2), 1 / s.K, "small-beta: R_FT ~ beta^2/(|beta_aux| + gamma^2)"))
    lead = sp.expand(large - large.subs(sp.log(s.bp), 0).coeff(s.bp, 0) - sp.expand(large).coeff(s.bp, -1) / s.bp)
    checks.append(check_identity(lead, sp.expand_log(2 * s.bp * (sp.log(2 * s.bp / s.K) - 1), force=True),
                                 "large-beta: R_FT ~ 2|beta|(ln(2|beta|/K) - 1) (+ 2K + O(1/beta))"))

    # ----- comparison with the exact penalty at c = 1 -----
    Rex = rescaled_start_penalty_expr(c=sp.Integer(1))
    # gamma = 0: an exact identity
    checks.append(check_identity(R.subs(s.gamma, 0), 4 * Rex.subs({s.gamma: 0, s.beta_aux: 2 * s.beta_aux}),
                                 "gamma = 0: R_FT(beta; beta_aux) = 4 R_exact(beta; 2 beta_aux, c = 1)",
                                 ranges={s.beta_aux: (-3.0, 3.0)}))
    checks.append(check_identity(R.subs(s.beta_aux, 0), 4 * rescaled_start_penalty_expr(beta_aux=sp.Integer(0)),
                                 "new feature (beta_aux = 0): R_FT = 4 R_exact exactly (any c)",
                                 ranges={s.gamma: (0.1, 1.5)}))
    # curvature at the minimiser: plotted 2/K at 0; exact 1/M at beta0
    curv_plot = sp.simplify(sp.diff(R, s.beta, 2).subs(s.beta, 0))
    M1 = sp.Abs(s.beta_aux) + 2 * s.gamma**2
    b01 = s.gamma * sp.sign(s.beta_aux) * sp.sqrt(sp.Abs(s.beta_aux))
    curv_ex = sp.simplify(sp.diff(Rex, s.beta, 2).subs(s.beta, b01))
    checks.append(check_identity(curv_plot, 2 / K, "curvature of R_FT at its minimiser 0: 2/K"))
    checks.append(check_identity(curv_ex, 1 / M1, "curvature of R_exact (c = 1) at its minimiser beta0: 1/M",
                                 ranges={s.beta_aux: (-3.0, 3.0)}))
    steps.append(Step("At $c = 1$ the curvatures at the minimisers are $R_{\\mathrm{FT}}''(0) = 2/K$ and "
                      "$R_{\\mathrm{exact}}''(\\beta_0) = 1/M$ with $M = |\\beta_{\\mathrm{aux}}| + 2\\gamma^2$; the "
                      "ratio of the first over four to the second is",
                      _shown((sp.Abs(s.beta_aux) + 2 * s.gamma**2) / sp.Mul(2, sp.Abs(s.beta_aux) + s.gamma**2,
                                                                            evaluate=False),
                             sp.simplify(curv_plot / 4 / curv_ex), "the curvature ratio",
                             ranges={s.beta_aux: (-3.0, 3.0)})))
    # large-beta slope (per unit |beta|, beta -> +oo, beta_aux > 0) of R_FT/4 minus that of R_exact
    slope_plot = sp.diff(R, s.beta) / 4
    slope_ex = sp.diff(Rex, s.beta)
    gap = sp.limit((slope_ex - slope_plot).subs({s.beta_aux: s.a, s.gamma: s.gp}).rewrite(sp.log), s.beta, sp.oo)
    gap = sp.simplify(gap)
    gap_form = _shown(sp.log(sp.Mul(2, s.a + s.gp**2, evaluate=False) / ((sp.sqrt(s.a) + s.gp) ** 2 + s.gp**2)) / 2,
                      gap, "the rich slope gap")
    steps.append(Step("In the rich limit the slope of $R_{\\mathrm{exact}}$ (at $c = 1$) exceeds that of "
                      "$R_{\\mathrm{FT}}/4$: for $\\beta_{\\mathrm{aux}} = a > 0$ and $\\gamma > 0$, "
                      "$\\lim_{\\beta \\to \\infty} (R_{\\mathrm{exact}}'(\\beta) - R_{\\mathrm{FT}}'(\\beta)/4)$ is",
                      gap_form))
    gap0 = sp.limit(gap, s.gp, 0, "+")
    steps.append(Step("As $\\gamma \\to 0$ this tends to a constant", gap0))
    checks.append(check_identity(gap0, sp.log(2) / 2, "gamma -> 0: exact slope exceeds plotted/4 by (ln 2)/2"))

    # numbers (mpmath via evalf)
    pts = [(0.1, 1, 0), (1, 1, 0), (10, 1, 0), (1, 0.01, 0), (1, 100, 0), (0.1, 1, 0.1), (1, 1, 0.1),
           (10, 1, 0.1), (1, 1, 1), (1, 0, 0.1)]
    f_plot = sp.lambdify((s.beta, s.beta_aux, s.gamma), R, "mpmath")
    f_ex = sp.lambdify((s.beta, s.beta_aux, s.gamma), Rex, "mpmath")
    import mpmath
    rows = []
    with mpmath.workdps(30):
        for b, ba, g in pts:
            args = (mpmath.mpf(b), mpmath.mpf(ba), mpmath.mpf(g))
            rp, re_ = f_plot(*args), f_ex(*args)
            rows.append((b, ba, g, float(rp), float(re_), float(rp / re_) if re_ != 0 else float("nan")))
    table = "; ".join(f"({b}, {ba}, {g}): {rp:.4g} against {re_:.4g}, ratio {r:.3f}" for b, ba, g, rp, re_, r in rows)
    notes = (
        "The plotted penalty is four times the exact penalty of a surrogate start, both branches balanced at "
        "$w^2 = v^2 = K/2$ with $\\beta_0 = 0$: its scale is $\\sqrt{k} = 2K = 2(|\\beta_{\\mathrm{aux}}| + \\gamma^2)$ "
        "instead of the true $\\sqrt{\\beta_{\\mathrm{aux}}^2 + 4\\gamma^4}$ (at $c = 1$), and it drops the linear term "
        "$(\\beta/2)\\operatorname{asinh}(2\\beta_0/\\sqrt{k})$. For a new feature ($\\beta_{\\mathrm{aux}} = 0$) "
        "$R_{\\mathrm{FT}} = 4R_{\\mathrm{exact}}$ exactly, so $R_{\\mathrm{FT}}/4$ is the comparable scale. At "
        "$\\gamma = 0$ the two are related exactly by $R_{\\mathrm{FT}}(\\beta; \\beta_{\\mathrm{aux}}) = "
        "4R_{\\mathrm{exact}}(\\beta; 2\\beta_{\\mathrm{aux}})$: the plotted penalty is the exact one with "
        "$|\\beta_{\\mathrm{aux}}|$ doubled. That is not a constant factor (the ratio runs from 2 at small $\\beta$ to "
        "about 4 at large $\\beta$), so the minimisers of the two can differ. Where they agree: both are quadratic "
        "about their minimiser with curvature of order $1/|\\beta_{\\mathrm{aux}}|$ as $\\gamma \\to 0$, and both grow "
        "like $|\\beta| \\log|\\beta|$ with slope $\\tfrac12 \\ln|\\beta| + O(1)$ per unit after dividing "
        "$R_{\\mathrm{FT}}$ by four; for a new feature the rich slopes coincide. For a pretrained feature with "
        "$\\gamma \\to 0$ the exact slope is larger by $\\tfrac12 \\ln 2$, so the plotted penalty overstates the "
        "slope gap between new and pretrained features by $\\tfrac12 \\ln 2$. The minimisers differ: "
        "$R_{\\mathrm{FT}}$ is minimal at 0, $R_{\\mathrm{exact}}$ at $\\beta_0$. Values of $R_{\\mathrm{FT}}$ against "
        "$R_{\\mathrm{exact}}$ at $c = 1$ (mpmath) for $(\\beta, \\beta_{\\mathrm{aux}}, \\gamma)$ = "
        + table + "."
    )
    display = Display(sp.Eq(sp.Function("R_FT")(s.beta, s.beta_aux, s.gamma),
                            s.K * sp.Function("q_W")(2 * s.beta / s.K)),
                      where=(_qW_definition(), Definition(s.K, K)))
    return Derivation(
        display=display,
        name="ptft.plotted_penalty",
        title="The PT+FT penalty plotted in [LL], its limits and its distance to the exact penalty",
        statement=sp.Eq(sp.Function("R_FT")(s.beta, s.beta_aux, s.gamma), R),
        symbols=(s.beta, s.beta_aux, s.gamma),
        assumptions=(
            "Approximation: the finetuning start is replaced by two balanced branches with $w^2 = v^2 = K/2$ and "
            "$\\beta_0 = 0$ (the form plotted in [LL]); the comparison with $R_{\\mathrm{exact}}$ is at $c = 1$",
            "Series: $\\beta > 0$ ($R_{\\mathrm{FT}}$ is even in $\\beta$) and $K > 0$",
        ),
        source=f"{_SOURCE_LL} (plotted penalty); {_SOURCE_W} (q_W); derived here as a surrogate-start penalty",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=notes,
        extra={"small_beta": small, "large_beta": large, "K": K, "comparison": rows, "slope_gap": gap},
    )


def plotted_penalty_expr(beta: sp.Expr | None = None, beta_aux: sp.Expr | None = None,
                         gamma: sp.Expr | None = None) -> sp.Expr:
    """R_FT(beta; beta_aux, gamma) = K q_W(2 beta/K) of ``ptft.plotted_penalty``, symbols replaced as given."""
    s = _s()
    rep = {k: v for k, v in ((s.beta, beta), (s.beta_aux, beta_aux), (s.gamma, gamma)) if v is not None}
    return plotted_penalty().expr.subs(rep, simultaneous=True)


# --------------------------------------------------------------------------------------------------
# ptft.exact_limits
# --------------------------------------------------------------------------------------------------
@register("ptft.exact_limits", title="Lazy and rich limits of the exact PT+FT penalty")
def exact_limits() -> Derivation:
    """Rich limit Q ~ (|beta|/2)(ln(4|beta|/sqrt k) - 1) - (beta/2) asinh(2 beta0/sqrt k) + sqrt k/4, |beta| >> sqrt k.

    In words: far from the start the exact penalty is l1 with a logarithmic weight, the weight being
    lower for coordinates with a large scale sqrt k (pretrained features) and shifted by the start's
    phase; near the start it is quadratic, Q ~ (sqrt k - M)/4 + (beta - beta0)^2/(2M) (weighted l2, lazy).
    Source: [LL]; derived here by series. Assumptions: those of
    ``ptft.exact_penalty``; the rich series is for beta -> +oo, extended to beta -> -oo by evenness of q_k.
    """
    s = _s()
    steps = []
    Q = exact_penalty_expr()
    Qk = exact_penalty_k_expr()
    sk = exact_penalty().extra["sqrt_k"]
    M_of_k = sp.sqrt(s.sqrt_k**2 + 4 * s.beta0**2)
    # small: series about beta0 (in the sqrt k parametrisation, then M = sqrt(k + 4 beta0^2))
    ser = sp.series(Qk.subs(s.beta, s.beta0 + s.eps), s.eps, 0, 4).removeO()
    cs = [sp.simplify(ser.coeff(s.eps, j)) for j in range(4)]
    small = sum(cj * (s.beta - s.beta0) ** j for j, cj in enumerate(cs))
    Qf, rk = sp.Function("Q")(s.beta), sp.sqrt(s.k)
    small_form = ((rk - s.M) / 4 + (s.beta - s.beta0) ** 2 / (2 * s.M)
                  * (1 - 4 * s.beta0 * (s.beta - s.beta0) / (3 * s.M**2)))
    check_identity(small_form.subs(s.M, M_of_k).subs(s.k, s.sqrt_k**2), small, "printed form of the lazy series")
    steps.append(Step("Near the start, the Taylor series about $\\beta_0$ (with $M = \\sqrt{k + 4\\beta_0^2}$) is "
                      "quadratic: a weighted $\\ell_2$ penalty, the lazy regime",
                      sp.Eq(Qf, small_form + sp.O((s.beta - s.beta0) ** 4, (s.beta, s.beta0)))))
    checks = [
        check_identity(cs[0], (s.sqrt_k - M_of_k) / 4, "Q(beta0) = (sqrt k - M)/4"),
        check_identity(cs[1], sp.Integer(0), "no linear term about beta0"),
        check_identity(cs[2], 1 / (2 * M_of_k), "quadratic coefficient 1/(2M) (lazy, weighted l2)"),
        check_identity(cs[3], -2 * s.beta0 / (3 * M_of_k**3), "cubic coefficient -2 beta0/(3 M^3)"),
    ]
    small = small.subs(s.sqrt_k, sk).subs(M_of_k.subs(s.sqrt_k, sk), s.M)
    rng = {s.M: (3.0, 6.0), s.beta0: (-1.4, 1.4)}
    # rich: q_k part is even; the linear part is exact. beta -> +oo with sqrt k a positive symbol
    qpart = q_k(s.bp, s.sqrt_k)
    checks.append(check_identity(Q.subs(s.beta, s.bp),
                                 (qpart - s.bp / 2 * sp.asinh(2 * s.beta0 / s.sqrt_k)).subs(s.sqrt_k, sk),
                                 "Q = q_k(beta) - (beta/2) phi", ranges=rng))
    checks.append(check_identity(q_k(-s.beta, s.sqrt_k), q_k(s.beta, s.sqrt_k), "q_k is even"))
    qlarge = _large_beta_series(qpart, s.bp, 2)
    large_form = s.bp / 2 * (sp.log(4 * s.bp / rk) - 1) + rk / 4 - s.k / (32 * s.bp)
    check_identity(sp.expand(sp.expand_log(large_form.subs(s.k, s.sqrt_k**2), force=True)), qlarge,
                   "printed form of the rich series")
    steps.append(Step("Far from it, for $\\beta \\to +\\infty$, the even part $q_k$ of the penalty (derivation "
                      "ptft.exact_penalty) grows like $\\beta \\ln \\beta$: the rich regime",
                      sp.Eq(sp.Function("q_k")(s.bp), large_form + sp.O(s.bp**-2, (s.bp, sp.oo)))))
    rich_pos = sp.expand(qlarge - sp.expand(qlarge).coeff(s.bp, -1) / s.bp)  # drop the O(k/beta) term
    absb = sp.Abs(s.beta)
    rich_q = absb / 2 * (sp.log(4 * absb / s.sqrt_k) - 1) + s.sqrt_k / 4
    checks.append(check_identity(rich_pos, sp.expand_log(rich_q.subs(s.beta, s.bp), force=True),
                                 "q_k ~ (|beta|/2)(ln(4|beta|/sqrt k) - 1) + sqrt k/4 + O(k/|beta|)"))
    steps.append(Step("Dropping the correction of order $k/|\\beta|$ and adding the linear term "
                      "$-(\\beta/2)\\operatorname{asinh}(2\\beta_0/\\sqrt{k})$, exact in $\\beta$, gives the statement; "
                      "the dropped term is",
                      sp.expand(qlarge).coeff(s.bp, -1).subs(s.sqrt_k, rk) / s.bp))
    rich = (rich_q - s.beta / 2 * sp.asinh(2 * s.beta0 / s.sqrt_k)).subs(s.sqrt_k, sk)
    # numeric confirmation of the asymptote
    import mpmath
    fQ = sp.lambdify((s.beta, s.beta0, s.M), Q, "mpmath")
    fr = sp.lambdify((s.beta, s.beta0, s.M), rich, "mpmath")
    with mpmath.workdps(30):
        errs = [float(abs(fQ(b, mpmath.mpf("0.7"), 2) - fr(b, mpmath.mpf("0.7"), 2))) for b in (1e3, -1e3, 1e5)]
    display = Display(sp.Eq(sp.Function("Q_rich")(s.beta),
                            (rich_q - s.beta / 2 * sp.asinh(2 * s.beta0 / s.sqrt_k)).subs(s.sqrt_k, rk)),
                      where=(Definition(s.k, s.M**2 - 4 * s.beta0**2),))
    return Derivation(
        display=display,
        name="ptft.exact_limits",
        title="Lazy and rich limits of the exact PT+FT penalty",
        statement=sp.Eq(sp.Function("Q_rich")(s.beta), rich),
        symbols=(s.beta, s.beta0, s.M),
        assumptions=("$M > 2|\\beta_0|$, i.e. $k > 0$",
                     "Rich limit: $|\\beta| \\gg \\sqrt{k}$, with an error of order $k/|\\beta|$; the series is taken "
                     "for $\\beta \\to +\\infty$ and extends to $\\beta \\to -\\infty$ because $q_k$ is even",
                     "Lazy limit: $|\\beta - \\beta_0| \\ll \\sqrt{k}$"),
        source=f"{_SOURCE_DL}; {_SOURCE_LL}; derived here (series)",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Lazy side: after the [LL] hand-off $M = c^2|\\beta_{\\mathrm{aux}}| + 2\\gamma^2$, so near the start "
               "$Q \\approx (\\beta - \\beta_0)^2/(2M)$ is a weighted $\\ell_2$ penalty favouring pretrained features. "
               "Rich side: per unit $|\\beta|$ the slope is $\\tfrac12(\\ln(4|\\beta|/\\sqrt{k}) - "
               "\\operatorname{sign}(\\beta)\\operatorname{asinh}(2\\beta_0/\\sqrt{k}))$, lower for features with a "
               "large scale $\\sqrt{k}$. Numerically (mpmath), $|Q - Q_{\\mathrm{rich}}|$ at $\\beta_0 = 0.7$, $M = 2$ "
               f"and $\\beta = 10^3, -10^3, 10^5$ is {errs[0]:.2e}, {errs[1]:.2e}, {errs[2]:.2e}, of order "
               "$k/|\\beta|$."),
        extra={"small_beta": small, "rich": rich},
    )


# --------------------------------------------------------------------------------------------------
# ptft.nested_feature_selection
# --------------------------------------------------------------------------------------------------
@register("ptft.nested_feature_selection",
          title="Rich-limit slope gap between a new and a pretrained feature (nested feature selection)")
def nested_feature_selection() -> Derivation:
    """Delta = lim_{beta->oo} [R_new' - R_pre'] = (1/2) ln(sqrt(c^4 b^2 + 4 gamma^4)/(2 gamma^2)) + (1/2) asinh(...).

    In words: in the rich limit the per-unit-|beta| price of a feature the auxiliary task did not use
    (beta_aux = 0) exceeds that of a pretrained feature by Delta, which diverges like
    (1/2) ln(c^2|beta_aux|/(2 gamma^2)) as gamma -> 0 with c^2|beta_aux| >> gamma^2: the finetuned solution is
    l1-sparse within the pretrained features (nested feature selection). Source: [LL] (rescaling,
    nested feature selection), [DL] (regime IV); derived here from ``ptft.rescaled_start``.
    Assumptions: beta -> +oo (for beta -> -oo flip sign(beta_aux)); gamma > 0; c > 0.
    """
    s = _s()
    steps = []
    # generic: lim_{beta->oo} of Q'(beta; beta0_n, sqrt k_n) - Q'(beta; beta0_p, sqrt k_p), one limit for all cases
    b0n, b0p = sp.symbols("beta_0_n beta_0_p", real=True)
    skn, skp = sp.symbols("sqrt_k_n sqrt_k_p", positive=True)
    kn, kp = sp.symbols("k_n k_p", positive=True)  # printed: sqrt k_n for sqrt_k_n
    shown_k = {skn: sp.sqrt(kn), skp: sp.sqrt(kp)}
    Df = sp.Function("Delta")
    dQ = sp.diff(exact_penalty_k_expr(), s.beta)
    diff_generic = (dQ.subs({s.beta0: b0n, s.sqrt_k: skn}, simultaneous=True)
                    - dQ.subs({s.beta0: b0p, s.sqrt_k: skp}, simultaneous=True))
    gap_generic = sp.simplify(sp.limit(diff_generic.rewrite(sp.log), s.beta, sp.oo))
    steps.append(Step("In the rich limit the slopes of two exact penalties (derivation ptft.exact_penalty) started at "
                      "$(\\beta_{0,n}, k_n)$ and at $(\\beta_{0,p}, k_p)$ differ by "
                      "$\\lim_{\\beta \\to \\infty} (Q_n'(\\beta) - Q_p'(\\beta))$", gap_generic.xreplace(shown_k)))
    rs = rescaled_start()
    b0_r, sk_r = rs.extra["beta0"], rs.extra["sqrt_k"]
    new_feat = {b0n: b0_r.subs(s.beta_aux, 0), skn: sk_r.subs(s.beta_aux, 0)}
    steps.append(Step("A new feature ($\\beta_{\\mathrm{aux}} = 0$) starts finetuning at (derivation ptft.rescaled_start)",
                      sp.Tuple(*(sp.Eq(key.xreplace(shown_k), val) for key, val in new_feat.items()))))
    gaps = {}
    for sign in (+1, -1):
        sub = dict(new_feat)
        sub.update({b0p: b0_r.subs(s.beta_aux, sign * s.a), skp: sk_r.subs(s.beta_aux, sign * s.a)})
        gaps[sign] = sp.simplify(gap_generic.subs(sub, simultaneous=True).subs(s.gamma, s.gp))
        form = sp.log(((s.c * sp.sqrt(s.a) + sign * s.gp) ** 2 + s.gp**2) / (2 * s.gp**2)) / 2
        steps.append(Step(f"For a pretrained feature with $\\beta_{{\\mathrm{{aux}}}} = {'' if sign > 0 else '-'}a$, "
                          f"$a > 0$ ($\\beta_{{0,p}} = {'' if sign > 0 else '-'}c \\gamma \\sqrt{{a}}$, "
                          "$k_p = c^4 a^2 + 4\\gamma^4$), the gap is",
                          sp.Eq(Df(s.beta_aux, s.c, s.gp).subs(s.beta_aux, sign * s.a),
                                _shown(form, gaps[sign], f"the gap for sign {sign:+d}"))))
    skk = sp.sqrt(s.c**4 * s.beta_aux**2 + 4 * s.gp**2 * s.gp**2)
    delta = (sp.log(skk / (2 * s.gp**2)) / 2
             + sp.asinh(2 * s.c * s.gp * sp.sign(s.beta_aux) * sp.sqrt(sp.Abs(s.beta_aux)) / skk) / 2)
    checks = [check_identity(delta.subs(s.beta_aux, sign * s.a), gaps[sign],
                             f"slope gap for sign(beta_aux) = {sign:+d}") for sign in (+1, -1)]
    # asymptotics: gamma -> 0 at fixed c, |beta_aux|
    da = delta.subs(s.beta_aux, s.a)
    ser = sp.series(da.rewrite(sp.log), s.gp, 0, 2).removeO()
    ser = sp.expand(sp.expand_log(ser, force=True))
    steps.append(Step("As $\\gamma \\to 0$ ($\\beta_{\\mathrm{aux}} = a > 0$) it diverges logarithmically",
                      sp.Eq(Df(s.a, s.c, s.gp), sp.log(s.c**2 * s.a / (2 * s.gp**2)) / 2 + s.gp / (s.c * sp.sqrt(s.a))
                            + sp.O(s.gp**2))))
    lead = sp.expand_log(sp.log(s.c**2 * s.a / (2 * s.gp**2)) / 2, force=True)
    checks.append(check_identity(ser, lead + s.gp / (s.c * sp.sqrt(s.a)),
                                 "Delta = (1/2) ln(c^2|beta_aux|/(2 gamma^2)) + gamma/(c sqrt|beta_aux|) + "
                                 "O(gamma^2)"))
    # finite pretraining init alpha: a feature the auxiliary task never used keeps first-layer weights
    # alpha on both branches, so after the hand-off M = 2 c^2 alpha^2 + 2 gamma^2, beta0 = 0 (sqrt k = M)
    al = sp.Symbol("alpha", positive=True)
    M_new = 2 * s.c**2 * al**2 + 2 * s.gp**2
    gap_al = sp.simplify(gap_generic.subs({b0n: 0, skn: M_new, b0p: b0_r.subs(s.beta_aux, s.a),
                                           skp: sk_r.subs(s.beta_aux, s.a)}, simultaneous=True).subs(s.gamma, s.gp))
    steps.append(Step("With a finite pretraining initialisation $\\alpha$ a new feature keeps the first-layer weight "
                      "$c\\alpha$ on both branches ($\\beta_{0,n} = 0$, $\\sqrt{k_n} = 2c^2\\alpha^2 + 2\\gamma^2$), and "
                      "the gap becomes",
                      sp.Eq(sp.Symbol("Delta_alpha"),
                            _shown(sp.log(((s.c * sp.sqrt(s.a) + s.gp) ** 2 + s.gp**2)
                                          / sp.Mul(2, s.c**2 * al**2 + s.gp**2, evaluate=False)) / 2,
                                   gap_al, "the finite-alpha gap"))))
    gap_al0 = sp.simplify(sp.limit(gap_al, s.gp, 0, "+"))
    steps.append(Step("As $\\gamma \\to 0$ it saturates, independently of $c$, at",
                      _shown(sp.log(s.a / (2 * al**2)) / 2, gap_al0, "the saturated gap")))
    checks.append(check_identity(gap_al0, sp.log(s.a / (2 * al**2)) / 2,
                                 "finite alpha, gamma -> 0: Delta -> (1/2) ln(|beta_aux|/(2 alpha^2))"))
    lim_c0 = sp.limit(da, s.c, 0, "+")
    steps.append(Step("At fixed $\\gamma > 0$ the gap closes as $c \\to 0$",
                      sp.Eq(sp.Limit(Df(s.a, s.c, s.gp), s.c, 0, "+"), lim_c0)))
    checks.append(check_identity(lim_c0, sp.Integer(0), "c -> 0 at fixed gamma: Delta -> 0 (no selection)"))
    display = Display(
        sp.Eq(Df(s.beta_aux, s.c, s.gp),
              sp.log(sp.sqrt(s.k) / (2 * s.gp**2)) / 2 + sp.asinh(2 * s.beta0 / sp.sqrt(s.k)) / 2),
        where=(Definition(s.k, s.c**4 * s.beta_aux**2 + 4 * s.gp**4),
               Definition(s.beta0, s.c * s.gp * sp.sign(s.beta_aux) * sp.sqrt(sp.Abs(s.beta_aux)),
                          "the start of a pretrained feature (derivation ptft.rescaled_start)")),
    )
    return Derivation(
        display=display,
        name="ptft.nested_feature_selection",
        title="Rich-limit slope gap between a new and a pretrained feature (nested feature selection)",
        statement=sp.Eq(sp.Function("Delta")(s.beta_aux, s.c, s.gp), delta),
        symbols=(s.beta_aux, s.c, s.gp),
        assumptions=(
            "The [LL] hand-off (derivation ptft.rescaled_start) with $\\gamma > 0$ and $c > 0$",
            "The slope is $\\lim_{\\beta \\to +\\infty} \\partial R/\\partial\\beta$, the price per unit $|\\beta|$; "
            "for $\\beta \\to -\\infty$ replace $\\operatorname{sign}(\\beta_{\\mathrm{aux}})$ by "
            "$-\\operatorname{sign}(\\beta_{\\mathrm{aux}})$",
        ),
        source=f"{_SOURCE_LL} (nested feature selection, rescaling); {_SOURCE_DL} (regime IV); derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("The order of limits matters. Letting $\\gamma \\to 0$ with $\\gamma^2 \\ll c^2|\\beta_{\\mathrm{aux}}|$ "
               "gives $\\Delta \\approx \\tfrac12 \\ln(c^2|\\beta_{\\mathrm{aux}}|/(2\\gamma^2)) \\to \\infty$: new "
               "features become infinitely dearer per unit, so the solution is $\\ell_1$-sparse within the pretrained "
               "features, and a small $c$ makes those rich ($|\\beta| \\gg \\sqrt{k} \\approx "
               "c^2|\\beta_{\\mathrm{aux}}|$), hence sparse among themselves. Letting $c \\to 0$ first at fixed "
               "$\\gamma$ instead gives $\\Delta \\to 0$: the pretrained scale drops below $\\gamma^2$ and pretraining "
               "is forgotten. Nested feature selection needs $\\gamma/c \\to 0$. Among pretrained features the rich "
               "slope is $\\tfrac12 \\ln(4|\\beta|/(c^2|\\beta_{\\mathrm{aux}}|)) + O(\\gamma)$, so a larger "
               "$|\\beta_{\\mathrm{aux}}|$ is cheaper. With a finite pretraining initialisation $\\alpha$ the gap "
               "saturates at $\\tfrac12 \\ln(|\\beta_{\\mathrm{aux}}|/(2\\alpha^2))$, so the divergence is cut off at "
               "$\\gamma \\approx c\\alpha$. The plotted penalty of [LL] gives the gap "
               "$\\tfrac12 \\ln((|\\beta_{\\mathrm{aux}}| + \\gamma^2)/\\gamma^2)$ per unit of $R_{\\mathrm{FT}}/4$, larger "
               "than the exact one by $\\tfrac12 \\ln 2$ as $\\gamma \\to 0$ (derivation ptft.plotted_penalty)."),
        extra={"gamma_series": ser, "gaps": gaps},
    )


def rich_slope_gap_expr() -> sp.Expr:
    """Delta(beta_aux, c, gamma) of ``ptft.nested_feature_selection``."""
    return nested_feature_selection().expr


# --------------------------------------------------------------------------------------------------
# ptft.dl_handoff
# --------------------------------------------------------------------------------------------------
@register("ptft.dl_handoff", title="Finetuning penalty after the [DL] hand-off")
def dl_handoff() -> Derivation:
    """k_d = (2 c_PT (1 + lambda_PT)(1 + sqrt(1 + beta_PT^2/c_PT^2)) + gamma^2)^2: the [DL] hand-off.

    In words: pretraining starts both branches of a coordinate at ``w0^2 = c_PT (1 + lambda_PT)/2``,
    ``v0^2 = c_PT (1 - lambda_PT)/2`` (absolute scale ``c_PT = w0^2 + v0^2``, relative scale
    ``lambda_PT = (w0^2 - v0^2)/c_PT``) and runs to ``beta_PT``; finetuning sets both first-layer weights
    to ``w_p + w_m`` and both readouts to ``gamma/sqrt 2``, so it starts at ``beta0 = 0`` with
    ``M = 2 (w_p + w_m)^2 + gamma^2`` and ``sqrt k = M``. The finetuning penalty is ``q_k`` with this ``k``
    (no linear term), ``= (c_FT/2)(1 - sqrt(1 + u^2) + u asinh u)``, ``u = beta/c_FT``, ``c_FT = M/2``.
    Source: [DL] Thm 4.1 ; derived here from the
    general-start flow (``ptft.general_start_flow``) applied twice. Assumptions: gradient flow in both
    phases, pretraining converged to ``beta_PT``; ``c_PT > 0``, ``-1 <= lambda_PT <= 1``, ``gamma >= 0``.
    """
    s = _s()
    cpt = sp.Symbol("c_PT", positive=True)
    lam = sp.Symbol("lambda_PT", real=True)
    bpt = sp.Symbol("beta_PT", real=True)
    w0, v0 = sp.symbols("w_0 v_0", nonnegative=True)
    steps = []
    init = {w0: sp.sqrt(cpt * (1 + lam) / 2), v0: sp.sqrt(cpt * (1 - lam) / 2)}
    steps.append(Step("Pretraining starts both branches at absolute scale $c_{\\mathrm{PT}} = w_0^2 + v_0^2$ and relative "
                      "scale $\\lambda_{\\mathrm{PT}} = (w_0^2 - v_0^2)/c_{\\mathrm{PT}}$",
                      sp.Tuple(sp.Eq(w0**2, init[w0] ** 2), sp.Eq(v0**2, init[v0] ** 2))))
    wp, vp = _branch_solution(+1, w0, v0)
    wm, vm = _branch_solution(-1, w0, v0)
    beta_S = sp.simplify(sp.expand((wp * vp - wm * vm).rewrite(sp.exp)))
    steps.append(Step("The pretraining trajectory (the branches as in derivation ptft.general_start_flow): the two "
                      "$\\cosh$ terms cancel",
                      sp.Eq(sp.Function("beta_PT")(s.S),
                            _shown((w0**2 + v0**2) * sp.sinh(2 * s.S), beta_S, "beta_PT(S)"))))
    checks = [check_identity((beta_S - (w0**2 + v0**2) * sp.sinh(2 * s.S)).rewrite(sp.exp), sp.Integer(0),
                             "beta_PT(S) = (w0^2 + v0^2) sinh 2S = c_PT sinh 2S (the two cosh terms cancel)")]
    W = sp.simplify((wp + wm).rewrite(sp.exp))
    steps.append(Step("The sum of the first-layer weights",
                      sp.Eq(sp.Function("w_p")(s.S) + sp.Function("w_m")(s.S),
                            _shown(2 * w0 * sp.cosh(s.S), W, "w_p + w_m"))))
    checks.append(check_identity(W.rewrite(sp.exp), (2 * w0 * sp.cosh(s.S)).rewrite(sp.exp),
                                 "w_p + w_m = 2 w0 cosh S"))
    # eliminate S: beta_PT = c_PT sinh 2S  =>  cosh 2S = sqrt(1 + beta_PT^2/c_PT^2) (cosh >= 1)
    S_of_beta = sp.asinh(bpt / cpt) / 2
    rng = {lam: (-0.95, 0.95), bpt: (-3.0, 3.0), cpt: (0.05, 2.0)}
    W2_form = cpt * (1 + lam) * (1 + sp.sqrt(1 + bpt**2 / cpt**2))
    W2 = sp.simplify(sp.expand_trig((W**2).rewrite(sp.cosh)).subs(s.S, S_of_beta).subs(init))
    W2 = sp.simplify(W2)
    steps.append(Step("Pretraining ends at $\\beta_{\\mathrm{PT}} = c_{\\mathrm{PT}} \\sinh 2S$, i.e. "
                      "$S = \\operatorname{asinh}(\\beta_{\\mathrm{PT}}/c_{\\mathrm{PT}})/2$; with "
                      "$4\\cosh^2 S = 2(1 + \\cosh 2S)$",
                      sp.Eq((sp.Symbol("w_p") + sp.Symbol("w_m")) ** 2,
                            _shown(W2_form, W2, "(w_p + w_m)^2", ranges=rng))))
    W2_ref = cpt * (1 + lam) * (1 + sp.sqrt(1 + bpt**2 / cpt**2))
    checks.append(check_identity(W2, W2_ref, "(w_p + w_m)^2 = c_PT (1 + lambda_PT)(1 + sqrt(1 + beta_PT^2/c_PT^2))",
                                 ranges=rng))
    # finetuning start: w_p = w_m = W, v_p = v_m = gamma/sqrt 2
    g = s.gamma
    Wft = sp.sqrt(W2_ref)
    beta0 = sp.simplify(Wft * (g / sp.sqrt(2)) - Wft * (g / sp.sqrt(2)))
    M = sp.expand(2 * W2_ref + 2 * (g / sp.sqrt(2)) ** 2)
    M_s = sp.Symbol("M", positive=True)
    steps.append(Step("Finetuning starts with both first-layer weights at $w_p + w_m$ and both readouts at "
                      "$\\gamma/\\sqrt{2}$, so the branches cancel and",
                      sp.Eq(s.beta0, beta0)))
    steps.append(Step("The starting squared norm, $M = w_p^2 + v_p^2 + w_m^2 + v_m^2$, is",
                      sp.Eq(M_s, _shown(2 * W2_ref + g**2, M, "M", ranges=rng))))
    k = sp.expand(M**2 - 4 * beta0**2)
    k_ref = (2 * cpt * (1 + lam) * (1 + sp.sqrt(1 + (bpt / cpt) ** 2)) + g**2) ** 2
    checks.append(check_identity(beta0, sp.Integer(0), "the finetuning start is beta0 = 0"))
    checks.append(check_identity(k, k_ref, "k = M^2 = (2 c_PT (1 + lambda_PT)(1 + sqrt(1 + (beta_PT/c_PT)^2)) + "
                                 "gamma^2)^2 (k_d of [DL], Thm 4.1)", ranges=rng))
    sqrt_k = sp.sqrt(k_ref)
    Q = exact_penalty_k_expr(s.beta, sp.Integer(0), M)
    steps.append(Step("With $\\beta_0 = 0$ the scale is $\\sqrt{k} = M$, and the penalty of derivation "
                      "ptft.exact_penalty has no linear term",
                      sp.Eq(sp.Function("Q_DL")(s.beta), exact_penalty_k_expr(s.beta, sp.Integer(0), M_s))))
    c_ft = M / 2
    u = s.beta / c_ft
    rng_q = {**rng, s.beta: (-4.0, 4.0), g: (0.0, 1.5)}
    checks.append(check_identity(Q, q_k(s.beta, sqrt_k), "Q = q_k(beta) with the [DL] k_d (no linear term)",
                                 ranges=rng_q))
    checks.append(check_identity(Q, c_ft / 2 * (1 - sp.sqrt(1 + u**2) + u * sp.asinh(u)),
                                 "Q = (c_FT/2)(1 - sqrt(1+u^2) + u asinh u), u = beta/c_FT, c_FT = M/2 "
                                 "([DL])", ranges=rng_q))
    checks.append(check_identity(sp.diff(Q, s.beta), sp.asinh(s.beta / c_ft) / 2,
                                 "Q' = (1/2) asinh(beta/c_FT) ([DL])", ranges=rng_q))
    # regimes ([DL]): the curvature at 0 is 1/sqrt k = 1/M (lazy weight M), the rich slope grows like log(beta/c_FT)
    lims = {}
    lims["lambda_PT -> -1"] = sp.simplify(M.subs(lam, -1))
    lims["c_PT -> 0, lambda_PT = 1"] = sp.simplify(sp.limit(M.subs(lam, 1), cpt, 0, "+"))
    lims["c_PT -> oo"] = sp.limit(M / cpt, cpt, sp.oo)
    lim_shown = {"lambda_PT -> -1": ("As $\\lambda_{\\mathrm{PT}} \\to -1$ pretraining leaves no first-layer weight "
                                      "and the scale is the readout reset alone (regime I of [DL] as "
                                      "$\\gamma \\to 0$)", sp.Limit(M_s, lam, -1)),
                 "c_PT -> 0, lambda_PT = 1": ("At $\\lambda_{\\mathrm{PT}} = 1$ and a small pretraining scale the scale "
                                              "is set by pretraining (regime II as $\\gamma \\to 0$, where "
                                              "$Q_{\\mathrm{DL}} \\approx \\beta^2/(8|\\beta_{\\mathrm{PT}}|)$)",
                                              sp.Limit(M_s, cpt, 0, "+")),
                 "c_PT -> oo": ("From a large pretraining scale $M$ grows like $c_{\\mathrm{PT}}$: lazy and "
                                "independent of pretraining (regime III)", sp.Limit(M_s / cpt, cpt, sp.oo))}
    for key, val in lims.items():
        text, lhs = lim_shown[key]
        steps.append(Step(text, sp.Eq(lhs, val)))
    checks += [
        check_identity(lims["lambda_PT -> -1"], g**2,
                       "lambda_PT -> -1: M = gamma^2, pretraining-independent (regime I as gamma -> 0)"),
        check_identity(lims["c_PT -> 0, lambda_PT = 1"], 4 * sp.Abs(bpt) + g**2,
                       "c_PT -> 0, lambda_PT = 1: M = 4|beta_PT| + gamma^2, lazy weight set by pretraining "
                       "(regime II as gamma -> 0: Q ~ beta^2/(8|beta_PT|))"),
        check_identity(lims["c_PT -> oo"], 4 * (1 + lam),
                       "c_PT -> oo: M ~ 4 c_PT (1 + lambda_PT) -> oo, lazy and pretraining-independent (regime III)"),
    ]
    # display form, in the quantities [DL] names: c_FT = M/2 = sqrt(k_d)/2 and u = beta/c_FT
    u_, cft_, M_ = sp.Symbol("u", real=True), sp.Symbol("c_FT", positive=True), sp.Symbol("M", positive=True)
    display = Display(
        sp.Eq(sp.Function("Q_DL")(s.beta, bpt, cpt, lam, g), cft_ / 2 * (1 - sp.sqrt(1 + u_**2) + u_ * sp.asinh(u_))),
        where=(
            Definition(u_, s.beta / cft_),
            Definition(cft_, M_ / 2, "half the finetuning scale, $c_{\\mathrm{FT}} = \\sqrt{k_d}/2$"),
            Definition(M_, 2 * cpt * (1 + lam) * (1 + sp.sqrt(1 + bpt**2 / cpt**2)) + g**2,
                       "$= \\sqrt{k_d}$ of [DL], Thm 4.1"),
        ),
    )
    return Derivation(
        display=display,
        name="ptft.dl_handoff",
        title="Finetuning penalty after the [DL] hand-off",
        statement=sp.Eq(sp.Function("Q_DL")(s.beta, bpt, cpt, lam, g), Q),
        symbols=(s.beta, bpt, cpt, lam, g),
        assumptions=(
            "Pretraining: gradient flow, both branches from $w_0^2 = c_{\\mathrm{PT}}(1 + \\lambda_{\\mathrm{PT}})/2$, "
            "$v_0^2 = c_{\\mathrm{PT}}(1 - \\lambda_{\\mathrm{PT}})/2$, converged to $\\beta_{\\mathrm{PT}}$",
            "Hand-off: both first-layer weights set to $w_p + w_m$, both readouts to $\\gamma/\\sqrt{2}$ "
            "(so $\\beta_0 = 0$)",
            "Finetuning: gradient flow to an interpolator; $c_{\\mathrm{PT}} > 0$, "
            "$-1 \\le \\lambda_{\\mathrm{PT}} \\le 1$, $\\gamma \\ge 0$",
        ),
        source=f"{_SOURCE_DL} (Thm 4.1); derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Agrees with $k_d = M^2$ of [DL], Thm 4.1. In the [LL] hand-off (derivation ptft.rescaled_start) "
               "the start carries $\\beta_0 \\ne 0$ and the penalty a linear term; here $\\beta_0 = 0$ and the "
               "penalty is the symmetric $q_k$. The pretraining branches keep $w^2 - v^2 = c_{\\mathrm{PT}} "
               "\\lambda_{\\mathrm{PT}}$, so $\\lambda_{\\mathrm{PT}} = -1$ leaves $w = 0$ and finetuning sees only "
               "the readout reset ($M = \\gamma^2$)."),
        extra={"M": M, "c_FT": c_ft, "sqrt_k": sqrt_k, "first_layer_sq": W2_ref, "limits": lims},
    )


def dl_handoff_penalty_expr() -> sp.Expr:
    """Q_DL(beta; beta_PT, c_PT, lambda_PT, gamma) of ``ptft.dl_handoff``."""
    return dl_handoff().expr


# --------------------------------------------------------------------------------------------------
# ptft.selection_contrast
# --------------------------------------------------------------------------------------------------
@register("ptft.selection_contrast",
          title="Selection contrast: rich-limit price of a pretrained feature relative to a new one")
def selection_contrast() -> Derivation:
    """rho = s_pre / s_new -> ln(4|beta|/(c^2|beta_aux|)) / ln(2|beta|/gamma^2): price of a pretrained feature per unit.

    In words: in the rich limit both a pretrained and a new feature cost ~ s |beta| with a log slope s;
    rho is the pretrained feature's slope as a fraction of a new feature's. Nested feature selection
    needs 0 < rho < 1 and works better the smaller rho: rho <= 0 means the pretrained features are not
    rich (c^2|beta_aux| >~ 4|beta|: weighted l2, no sparsity among them), rho -> 1 means pretraining is
    forgotten (gamma >> c sqrt|beta_aux|; at alpha = 0, rho < 1 always). The level sets are gamma = sqrt(2|beta|) (c^2|beta_aux|/(4|beta|))^(1/(2 rho)),
    so the (c, gamma) plane is organised by lines gamma ~ c^(1/rho) (rho = 1/2: gamma = c^2|beta_aux|/sqrt(8|beta|)).
    Source: derived here from ``ptft.exact_penalty`` and ``ptft.rescaled_start`` ([LL] hand-off); the slope
    gap s_new - s_pre is ``ptft.nested_feature_selection``. Assumptions: beta -> +oo (rich; for beta < 0
    flip sign(beta_aux)), beta_aux > 0, c > 0, gamma > 0; finite pretraining init alpha for the new feature.
    """
    s = _s()
    steps = []
    al = sp.Symbol("alpha", nonnegative=True)
    # rich slope of the exact penalty for a general start: Q'(beta) = (1/2) ln beta + const + o(1)
    dQ = sp.diff(exact_penalty_k_expr(), s.beta).subs(s.beta, s.bp)
    const = sp.simplify(sp.limit((dQ - sp.log(s.bp) / 2).rewrite(sp.log), s.bp, sp.oo))
    slope = sp.log(s.bp) / 2 + const
    steps.append(Step("In the rich limit the slope of the exact penalty (derivation ptft.exact_penalty) is "
                      "$Q'(\\beta) = (\\ln \\beta)/2 + C + o(1)$ as $\\beta \\to +\\infty$, with",
                      sp.Eq(sp.Symbol("C"), const.subs(s.sqrt_k, sp.sqrt(s.k)))))
    spre_s, snew_s = sp.Symbol("s_pre"), sp.Symbol("s_new")
    spre_form = sp.log(4 * s.bp / ((s.c * sp.sqrt(s.a) + s.gp) ** 2 + s.gp**2)) / 2
    snew_form = sp.log(2 * s.bp / (s.c**2 * al**2 + s.gp**2)) / 2
    checks = [check_identity(slope, (sp.log(4 * s.bp / s.sqrt_k) - sp.asinh(2 * s.beta0 / s.sqrt_k)) / 2,
                             "Q'(beta) -> (1/2)(ln(4 beta/sqrt k) - asinh(2 beta0/sqrt k))")]
    rs = rescaled_start()
    b0_r, sk_r = rs.extra["beta0"], rs.extra["sqrt_k"]
    s_pre = sp.simplify(slope.subs({s.beta0: b0_r.subs(s.beta_aux, s.a), s.sqrt_k: sk_r.subs(s.beta_aux, s.a)},
                                   simultaneous=True).subs(s.gamma, s.gp))
    steps.append(Step("For a pretrained feature, $\\beta_{\\mathrm{aux}} = a > 0$, the [LL] hand-off starts at "
                      "$\\beta_0 = c\\gamma\\sqrt{a}$, $k = c^4 a^2 + 4\\gamma^4$ (derivation ptft.rescaled_start), so "
                      "its slope is", sp.Eq(spre_s, _shown(spre_form, s_pre, "s_pre"))))
    checks.append(check_identity(s_pre, sp.log(4 * s.bp / ((s.c * sp.sqrt(s.a) + s.gp)**2 + s.gp**2)) / 2,
                                 "s_pre = (1/2) ln(4|beta|/(M + 2 beta0)) = (1/2) ln(4|beta|/((c sqrt a + gamma)^2 + "
                                 "gamma^2))"))
    # a new feature: beta_aux = 0; with a finite pretraining init alpha its first layer keeps c alpha on both
    # branches (as in ptft.nested_feature_selection), so beta0 = 0 and sqrt k = M = 2 c^2 alpha^2 + 2 gamma^2
    s_new = sp.simplify(slope.subs({s.beta0: 0, s.sqrt_k: 2 * s.c**2 * al**2 + 2 * s.gp**2}, simultaneous=True))
    steps.append(Step("A new feature ($\\beta_{\\mathrm{aux}} = 0$) keeps the first-layer weight $c\\alpha$ on both "
                      "branches, so $\\beta_0 = 0$ and $\\sqrt{k} = 2c^2\\alpha^2 + 2\\gamma^2$",
                      sp.Eq(snew_s, _shown(snew_form, s_new, "s_new"))))
    checks.append(check_identity(s_new, sp.log(2 * s.bp / (s.c**2 * al**2 + s.gp**2)) / 2,
                                 "s_new = (1/2) ln(2|beta|/(gamma^2 + c^2 alpha^2))"))
    delta = nested_feature_selection().expr.subs(s.beta_aux, s.a)
    checks.append(check_identity(s_new.subs(al, 0) - s_pre, delta,
                                 "s_new - s_pre = Delta of ptft.nested_feature_selection (alpha = 0)"))
    rho = s_pre / s_new
    pre_lead = sp.limit(s_pre, s.gp, 0, "+")
    steps.append(Step("As $\\gamma \\to 0$", sp.Eq(sp.Limit(spre_s, s.gp, 0, "+"),
                                                   _shown(sp.log(4 * s.bp / (s.c**2 * s.a)) / 2, pre_lead,
                                                          "the limit of s_pre"))))
    checks.append(check_identity(pre_lead, sp.log(4 * s.bp / (s.c**2 * s.a)) / 2,
                                 "s_pre -> (1/2) ln(4|beta|/(c^2|beta_aux|)) as gamma -> 0"))
    rho_lead = pre_lead / s_new.subs(al, 0)
    rho_lead_s = sp.Symbol("rho_lead")
    steps.append(Step("To leading order ($\\gamma \\to 0$ in $s_{\\mathrm{pre}}$, $\\alpha = 0$) the contrast is",
                      sp.Eq(rho_lead_s, _shown(sp.log(4 * s.bp / (s.c**2 * s.a)) / sp.log(2 * s.bp / s.gp**2), rho_lead,
                                               "rho_lead"))))
    # level sets of the leading-order contrast
    r = sp.Symbol("rho", positive=True)
    gamma_r = sp.sqrt(2 * s.bp) * (s.c**2 * s.a / (4 * s.bp)) ** (1 / (2 * r))
    steps.append(Step("Its level set $\\rho_{\\mathrm{lead}} = \\rho$ is the curve", sp.Eq(s.gp, gamma_r)))
    rng = {s.bp: (0.5, 2.0), s.a: (0.1, 0.5), s.c: (0.01, 0.3), r: (0.2, 0.8)}
    checks.append(check_identity(sp.expand_log(rho_lead.subs(s.gp, gamma_r), force=True), r,
                                 "rho_lead = rho on gamma = sqrt(2|beta|) (c^2|beta_aux|/(4|beta|))^(1/(2 rho))",
                                 ranges=rng))
    checks.append(check_identity(gamma_r.subs(r, sp.Rational(1, 2)), s.c**2 * s.a / sp.sqrt(8 * s.bp),
                                 "rho = 1/2: gamma = c^2|beta_aux|/sqrt(8|beta|)"))
    display = Display(sp.Eq(sp.Function("rho")(s.bp, s.a, s.c, s.gp, al), spre_s / snew_s),
                      where=(Definition(spre_s, spre_form, "the rich slope of a pretrained feature, "
                                                           "$a = |\\beta_{\\mathrm{aux}}|$"),
                             Definition(snew_s, snew_form, "the rich slope of a new feature")))
    return Derivation(
        display=display,
        name="ptft.selection_contrast",
        title="Selection contrast: rich-limit price of a pretrained feature relative to a new one",
        statement=sp.Eq(sp.Function("rho")(s.bp, s.a, s.c, s.gp, al), rho),
        symbols=(s.bp, s.a, s.c, s.gp, al),
        assumptions=(
            "The [LL] hand-off (derivation ptft.rescaled_start); $\\beta$ stands for $|\\beta| \\gg \\sqrt{k}$ (rich), "
            "$a = |\\beta_{\\mathrm{aux}}| > 0$, $c > 0$, $\\gamma > 0$",
            "A new feature has first-layer weight $c\\alpha$ on both branches after pretraining from $\\alpha$ "
            "(exactly 0 at $\\alpha = 0$)",
            "Meaningful for $0 < \\rho < 1$: $\\rho \\le 0$ is the lazy (weighted $\\ell_2$) side, $\\rho \\to 1$ "
            "forgets pretraining",
        ),
        source=f"{_SOURCE_LL} (rescaling, nested feature selection); derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Evaluated at the teacher's magnitudes, the contrast predicts where in the $(c, \\gamma)$ plane "
               "rescaling helps: the level sets of the error follow $\\gamma \\propto c^{1/\\rho}$, so the best $c$ at "
               "fixed $\\gamma$ scales like $\\sqrt{\\gamma}$ (at $\\rho = 1/2$), not as a fixed $c$. The figure "
               "rescaling_phase draws these contours over the theory minimiser and gradient-descent errors on a "
               "$(c, \\gamma)$ grid. This quantity is not in [LL] or [DL]."),
        extra={"s_pre": s_pre, "s_new": s_new, "rho_lead": rho_lead, "gamma_level": gamma_r, "rho_symbol": r,
               "alpha": al},
    )


def selection_contrast_expr() -> sp.Expr:
    """rho(beta, beta_aux, c, gamma, alpha) of ``ptft.selection_contrast`` (beta, beta_aux > 0)."""
    return selection_contrast().expr
