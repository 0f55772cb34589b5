"""The reuse-sparsity conservation law: l-order + feature dependence = 1 for degree-1 homogeneous penalties.

Definitions ([LL], [DL]) for a penalty R(beta; beta_aux, ...) of the main-task
coefficient beta given the pretrained / auxiliary coefficient beta_aux:

* l-order            O  = d log R / d log|beta|     = beta R_beta / R      (1: l1-like, sparse; 2: l2-like, lazy)
* feature dependence FD = d log R / d log|beta_aux| = beta_aux R_beta_aux / R  (0: none; negative: reuse)

If R(t beta, t beta_aux) = t R(beta, beta_aux) (degree-1 homogeneous), Euler's theorem gives
beta R_beta + beta_aux R_beta_aux = R, i.e. O + FD = 1. This holds for the MTL penalty and for the
PT+FT penalties (plotted and exact) at gamma = 0; with gamma > 0 the PT+FT penalties are homogeneous
under (beta, beta_aux, gamma) -> (t beta, t beta_aux, sqrt(t) gamma), so O + FD + (1/2) d log R/d log gamma = 1.

Registered: ``conservation.mtl``, ``conservation.ptft_plotted_gamma0``, ``conservation.ptft_exact_gamma0``,
``conservation.ptft_gamma`` (plotted), ``conservation.ptft_exact_gamma`` (exact),
``conservation.mtl_reference_values``.

Sources: [LL] Lippl & Lindsey, arXiv:2310.02396; [DL] Anguita et al., arXiv:2602.20062.
Symbols here are positive (beta, beta_aux > 0; the penalties are even under the joint sign flip), so
|.| is the symbol itself. Importing this module does no SymPy work.
"""
from __future__ import annotations

import functools
from types import SimpleNamespace

import sympy as sp

from ptft.theory.derivation import Check, Definition, Derivation, Display, Step, check_identity, register

__all__ = ["l_order", "pretraining_dependence", "gamma_dependence", "positive_symbols"]

_SOURCES = "Lippl & Lindsey, arXiv:2310.02396 [LL]; Anguita et al., arXiv:2602.20062 [DL]; derived here"


@functools.lru_cache(maxsize=None)
def _s() -> SimpleNamespace:
    return SimpleNamespace(
        beta=sp.Symbol("beta", positive=True),
        beta_aux=sp.Symbol("beta_aux", positive=True),
        gamma=sp.Symbol("gamma", positive=True),
        c=sp.Symbol("c", positive=True),
        t=sp.Symbol("t", positive=True),
    )


def positive_symbols() -> tuple[sp.Symbol, sp.Symbol, sp.Symbol, sp.Symbol]:
    """(beta, beta_aux, gamma, c) as positive SymPy symbols (the ones the builders here use)."""
    s = _s()
    return s.beta, s.beta_aux, s.gamma, s.c


def l_order(R: sp.Expr, beta: sp.Symbol) -> sp.Expr:
    """O = d log R / d log|beta| = beta R_beta / R (beta a positive symbol). 1: l1-like; 2: l2-like."""
    return beta * sp.diff(R, beta) / R


def pretraining_dependence(R: sp.Expr, beta_aux: sp.Symbol) -> sp.Expr:
    """FD = d log R / d log|beta_aux| = beta_aux R_beta_aux / R. 0: no dependence; negative: reuse."""
    return beta_aux * sp.diff(R, beta_aux) / R


def gamma_dependence(R: sp.Expr, gamma: sp.Symbol) -> sp.Expr:
    """d log R / d log gamma = gamma R_gamma / R (dependence on the finetuning readout scale)."""
    return gamma * sp.diff(R, gamma) / R


def _to_positive(expr: sp.Expr, symbols, names=("beta", "beta_aux", "gamma", "c")) -> sp.Expr:
    """Replace the (real / nonnegative) symbols of another module by this module's positive ones, by name."""
    s = _s()
    pos = {"beta": s.beta, "beta_aux": s.beta_aux, "gamma": s.gamma, "c": s.c}
    rep = {sym: pos[sym.name] for sym in symbols if sym.name in pos and sym.name in names}
    return expr.subs(rep, simultaneous=True)


