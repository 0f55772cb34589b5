"""Single-task two-layer diagonal networks: flow, conservation law, mirror map and implicit penalty.

Model (one coordinate): ``beta = u * v`` trained by gradient flow on a loss ``L(beta)``::

    du/dt = g * d(beta)/du = g v,     dv/dt = g * d(beta)/dv = g u,     g = -dL/dbeta,

and ``S(t) = int_0^t g``. In the "time" ``S`` the flow is linear, ``du/dS = v, dv/dS = u``. Everything
below is *derived* from this model and ODE with SymPy; only the published reference penalty of [W] is
typed in, as the thing being compared against.

Registered derivations (lazy; importing this module does no SymPy work):

``diagonal.flow_solution``       u(S), v(S) and beta(S)
``diagonal.conserved_quantity``  u^2 - v^2 = u0^2 - v0^2  (c = (u0^2 - v0^2)/2)
``diagonal.beta_of_S``           beta = |c| sinh(2S + phi)
``diagonal.mirror_map``          dQ/dbeta = S(beta) = (asinh(beta/|c|) - phi)/2
``diagonal.q``                   q(z) = int_0^z asinh = z asinh z - sqrt(1+z^2) + 1
``diagonal.penalty``             Q(beta) = (|c| q(beta/|c|) - phi beta)/2
``diagonal.penalty_lazy_limit``  Q near beta = 0 (weighted l2 / kernel regime)
``diagonal.penalty_rich_limit``  Q as |c| -> 0 (l1-like / rich regime)
``diagonal.two_pathway_penalty`` beta = w+^2 - w-^2 from w+- = alpha: Q_2p(beta)
``diagonal.woodworth_equivalence`` Q_2p = alpha^2 q_W(beta/alpha^2)/4, the penalty of [W]

Sources: [W] Woodworth, Gunasekar, Lee, Moroshko, Savarese, Golan, Soudry, Srebro, "Kernel and Rich
Regimes in Overparametrized Models", COLT 2020; [A] Azulay, Moroshko, Nacson, Woodworth, Srebro,
Globerson, Soudry, "On the Implicit Bias of Initialization Shape: Beyond Infinitesimal Mirror Descent",
ICML 2021; [LL] Lippl & Lindsey, arXiv:2310.02396.
"""
from __future__ import annotations

import sympy as sp

from ptft.theory.derivation import Check, Derivation, DerivationError, Step, check_identity, register
from ptft.theory.symbols import S, alpha, beta, beta_pos, c, c_abs, phi, u, u0, v, v0, w_minus, w_plus, z

__all__ = [
    "flow_solution",
    "conserved_quantity",
    "beta_of_S",
    "mirror_map",
    "q",
    "penalty",
    "penalty_lazy_limit",
    "penalty_rich_limit",
    "two_pathway_penalty",
    "woodworth_equivalence",
    "penalty_expr",
    "q_expr",
    "Q",
    "Q_2p",
]

#: Undefined functions used as left-hand sides of statements (display only; not lambdified).
Q = sp.Function("Q")
Q_2p = sp.Function("Q_2p")
_q = sp.Function("q")

_SRC_W = "[W] Woodworth et al., 'Kernel and Rich Regimes in Overparametrized Models', COLT 2020"
_SRC_A = "[A] Azulay et al., 'On the Implicit Bias of Initialization Shape', ICML 2021"
_SRC_LL = "[LL] Lippl & Lindsey, arXiv:2310.02396"


# --------------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------------
def _require(ok: bool, description: str) -> Check:
    """A structural (exact, non-numeric) check; raises if it does not hold."""
    if not bool(ok):
        raise DerivationError(f"check failed: {description}")
    return Check(description=description, passed=True, numeric_max_error=None)


def _unique_real_solution(eq: sp.Equality, x: sp.Symbol) -> sp.Expr:
    """The single real solution of ``eq`` in ``x`` (via ``solveset`` over the reals)."""
    sol = sp.solveset(eq, x, sp.S.Reals)
    if isinstance(sol, sp.Intersection):  # e.g. Intersection({atanh(a)}, Reals)
        finite = [a for a in sol.args if isinstance(a, sp.FiniteSet)]
        if len(finite) == 1:
            sol = finite[0]
    if not isinstance(sol, sp.FiniteSet) or len(sol) != 1:
        raise DerivationError(f"expected a unique real solution of {eq} for {x}, got {sol}")
    return next(iter(sol))


def _gradient_flow_rates(model: sp.Expr, params: tuple[sp.Symbol, ...]) -> tuple[sp.Expr, ...]:
    """d(param)/dS for gradient flow on L(model): d(param)/dt = -L'(beta) d(beta)/d(param) = g d(beta)/d(param)."""
    return tuple(sp.diff(model, p) for p in params)


