"""The four finetuning regimes of [DL]: l-order, pretraining dependence, their bounds and limits.

After the [DL] hand-off (derivation ``ptft.dl_handoff``) finetuning minimises ``sum_d q_{k_d}(beta_d)``
subject to the data, with the general-start potential

    q_k(x) = (sqrt k / 4) (1 - sqrt(1 + 4 x^2/k) + (2x/sqrt k) asinh(2x/sqrt k)),
    sqrt k_d = M_d = 2 c_PT (1 + lambda_PT)(1 + sqrt(1 + (beta_PT,d/c_PT)^2)) + gamma_FT^2.

In ``u = |beta|/c_FT`` with ``c_FT = M/2`` the potential is ``(c_FT/2)(1 - sqrt(1 + u^2) + u asinh u)``.
For one coordinate this module derives

* the l-order ``O = d log q / d log|beta|`` (``regimes.l_order``): ``O = asinh u / (asinh u - u/(1 + sqrt(1+u^2)))``,
  a function of ``u`` alone (1: l1-like, rich; 2: l2-like, lazy);
* the pretraining dependence ``PD = d log q / d log|beta_PT|`` (``regimes.pretraining_dependence``):
  ``PD = (1 - O) xi`` with ``xi = d log c_FT / d log|beta_PT| = (1 - gamma^2/M)(1 - 1/R)``,
  ``R = sqrt(1 + beta_PT^2/c_PT^2)`` (0: none; -1: the lazy penalty is weighted by ``1/|beta_PT|``);
* the bounds ``O in [1, 2]``, ``PD in [-1, 0]``, ``O + PD in [1, 2]`` (``regimes.bounds``), proved with SymPy
  (monotonicity chains and factorisations; a dense mpmath check corroborates them);
* the four regimes as limits of the initialisation parameters (``regimes.limits``).

:func:`classify_regime` evaluates (O, PD) numerically (expressions lambdified once from the derivations)
and names the regime.

Sources: [DL] Anguita et al., arXiv:2602.20062 (Thm 4.1, the l-order and pretraining dependence, the four
regimes); [LL] Lippl & Lindsey, arXiv:2310.02396 (l-order, feature dependence). Importing this module does
no SymPy work.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from types import SimpleNamespace

import sympy as sp

from ptft.theory.derivation import (Check, Definition, Derivation, DerivationError, Display, Step, check_identity,
                                    register)

__all__ = ["RegimeClassification", "classify_regime", "l_order_of_u", "regime_values"]

_SOURCE = "Anguita et al., arXiv:2602.20062 [DL]; Lippl & Lindsey, arXiv:2310.02396 [LL]; derived here"


@functools.lru_cache(maxsize=None)
def _s() -> SimpleNamespace:
    """Symbols of this module. ``beta`` and ``beta_PT`` stand for |beta| and |beta_PT| (the penalty is even)."""
    from ptft.theory.latex import SYMBOL_MEANING, SYMBOL_TEX

    printed = {
        "PD": r"\mathrm{PD}", "O_star": r"O_{*}", "u_star": r"u_{*}",
        "O_I": r"O_{\mathrm{I}}", "O_II": r"O_{\mathrm{II}}", "O_III": r"O_{\mathrm{III}}", "O_IV": r"O_{\mathrm{IV}}",
        "PD_I": r"\mathrm{PD}_{\mathrm{I}}", "PD_II": r"\mathrm{PD}_{\mathrm{II}}",
        "PD_III": r"\mathrm{PD}_{\mathrm{III}}", "PD_IV": r"\mathrm{PD}_{\mathrm{IV}}",
        "D_0": "D_0", "D_1": "D_1",
    }
    for k, v in printed.items():
        SYMBOL_TEX.setdefault(k, v)
    meaning = {
        "O": "l-order $\\partial \\log q/\\partial \\log|\\beta|$ (1: rich, l1-like; 2: lazy, l2-like)",
        "PD": "pretraining dependence $\\partial \\log q/\\partial \\log|\\beta_{\\mathrm{PT}}|$ ([DL])",
        "xi": "elasticity of the finetuning scale, $\\partial \\log c_{\\mathrm{FT}}/\\partial \\log|\\beta_{\\mathrm{PT}}|$",
        "c_FT": "half the finetuning scale, $c_{\\mathrm{FT}} = \\sqrt{k_d}/2$ ([DL])",
        "gamma_FT": "readout scale at the start of finetuning ([DL])",
        "R": "$\\sqrt{1 + \\beta_{\\mathrm{PT}}^2/c_{\\mathrm{PT}}^2}$",
        "u_star": "$|\\beta|/((1 + \\lambda_{\\mathrm{PT}})|\\beta_{\\mathrm{PT}}|)$, the argument of $O$ in regime IV",
    }
    for k, v in meaning.items():
        SYMBOL_MEANING.setdefault(k, v)
    return SimpleNamespace(
        beta=sp.Symbol("beta", positive=True),
        bpt=sp.Symbol("beta_PT", positive=True),
        cpt=sp.Symbol("c_PT", positive=True),
        lam=sp.Symbol("lambda_PT", real=True),
        g=sp.Symbol("gamma_FT", nonnegative=True),
        ell=sp.Symbol("ell", positive=True),  # 1 + lambda_PT when lambda_PT > -1 (limits)
        u=sp.Symbol("u", positive=True),
        cft=sp.Symbol("c_FT", positive=True),
        M=sp.Symbol("M", positive=True),
        A=sp.Symbol("A", nonnegative=True),
        R=sp.Symbol("R", positive=True),
        xi=sp.Symbol("xi", nonnegative=True),
        O=sp.Symbol("O"),
        PD=sp.Symbol("PD"),
        o=sp.Symbol("O", real=True),  # O as a real number in [1, 2] (bounds)
        ustar=sp.Symbol("u_star", positive=True),
        Ostar=sp.Symbol("O_star"),
        r=sp.Symbol("r", positive=True),  # beta_PT/c_PT
    )


# --------------------------------------------------------------------------------------------------
# the forms (each checked against the derived expressions in the builders)
# --------------------------------------------------------------------------------------------------
def l_order_of_u(u: sp.Expr) -> sp.Expr:
    """O(u) = asinh u / (asinh u - u/(1 + sqrt(1 + u^2))), u = |beta|/c_FT (the l-order of q_k; stable at u -> 0)."""
    return sp.asinh(u) / (sp.asinh(u) - u / (1 + sp.sqrt(1 + u**2)))


def _M_raw() -> sp.Expr:
    s = _s()
    return 2 * s.cpt * (1 + s.lam) * (1 + sp.sqrt(1 + s.bpt**2 / s.cpt**2)) + s.g**2


def _xi_raw() -> sp.Expr:
    s = _s()
    M = _M_raw()
    R = sp.sqrt(1 + s.bpt**2 / s.cpt**2)
    return (1 - s.g**2 / M) * (1 - 1 / R)


def _penalty() -> sp.Expr:
    """q_{k_d}(|beta|) of the [DL] hand-off, from the registered derivation ptft.dl_handoff (symbols renamed)."""
    from ptft.theory import get

    s = _s()
    d = get("ptft.dl_handoff")
    by_name = {"beta": s.beta, "beta_PT": s.bpt, "c_PT": s.cpt, "lambda_PT": s.lam, "gamma": s.g, "gamma_FT": s.g}
    rep = {sym: by_name[sym.name] for sym in d.expr.free_symbols if sym.name in by_name}
    return d.expr.xreplace(rep)


def _named_handoff() -> tuple[Definition, ...]:
    """u = |beta|/c_FT, c_FT = M/2, M = 2 c_PT (1 + lambda_PT)(1 + R) + gamma_FT^2, R = sqrt(1 + beta_PT^2/c_PT^2)."""
    s = _s()
    return (Definition(s.u, s.beta / s.cft),
            Definition(s.cft, s.M / 2, "half the finetuning scale of [DL], $c_{\\mathrm{FT}} = \\sqrt{k_d}/2$"),
            Definition(s.M, 2 * s.cpt * (1 + s.lam) * (1 + s.R) + s.g**2, "$= \\sqrt{k_d}$ of [DL], Thm 4.1"),
            Definition(s.R, sp.sqrt(1 + s.bpt**2 / s.cpt**2)))


def numeric_identity(lhs: sp.Expr, rhs: sp.Expr, description: str, *, ranges=None, points: int = 8,
                     seed: int = 0, dps: int = 50, tol: float = 1e-30) -> Check:
    """``lhs == rhs`` checked numerically only: mpmath at ``dps`` digits at ``points`` random points.

    For end-to-end comparisons of large expressions in the raw parameters, where ``simplify`` is slow; the
    derivations prove the same identities symbolically on the way, in named quantities. Raises
    :class:`DerivationError` if a difference exceeds ``tol``.
    """
    import random

    import mpmath

    rnd = random.Random(seed)
    free = sorted((lhs - rhs).free_symbols, key=lambda x: x.name)
    ranges = dict(ranges or {})
    f = sp.lambdify(free, lhs - rhs, "mpmath")
    worst = 0.0
    with mpmath.workdps(dps):
        for _ in range(points):
            args = [mpmath.mpf(rnd.uniform(*ranges.get(x, (0.1, 2.0) if x.is_positive else (-2.0, 2.0))))
                    for x in free]
            worst = max(worst, float(abs(f(*args))))
    if not worst < tol:
        raise DerivationError(f"identity failed numerically: {description} (max difference {worst:.3e})")
    return Check(description + f" [numeric: mpmath {dps} digits, {points} random points]", passed=True,
                 numeric_max_error=worst)


_ASSUMPTIONS = (
    "$\\beta > 0$ and $\\beta_{\\mathrm{PT}} > 0$ stand for $|\\beta|$ and $|\\beta_{\\mathrm{PT}}|$ (the penalty is even "
    "in both)",
    "$c_{\\mathrm{PT}} > 0$, $-1 \\le \\lambda_{\\mathrm{PT}} \\le 1$, $\\gamma_{\\mathrm{FT}} \\ge 0$, and "
    "$c_{\\mathrm{FT}} > 0$ (not both $\\lambda_{\\mathrm{PT}} = -1$ and $\\gamma_{\\mathrm{FT}} = 0$)",
)


# --------------------------------------------------------------------------------------------------
# regimes.l_order
# --------------------------------------------------------------------------------------------------
@register("regimes.l_order", title="l-order of the finetuning penalty after the [DL] hand-off")
def l_order() -> Derivation:
    """O = d log q/d log|beta| = asinh u/(asinh u - u/(1 + sqrt(1+u^2))), u = |beta|/c_FT.

    Source: [DL] (definition of the l-order; Thm 4.1 for q_{k_d}); derived here from ``ptft.dl_handoff``.
    """
    from ptft.theory import conservation

    s = _s()
    q = _penalty()
    M = _M_raw()
    cft = M / 2
    u_raw = s.beta / cft
    rng = {s.lam: (-0.9, 1.0), s.g: (0.0, 1.5), s.cpt: (0.05, 2.0), s.bpt: (0.1, 3.0), s.beta: (0.05, 4.0)}
    checks = []
    F = (1 - sp.sqrt(1 + s.u**2) + s.u * sp.asinh(s.u))
    G = s.M / 4 * F.subs(s.u, 2 * s.beta / s.M)  # q in |beta| and the scale M = sqrt(k_d) = 2 c_FT
    checks.append(check_identity(q.subs(s.lam, s.ell - 1), G.subs(s.M, _M_raw().subs(s.lam, s.ell - 1)),
                                 "q = (c_FT/2)(1 - sqrt(1+u^2) + u asinh u), u = |beta|/c_FT, c_FT = M/2 "
                                 "(ptft.dl_handoff, lambda_PT = ell - 1, ell >= 0)",
                                 ranges={**rng, s.ell: (0.1, 2.0)}))
    checks.append(check_identity(sp.diff(G, s.beta), sp.asinh(2 * s.beta / s.M) / 2, "dq/d|beta| = asinh(u)/2"))
    O_ratio = s.u * sp.asinh(s.u) / F
    O_form = l_order_of_u(s.u)
    checks.append(check_identity(conservation.l_order(G, s.beta), O_ratio.subs(s.u, 2 * s.beta / s.M),
                                 "O = |beta| q'/q = u asinh u/(1 - sqrt(1+u^2) + u asinh u) (conservation.l_order)"))
    checks.append(check_identity(O_ratio, O_form, "sqrt(1+u^2) - 1 = u^2/(1 + sqrt(1+u^2)): the stable form of O"))
    display = Display(sp.Eq(s.O, O_form), where=_named_handoff())
    checks.append(numeric_identity(conservation.l_order(q, s.beta), display.expanded().rhs,
                                   "end to end: conservation.l_order of the ptft.dl_handoff penalty equals O(u)",
                                   ranges=rng))
    qf = sp.Function("q")
    steps = [
        Step("The finetuning penalty of one coordinate after the [DL] hand-off (derivation ptft.dl_handoff), written "
             "in $u = |\\beta|/c_{\\mathrm{FT}}$", sp.Eq(qf(s.beta), s.cft / 2 * F)),
        Step("Its slope in $|\\beta|$ (the factor $1/c_{\\mathrm{FT}}$ of $du/d\\beta$ cancels the prefactor)",
             sp.Eq(sp.Derivative(qf(s.beta), s.beta), sp.asinh(s.u) / 2)),
        Step("The l-order $O = \\partial \\log q/\\partial \\log|\\beta| = |\\beta| q'/q$ depends on $u$ alone",
             sp.Eq(s.O, O_ratio)),
        Step("With $\\sqrt{1 + u^2} - 1 = u^2/(1 + \\sqrt{1 + u^2})$, dividing by $u$",
             sp.Eq(s.O, O_form)),
        Step("Its limits: lazy ($O \\to 2$) when $|\\beta| \\ll c_{\\mathrm{FT}}$ and rich ($O \\to 1$, logarithmically) "
             "when $|\\beta| \\gg c_{\\mathrm{FT}}$",
             sp.Tuple(sp.Eq(sp.Limit(s.O, s.u, 0, "+"), sp.limit(O_form, s.u, 0, "+")),
                      sp.Eq(sp.Limit(s.O, s.u, sp.oo), sp.limit(O_form, s.u, sp.oo)))),
    ]
    checks.append(Check("lim_{u->0} O = 2 and lim_{u->oo} O = 1 (SymPy limits)",
                        passed=bool(sp.limit(O_form, s.u, 0, "+") == 2 and sp.limit(O_form, s.u, sp.oo) == 1)))
    if not checks[-1].passed:
        raise DerivationError("regimes.l_order: limits of O are not 2 and 1")
    ser = sp.series(O_form, s.u, 0, 4).removeO()
    checks.append(check_identity(ser, 2 - s.u**2 / 6, "small-u series O = 2 - u^2/6 + O(u^4) (SymPy series)"))
    statement = display.expanded()
    return Derivation(
        name="regimes.l_order",
        title="l-order of the finetuning penalty after the [DL] hand-off",
        statement=statement,
        display=display,
        symbols=(s.beta, s.bpt, s.cpt, s.lam, s.g),
        assumptions=_ASSUMPTIONS,
        source=_SOURCE,
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("The l-order depends on the initialisation only through $c_{\\mathrm{FT}}$: "
               "$O = 2 - u^2/6 + O(u^4)$ for small $u$, and $O = 1 + 1/(\\log 2u - 1) + \\ldots$ for large $u$, so "
               "the rich limit $O \\to 1$ is approached only logarithmically in $|\\beta|/c_{\\mathrm{FT}}$."),
        extra={"O_of_u": O_form, "u": u_raw, "c_FT": cft, "M": M, "u_symbol": s.u},
    )


# --------------------------------------------------------------------------------------------------
# regimes.pretraining_dependence
# --------------------------------------------------------------------------------------------------
@register("regimes.pretraining_dependence",
          title="Pretraining dependence of the finetuning penalty after the [DL] hand-off")
def pretraining_dependence() -> Derivation:
    """PD = d log q/d log|beta_PT| = (1 - O) xi, xi = d log c_FT/d log|beta_PT| = (1 - gamma^2/M)(1 - 1/R).

    Source: [DL] (definition of the pretraining dependence); derived here from ``ptft.dl_handoff``.
    """
    from ptft.theory import conservation

    s = _s()
    q = _penalty()
    M = _M_raw()
    cft = M / 2
    u_raw = s.beta / cft
    O_form = l_order_of_u(s.u)
    xi = _xi_raw()
    rng = {s.lam: (-0.9, 1.0), s.g: (0.0, 1.5), s.cpt: (0.05, 2.0), s.bpt: (0.1, 3.0), s.beta: (0.05, 4.0)}
    checks = []
    # q = c F(|beta|/c): d log q / d log c = 1 - O
    c = sp.Symbol("c", positive=True)
    Fh = (1 - sp.sqrt(1 + s.u**2) + s.u * sp.asinh(s.u)) / 2
    qc = c * Fh.subs(s.u, s.beta / c)
    checks.append(check_identity(c * sp.diff(qc, c) / qc, (1 - O_form).subs(s.u, s.beta / c),
                                 "q = c F(|beta|/c): d log q/d log c = 1 - O"))
    ell_rng = {**rng, s.ell: (0.1, 2.0)}
    cft_ell = cft.subs(s.lam, s.ell - 1)
    checks.append(check_identity(s.bpt * sp.diff(cft_ell, s.bpt) / cft_ell, xi.subs(s.lam, s.ell - 1),
                                 "xi = d log c_FT/d log|beta_PT| = (1 - gamma^2/M)(1 - 1/R) (lambda_PT = ell - 1)",
                                 ranges=ell_rng))
    where = (Definition(s.O, O_form, "the l-order (derivation regimes.l_order)"),
             Definition(s.u, s.beta / s.cft),
             Definition(s.cft, s.M / 2),
             Definition(s.xi, (1 - s.g**2 / s.M) * (1 - 1 / s.R),
                        "$= \\partial \\log c_{\\mathrm{FT}}/\\partial \\log|\\beta_{\\mathrm{PT}}|$"),
             Definition(s.M, 2 * s.cpt * (1 + s.lam) * (1 + s.R) + s.g**2, "$= \\sqrt{k_d}$ of [DL], Thm 4.1"),
             Definition(s.R, sp.sqrt(1 + s.bpt**2 / s.cpt**2)))
    display = Display(sp.Eq(s.PD, (1 - s.O) * s.xi), where=where)
    PD_form = display.expanded().rhs
    checks.append(numeric_identity(conservation.pretraining_dependence(q, s.bpt), PD_form,
                                   "end to end: conservation.pretraining_dependence of the ptft.dl_handoff penalty "
                                   "equals (1 - O) xi", ranges=rng))
    # xi in the named quantities
    xi_named = (1 - s.g**2 / s.M) * (1 - 1 / s.R)
    checks.append(check_identity(xi_named.subs(s.M, 2 * s.cpt * s.ell * (1 + s.R) + s.g**2)
                                 .subs(s.R, sp.sqrt(1 + s.bpt**2 / s.cpt**2)), xi.subs(s.lam, s.ell - 1),
                                 "xi in M and R", ranges=ell_rng))
    steps = [
        Step("The penalty depends on $|\\beta_{\\mathrm{PT}}|$ only through its scale: $q = c_{\\mathrm{FT}} F(|\\beta|/"
             "c_{\\mathrm{FT}})$ with", sp.Eq(sp.Function("F")(s.u), Fh)),
        Step("so its logarithmic derivative in the scale is one minus the l-order (derivation regimes.l_order)",
             sp.Eq(sp.Symbol("partial_log_q_log_c"), 1 - s.O)),
        Step("The scale $c_{\\mathrm{FT}} = M/2$ with $M = 2c_{\\mathrm{PT}}(1+\\lambda_{\\mathrm{PT}})(1 + R) + "
             "\\gamma_{\\mathrm{FT}}^2$, $R = \\sqrt{1 + \\beta_{\\mathrm{PT}}^2/c_{\\mathrm{PT}}^2}$, has the elasticity "
             "($|\\beta_{\\mathrm{PT}}| dR/d|\\beta_{\\mathrm{PT}}| = R - 1/R$)", sp.Eq(s.xi, xi_named)),
        Step("By the chain rule the pretraining dependence $\\mathrm{PD} = \\partial \\log q/\\partial \\log"
             "|\\beta_{\\mathrm{PT}}|$ is", sp.Eq(s.PD, (1 - s.O) * s.xi)),
    ]
    from ptft.theory.latex import SYMBOL_TEX

    SYMBOL_TEX.setdefault("partial_log_q_log_c", r"\partial \log q/\partial \log c_{\mathrm{FT}}")
    return Derivation(
        name="regimes.pretraining_dependence",
        title="Pretraining dependence of the finetuning penalty after the [DL] hand-off",
        statement=display.expanded(),
        display=display,
        symbols=(s.beta, s.bpt, s.cpt, s.lam, s.g),
        assumptions=_ASSUMPTIONS,
        source=_SOURCE,
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("A coordinate the pretraining task did not use ($\\beta_{\\mathrm{PT}} = 0$, $R = 1$) has $\\xi = 0$ and "
               "$\\mathrm{PD} = 0$. At $\\gamma_{\\mathrm{FT}} = 0$, $\\xi = 1 - 1/R$ does not depend on "
               "$\\lambda_{\\mathrm{PT}}$, and $\\mathrm{PD} = -(O - 1)(1 - 1/R)$."),
        extra={"PD": PD_form, "xi": xi, "O_of_u": O_form, "u": u_raw, "c_FT": cft, "u_symbol": s.u},
    )


# --------------------------------------------------------------------------------------------------
# regimes.bounds
# --------------------------------------------------------------------------------------------------
def _nonneg(expr: sp.Expr, what: str) -> Check:
    """A Check that SymPy's assumptions system proves ``expr >= 0`` (raises DerivationError otherwise)."""
    e = sp.simplify(expr)
    if e.is_nonnegative is not True:
        raise DerivationError(f"regimes.bounds: SymPy could not prove {what} >= 0 (got {e})")
    return Check(f"{what} >= 0 (proved: SymPy's sign assumptions)", passed=True)