def _n() -> SimpleNamespace:
    """The named quantities of the display forms (printed O, FD, R_beta, ...), with their printed names."""
    from ptft.theory.latex import SYMBOL_TEX

    from ptft.theory.latex import SYMBOL_MEANING

    # names chosen so that SymPy's term order prints "O + FD", "beta R_beta" (it sorts by name)
    printed = {"fd": r"\mathrm{FD}", "gd": r"\mathrm{GD}"}
    for f, v in (("R", "beta"), ("R", "beta_aux"), ("R", "gamma"), ("R", "k"), ("R", "beta_0"), ("f", "beta"),
                 ("f", "beta_aux"), ("f", "gamma")):
        printed[f"partial_{f}_{v}"] = r"%s_{%s}" % (f, {"beta": r"\beta", "beta_aux": r"\beta_{\mathrm{aux}}",
                                                        "gamma": r"\gamma", "k": "k", "beta_0": r"\beta_0"}[v])
    for name, tex_ in printed.items():
        SYMBOL_TEX.setdefault(name, tex_)
    for name, meaning in (("O", "l-order of a penalty, $\\partial \\log R/\\partial \\log|\\beta|$ (1: sparse, 2: lazy)"),
                          ("fd", "feature dependence, $\\partial \\log R/\\partial \\log|\\beta_{\\mathrm{aux}}|$"),
                          ("gd", "dependence on the readout scale, $\\partial \\log R/\\partial \\log \\gamma$")):
        SYMBOL_MEANING.setdefault(name, meaning)
    return SimpleNamespace(
        O=sp.Symbol("O"), FD=sp.Symbol("fd"), GD=sp.Symbol("gd"), R=sp.Symbol("R"),
        Rb=sp.Symbol("partial_R_beta"), Ra=sp.Symbol("partial_R_beta_aux"), Rg=sp.Symbol("partial_R_gamma"),
        Rk=sp.Symbol("partial_R_k"), Rb0=sp.Symbol("partial_R_beta_0"),
        K=sp.Symbol("K", positive=True), k=sp.Symbol("k", positive=True), M=sp.Symbol("M", positive=True),
        beta0=sp.Symbol("beta_0", positive=True), z=sp.Symbol("z", real=True),
    )


def _euler_step(with_gamma: bool) -> Step:
    """Euler's theorem for a generic function f: d/dt f(t beta, t beta_aux[, sqrt(t) gamma]) at t = 1."""
    s = _s()
    f = sp.Function("f")
    args, plain = (s.beta, s.beta_aux, s.gamma), ("beta", "beta_aux", "gamma")
    scaled = (s.t * s.beta, s.t * s.beta_aux, sp.sqrt(s.t) * s.gamma)
    n = 3 if with_gamma else 2
    lhs = sp.diff(f(*scaled[:n]), s.t).subs(s.t, 1).doit()
    # printed with subscripts: f_beta for the partial derivative in beta, ...
    lhs = lhs.xreplace({sp.Derivative(f(*args[:n]), a): sp.Symbol(f"partial_f_{p}") for a, p in zip(args[:n], plain)})
    lhs = lhs.xreplace({f(*args[:n]): sp.Symbol("f")})
    if with_gamma:
        text = ("Euler's theorem: if $f(t\\beta, t\\beta_{\\mathrm{aux}}, \\sqrt{t}\\gamma) = t f$ for all $t > 0$, "
                "differentiating in $t$ at $t = 1$ gives")
    else:
        text = ("Euler's theorem: if $f(t\\beta, t\\beta_{\\mathrm{aux}}) = t f$ for all $t > 0$, differentiating in "
                "$t$ at $t = 1$ gives")
    return Step(text, sp.Eq(lhs, sp.Symbol("f")))