# --------------------------------------------------------------------------------------------------
# flow and conservation law
# --------------------------------------------------------------------------------------------------
@register("diagonal.flow_solution")
def flow_solution() -> Derivation:
    """Closed-form gradient flow of one diagonal coordinate, ``beta = u v``, in the time ``S``.

    In words: with ``S(t) = int_0^t g`` (``g = -dL/dbeta``) the weights solve the linear system
    ``du/dS = v, dv/dS = u``, so ``u = u0 cosh S + v0 sinh S`` and ``v = v0 cosh S + u0 sinh S``; the
    product is ``beta(S) = u0 v0 cosh 2S + (u0^2 + v0^2)/2 sinh 2S``.

    Source: [W] Sec. 4, [A] Sec. 3 (standard); derived here with ``dsolve`` and cross-checked with the
    matrix exponential.

    Assumptions: real weights and initialisation; ``S`` real (the ODE is autonomous in ``S`` because
    both weights are driven by the same scalar ``g(t)``).
    """
    U, V = sp.Function("u"), sp.Function("v")
    rate_u, rate_v = _gradient_flow_rates(u * v, (u, v))  # = (v, u)
    rhs_u = rate_u.subs({u: U(S), v: V(S)})
    rhs_v = rate_v.subs({u: U(S), v: V(S)})
    ode = [sp.Eq(U(S).diff(S), rhs_u), sp.Eq(V(S).diff(S), rhs_v)]
    sol = sp.dsolve(ode, [U(S), V(S)], ics={U(0): u0, V(0): v0})
    by = {s.lhs: s.rhs for s in sol}

    def hyperbolic(e: sp.Expr) -> sp.Expr:
        return sp.collect(sp.expand(e), [u0, v0], lambda k: sp.simplify(k.rewrite(sp.cosh)))

    def as_exp(e: sp.Expr) -> sp.Expr:  # exponential form, which simplify handles quickly
        return sp.expand(e.rewrite(sp.exp))

    u_S, v_S = hyperbolic(by[U(S)]), hyperbolic(by[V(S)])

    # the same solution as a matrix exponential
    A = sp.Matrix([[sp.diff(rate_u, u), sp.diff(rate_u, v)], [sp.diff(rate_v, u), sp.diff(rate_v, v)]])
    expm = (A * S).exp() * sp.Matrix([u0, v0])

    # beta = u v, simplified coefficient by coefficient
    prod = sp.expand(u_S * v_S)
    parts = sp.collect(prod, [u0 * v0, u0**2, v0**2], evaluate=False)
    if sp.S.One in parts:
        raise DerivationError(f"unexpected term in u*v: {parts[sp.S.One]}")
    beta_S = sum((mon * sp.simplify(sp.trigsimp(coef)) for mon, coef in parts.items()), sp.S.Zero)
    beta_S = sp.collect(beta_S, [sp.cosh(2 * S), sp.sinh(2 * S)], sp.factor)

    checks = (
        check_identity(sp.diff(u_S, S), v_S, "du/dS = v"),
        check_identity(sp.diff(v_S, S), u_S, "dv/dS = u"),
        check_identity(u_S.subs(S, 0), u0, "u(0) = u0"),
        check_identity(v_S.subs(S, 0), v0, "v(0) = v0"),
        check_identity(expm[0], as_exp(u_S), "u(S) agrees with the matrix exponential exp(S [[0,1],[1,0]])"),
        check_identity(expm[1], as_exp(v_S), "v(S) agrees with the matrix exponential"),
        check_identity(as_exp(beta_S), as_exp(u_S * v_S), "beta(S) = u(S) v(S)"),
        check_identity(
            beta_S,
            u0 * v0 * sp.cosh(2 * S) + (u0**2 + v0**2) / 2 * sp.sinh(2 * S),
            "beta(S) = u0 v0 cosh 2S + (u0^2+v0^2)/2 sinh 2S (THEORY.md sec. 1)",
        ),
    )
    steps = (
        Step("gradient flow in the time S (rates d beta/du, d beta/dv)", sp.Tuple(*ode)),
        Step("dsolve with u(0)=u0, v(0)=v0", sp.Matrix([by[U(S)], by[V(S)]])),
        Step("matrix exponential of the linear system", expm),
        Step("rewritten with hyperbolic functions", sp.Matrix([u_S, v_S])),
        Step("u v, expanded", prod),
        Step("beta(S) = u v, coefficients simplified", sp.Eq(beta, beta_S)),
    )
    return Derivation(
        name="diagonal.flow_solution",
        title="Gradient flow of beta = u v in the integrated-gradient time S",
        statement=sp.Eq(sp.Matrix([u, v]), sp.Matrix([u_S, v_S]), evaluate=False),
        symbols=(S, u0, v0),
        assumptions=(
            "u, v, u0, v0 real",
            "S(t) = int_0^t g(s) ds with g = -dL/dbeta (same g drives u and v)",
        ),
        source=f"{_SRC_W}, Sec. 4; {_SRC_A}, Sec. 3",
        steps=steps,
        checks=checks,
        notes="lambdify() returns the 2x1 array [u(S), v(S)]; beta(S) is in extra['beta'].",
        extra={"u": u_S, "v": v_S, "beta": beta_S, "ode": ode},
    )


@register("diagonal.conserved_quantity")
def conserved_quantity() -> Derivation:
    """The balancedness ``u^2 - v^2`` is conserved by the flow and equals ``u0^2 - v0^2 = 2c``.

    In words: ``d/dS (u^2 - v^2) = 2u du/dS - 2v dv/dS = 2uv - 2vu = 0``, so ``u^2 - v^2`` keeps its
    initial value ``u0^2 - v0^2``; we define ``c = (u0^2 - v0^2)/2``.

    Source: [W], [A] (conservation law of two-layer linear networks); [LL].

    Assumptions: the gradient flow of ``diagonal.flow_solution`` (any loss ``L(beta)``).
    """
    U, V = sp.Function("u"), sp.Function("v")
    quantity = U(S) ** 2 - V(S) ** 2
    d_quantity = sp.diff(quantity, S)
    on_flow = d_quantity.subs({sp.Derivative(U(S), S): V(S), sp.Derivative(V(S), S): U(S)})
    on_flow = sp.expand(on_flow)

    fl = flow_solution()
    u_S, v_S = fl.extra["u"], fl.extra["v"]
    value = (u_S**2 - v_S**2).subs(S, 0)  # constant => equal to its initial value
    c_def = value / 2

    checks = (
        _require(on_flow == 0, "d/dS (u^2 - v^2) = 0 on du/dS = v, dv/dS = u (for any u, v)"),
        check_identity(u_S**2 - v_S**2, value, "u(S)^2 - v(S)^2 = u0^2 - v0^2 on the closed-form flow"),
    )
    steps = (
        Step("derivative of u^2 - v^2 along S", d_quantity),
        Step("substituting du/dS = v, dv/dS = u", on_flow),
        Step("value at S = 0", sp.Eq(u**2 - v**2, value)),
        Step("definition of c", sp.Eq(c, c_def)),
    )
    return Derivation(
        name="diagonal.conserved_quantity",
        title="Conservation law u^2 - v^2 = u0^2 - v0^2 = 2c",
        statement=sp.Eq(u**2 - v**2, value),
        symbols=(u0, v0),
        assumptions=("gradient flow on any loss of beta = u v", "u0, v0 real"),
        source=f"{_SRC_W}; {_SRC_A}; {_SRC_LL}",
        steps=steps,
        checks=checks,
        notes="c = (u0^2 - v0^2)/2 is in extra['c']; u^2 - v^2 = 2c for all S.",
        extra={"c": c_def},
    )


