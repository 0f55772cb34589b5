"""Multi-task learning (MTL) in two-layer diagonal networks: shared first layer, one readout per task.

One coordinate: a shared first-layer weight ``w`` and readouts ``v_main``, ``v_aux``, so
``beta_main = w v_main`` and ``beta_aux = w v_aux`` (the [LL] model has two such branches per
coordinate, ``beta_t = w+ v+_t - w- v-_t``; one active branch suffices for the penalties below).

Derivations registered here (all derived with SymPy when first asked for):

``mtl.min_norm_factorisation``
    min over factorisations of w^2 + v_main^2 + v_aux^2 = 2 sqrt(beta_main^2 + beta_aux^2) (the l1,2 /
    group-lasso penalty, summed over coordinates).
``mtl.conditional_penalty``
    the price of the main coefficient given beta_aux: sqrt(beta^2 + beta_aux^2) - |beta_aux|, with its
    small-beta (beta^2/(2|beta_aux|), reuse) and large-beta (|beta| - |beta_aux|, l1) limits.
``mtl.conserved_quantity``
    w^2 - v_main^2 - v_aux^2 is conserved by MTL gradient flow.
``mtl.flow_metric``
    d beta/dt = H(beta) g with H = w^2 I + beta beta^T / w^2; H^{-1} is not a Hessian, so MTL gradient
    flow is not a mirror flow and its implicit bias is trajectory dependent.
``mtl.sequential_limit``
    the exact implicit bias on the main task when the auxiliary task is fitted first and only the main
    loss is trained afterwards (g_main = 0 in phase 1, g_aux = 0 in phase 2).

Sources: [LL] Lippl & Lindsey, arXiv:2310.02396 (MTL penalty, l1,2); [W] Woodworth et al., COLT 2020;
[LL]. Importing this module does no SymPy work.
"""
from __future__ import annotations

import functools
from types import SimpleNamespace

import sympy as sp

from ptft.theory.derivation import Check, Definition, Derivation, Display, Step, check_identity, register

__all__ = ["mtl_penalty_expr", "mtl_conditional_penalty_expr", "sequential_penalty_expr"]

_SOURCE_LL = "Lippl & Lindsey, arXiv:2310.02396 [LL]"


@functools.lru_cache(maxsize=None)
def _s() -> SimpleNamespace:
    """The symbols of this module, with the assumptions the algebra uses."""
    return SimpleNamespace(
        w=sp.Symbol("w", positive=True),  # shared first-layer weight (w -> -w, v -> -v is a symmetry)
        beta_main=sp.Symbol("beta_main", real=True),
        beta_aux=sp.Symbol("beta_aux", real=True),
        beta=sp.Symbol("beta", real=True),  # main coefficient in the conditional penalty
        bp=sp.Symbol("beta", positive=True),  # |beta| for series
        a=sp.Symbol("a", positive=True),  # |beta_aux| for series
        t=sp.Symbol("t", real=True),  # time
        u=sp.Symbol("u", positive=True),  # 1/beta in the large-beta series
        wr=sp.Symbol("w", real=True),
        v_main=sp.Symbol("v_main", real=True),
        v_aux=sp.Symbol("v_aux", real=True),
        delta=sp.Symbol("delta", real=True),  # conserved w^2 - |v|^2
        W=sp.Symbol("W", positive=True),  # w^2
        r=sp.Symbol("r", positive=True),  # ||(beta_main, beta_aux)||
        alpha=sp.Symbol("alpha", positive=True),  # initialisation scale
        E=sp.Symbol("E", positive=True),  # exp(2 S_aux)
        S=sp.Symbol("S", real=True),
    )


