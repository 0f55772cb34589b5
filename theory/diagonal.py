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

from ptft.theory.derivation import (Check, Definition, Derivation, DerivationError, Display, Step, check_identity,
                                     register)
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
@register("diagonal.flow_solution", title="Gradient flow of one diagonal coordinate in the integrated-gradient time S")
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
            "beta(S) = u0 v0 cosh 2S + (u0^2+v0^2)/2 sinh 2S",
        ),
    )
    uv = sp.Matrix([u, v])
    steps = (
        Step(r"Gradient flow in the time $S$, with the rates $\partial \beta/\partial u = v$ and "
             r"$\partial \beta/\partial v = u$",
             sp.Eq(sp.Matrix([e.lhs for e in ode]), sp.Matrix([e.rhs for e in ode]), evaluate=False)),
        Step(r"Solving this linear system with $u(0) = u_0$ and $v(0) = v_0$",
             sp.Eq(uv, sp.Matrix([by[U(S)], by[V(S)]]), evaluate=False)),
        Step(r"The same solution as the matrix exponential $\exp(S A)$ applied to $(u_0, v_0)$, where $A$ is the "
             r"matrix with rows $(0, 1)$ and $(1, 0)$", sp.Eq(uv, expm, evaluate=False)),
        Step(r"Rewritten with hyperbolic functions", sp.Eq(uv, sp.Matrix([u_S, v_S]), evaluate=False)),
        Step(r"The product $\beta = uv$, expanded", sp.Eq(beta, prod)),
        Step(r"Collecting the coefficients of $u_0 v_0$, $u_0^2$ and $v_0^2$ with the double-angle formulas",
             sp.Eq(beta, beta_S)),
    )
    return Derivation(
        name="diagonal.flow_solution",
        title="Gradient flow of one diagonal coordinate in the integrated-gradient time S",
        statement=sp.Eq(sp.Matrix([u, v]), sp.Matrix([u_S, v_S]), evaluate=False),
        symbols=(S, u0, v0),
        assumptions=(
            r"$u$, $v$, $u_0$, $v_0$ real",
            r"$S(t) = \int_0^t g(s)\,ds$ with $g = -\partial L/\partial\beta$; the same $g$ drives $u$ and $v$",
        ),
        source=f"{_SRC_W}, Sec. 4; {_SRC_A}, Sec. 3",
        steps=steps,
        checks=checks,
        notes=r"The statement is the column $(u(S), v(S))$; the coefficient $\beta(S) = u(S)\,v(S)$ is the last step.",
        extra={"u": u_S, "v": v_S, "beta": beta_S, "ode": ode},
    )


@register("diagonal.conserved_quantity", title="Conservation law: the balancedness of the weights is constant")
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
    c_shown = sp.Mul(sp.Rational(1, 2), value, evaluate=False)  # (u0^2 - v0^2)/2, printed undistributed
    steps = (
        Step(r"Derivative of $u^2 - v^2$ along the flow", sp.Eq(sp.Derivative(quantity, S), d_quantity)),
        Step(r"Substituting $du/dS = v$ and $dv/dS = u$", sp.Eq(sp.Derivative(quantity, S), on_flow)),
        Step(r"Hence $u^2 - v^2$ keeps its value at $S = 0$", sp.Eq(u**2 - v**2, value)),
        Step(r"Half of it is the constant $c$", sp.Eq(c, c_shown)),
    )
    display = Display(sp.Eq(u**2 - v**2, 2 * c), where=(Definition(c, c_shown),))
    return Derivation(
        display=display,
        name="diagonal.conserved_quantity",
        title="Conservation law: the balancedness of the weights is constant",
        statement=sp.Eq(u**2 - v**2, value),
        symbols=(u0, v0),
        assumptions=(r"Gradient flow on any loss $L(\beta)$ of $\beta = uv$", r"$u_0$, $v_0$ real"),
        source=f"{_SRC_W}; {_SRC_A}; {_SRC_LL}",
        steps=steps,
        checks=checks,
        notes=r"The balancedness $u^2 - v^2 = 2c$ holds for all $S$; $c$ and the shape $\phi$ parametrise the "
              r"initialisation in the derivations that follow.",
        extra={"c": c_def},
    )