def _dense_check(n: int = 2001, dps: int = 30) -> tuple[Check, dict]:
    """O(u) in [1, 2] on a dense log grid, and (O, PD) bounds at random parameters, with mpmath (corroboration)."""
    import random

    import mpmath

    s = _s()
    f_O = sp.lambdify(s.u, l_order_of_u(s.u), "mpmath")
    worst = {"O-1": mpmath.inf, "2-O": mpmath.inf}
    with mpmath.workdps(dps):
        for i in range(n):
            u = mpmath.mpf(10) ** (mpmath.mpf(-6) + mpmath.mpf(12) * i / (n - 1))
            O = f_O(u)
            worst["O-1"] = min(worst["O-1"], O - 1)
            worst["2-O"] = min(worst["2-O"], 2 - O)
    d_pd = pretraining_dependence()
    f_PD = sp.lambdify(d_pd.symbols, d_pd.expr, "mpmath")
    d_o = l_order()
    f_O2 = sp.lambdify(d_o.symbols, d_o.expr, "mpmath")
    rnd = random.Random(1)
    worst.update({"-PD": mpmath.inf, "PD+1": mpmath.inf, "O+PD-1": mpmath.inf, "2-O-PD": mpmath.inf})
    with mpmath.workdps(dps):
        for _ in range(400):
            args = [mpmath.mpf(10) ** rnd.uniform(-3, 3), mpmath.mpf(10) ** rnd.uniform(-3, 3),
                    mpmath.mpf(10) ** rnd.uniform(-4, 4), mpmath.mpf(rnd.uniform(-0.999, 1.0)),
                    mpmath.mpf(10) ** rnd.uniform(-3, 2) * rnd.choice([0, 1])]
            O, PD = f_O2(*args), f_PD(*args)
            for k, v in (("-PD", -PD), ("PD+1", PD + 1), ("O+PD-1", O + PD - 1), ("2-O-PD", 2 - O - PD)):
                worst[k] = min(worst[k], v)
    ok = all(v >= -mpmath.mpf(10) ** (-dps + 5) for v in worst.values())
    return (Check(f"corroboration (numeric, mpmath {dps} digits): O(u) in [1, 2] at {n} points u in [1e-6, 1e6]; "
                  "(O, PD) bounds at 400 random (|beta|, |beta_PT|, c_PT, lambda_PT, gamma_FT)", passed=bool(ok)),
            {k: float(v) for k, v in worst.items()})