@register("diagonal.beta_of_S")
def beta_of_S() -> Derivation:
    """``beta(S) = |c| sinh(2S + phi)`` with ``|c| = |u0^2 - v0^2|/2``, ``phi = artanh(2u0v0/(u0^2+v0^2))``.

    In words: write ``beta(S) = A cosh 2S + B sinh 2S`` (``A = u0 v0``, ``B = (u0^2+v0^2)/2``) as
    ``R sinh(2S + phi)``; matching coefficients gives ``R sinh phi = A``, ``R cosh phi = B``, hence
    ``R^2 = B^2 - A^2 = c^2`` and ``tanh phi = A/B``.

    Source: [A] Sec. 3 (initialisation shape), [W]; derived here.

    Assumptions: ``|u0| != |v0|`` (so ``B > |A|``, ``c != 0`` and ``phi`` is finite); real weights.
    """
    fl = flow_solution()
    cq = conserved_quantity()
    beta_S = fl.extra["beta"]
    A = beta_S.coeff(sp.cosh(2 * S))
    B = beta_S.coeff(sp.sinh(2 * S))
    R, p = sp.Symbol("R", positive=True), sp.Symbol("p", real=True)
    X = sp.Dummy("X", real=True)
    ansatz = sp.expand(R * sp.sinh(X + p), trig=True)  # R sinh X cosh p + R cosh X sinh p
    coef_sinh = ansatz.coeff(sp.sinh(X))  # R cosh p  <->  B
    coef_cosh = ansatz.coeff(sp.cosh(X))  # R sinh p  <->  A

    # |A| < B  <=>  B - A > 0 and B + A > 0
    B_minus_A, B_plus_A = sp.factor(B - A), sp.factor(B + A)

    # eliminate: (R cosh p)^2 - (R sinh p)^2 = R^2, and (R sinh p)/(R cosh p) = tanh p
    R2 = sp.simplify(coef_sinh**2 - coef_cosh**2)
    ratio = sp.simplify(coef_cosh / coef_sinh)
    R_expr = sp.sqrt(sp.factor(B**2 - A**2))
    phi_expr = _unique_real_solution(sp.Eq(ratio, A / B), p)
    phi_expr = phi_expr.func(sp.together(phi_expr.args[0]))  # atanh(2 u0 v0/(u0^2 + v0^2))

    c_abs_expr = sp.Abs(cq.extra["c"])
    checks = (
        _require(R2 == R**2, "(R cosh p)^2 - (R sinh p)^2 = R^2"),
        _require(ratio == sp.tanh(p), "(R sinh p)/(R cosh p) = tanh p"),
        check_identity(B_minus_A, (u0 - v0) ** 2 / 2, "B - A = (u0 - v0)^2/2 >= 0"),
        check_identity(B_plus_A, (u0 + v0) ** 2 / 2, "B + A = (u0 + v0)^2/2 >= 0"),
        check_identity(R_expr, c_abs_expr, "R = sqrt(B^2 - A^2) = |u0^2 - v0^2|/2 = |c|"),
        check_identity(
            phi_expr, sp.atanh(2 * u0 * v0 / (u0**2 + v0**2)), "phi = artanh(2 u0 v0/(u0^2 + v0^2))"
        ),
        check_identity(
            c_abs_expr * sp.sinh(2 * S + phi_expr),
            beta_S,
            "|c| sinh(2S + phi) = u0 v0 cosh 2S + (u0^2+v0^2)/2 sinh 2S = u(S) v(S)",
        ),
        check_identity(c_abs_expr * sp.sinh(phi_expr), u0 * v0, "beta(0) = |c| sinh(phi) = u0 v0"),
    )
    steps = (
        Step("beta(S) from diagonal.flow_solution", sp.Eq(beta, beta_S)),
        Step("ansatz R sinh(X + p), X = 2S, expanded", ansatz),
        Step("coefficient matching: R sinh p = A, R cosh p = B", sp.Tuple(sp.Eq(coef_cosh, A), sp.Eq(coef_sinh, B))),
        Step("B - A and B + A (both >= 0, so |A| <= B, equality iff |u0| = |v0|)", sp.Matrix([B_minus_A, B_plus_A])),
        Step("R^2 = B^2 - A^2", sp.Eq(R, R_expr)),
        Step("tanh p = A/B", sp.Eq(phi, phi_expr)),
        Step("|c| from the conservation law", sp.Eq(c_abs, c_abs_expr)),
    )
    return Derivation(
        name="diagonal.beta_of_S",
        title="beta(S) = |c| sinh(2S + phi)",
        statement=sp.Eq(beta, c_abs * sp.sinh(2 * S + phi)),
        symbols=(S, c_abs, phi),
        assumptions=(
            "|u0| != |v0| (c != 0, |phi| < infinity)",
            "c_abs = |u0^2 - v0^2|/2 > 0, phi = artanh(2 u0 v0/(u0^2 + v0^2)) real",
        ),
        source=f"{_SRC_A}, Sec. 3; {_SRC_W}",
        steps=steps,
        checks=checks,
        notes=(
            "Degenerate case |u0| = |v0| (c = 0): phi = +-infinity and beta(S) = u0 v0 exp(+-2S) "
            "(sign of u0 v0), not covered by this parametrisation. "
            "extra['c_abs'] and extra['phi'] give |c| and phi in terms of u0, v0."
        ),
        extra={"c_abs": c_abs_expr, "phi": phi_expr, "R_sqrt": R_expr},
    )


