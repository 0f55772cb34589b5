"""The reuse-sparsity conservation law: l-order + feature dependence = 1 for degree-1 homogeneous penalties.

Definitions (THEORY.md section 4, [LL], [DL]) for a penalty R(beta; beta_aux, ...) of the main-task
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

Sources: [LL] Lippl & Lindsey, arXiv:2310.02396; [DL] Anguita et al., arXiv:2602.20062; THEORY.md section 4.
Symbols here are positive (beta, beta_aux > 0; the penalties are even under the joint sign flip), so
|.| is the symbol itself. Importing this module does no SymPy work.
"""
from __future__ import annotations

import functools
from types import SimpleNamespace

import sympy as sp

from ptft.theory.derivation import Check, Derivation, Step, check_identity, register

__all__ = ["l_order", "pretraining_dependence", "gamma_dependence", "positive_symbols"]

_SOURCES = "Lippl & Lindsey, arXiv:2310.02396 [LL]; Anguita et al., arXiv:2602.20062 [DL]; THEORY.md section 4"


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


def _euler_step() -> Step:
    """Euler's theorem for a generic function f: d/dt f(t beta, t beta_aux) at t = 1."""
    s = _s()
    f = sp.Function("f")
    lhs = sp.diff(f(s.t * s.beta, s.t * s.beta_aux), s.t).subs(s.t, 1).doit()
    return Step("Euler: d/dt f(t beta, t beta_aux)|_{t=1} = beta f_beta + beta_aux f_beta_aux; "
                "for f(t x) = t f(x) it equals d/dt (t f)|_{t=1} = f", sp.Eq(lhs, f(s.beta, s.beta_aux)))


def _homogeneity_check(R: sp.Expr, scaling: dict, description: str, ranges=None) -> tuple[Step, Check]:
    s = _s()
    scaled = R.subs(scaling, simultaneous=True)
    ratio = sp.simplify(scaled / s.t)
    return (Step("R under the scaling, divided by t", ratio),
            check_identity(ratio, R, description, ranges=ranges))


def _conservation_build(name: str, title: str, R: sp.Expr, *, with_gamma: bool, source: str, notes: str,
                        extra_steps=(), extra_checks=(), assumptions=(), ranges=None) -> Derivation:
    s = _s()
    steps = [Step("penalty R (positive symbols)", R)] + list(extra_steps)
    if with_gamma:
        scaling = {s.beta: s.t * s.beta, s.beta_aux: s.t * s.beta_aux, s.gamma: sp.sqrt(s.t) * s.gamma}
        desc = "R(t beta, t beta_aux, sqrt(t) gamma) = t R (homogeneous of degree 1)"
    else:
        scaling = {s.beta: s.t * s.beta, s.beta_aux: s.t * s.beta_aux}
        desc = "R(t beta, t beta_aux) = t R (homogeneous of degree 1)"
    st, ch = _homogeneity_check(R, scaling, desc, ranges=ranges)
    steps += [_euler_step(), st]
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
    steps.append(Step("l-order O = beta R_beta / R", O))
    steps.append(Step("feature dependence FD = beta_aux R_beta_aux / R", FD))
    if GD is not None:
        steps.append(Step("gamma dependence d log R / d log gamma", GD))
    syms = (s.beta, s.beta_aux) + ((s.gamma,) if with_gamma else ())
    if R.has(s.c):
        syms = syms + (s.c,)
    return Derivation(
        name=name,
        title=title,
        statement=sp.Eq(total, sp.Integer(1), evaluate=False),
        symbols=syms,
        assumptions=("beta > 0, beta_aux > 0 (|.| of the signed coefficients; the penalties are even under the "
                     "joint sign flip), gamma > 0 where present",) + tuple(assumptions),
        source=source,
        steps=tuple(steps),
        checks=tuple(checks),
        notes=notes,
        extra={"R": R, "O": O, "FD": FD, "GD": GD},
    )