@register("regimes.bounds", title="Bounds on the l-order and the pretraining dependence")
def bounds() -> Derivation:
    """O in [1, 2], PD in [-1, 0] and O + PD in [1, 2] for every initialisation (proved with SymPy).

    Proof: O = g/(g - h) with g = u asinh u, h = sqrt(1+u^2) - 1 >= 0 gives O >= 1; O <= 2 iff
    D0 = g - 2h >= 0, which follows from D0(0) = D1(0) = 0, D0' = D1 = asinh u - u/sqrt(1+u^2) and
    D1' = u^2/(1+u^2)^(3/2) >= 0. The elasticity xi = (1 - gamma^2/M)(1 - 1/R) lies in [0, 1); with
    PD = (1 - O) xi the remaining bounds are factorisations: -PD = (O-1) xi, 1 + PD = 1 - (O-1) xi,
    O + PD - 1 = (O-1)(1-xi), 2 - O - PD = (2-O) + (O-1) xi.
    Source: [DL] (the bounds are stated there); proof derived here.
    """
    s = _s()
    u = s.u
    g_ = u * sp.asinh(u)
    h_ = sp.sqrt(1 + u**2) - 1
    f_ = g_ - h_
    O_form = l_order_of_u(u)
    checks, steps = [], []
    # f > 0
    checks.append(check_identity(sp.diff(f_, u), sp.asinh(u), "f' = asinh u with f = u asinh u - (sqrt(1+u^2) - 1)"))
    dasinh = sp.diff(sp.asinh(u), u)
    if not (f_.subs(u, 0) == 0 and sp.asinh(0) == 0 and dasinh.is_positive):
        raise DerivationError("regimes.bounds: f(0) = 0, asinh(0) = 0 or asinh' > 0 not established")
    checks.append(Check("asinh(0) = 0 and asinh' = 1/sqrt(1+u^2) > 0 give asinh u > 0; f(0) = 0 and f' = asinh u > 0 "
                        "give f > 0 for u > 0 (proved)", passed=True))
    # O - 1 = h/f >= 0
    checks.append(check_identity(O_form - 1, h_ / f_, "O - 1 = h/f"))
    checks.append(check_identity(h_, u**2 / (1 + sp.sqrt(1 + u**2)), "h = sqrt(1+u^2) - 1 = u^2/(1 + sqrt(1+u^2))"))
    checks.append(_nonneg(u**2 / (1 + sp.sqrt(1 + u**2)), "h"))
    # 2 - O = D0/f, D0 = g - 2h
    D0 = g_ - 2 * h_
    D1 = sp.diff(D0, u)
    D1_form = sp.asinh(u) - u / sp.sqrt(1 + u**2)
    D2 = sp.simplify(sp.diff(D1_form, u))
    D2_form = u**2 / (1 + u**2) ** sp.Rational(3, 2)
    checks.append(check_identity(2 - O_form, D0 / f_, "2 - O = D0/f, D0 = u asinh u - 2(sqrt(1+u^2) - 1)"))
    checks.append(check_identity(D1, D1_form, "D0' = D1 = asinh u - u/sqrt(1+u^2)"))
    checks.append(check_identity(D2, D2_form, "D1' = u^2/(1+u^2)^(3/2)"))
    checks.append(_nonneg(D2_form, "D1'"))
    if D0.subs(u, 0) != 0 or D1_form.subs(u, 0) != 0:
        raise DerivationError("regimes.bounds: D0(0) or D1(0) is not 0")
    checks.append(Check("D1(0) = 0 and D1' >= 0 give D1 >= 0; D0(0) = 0 and D0' = D1 >= 0 give D0 >= 0 (proved)",
                        passed=True))
    D0s, D1s = sp.Symbol("D_0"), sp.Symbol("D_1")
    steps.append(Step("By derivation regimes.l_order, $O = g/(g - h)$ with $g = u \\asinh u$ and $h = \\sqrt{1+u^2} - 1 "
                      "= u^2/(1+\\sqrt{1+u^2}) \\ge 0$; the denominator $f = g - h$ vanishes at $u = 0$ and has slope "
                      "$f' = \\asinh u > 0$, so $f > 0$ and", sp.Eq(s.O - 1, sp.Symbol("h") / sp.Symbol("f"))))
    steps.append(Step("For the upper bound, $2 - O = D_0/f$ with", sp.Eq(D0s, D0)))
    steps.append(Step("$D_0(0) = 0$ and $D_0' = D_1$ with $D_1(0) = 0$ and $D_1' \\ge 0$",
                      sp.Tuple(sp.Eq(D1s, D1_form), sp.Eq(sp.Derivative(sp.Function("D_1")(u), u), D2_form))))
    steps.append(Step("Hence $D_1 \\ge 0$, $D_0 \\ge 0$, and for every $u > 0$ the l-order lies in",
                      sp.Contains(s.O, sp.Interval(1, 2), evaluate=False)))
    # xi in [0, 1): xi = P (1 - 1/R), P = a/(a + gamma^2), a = A(1+R) >= 0, R = 1 + t, t >= 0
    a, t, bb = sp.Symbol("a", nonnegative=True), sp.Symbol("t", nonnegative=True), sp.Symbol("b", nonnegative=True)
    Mp = sp.Symbol("M", positive=True)
    checks.append(check_identity(1 - bb / (a + bb), a / (a + bb),
                                 "1 - gamma^2/M = A(1+R)/M with M = A(1+R) + gamma^2 (a = A(1+R), b = gamma^2)"))
    checks.append(_nonneg(a / Mp, "A(1+R)/M"))
    checks.append(_nonneg(bb / Mp, "1 - A(1+R)/M = gamma^2/M"))
    R_t = 1 + t
    checks.append(_nonneg(1 - 1 / R_t, "1 - 1/R (R = 1 + t >= 1)"))
    checks.append(Check("1 - (1 - 1/R) = 1/R > 0 (proved: SymPy's sign assumptions, R = 1 + t, t >= 0)",
                        passed=bool((1 / R_t).is_positive)))
    checks.append(check_identity((sp.sqrt(1 + s.r**2) - 1) * (sp.sqrt(1 + s.r**2) + 1), s.r**2,
                                 "(R - 1)(R + 1) = beta_PT^2/c_PT^2 >= 0, so R >= 1"))
    steps.append(Step("The elasticity $\\xi = (1 - \\gamma_{\\mathrm{FT}}^2/M)(1 - 1/R)$ (derivation "
                      "regimes.pretraining_dependence) is a product of $A(1+R)/M \\in [0, 1]$ and $1 - 1/R \\in [0, 1)$ "
                      "($R \\ge 1$), so", sp.Contains(s.xi, sp.Interval.Ropen(0, 1), evaluate=False)))
    # factorisations with PD = (1 - O) xi
    o, x = s.o, s.xi
    PDx = (1 - o) * x
    facts = [(-PDx, (o - 1) * x, "-PD = (O - 1) xi >= 0"),
             (PDx + 1, 1 - (o - 1) * x, "1 + PD = 1 - (O - 1) xi >= 1 - xi > 0 (O - 1 <= 1)"),
             (o + PDx - 1, (o - 1) * (1 - x), "O + PD - 1 = (O - 1)(1 - xi) >= 0"),
             (2 - o - PDx, (2 - o) + (o - 1) * x, "2 - O - PD = (2 - O) + (O - 1) xi >= 0")]
    for lhs, rhs, what in facts:
        checks.append(check_identity(lhs, rhs, what))
    steps.append(Step("With $\\mathrm{PD} = (1 - O)\\xi$ the remaining bounds are factorisations of non-negative "
                      "terms ($O - 1$, $2 - O$, $\\xi$, $1 - \\xi$)",
                      sp.Tuple(sp.Eq(-s.PD, (s.O - 1) * x), sp.Eq(s.PD + 1, 1 - (s.O - 1) * x),
                               sp.Eq(s.O + s.PD - 1, (s.O - 1) * (1 - x)),
                               sp.Eq(2 - s.O - s.PD, 2 - s.O + (s.O - 1) * x))))
    dense, worst = _dense_check()
    checks.append(dense)
    if not dense.passed:
        raise DerivationError(f"regimes.bounds: dense numeric check failed: {worst}")
    st = sp.Contains(sp.Tuple(s.O, s.PD, s.O + s.PD),
                     sp.ProductSet(sp.Interval(1, 2), sp.Interval(-1, 0), sp.Interval(1, 2)), evaluate=False)
    return Derivation(
        name="regimes.bounds",
        title="Bounds on the l-order and the pretraining dependence",
        statement=st,
        symbols=(s.O, s.PD),
        assumptions=_ASSUMPTIONS,
        source=_SOURCE,
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("All three bounds are proved symbolically: each reduces to the sign of an expression that SymPy's "
               "assumptions certify ($h$, $D_1'$, $A(1+R)/M$, $1 - 1/R$) together with two monotonicity arguments "
               "($f$, $D_1$ and $D_0$ vanish at $u = 0$ and have non-negative slopes). A dense mpmath evaluation "
               "(30 digits) corroborates them. Inside the parameter domain the bounds are strict except "
               "$\\mathrm{PD} = 0$ where $\\xi = 0$; the corners are reached only as limits (derivation "
               "regimes.limits). Agrees with the trade-off stated in [DL]."),
        extra={"worst_margins": worst},
    )