def _ascending(expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """``expr`` (a polynomial in ``x``) printed in ascending powers of ``x``; for display only (steps)."""
    terms = sorted(sp.Add.make_args(sp.expand(expr)), key=lambda term: sp.degree(term, x))
    out = terms[0]
    for term in terms[1:]:
        out += -sp.UnevaluatedExpr(-term) if term.could_extract_minus_sign() else sp.UnevaluatedExpr(term)
    return out


def _roots_positive_at(roots, samples: list[dict]) -> list:
    """The roots that are real and positive at every sample substitution (numerically)."""
    out = []
    for r in roots:
        ok = True
        for sub in samples:
            val = complex(sp.N(r.subs(sub)))
            if abs(val.imag) > 1e-12 or val.real <= 0:
                ok = False
                break
        if ok:
            out.append(r)
    return out


# --------------------------------------------------------------------------------------------------
# mtl.min_norm_factorisation
# --------------------------------------------------------------------------------------------------
@register("mtl.min_norm_factorisation",
          title="Minimum-norm factorisation of a coordinate shared by two tasks: the l1,2 penalty")
def min_norm_factorisation() -> Derivation:
    """min_{w v_main = beta_main, w v_aux = beta_aux} w^2 + v_main^2 + v_aux^2 = 2 sqrt(beta_main^2 + beta_aux^2).

    In words: the cheapest (minimum squared weight norm) way to realise a coordinate's two task
    coefficients with a shared first-layer weight costs twice their Euclidean norm; summed over
    coordinates this is the l1,2 (group-lasso) norm of the coefficient matrix, the explicit penalty of
    MTL with weight decay. Source: [LL]; derived here (solve d/dw = 0).
    Assumptions: (beta_main, beta_aux) != 0 so that w^2 > 0; w > 0 without loss of generality.
    """
    s = _s()
    steps = []
    C, w_st = sp.Function("C"), sp.Symbol("w_*", positive=True)  # display names: the cost, its minimiser
    v_m, v_a = s.beta_main / s.w, s.beta_aux / s.w
    cost = s.w**2 + v_m**2 + v_a**2
    steps.append(Step(r"Eliminating the readouts, $v_t = \beta_t/w$, the cost as a function of $w$",
                      sp.Eq(C(s.w), cost)))
    dcost = sp.diff(cost, s.w)
    steps.append(Step(r"Its derivative", sp.Eq(sp.Derivative(C(s.w), s.w), dcost)))
    roots = sp.solve(sp.Eq(dcost, 0), s.w)
    pos = _roots_positive_at(roots, [{s.beta_main: 0.3, s.beta_aux: -1.7}, {s.beta_main: 2.0, s.beta_aux: 0.5}])
    w_star = pos[0]
    steps.append(Step(r"The only stationary point with $w > 0$", sp.Eq(w_st, w_star)))
    R = sp.simplify(cost.subs(s.w, w_star))
    steps.append(Step(r"The cost there", sp.Eq(C(w_st), R)))
    d2 = sp.simplify(sp.diff(cost, s.w, 2).subs(s.w, w_star))
    steps.append(Step(r"The second derivative there is positive, and $C \to \infty$ as $w \to 0^+$ or "
                      r"$w \to \infty$: the stationary point is the global minimum",
                      sp.Eq(sp.Subs(sp.Derivative(C(s.w), (s.w, 2)), s.w, w_st), d2)))
    checks = [
        check_identity(R, 2 * sp.sqrt(s.beta_main**2 + s.beta_aux**2), "min cost = 2 sqrt(beta_main^2 + beta_aux^2)"),
        check_identity(d2, sp.Integer(8), "d^2 cost/dw^2 = 8 > 0 at the stationary point (a minimum)"),
        Check("cost -> +oo at w -> 0+ and at w -> oo with a single positive stationary point: global minimum",
              passed=bool(sp.limit(cost.subs({s.beta_main: 1, s.beta_aux: 1}), s.w, 0, "+") == sp.oo
                          and sp.limit(cost, s.w, sp.oo) == sp.oo and len(pos) == 1)),
    ]
    return Derivation(
        name="mtl.min_norm_factorisation",
        title="Minimum-norm factorisation of a coordinate shared by two tasks: the l1,2 penalty",
        statement=sp.Eq(sp.Function("P")(s.beta_main, s.beta_aux), R),
        symbols=(s.beta_main, s.beta_aux),
        assumptions=(
            r"One branch per coordinate: $\beta_{\mathrm{main}} = w v_{\mathrm{main}}$ and "
            r"$\beta_{\mathrm{aux}} = w v_{\mathrm{aux}}$ with a shared first-layer weight $w$",
            r"$(\beta_{\mathrm{main}}, \beta_{\mathrm{aux}}) \ne (0, 0)$, so that the minimiser has "
            r"$w^2 = \sqrt{\beta_{\mathrm{main}}^2 + \beta_{\mathrm{aux}}^2} > 0$",
            r"Explicit penalty: the minimum squared weight norm $P$ (the weight-decay limit), not the implicit bias "
            r"of gradient descent",
        ),
        source=f"{_SOURCE_LL}; derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=(r"The $\ell_{1,2}$ penalty of [LL]. In the two-branch model of [LL], "
               r"$\beta_t = w_+ v_{+,t} - w_- v_{-,t}$, the minimum over splits $\beta = \beta_+ - \beta_-$ of "
               r"$2\|\beta_+\| + 2\|\beta_-\|$ is again $2\|\beta\|$ (triangle inequality, one branch off), so the "
               r"penalty is the same. Summed over coordinates it is $2\|B\|_{1,2}$."),
    )


def mtl_penalty_expr() -> sp.Expr:
    """2 sqrt(beta_main^2 + beta_aux^2): the MTL min-norm penalty per coordinate (``mtl.min_norm_factorisation``)."""
    return min_norm_factorisation().expr


# --------------------------------------------------------------------------------------------------
# mtl.conditional_penalty
# --------------------------------------------------------------------------------------------------
@register("mtl.conditional_penalty",
          title="MTL price of a main-task coefficient on a feature the auxiliary task uses")