def _homogeneity_check(R: sp.Expr, scaling: dict, description: str, ranges=None) -> tuple[Step, Check]:
    s = _s()
    scaled = R.subs(scaling, simultaneous=True)
    ratio = sp.simplify(scaled / s.t)
    args = tuple(a for a in (s.beta, s.beta_aux, s.gamma) if a in scaling)
    Rf = sp.Function("R")
    shown = sp.Eq(Rf(*(scaling[a] for a in args)) / s.t, Rf(*args))
    return (Step("The penalty is homogeneous of degree one: simplifying the scaled penalty divided by $t$ gives back "
                 "the penalty", shown),
            check_identity(ratio, R, description, ranges=ranges))


def _conservation_build(name: str, title: str, R: sp.Expr, *, with_gamma: bool, source: str, notes: str,
                        R_text: str, R_form: sp.Expr, named: tuple = (), partials: dict, chain: tuple = (),
                        extra_steps=(), extra_checks=(), assumptions=(), ranges=None) -> Derivation:
    """The conservation law for the penalty ``R`` (positive symbols), derived, with its display form.

    ``R_form`` is ``R`` written in the named quantities ``named`` (definitions, e.g. ``K = beta_aux + gamma^2``);
    ``partials`` maps ``R_beta``, ``R_beta_aux`` (and ``R_gamma``) to their forms in those names (and in the
    auxiliary partial derivatives ``chain``, definitions such as ``R_k``), each checked against ``diff(R, .)``.
    """
    s, n = _s(), _n()
    steps = list(extra_steps) + [Step(R_text, sp.Eq(n.R, R_form))]
    if with_gamma:
        scaling = {s.beta: s.t * s.beta, s.beta_aux: s.t * s.beta_aux, s.gamma: sp.sqrt(s.t) * s.gamma}
        desc = "R(t beta, t beta_aux, sqrt(t) gamma) = t R (homogeneous of degree 1)"
    else:
        scaling = {s.beta: s.t * s.beta, s.beta_aux: s.t * s.beta_aux}
        desc = "R(t beta, t beta_aux) = t R (homogeneous of degree 1)"
    st, ch = _homogeneity_check(R, scaling, desc, ranges=ranges)
    steps += [_euler_step(with_gamma), st]
    checks = list(extra_checks) + [ch]
    O = l_order(R, s.beta)
    FD = pretraining_dependence(R, s.beta_aux)
    total = O + FD
    if with_gamma:
        GD = gamma_dependence(R, s.gamma)
        total = total + GD / 2
        law = "O + FD + (1/2) d log R / d log gamma = 1"
    else:
        GD = None
        law = "O + FD = 1"
    checks.append(check_identity(total, sp.Integer(1), law, ranges=ranges))
    # the partial derivatives in the named quantities, checked against the derived ones
    defs_after = tuple(chain) + (Definition(n.R, R_form),) + tuple(named)
    variables = {n.Rb: s.beta, n.Ra: s.beta_aux, n.Rg: s.gamma}
    for sym, form in partials.items():
        if form.has(*(d.lhs for d in chain)):
            continue  # a chain-rule form: the builder checks its factors (faster than the whole derivative)
        explicit = Display(form, where=defs_after).expanded()
        checks.append(check_identity(explicit, sp.diff(R, variables[sym]),
                                     f"R_{variables[sym].name} = dR/d{variables[sym].name} (printed form)",
                                     ranges=ranges))
    if chain:
        steps.append(Step("Through $k$ and $\\beta_0$ the penalty depends on $\\beta_{\\mathrm{aux}}$ and $\\gamma$ by the "
                          "chain rule, with the partial derivatives at fixed $\\beta$",
                          sp.Tuple(*(sp.Eq(d.lhs, d.rhs) for d in chain))))
    steps.append(Step("The partial derivatives of the penalty",
                      sp.Tuple(*(sp.Eq(sym, form) for sym, form in partials.items()))))
    ratios = [sp.Eq(n.O, s.beta * n.Rb / n.R), sp.Eq(n.FD, s.beta_aux * n.Ra / n.R)]
    if with_gamma:
        ratios.append(sp.Eq(n.GD, s.gamma * n.Rg / n.R))
    words = ("the l-order $O = \\partial \\log R/\\partial \\log \\beta$"
             + (", the feature dependence" if with_gamma else " and the feature dependence")
             + " $\\mathrm{FD} = \\partial \\log R/\\partial \\log \\beta_{\\mathrm{aux}}$"
             + (" and the $\\gamma$-dependence $\\mathrm{GD} = \\partial \\log R/\\partial \\log \\gamma$" if with_gamma
                else ""))
    steps.append(Step("Hence " + words, sp.Tuple(*(sp.Eq(e.lhs, e.rhs.xreplace(partials)) for e in ratios))))
    law_lhs = n.O + n.FD + (n.GD / 2 if with_gamma else 0)
    steps.append(Step("By Euler's identity with $f = R$ they add up to one (checked symbolically)",
                      sp.Eq(law_lhs, sp.Integer(1))))
    display = Display(sp.Eq(law_lhs, sp.Integer(1)),
                      where=tuple(Definition(e.lhs, e.rhs) for e in ratios)
                      + tuple(Definition(sym, form) for sym, form in partials.items()) + defs_after)
    syms = (s.beta, s.beta_aux) + ((s.gamma,) if with_gamma else ())
    if R.has(s.c):
        syms = syms + (s.c,)
    return Derivation(
        display=display,
        name=name,
        title=title,
        statement=sp.Eq(total, sp.Integer(1), evaluate=False),
        symbols=syms,
        assumptions=("$\\beta > 0$ and $\\beta_{\\mathrm{aux}} > 0$ stand for the absolute values of the signed "
                     "coefficients (the penalties are even under the joint sign flip)"
                     + (", and $\\gamma > 0$" if with_gamma else ""),) + tuple(assumptions),
        source=source,
        steps=tuple(steps),
        checks=tuple(checks),
        notes=notes,
        extra={"R": R, "O": O, "FD": FD, "GD": GD},
    )