# --------------------------------------------------------------------------------------------------
# mirror map and implicit penalty
# --------------------------------------------------------------------------------------------------
@register("diagonal.mirror_map")
def mirror_map() -> Derivation:
    """Mirror map: ``dQ/dbeta = S(beta) = (asinh(beta/|c|) - phi)/2``, the inverse of ``beta(S)``.

    In words: ``beta = |c| sinh(2S + phi)`` is strictly increasing in ``S``; its inverse is
    ``S = (asinh(beta/|c|) - phi)/2``. Since ``S(inf) = X^T lambda`` lies in the row space of the data
    (``g = -dL/dbeta`` is a combination of the rows of ``X`` for a square loss), the limit of the flow
    satisfies the KKT conditions of ``min Q(beta) s.t. X beta = y`` for the potential ``Q`` with
    ``grad Q = S(beta)``: the flow is mirror descent with this mirror map.

    Source: [W] Thm. 1 / [A] Sec. 3 (mirror-descent view); [LL].

    Assumptions: ``c_abs > 0``, ``phi`` real; ``beta`` real.
    """
    bs = beta_of_S()
    X = sp.Dummy("X", real=True)
    inner = _unique_real_solution(sp.Eq(beta, c_abs * sp.sinh(X)), X)  # asinh(beta/|c|)
    S_beta = _unique_real_solution(sp.Eq(2 * S + phi, inner), S)
    slope = sp.simplify(sp.diff(S_beta, beta))
    checks = (
        check_identity(bs.expr.subs(S, S_beta), beta, "beta(S(beta)) = beta"),
        check_identity(S_beta.subs(beta, bs.expr), S, "S(beta(S)) = S", ranges={S: (-2.0, 2.0), phi: (-2.0, 2.0)}),
        _require(slope.is_positive, "dS/dbeta = 1/(2 sqrt(beta^2 + |c|^2)) > 0 (Q strictly convex)"),
        check_identity(S_beta, (sp.asinh(beta / c_abs) - phi) / 2, "S(beta) = (asinh(beta/|c|) - phi)/2"),
    )
    steps = (
        Step("beta as a function of S (diagonal.beta_of_S)", bs.statement),
        Step("solve beta = |c| sinh X over the reals", sp.Eq(X, inner)),
        Step("S = (X - phi)/2", sp.Eq(S, S_beta)),
        Step("derivative (positive: the inverse is increasing)", sp.Eq(sp.Derivative(S_beta, beta), slope)),
    )
    return Derivation(
        name="diagonal.mirror_map",
        title="Mirror map grad Q(beta) = S(beta) = (asinh(beta/|c|) - phi)/2",
        statement=sp.Eq(sp.Derivative(Q(beta), beta), S_beta),
        symbols=(beta, c_abs, phi),
        assumptions=("c_abs > 0", "phi real", "square loss: S(inf) lies in the row space of X"),
        source=f"{_SRC_W}, Thm. 1; {_SRC_A}, Sec. 3; {_SRC_LL}",
        steps=steps,
        checks=checks,
        notes="At the limit of the flow, grad Q(beta_inf) = S(inf) = X^T lambda: the KKT condition of "
        "min Q(beta) s.t. X beta = y.",
        extra={"S_of_beta": S_beta},
    )


@register("diagonal.q")
def q() -> Derivation:
    """``q(z) = int_0^z asinh(s) ds = z asinh z - sqrt(1 + z^2) + 1``, the scale-free penalty.

    In words: ``q`` is twice the penalty ``Q`` at ``|c| = 1, phi = 0``; it is even, convex
    (``q'' = 1/sqrt(1+z^2) > 0``), ``q(0) = q'(0) = 0``, ``q ~ z^2/2`` near 0 and ``~ |z| log(2|z|)`` at
    infinity.

    Source: [W] (there in the form ``q_W(z) = 2 q(z/2)``), [A]; derived here by integration.

    Assumptions: ``z`` real.
    """
    s = sp.Dummy("s", real=True)
    q_z = sp.integrate(sp.asinh(s), (s, 0, z))
    q2 = sp.simplify(sp.diff(q_z, z, 2))
    checks = (
        check_identity(sp.diff(q_z, z), sp.asinh(z), "q'(z) = asinh z"),
        check_identity(q_z.subs(z, 0), 0, "q(0) = 0"),
        check_identity(q_z.subs(z, -z), q_z, "q is even"),
        _require(q2.is_positive, "q''(z) = 1/sqrt(1 + z^2) > 0 (strictly convex)"),
        check_identity(q_z, z * sp.asinh(z) - sp.sqrt(1 + z**2) + 1, "q(z) = z asinh z - sqrt(1+z^2) + 1"),
    )
    steps = (
        Step("integrate asinh from 0 to z", sp.Eq(_q(z), sp.Integral(sp.asinh(s), (s, 0, z)))),
        Step("result", sp.Eq(_q(z), q_z)),
        Step("second derivative", sp.Eq(sp.Derivative(_q(z), (z, 2)), q2)),
    )
    return Derivation(
        name="diagonal.q",
        title="q(z) = z asinh z - sqrt(1 + z^2) + 1",
        statement=sp.Eq(_q(z), q_z),
        symbols=(z,),
        assumptions=("z real",),
        source=f"{_SRC_W}; {_SRC_A}",
        steps=steps,
        checks=checks,
    )