# --------------------------------------------------------------------------------------------------
# regimes.limits
# --------------------------------------------------------------------------------------------------
@register("regimes.limits", title="The four finetuning regimes as limits of the initialisation")
def limits() -> Derivation:
    """(O, PD) -> (1, 0), (2, -1), (2, 0) and the interior line O + PD = 1 in the parameter limits of [DL].

    I: lambda_PT -> -1, gamma_FT -> 0 (either order); II: lambda_PT = 1, gamma_FT = 0, c_PT -> 0, then
    |beta|/|beta_PT| -> 0; III: c_PT -> oo (lambda_PT > -1) or gamma_FT -> oo; IV: c_PT -> 0, gamma_FT = 0,
    -1 < lambda_PT < 1: (O(u*), 1 - O(u*)), u* = |beta|/((1 + lambda_PT)|beta_PT|).
    Source: [DL] (the four regimes); limits computed here with SymPy.
    """
    s = _s()
    u, ell = s.u, s.ell
    O_form = l_order_of_u(u)
    M = _M_raw()
    cft = M / 2
    xi = _xi_raw()
    L = lambda e, x, p, d="+": sp.simplify(sp.limit(e, x, p, d))  # noqa: E731
    lim_u = {"0": sp.limit(O_form, u, 0, "+"), "oo": sp.limit(O_form, u, sp.oo)}
    checks, steps = [], []
    vals: dict[str, object] = {}
    steps.append(Step("By derivations regimes.l_order and regimes.pretraining_dependence, $O = O(u)$ with "
                      "$u = |\\beta|/c_{\\mathrm{FT}}$ and $\\mathrm{PD} = (1 - O)\\xi$, and",
                      sp.Tuple(sp.Eq(sp.Limit(s.O, u, 0, "+"), lim_u["0"]), sp.Eq(sp.Limit(s.O, u, sp.oo), lim_u["oo"]))))
    # regime I: lambda -> -1 at gamma = 0 (c_FT -> 0, xi independent of lambda), and gamma > 0 first
    c_I = L(cft.subs(s.g, 0), s.lam, -1)
    xi_g0 = sp.simplify(xi.subs(s.g, 0))
    c_Ig = L(cft, s.lam, -1)
    xi_Ig = L(xi, s.lam, -1)
    u_Ig = L(s.beta / c_Ig, s.g, 0)
    vals["I"] = (lim_u["oo"], 0)
    ok_I = (c_I == 0 and not xi_g0.has(s.lam) and c_Ig == s.g**2 / 2 and xi_Ig == 0 and u_Ig == sp.oo)
    checks.append(Check("regime I: lambda_PT -> -1 at gamma_FT = 0 gives c_FT -> 0 (u -> oo) with xi = 1 - 1/R free of "
                        "lambda_PT; lambda_PT -> -1 at gamma_FT > 0 gives c_FT -> gamma_FT^2/2, xi -> 0, then "
                        "gamma_FT -> 0 gives u -> oo: (O, PD) -> (1, 0) in either order", passed=bool(ok_I)))
    steps.append(Step("Regime I (rich, pretraining-independent): as $\\lambda_{\\mathrm{PT}} \\to -1$ at "
                      "$\\gamma_{\\mathrm{FT}} = 0$ the scale vanishes while $\\xi$ stays below one, so $u \\to \\infty$ "
                      "and $(O, \\mathrm{PD}) \\to (1, 0)$",
                      sp.Tuple(sp.Eq(sp.Limit(s.cft, s.lam, -1), c_I), sp.Eq(s.xi, xi_g0))))
    steps.append(Step("In the other order, $\\lambda_{\\mathrm{PT}} \\to -1$ at $\\gamma_{\\mathrm{FT}} > 0$ leaves only the "
                      "readout scale and no pretraining dependence; then $\\gamma_{\\mathrm{FT}} \\to 0$ sends "
                      "$u = 2|\\beta|/\\gamma_{\\mathrm{FT}}^2 \\to \\infty$",
                      sp.Tuple(sp.Eq(sp.Limit(s.cft, s.lam, -1), c_Ig), sp.Eq(sp.Limit(s.xi, s.lam, -1), xi_Ig))))
    # regime II: lambda = 1, gamma = 0, c_PT -> 0; then |beta|/|beta_PT| -> 0
    c_II = L(cft.subs({s.g: 0, s.lam: 1}), s.cpt, 0)
    xi_II = L(xi.subs({s.g: 0, s.lam: 1}), s.cpt, 0)
    u_II = sp.simplify(s.beta / c_II)
    O_II = O_form.subs(u, u_II)
    O_II_lim = sp.limit(O_II, s.beta, 0, "+")
    PD_II_lim = sp.limit((1 - O_II) * xi_II, s.beta, 0, "+")
    vals["II"] = (O_II_lim, PD_II_lim)
    checks.append(Check("regime II: lambda_PT = 1, gamma_FT = 0, c_PT -> 0 gives c_FT -> 2|beta_PT|, xi -> 1, so "
                        "(O, PD) -> (O(u), 1 - O(u)) with u = |beta|/(2|beta_PT|); then |beta|/|beta_PT| -> 0 gives "
                        "(2, -1)", passed=bool(c_II == 2 * s.bpt and xi_II == 1 and O_II_lim == 2 and PD_II_lim == -1)))
    steps.append(Step("Regime II (lazy, pretraining-dependent): at $\\lambda_{\\mathrm{PT}} = 1$, $\\gamma_{\\mathrm{FT}} = 0$ "
                      "and $c_{\\mathrm{PT}} \\to 0$ the scale is set by the pretrained coefficient and $\\xi \\to 1$, so "
                      "$\\mathrm{PD} = 1 - O(|\\beta|/(2|\\beta_{\\mathrm{PT}}|))$; the corner $(2, -1)$, the weighted "
                      "$\\ell_2$ penalty $q \\approx \\beta^2/(8|\\beta_{\\mathrm{PT}}|)$, is reached for "
                      "$|\\beta| \\ll |\\beta_{\\mathrm{PT}}|$",
                      sp.Tuple(sp.Eq(sp.Limit(s.cft, s.cpt, 0, "+"), c_II), sp.Eq(sp.Limit(s.xi, s.cpt, 0, "+"), xi_II),
                               sp.Eq(sp.Limit(s.PD, s.beta, 0, "+"), PD_II_lim))))
    # regime III: c_PT -> oo (lambda_PT = ell - 1 > -1), or gamma -> oo
    cft_ell, xi_ell = cft.subs(s.lam, ell - 1), xi.subs(s.lam, ell - 1)
    u_IIIc = L(s.beta / cft_ell, s.cpt, sp.oo)
    xi_IIIc = L(xi_ell, s.cpt, sp.oo)
    u_IIIg = L(s.beta / cft, s.g, sp.oo)
    xi_IIIg = L(xi, s.g, sp.oo)
    vals["III"] = (lim_u["0"], 0)
    checks.append(Check("regime III: c_PT -> oo (lambda_PT > -1) or gamma_FT -> oo gives u -> 0 and xi -> 0: (2, 0)",
                        passed=bool(u_IIIc == 0 and xi_IIIc == 0 and u_IIIg == 0 and xi_IIIg == 0)))
    steps.append(Step("Regime III (lazy, pretraining-independent): as $c_{\\mathrm{PT}} \\to \\infty$ (with "
                      "$\\lambda_{\\mathrm{PT}} > -1$) or $\\gamma_{\\mathrm{FT}} \\to \\infty$ the scale outgrows "
                      "$|\\beta|$ and loses its dependence on $\\beta_{\\mathrm{PT}}$: $(O, \\mathrm{PD}) \\to (2, 0)$",
                      sp.Tuple(sp.Eq(sp.Limit(u, s.cpt, sp.oo), u_IIIc), sp.Eq(sp.Limit(s.xi, s.cpt, sp.oo), xi_IIIc),
                               sp.Eq(sp.Limit(u, s.g, sp.oo), u_IIIg), sp.Eq(sp.Limit(s.xi, s.g, sp.oo), xi_IIIg))))
    # regime IV: c_PT -> 0, gamma = 0, -1 < lambda_PT < 1
    c_IV = L(cft_ell.subs(s.g, 0), s.cpt, 0)
    xi_IV = L(xi_ell.subs(s.g, 0), s.cpt, 0)
    u_IV = sp.simplify(s.beta / c_IV)
    okIV = (sp.simplify(c_IV - ell * s.bpt) == 0 and xi_IV == 1)
    checks.append(Check("regime IV: c_PT -> 0, gamma_FT = 0, -1 < lambda_PT < 1 gives c_FT -> (1 + lambda_PT)|beta_PT|, "
                        "xi -> 1: (O, PD) = (O(u*), 1 - O(u*)), u* = |beta|/((1 + lambda_PT)|beta_PT|), on the line "
                        "O + PD = 1 with 1 < O < 2", passed=bool(okIV)))
    ustar_raw = s.beta / ((1 + s.lam) * s.bpt)
    checks.append(check_identity(u_IV.subs(ell, 1 + s.lam), ustar_raw, "u* = |beta|/((1 + lambda_PT)|beta_PT|)",
                                 ranges={s.lam: (-0.9, 0.9)}))
    steps.append(Step("Regime IV (rich, pretraining-dependent): as $c_{\\mathrm{PT}} \\to 0$ at $\\gamma_{\\mathrm{FT}} = 0$ "
                      "and $-1 < \\lambda_{\\mathrm{PT}} < 1$, $\\xi \\to 1$ and the scale is a fraction of the pretrained "
                      "coefficient; $(O, \\mathrm{PD}) = (O_{*}, 1 - O_{*})$ lies inside the square, on the line "
                      "$O + \\mathrm{PD} = 1$, and moves from regime II to regime I as $\\lambda_{\\mathrm{PT}}$ goes from "
                      "1 to $-1$",
                      sp.Tuple(sp.Eq(sp.Limit(s.cft, s.cpt, 0, "+"), c_IV.subs(ell, 1 + s.lam)),
                               sp.Eq(sp.Limit(s.xi, s.cpt, 0, "+"), xi_IV))))
    failed = [c.description for c in checks if not c.passed]
    if failed:
        raise DerivationError(f"regimes.limits: limit checks failed: {failed}")
    names = {k: (sp.Symbol(f"O_{k}"), sp.Symbol(f"PD_{k}")) for k in ("I", "II", "III", "IV")}
    lhs = sp.Matrix([list(names[k]) for k in ("I", "II", "III", "IV")])
    rhs_named = sp.Matrix([list(vals["I"]), list(vals["II"]), list(vals["III"]), [s.Ostar, 1 - s.Ostar]])
    display = Display(sp.Eq(lhs, rhs_named, evaluate=False),
                      where=(Definition(s.Ostar, O_form.subs(u, s.ustar), "the l-order at $u_{*}$ "
                                        "(derivation regimes.l_order)"),
                             Definition(s.ustar, s.beta / ((1 + s.lam) * s.bpt))))
    statement = display.expanded()
    return Derivation(
        name="regimes.limits",
        title="The four finetuning regimes as limits of the initialisation",
        statement=statement,
        display=display,
        symbols=(s.beta, s.bpt, s.lam),
        assumptions=_ASSUMPTIONS + (
            "$\\beta_{\\mathrm{PT}} \\ne 0$: a coordinate the pretraining task used (otherwise $\\xi = 0$ and "
            "$\\mathrm{PD} = 0$ in every regime)",),
        source=_SOURCE,
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Rows: I ($\\lambda_{\\mathrm{PT}} \\to -1$, $\\gamma_{\\mathrm{FT}} \\to 0$), II "
               "($\\lambda_{\\mathrm{PT}} = 1$, $\\gamma_{\\mathrm{FT}} = 0$, $c_{\\mathrm{PT}} \\to 0$, then "
               "$|\\beta|/|\\beta_{\\mathrm{PT}}| \\to 0$), III ($c_{\\mathrm{PT}} \\to \\infty$ or "
               "$\\gamma_{\\mathrm{FT}} \\to \\infty$), IV ($c_{\\mathrm{PT}} \\to 0$, $\\gamma_{\\mathrm{FT}} = 0$, "
               "$-1 < \\lambda_{\\mathrm{PT}} < 1$). Difference from the regime list of [DL]: the parameter limit of "
               "regime II alone does not reach the corner $(2, -1)$; it gives $c_{\\mathrm{FT}} \\to 2|\\beta_{\\mathrm{PT}}|$ "
               "and $(O, \\mathrm{PD}) = (O(u), 1 - O(u))$ with $u = |\\beta|/(2|\\beta_{\\mathrm{PT}}|)$, so the lazy "
               "corner needs in addition finetuning coefficients small compared with the pretrained ones (e.g. "
               "$O = 1.963$, $\\mathrm{PD} = -0.963$ at $|\\beta| = |\\beta_{\\mathrm{PT}}|$). Regimes II and IV are the "
               "two ends of one family, $u_{*} = |\\beta|/((1 + \\lambda_{\\mathrm{PT}})|\\beta_{\\mathrm{PT}}|)$; the rich "
               "corner of regime I is approached only logarithmically in $u$."),
        extra={"values": vals, "u_II": u_II, "u_star": ustar_raw, "c_FT_IV": c_IV.subs(ell, 1 + s.lam)},
    )