@register("conservation.mtl", title="Reuse-sparsity conservation law for the MTL penalty: O + FD = 1")
def conservation_mtl() -> Derivation:
    """O + FD = 1 for the MTL penalty R = sqrt(beta^2 + beta_aux^2) - beta_aux (degree-1 homogeneous; Euler).

    Source: [LL] (reuse-sparsity trade-off); derived here.
    Assumptions: beta, beta_aux > 0 (the MTL conditional penalty of ``mtl.conditional_penalty``).
    """
    from ptft.theory import mtl

    s, n = _s(), _n()
    d = mtl.conditional_penalty()
    R = _to_positive(d.expr, d.symbols)
    r = sp.sqrt(s.beta**2 + s.beta_aux**2)
    return _conservation_build(
        "conservation.mtl", "Reuse-sparsity conservation law for the MTL penalty: O + FD = 1", R,
        with_gamma=False, source=_SOURCES,
        R_text="The conditional MTL penalty (derivation mtl.conditional_penalty)", R_form=r - s.beta_aux,
        partials={n.Rb: s.beta / r, n.Ra: s.beta_aux / r - 1},
        notes=("Agrees with the reuse-sparsity trade-off of [LL]. The l-order runs from 1 "
               "($\\beta \\gg \\beta_{\\mathrm{aux}}$, sparse) to 2 ($\\beta \\ll \\beta_{\\mathrm{aux}}$, lazy)."))