def conditional_penalty() -> Derivation:
    """R_MTL(beta; beta_aux) = sqrt(beta^2 + beta_aux^2) - |beta_aux|: the price of the main coefficient.

    In words: half the extra minimum weight norm needed to add a main-task coefficient beta to a
    coordinate the auxiliary task already uses with beta_aux. Small beta: beta^2/(2|beta_aux|) (a
    weighted l2 favouring features the auxiliary task uses: reuse); large beta: |beta| - |beta_aux|
    (l1: sparse). Source: [LL]; derived from ``mtl.min_norm_factorisation``.
    Assumptions: normalisation R = (1/2)[P(beta, beta_aux) - P(0, beta_aux)], P the min-norm cost.
    """
    s = _s()
    steps = []
    P = mtl_penalty_expr()
    sm = min_norm_factorisation().symbols
    R = sp.simplify((P.subs({sm[0]: s.beta, sm[1]: s.beta_aux}) - P.subs({sm[0]: 0, sm[1]: s.beta_aux})) / 2)
    R_MTL, P_f = sp.Function("R_MTL"), sp.Function("P")  # display names
    steps.append(Step(r"Half the extra minimum cost of adding $\beta$ to a coordinate that carries "
                      r"$\beta_{\mathrm{aux}}$, with $P$ of derivation mtl.min_norm_factorisation",
                      sp.Eq(R_MTL(s.beta, s.beta_aux),
                            sp.Mul(sp.Rational(1, 2), P_f(s.beta, s.beta_aux)
                                   - sp.UnevaluatedExpr(P_f(0, s.beta_aux)), evaluate=False))))
    steps.append(Step(r"Inserting $P(\beta_{\mathrm{main}}, \beta_{\mathrm{aux}}) = "
                      r"2 \sqrt{\beta_{\mathrm{main}}^2 + \beta_{\mathrm{aux}}^2}$",
                      sp.Eq(R_MTL(s.beta, s.beta_aux), R)))
    Rp = R.subs({s.beta: s.bp, s.beta_aux: s.a})
    small = sp.series(Rp, s.bp, 0, 5).removeO()
    large = sp.expand(sp.series(Rp.subs(s.bp, 1 / s.u), s.u, 0, 2).removeO().subs(s.u, 1 / s.bp))
    steps.append(Step(r"Small $\beta$, with $a = |\beta_{\mathrm{aux}}|$ (shown for $\beta > 0$; $R_{\mathrm{MTL}}$ is "
                      r"even in $\beta$): reuse, a weighted $\ell_2$ penalty",
                      sp.Eq(R_MTL(s.bp, s.beta_aux), _ascending(small, s.bp) + sp.O(s.bp**6))))
    steps.append(Step(r"Large $\beta$: the $\ell_1$ penalty, lowered by $a = |\beta_{\mathrm{aux}}|$",
                      sp.Eq(R_MTL(s.bp, s.beta_aux), large + sp.O(s.bp**-3, (s.bp, sp.oo)))))
    checks = [
        check_identity(R, sp.sqrt(s.beta**2 + s.beta_aux**2) - sp.Abs(s.beta_aux),
                       "R = sqrt(beta^2 + beta_aux^2) - |beta_aux|"),
        check_identity(small, s.bp**2 / (2 * s.a) - s.bp**4 / (8 * s.a**3),
                       "small beta: beta^2/(2|beta_aux|) - beta^4/(8|beta_aux|^3)"),
        check_identity(large, s.bp - s.a + s.a**2 / (2 * s.bp),
                       "large beta: |beta| - |beta_aux| + beta_aux^2/(2|beta|)"),
    ]
    return Derivation(
        name="mtl.conditional_penalty",
        title="MTL price of a main-task coefficient on a feature the auxiliary task uses",
        statement=sp.Eq(R_MTL(s.beta, s.beta_aux), R),
        symbols=(s.beta, s.beta_aux),
        assumptions=(
            r"Normalisation: $R_{\mathrm{MTL}} = \frac{1}{2}[P(\beta, \beta_{\mathrm{aux}}) "
            r"- P(0, \beta_{\mathrm{aux}})]$ with $P$ the minimum-norm cost, i.e. the weight-decay penalty "
            r"$(\lambda/2)\|\theta\|^2$ per unit $\lambda$, measured from $\beta = 0$ (so $R_{\mathrm{MTL}}(0) = 0$)",
            r"$\beta_{\mathrm{aux}}$ fixed (the auxiliary fit); explicit (minimum-norm) penalty",
        ),
        source=f"{_SOURCE_LL}; derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=(r"Small $\beta$: $\beta^2/(2|\beta_{\mathrm{aux}}|)$, a weighted $\ell_2$ penalty that favours the "
               r"features the auxiliary task uses (reuse); large $\beta$: $|\beta| - |\beta_{\mathrm{aux}}|$, the "
               r"$\ell_1$ penalty (sparsity)."),
        extra={"small_beta": small, "large_beta": large},
    )


def mtl_conditional_penalty_expr() -> sp.Expr:
    """sqrt(beta^2 + beta_aux^2) - |beta_aux| (``mtl.conditional_penalty``)."""
    return conditional_penalty().expr