# --------------------------------------------------------------------------------------------------
# numerics: classify_regime
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegimeClassification:
    """The [DL] regime of an initialisation, with the (O, PD) values and the margins that decided it.

    ``l_order`` and ``pretraining_dependence`` are evaluated at the representative magnitudes ``beta``
    (a typical finetuning coefficient |beta|) and ``beta_pt`` (the pretraining amplitude |beta_PT|) of a
    coordinate used by the pretraining task. The margins are the distances to the corners:
    ``o_minus_1 = O - 1``, ``two_minus_o = 2 - O``, ``minus_pd = -PD`` (to 0), ``pd_plus_1 = PD + 1`` (to -1).
    Regime "I" when ``o_minus_1 <= o_tol`` and ``minus_pd <= pd_tol``; "II" when ``two_minus_o <= o_tol`` and
    ``pd_plus_1 <= pd_tol``; "III" when ``two_minus_o <= o_tol`` and ``minus_pd <= pd_tol``; otherwise "IV"
    (the interior, 1 < O < 2 and -1 < PD < 0, of [DL]).
    """

    regime: str
    l_order: float
    pretraining_dependence: float
    beta: float
    beta_pt: float
    c_ft: float
    u: float
    o_minus_1: float
    two_minus_o: float
    minus_pd: float
    pd_plus_1: float
    o_tol: float
    pd_tol: float
    reason: str

    @property
    def margins(self) -> dict[str, float]:
        """The four distances to the corners, by name."""
        return {"O-1": self.o_minus_1, "2-O": self.two_minus_o, "-PD": self.minus_pd, "PD+1": self.pd_plus_1}