@register("conservation.mtl")
def conservation_mtl() -> Derivation:
    """O + FD = 1 for the MTL penalty R = sqrt(beta^2 + beta_aux^2) - beta_aux (degree-1 homogeneous; Euler).

    Source: [LL] (reuse-sparsity trade-off), THEORY.md section 4; derived here.
    Assumptions: beta, beta_aux > 0 (the MTL conditional penalty of ``mtl.conditional_penalty``).
    """
    from ptft.theory import mtl

    d = mtl.conditional_penalty()
    R = _to_positive(d.expr, d.symbols)
    return _conservation_build(
        "conservation.mtl", "Reuse-sparsity conservation law for the MTL penalty: O + FD = 1", R,
        with_gamma=False, source=_SOURCES,
        notes="Agrees with THEORY.md section 4. O runs from 1 (beta >> beta_aux) to 2 (beta << beta_aux).")


@register("conservation.ptft_plotted_gamma0")
def conservation_ptft_plotted_gamma0() -> Derivation:
    """O + FD = 1 for the plotted PT+FT penalty beta_aux q_W(2 beta/beta_aux) (gamma = 0).

    Source: [LL], THEORY.md section 4; derived here from ``ptft.plotted_penalty``.
    """
    from ptft.theory import ptft

    d = ptft.plotted_penalty()
    R = _to_positive(d.expr, d.symbols).subs(_s().gamma, 0)
    return _conservation_build(
        "conservation.ptft_plotted_gamma0", "Conservation law for the plotted PT+FT penalty at gamma = 0", R,
        with_gamma=False, source=_SOURCES, notes="Agrees with THEORY.md section 4.")


@register("conservation.ptft_exact_gamma0")
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
    extra_steps = [Step("gamma = 0: beta0", b0), Step("gamma = 0: sqrt k", sk)]
    extra_checks = [check_identity(b0, sp.Integer(0), "gamma = 0: beta0 = 0 (no linear term)"),
                    check_identity(sk, s.c**2 * s.beta_aux, "gamma = 0: sqrt k = c^2 beta_aux"),
                    check_identity(R, ptft.q_k(s.beta, s.c**2 * s.beta_aux),
                                   "gamma = 0: R = q_k(beta), sqrt k = c^2 beta_aux")]
    return _conservation_build(
        "conservation.ptft_exact_gamma0", "Conservation law for the exact PT+FT penalty at gamma = 0", R,
        with_gamma=False, source=_SOURCES, extra_steps=extra_steps, extra_checks=extra_checks,
        notes=("Homogeneous of degree 1 in (beta, beta_aux) at any fixed c (derived: R(t beta, t beta_aux)/t "
               "simplifies to R), so O + FD = 1 holds. Since R depends on c only via c^2 beta_aux, "
               "d log R/d log c = 2 FD."))


@register("conservation.ptft_gamma")
def conservation_ptft_gamma() -> Derivation:
    """O + FD + (1/2) d log R/d log gamma = 1 for the plotted PT+FT penalty K q_W(2 beta/K), K = beta_aux + gamma^2.

    Source: THEORY.md section 4; derived here (homogeneity under (t beta, t beta_aux, sqrt(t) gamma)).
    """
    from ptft.theory import ptft

    d = ptft.plotted_penalty()
    R = _to_positive(d.expr, d.symbols)
    return _conservation_build(
        "conservation.ptft_gamma", "Conservation law with gamma > 0 for the plotted PT+FT penalty", R,
        with_gamma=True, source=_SOURCES,
        notes=("Agrees with THEORY.md section 4. The same law holds for the exact penalty "
               "(conservation.ptft_exact_gamma)."))


