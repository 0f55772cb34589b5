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
        wp0=sp.Symbol("w_p0", real=True),
        vp0=sp.Symbol("v_p0", real=True),
        wm0=sp.Symbol("w_m0", real=True),
        vm0=sp.Symbol("v_m0", real=True),
    )


# --------------------------------------------------------------------------------------------------
# reference shapes (the forms quoted in THEORY.md / the papers); derived results are CHECKED against
# these, never built from them
# --------------------------------------------------------------------------------------------------
def q_k(x: sp.Expr, sqrt_k: sp.Expr) -> sp.Expr:
    """The general-start potential shape q_k(x) = (sqrt k/4)(1 - sqrt(1+4x^2/k) + (2x/sqrt k) asinh(2x/sqrt k)).

    Source: THEORY.md section 3 ([DL]-style general start). Used to check derived expressions.
    """
    z = 2 * x / sqrt_k
    return sqrt_k / 4 * (1 - sp.sqrt(1 + z**2) + z * sp.asinh(z))


def q_W(z: sp.Expr) -> sp.Expr:
    """Woodworth's potential q_W(z) = 2 - sqrt(4+z^2) + z asinh(z/2) ([W], THEORY.md section 1)."""
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


@register("ptft.general_start_flow")
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
    steps.append(Step("positive branch: dw_p/dt = g v_p, dv_p/dt = g w_p; dsolve in S gives w_p(S)", wp))
    steps.append(Step("v_p(S)", vp))
    steps.append(Step("negative branch: dw_m/dt = -g v_m, dv_m/dt = -g w_m; w_m(S)", wm))
    steps.append(Step("v_m(S)", vm))
    beta_S = sp.expand(wp * vp - wm * vm)
    steps.append(Step("beta(S) = w_p v_p - w_m v_m, expanded", beta_S))

    # collect in exp(2S): beta = P e^{2S} + N e^{-2S} + C0  ->  (P+N) cosh 2S + (P-N) sinh 2S + C0
    E = sp.Symbol("E", positive=True)
    poly = sp.expand(beta_S.rewrite(sp.exp).subs(sp.exp(s.S), E))
    P = poly.coeff(E, 2)
    N = poly.coeff(E, -2)
    C0 = sp.simplify(poly - P * E**2 - N * E**-2)
    coef_cosh = sp.factor(P + N)
    coef_sinh = sp.factor(P - N)
    steps.append(Step("coefficient of cosh 2S (= P + N, with beta = P e^{2S} + N e^{-2S} + C0)", coef_cosh))
    steps.append(Step("coefficient of sinh 2S (= P - N)", coef_sinh))
    steps.append(Step("constant term C0", C0))
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
            "gradient flow (continuous time) on any loss of beta = w_p v_p - w_m v_m",
            "S(t) = int_0^t g, g = -dL/dbeta (for a linear model S_i is in the row space of X)",
            "beta0 = w_p0 v_p0 - w_m0 v_m0 and M = w_p0^2+v_p0^2+w_m0^2+v_m0^2 at the start (any real weights)",
        ),
        source=f"{_SOURCE_DL}; {_SOURCE_LL}; derived here (dsolve)",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Each branch conserves w^2 - v^2; M >= 2|beta0| with equality only when both branches are "
               "balanced (|w| = |v|), in which case k = M^2 - 4 beta0^2 = 0 and the penalty degenerates."),
    )


def general_start_beta_expr() -> sp.Expr:
    """beta(S) = beta0 cosh 2S + (M/2) sinh 2S, in the symbols of ``ptft.general_start_flow``."""
    return general_start_flow().expr