@register("diagonal.beta_of_S", title="The coefficient along the flow is a hyperbolic sine of S")
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
    A_, B_ = sp.symbols("A B", real=True)  # display names of the two coefficients
    steps = (
        Step(r"The coefficient from the closed-form flow (derivation diagonal.flow_solution), "
             r"$\beta(S) = A \cosh 2S + B \sinh 2S$", sp.Eq(beta, beta_S)),
        Step(r"The ansatz $R \sinh(X + p)$ with $X = 2S$, expanded",
             sp.Eq(R * sp.sinh(X + p), ansatz, evaluate=False)),
        Step(r"Matching the coefficients of $\cosh X$ and $\sinh X$",
             sp.Tuple(sp.Eq(coef_cosh, A), sp.Eq(coef_sinh, B))),
        Step(r"Both $B - A$ and $B + A$ are nonnegative, so $|A|$ does not exceed $B$, and equals it only if "
             r"$|u_0| = |v_0|$",
             sp.Tuple(sp.Eq(B_ - sp.UnevaluatedExpr(A_), B_minus_A), sp.Eq(B_ + A_, B_plus_A))),
        Step(r"Eliminating $p$ with $\cosh^2 p - \sinh^2 p = 1$ gives $R^2 = B^2 - A^2$", sp.Eq(R, R_expr)),
        Step(r"Dividing, $\tanh p = A/B$: the phase $p$ is the shape $\phi$", sp.Eq(phi, phi_expr)),
        Step(r"The amplitude is $|c|$ of the conservation law (derivation diagonal.conserved_quantity)",
             sp.Eq(c_abs, sp.Abs(u0**2 - v0**2) / 2)),
    )
    return Derivation(
        name="diagonal.beta_of_S",
        title="The coefficient along the flow is a hyperbolic sine of S",
        statement=sp.Eq(beta, c_abs * sp.sinh(2 * S + phi)),
        symbols=(S, c_abs, phi),
        assumptions=(
            r"$|u_0| \ne |v_0|$, so that $c \ne 0$ and $\phi$ is finite",
            r"$|c| = |u_0^2 - v_0^2|/2 > 0$ and $\phi = \operatorname{atanh}(2u_0v_0/(u_0^2 + v_0^2))$ real",
        ),
        source=f"{_SRC_A}, Sec. 3; {_SRC_W}",
        steps=steps,
        checks=checks,
        notes=(
            r"In the degenerate case $|u_0| = |v_0|$ ($c = 0$) the shape is $\phi = \pm\infty$ and "
            r"$\beta(S) = u_0 v_0 e^{\pm 2S}$ (the sign of $u_0 v_0$); this parametrisation does not cover it."
        ),
        extra={"c_abs": c_abs_expr, "phi": phi_expr, "R_sqrt": R_expr},
    )