@register("diagonal.penalty")
def penalty() -> Derivation:
    """Implicit penalty ``Q(beta) = int_0^beta S(b) db = (|c| q(beta/|c|) - phi beta)/2``.

    In words: the potential whose gradient is the mirror map and which vanishes at 0; gradient flow
    from ``(u0, v0)`` converges to ``argmin Q(beta) s.t. X beta = y`` (summing ``Q`` over coordinates
    with their own ``|c_i|, phi_i``).

    Source: [W] Thm. 1 (shape phi = 0), [A] Thm. 1 (general shape), [LL].

    Assumptions: ``c_abs > 0`` (``|u0| != |v0|``), ``phi`` real, ``beta`` real; convergence of the flow
    to a zero-loss solution.
    """
    mm = mirror_map()
    qd = q()
    b = sp.Dummy("b", real=True)
    Q_int = sp.integrate(mm.expr.subs(beta, b), (b, 0, beta))
    Q_q = (c_abs * qd.expr.subs(z, beta / c_abs) - phi * beta) / 2
    d2 = sp.simplify(sp.diff(Q_int, beta, 2))
    checks = (
        check_identity(Q_int, Q_q, "int_0^beta S(b) db = (|c| q(beta/|c|) - phi beta)/2"),
        check_identity(sp.diff(Q_q, beta), mm.expr, "dQ/dbeta = mirror map"),
        check_identity(Q_q.subs(beta, 0), 0, "Q(0) = 0"),
        _require(d2.is_positive, "d^2Q/dbeta^2 = 1/(2 sqrt(beta^2 + |c|^2)) > 0"),
    )
    steps = (
        Step("Q(beta) = int_0^beta S(b) db", sp.Eq(Q(beta), sp.Integral(mm.expr.subs(beta, b), (b, 0, beta)))),
        Step("integrated", sp.Eq(Q(beta), Q_int)),
        Step("in terms of q (diagonal.q)", sp.Eq(Q(beta), Q_q)),
        Step("second derivative", sp.Eq(sp.Derivative(Q(beta), (beta, 2)), d2)),
    )
    return Derivation(
        name="diagonal.penalty",
        title="Implicit penalty Q(beta) = (|c| q(beta/|c|) - phi beta)/2",
        statement=sp.Eq(Q(beta), Q_q),
        symbols=(beta, c_abs, phi),
        assumptions=(
            "c_abs = |u0^2 - v0^2|/2 > 0",
            "phi = artanh(2 u0 v0/(u0^2 + v0^2)) real",
            "the flow converges to an interpolating solution (square loss)",
        ),
        source=f"{_SRC_W}, Thm. 1; {_SRC_A}, Thm. 1; {_SRC_LL}",
        steps=steps,
        checks=checks,
        notes="The multi-coordinate penalty is sum_i Q(beta_i; |c_i|, phi_i) (THEORY.md sec. 1).",
        extra={"integrated": Q_int},
    )


def penalty_expr() -> sp.Expr:
    """``Q(beta; |c|, phi)`` as a SymPy expression in :data:`beta`, :data:`c_abs`, :data:`phi`."""
    return penalty().expr


def q_expr() -> sp.Expr:
    """``q(z) = z asinh z - sqrt(1 + z^2) + 1`` as a SymPy expression in :data:`z`."""
    return q().expr


@register("diagonal.penalty_lazy_limit")
def penalty_lazy_limit() -> Derivation:
    """Lazy (kernel) limit: ``Q = -phi beta/2 + beta^2/(4|c|) - beta^4/(48|c|^3) + O(beta^6)``.

    In words: for ``|beta| << |c|`` the penalty is a weighted l2 norm ``beta^2/(4|c|)`` (plus the linear
    tilt ``-phi beta/2`` set by the initialisation shape); large ``|c|`` (large initialisation) is the
    kernel regime. The first neglected term is ``beta^6/(160 |c|^5)``.

    Source: [W] Sec. 4 (alpha -> infinity gives l2), [A]; derived here with ``series``.

    Assumptions: ``c_abs > 0``; series in ``beta`` at fixed ``c_abs, phi``.
    """
    Qe = penalty().expr
    ser = sp.series(Qe, beta, 0, 5)
    poly = sp.expand(ser.removeO())
    leading = sp.series(Qe, beta, 0, 3).removeO()
    rem = sp.simplify(sp.limit((Qe - poly) / beta**6, beta, 0))
    odd5 = sp.limit((Qe - poly) / beta**5, beta, 0)
    checks = (
        check_identity(leading, beta**2 / (4 * c_abs) - phi * beta / 2, "leading terms beta^2/(4|c|) - phi beta/2"),
        _require(odd5 == 0, "(Q - series)/beta^5 -> 0 (no beta^5 term: Q + phi beta/2 is even)"),
        check_identity(rem, 1 / (160 * c_abs**5), "(Q - series)/beta^6 -> 1/(160 |c|^5)"),
        check_identity(
            sp.diff(poly, beta, 2).subs(beta, 0), 1 / (2 * c_abs), "curvature at 0 is 1/(2|c|) (weighted l2)"
        ),
    )
    steps = (
        Step("series of Q in beta at 0", ser),
        Step("leading (kernel / weighted-l2) part", leading),
        Step("first neglected term", sp.Eq(sp.Symbol("remainder"), rem * beta**6)),
    )
    return Derivation(
        name="diagonal.penalty_lazy_limit",
        title="Lazy limit |beta| << |c|: Q ~ beta^2/(4|c|) - phi beta/2 (weighted l2)",
        statement=sp.Eq(Q(beta), poly),
        symbols=(beta, c_abs, phi),
        assumptions=("c_abs > 0", "|beta| << c_abs (series at beta = 0, truncated after beta^4)"),
        source=f"{_SRC_W}, Sec. 4; {_SRC_A}",
        steps=steps,
        checks=checks,
        notes=(
            "THEORY.md sec. 1 writes Q ~ beta^2/(4|c|) for |beta| << |c|; SymPy gives the same quadratic "
            "plus the linear tilt -phi beta/2, which vanishes only for phi = 0 (u0 v0 = 0). The statement "
            "keeps terms through beta^4; the remainder is beta^6/(160|c|^5) + O(beta^8)."
        ),
        extra={"leading": leading, "remainder_coefficient": rem, "order": 6},
    )