@register("conservation.ptft_plotted_gamma0", title="Conservation law for the plotted PT+FT penalty at gamma = 0")
def conservation_ptft_plotted_gamma0() -> Derivation:
    """O + FD = 1 for the plotted PT+FT penalty beta_aux q_W(2 beta/beta_aux) (gamma = 0).

    Source: [LL]; derived here from ``ptft.plotted_penalty``.
    """
    from ptft.theory import ptft

    s, n = _s(), _n()
    d = ptft.plotted_penalty()
    R = _to_positive(d.expr, d.symbols).subs(_s().gamma, 0)
    qW = ptft._qW_definition()
    return _conservation_build(
        "conservation.ptft_plotted_gamma0", "Conservation law for the plotted PT+FT penalty at gamma = 0", R,
        with_gamma=False, source=_SOURCES,
        R_text="The penalty plotted in [LL] (derivation ptft.plotted_penalty) at $\\gamma = 0$, where "
               "$K = \\beta_{\\mathrm{aux}}$",
        R_form=s.beta_aux * qW.lhs.func(2 * s.beta / s.beta_aux), named=(qW,),
        partials={n.Rb: 2 * sp.asinh(s.beta / s.beta_aux),
                  n.Ra: 2 - 2 * sp.sqrt(1 + s.beta**2 / s.beta_aux**2)},
        notes="Agrees with the conservation law of [LL] for the plotted penalty.")


@register("conservation.ptft_exact_gamma0", title="Conservation law for the exact PT+FT penalty at gamma = 0")
def conservation_ptft_exact_gamma0() -> Derivation:
    """O + FD = 1 for the exact PT+FT penalty at gamma = 0 (beta0 = 0, sqrt k = c^2 beta_aux).

    The homogeneity is derived, not assumed: at gamma = 0 the start has beta0 = 0 (the linear term
    vanishes) and sqrt k = c^2 |beta_aux|, so R = q_{c^4 beta_aux^2}(beta) and R(t beta, t beta_aux) = t R.
    Source: [LL], [DL]; derived here from ``ptft.rescaled_start``.
    """
    from ptft.theory import ptft

    s = _s()
    d = ptft.rescaled_start()
    R = sp.simplify(_to_positive(d.expr, d.symbols).subs(s.gamma, 0))
    b0 = _to_positive(d.extra["beta0"], d.symbols).subs(s.gamma, 0)
    sk = _to_positive(d.extra["sqrt_k"], d.symbols).subs(s.gamma, 0)
    n = _n()
    extra_steps = [Step("At $\\gamma = 0$ the [LL] hand-off (derivation ptft.rescaled_start) starts at",
                        sp.Tuple(sp.Eq(n.beta0, b0, evaluate=False), sp.Eq(sp.sqrt(n.k), sk)))]
    qk = ptft._qk_definition()
    rk = sp.sqrt(n.k)
    extra_checks = [check_identity(b0, sp.Integer(0), "gamma = 0: beta0 = 0 (no linear term)"),
                    check_identity(sk, s.c**2 * s.beta_aux, "gamma = 0: sqrt k = c^2 beta_aux"),
                    check_identity(R, ptft.q_k(s.beta, s.c**2 * s.beta_aux),
                                   "gamma = 0: R = q_k(beta), sqrt k = c^2 beta_aux")]
    return _conservation_build(
        "conservation.ptft_exact_gamma0", "Conservation law for the exact PT+FT penalty at gamma = 0", R,
        with_gamma=False, source=_SOURCES, extra_steps=extra_steps, extra_checks=extra_checks,
        R_text="The linear term of the penalty then vanishes, and it is the even potential",
        R_form=qk.lhs.func(s.beta), named=(qk, Definition(n.k, s.c**4 * s.beta_aux**2)),
        partials={n.Rb: sp.asinh(2 * s.beta / rk) / 2,
                  n.Ra: rk / (4 * s.beta_aux) * (1 - sp.sqrt(1 + 4 * s.beta**2 / n.k))},
        notes=("The penalty is homogeneous of degree one in $(\\beta, \\beta_{\\mathrm{aux}})$ at any fixed $c$ "
               "(derived, not assumed), so $O + \\mathrm{FD} = 1$. Since it depends on $c$ only through "
               "$c^2\\beta_{\\mathrm{aux}}$, also $\\partial \\log R/\\partial \\log c = 2\\,\\mathrm{FD}$."))