# --------------------------------------------------------------------------------------------------
# mtl.conserved_quantity
# --------------------------------------------------------------------------------------------------
@register("mtl.conserved_quantity", title="Conserved imbalance of multi-task gradient flow")
def conserved_quantity() -> Derivation:
    """d/dt (w^2 - v_main^2 - v_aux^2) = 0 along MTL gradient flow.

    In words: with dw/dt = g_m v_m + g_a v_a, dv_m/dt = g_m w, dv_a/dt = g_a w (g_t = -dL/dbeta_t),
    the imbalance between the shared first-layer weight and the readout vector is conserved.
    Source: derived here (the MTL analogue of [W]'s / [LL]'s single-task conservation law).
    Assumptions: gradient flow; any time profiles g_m(t), g_a(t).
    """
    s = _s()
    t = s.t
    w, vm, va, gm, ga = (sp.Function(n)(t) for n in ("w", "v_main", "v_aux", "g_main", "g_aux"))
    ode = {w.diff(t): gm * vm + ga * va, vm.diff(t): gm * w, va.diff(t): ga * w}
    lhs_rates = [w.diff(t), vm.diff(t), va.diff(t)]
    steps = [Step(r"Gradient flow of the shared weight and the two readouts, with "
                  r"$g_t = -\partial L/\partial \beta_t$",
                  sp.Eq(sp.Matrix(lhs_rates), sp.Matrix([ode[r] for r in lhs_rates]), evaluate=False))]
    C = w**2 - vm**2 - va**2
    C_shown = w**2 - sp.UnevaluatedExpr(vm**2) - sp.UnevaluatedExpr(va**2)  # printed w^2 - v_main^2 - v_aux^2
    dC = sp.diff(C, t)
    steps.append(Step(r"Derivative of the imbalance", sp.Eq(sp.Derivative(C_shown, t), dC)))
    dC_flow = sp.expand(dC.subs(ode))
    steps.append(Step(r"On the flow the terms cancel", sp.Eq(sp.Derivative(C_shown, t), dC_flow)))
    checks = [check_identity(dC_flow, sp.Integer(0), "d/dt (w^2 - v_main^2 - v_aux^2) = 0")]
    # also: beta = w v (vector) has d beta/dt = (v v^T + w^2 I) g  (used by mtl.flow_metric)
    dbm = sp.expand(sp.diff(w * vm, t).subs(ode))
    gms, gas = sp.symbols("g_main g_aux", real=True)
    plain = {w: s.wr, vm: s.v_main, va: s.v_aux, gm: gms, ga: gas}
    checks.append(check_identity(dbm.subs(plain), ((vm * vm + w**2) * gm + vm * va * ga).subs(plain),
                                 "d beta_main/dt = (v v^T + w^2 I)_{m.} g"))
    expr = s.wr**2 - s.v_main**2 - s.v_aux**2
    delta = sp.Function("delta")(s.wr, s.v_main, s.v_aux)
    vnorm = sp.Symbol("|v|", nonnegative=True)  # the norm of the readout vector (display name sorts after w)
    display = Display(sp.Eq(delta, s.wr**2 - vnorm**2),
                      where=(Definition(vnorm, sp.sqrt(s.v_main**2 + s.v_aux**2), "the norm of the readout vector"),))
    return Derivation(
        display=display,
        name="mtl.conserved_quantity",
        title="Conserved imbalance of multi-task gradient flow",
        statement=sp.Eq(delta, expr),
        symbols=(s.wr, s.v_main, s.v_aux),
        assumptions=(r"Gradient flow (continuous time) of $L(\beta_{\mathrm{main}}, \beta_{\mathrm{aux}})$ with "
                     r"$\beta_t = w v_t$",
                     r"$g_t = -\partial L/\partial \beta_t$ arbitrary functions of time"),
        source="derived here (cf. [W], [LL] for the single-task conservation law)",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=(r"Unlike the single-task case, the conserved quantity does not make the flow a mirror flow: the "
               r"velocity of a coordinate is $d\beta/dt = (w^2 I + \beta\beta^{\top}/w^2)\, g$ with two independent "
               r"time profiles $g_{\mathrm{main}}(t)$, $g_{\mathrm{aux}}(t)$, and the inverse of that metric is not "
               r"a Hessian (derivation mtl.flow_metric). So no potential describes the limit, and the exact implicit "
               r"bias of multi-task gradient descent depends on the trajectory: from small initialisation it does "
               r"not land on the $\ell_{1,2}$ minimiser, and the gap grows as $\alpha \to 0$ (claim "
               r"mtl.gd_misses_group_lasso_minimum_as_alpha_shrinks). An exact special case is sequential training "
               r"(derivation mtl.sequential_limit), where each phase is a flow with a single time profile. In the "
               r"two-branch model of [LL] the same quantity is conserved in each branch."),
    )