@register("diagonal.penalty_rich_limit")
def penalty_rich_limit() -> Derivation:
    """Rich limit: ``Q = (beta log(2 beta/|c|) - beta - phi beta)/2 + |c|/2 + O(|c|^2)`` as ``|c| -> 0``.

    In words: at fixed ``beta > 0`` and small initialisation scale ``|c|`` the penalty is
    ``|beta| log(1/|c|)/2`` to leading order, i.e. proportional to the l1 norm (rich / sparse regime),
    with the O(1)-in-log corrections ``(beta log(2 beta) - beta - phi beta)/2``.

    Source: [W] Sec. 4 (alpha -> 0 gives l1), [A] Sec. 4; derived here with ``series`` in ``c_abs``.

    Assumptions: ``beta > 0`` (for ``beta < 0`` use evenness of q: ``|beta|`` in the log terms, the
    tilt ``-phi beta/2`` keeps its sign); ``phi`` fixed while ``c_abs -> 0+``.
    """
    Qp = penalty().expr.subs(beta, beta_pos)
    lead_raw = sp.series(Qp.rewrite(sp.log), c_abs, 0, 1).removeO()
    lead = beta_pos * sp.logcombine(sp.expand(2 * lead_raw / beta_pos), force=True) / 2
    remainder_limit = sp.limit(Qp - lead, c_abs, 0, "+")
    next_coef = sp.limit((Qp - lead) / c_abs, c_abs, 0, "+")
    checks = (
        check_identity(lead, lead_raw, "combined logarithms"),
        check_identity(
            lead,
            (beta_pos * sp.log(2 * beta_pos / c_abs) - beta_pos - phi * beta_pos) / 2,
            "leading (beta log(2 beta/|c|) - beta - phi beta)/2",
        ),
        _require(remainder_limit == 0, "Q - leading -> 0 as |c| -> 0+"),
        _require(next_coef == sp.Rational(1, 2), "(Q - leading)/|c| -> 1/2: next term |c|/2"),
    )
    steps = (
        Step("series of Q in c_abs at 0 (beta > 0)", sp.series(Qp.rewrite(sp.log), c_abs, 0, 2)),
        Step("leading part", sp.Eq(Q(beta_pos), lead)),
        Step("limit of the remainder", sp.Eq(sp.Limit(Qp - lead, c_abs, 0, "+"), remainder_limit)),
        Step("next term coefficient", sp.Eq(sp.Limit((Qp - lead) / c_abs, c_abs, 0, "+"), next_coef)),
    )
    return Derivation(
        name="diagonal.penalty_rich_limit",
        title="Rich limit |c| -> 0: Q ~ (beta log(2 beta/|c|) - beta - phi beta)/2 (l1-like)",
        statement=sp.Eq(Q(beta_pos), lead),
        symbols=(beta_pos, c_abs, phi),
        assumptions=("beta > 0 fixed", "c_abs -> 0+", "phi fixed"),
        source=f"{_SRC_W}, Sec. 4; {_SRC_A}, Sec. 4",
        steps=steps,
        checks=checks,
        notes=(
            "THEORY.md sec. 1 gives only the leading-log form |beta| log(2|beta|/|c|)/2; SymPy adds the "
            "O(1) x beta terms -(1 + phi) beta/2 (the -phi beta/2 tilt is the initialisation-shape effect "
            "of [A]) and the next correction +|c|/2, i.e. the error of the statement is |c|/2 + O(|c|^2)."
        ),
        extra={"next_term": next_coef * c_abs},
    )