@register("conservation.ptft_gamma", title="Conservation law with gamma > 0 for the plotted PT+FT penalty")
def conservation_ptft_gamma() -> Derivation:
    """O + FD + (1/2) d log R/d log gamma = 1 for the plotted PT+FT penalty K q_W(2 beta/K), K = beta_aux + gamma^2.

    Source: [LL], [DL]; derived here (homogeneity under (t beta, t beta_aux, sqrt(t) gamma)).
    """
    from ptft.theory import ptft

    s, n = _s(), _n()
    d = ptft.plotted_penalty()
    R = _to_positive(d.expr, d.symbols)
    qW = ptft._qW_definition()
    root = sp.sqrt(1 + s.beta**2 / n.K**2)
    return _conservation_build(
        "conservation.ptft_gamma", "Conservation law with gamma > 0 for the plotted PT+FT penalty", R,
        with_gamma=True, source=_SOURCES,
        R_text="The penalty plotted in [LL] (derivation ptft.plotted_penalty)",
        R_form=n.K * qW.lhs.func(2 * s.beta / n.K), named=(qW, Definition(n.K, s.beta_aux + s.gamma**2)),
        partials={n.Rb: 2 * sp.asinh(s.beta / n.K), n.Ra: 2 - 2 * root, n.Rg: 4 * s.gamma * (1 - root)},
        notes=("The same law holds for the exact penalty (derivation conservation.ptft_exact_gamma). Since the "
               "penalty depends on $\\beta_{\\mathrm{aux}}$ and $\\gamma$ only through $K$, "
               "$\\mathrm{GD} = 2\\gamma^2\\,\\mathrm{FD}/\\beta_{\\mathrm{aux}}$."))