# --------------------------------------------------------------------------------------------------
# mtl.flow_metric
# --------------------------------------------------------------------------------------------------
@register("mtl.flow_metric", title="MTL gradient flow is not a mirror flow: its metric is not a Hessian")
def flow_metric() -> Derivation:
    """d beta/dt = H g, H = w^2 I + beta beta^T/w^2; G = H^{-1} has d_aux G_11 - d_main G_12 = -beta_aux/(w^2(w^4+|beta|^2)).

    In words: per coordinate the task-coefficient vector beta = (beta_main, beta_aux) moves along the
    negative loss gradient preconditioned by a metric H that depends on beta only, through
    w^2 = (delta + sqrt(delta^2 + 4|beta|^2))/2 with the conserved delta = w^2 - |v|^2. The flow is a
    mirror flow iff G = H^{-1} is a Hessian, i.e. iff dG_11/dbeta_aux = dG_12/dbeta_main (and the same
    with the indices swapped); the statement is that integrability defect, nonzero whenever beta_aux != 0
    (by symmetry the other one is nonzero whenever beta_main != 0). Source: derived here.
    Assumptions: one active branch, w > 0, beta != 0.
    """
    s = _s()
    steps = []
    bm, ba, d = s.beta_main, s.beta_aux, s.delta
    # w^2 from the conserved delta: delta = W - |beta|^2/W
    roots = sp.solve(sp.Eq(s.W - s.r**2 / s.W, d), s.W)
    W_r = _roots_positive_at(roots, [{d: -1.3, s.r: 0.4}, {d: 0.7, s.r: 2.0}, {d: 0, s.r: 1.0}])[0]
    steps.append(Step(r"With $W = w^2$ and $r = |\beta|$, the conserved $\delta = w^2 - |v|^2 = W - r^2/W$ "
                      r"determines $W$ (the positive root)", sp.Eq(s.W, W_r)))
    dW_implicit = sp.simplify((sp.diff(W_r, s.r)).subs(d, s.W - s.r**2 / s.W))
    steps.append(Step(r"Its derivative, with $\delta$ eliminated again",
                      sp.Eq(sp.Derivative(sp.Function("W")(s.r), s.r), sp.factor(dW_implicit))))
    checks = [check_identity(dW_implicit, 2 * s.r * s.W / (s.W**2 + s.r**2), "d w^2/dr = 2 r w^2/(w^4 + r^2)")]
    # metric with w^2 = W(r) an unknown function of r = |beta|
    Wf = sp.Function("W")
    r_b = sp.sqrt(bm**2 + ba**2)
    b = sp.Matrix([bm, ba])
    H = Wf(r_b) * sp.eye(2) + b * b.T / Wf(r_b)
    steps.append(Step(r"The metric: $d \beta/dt = (v v^{\mathrm{T}} + w^2 I)\, g = H g$ with $v = \beta/w$, and $W$ "
                      r"depends on $\beta$ through $|\beta|$",
                      sp.Eq(sp.Symbol("H"), H.subs(Wf(r_b), s.W), evaluate=False)))
    G = H.inv()
    raw = (sp.diff(G[0, 0], ba) - sp.diff(G[0, 1], bm)).doit()
    derivs = list(raw.atoms(sp.Subs)) + list(raw.atoms(sp.Derivative))
    rep = {dv: (2 * s.r * s.W / (s.W**2 + s.r**2)).subs({s.r: r_b, s.W: Wf(r_b)}) for dv in derivs}
    defect = sp.factor(sp.simplify(raw.subs(rep).subs(Wf(r_b), s.W)))
    G11, G12 = sp.Function("G_11")(bm, ba), sp.Function("G_12")(bm, ba)
    steps.append(Step(r"The integrability defect of $G = H^{-1}$, which vanishes identically if $G$ is a Hessian",
                      sp.Eq(sp.Derivative(G11, ba) - sp.Derivative(G12, bm), defect)))
    Wsym = s.W
    HG = (H * G).subs(Wf(r_b), Wsym)
    checks += [check_identity(HG[0, 0], sp.Integer(1), "(H G)_11 = 1"),
               check_identity(HG[0, 1], sp.Integer(0), "(H G)_12 = 0"),
               check_identity(HG[1, 1], sp.Integer(1), "(H G)_22 = 1")]
    checks.append(check_identity(defect, -ba / (Wsym * (Wsym**2 + bm**2 + ba**2)),
                                 "defect = -beta_aux/(w^2 (w^4 + |beta|^2))"))
    # independent numeric confirmation with w^2(delta) explicit (no implicit differentiation)
    import mpmath
    Wexp = W_r.subs(s.r, r_b)
    Hx = Wexp * sp.eye(2) + b * b.T / Wexp
    Gx = Hx.inv()
    raw_x = sp.diff(Gx[0, 0], ba) - sp.diff(Gx[0, 1], bm)
    err = 0.0
    vals = []
    with mpmath.workdps(40):
        for x, y, z in ((sp.Rational(7, 10), sp.Rational(2, 5), 0), (1, -2, -sp.Rational(1, 2)),
                        (sp.Rational(3, 10), sp.Rational(11, 10), 1)):
            v_direct = sp.N(raw_x.subs({bm: x, ba: y, d: z}), 40)
            Wv = sp.N(Wexp.subs({bm: x, ba: y, d: z}), 40)
            v_formula = sp.N(defect.subs({bm: x, ba: y, Wsym: Wv}), 40)
            err = max(err, float(abs(v_direct - v_formula)))
            vals.append(float(v_direct))
    checks.append(Check("defect formula equals the direct derivative with w^2(delta) explicit (3 points)",
                        passed=err < 1e-30, numeric_max_error=err))
    checks.append(Check("defect nonzero at those points: G is not a Hessian, the flow is not a mirror flow",
                        passed=all(abs(v) > 1e-6 for v in vals)))
    bnorm = sp.Symbol(r"|\beta|", nonnegative=True)  # display name of the norm of (beta_main, beta_aux)
    display = Display(sp.Eq(sp.Function("C")(bm, ba, Wsym), -ba / (Wsym * (Wsym**2 + bnorm**2))),
                      where=(Definition(bnorm, sp.sqrt(bm**2 + ba**2)),))
    return Derivation(
        display=display,
        name="mtl.flow_metric",
        title="MTL gradient flow is not a mirror flow: its metric is not a Hessian",
        statement=sp.Eq(sp.Function("C")(bm, ba, Wsym), defect),
        symbols=(bm, ba, Wsym),
        assumptions=(r"One active branch per coordinate, $w > 0$, $\beta \ne 0$",
                     r"$W = w^2 = (\delta + \sqrt{\delta^2 + 4|\beta|^2})/2$ with the conserved "
                     r"$\delta = w^2 - v_{\mathrm{main}}^2 - v_{\mathrm{aux}}^2$"),
        source="derived here (mirror-flow criterion of [A]: the metric must be a Hessian)",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=(r"The defect at $(\beta_{\mathrm{main}}, \beta_{\mathrm{aux}}, \delta) = (0.7, 0.4, 0)$, "
               r"$(1, -2, -0.5)$ and $(0.3, 1.1, 1)$ is "
               f"${vals[0]:.4g}$, ${vals[1]:.4g}$ and ${vals[2]:.4g}$. "
               r"Since $G = H^{-1}$ is not a Hessian, no potential $\Phi$ satisfies "
               r"$\frac{d}{dt}\nabla\Phi(\beta) = -\nabla L$, and the limit of multi-task gradient flow is not the "
               r"minimiser of a fixed penalty over the interpolators: it depends on the time profiles of the two task "
               r"gradients. When only one task is trained at a time (derivation mtl.sequential_limit), each phase is a "
               r"single-task flow, a mirror flow in the coefficients of the task being trained (the other task's "
               r"coefficient drifts as $w$ moves)."),
        extra={"H": H.subs(Wf(r_b), Wsym), "w2_of_delta": Wexp},
    )