# --------------------------------------------------------------------------------------------------
# two-pathway parametrisation and the penalty of Woodworth et al.
# --------------------------------------------------------------------------------------------------
@register("diagonal.two_pathway_penalty")
def two_pathway_penalty() -> Derivation:
    """Two-pathway model ``beta = w+^2 - w-^2``, ``w+(0) = w-(0) = alpha``: penalty ``Q_2p(beta)``.

    In words: gradient flow gives ``dw+/dS = 2 w+``, ``dw-/dS = -2 w-``, so ``w+ = alpha e^{2S}``,
    ``w- = alpha e^{-2S}`` and ``beta = 2 alpha^2 sinh 4S``; inverting, ``S = asinh(beta/(2alpha^2))/4``,
    and integrating, ``Q_2p = (beta asinh(beta/(2alpha^2)) - sqrt(beta^2 + 4alpha^4) + 2alpha^2)/4``.

    Source: [W] Sec. 4 (the "w+^2 - w-^2" model); derived here.

    Assumptions: ``alpha > 0``; same time ``S = int g`` as in ``diagonal.flow_solution``.
    """
    Wp, Wm = sp.Function("w_plus"), sp.Function("w_minus")
    model = w_plus**2 - w_minus**2
    rp, rm = _gradient_flow_rates(model, (w_plus, w_minus))  # 2 w+, -2 w-
    sub = {w_plus: Wp(S), w_minus: Wm(S)}
    ode = [sp.Eq(Wp(S).diff(S), rp.subs(sub)), sp.Eq(Wm(S).diff(S), rm.subs(sub))]
    sol = sp.dsolve(ode, [Wp(S), Wm(S)], ics={Wp(0): alpha, Wm(0): alpha})
    by = {s.lhs: s.rhs for s in sol}
    wp_S, wm_S = by[Wp(S)], by[Wm(S)]
    beta_exp = sp.expand(model.subs({w_plus: wp_S, w_minus: wm_S}))
    beta_S = sp.simplify(beta_exp.rewrite(sp.sinh))
    S_beta = _unique_real_solution(sp.Eq(beta, beta_S), S)
    b = sp.Dummy("b", real=True)
    Q2 = sp.integrate(S_beta.subs(beta, b), (b, 0, beta))
    checks = (
        check_identity(sp.diff(wp_S, S), rp.subs(w_plus, wp_S), "dw+/dS = 2 w+"),
        check_identity(sp.diff(wm_S, S), rm.subs(w_minus, wm_S), "dw-/dS = -2 w-"),
        check_identity(wp_S.subs(S, 0), alpha, "w+(0) = alpha"),
        check_identity(wm_S.subs(S, 0), alpha, "w-(0) = alpha"),
        check_identity(beta_S, beta_exp, "beta(S) = w+^2 - w-^2"),
        check_identity(beta_S, 2 * alpha**2 * sp.sinh(4 * S), "beta(S) = 2 alpha^2 sinh 4S"),
        check_identity(beta_S.subs(S, S_beta), beta, "beta(S(beta)) = beta"),
        check_identity(sp.diff(Q2, beta), S_beta, "dQ_2p/dbeta = S(beta)"),
        check_identity(Q2.subs(beta, 0), 0, "Q_2p(0) = 0"),
    )
    steps = (
        Step("gradient flow of w+, w- in the time S", sp.Tuple(*ode)),
        Step("dsolve with w+(0) = w-(0) = alpha", sp.Matrix([wp_S, wm_S])),
        Step("beta = w+^2 - w-^2", sp.Eq(beta, beta_exp)),
        Step("hyperbolic form", sp.Eq(beta, beta_S)),
        Step("inverse (mirror map)", sp.Eq(sp.Derivative(Q_2p(beta), beta), S_beta)),
        Step("integrated from 0", sp.Eq(Q_2p(beta), Q2)),
    )
    return Derivation(
        name="diagonal.two_pathway_penalty",
        title="Two-pathway penalty Q_2p for beta = w+^2 - w-^2 from w+- = alpha",
        statement=sp.Eq(Q_2p(beta), Q2),
        symbols=(beta, alpha),
        assumptions=("alpha > 0", "w+(0) = w-(0) = alpha", "S(t) = int_0^t g, g = -dL/dbeta"),
        source=f"{_SRC_W}, Sec. 4",
        steps=steps,
        checks=checks,
        notes="beta = 2 alpha^2 sinh(4S): the two-pathway flow runs at twice the rate of the u v flow "
        "(see diagonal.woodworth_equivalence).",
        extra={"w_plus": wp_S, "w_minus": wm_S, "beta": beta_S, "S_of_beta": S_beta},
    )