@register("conservation.ptft_exact_gamma", title="Conservation law with gamma > 0 for the exact PT+FT penalty")
def conservation_ptft_exact_gamma() -> Derivation:
    """O + FD + (1/2) d log R/d log gamma = 1 for the exact PT+FT penalty (any c > 0, gamma > 0).

    Source: [LL], [DL]; derived here: under (t beta, t beta_aux, sqrt(t) gamma), M, beta0 and
    sqrt k all scale by t, so R scales by t.
    """
    from ptft.theory import ptft

    s = _s()
    d = ptft.rescaled_start()
    R = _to_positive(d.expr, d.symbols)
    scaling = {s.beta_aux: s.t * s.beta_aux, s.gamma: sp.sqrt(s.t) * s.gamma}
    n = _n()
    extra_checks = []
    start = {}
    for key in ("M", "beta0", "sqrt_k"):
        e = _to_positive(d.extra[key], d.symbols)
        start[key] = e
        extra_checks.append(check_identity(sp.simplify(e.subs(scaling, simultaneous=True) / s.t), e,
                                           f"{key} scales by t under (t beta_aux, sqrt(t) gamma)"))
    extra_steps = [Step("The [LL] hand-off (derivation ptft.rescaled_start) starts finetuning at the following "
                        "$M$, $\\beta_0$ and $\\sqrt{k}$; each scales by $t$ under $(\\beta_{\\mathrm{aux}}, \\gamma) "
                        "\\to (t\\beta_{\\mathrm{aux}}, \\sqrt{t}\\gamma)$",
                        sp.Tuple(sp.Eq(n.M, start["M"]), sp.Eq(n.beta0, start["beta0"]),
                                 sp.Eq(sp.sqrt(n.k), start["sqrt_k"])))]
    qk = ptft._qk_definition()
    rk = sp.sqrt(n.k)
    R_form = qk.lhs.func(s.beta) - s.beta / 2 * sp.asinh(2 * n.beta0 / rk)
    named = (qk, Definition(n.k, n.M**2 - 4 * n.beta0**2), Definition(n.M, start["M"]),
             Definition(n.beta0, start["beta0"]))
    chain = (Definition(n.Rk, (rk - sp.sqrt(n.k + 4 * s.beta**2) + 4 * s.beta * n.beta0 / n.M) / (8 * n.k),
                        "$= \\partial R/\\partial k$ at fixed $\\beta$, $\\beta_0$"),
             Definition(n.Rb0, -s.beta / n.M, "$= \\partial R/\\partial \\beta_0$ at fixed $\\beta$, $k$"))
    partials = {n.Rb: (sp.asinh(2 * s.beta / rk) - sp.asinh(2 * n.beta0 / rk)) / 2,
                n.Ra: 2 * s.c**4 * s.beta_aux * n.Rk + n.beta0 * n.Rb0 / (2 * s.beta_aux),
                n.Rg: 16 * s.gamma**3 * n.Rk + n.beta0 * n.Rb0 / s.gamma}
    # the chain rule, factor by factor: R = Q(beta; beta0, k) of ptft.exact_penalty, then k and beta0 of the start
    Q = ptft.exact_penalty_k_expr(s.beta, n.beta0, rk)
    M_of = {n.M: sp.sqrt(n.k + 4 * n.beta0**2)}
    for d_, var in zip(chain, (n.k, n.beta0)):
        extra_checks.append(check_identity(d_.rhs.subs(M_of), sp.diff(Q, var),
                                           f"{d_.lhs.name.replace('partial_', '')} = dQ/d{var.name} (ptft.exact_penalty)"))
    k_of, b0_of = sp.expand((start["M"]) ** 2 - 4 * start["beta0"] ** 2), start["beta0"]
    for var, dk, db0 in ((s.beta_aux, 2 * s.c**4 * s.beta_aux, n.beta0 / (2 * s.beta_aux)),
                         (s.gamma, 16 * s.gamma**3, n.beta0 / s.gamma)):
        extra_checks.append(check_identity(sp.diff(k_of, var), dk, f"dk/d{var.name} (chain rule for R_{var.name})"))
        extra_checks.append(check_identity(sp.diff(b0_of, var), db0.subs(n.beta0, b0_of),
                                           f"dbeta_0/d{var.name} (chain rule for R_{var.name})"))
    return _conservation_build(
        "conservation.ptft_exact_gamma", "Conservation law with gamma > 0 for the exact PT+FT penalty", R,
        with_gamma=True, source=_SOURCES, extra_steps=extra_steps, extra_checks=extra_checks,
        R_text="The exact penalty (derivation ptft.exact_penalty) at this start", R_form=R_form, named=named,
        partials=partials, chain=chain,
        ranges={s.beta: (1.0, 4.0), s.gamma: (0.1, 0.5)},
        notes=("The identity holds wherever $R \\ne 0$. The exact penalty is negative between 0 and about "
               "$2\\beta_0$ (its minimum $(\\sqrt{k} - M)/4$ is negative when $\\gamma > 0$); there $\\log R$, and "
               "with it $O$ and FD, is undefined. The l-order and feature dependence of the exact penalty should "
               "therefore be read for $|\\beta|$ beyond that region, or computed from the Bregman form "
               "$R - R(\\beta_0)$, which is homogeneous of degree one in the same scaling and obeys the same law."))


@register("conservation.mtl_reference_values",
          title="Reference values of the l-order: MTL against PT+FT")