# --------------------------------------------------------------------------------------------------
# ptft.exact_penalty
# --------------------------------------------------------------------------------------------------
@register("ptft.exact_penalty")
def exact_penalty() -> Derivation:
    """Q(beta) = q_k(beta) - (beta/2) asinh(2 beta0/sqrt k), sqrt k = sqrt(M^2 - 4 beta0^2).

    In words: inverting the trajectory beta(S) gives the mirror map S(beta); its integral Q is the
    implicit penalty, i.e. gradient flow from (beta0, M) converges to argmin sum_i Q_i(beta_i)
    subject to X beta = y. Q(0) = 0, Q'(beta0) = 0 (beta0 is the minimiser), Q'' = 1/sqrt(k+4 beta^2) > 0.
    Source: THEORY.md section 3, [DL]; derived here (solve + integrate).
    Assumptions: M > 2|beta0| (not both branches exactly balanced), convergence to an interpolator.
    """
    s = _s()
    steps = []
    B = general_start_beta_expr()
    steps.append(Step("trajectory (ptft.general_start_flow)", B))
    # amplitude-phase form: A cosh(phi) = M/2, A sinh(phi) = beta0; cosh^2 - sinh^2 = 1 eliminates phi
    A_sol = sp.solve(sp.Eq(s.A**2, (s.M / 2) ** 2 - s.beta0**2), s.A)
    A_expr = A_sol[0]
    steps.append(Step("A cosh phi = M/2, A sinh phi = beta0; cosh^2 - sinh^2 = 1 gives A (> 0 needs M > 2|beta0|)",
                      A_expr))
    # inverse of sinh: the real root of sinh(y) = z
    z = sp.Symbol("z", real=True)
    roots = sp.solve(sp.Eq(sp.sinh(s.y), z), s.y)
    real_roots = [r for r in roots
                  if all(abs(sp.im(sp.N(r.subs(z, zv)))) < 1e-12 for zv in (-3, sp.Rational(1, 3), 5))]
    steps.append(Step("roots of sinh(y) = z", sp.Tuple(*roots)))
    checks = [check_identity(real_roots[0], sp.asinh(z), "the real root of sinh(y) = z is asinh(z)")]
    phi_expr = sp.asinh(s.beta0 / s.A)
    steps.append(Step("phi from sinh phi = beta0/A", phi_expr))
    # from here on, work with sqrt k = 2A (a positive symbol): M = sqrt(k + 4 beta0^2)
    M_of_k = sp.sqrt(s.sqrt_k**2 + 4 * s.beta0**2)
    checks.append(check_identity(sp.solve(sp.Eq(2 * A_expr, s.sqrt_k), s.M)[0], M_of_k,
                                 "sqrt k := 2A, i.e. k = M^2 - 4 beta0^2, M = sqrt(k + 4 beta0^2)"))
    phi_k = phi_expr.subs(s.A, s.sqrt_k / 2)
    ampl = sp.expand_trig(s.A * sp.sinh(2 * s.S + s.phi)).subs({s.phi: phi_expr}).subs(s.A, s.sqrt_k / 2)
    checks.append(check_identity(B.subs(s.M, M_of_k), ampl, "beta(S) = A sinh(2S + phi)"))
    S_of_beta = (sp.asinh(s.beta / s.A) - phi_expr) / 2
    steps.append(Step("inverse (mirror map) S(beta) = (asinh(beta/A) - phi)/2", S_of_beta))
    Q_A = sp.integrate(S_of_beta.subs(s.beta, s.x), (s.x, 0, s.beta))
    steps.append(Step("Q(beta) = int_0^beta S(x) dx", Q_A))
    Qk = sp.expand(Q_A.subs(s.A, s.sqrt_k / 2))
    mirror_k = S_of_beta.subs(s.A, s.sqrt_k / 2)
    steps.append(Step("Q with sqrt k = 2A", Qk))
    rng = {s.beta: (-5.0, 5.0), s.beta0: (-2.0, 2.0)}
    checks += [
        check_identity(Qk, q_k(s.beta, s.sqrt_k) - s.beta / 2 * phi_k,
                       "Q = q_k(beta) - (beta/2) asinh(2 beta0/sqrt k) (THEORY.md form)", ranges=rng),
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
    return Derivation(
        name="ptft.exact_penalty",
        title="Exact implicit penalty of gradient flow from a general two-branch start",
        statement=sp.Eq(sp.Function("Q")(s.beta), Q),
        symbols=(s.beta, s.beta0, s.M),
        assumptions=(
            "M > 2|beta0| (k > 0): not both branches exactly balanced",
            "gradient flow converges to an interpolator X beta = y; S in the row space of X",
            "normalisation Q(0) = 0; the implicit bias is argmin_{X beta = y} sum_i Q(beta_i; beta0_i, M_i)",
        ),
        source=f"THEORY.md section 3; {_SOURCE_DL}; derived here (solve + integrate)",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Agrees with THEORY.md section 3. Q(beta0) = (sqrt k - M)/4 <= 0 is the minimum, not 0: Q is negative "
               "between 0 and about 2 beta0, so log Q (the l-order) is singular there; the Bregman form "
               "Q(beta) - Q(beta0) is >= 0 and is the same penalty up to a constant. extra['Q_k'] is Q in the "
               "symbols (beta, beta_0, sqrt_k)."),
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
@register("ptft.rescaled_start")
def rescaled_start() -> Derivation:
    """R_exact(beta; beta_aux, c, gamma): the exact finetuning penalty after the [LL] hand-off.

    In words: after rich pretraining (small balanced init) the active branch of a coordinate holds
    w = v = sqrt|beta_aux| and the other branch ~0; finetuning multiplies the first layer by c and
    resets both readouts to gamma, so M = c^2|beta_aux| + 2 gamma^2, beta0 = c gamma sign(beta_aux)
    sqrt|beta_aux| and sqrt k = sqrt(c^4 beta_aux^2 + 4 gamma^4); R_exact = Q(beta; beta0, M).
    Source: [LL] (hand-off, rescaling sweep), THEORY.md section 3. Assumptions: pretraining converged
    from the small-init limit (inactive branch's first layer -> 0), c > 0, gamma >= 0.
    """
    s = _s()
    steps = []
    # pretraining: balanced start (w = v = alpha) conserves w^2 - v^2 = 0; the fit gives w v = |beta_aux|
    wpt, vpt = sp.symbols("w_pt v_pt", positive=True)
    sol = sp.solve([sp.Eq(wpt**2 - vpt**2, 0), sp.Eq(wpt * vpt, s.a)], [wpt, vpt], dict=True)[0]
    steps.append(Step("pretraining: w^2 - v^2 = 0 (balanced init) and w v = |beta_aux| give w", sol[wpt]))
    steps.append(Step("and v", sol[vpt]))
    w_act = sol[wpt]
    # hand-off, beta_aux > 0: positive branch active; beta_aux < 0: negative branch active
    cases = {}
    for sign, (wp, vp, wm, vm) in {+1: (s.c * w_act, s.gamma, 0, s.gamma),
                                    -1: (0, s.gamma, s.c * w_act, s.gamma)}.items():
        M_ = sp.expand(wp**2 + vp**2 + wm**2 + vm**2)
        b0 = sp.expand(wp * vp - wm * vm)
        cases[sign] = (M_, b0)
        steps.append(Step(f"hand-off for sign(beta_aux) = {sign:+d}: M", M_))
        steps.append(Step(f"hand-off for sign(beta_aux) = {sign:+d}: beta0", b0))
    M_gen = s.c**2 * sp.Abs(s.beta_aux) + 2 * s.gamma**2
    b0_gen = s.c * s.gamma * sp.sign(s.beta_aux) * sp.sqrt(sp.Abs(s.beta_aux))
    checks = []
    for sign, (M_, b0) in cases.items():
        checks.append(check_identity(M_gen.subs(s.beta_aux, sign * s.a), M_, f"M for sign {sign:+d}"))
        checks.append(check_identity(b0_gen.subs(s.beta_aux, sign * s.a), b0, f"beta0 for sign {sign:+d}"))
    k = sp.factor(sp.expand(M_gen**2 - 4 * b0_gen**2))
    k = sp.simplify(k)
    steps.append(Step("k = M^2 - 4 beta0^2", k))
    checks.append(check_identity(k, s.c**4 * s.beta_aux**2 + 4 * s.gamma**4,
                                 "k = c^4 beta_aux^2 + 4 gamma^4 (THEORY.md)"))
    skk = sp.sqrt(k)
    R = exact_penalty_k_expr(s.beta, b0_gen, skk)
    steps.append(Step("R_exact = Q(beta; beta0, sqrt k) (ptft.exact_penalty)", R))
    rng = {s.beta: (-4.0, 4.0), s.beta_aux: (-3.0, 3.0), s.gamma: (0.05, 1.5)}
    checks.append(check_identity(
        R, q_k(s.beta, skk) - s.beta / 2 * sp.asinh(2 * b0_gen / skk),
        "R_exact = q_k(beta) - (beta/2) asinh(2 c gamma sign(beta_aux) sqrt|beta_aux| / sqrt k)", ranges=rng))
    checks.append(check_identity(R.subs({s.beta: -s.beta, s.beta_aux: -s.beta_aux}), R,
                                 "sign symmetry R(-beta; -beta_aux) = R(beta; beta_aux)", ranges=rng))
    return Derivation(
        name="ptft.rescaled_start",
        title="Exact finetuning penalty after the [LL] hand-off (first layer x c, readouts reset to gamma)",
        statement=sp.Eq(sp.Function("R_exact")(s.beta, s.beta_aux, s.c, s.gamma), R),
        symbols=(s.beta, s.beta_aux, s.c, s.gamma),
        assumptions=(
            "pretraining from a small balanced init (w = v = alpha -> 0) converged: active branch w = v = "
            "sqrt|beta_aux|, inactive branch's first layer -> 0 (it decays like alpha e^{-S})",
            "finetuning: first layer multiplied by c > 0, both readouts reset to gamma >= 0",
            "at gamma = 0 and beta_aux = 0 the coordinate is a saddle (M = 0): excluded",
        ),
        source=f"{_SOURCE_LL} (hand-off, rescaling c); THEORY.md section 3; derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("k = M^2 - 4 beta0^2 = c^4 beta_aux^2 + 4 gamma^4 agrees with THEORY.md; "
               "beta0 = c gamma sign(beta_aux) sqrt|beta_aux| agrees. R_exact depends on c only through "
               "c^2|beta_aux|. "
               "With a finite pretraining init alpha the inactive branch keeps w ~ alpha^2/sqrt|beta_aux| "
               "(see mtl.sequential_limit for the exact finite-alpha bookkeeping)."),
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


@register("ptft.plotted_penalty")
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
    steps.append(Step("surrogate start: both branches w^2 = v^2 = K/2, so M = 4 (K/2)", M_sur))
    Q_sur = exact_penalty_expr(s.beta, b0_sur, M_sur)
    steps.append(Step("exact penalty of the surrogate (ptft.exact_penalty, beta0 = 0)", Q_sur))
    R = sp.simplify(4 * Q_sur)
    steps.append(Step("[LL] normalisation: R_FT = 4 Q_surrogate (= 2 x [W]'s alpha^2 q_W(beta/alpha^2), alpha^2 = "
                      "K/2)", R))
    rng = {s.beta: (-4.0, 4.0), s.beta_aux: (-3.0, 3.0), s.gamma: (0.0, 1.5)}
    checks = [check_identity(R, K * q_W(2 * s.beta / K), "R_FT = K q_W(2 beta/K) (the form [LL] plot)", ranges=rng)]
    # limits, with beta > 0 and K a positive symbol (R_FT is even in beta)
    RK = (s.K * q_W(2 * s.bp / s.K))
    checks.append(check_identity(R.subs({s.beta_aux: s.K, s.gamma: 0, s.beta: s.bp}), RK, "R_FT in terms of K"))
    small = sp.series(RK, s.bp, 0, 5).removeO()
    large = _large_beta_series(RK, s.bp, 2)
    steps.append(Step("small beta (series about 0)", small))
    steps.append(Step("large beta (series at infinity, beta > 0)", large))
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
    steps.append(Step("curvature ratio (R_FT/4) / R_exact at the minimisers, c = 1",
                      sp.simplify(curv_plot / 4 / curv_ex)))
    # large-beta slope (per unit |beta|, beta -> +oo, beta_aux > 0) of R_FT/4 minus that of R_exact
    slope_plot = sp.diff(R, s.beta) / 4
    slope_ex = sp.diff(Rex, s.beta)
    gap = sp.limit((slope_ex - slope_plot).subs({s.beta_aux: s.a, s.gamma: s.gp}).rewrite(sp.log), s.beta, sp.oo)
    gap = sp.simplify(gap)
    steps.append(Step("lim_{beta->oo} [R_exact'(beta) - R_FT'(beta)/4], beta_aux = a > 0, gamma > 0", gap))
    gap0 = sp.limit(gap, s.gp, 0, "+")
    steps.append(Step("... as gamma -> 0 (a constant: ln 2 / 2)", gap0))
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
    table = "; ".join(f"(beta={b}, beta_aux={ba}, gamma={g}): R_FT={rp:.4g}, R_exact={re_:.4g}, ratio={r:.3f}"
                      for b, ba, g, rp, re_, r in rows)
    notes = (
        "Normalisation: for a new feature (beta_aux = 0) R_FT = 4 R_exact exactly, so R_FT/4 is the comparable "
        "scale. "
        "R_FT = 4 x (exact penalty of a surrogate start with both branches balanced at "
        "w^2 = v^2 = K/2, beta0 = 0), i.e. sqrt k_plot = 2K = 2(|beta_aux| + gamma^2) against the true "
        "sqrt k = sqrt(beta_aux^2 + 4 gamma^4) (c = 1), and the plotted form drops the linear term "
        "(beta/2) asinh(2 beta0/sqrt k). At gamma = 0 the two are related exactly by "
        "R_FT(beta; beta_aux) = 4 R_exact(beta; 2 beta_aux): the plotted penalty is the exact one with |beta_aux| "
        "doubled, which is NOT a constant factor (the ratio R_FT/R_exact runs from 2 at small beta to 4 x (1 + "
        "O(1/log beta)) "
        "at large beta), so the argmin can differ. Where they coincide: both are quadratic about their minimiser "
        "with curvature ~ 1/|beta_aux| as gamma -> 0 (plotted 2/K, exact 1/M: ratio (R_FT/4)/R_exact = M/(2K) = "
        "(|beta_aux| + 2 gamma^2)/(2(|beta_aux| + gamma^2)), which is beta_aux-dependent unless gamma = 0); both "
        "grow like "
        "|beta| log|beta| with per-unit slope (1/2) ln|beta| + O(1) after dividing R_FT by 4, and for a new feature "
        "(beta_aux = 0) the large-beta slopes of R_FT/4 and R_exact coincide (K = gamma^2, sqrt k = 2 gamma^2, "
        "beta0 = 0); "
        "for a pretrained feature with gamma -> 0 the exact slope is larger by (ln 2)/2 (step above), so the "
        "plotted penalty overstates the new-vs-pretrained slope gap by (ln 2)/2. Minimisers differ: "
        "R_FT is minimal at 0, R_exact at beta0 = c gamma sign(beta_aux) sqrt|beta_aux|. Values (mpmath, c = 1): "
        + table
    )
    return Derivation(
        name="ptft.plotted_penalty",
        title="The PT+FT penalty [LL] plot, K q_W(2 beta/K), its limits and its distance to the exact penalty",
        statement=sp.Eq(sp.Function("R_FT")(s.beta, s.beta_aux, s.gamma), R),
        symbols=(s.beta, s.beta_aux, s.gamma),
        assumptions=(
            "approximation: the finetuning start replaced by two balanced branches with w^2 = v^2 = K/2, "
            "K = |beta_aux| + gamma^2, beta0 = 0 (the [LL] plotted form); comparison with R_exact at c = 1",
            "series: beta > 0 (R_FT is even in beta), K > 0",
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
@register("ptft.exact_limits")
def exact_limits() -> Derivation:
    """Rich limit Q ~ (|beta|/2)(ln(4|beta|/sqrt k) - 1) - (beta/2) asinh(2 beta0/sqrt k) + sqrt k/4, |beta| >> sqrt k.

    In words: far from the start the exact penalty is l1 with a logarithmic weight, the weight being
    lower for coordinates with a large scale sqrt k (pretrained features) and shifted by the start's
    phase; near the start it is quadratic, Q ~ (sqrt k - M)/4 + (beta - beta0)^2/(2M) (weighted l2, lazy).
    Source: THEORY.md section 3 (limits), [LL]; derived here by series. Assumptions: those of
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
    steps.append(Step("series about beta0 to third order (sqrt k form)", small))
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
    steps.append(Step("q_k(beta) at beta -> +oo", qlarge))
    rich_pos = sp.expand(qlarge - sp.expand(qlarge).coeff(s.bp, -1) / s.bp)  # drop the O(k/beta) term
    absb = sp.Abs(s.beta)
    rich_q = absb / 2 * (sp.log(4 * absb / s.sqrt_k) - 1) + s.sqrt_k / 4
    checks.append(check_identity(rich_pos, sp.expand_log(rich_q.subs(s.beta, s.bp), force=True),
                                 "q_k ~ (|beta|/2)(ln(4|beta|/sqrt k) - 1) + sqrt k/4 + O(k/|beta|)"))
    steps.append(Step("next term (O(1/beta))", sp.expand(qlarge).coeff(s.bp, -1) / s.bp))
    rich = (rich_q - s.beta / 2 * sp.asinh(2 * s.beta0 / s.sqrt_k)).subs(s.sqrt_k, sk)
    # numeric confirmation of the asymptote
    import mpmath
    fQ = sp.lambdify((s.beta, s.beta0, s.M), Q, "mpmath")
    fr = sp.lambdify((s.beta, s.beta0, s.M), rich, "mpmath")
    with mpmath.workdps(30):
        errs = [float(abs(fQ(b, mpmath.mpf("0.7"), 2) - fr(b, mpmath.mpf("0.7"), 2))) for b in (1e3, -1e3, 1e5)]
    return Derivation(
        name="ptft.exact_limits",
        title="Lazy (near the start) and rich (|beta| >> sqrt k) limits of the exact PT+FT penalty",
        statement=sp.Eq(sp.Function("Q_rich")(s.beta), rich),
        symbols=(s.beta, s.beta0, s.M),
        assumptions=("M > 2|beta0|", "rich: |beta| >> sqrt k = sqrt(M^2 - 4 beta0^2) (error O(k/|beta|))",
                     "lazy: |beta - beta0| << sqrt k"),
        source=f"THEORY.md section 3; {_SOURCE_LL}; derived here (series)",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Lazy: Q = (sqrt k - M)/4 + (beta - beta0)^2/(2M) - 2 beta0 (beta - beta0)^3/(3 M^3) + ...; for the "
               "[LL] hand-off "
               "M = c^2|beta_aux| + 2 gamma^2, so near the start Q ~ (beta - beta0)^2/(2(c^2|beta_aux| + 2gamma^2)) "
               "(weighted l2 favouring pretrained features). Rich: per unit |beta| the slope is "
               "(1/2)(ln(4|beta|/sqrt k) - sign(beta) asinh(2 beta0/sqrt k)). |Q - Q_rich| at beta0 = 0.7, M = 2 "
               f"and beta = 1e3, -1e3, 1e5: {errs[0]:.2e}, {errs[1]:.2e}, {errs[2]:.2e} (O(k/|beta|))."),
        extra={"small_beta": small, "rich": rich},
    )


# --------------------------------------------------------------------------------------------------
# ptft.nested_feature_selection
# --------------------------------------------------------------------------------------------------
@register("ptft.nested_feature_selection")
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
    b0n, b0p = sp.symbols("beta_0n beta_0p", real=True)
    skn, skp = sp.symbols("sqrt_k_n sqrt_k_p", positive=True)
    dQ = sp.diff(exact_penalty_k_expr(), s.beta)
    diff_generic = (dQ.subs({s.beta0: b0n, s.sqrt_k: skn}, simultaneous=True)
                    - dQ.subs({s.beta0: b0p, s.sqrt_k: skp}, simultaneous=True))
    gap_generic = sp.simplify(sp.limit(diff_generic.rewrite(sp.log), s.beta, sp.oo))
    steps.append(Step("lim_{beta->oo} [Q'(beta; beta0_n, sqrt k_n) - Q'(beta; beta0_p, sqrt k_p)] "
                      "(ptft.exact_penalty)",
                      gap_generic))
    rs = rescaled_start()
    b0_r, sk_r = rs.extra["beta0"], rs.extra["sqrt_k"]
    new_feat = {b0n: b0_r.subs(s.beta_aux, 0), skn: sk_r.subs(s.beta_aux, 0)}
    steps.append(Step("new feature (beta_aux = 0): beta0, sqrt k", sp.Tuple(*new_feat.values())))
    gaps = {}
    for sign in (+1, -1):
        sub = dict(new_feat)
        sub.update({b0p: b0_r.subs(s.beta_aux, sign * s.a), skp: sk_r.subs(s.beta_aux, sign * s.a)})
        gaps[sign] = sp.simplify(gap_generic.subs(sub, simultaneous=True).subs(s.gamma, s.gp))
        steps.append(Step(f"slope gap for sign(beta_aux) = {sign:+d}", gaps[sign]))
    skk = sp.sqrt(s.c**4 * s.beta_aux**2 + 4 * s.gp**2 * s.gp**2)
    delta = (sp.log(skk / (2 * s.gp**2)) / 2
             + sp.asinh(2 * s.c * s.gp * sp.sign(s.beta_aux) * sp.sqrt(sp.Abs(s.beta_aux)) / skk) / 2)
    checks = [check_identity(delta.subs(s.beta_aux, sign * s.a), gaps[sign],
                             f"slope gap for sign(beta_aux) = {sign:+d}") for sign in (+1, -1)]
    # asymptotics: gamma -> 0 at fixed c, |beta_aux|
    da = delta.subs(s.beta_aux, s.a)
    ser = sp.series(da.rewrite(sp.log), s.gp, 0, 2).removeO()
    ser = sp.expand(sp.expand_log(ser, force=True))
    steps.append(Step("gamma -> 0 (beta_aux = a > 0)", ser))
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
    steps.append(Step("finite pretraining init alpha (new feature w = c alpha on both branches): slope gap", gap_al))
    gap_al0 = sp.simplify(sp.limit(gap_al, s.gp, 0, "+"))
    steps.append(Step("... as gamma -> 0: saturates, independent of c", gap_al0))
    checks.append(check_identity(gap_al0, sp.log(s.a / (2 * al**2)) / 2,
                                 "finite alpha, gamma -> 0: Delta -> (1/2) ln(|beta_aux|/(2 alpha^2))"))
    lim_c0 = sp.limit(da, s.c, 0, "+")
    steps.append(Step("c -> 0 at fixed gamma > 0", lim_c0))
    checks.append(check_identity(lim_c0, sp.Integer(0), "c -> 0 at fixed gamma: Delta -> 0 (no selection)"))
    return Derivation(
        name="ptft.nested_feature_selection",
        title="Rich-limit slope gap between a new and a pretrained feature (nested feature selection)",
        statement=sp.Eq(sp.Function("Delta")(s.beta_aux, s.c, s.gp), delta),
        symbols=(s.beta_aux, s.c, s.gp),
        assumptions=(
            "[LL] hand-off (ptft.rescaled_start); gamma > 0, c > 0",
            "slope = lim_{beta->+oo} dR/dbeta (per unit |beta|); for beta -> -oo replace sign(beta_aux) by "
            "-sign(beta_aux)",
        ),
        source=f"{_SOURCE_LL} (nested feature selection, rescaling); {_SOURCE_DL} (regime IV); derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Order of limits matters: gamma -> 0 with gamma^2 << c^2|beta_aux| gives Delta ~ (1/2) "
               "ln(c^2|beta_aux|/(2 gamma^2)) "
               "-> oo (new features infinitely dearer per unit: l1 restricted to pretrained features), and a small "
               "c makes the "
               "pretrained features themselves rich (|beta| >> sqrt k ~ c^2|beta_aux|), hence sparse among "
               "themselves. "
               "But c -> 0 FIRST at fixed gamma gives Delta -> 0 (the pretrained scale c^2|beta_aux| drops below "
               "gamma^2 and "
               "pretraining is forgotten), so 'c -> 0 then gamma -> 0' does NOT give nested selection; the required "
               "regime is gamma/c -> 0. Among pretrained features the rich slope is (1/2) "
               "ln(4|beta|/(c^2|beta_aux|)) + O(gamma), "
               "so larger |beta_aux| is cheaper. With a finite pretraining init alpha a new feature keeps "
               "first-layer weights "
               "c alpha (not 0), and the gap saturates at (1/2) ln(|beta_aux|/(2 alpha^2)) as gamma -> 0 (step "
               "above), "
               "so the divergence is cut off at gamma ~ c alpha. The plotted penalty gives the gap (1/2) "
               "ln((|beta_aux| + gamma^2)/gamma^2) "
               "(per unit of R_FT/4), larger than the exact one by (ln 2)/2 as gamma -> 0 (ptft.plotted_penalty)."),
        extra={"gamma_series": ser, "gaps": gaps},
    )


def rich_slope_gap_expr() -> sp.Expr:
    """Delta(beta_aux, c, gamma) of ``ptft.nested_feature_selection``."""
    return nested_feature_selection().expr


# --------------------------------------------------------------------------------------------------
# ptft.dl_handoff
# --------------------------------------------------------------------------------------------------
@register("ptft.dl_handoff")
def dl_handoff() -> Derivation:
    """k_d = (2 c_PT (1 + lambda_PT)(1 + sqrt(1 + beta_PT^2/c_PT^2)) + gamma^2)^2: the [DL] hand-off.

    In words: pretraining starts both branches of a coordinate at ``w0^2 = c_PT (1 + lambda_PT)/2``,
    ``v0^2 = c_PT (1 - lambda_PT)/2`` (absolute scale ``c_PT = w0^2 + v0^2``, relative scale
    ``lambda_PT = (w0^2 - v0^2)/c_PT``) and runs to ``beta_PT``; finetuning sets both first-layer weights
    to ``w_p + w_m`` and both readouts to ``gamma/sqrt 2``, so it starts at ``beta0 = 0`` with
    ``M = 2 (w_p + w_m)^2 + gamma^2`` and ``sqrt k = M``. The finetuning penalty is ``q_k`` with this ``k``
    (no linear term), ``= (c_FT/2)(1 - sqrt(1 + u^2) + u asinh u)``, ``u = beta/c_FT``, ``c_FT = M/2``.
    Source: [DL] Thm 4.1 (as summarised in THEORY.md sections 3 and 5); derived here from the
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
    steps.append(Step("pretraining start, both branches: w0^2 = c_PT (1 + lambda_PT)/2", init[w0] ** 2))
    steps.append(Step("v0^2 = c_PT (1 - lambda_PT)/2", init[v0] ** 2))
    wp, vp = _branch_solution(+1, w0, v0)
    wm, vm = _branch_solution(-1, w0, v0)
    beta_S = sp.simplify(sp.expand((wp * vp - wm * vm).rewrite(sp.exp)))
    steps.append(Step("pretraining trajectory beta_PT(S) = w_p v_p - w_m v_m (branches by dsolve)", beta_S))
    checks = [check_identity((beta_S - (w0**2 + v0**2) * sp.sinh(2 * s.S)).rewrite(sp.exp), sp.Integer(0),
                             "beta_PT(S) = (w0^2 + v0^2) sinh 2S = c_PT sinh 2S (the two cosh terms cancel)")]
    W = sp.simplify((wp + wm).rewrite(sp.exp))
    steps.append(Step("first-layer sum after pretraining, w_p + w_m", W))
    checks.append(check_identity(W.rewrite(sp.exp), (2 * w0 * sp.cosh(s.S)).rewrite(sp.exp),
                                 "w_p + w_m = 2 w0 cosh S"))
    # eliminate S: beta_PT = c_PT sinh 2S  =>  cosh 2S = sqrt(1 + beta_PT^2/c_PT^2) (cosh >= 1)
    S_of_beta = sp.asinh(bpt / cpt) / 2
    W2 = sp.simplify(sp.expand_trig((W**2).rewrite(sp.cosh)).subs(s.S, S_of_beta).subs(init))
    W2 = sp.simplify(W2)
    steps.append(Step("(w_p + w_m)^2 at S = asinh(beta_PT/c_PT)/2", W2))
    W2_ref = cpt * (1 + lam) * (1 + sp.sqrt(1 + bpt**2 / cpt**2))
    rng = {lam: (-0.95, 0.95), bpt: (-3.0, 3.0), cpt: (0.05, 2.0)}
    checks.append(check_identity(W2, W2_ref, "(w_p + w_m)^2 = c_PT (1 + lambda_PT)(1 + sqrt(1 + beta_PT^2/c_PT^2))",
                                 ranges=rng))
    # finetuning start: w_p = w_m = W, v_p = v_m = gamma/sqrt 2
    g = s.gamma
    Wft = sp.sqrt(W2_ref)
    beta0 = sp.simplify(Wft * (g / sp.sqrt(2)) - Wft * (g / sp.sqrt(2)))
    M = sp.expand(2 * W2_ref + 2 * (g / sp.sqrt(2)) ** 2)
    steps.append(Step("finetuning start (w_p = w_m = w_p + w_m of pretraining, v_p = v_m = gamma/sqrt 2): beta0",
                      beta0))
    steps.append(Step("M = w_p^2 + v_p^2 + w_m^2 + v_m^2", M))
    k = sp.expand(M**2 - 4 * beta0**2)
    k_ref = (2 * cpt * (1 + lam) * (1 + sp.sqrt(1 + (bpt / cpt) ** 2)) + g**2) ** 2
    checks.append(check_identity(beta0, sp.Integer(0), "the finetuning start is beta0 = 0"))
    checks.append(check_identity(k, k_ref, "k = M^2 = (2 c_PT (1 + lambda_PT)(1 + sqrt(1 + (beta_PT/c_PT)^2)) + "
                                 "gamma^2)^2 ([DL] k_d, THEORY.md section 3)", ranges=rng))
    sqrt_k = sp.sqrt(k_ref)
    Q = exact_penalty_k_expr(s.beta, sp.Integer(0), M)
    steps.append(Step("finetuning penalty Q(beta; beta0 = 0, sqrt k = M) (ptft.exact_penalty)", Q))
    c_ft = M / 2
    u = s.beta / c_ft
    rng_q = {**rng, s.beta: (-4.0, 4.0), g: (0.0, 1.5)}
    checks.append(check_identity(Q, q_k(s.beta, sqrt_k), "Q = q_k(beta) with the [DL] k_d (no linear term)",
                                 ranges=rng_q))
    checks.append(check_identity(Q, c_ft / 2 * (1 - sp.sqrt(1 + u**2) + u * sp.asinh(u)),
                                 "Q = (c_FT/2)(1 - sqrt(1+u^2) + u asinh u), u = beta/c_FT, c_FT = M/2 "
                                 "(THEORY.md section 5)", ranges=rng_q))
    checks.append(check_identity(sp.diff(Q, s.beta), sp.asinh(s.beta / c_ft) / 2,
                                 "Q' = (1/2) asinh(beta/c_FT) (THEORY.md section 5)", ranges=rng_q))
    # regimes ([DL]): the curvature at 0 is 1/sqrt k = 1/M (lazy weight M), the rich slope grows like log(beta/c_FT)
    lims = {}
    lims["lambda_PT -> -1"] = sp.simplify(M.subs(lam, -1))
    lims["c_PT -> 0, lambda_PT = 1"] = sp.simplify(sp.limit(M.subs(lam, 1), cpt, 0, "+"))
    lims["c_PT -> oo"] = sp.limit(M / cpt, cpt, sp.oo)
    for key, val in lims.items():
        steps.append(Step(f"M in the limit {key}" + (" (divided by c_PT)" if key == "c_PT -> oo" else ""), val))
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
        title="Finetuning penalty after the [DL] hand-off (pretraining init (c_PT, lambda_PT), readouts gamma/sqrt 2)",
        statement=sp.Eq(sp.Function("Q_DL")(s.beta, bpt, cpt, lam, g), Q),
        symbols=(s.beta, bpt, cpt, lam, g),
        assumptions=(
            "pretraining: gradient flow, both branches from w0^2 = c_PT (1+lambda_PT)/2, v0^2 = c_PT (1-lambda_PT)/2, "
            "converged to beta_PT",
            "hand-off: both first-layer weights set to w_p + w_m, both readouts to gamma/sqrt 2 (beta0 = 0)",
            "finetuning: gradient flow to an interpolator; c_PT > 0, -1 <= lambda_PT <= 1, gamma >= 0",
        ),
        source=f"{_SOURCE_DL} (Thm 4.1; hand-off as in THEORY.md section 5); derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Agrees with THEORY.md's second-hand k_d exactly. In the [LL] hand-off (ptft.rescaled_start) the "
               "start carries beta0 != 0 and a linear term; here beta0 = 0 and the penalty is the symmetric q_k. "
               "The pretraining branches keep w^2 - v^2 = c_PT lambda_PT, so lambda_PT = -1 leaves w = 0 and "
               "finetuning sees only the readout reset (M = gamma^2)."),
        extra={"M": M, "c_FT": c_ft, "sqrt_k": sqrt_k, "first_layer_sq": W2_ref, "limits": lims},
    )


def dl_handoff_penalty_expr() -> sp.Expr:
    """Q_DL(beta; beta_PT, c_PT, lambda_PT, gamma) of ``ptft.dl_handoff``."""
    return dl_handoff().expr


# --------------------------------------------------------------------------------------------------
# ptft.selection_contrast
# --------------------------------------------------------------------------------------------------
@register("ptft.selection_contrast")
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
    steps.append(Step("rich slope of ptft.exact_penalty: Q'(beta) - (1/2) ln beta as beta -> +oo", const))
    checks = [check_identity(slope, (sp.log(4 * s.bp / s.sqrt_k) - sp.asinh(2 * s.beta0 / s.sqrt_k)) / 2,
                             "Q'(beta) -> (1/2)(ln(4 beta/sqrt k) - asinh(2 beta0/sqrt k))")]
    rs = rescaled_start()
    b0_r, sk_r = rs.extra["beta0"], rs.extra["sqrt_k"]
    s_pre = sp.simplify(slope.subs({s.beta0: b0_r.subs(s.beta_aux, s.a), s.sqrt_k: sk_r.subs(s.beta_aux, s.a)},
                                   simultaneous=True).subs(s.gamma, s.gp))
    steps.append(Step("pretrained feature (beta_aux = a > 0), [LL] hand-off", s_pre))
    checks.append(check_identity(s_pre, sp.log(4 * s.bp / ((s.c * sp.sqrt(s.a) + s.gp)**2 + s.gp**2)) / 2,
                                 "s_pre = (1/2) ln(4|beta|/(M + 2 beta0)) = (1/2) ln(4|beta|/((c sqrt a + gamma)^2 + "
                                 "gamma^2))"))
    # a new feature: beta_aux = 0; with a finite pretraining init alpha its first layer keeps c alpha on both
    # branches (as in ptft.nested_feature_selection), so beta0 = 0 and sqrt k = M = 2 c^2 alpha^2 + 2 gamma^2
    s_new = sp.simplify(slope.subs({s.beta0: 0, s.sqrt_k: 2 * s.c**2 * al**2 + 2 * s.gp**2}, simultaneous=True))
    steps.append(Step("new feature (beta_aux = 0, first layer c alpha after pretraining)", s_new))
    checks.append(check_identity(s_new, sp.log(2 * s.bp / (s.c**2 * al**2 + s.gp**2)) / 2,
                                 "s_new = (1/2) ln(2|beta|/(gamma^2 + c^2 alpha^2))"))
    delta = nested_feature_selection().expr.subs(s.beta_aux, s.a)
    checks.append(check_identity(s_new.subs(al, 0) - s_pre, delta,
                                 "s_new - s_pre = Delta of ptft.nested_feature_selection (alpha = 0)"))
    rho = s_pre / s_new
    pre_lead = sp.limit(s_pre, s.gp, 0, "+")
    steps.append(Step("s_pre as gamma -> 0", pre_lead))
    checks.append(check_identity(pre_lead, sp.log(4 * s.bp / (s.c**2 * s.a)) / 2,
                                 "s_pre -> (1/2) ln(4|beta|/(c^2|beta_aux|)) as gamma -> 0"))
    rho_lead = pre_lead / s_new.subs(al, 0)
    steps.append(Step("rho to leading order (gamma -> 0 in s_pre, alpha = 0)", rho_lead))
    # level sets of the leading-order contrast
    r = sp.Symbol("rho", positive=True)
    gamma_r = sp.sqrt(2 * s.bp) * (s.c**2 * s.a / (4 * s.bp)) ** (1 / (2 * r))
    steps.append(Step("level set rho_lead = rho", sp.Eq(s.gp, gamma_r)))
    rng = {s.bp: (0.5, 2.0), s.a: (0.1, 0.5), s.c: (0.01, 0.3), r: (0.2, 0.8)}
    checks.append(check_identity(sp.expand_log(rho_lead.subs(s.gp, gamma_r), force=True), r,
                                 "rho_lead = rho on gamma = sqrt(2|beta|) (c^2|beta_aux|/(4|beta|))^(1/(2 rho))",
                                 ranges=rng))
    checks.append(check_identity(gamma_r.subs(r, sp.Rational(1, 2)), s.c**2 * s.a / sp.sqrt(8 * s.bp),
                                 "rho = 1/2: gamma = c^2|beta_aux|/sqrt(8|beta|)"))
    return Derivation(
        name="ptft.selection_contrast",
        title="Selection contrast: rich-limit price of a pretrained feature relative to a new one",
        statement=sp.Eq(sp.Function("rho")(s.bp, s.a, s.c, s.gp, al), rho),
        symbols=(s.bp, s.a, s.c, s.gp, al),
        assumptions=(
            "[LL] hand-off (ptft.rescaled_start); beta = |beta| -> oo relative to sqrt k (rich), beta_aux = a > 0, "
            "c > 0, gamma > 0",
            "new feature: first layer c alpha on both branches after pretraining from alpha (alpha = 0: exactly 0)",
            "meaningful for 0 < rho < 1: rho <= 0 is the lazy (weighted-l2) side, rho -> 1 forgets pretraining",
        ),
        source=f"{_SOURCE_LL} (rescaling, nested feature selection); derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Evaluated at the teacher's magnitudes it predicts where in the (c, gamma) plane rescaling helps: "
               "the error's level sets follow gamma ~ c^(1/rho), so the best c at fixed gamma scales like "
               "sqrt(gamma) (rho = 1/2), not as a fixed c. Compare figure rescaling_phase, where the theory "
               "minimiser and GD errors over a (c, gamma) grid are drawn with these contours. Not in THEORY.md."),
        extra={"s_pre": s_pre, "s_new": s_new, "rho_lead": rho_lead, "gamma_level": gamma_r, "rho_symbol": r,
               "alpha": al},
    )


def selection_contrast_expr() -> sp.Expr:
    """rho(beta, beta_aux, c, gamma, alpha) of ``ptft.selection_contrast`` (beta, beta_aux > 0)."""
    return selection_contrast().expr