@functools.lru_cache(maxsize=None)
def _numeric():
    """NumPy functions lambdified once from the derivations: O(u), c_FT(c_PT, lambda_PT, gamma_FT, |beta_PT|), xi(...)."""
    import numpy as np

    s = _s()
    d_O = l_order()
    d_PD = pretraining_dependence()
    O_u = d_O.extra["O_of_u"]
    # forms without overflow for small c_PT: c_PT (1 + R) = c_PT + sqrt(c_PT^2 + beta_PT^2)
    root = sp.sqrt(s.cpt**2 + s.bpt**2)
    cft_form = (1 + s.lam) * (s.cpt + root) + s.g**2 / 2
    xi_form = (1 - s.g**2 / (2 * cft_form)) * s.bpt**2 / (root * (s.cpt + root))
    rng = {s.lam: (-0.9, 1.0), s.g: (0.0, 1.5), s.cpt: (0.05, 2.0), s.bpt: (0.1, 3.0)}
    numeric_identity(cft_form, d_O.extra["c_FT"], "c_FT without overflow", ranges=rng)
    numeric_identity(xi_form, d_PD.extra["xi"], "xi without overflow", ranges=rng)
    f_O = sp.lambdify(s.u, O_u, "numpy")
    f_c = sp.lambdify((s.cpt, s.lam, s.g, s.bpt), cft_form, "numpy")
    f_xi = sp.lambdify((s.cpt, s.lam, s.g, s.bpt), xi_form, "numpy")
    return np, f_O, f_c, f_xi