# --------------------------------------------------------------------------------------------------
# mtl.sequential_limit
# --------------------------------------------------------------------------------------------------
@register("mtl.sequential_limit",
          title="Sequential limit of MTL: the main-task bias when the auxiliary task is fitted first")
def sequential_limit() -> Derivation:
    """R_seq(beta; beta_aux, alpha) = Q(beta; beta0, M): exact main-task bias when the auxiliary task is fitted first.

    In words: all weights start at alpha (two branches, [LL]); phase 1 trains the auxiliary task alone
    (g_main = 0) to beta_aux; phase 2 trains the main task alone (g_aux = 0, auxiliary readouts frozen).
    Phase 2 is a single-task two-branch flow from a known start, so the main coefficients converge to
    argmin sum_i Q(beta_i; beta0_i, M_i) s.t. X beta = y with sqrt k = sqrt(beta_aux^2 + 16 alpha^4),
    M = sqrt(beta_aux^2 + 4 alpha^4) + 2 alpha^2,
    beta0 = sign(beta_aux) alpha sqrt(sqrt(beta_aux^2 + 4 alpha^4) - 2 alpha^2).
    Source: derived here (uses ``ptft.general_start_flow`` / ``ptft.exact_penalty``).
    Assumptions: exactly sequential phases; gradient flow; each phase converges.
    """
    from ptft.theory import ptft

    s = _s()
    al = s.alpha
    steps = []
    # phase 1: auxiliary task only; branch flows in S = S_aux; main readouts do not move (g_main = 0)
    wp, vpa = ptft._branch_solution(+1, al, al)
    wm, vma = ptft._branch_solution(-1, al, al)
    # display names
    M_s, k_s, b0_s = sp.Symbol("M", positive=True), sp.Symbol("k", positive=True), sp.Symbol("beta_0", real=True)
    R_seq, q_f, z = sp.Function("R_seq"), sp.Function("q"), sp.Symbol("z", real=True)
    steps += [Step(r"Phase 1 trains only the auxiliary task; in its time $S$ the positive branch has "
                   r"$w_+ = v_{+,\mathrm{aux}}$", sp.Eq(sp.Function("w_plus")(s.S), wp)),
              Step(r"The negative branch has $w_- = v_{-,\mathrm{aux}}$", sp.Eq(sp.Function("w_minus")(s.S), wm))]
    b_aux_S = sp.simplify(wp * vpa - wm * vma)
    steps.append(Step(r"The auxiliary coefficient "
                      r"$\beta_{\mathrm{aux}} = w_+ v_{+,\mathrm{aux}} - w_- v_{-,\mathrm{aux}}$",
                      sp.Eq(sp.Function("beta_aux")(s.S), b_aux_S)))
    b_aux_E = b_aux_S.rewrite(sp.exp).subs(sp.exp(2 * s.S), s.E).subs(sp.exp(-2 * s.S), 1 / s.E)
    E_roots = sp.solve(sp.Eq(b_aux_E, s.beta_aux), s.E)
    E_sol = _roots_positive_at(E_roots, [{s.beta_aux: 0.8, al: 0.3}, {s.beta_aux: -1.5, al: 0.1}])[0]
    steps.append(Step(r"Phase 1 ends at the time $S_{\mathrm{aux}}$ at which it reaches $\beta_{\mathrm{aux}}$ "
                      r"(the positive root)", sp.Eq(sp.exp(2 * sp.Symbol("S_aux", real=True)), E_sol)))
    # phase 2 start: w+- at S_aux, main readouts at alpha
    sub_S = {s.S: sp.log(E_sol) / 2}
    wp1, wm1 = sp.simplify(wp.subs(sub_S)), sp.simplify(wm.subs(sub_S))
    M = sp.simplify(wp1**2 + al**2 + wm1**2 + al**2)
    b0 = sp.simplify(wp1 * al - wm1 * al)
    sq = sp.sqrt(s.beta_aux**2 + 4 * al**4)
    M_nice = sq + 2 * al**2
    b0_nice = sp.sign(s.beta_aux) * al * sp.sqrt(sq - 2 * al**2)
    steps += [Step(r"Phase 2 starts with the main readouts still at $\alpha$: the squared norm "
                   r"$M = w_+^2 + v_{+,\mathrm{main}}^2 + w_-^2 + v_{-,\mathrm{main}}^2$ of its start, simplified",
                   sp.Eq(M_s, M_nice)),
              Step(r"The starting coefficient $\beta_0 = (w_+ - w_-) \alpha$, simplified", sp.Eq(b0_s, b0_nice))]
    k = sp.simplify(sp.expand(M**2 - 4 * b0**2))
    steps.append(Step(r"The scale $k = M^2 - 4 \beta_0^2$ of the general-start penalty", sp.Eq(k_s, k)))
    rng = {s.beta_aux: (-3.0, 3.0)}
    checks = [
        check_identity(k, s.beta_aux**2 + 16 * al**4, "k = beta_aux^2 + 16 alpha^4", ranges=rng),
        check_identity(M, M_nice, "M = sqrt(beta_aux^2 + 4 alpha^4) + 2 alpha^2", ranges=rng),
        check_identity(b0, b0_nice, "beta0 = sign(beta_aux) alpha sqrt(sqrt(beta_aux^2 + 4 alpha^4) - 2 alpha^2)",
                       ranges=rng),
    ]
    R = ptft.exact_penalty_k_expr(s.beta, b0_nice, sp.sqrt(s.beta_aux**2 + 16 * al**4))
    sk = sp.sqrt(k_s)
    R_named = sk / 4 * q_f(2 * s.beta / sk) - s.beta / 2 * sp.asinh(2 * b0_s / sk)
    steps.append(Step(r"Phase 2 is the general-start flow (derivation ptft.exact_penalty): the main-task penalty is "
                      r"$Q(\beta; \beta_0, \sqrt k)$, with $q$ of derivation diagonal.q",
                      sp.Eq(R_seq(s.beta, s.beta_aux, al), R_named)))
    # alpha -> 0: q_{|beta_aux|}; compare with the MTL conditional penalty and with PT+FT at c = 1, gamma = alpha
    R0 = sp.limit(R.subs({s.beta_aux: s.a}), al, 0, "+")
    steps.append(Step(r"As $\alpha \to 0$, with $a = \beta_{\mathrm{aux}} > 0$",
                      sp.Eq(sp.Limit(R_seq(s.beta, s.a, al), al, 0, "+"), R0)))
    qa = ptft.q_k(s.beta, s.a)
    checks.append(check_identity(R0, qa, "alpha -> 0: R_seq -> q_k(beta) with sqrt k = |beta_aux|, beta0 = 0"))
    small = sp.series(qa.subs(s.beta, s.bp), s.bp, 0, 3).removeO()
    checks.append(check_identity(small, s.bp**2 / (2 * s.a),
                                 "small beta: beta^2/(2|beta_aux|), identical to the MTL conditional penalty"))
    Rpt = ptft.rescaled_start_penalty_expr(c=sp.Integer(1), gamma=al)
    steps.append(Step(r"For comparison, the exact PT+FT penalty with $c = 1$ and $\gamma = \alpha$ "
                      r"(derivation ptft.rescaled_start)",
                      sp.Eq(sp.Function("R_exact")(s.beta, s.beta_aux, 1, al), Rpt)))
    import mpmath
    fR = sp.lambdify((s.beta, s.beta_aux, al), R, "mpmath")
    fP = sp.lambdify((s.beta, s.beta_aux, al), Rpt, "mpmath")
    fM = sp.lambdify((s.beta, s.beta_aux), mtl_conditional_penalty_expr().subs(
        dict(zip(conditional_penalty().symbols, (s.beta, s.beta_aux)))), "mpmath")
    rows = []
    with mpmath.workdps(30):
        for b, ba, a_ in ((0.1, 1, 0.01), (1, 1, 0.01), (10, 1, 0.01), (1, 0.01, 0.01), (1, 0, 0.01), (1, 1, 0.3)):
            rows.append((b, ba, a_, float(mpmath.re(fR(b, ba, a_))), float(mpmath.re(fP(b, ba, a_))),
                         float(mpmath.re(fM(b, ba)))))
    table = "; ".join(f"at $(\\beta, \\beta_{{\\mathrm{{aux}}}}, \\alpha) = ({b}, {ba}, {a_})$: "
                      f"$R_{{\\mathrm{{seq}}}} = {r:.5g}$, "
                      f"$R_{{\\mathrm{{exact}}}}(c = 1, \\gamma = \\alpha) = {p:.5g}$, "
                      f"$R_{{\\mathrm{{MTL}}}} = {m:.5g}$" for b, ba, a_, r, p, m in rows)
    display = Display(
        sp.Eq(R_seq(s.beta, s.beta_aux, al), R_named),
        where=(Definition(q_f(z), z * sp.asinh(z) - sp.sqrt(1 + z**2) + 1),
               Definition(k_s, M_s**2 - 4 * b0_s**2),
               Definition(M_s, M_nice, "the squared norm of the main-task weights at the start of phase 2"),
               Definition(b0_s, b0_nice, "the main-task coefficient at the start of phase 2")),
    )
    return Derivation(
        display=display,
        name="mtl.sequential_limit",
        title="Sequential limit of MTL: the main-task bias when the auxiliary task is fitted first",
        statement=sp.Eq(R_seq(s.beta, s.beta_aux, al), R),
        symbols=(s.beta, s.beta_aux, al),
        assumptions=(
            r"Two-branch model of [LL]; all weights ($w_\pm$, $v_{\pm,\mathrm{main}}$, $v_{\pm,\mathrm{aux}}$) start "
            r"at $\alpha > 0$",
            r"Phase 1: only the auxiliary loss is trained ($g_{\mathrm{main}} = 0$), and it converges to "
            r"$\beta_{\mathrm{aux}}$",
            r"Phase 2: only the main loss is trained ($g_{\mathrm{aux}} = 0$, the auxiliary readouts frozen). This is "
            r"exact for sequential training, not for joint MTL, where moving $w$ changes "
            r"$\beta_{\mathrm{aux}} = w v_{\mathrm{aux}}$ and re-activates $g_{\mathrm{aux}}$",
        ),
        source="derived here from ptft.general_start_flow and ptft.exact_penalty; model of [LL]",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=(r"The sequential limit is not the $\ell_{1,2}$ (group-lasso) penalty: it is the PT+FT penalty of a "
               r"start with $\sqrt{k} = \sqrt{\beta_{\mathrm{aux}}^2 + 16\alpha^4}$, i.e. PT+FT with $c = 1$ and "
               r"readout $\gamma = \alpha$ up to terms of order $\alpha^4$ (the hand-off idealisation of [LL] gives "
               r"$\sqrt{k} = \sqrt{\beta_{\mathrm{aux}}^2 + 4\alpha^4}$, $M = |\beta_{\mathrm{aux}}| + 2\alpha^2$, "
               r"$\beta_0 = \alpha\sqrt{|\beta_{\mathrm{aux}}|}$). For small $\beta$ it matches MTL, "
               r"$\beta^2/(2|\beta_{\mathrm{aux}}|)$; for large $\beta$ it is "
               r"$(|\beta|/2)(\ln(4|\beta|/|\beta_{\mathrm{aux}}|) - 1)$, a log-weighted $\ell_1$ penalty whose "
               r"slope is lower than that of a new feature by $\frac{1}{2}\ln(|\beta_{\mathrm{aux}}|/(4\alpha^2))$, "
               r"instead of the $|\beta| - |\beta_{\mathrm{aux}}|$ of MTL (slope 1 for every feature). "
               r"Values (mpmath): "
               + table + "."),
        extra={"M": M_nice, "beta0": b0_nice, "sqrt_k": sp.sqrt(s.beta_aux**2 + 16 * al**4), "comparison": rows},
    )


def sequential_penalty_expr() -> sp.Expr:
    """R_seq(beta; beta_aux, alpha) of ``mtl.sequential_limit``."""
    return sequential_limit().expr