# --------------------------------------------------------------------------------------------------
# mirror map and implicit penalty
# --------------------------------------------------------------------------------------------------
@register("diagonal.mirror_map", title="Mirror map: the gradient of the penalty inverts the flow")
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
        Step(r"The coefficient as a function of $S$ (derivation diagonal.beta_of_S)", bs.statement),
        Step(r"The equation $\beta = |c| \sinh X$ has a single real solution", sp.Eq(X, inner)),
        Step(r"With $X = 2S + \phi$, the time at which the flow reaches $\beta$",
             sp.Eq(sp.Function("S")(beta), S_beta)),
        Step(r"Its derivative is positive: $S(\beta)$ is increasing and $Q$ is strictly convex",
             sp.Eq(sp.Derivative(Q(beta), (beta, 2)), slope)),
    )
    return Derivation(
        name="diagonal.mirror_map",
        title="Mirror map: the gradient of the penalty inverts the flow",
        statement=sp.Eq(sp.Derivative(Q(beta), beta), S_beta),
        symbols=(beta, c_abs, phi),
        assumptions=(r"$|c| > 0$ and $\phi$ real",
                     r"Square loss: $S(\infty)$ lies in the row space of the data matrix $X$"),
        source=f"{_SRC_W}, Thm. 1; {_SRC_A}, Sec. 3; {_SRC_LL}",
        steps=steps,
        checks=checks,
        notes=r"At the limit of the flow $Q'(\beta_\infty) = S(\infty) = X^{\top}\lambda$ (coordinatewise): the KKT "
              r"condition of minimising $\sum_i Q(\beta_i)$ subject to $X\beta = y$.",
        extra={"S_of_beta": S_beta},
    )


@register("diagonal.q", title="The scale-free potential q")
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
        Step(r"The potential whose derivative is $\operatorname{asinh}$ and which vanishes at $0$",
             sp.Eq(_q(z), sp.Integral(sp.asinh(s), (s, 0, z)))),
        Step(r"Integrating", sp.Eq(_q(z), q_z)),
        Step(r"Its second derivative is positive: $q$ is strictly convex", sp.Eq(sp.Derivative(_q(z), (z, 2)), q2)),
    )
    return Derivation(
        name="diagonal.q",
        title="The scale-free potential q",
        statement=sp.Eq(_q(z), q_z),
        symbols=(z,),
        assumptions=(r"$z$ real",),
        source=f"{_SRC_W}; {_SRC_A}",
        steps=steps,
        checks=checks,
        notes=r"The function $q$ is even, $q(0) = q'(0) = 0$, $q(z) = z^2/2 + O(z^4)$ near $0$ and "
              r"$q(z) = |z| \ln(2|z|) - |z| + 1 + O(1/|z|)$ as $|z| \to \infty$; it is twice the penalty of "
              r"derivation diagonal.penalty at $|c| = 1$, $\phi = 0$. The potential of [W] is "
              r"$q_{\mathrm{W}}(z) = 2q(z/2)$.",
    )


@register("diagonal.penalty", title="Implicit penalty of one diagonal coordinate")
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
    Q_named = (c_abs * _q(beta / c_abs) - phi * beta) / 2  # the statement with q kept as a name
    steps = (
        Step(r"The potential with $Q' = S$ and $Q(0) = 0$, where $S$ is the mirror map "
             r"(derivation diagonal.mirror_map)", sp.Eq(Q(beta), sp.Integral(sp.Function("S")(b), (b, 0, beta)))),
        Step(r"Integrating $S(b) = (\operatorname{asinh}(b/|c|) - \phi)/2$", sp.Eq(Q(beta), Q_int)),
        Step(r"In terms of the scale-free potential $q$ (derivation diagonal.q)", sp.Eq(Q(beta), Q_named)),
        Step(r"Its second derivative is positive: $Q$ is strictly convex",
             sp.Eq(sp.Derivative(Q(beta), (beta, 2)), d2)),
    )
    display = Display(sp.Eq(Q(beta), Q_named), where=(Definition(_q(z), qd.expr),))
    return Derivation(
        display=display,
        name="diagonal.penalty",
        title="Implicit penalty of one diagonal coordinate",
        statement=sp.Eq(Q(beta), Q_q),
        symbols=(beta, c_abs, phi),
        assumptions=(
            r"$|c| = |u_0^2 - v_0^2|/2 > 0$",
            r"$\phi = \operatorname{atanh}(2u_0v_0/(u_0^2 + v_0^2))$ real",
            r"The flow converges to an interpolating solution (square loss)",
        ),
        source=f"{_SRC_W}, Thm. 1; {_SRC_A}, Thm. 1; {_SRC_LL}",
        steps=steps,
        checks=checks,
        notes=r"With several coordinates the penalty is the sum $\sum_i Q(\beta_i; |c_i|, \phi_i)$, each coordinate "
              r"with its own initialisation; gradient flow converges to its minimiser subject to $X\beta = y$.",
        extra={"integrated": Q_int},
    )