def regime_values(*, c_pt: float, lambda_pt: float, gamma_ft: float, beta: float = 1.0,
                  beta_pt: float = 1.0) -> tuple[float, float, float, float]:
    """(O, PD, c_FT, u) at one coordinate, from the lambdified derivations (validated like :func:`classify_regime`).

    ``c_FT = 0`` (``lambda_pt = -1`` and ``gamma_ft = 0``) returns the limit (O, PD) = (1, 0) with ``u = inf``;
    ``beta = 0`` returns the limit O = 2.
    """
    _validate(c_pt=c_pt, lambda_pt=lambda_pt, gamma_ft=gamma_ft, beta=beta, beta_pt=beta_pt)
    np, f_O, f_c, f_xi = _numeric()
    b, bpt = abs(float(beta)), abs(float(beta_pt))
    c_ft = float(f_c(float(c_pt), float(lambda_pt), float(gamma_ft), bpt))
    if c_ft == 0.0:
        return 1.0, 0.0, 0.0, math.inf
    u = b / c_ft
    if u < 1e-150:
        O = 2.0
    elif u > 1e150:
        L = math.asinh(u)
        O = L / (L - 1.0)
    else:
        O = float(f_O(u))
    xi = float(f_xi(float(c_pt), float(lambda_pt), float(gamma_ft), bpt)) if bpt > 0 else 0.0
    PD = (1.0 - O) * xi
    return O, PD, c_ft, u