@register("conservation.ptft_exact_gamma")
def conservation_ptft_exact_gamma() -> Derivation:
    """O + FD + (1/2) d log R/d log gamma = 1 for the exact PT+FT penalty (any c > 0, gamma > 0).

    Source: THEORY.md section 4; derived here: under (t beta, t beta_aux, sqrt(t) gamma), M, beta0 and
    sqrt k all scale by t, so R scales by t.
    """
    from ptft.theory import ptft

    s = _s()
    d = ptft.rescaled_start()
    R = _to_positive(d.expr, d.symbols)
    scaling = {s.beta_aux: s.t * s.beta_aux, s.gamma: sp.sqrt(s.t) * s.gamma}
    extra_checks = []
    extra_steps = []
    for key in ("M", "beta0", "sqrt_k"):
        e = _to_positive(d.extra[key], d.symbols)
        extra_steps.append(Step(f"{key} (beta_aux, gamma > 0)", e))
        extra_checks.append(check_identity(sp.simplify(e.subs(scaling, simultaneous=True) / s.t), e,
                                           f"{key} scales by t under (t beta_aux, sqrt(t) gamma)"))
    return _conservation_build(
        "conservation.ptft_exact_gamma", "Conservation law with gamma > 0 for the exact PT+FT penalty", R,
        with_gamma=True, source=_SOURCES, extra_steps=extra_steps, extra_checks=extra_checks,
        ranges={s.beta: (1.0, 4.0), s.gamma: (0.1, 0.5)},
        notes=("The identity holds wherever R != 0. The exact penalty is negative between 0 and about 2 beta0 "
               "(its minimum Q(beta0) = (sqrt k - M)/4 < 0 when gamma > 0), where log R and hence O, FD are "
               "undefined; "
               "O and FD of the exact penalty should therefore be read for |beta| beyond that region (or computed "
               "from "
               "the Bregman form R - R(beta0), which is also degree-1 homogeneous in this scaling and obeys the "
               "same law)."))


@register("conservation.mtl_reference_values")
def mtl_reference_values() -> Derivation:
    """O_MTL(beta = 1, beta_aux) and the PT+FT (gamma = 0) l-orders at beta_aux in {0.01, 1, 100}.

    Statement: the MTL l-order at beta = 1 as a function of beta_aux, O = 1/(sqrt(1+b^2)(sqrt(1+b^2) - b)).
    The numbers (mpmath) for MTL, the plotted PT+FT penalty and the exact one (c = 1), all at gamma = 0,
    are in ``extra['values']`` and in the notes, compared with THEORY.md section 4.
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
    checks.append(Check("THEORY.md reference values reproduced to 2 decimals (MTL 1.01/1.71/2.00, "
                        "PT+FT plotted 1.23/1.89/2.00)", passed=agree))
    fmt = lambda t: "/".join(f"{v:.4f}" for v in t)  # noqa: E731
    return Derivation(
        name="conservation.mtl_reference_values",
        title="l-order at beta = 1 for beta_aux in {0.01, 1, 100}: MTL vs PT+FT (gamma = 0)",
        statement=sp.Eq(sp.Function("O_MTL")(s.beta_aux), O_m),
        symbols=(s.beta_aux,),
        assumptions=("beta = 1; gamma = 0 for PT+FT; c = 1 for the exact PT+FT penalty",),
        source=_SOURCES,
        steps=(Step("O_MTL(beta = 1)", O_m), Step("O_plotted(beta = 1)", O_p), Step("O_exact(beta = 1, c = 1)", O_e)),
        checks=tuple(checks),
        notes=(f"beta_aux = 0.01/1/100: MTL O = {fmt(values['mtl'])} (THEORY.md 1.01/1.71/2.00: agree); "
               f"PT+FT plotted O = {fmt(values['ptft_plotted'])} (THEORY.md 1.23/1.89/2.00: agree); "
               f"PT+FT exact (c = 1) O = {fmt(values['ptft_exact_c1'])} (not in THEORY.md; equals the plotted "
               "value at beta_aux/2). FD = 1 - O in every case (conservation law)."),
        extra={"values": values, "reference": reference},
    )