def penalty_expr() -> sp.Expr:
    """``Q(beta; |c|, phi)`` as a SymPy expression in :data:`beta`, :data:`c_abs`, :data:`phi`."""
    return penalty().expr


def q_expr() -> sp.Expr:
    """``q(z) = z asinh z - sqrt(1 + z^2) + 1`` as a SymPy expression in :data:`z`."""
    return q().expr


@register("diagonal.penalty_lazy_limit", title="Lazy limit: small coefficients see a weighted l2 penalty")
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
        Step(r"Taylor series of the penalty of derivation diagonal.penalty at $\beta = 0$", sp.Eq(Q(beta), ser)),
        Step(r"To second order: a weighted $\ell_2$ (kernel) penalty plus a linear tilt",
             sp.Eq(Q(beta), leading + sp.O(beta**3))),
        Step(r"There is no $\beta^5$ term, and the first neglected term is of order $\beta^6$",
             sp.Eq(Q(beta), poly + rem * beta**6 + sp.O(beta**7))),
    )
    return Derivation(
        name="diagonal.penalty_lazy_limit",
        title="Lazy limit: small coefficients see a weighted l2 penalty",
        statement=sp.Eq(Q(beta), poly),
        symbols=(beta, c_abs, phi),
        assumptions=(r"$|c| > 0$", r"$|\beta| \ll |c|$: series at $\beta = 0$, truncated after $\beta^4$"),
        source=f"{_SRC_W}, Sec. 4; {_SRC_A}",
        steps=steps,
        checks=checks,
        notes=(
            r"For $\phi = 0$ ($u_0 v_0 = 0$) the leading term is the weighted $\ell_2$ penalty $\beta^2/(4|c|)$ "
            r"of the kernel regime ([W]); a general initialisation shape adds the linear tilt $-\phi\beta/2$ ([A]). "
            r"The statement keeps the terms through $\beta^4$; the remainder is "
            r"$\beta^6/(160|c|^5) + O(\beta^8)$."
        ),
        extra={"leading": leading, "remainder_coefficient": rem, "order": 6},
    )


@register("diagonal.penalty_rich_limit",
          title="Rich limit: small initialisation gives an l1-like penalty")
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
    Q0 = sp.Function("Q_0")  # display name of the leading part
    steps = (
        Step(r"Series of the penalty of derivation diagonal.penalty in $|c|$ at $0$, for $\beta > 0$",
             sp.Eq(Q(beta_pos), sp.series(Qp.rewrite(sp.log), c_abs, 0, 2))),
        Step(r"Its leading part $Q_0$, with the logarithms combined", sp.Eq(Q0(beta_pos), lead)),
        Step(r"The remainder vanishes as $|c| \to 0$",
             sp.Eq(sp.Limit(Q(beta_pos) - Q0(beta_pos), c_abs, 0, "+"), remainder_limit)),
        Step(r"Its first term is $|c|/2$",
             sp.Eq(sp.Limit((Q(beta_pos) - Q0(beta_pos)) / c_abs, c_abs, 0, "+"), next_coef)),
    )
    return Derivation(
        name="diagonal.penalty_rich_limit",
        title="Rich limit: small initialisation gives an l1-like penalty",
        statement=sp.Eq(Q(beta_pos), lead),
        symbols=(beta_pos, c_abs, phi),
        assumptions=(r"$\beta > 0$ fixed (for $\beta < 0$ replace $\beta$ by $|\beta|$ in the logarithmic terms; "
                     r"the tilt $-\phi\beta/2$ keeps its sign)", r"$|c| \to 0^+$ at fixed $\phi$"),
        source=f"{_SRC_W}, Sec. 4; {_SRC_A}, Sec. 4",
        steps=steps,
        checks=checks,
        notes=(
            r"To leading order $Q \approx |\beta| \ln(1/|c|)/2$, proportional to the $\ell_1$ norm ([W]). The "
            r"statement keeps the terms of order $\beta$, $(\beta \ln 2\beta - \beta - \phi\beta)/2$, where the "
            r"tilt $-\phi\beta/2$ is the initialisation-shape effect of [A]; its error is $|c|/2 + O(|c|^2)$."
        ),
        extra={"next_term": next_coef * c_abs},
    )