@register("diagonal.woodworth_equivalence")
def woodworth_equivalence() -> Derivation:
    """``Q_2p(beta) = (1/4) alpha^2 q_W(beta/alpha^2)``, ``q_W(z) = 2 - sqrt(4+z^2) + z asinh(z/2)`` [W].

    In words: the derived two-pathway penalty equals the published penalty of Woodworth et al. up to
    the positive factor 1/4 (our potential is normalised by ``grad Q_2p = S``; the gradient of the [W]
    potential is ``asinh(beta/(2 alpha^2)) = 4 S``). A constant factor does not change
    ``argmin Q s.t. X beta = y``. Through ``u = w+ + w-``, ``v = w+ - w-`` the two-pathway model is
    ``beta = u v`` with ``u0 = 2 alpha``, ``v0 = 0`` (``|c| = 2 alpha^2``, ``phi = 0``) run at double
    speed (``S_uv = 2 S``), and ``diagonal.penalty`` there equals ``2 Q_2p``.

    Source: [W] Woodworth et al., COLT 2020, Thm. 1 (``Q_alpha``); derived here.

    Assumptions: ``alpha > 0``; ``beta`` real.
    """
    tp = two_pathway_penalty()
    Q2 = tp.expr
    q_W = 2 - sp.sqrt(4 + z**2) + z * sp.asinh(z / 2)  # published [W] (typed: it is the reference)
    W = alpha**2 * q_W.subs(z, beta / alpha**2)

    # factor: compare curvatures, then value and slope at beta = 0
    factor = sp.simplify(sp.diff(Q2, beta, 2) / sp.diff(W, beta, 2))
    if factor.free_symbols or not factor.is_positive:
        raise DerivationError(f"Q_2p''/Q_W'' is not a positive constant: {factor}")
    checks = [
        _require(factor.is_positive and not factor.free_symbols, "Q_2p''/Q_W'' is a positive constant"),
        check_identity(Q2.subs(beta, 0), factor * W.subs(beta, 0), "equal at beta = 0"),
        check_identity(sp.diff(Q2, beta).subs(beta, 0), factor * sp.diff(W, beta).subs(beta, 0), "equal slopes at 0"),
        check_identity(Q2, factor * W, f"Q_2p = {factor} alpha^2 q_W(beta/alpha^2)",
                       ranges={beta: (-5.0, 5.0)}),
        check_identity(sp.diff(W, beta), 4 * tp.extra["S_of_beta"], "grad of [W]'s Q_alpha = 4 S(beta)"),
    ]

    # change of variables to the u v model
    uu, vv = w_plus + w_minus, w_plus - w_minus
    rp, rm = _gradient_flow_rates(w_plus**2 - w_minus**2, (w_plus, w_minus))
    du, dv = sp.expand(rp + rm), sp.expand(rp - rm)
    u0_2p, v0_2p = uu.subs({w_plus: alpha, w_minus: alpha}), vv.subs({w_plus: alpha, w_minus: alpha})
    bs = beta_of_S()
    init = {u0: u0_2p, v0: v0_2p}
    c_abs_2p = sp.simplify(bs.extra["c_abs"].subs(init))
    phi_2p = sp.simplify(bs.extra["phi"].subs(init))
    Q_uv = penalty().expr.subs({c_abs: c_abs_2p, phi: phi_2p})
    ratio_uv = sp.simplify(sp.diff(Q_uv, beta, 2) / sp.diff(Q2, beta, 2))
    beta_uv = flow_solution().extra["beta"].subs(init)
    q_d = q().expr
    checks += [
        _require(sp.expand(uu * vv - (w_plus**2 - w_minus**2)) == 0, "(w+ + w-)(w+ - w-) = w+^2 - w-^2"),
        _require(sp.expand(du - 2 * vv) == 0, "du/dS = 2 v"),
        _require(sp.expand(dv - 2 * uu) == 0, "dv/dS = 2 u (u v flow at double speed, S_uv = 2S)"),
        _require(u0_2p == 2 * alpha and v0_2p == 0, "u0 = 2 alpha, v0 = 0"),
        _require(c_abs_2p == 2 * alpha**2 and phi_2p == 0, "|c| = 2 alpha^2, phi = 0"),
        check_identity(beta_uv.subs(S, 2 * S), tp.extra["beta"], "beta_uv(2S) with u0 = 2 alpha, v0 = 0 = beta_2p(S)"),
        _require(ratio_uv.is_positive and not ratio_uv.free_symbols, "Q_uv''/Q_2p'' is a positive constant"),
        check_identity(Q_uv, ratio_uv * Q2, f"diagonal.penalty(|c| = 2 alpha^2, phi = 0) = {ratio_uv} Q_2p",
                       ranges={beta: (-5.0, 5.0)}),
        check_identity(q_W, 2 * q_d.subs(z, z / 2), "q_W(z) = 2 q(z/2)", ranges={z: (-10.0, 10.0)}),
    ]
    steps = (
        Step("Q_2p from diagonal.two_pathway_penalty", sp.Eq(Q_2p(beta), Q2)),
        Step("published penalty of [W]: alpha^2 q_W(beta/alpha^2)", W),
        Step("curvature ratio Q_2p''/Q_W''", factor),
        Step("change of variables u = w+ + w-, v = w+ - w-: u v", sp.Eq(uu * vv, sp.expand(uu * vv))),
        Step("flow of (u, v) in S", sp.Tuple(
            sp.Eq(sp.Symbol("du/dS"), sp.simplify(du.subs({w_plus: (u + v) / 2, w_minus: (u - v) / 2}))),
            sp.Eq(sp.Symbol("dv/dS"), sp.simplify(dv.subs({w_plus: (u + v) / 2, w_minus: (u - v) / 2}))),
        )),
        Step("initialisation (u0, v0), |c|, phi", sp.Matrix([u0_2p, v0_2p, c_abs_2p, phi_2p])),
        Step("diagonal.penalty at |c| = 2 alpha^2, phi = 0", sp.Eq(Q(beta), Q_uv)),
        Step("ratio diagonal.penalty / Q_2p", ratio_uv),
    )
    return Derivation(
        name="diagonal.woodworth_equivalence",
        title="Q_2p equals Woodworth et al.'s Q_alpha up to the factor 1/4",
        statement=sp.Eq(Q2, factor * W, evaluate=False),
        symbols=(beta, alpha),
        assumptions=("alpha > 0", "beta real", "constant positive factors do not change the argmin"),
        source=f"{_SRC_W}, Thm. 1",
        steps=steps,
        checks=tuple(checks),
        notes=(
            f"Factor {factor} derived (Q_2p''/Q_W''), as expected. The u v picture: u0 = 2 alpha, v0 = 0, "
            f"|c| = 2 alpha^2, phi = 0 and diagonal.penalty = {ratio_uv} Q_2p because S_uv = 2 S_2p. "
            "Also q_W(z) = 2 q(z/2), i.e. alpha^2 q_W(beta/alpha^2) = 2 alpha^2 q(beta/(2 alpha^2))."
        ),
        extra={"factor": factor, "q_W": q_W, "Q_W": W, "uv_factor": ratio_uv, "c_abs": c_abs_2p, "phi": phi_2p},
    )