def mtl_reference_values() -> Derivation:
    """O_MTL(beta = 1, beta_aux) and the PT+FT (gamma = 0) l-orders at beta_aux in {0.01, 1, 100}.

    Statement: the MTL l-order at beta = 1 as a function of beta_aux, O = 1/(sqrt(1+b^2)(sqrt(1+b^2) - b)).
    The numbers (mpmath) for MTL, the plotted PT+FT penalty and the exact one (c = 1), all at gamma = 0,
    are in ``extra['values']`` and in the notes, compared with the published values.
    """
    import mpmath

    s = _s()
    dm = conservation_mtl()
    dp = conservation_ptft_plotted_gamma0()
    de = conservation_ptft_exact_gamma0()
    O_m = sp.simplify(dm.extra["O"].subs(s.beta, 1))
    O_p = dp.extra["O"].subs(s.beta, 1)
    O_e = de.extra["O"].subs({s.beta: 1, s.c: 1})
    checks = [check_identity(O_m, 1 / (sp.sqrt(1 + s.beta_aux**2) * (sp.sqrt(1 + s.beta_aux**2) - s.beta_aux)),
                             "O_MTL(1, b) = 1/(sqrt(1+b^2)(sqrt(1+b^2) - b))"),
              check_identity(O_e, O_p.subs(s.beta_aux, s.beta_aux / 2),
                             "O_exact(1, b) = O_plotted(1, b/2) (the plotted penalty doubles beta_aux)")]
    reference = {"mtl": (1.01, 1.71, 2.00), "ptft_plotted": (1.23, 1.89, 2.00)}
    values = {}
    with mpmath.workdps(30):
        for key, expr in (("mtl", O_m), ("ptft_plotted", O_p), ("ptft_exact_c1", O_e)):
            f = sp.lambdify(s.beta_aux, expr, "mpmath")
            values[key] = tuple(float(f(mpmath.mpf(b))) for b in ("0.01", "1", "100"))
    agree = all(abs(round(v, 2) - r) < 1e-9 for key in reference for v, r in zip(values[key], reference[key]))
    checks.append(Check("reference values reproduced to 2 decimals (MTL 1.01/1.71/2.00, "
                        "PT+FT plotted 1.23/1.89/2.00)", passed=agree))
    fmt = lambda t: ", ".join(f"{v:.4f}" for v in t)  # noqa: E731
    b = s.beta_aux
    forms = {"O_MTL": 1 + b / sp.sqrt(1 + b**2),
             "O_plotted": sp.asinh(1 / b) / (sp.asinh(1 / b) + b - sp.sqrt(1 + b**2)),
             "O_exact": 2 * sp.asinh(2 / b) / (2 * sp.asinh(2 / b) + b - sp.sqrt(4 + b**2))}
    for (key, form), derived in zip(forms.items(), (O_m, O_p, O_e)):
        check_identity(form, derived, f"printed form of {key}")
    Of = {key: sp.Function(key)(b) for key in forms}
    return Derivation(
        name="conservation.mtl_reference_values",
        title="Reference values of the l-order: MTL against PT+FT",
        statement=sp.Eq(sp.Function("O_MTL")(s.beta_aux), O_m),
        display=Display(sp.Eq(Of["O_MTL"], forms["O_MTL"])),
        symbols=(s.beta_aux,),
        assumptions=("$\\beta = 1$; $\\gamma = 0$ for PT+FT; $c = 1$ for the exact PT+FT penalty",),
        source=_SOURCES,
        steps=(Step("The l-order of the MTL penalty at $\\beta = 1$ (derivation conservation.mtl)",
                    sp.Eq(Of["O_MTL"], forms["O_MTL"])),
               Step("The l-order of the penalty plotted in [LL] at $\\beta = 1$, $\\gamma = 0$ "
                    "(derivation conservation.ptft_plotted_gamma0)", sp.Eq(Of["O_plotted"], forms["O_plotted"])),
               Step("The l-order of the exact PT+FT penalty at $\\beta = 1$, $\\gamma = 0$, $c = 1$ "
                    "(derivation conservation.ptft_exact_gamma0)", sp.Eq(Of["O_exact"], forms["O_exact"]))),
        checks=tuple(checks),
        notes=(f"At $\\beta_{{\\mathrm{{aux}}}} = 0.01, 1, 100$ the l-order is {fmt(values['mtl'])} for MTL (reference 1.01, 1.71, "
               f"2.00: agree), {fmt(values['ptft_plotted'])} for the plotted PT+FT penalty (reference 1.23, 1.89, "
               f"2.00: agree) and {fmt(values['ptft_exact_c1'])} for the exact PT+FT penalty at $c = 1$, which "
               "equals the plotted value at half of $\\beta_{\\mathrm{aux}}$. By the conservation law the feature dependence is one minus "
               "the l-order in every case."),
        extra={"values": values, "reference": reference},
    )