# --------------------------------------------------------------------------------------------------
# two-pathway parametrisation and the penalty of Woodworth et al.
# --------------------------------------------------------------------------------------------------
@register("diagonal.two_pathway_penalty", title="Penalty of the two-pathway model of Woodworth et al.")
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
        Step(r"Gradient flow of $w_+$ and $w_-$ in the time $S$, with the rates "
             r"$\partial \beta/\partial w_{\pm} = \pm 2 w_{\pm}$",
             sp.Eq(sp.Matrix([e.lhs for e in ode]), sp.Matrix([e.rhs for e in ode]), evaluate=False)),
        Step(r"Its solution with $w_+(0) = w_-(0) = \alpha$",
             sp.Eq(sp.Matrix([w_plus, w_minus]), sp.Matrix([wp_S, wm_S]), evaluate=False)),
        Step(r"The coefficient $\beta = w_+^2 - w_-^2$", sp.Eq(beta, beta_exp)),
        Step(r"In hyperbolic form", sp.Eq(beta, beta_S)),
        Step(r"Inverting gives the mirror map", sp.Eq(sp.Derivative(Q_2p(beta), beta), S_beta)),
        Step(r"Integrating from $0$", sp.Eq(Q_2p(beta), Q2)),
    )
    qW = sp.Function("q_W")
    display = Display(sp.Eq(Q_2p(beta), alpha**2 / 4 * qW(beta / alpha**2)),
                      where=(Definition(qW(z), 2 - sp.sqrt(4 + z**2) + z * sp.asinh(z / 2),
                                        "the potential of [W] (derivation diagonal.woodworth_equivalence)"),))
    return Derivation(
        display=display,
        name="diagonal.two_pathway_penalty",
        title="Penalty of the two-pathway model of Woodworth et al.",
        statement=sp.Eq(Q_2p(beta), Q2),
        symbols=(beta, alpha),
        assumptions=(r"$\alpha > 0$ and $w_+(0) = w_-(0) = \alpha$",
                     r"$S(t) = \int_0^t g(s)\,ds$ with $g = -\partial L/\partial\beta$"),
        source=f"{_SRC_W}, Sec. 4",
        steps=steps,
        checks=checks,
        notes=r"Since $\beta = 2\alpha^2 \sinh 4S$, the two-pathway flow runs at twice the rate of the $uv$ flow "
              r"(derivation diagonal.woodworth_equivalence). With the potential $q$ of derivation diagonal.q, "
              r"$Q_{\mathrm{2p}}(\beta) = (\alpha^2/2)\, q(\beta/(2\alpha^2))$.",
        extra={"w_plus": wp_S, "w_minus": wm_S, "beta": beta_S, "S_of_beta": S_beta},
    )