def _validate(**kw) -> None:
    for name, v in kw.items():
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a real number, got {v!r}") from None
        if math.isnan(x) or math.isinf(x):
            raise ValueError(f"{name} must be finite, got {v!r}")
    if float(kw["c_pt"]) <= 0:
        raise ValueError(f"c_pt must be > 0 (the pretraining initialisation scale), got {kw['c_pt']!r}")
    if not -1.0 <= float(kw["lambda_pt"]) <= 1.0:
        raise ValueError(f"lambda_pt must lie in [-1, 1] (the relative scale of the two layers), got {kw['lambda_pt']!r}")
    if float(kw["gamma_ft"]) < 0:
        raise ValueError(f"gamma_ft must be >= 0 (the readout scale at the start of finetuning), got {kw['gamma_ft']!r}")


def classify_regime(*, c_pt: float, lambda_pt: float, gamma_ft: float, beta: float = 1.0, beta_pt: float = 1.0,
                    o_tol: float = 0.1, pd_tol: float = 0.1) -> RegimeClassification:
    """Name the [DL] finetuning regime ("I", "II", "III" or "IV") of an initialisation.

    Parameters
    ----------
    c_pt, lambda_pt, gamma_ft : the pretraining initialisation scale (> 0), relative scale (in [-1, 1], paper
        normalisation ``(w0^2 - v0^2)/c_PT``) and the finetuning readout scale (>= 0).
    beta : representative |beta| of a finetuning coefficient (default 1: ``E[beta^2] = 1`` normalisation).
    beta_pt : representative |beta_PT| of a pretrained coefficient (default 1: the pretraining amplitude).
        Signs are ignored (the penalty is even).
    o_tol, pd_tol : thresholds in (0, 0.5) on the distances of O to 1 or 2 and of PD to 0 or -1.

    The l-order O and the pretraining dependence PD are evaluated from the derivations ``regimes.l_order`` and
    ``regimes.pretraining_dependence`` (lambdified once, on the first call). Raises ``ValueError`` naming the
    parameter for ``c_pt <= 0``, ``lambda_pt`` outside [-1, 1], ``gamma_ft < 0``, NaN or infinite values.
    """
    _validate(c_pt=c_pt, lambda_pt=lambda_pt, gamma_ft=gamma_ft, beta=beta, beta_pt=beta_pt, o_tol=o_tol,
              pd_tol=pd_tol)
    for name, tol in (("o_tol", o_tol), ("pd_tol", pd_tol)):
        if not 0 < float(tol) < 0.5:
            raise ValueError(f"{name} must lie in (0, 0.5), got {tol!r}")
    O, PD, c_ft, u = regime_values(c_pt=c_pt, lambda_pt=lambda_pt, gamma_ft=gamma_ft, beta=beta, beta_pt=beta_pt)
    m = {"O-1": O - 1.0, "2-O": 2.0 - O, "-PD": -PD, "PD+1": PD + 1.0}
    rich, lazy = m["O-1"] <= o_tol, m["2-O"] <= o_tol
    indep, full = m["-PD"] <= pd_tol, m["PD+1"] <= pd_tol
    if rich and indep:
        regime, why = "I", f"O - 1 = {m['O-1']:.3g} <= {o_tol} and -PD = {m['-PD']:.3g} <= {pd_tol}"
    elif lazy and full:
        regime, why = "II", f"2 - O = {m['2-O']:.3g} <= {o_tol} and PD + 1 = {m['PD+1']:.3g} <= {pd_tol}"
    elif lazy and indep:
        regime, why = "III", f"2 - O = {m['2-O']:.3g} <= {o_tol} and -PD = {m['-PD']:.3g} <= {pd_tol}"
    else:
        regime, why = "IV", (f"no corner within the thresholds: O - 1 = {m['O-1']:.3g}, 2 - O = {m['2-O']:.3g}, "
                             f"-PD = {m['-PD']:.3g}, PD + 1 = {m['PD+1']:.3g}")
    return RegimeClassification(regime=regime, l_order=O, pretraining_dependence=PD, beta=abs(float(beta)),
                                beta_pt=abs(float(beta_pt)), c_ft=c_ft, u=u, o_minus_1=m["O-1"],
                                two_minus_o=m["2-O"], minus_pd=m["-PD"], pd_plus_1=m["PD+1"], o_tol=float(o_tol),
                                pd_tol=float(pd_tol), reason=why)