@register("diagonal.woodworth_equivalence",
          title="Two-pathway penalty equals a quarter of the penalty of Woodworth et al.")
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
    from ptft.theory.latex import tex

    U, V = sp.Function("u"), sp.Function("v")
    to_uv = {w_plus: (u + v) / 2, w_minus: (u - v) / 2}
    QW, qW = sp.Function("Q_W"), sp.Function("q_W")
    steps = (
        Step(r"The two-pathway penalty of derivation diagonal.two_pathway_penalty", sp.Eq(Q_2p(beta), Q2)),
        Step(r"The published penalty of [W], $Q_{\mathrm{W}}(\beta) = \alpha^2 q_{\mathrm{W}}(\beta/\alpha^2)$",
             sp.Eq(QW(beta), W)),
        Step(r"The ratio of their curvatures is a positive constant (values and slopes at $\beta = 0$ agree too)",
             sp.Eq(sp.Derivative(Q_2p(beta), (beta, 2)) / sp.Derivative(QW(beta), (beta, 2)), factor)),
        Step(r"Change of variables $u = w_+ + w_-$, $v = w_+ - w_-$",
             sp.Eq(u * v, w_plus**2 - sp.UnevaluatedExpr(w_minus**2))),  # printed w+^2 - w-^2
        Step(r"In these variables the flow is the $uv$ flow at double speed, $S_{uv} = 2S$",
             sp.Eq(sp.Matrix([U(S).diff(S), V(S).diff(S)]),
                   sp.Matrix([sp.simplify(du.subs(to_uv)), sp.simplify(dv.subs(to_uv))]).subs({u: U(S), v: V(S)}),
                   evaluate=False)),
        Step(r"The start and the constants $|c|$, $\phi$ of derivation diagonal.beta_of_S",
             sp.Tuple(*(sp.Eq(a, b, evaluate=False) for a, b in
                        ((u0, u0_2p), (v0, v0_2p), (c_abs, c_abs_2p), (phi, phi_2p))))),
        Step(r"The penalty of derivation diagonal.penalty at $|c| = 2 \alpha^2$, $\phi = 0$, with its potential $q$",
             sp.Eq(Q(beta), ((c_abs * _q(beta / c_abs) - phi * beta) / 2).subs({c_abs: c_abs_2p, phi: phi_2p}))),
        Step(r"It is a constant multiple of $Q_{\mathrm{2p}}$, since $S_{uv} = 2S$",
             sp.Eq(Q(beta) / Q_2p(beta), ratio_uv)),
    )
    display = Display(
        sp.Eq(Q_2p(beta), factor * alpha**2 * qW(beta / alpha**2)),
        where=(Definition(Q_2p(beta), Q2, "the two-pathway penalty (derivation diagonal.two_pathway_penalty)"),
               Definition(qW(z), q_W, "the potential of [W]")),
    )
    return Derivation(
        display=display,
        name="diagonal.woodworth_equivalence",
        title="Two-pathway penalty equals a quarter of the penalty of Woodworth et al.",
        statement=sp.Eq(Q2, factor * W, evaluate=False),
        symbols=(beta, alpha),
        assumptions=(r"$\alpha > 0$ and $\beta$ real",
                     r"A constant positive factor does not change the minimiser subject to $X\beta = y$"),
        source=f"{_SRC_W}, Thm. 1",
        steps=steps,
        checks=tuple(checks),
        notes=(
            f"The factor ${tex(factor)}$ is derived, as the ratio of the curvatures: the gradient of the potential "
            r"of [W] is $\operatorname{asinh}(\beta/(2\alpha^2)) = 4S$. In the $uv$ picture "
            r"($u = w_+ + w_-$, $v = w_+ - w_-$) the start is $u_0 = 2\alpha$, $v_0 = 0$, so $|c| = 2\alpha^2$ "
            f"and $\\phi = 0$, and the penalty of derivation diagonal.penalty is "
            f"${tex(ratio_uv)}\\,Q_{{\\mathrm{{2p}}}}$ "
            r"because $S_{uv} = 2S$. Also $q_{\mathrm{W}}(z) = 2q(z/2)$, i.e. "
            r"$\alpha^2 q_{\mathrm{W}}(\beta/\alpha^2) = 2\alpha^2 q(\beta/(2\alpha^2))$."
        ),
        extra={"factor": factor, "q_W": q_W, "Q_W": W, "uv_factor": ratio_uv, "c_abs": c_abs_2p, "phi": phi_2p},
    )
