"""Fine-tuning with linear teachers ([SBG]): linear regression, deep linear networks, the ReLU NTK.

A model pretrained on a source task (end-to-end vector ``theta_S``) is fine-tuned by gradient descent on
``n < d`` samples ``y = X theta_T + xi`` of a target task. This module derives, as registered derivations:

``linear_teachers.finetune_limit``
    gradient flow on (1/2)||X theta - y||^2 from theta_S converges to theta_S + X^+(y - X theta_S), the
    interpolator closest to theta_S (flow in theta_S + row space; KKT of the minimum-distance problem).
``linear_teachers.population_risk``
    its excess risk for a target covariance Sigma and label noise sigma^2:
    ||Sigma^{1/2}(I - P)(theta_S - theta_T)||^2 + sigma^2 tr(Sigma (X^T X)^+), P = X^+ X.
``linear_teachers.expected_risk_isotropic``
    the mean over isotropic Gaussian designs: (1 - n/d)||theta_S - theta_T||^2 + sigma^2 n/(d - n - 1).
``linear_teachers.similarity``
    the number of target samples that reach an expected risk epsilon, n_eps = d (1 - epsilon/||theta_S -
    theta_T||^2), and the covariance effects (a rank-k covariance needs n = k; fine-tuning can be worse
    than the pretrained model when Sigma is anisotropic).
``linear_teachers.deep_linear_limit``
    depth-N linear network from balanced pretrained weights: w_inf = X^+ y + c (I - P) theta_S with
    c^{2N/(N-1)} ||theta_S||^2 = ||X^+ y||^2 + c^2 ||(I - P) theta_S||^2; c = 1 at N = 1,
    c -> ||X^+ y||/||P theta_S|| as N -> oo (only the direction of theta_S matters).
``linear_teachers.relu_ntk``
    the ReLU NTK from the arc-cosine kernels kappa_0, kappa_1 (Cho & Saul 2009), fine-tuning in the NTK
    regime as kernel regression of the residual from the pretrained function, and the sample-complexity
    quantity r^T H^{-1} r <= 4 ||theta_T - theta_S||^2 for linear teachers.

Conventions: rows of X are the n target inputs (n < d, X of full row rank), X^+ = X^T (X X^T)^{-1},
P = X^+ X the orthogonal projector on the row space of X. The risk is the *excess* risk
R(theta) = E_x (x^T theta - x^T theta_T)^2 = (theta - theta_T)^T Sigma (theta - theta_T): the test-label noise
floor sigma^2 is not included (the full test mean squared error is R + sigma^2).

Sources: [SBG] Shachaf, Brutzkus & Globerson, NeurIPS 2021, arXiv:2107.01641 (the setting and the claims);
Arora, Cohen & Hazan, ICML 2018 (end-to-end dynamics of balanced deep linear networks); Cho & Saul,
NeurIPS 2009 (arc-cosine kernels); Du et al., ICLR 2019 and Arora, Du, Hu, Li & Wang, ICML 2019 (the
two-layer ReLU NTK and its generalisation bound). Importing this module does no SymPy work.
"""
from __future__ import annotations

import functools
import random
from types import SimpleNamespace

import sympy as sp

from ptft.theory.derivation import (Check, Definition, Derivation, DerivationError, Display, Step, check_identity,
                                    register)

__all__ = ["deep_linear_c_equation", "ntk_kappa0", "ntk_kappa1"]

_SRC = "Shachaf, Brutzkus & Globerson, arXiv:2107.01641 [SBG]"
_SRC_ARORA18 = "Arora, Cohen & Hazan, ICML 2018 (end-to-end dynamics of balanced deep linear networks)"
_SRC_NTK = ("Cho & Saul, NeurIPS 2009 (arc-cosine kernels); Du, Zhai, Poczos & Singh, ICLR 2019 and Arora, Du, Hu, "
            "Li & Wang, ICML 2019 (two-layer ReLU NTK, generalisation bound)")
_NOT_READ = ("The text of [SBG] beyond its abstract could not be read here (only the abstract and the caption of "
             "its Figure 2 were available); this result is derived independently and its agreement with the "
             "paper's theorem is not verified.")


@functools.lru_cache(maxsize=None)
def _s() -> SimpleNamespace:
    """Symbols of this module, with the assumptions the algebra uses, and their printed names."""
    from ptft.theory.latex import SYMBOL_MEANING, SYMBOL_TEX

    printed = {
        "theta_FT": r"\theta_{\mathrm{FT}}", "theta_S": r"\theta_{S}", "theta_T": r"\theta_{T}",
        "dist2": r"\|\theta_S - \theta_T\|^2", "normS2": r"\|\theta_S\|^2", "normT2": r"\|\theta_T\|^2",
        "b2": r"\|X^{+} y\|^2", "q2": r"\|(I - P)\theta_S\|^2", "p2": r"\|P\theta_S\|^2",
        "ER": r"\mathbb{E}R", "n_eps": r"n_{\epsilon}", "n_eps0": r"n_{\epsilon}^{0}", "w_inf": r"w_{\infty}",
        "kappa_0": r"\kappa_0", "kappa_1": r"\kappa_1", "Theta_NTK": r"\Theta", "wdot": r"\dot{w}",
        "rHr": r"r^T H^{-1} r", "PdTS": r"\|P(\theta_T - \theta_S)\|^2", "E_P": r"\mathbb{E}P",
        "E_inv_chi2": r"\mathbb{E}\,z^{-1}", "theta_inf": r"\theta_{\infty}^T", "I_acc": r"\int_0^\infty r\,dt",
        "asin_series": r"\arcsin u", "D_dir": r"D_{\mathrm{dir}}",
    }
    for k, v in printed.items():
        SYMBOL_TEX.setdefault(k, v)
    meaning = {
        "n": "number of target samples (rows of $X$)",
        "d": "input dimension",
        "N": "depth of the linear network (number of weight matrices)",
        "sigma": "standard deviation of the target label noise",
        "dist2": "squared distance between the source and target teachers",
        "normS2": "squared norm of the pretrained end-to-end vector",
        "normT2": "squared norm of the target teacher",
        "b2": "squared norm of the minimum-norm interpolator $X^{+}y$",
        "q2": "squared norm of the part of $\\theta_S$ outside the row space of $X$",
        "ER": "expected excess risk over isotropic Gaussian designs and label noise",
        "n_eps": "target samples that reach an expected excess risk $\\epsilon$ when fine-tuning",
        "n_eps0": "target samples that reach an expected excess risk $\\epsilon$ from $\\theta = 0$",
        "epsilon": "target excess risk",
        "u": "cosine of the angle between two unit-norm inputs",
        "kappa_0": "arc-cosine kernel of degree 0 ([Cho & Saul 2009])",
        "kappa_1": "arc-cosine kernel of degree 1 ([Cho & Saul 2009])",
    }
    for k, v in meaning.items():
        SYMBOL_MEANING.setdefault(k, v)
    n = sp.Symbol("n", positive=True, integer=True)
    d = sp.Symbol("d", positive=True, integer=True)
    return SimpleNamespace(
        n=n, d=d,
        X=sp.MatrixSymbol("X", n, d), y=sp.MatrixSymbol("y", n, 1), xi=sp.MatrixSymbol("xi", n, 1),
        thS=sp.MatrixSymbol("theta_S", d, 1), thT=sp.MatrixSymbol("theta_T", d, 1),
        thFT=sp.MatrixSymbol("theta_FT", d, 1), Sig=sp.MatrixSymbol("Sigma", d, d), Id=sp.Identity(d),
        sigma=sp.Symbol("sigma", nonnegative=True), t=sp.Symbol("t", nonnegative=True),
        dist2=sp.Symbol("dist2", positive=True), normS2=sp.Symbol("normS2", positive=True),
        normT2=sp.Symbol("normT2", positive=True), b2=sp.Symbol("b2", positive=True),
        q2=sp.Symbol("q2", nonnegative=True), p2=sp.Symbol("p2", positive=True),
        c=sp.Symbol("c", positive=True), a=sp.Symbol("a", positive=True), a0=sp.Symbol("a_0", positive=True),
        N=sp.Symbol("N", positive=True, integer=True), eps=sp.Symbol("epsilon", positive=True),
        ER=sp.Symbol("ER"), R=sp.Symbol("R"), neps=sp.Symbol("n_eps"), neps0=sp.Symbol("n_eps0"),
        u=sp.Symbol("u", real=True), theta=sp.Symbol("theta", positive=True),
        r=sp.Symbol("r", positive=True), phi=sp.Symbol("phi", real=True), lam=sp.Symbol("lambda", positive=True),
        k0=sp.Function("kappa_0"), k1=sp.Function("kappa_1"), Th=sp.Function("Theta_NTK"),
    )


# --------------------------------------------------------------------------------------------------
# helpers: exact instances of the matrix statements
# --------------------------------------------------------------------------------------------------
def _int_matrix(rows: int, cols: int, seed: int) -> sp.Matrix:
    """A pseudo-random integer matrix (entries in -3..3) of full rank min(rows, cols)."""
    rnd = random.Random(seed)
    while True:
        M = sp.Matrix(rows, cols, lambda i, j: rnd.randint(-3, 3))
        if M.rank() == min(rows, cols):
            return M


def _meq(lhs, rhs) -> sp.Equality:
    """An unevaluated equation (matrix expressions must not be compared structurally)."""
    return sp.Eq(lhs, rhs, evaluate=False)


def _vec(name: str, k: int) -> sp.Matrix:
    return sp.Matrix(sp.symbols(f"{name}_1:{k + 1}", real=True))


def _check_entries(A: sp.Matrix, B: sp.Matrix, description: str, **kw) -> Check:
    """Entrywise ``check_identity`` of two explicit matrices, reported as one check."""
    if A.shape != B.shape:
        raise DerivationError(f"{description}: shapes differ, {A.shape} vs {B.shape}")
    worst, symbolic = 0.0, True
    for a, b in zip(A, B):
        ch = check_identity(a, b, description, **kw)
        worst = max(worst, ch.numeric_max_error or 0.0)
        symbolic = symbolic and not ch.description.endswith("[numeric only]")
    return Check(description + ("" if symbolic else " [numeric only]"), True, worst)


# --------------------------------------------------------------------------------------------------
# linear_teachers.finetune_limit
# --------------------------------------------------------------------------------------------------
@register("linear_teachers.finetune_limit",
          title="Gradient flow from the pretrained vector converges to the interpolator closest to it")
def finetune_limit() -> Derivation:
    """theta_FT = theta_S + X^+(y - X theta_S) = argmin ||theta - theta_S|| subject to X theta = y.

    In words: gradient flow (or gradient descent with a small enough step) on (1/2)||X theta - y||^2 started at
    the pretrained vector theta_S moves only inside theta_S + row space of X and converges to the interpolator
    closest to theta_S. Source: [SBG] (linear regression section); derived here. Assumptions: n < d, X of full
    row rank n (so X X^T is invertible and X^+ = X^T (X X^T)^{-1}).
    """
    s = _s()
    X, y, thS = s.X, s.y, s.thS
    Xp = X.T * (X * X.T).I
    lam = sp.MatrixSymbol("lambda", s.n, 1)
    steps = [
        Step("The gradient of $L(\\theta) = \\frac{1}{2}\\|X\\theta - y\\|^2$ lies in the row space of $X$, so "
             "the flow $\\dot\\theta = -\\nabla L$ stays in $\\theta_S + \\operatorname{row}(X)$: "
             "$\\theta(t) = \\theta_S + X^T \\lambda(t)$ for some $\\lambda(t) \\in \\mathbb{R}^n$",
             _meq(sp.MatrixSymbol("g", s.d, 1), X.T * (X * sp.MatrixSymbol("theta", s.d, 1) - y))),
        Step("The residual $r = X\\theta - y$ obeys $\\dot r = -X X^T r$; $X X^T$ is positive definite, so "
             "$r(t) = e^{-X X^T t} r(0) \\to 0$ and $\\lambda(\\infty) = -(X X^T)^{-1} r(0)$",
             _meq(lam, (X * X.T).I * (y - X * thS))),
        Step("The minimum-distance problem $\\min \\frac{1}{2}\\|\\theta - \\theta_S\\|^2$ s.t. $X\\theta = y$ is "
             "strictly convex; its KKT conditions $\\theta - \\theta_S = X^T\\lambda$, $X\\theta = y$ give the "
             "same $\\lambda$, hence the same point",
             _meq(s.thFT, thS + Xp * (y - X * thS))),
    ]
    checks = []
    # (a) n = 1, d = 3, fully symbolic: solve the flow (dsolve) and the KKT system (solve)
    x = _vec("x", 3)
    th0 = _vec("s", 3)
    yy = sp.Symbol("y_1", real=True)
    tau = s.t
    rf = sp.Function("r")
    xx = (x.T * x)[0]
    L = sp.Symbol("L", positive=True)  # ||x||^2 > 0
    r0 = (x.T * th0)[0] - yy
    sol = sp.dsolve(sp.Eq(rf(tau).diff(tau), -L * rf(tau)), rf(tau), ics={rf(0): r0}).rhs
    tau_ = sp.Symbol("tau_", positive=True)
    acc = sp.integrate(sol.subs(tau, tau_), (tau_, 0, tau))
    acc_inf = sp.limit(acc, tau, sp.oo)
    checks.append(check_identity(acc_inf, r0 / L, "the accumulated residual int_0^oo r dt = r(0)/||x||^2 (dsolve, "
                                 "integrate, limit)"))
    theta_inf = th0 - x * acc_inf.subs(L, xx)
    formula_1 = th0 + x * (yy - (x.T * th0)[0]) / xx
    steps.append(Step("One sample ($n = 1$, $d = 3$), solved explicitly: $\\dot r = -\\|x\\|^2 r$ and "
                      "$\\dot\\theta = -x r$ give, as $t \\to \\infty$",
                      _meq(sp.Symbol("theta_inf"), sp.simplify(theta_inf.T))))
    checks.append(_check_entries(theta_inf, formula_1, "n = 1, d = 3: the limit of the solved flow is "
                                 "theta_S + x (y - x^T theta_S)/||x||^2"))
    lam1 = sp.Symbol("lambda_1", real=True)
    th_var = _vec("v", 3)
    lag = ((th_var - th0).T * (th_var - th0))[0] / 2 - lam1 * ((x.T * th_var)[0] - yy)
    kkt = sp.solve([sp.diff(lag, v) for v in th_var] + [(x.T * th_var)[0] - yy], list(th_var) + [lam1], dict=True)
    checks.append(_check_entries(sp.Matrix([kkt[0][v] for v in th_var]), formula_1,
                                 "n = 1, d = 3: the KKT point of min ||theta - theta_S|| s.t. x^T theta = y is the "
                                 "same"))
    # (b) n = 2, d = 4, an exact integer design with symbolic theta_S, y: KKT = formula, P idempotent, X theta = y
    Xn = _int_matrix(2, 4, seed=1)
    thS_n, y_n = _vec("s", 4), _vec("y", 2)
    Xpn = Xn.pinv()
    ft = thS_n + Xpn * (y_n - Xn * thS_n)
    lam_v = _vec("l", 2)
    th_v = _vec("v", 4)
    grad = (th_v - thS_n) - Xn.T * lam_v
    kkt2 = sp.solve(list(grad) + list(Xn * th_v - y_n), list(th_v) + list(lam_v), dict=True)[0]
    checks += [
        _check_entries(Xpn, Xn.T * (Xn * Xn.T).inv(), "n = 2, d = 4 (integer X): X^+ = X^T (X X^T)^{-1}"),
        _check_entries(th_v.subs(kkt2), ft, "n = 2, d = 4: the KKT point equals theta_S + X^+(y - X theta_S)"),
        _check_entries(Xn * ft, y_n, "n = 2, d = 4: the limit interpolates, X theta_FT = y"),
        _check_entries((sp.eye(4) - Xpn * Xn) * (ft - thS_n), sp.zeros(4, 1),
                       "n = 2, d = 4: theta_FT - theta_S lies in the row space of X, (I - P)(theta_FT - theta_S) = 0"),
    ]
    return Derivation(
        name="linear_teachers.finetune_limit",
        title="Gradient flow from the pretrained vector converges to the interpolator closest to it",
        statement=_meq(s.thFT, thS + Xp * (y - X * thS)),
        symbols=(X, thS, y),
        assumptions=(
            "Linear model $x \\mapsto x^T\\theta$, square loss $\\frac{1}{2}\\|X\\theta - y\\|^2$ on $n < d$ target "
            "samples; gradient flow, or gradient descent with step below $2/\\lambda_{\\max}(X X^T)$, from "
            "$\\theta(0) = \\theta_S$",
            "$X$ has full row rank $n$, so $X^{+} = X^T (X X^T)^{-1}$ and $P = X^{+}X$ projects on its row space",
        ),
        source=f"{_SRC} (linear regression); derived here (dsolve, KKT)",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("Equivalently $\\theta_{\\mathrm{FT}} = X^{+}y + (I - P)\\theta_S$: the row-space part is fixed by the "
               "data, the null-space part is inherited unchanged from pretraining. With $\\theta_S = 0$ it is the "
               "minimum-norm interpolator."),
    )


# --------------------------------------------------------------------------------------------------
# linear_teachers.population_risk
# --------------------------------------------------------------------------------------------------
def _expect_gaussian_noise(expr: sp.Expr, xi: sp.Matrix, sigma: sp.Symbol) -> sp.Expr:
    """E over xi ~ (0, sigma^2 I) of a polynomial of degree <= 2 in the entries of xi."""
    poly = sp.Poly(sp.expand(expr), *xi)
    out = sp.Integer(0)
    for monom, coeff in poly.terms():
        deg = sum(monom)
        if deg == 0:
            out += coeff
        elif deg == 2 and max(monom) == 2:
            out += coeff * sigma**2
        elif deg > 2:
            raise DerivationError("noise expectation: degree > 2")
    return sp.expand(out)


@register("linear_teachers.population_risk",
          title="Excess risk of the fine-tuned linear model for a target covariance and label noise")
def population_risk() -> Derivation:
    """R = ||Sigma^{1/2}(I - P)(theta_S - theta_T)||^2 + sigma^2 tr(Sigma (X^T X)^+), averaged over the label noise.

    In words: the fine-tuned vector misses the target by the part of theta_S - theta_T outside the row space of X
    (bias, weighted by the target covariance Sigma) plus the interpolated noise X^+ xi (variance).
    Source: [SBG] (linear regression: risk in terms of theta_S, theta_T and Sigma); derived here.
    Assumptions: target inputs x ~ (0, Sigma), labels y = X theta_T + xi with E xi = 0, E xi xi^T = sigma^2 I,
    independent of X; excess risk without the noise floor.
    """
    s = _s()
    X, thS, thT, Sig, Id = s.X, s.thS, s.thT, s.Sig, s.Id
    Xp = X.T * (X * X.T).I
    P = Xp * X
    delta = thS - thT
    bias = sp.Trace(delta.T * (Id - P) * Sig * (Id - P) * delta)
    var = s.sigma**2 * sp.Trace(Sig * X.T * (X * X.T) ** -2 * X)
    steps = [
        Step("With $y = X\\theta_T + \\xi$ and $X^{+}X = P$, the fine-tuned vector of derivation "
             "linear_teachers.finetune_limit misses the target by",
             _meq(s.thFT - thT, (Id - P) * delta + Xp * s.xi)),
        Step("The excess risk is the $\\Sigma$-weighted squared error, $R(\\theta) = E_x (x^T\\theta - "
             "x^T\\theta_T)^2$; averaged over $\\xi$ the cross term vanishes ($E\\xi = 0$) and $E \\xi^T A \\xi = "
             "\\sigma^2 \\operatorname{tr} A$ leaves",
             sp.Eq(s.R, bias + s.sigma**2 * sp.Trace(Xp.T * Sig * Xp))),
        Step("Finally, by the cyclic property of the trace and $X^{+}X^{+T} = X^T (X X^T)^{-2} X = (X^T X)^{+}$ "
             "(full row rank), the variance is $\\sigma^2 \\operatorname{tr}(\\Sigma (X^TX)^{+})$",
             _meq(sp.Trace(Xp.T * Sig * Xp), sp.Trace(Sig * X.T * (X * X.T) ** -2 * X))),
    ]
    # exact instance: n = 2, d = 3, integer X, symbolic theta_S, theta_T, symmetric Sigma, noise xi
    Xn = _int_matrix(2, 3, seed=2)
    a, b, xi = _vec("s", 3), _vec("t", 3), _vec("xi", 2)
    sg = sp.symbols("S_11 S_12 S_13 S_22 S_23 S_33", real=True)
    Sn = sp.Matrix([[sg[0], sg[1], sg[2]], [sg[1], sg[3], sg[4]], [sg[2], sg[4], sg[5]]])
    Xpn = Xn.pinv()
    yv = Xn * b + xi
    ft = a + Xpn * (yv - Xn * a)
    risk = ((ft - b).T * Sn * (ft - b))[0]
    mean_risk = _expect_gaussian_noise(risk, xi, s.sigma)
    Pn = Xpn * Xn
    formula = ((a - b).T * (sp.eye(3) - Pn) * Sn * (sp.eye(3) - Pn) * (a - b))[0] \
        + s.sigma**2 * (Sn * (Xn.T * Xn).pinv()).trace()
    checks = [
        check_identity(mean_risk, formula, "n = 2, d = 3 (integer X, symbolic Sigma, theta_S, theta_T): the noise "
                       "average of (theta_FT - theta_T)^T Sigma (theta_FT - theta_T) equals the formula"),
        _check_entries(Xpn * Xpn.T, (Xn.T * Xn).pinv(), "X^+ X^+T = (X^T X)^+ (exact, integer X)"),
        _check_entries(Xpn * Xpn.T, Xn.T * ((Xn * Xn.T) ** 2).inv() * Xn, "X^+ X^+T = X^T (X X^T)^{-2} X"),
        _check_entries(Pn * Pn, Pn, "P = X^+ X is idempotent"),
        _check_entries(Pn.T, Pn, "P is symmetric (an orthogonal projector)"),
    ]
    return Derivation(
        name="linear_teachers.population_risk",
        title="Excess risk of the fine-tuned linear model for a target covariance and label noise",
        statement=sp.Eq(s.R, bias + var),
        symbols=(X, thS, thT, Sig, s.sigma),
        assumptions=(
            "Target inputs $x$ with $E x x^T = \\Sigma$; training labels $y = X\\theta_T + \\xi$, $E\\xi = 0$, "
            "$E\\xi\\xi^T = \\sigma^2 I_n$, $\\xi$ independent of $X$; the risk is averaged over $\\xi$ at fixed $X$",
            "Excess risk $R(\\theta) = E_x(x^T\\theta - x^T\\theta_T)^2 = (\\theta - \\theta_T)^T\\Sigma(\\theta - "
            "\\theta_T)$: the noise floor $\\sigma^2$ of a noisy test label is not included",
            "$X$ of full row rank $n < d$; $P = X^{+}X = X^T(XX^T)^{-1}X$",
        ),
        source=f"{_SRC} (linear regression); derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("The trace of the $1\\times 1$ bias term is $\\|\\Sigma^{1/2}(I - P)(\\theta_S - \\theta_T)\\|^2$. "
               "Only the part of $\\theta_S - \\theta_T$ outside the row space of the target data costs, and it "
               "costs in the $\\Sigma$-norm: source-target similarity is measured through the target covariance."),
    )


# --------------------------------------------------------------------------------------------------
# linear_teachers.expected_risk_isotropic
# --------------------------------------------------------------------------------------------------
@register("linear_teachers.expected_risk_isotropic",
          title="Expected excess risk of fine-tuning over isotropic Gaussian designs")
def expected_risk_isotropic() -> Derivation:
    """E R = (1 - n/d)||theta_S - theta_T||^2 + sigma^2 n/(d - n - 1), rows of X i.i.d. N(0, I_d), d > n + 1.

    In words: a random isotropic design removes, on average, the fraction n/d of the source-target gap; the
    interpolated noise costs sigma^2 n/(d - n - 1). Source: [SBG] (isotropic case); derived here, with the mean
    of an inverse Wishart matrix (Muirhead 1982, Thm 3.2.12) as a stated classical fact (derived for n = 1).
    Assumptions: Sigma = I, Gaussian rows, d > n + 1 (finite variance term).
    """
    s = _s()
    n, d, sigma = s.n, s.d, s.sigma
    steps, checks = [], []
    # E[P] = p I by rotational invariance: a 2x2 matrix commuting with every rotation and a reflection is p I
    m11, m12, m21, m22 = sp.symbols("m_11 m_12 m_21 m_22", real=True)
    M = sp.Matrix([[m11, m12], [m21, m22]])
    Rot = sp.Matrix([[0, -1], [1, 0]])  # rotation by pi/2
    Ref = sp.Matrix([[1, 0], [0, -1]])
    sol = sp.solve(list(M * Rot - Rot * M) + list(M * Ref - Ref * M), [m12, m21, m22], dict=True)[0]
    Msol = M.subs(sol)
    steps.append(Step("For orthogonal $Q$, $XQ$ has the law of $X$ and $P(XQ) = Q^T P(X) Q$, so $E[P]$ commutes "
                      "with every orthogonal matrix; in $d = 2$, commuting with a rotation and a reflection already "
                      "forces a multiple of the identity", sp.Eq(sp.Symbol("E_P"), Msol)))
    checks.append(_check_entries(Msol, m11 * sp.eye(2), "a 2x2 matrix commuting with rot(pi/2) and diag(1, -1) is "
                                 "m_11 I (sp.solve)"))
    p = sp.Symbol("p", positive=True)
    p_sol = sp.solve(sp.Eq(d * p, n), p)[0]
    steps.append(Step("$E[P] = pI$ and $\\operatorname{tr} P = \\operatorname{rank} X = n$ almost surely give",
                      sp.Eq(p, p_sol)))
    bias = sp.expand((1 - p_sol) * s.dist2)
    steps.append(Step("Hence the bias of derivation linear_teachers.population_risk at $\\Sigma = I$, "
                      "$E(\\theta_S - \\theta_T)^T (I - P)(\\theta_S - \\theta_T)$, is",
                      sp.Eq(sp.Symbol("B"), bias)))
    # inverse Wishart: n = 1 derived from the chi-square density
    k = sp.Symbol("k", positive=True)  # k = d - 2 > 0
    z = sp.Symbol("z", positive=True)
    dens = z ** ((k + 2) / 2 - 1) * sp.exp(-z / 2) / (2 ** ((k + 2) / 2) * sp.gamma((k + 2) / 2))
    e_inv = sp.simplify(sp.integrate(dens / z, (z, 0, sp.oo)))
    checks.append(check_identity(sp.integrate(dens, (z, 0, sp.oo)), sp.Integer(1), "the chi-square density with "
                                 "d = k + 2 degrees of freedom integrates to 1"))
    steps.append(Step("For $n = 1$, $XX^T = \\|x\\|^2 \\sim \\chi^2_d$; integrating $1/z$ against its density "
                      "(with $d = k + 2$, $k > 0$)", sp.Eq(sp.Symbol("E_inv_chi2"), e_inv)))
    var_general = n / (d - n - 1)
    checks.append(check_identity(e_inv, var_general.subs({n: 1, d: k + 2}),
                                 "n = 1: E 1/chi^2_d = 1/(d - 2) = n/(d - n - 1) at n = 1"))
    steps.append(Step("In general $\\operatorname{tr}(X^TX)^{+} = \\operatorname{tr}(XX^T)^{-1}$ with $XX^T \\sim "
                      "W_n(I, d)$ and $E\\,W^{-1} = I_n/(d - n - 1)$ for $d > n + 1$ (classical; Muirhead 1982, "
                      "Thm 3.2.12), so the variance is", sp.Eq(sp.Symbol("V"), sigma**2 * var_general)))
    ER = bias + sigma**2 * var_general
    checks.append(check_identity(ER.subs(sigma, 0) - s.dist2, -n * s.dist2 / d,
                                 "noiseless: the mean risk drops linearly in n from ||theta_S - theta_T||^2"))
    return Derivation(
        name="linear_teachers.expected_risk_isotropic",
        title="Expected excess risk of fine-tuning over isotropic Gaussian designs",
        statement=sp.Eq(s.ER, ER),
        symbols=(n, d, s.dist2, sigma),
        assumptions=(
            "Rows of $X$ i.i.d. $N(0, I_d)$ (so $\\Sigma = I$), $n < d - 1$; labels $y = X\\theta_T + \\xi$, "
            "$E\\xi\\xi^T = \\sigma^2 I_n$; expectation over $X$ and $\\xi$ of the excess risk (no noise floor)",
            "Classical fact used as an assumption (derived here for $n = 1$, checked by Monte Carlo in the tests): "
            "$E (XX^T)^{-1} = I_n/(d - n - 1)$, the mean of an inverse Wishart matrix (Muirhead 1982, Thm 3.2.12)",
        ),
        source=f"{_SRC} (isotropic case); derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("$\\theta_S = 0$ gives the risk of the minimum-norm interpolator, $(1 - n/d)\\|\\theta_T\\|^2 + "
               "\\sigma^2 n/(d - n - 1)$: pretraining helps exactly when $\\|\\theta_S - \\theta_T\\| < "
               "\\|\\theta_T\\|$. The bias is exact for every design law invariant under rotations; the variance "
               "needs the Gaussian (Wishart) law."),
    )


# --------------------------------------------------------------------------------------------------
# linear_teachers.similarity
# --------------------------------------------------------------------------------------------------
@register("linear_teachers.similarity",
          title="Sample complexity of fine-tuning: the source-target distance and the target covariance")
def similarity() -> Derivation:
    """n_eps = d (1 - epsilon/||theta_S - theta_T||^2): target samples for expected excess risk epsilon (noiseless).

    In words: in the isotropic noiseless case, fine-tuning reaches risk epsilon with n_eps samples, against
    d(1 - epsilon/||theta_T||^2) from scratch; the saving is governed by ||theta_S - theta_T||^2. With a
    covariance, the relevant measure is ||Sigma^{1/2}(I - P)(theta_S - theta_T)||: a rank-k Sigma needs only
    n = k samples whatever the distance, and for an anisotropic Sigma fine-tuning can end *worse* than the
    pretrained vector. Source: [SBG] (similarity measure between theta_S, theta_T and Sigma; sample complexity);
    derived here from linear_teachers.expected_risk_isotropic and linear_teachers.population_risk.
    """
    s = _s()
    n, d, eps, sigma = s.n, s.d, s.eps, s.sigma
    ER = expected_risk_isotropic().expr
    steps = [Step("The expected risk (derivation linear_teachers.expected_risk_isotropic)", sp.Eq(s.ER, ER))]
    nn = sp.Symbol("n", positive=True)  # n as a real unknown
    sols = sp.solve(sp.Eq(ER.subs({sigma: 0, n: nn}), eps), nn)
    if len(sols) != 1:
        raise DerivationError(f"linear_teachers.similarity: expected one root, got {sols}")
    n_eps = sp.factor(sols[0])
    n_eps0 = n_eps.subs(s.dist2, s.normT2)
    steps.append(Step("Noiseless ($\\sigma = 0$), solving $E R = \\epsilon$ for $n$ (for $\\epsilon < "
                      "\\|\\theta_S - \\theta_T\\|^2$; otherwise no sample is needed)", sp.Eq(s.neps, n_eps)))
    steps.append(Step("From $\\theta = 0$ (the minimum-norm interpolator) the same count with $\\|\\theta_T\\|$",
                      sp.Eq(s.neps0, n_eps0)))
    saving = sp.factor(sp.simplify(n_eps0 - n_eps))
    steps.append(Step("so fine-tuning saves", sp.Eq(s.neps0 - s.neps, saving)))
    checks = [
        check_identity(ER.subs({sigma: 0, n: n_eps}), eps, "E R at n = n_eps equals epsilon (sigma = 0)"),
        check_identity(saving, d * eps * (s.normT2 - s.dist2) / (s.normT2 * s.dist2),
                       "saving = d eps (||theta_T||^2 - ||theta_S - theta_T||^2)/(||theta_T||^2 ||theta_S - theta_T||^2)"),
    ]
    # noisy case: E R = eps is a quadratic in n; the root below d - 1 (numeric check at a random point)
    quad = sp.numer(sp.together(ER.subs(n, nn) - eps))
    roots = sp.solve(quad, nn)
    steps.append(Step("With noise, $E R = \\epsilon$ is a quadratic in $n$ (numerator shown); its smaller root is "
                      "the sample count", sp.Eq(sp.expand(quad), 0)))
    pt = {d: 200, s.dist2: 1, sigma: sp.Rational(1, 10), eps: sp.Rational(1, 2)}
    vals = sorted(complex(sp.N(r.subs(pt))).real for r in roots)
    checks.append(check_identity(ER.subs(pt).subs(n, vals[0]), sp.Rational(1, 2),
                                 "noisy case (d = 200, dist = 1, sigma = 0.1, eps = 0.5): E R at the smaller root is eps",
                                 tol=1e-12))
    # covariance: a rank-k Sigma is learned exactly with n = k samples (d = 3, k = 2)
    l1, l2 = sp.symbols("l_1 l_2", positive=True)
    Sk = sp.diag(l1, l2, 0)
    Xk = sp.Matrix([[1, 2, 0], [-1, 3, 0]])  # rows in the range of Sigma (the inputs live there)
    Pk = Xk.pinv() * Xk
    delta = _vec("e", 3)
    risk_k = sp.expand((delta.T * (sp.eye(3) - Pk) * Sk * (sp.eye(3) - Pk) * delta)[0])
    steps.append(Step("Covariance matters: if $\\Sigma$ has rank $k$ the inputs lie in its range; $n = k$ generic "
                      "samples span it, and the risk vanishes whatever $\\theta_S - \\theta_T$ (here $d = 3$, $k = 2$)",
                      sp.Eq(s.R, risk_k)))
    checks.append(check_identity(risk_k, sp.Integer(0), "rank-2 Sigma in d = 3 with n = 2: R = 0 for every "
                                 "theta_S - theta_T", require_symbolic=True))
    # anisotropic Sigma: fine-tuning can increase the risk above that of theta_S itself
    Sa = sp.diag(1, 100)
    xa = sp.Matrix([[1, 1]])
    Pa = xa.pinv() * xa
    e1 = sp.Matrix([1, 0])
    r_ft = (e1.T * (sp.eye(2) - Pa) * Sa * (sp.eye(2) - Pa) * e1)[0]
    r_s = (e1.T * Sa * e1)[0]
    steps.append(Step("and it can hurt: $\\Sigma = \\operatorname{diag}(1, 100)$, $\\theta_S - \\theta_T = e_1$, one "
                      "sample $x = (1, 1)$; risk after fine-tuning against that of $\\theta_S$",
                      sp.Tuple(r_ft, r_s)))
    checks.append(Check("anisotropic Sigma: fine-tuning raises the risk from 1 to 101/4 (exact rationals)",
                        passed=bool(r_ft == sp.Rational(101, 4) and r_s == 1), numeric_max_error=0.0))
    if not checks[-1].passed:
        raise DerivationError(f"linear_teachers.similarity: counterexample gave {r_ft}, {r_s}")
    return Derivation(
        name="linear_teachers.similarity",
        title="Sample complexity of fine-tuning: the source-target distance and the target covariance",
        statement=sp.Eq(s.neps, n_eps),
        symbols=(d, eps, s.dist2),
        assumptions=(
            "Isotropic Gaussian design and no label noise for the statement (derivation "
            "linear_teachers.expected_risk_isotropic); $0 < \\epsilon < \\|\\theta_S - \\theta_T\\|^2$",
            "$n$ treated as a real number (round up)",
            "The covariance statements use the exact risk of derivation linear_teachers.population_risk",
        ),
        source=f"{_SRC} (similarity measure and sample complexity); derived here",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("[SBG] state that the relevant similarity measure involves the source task, the target task and the "
               "target covariance; here it is the exact risk $\\|\\Sigma^{1/2}(I - P)(\\theta_S - \\theta_T)\\|^2$, "
               "and in the isotropic case the distance $\\|\\theta_S - \\theta_T\\|$. " + _NOT_READ),
    )


# --------------------------------------------------------------------------------------------------
# linear_teachers.deep_linear_limit
# --------------------------------------------------------------------------------------------------
def deep_linear_c_equation(c: sp.Expr, N: sp.Expr, normS2: sp.Expr, b2: sp.Expr, q2: sp.Expr) -> sp.Expr:
    """c^{2N/(N-1)} ||theta_S||^2 - ||X^+ y||^2 - c^2 ||(I - P) theta_S||^2 (zero at the depth-N scale c)."""
    return c ** (2 * N / (N - 1)) * normS2 - b2 - c**2 * q2


def _chain_dynamics_check() -> Check:
    """Width-1 chain of depth 3 in d = 2, balanced (v_2 = v_3 = ||u|| = sigma_): the flow of w = v_3 v_2 u equals
    -||w||^{2 - 2/N}(g + (N - 1) w w^T g/||w||^2) with N = 3 (Arora, Cohen & Hazan 2018)."""
    u1, u2, g1, g2 = sp.symbols("u_1 u_2 g_1 g_2", real=True)
    sg = sp.Symbol("sigma_", positive=True)
    u = sp.Matrix([u1, u2])
    g = sp.Matrix([g1, g2])
    v2 = v3 = sg  # balanced: |v_2| = |v_3| = ||u||, with sigma_^2 = u1^2 + u2^2
    # gradients of L(w) with dL/dw = g, w = v3 v2 u
    du = -v3 * v2 * g
    dv2 = -v3 * (u.T * g)[0]
    dv3 = -v2 * (u.T * g)[0]
    dw = dv3 * v2 * u + v3 * dv2 * u + v3 * v2 * du
    w = v3 * v2 * u
    nw = sg**3  # ||w|| = sigma_^2 ||u|| = sigma_^3
    N = 3
    target = -nw ** sp.Rational(2 * N - 2, N) * (g + (N - 1) * w * (w.T * g)[0] / nw**2)
    diff = (dw - target).applyfunc(lambda e: sp.simplify(sp.expand(e).subs(u1**2, sg**2 - u2**2)))
    ok = all(sp.simplify(e) == 0 for e in diff)
    if not ok:
        raise DerivationError(f"deep linear: chain dynamics check failed: {diff}")
    return Check("balanced width-1 chain of depth 3 (d = 2): dw/dt = -||w||^{4/3}(g + 2 w w^T g/||w||^2), the "
                 "end-to-end flow of [Arora et al. 2018]", True, 0.0)


@register("linear_teachers.deep_linear_limit",
          title="Fine-tuning a deep linear network from balanced pretrained weights: where gradient flow lands")
def deep_linear_limit() -> Derivation:
    """w_inf = X^+ y + c (I - P) theta_S, c > 0 solving c^{2N/(N-1)}||theta_S||^2 = ||X^+ y||^2 + c^2||(I - P) theta_S||^2.

    In words: fine-tuning a depth-N linear network whose pretrained layers are balanced keeps the null-space part
    of the end-to-end vector parallel to that of theta_S, rescaled by c = (||w_inf||/||theta_S||)^{(N-1)/N}.
    N = 1 gives c = 1 (derivation linear_teachers.finetune_limit); N -> oo gives c = ||X^+ y||/||P theta_S||,
    so only the direction of theta_S matters. Source: [SBG] (deep linear networks); derived here from the
    end-to-end dynamics of Arora, Cohen & Hazan (ICML 2018). Assumptions: balanced weights, convergence to an
    interpolator, w never passes through 0.
    """
    s = _s()
    N, c, a, a0 = s.N, s.c, s.a, s.a0
    steps, checks = [], []
    g, wv = sp.MatrixSymbol("g", s.d, 1), sp.MatrixSymbol("w", s.d, 1)
    steps.append(Step("For balanced layers ($W_{j+1}^T W_{j+1} = W_j W_j^T$) the end-to-end vector $w$ follows "
                      "(Arora, Cohen & Hazan 2018), with $g = X^T(Xw - y)$ and $\\hat w = w/\\|w\\|$",
                      _meq(sp.MatrixSymbol("wdot", s.d, 1),
                           -a ** (2 - 2 / N) * (g + (N - 1) / a**2 * wv * wv.T * g))))
    checks.append(_chain_dynamics_check())
    steps.append(Step("$g$ lies in the row space of $X$, so $(I - P)g = 0$ and the null-space part $z = (I - P)w$ "
                      "moves only along itself: $\\dot z = -(N - 1)\\|w\\|^{-2/N}(w^T g)\\, z$, i.e. $z(t) = c(t)(I - "
                      "P)\\theta_S$ with $c(0) = 1$; meanwhile $a = \\|w\\|$ obeys $\\dot a = -N a^{-2/N}(w^Tg)\\, a$. "
                      "Dividing",
                      sp.Eq(sp.Derivative(sp.Function("c")(a), a), (N - 1) / N * sp.Function("c")(a) / a)))
    cf = sp.Function("c")
    sol = sp.dsolve(sp.Eq(cf(a).diff(a), (N - 1) / N * cf(a) / a), cf(a), ics={cf(a0): 1}).rhs
    sol = sp.powsimp(sp.simplify(sol), force=True)
    steps.append(Step("whose solution from $c(a_0) = 1$, $a_0 = \\|\\theta_S\\|$, is", sp.Eq(c, sol)))
    checks.append(check_identity(sol, (a / a0) ** ((N - 1) / N), "c = (||w||/||theta_S||)^{(N-1)/N} (dsolve)",
                                 ranges={N: (1.0, 8.0)}))
    F = deep_linear_c_equation(c, N, s.normS2, s.b2, s.q2)
    steps.append(Step("At convergence $Pw = X^{+}y$ (the unique row-space interpolator), so $w_\\infty = X^{+}y + "
                      "c(I - P)\\theta_S$ and, by Pythagoras, $a^2 = \\|X^{+}y\\|^2 + c^2\\|(I - P)\\theta_S\\|^2$; "
                      "with $a = c^{N/(N-1)}\\|\\theta_S\\|$",
                      sp.Eq(c ** (2 * N / (N - 1)) * s.normS2, s.b2 + c**2 * s.q2)))
    checks.append(check_identity(sol.subs(a, c ** (N / (N - 1)) * a0), c,
                                 "inverting: ||w_inf|| = c^{N/(N-1)} ||theta_S||", ranges={N: (2.0, 8.0)}))
    # uniqueness: F(c)/c^2 is strictly increasing for N >= 2 (q2 <= normS2 not even needed)
    Fc2 = sp.expand(F / c**2)
    dF = sp.diff(Fc2, c)
    checks.append(check_identity(dF, 2 / (N - 1) * c ** (2 / (N - 1) - 1) * s.normS2 + 2 * s.b2 / c**3,
                                 "d/dc [F(c)/c^2] = (2/(N-1)) c^{2/(N-1)-1}||theta_S||^2 + 2||X^+y||^2/c^3 > 0: one "
                                 "positive root", ranges={N: (2.0, 8.0)}))
    # N = 1: exponent (N-1)/N = 0 -> c = 1
    checks.append(check_identity(sol.subs(N, 1), sp.Integer(1), "N = 1: c = 1, the shallow limit "
                                 "theta_S + X^+(y - X theta_S) (derivation linear_teachers.finetune_limit)"))
    steps.append(Step("Depth $N = 1$: the exponent $(N-1)/N$ vanishes, $c = 1$ and $w_\\infty = X^{+}y + (I - P)"
                      "\\theta_S$, the shallow result", sp.Eq(c, sol.subs(N, 1))))
    # N = 2: quadratic in c^2
    C2 = sp.Symbol("C", positive=True)
    root2 = [r for r in sp.solve(sp.Eq(C2**2 * s.normS2, s.b2 + C2 * s.q2), C2)
             if sp.N(r.subs({s.normS2: 2, s.b2: 1, s.q2: 1})) > 0]
    c2 = sp.sqrt(root2[0])
    steps.append(Step("Depth $N = 2$: a quadratic in $c^2$", sp.Eq(c, c2)))
    checks.append(check_identity(F.subs(N, 2).subs(c, c2), sp.Integer(0), "N = 2: the closed form solves the "
                                 "equation", ranges={s.q2: (0.1, 1.0), s.normS2: (1.0, 2.0)}))
    # N -> oo: exponent -> 2
    expo_lim = sp.limit(2 * N / (N - 1), N, sp.oo)
    c_inf = sp.solve(sp.Eq(c**expo_lim * s.normS2, s.b2 + c**2 * s.q2), c)
    c_inf = [r for r in c_inf if sp.N(r.subs({s.normS2: 3, s.b2: 1, s.q2: 1})) > 0][0]
    c_inf_p = sp.sqrt(s.b2 / s.p2)
    checks.append(check_identity(c_inf.subs(s.normS2, s.p2 + s.q2), c_inf_p,
                                 "N -> oo: 2N/(N-1) -> 2 and c = ||X^+ y||/||P theta_S|| "
                                 "(||theta_S||^2 = ||P theta_S||^2 + ||(I-P) theta_S||^2)"))
    steps.append(Step("Depth $N \\to \\infty$: $2N/(N - 1) \\to 2$ and, with $\\|\\theta_S\\|^2 = \\|P\\theta_S\\|^2 + "
                      "\\|(I - P)\\theta_S\\|^2$, the scale depends on $\\theta_S$ only through its direction",
                      sp.Eq(c, c_inf_p)))
    # numeric: the root of the depth-N equation approaches c_inf as N grows
    pt = {s.normS2: sp.Rational(3, 2), s.b2: sp.Rational(7, 10), s.q2: sp.Rational(9, 10)}
    c_lim = float(c_inf_p.subs(s.p2, pt[s.normS2] - pt[s.q2]).subs(pt))
    errs = []
    for Nv in (10, 100, 1000):
        root = sp.nsolve(F.subs(N, Nv).subs(pt), c, 1)
        errs.append(abs(float(root) - c_lim))
    ok = errs[0] > errs[1] > errs[2] and errs[2] < 5e-3
    checks.append(Check("numeric: the root at N = 10, 100, 1000 approaches ||X^+y||/||P theta_S|| (errors "
                        + ", ".join(f"{e:.1e}" for e in errs) + ")", ok, errs[2]))
    if not ok:
        raise DerivationError(f"deep linear: N -> oo limit not approached: {errs}")
    steps.append(Step("Depth enters the risk through $c$ only: for noiseless labels ($X^{+}y = P\\theta_T$) the "
                      "risk of derivation linear_teachers.population_risk becomes "
                      "$\\|\\Sigma^{1/2}(I - P)(c\\,\\theta_S - \\theta_T)\\|^2$; for isotropic designs, replacing "
                      "$\\|P\\theta\\|^2$ by its mean $(n/d)\\|\\theta\\|^2$, the $N \\to \\infty$ scale is "
                      "$c = \\|\\theta_T\\|/\\|\\theta_S\\|$ and the mean risk is",
                      sp.Eq(s.ER, (1 - s.n / s.d) * s.normT2 * sp.Symbol("D_dir"))))
    return Derivation(
        name="linear_teachers.deep_linear_limit",
        title="Fine-tuning a deep linear network from balanced pretrained weights: where gradient flow lands",
        statement=sp.Eq(c ** (2 * N / (N - 1)) * s.normS2, s.b2 + c**2 * s.q2),
        symbols=(c, N, s.normS2, s.b2, s.q2),
        assumptions=(
            "Depth-$N$ linear network $x \\mapsto W_N \\cdots W_1 x$ with scalar output, pretrained weights balanced "
            "($W_{j+1}^TW_{j+1} = W_jW_j^T$, e.g. after pretraining from a small balanced start) and end-to-end "
            "vector $\\theta_S \\ne 0$; gradient flow on $\\frac{1}{2}\\|Xw - y\\|^2$ (balancedness is conserved)",
            "The flow converges to an interpolator and $w(t) \\ne 0$ throughout (as in Arora, Cohen & Hazan 2018)",
            "$N \\ge 2$ for the equation ($N = 1$ is the limit $c = 1$); $X$ of full row rank $n < d$",
        ),
        source=f"{_SRC} (deep linear networks); {_SRC_ARORA18}; derived here (dsolve)",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("$D_{\\mathrm{dir}} = \\|\\theta_S/\\|\\theta_S\\| - \\theta_T/\\|\\theta_T\\|\\|^2$: at infinite depth "
               "only the angle between source and target matters, at depth 1 the unnormalised distance "
               "$\\|\\theta_S - \\theta_T\\|^2$ (derivation linear_teachers.expected_risk_isotropic). This agrees with "
               "the [SBG] summary (the depth-infinity risk depends on the alignment of the directions) and with "
               "the independent note (THEORY.md, section 6). " + _NOT_READ),
    )


# --------------------------------------------------------------------------------------------------
# linear_teachers.relu_ntk
# --------------------------------------------------------------------------------------------------
def ntk_kappa0(u: sp.Expr) -> sp.Expr:
    """kappa_0(u) = (pi - arccos u)/(2 pi) (degree-0 arc-cosine kernel, unit-norm inputs)."""
    return (sp.pi - sp.acos(u)) / (2 * sp.pi)


def ntk_kappa1(u: sp.Expr) -> sp.Expr:
    """kappa_1(u) = (sqrt(1 - u^2) + (pi - arccos u) u)/(2 pi) (degree-1 arc-cosine kernel, unit-norm inputs)."""
    return (sp.sqrt(1 - u**2) + (sp.pi - sp.acos(u)) * u) / (2 * sp.pi)


@register("linear_teachers.relu_ntk",
          title="ReLU NTK of a two-layer network and fine-tuning in the NTK regime")
def relu_ntk() -> Derivation:
    """Theta(u) = u kappa_0(u) + kappa_1(u), kappa_0 = (pi - arccos u)/(2 pi), kappa_1 = (sqrt(1-u^2) + (pi - arccos u) u)/(2 pi).

    In words: for f(x) = m^{-1/2} sum_r a_r relu(w_r . x), w_r ~ N(0, I), a_r = +-1, m -> oo, the tangent kernel of
    unit-norm inputs at cosine u is u kappa_0(u) (first layer) + kappa_1(u) (second layer), with the arc-cosine
    kernels of Cho & Saul. Fine-tuning in this regime is kernel regression of the residual from the pretrained
    function, f = f_S + k(x, X) K^{-1}(y - f_S(X)), and for linear teachers the complexity r^T H^{-1} r of the
    residual is at most 4||theta_T - theta_S||^2. Source: [SBG] (shallow ReLU, NTK regime); Cho & Saul 2009;
    Du et al. 2019; Arora et al. 2019. Assumptions: unit-norm inputs, infinite width (NTK regime).
    """
    s = _s()
    u, th, r, phi, lam, t = s.u, s.theta, s.r, s.phi, s.lam, s.t
    steps, checks = [], []
    # Gaussian integrals in polar coordinates: x = e_1, x' = (cos th, sin th), w = r (cos phi, sin phi)
    rad0 = sp.integrate(r * sp.exp(-r**2 / 2), (r, 0, sp.oo))
    rad1 = sp.integrate(r**3 * sp.exp(-r**2 / 2), (r, 0, sp.oo))
    ang0 = sp.integrate(1, (phi, th - sp.pi / 2, sp.pi / 2))
    ang1 = sp.integrate(sp.cos(phi) * sp.cos(phi - th), (phi, th - sp.pi / 2, sp.pi / 2))
    k0_th = sp.simplify(ang0 * rad0 / (2 * sp.pi))
    k1_th = sp.simplify(ang1 * rad1 / (2 * sp.pi))
    steps.append(Step("In the plane of two unit inputs at angle $\\theta \\in (0, \\pi)$, $w = r(\\cos\\phi, "
                      "\\sin\\phi)$ has density $r e^{-r^2/2}/(2\\pi)$ and both units are active for $\\phi \\in "
                      "(\\theta - \\pi/2, \\pi/2)$; the radial integrals $\\int r e^{-r^2/2} = 1$, "
                      "$\\int r^3 e^{-r^2/2} = 2$ give $\\kappa_0 = E[1\\{w^Tx > 0\\} 1\\{w^Tx' > 0\\}]$ and "
                      "$\\kappa_1 = E[\\mathrm{relu}(w^Tx)\\,\\mathrm{relu}(w^Tx')]$",
                      sp.Tuple(sp.Eq(s.k0(th), k0_th), sp.Eq(s.k1(th), k1_th))))
    checks += [
        check_identity(rad0, sp.Integer(1), "radial integral of r e^{-r^2/2} = 1"),
        check_identity(rad1, sp.Integer(2), "radial integral of r^3 e^{-r^2/2} = 2"),
        check_identity(k0_th.subs(th, sp.acos(u)), ntk_kappa0(u), "kappa_0 at theta = arccos u",
                       ranges={u: (-0.99, 0.99)}),
        check_identity(k1_th.subs(th, sp.acos(u)), ntk_kappa1(u), "kappa_1 at theta = arccos u",
                       ranges={u: (-0.99, 0.99)}),
        check_identity(ntk_kappa0(u), sp.Rational(1, 4) + sp.asin(u) / (2 * sp.pi),
                       "kappa_0(u) = 1/4 + asin(u)/(2 pi)", ranges={u: (-0.99, 0.99)}),
        check_identity(ntk_kappa1(sp.Integer(1)), sp.Rational(1, 2), "kappa_1(1) = 1/2 = E relu(g)^2"),
        check_identity(sp.diff(ntk_kappa1(u), u), ntk_kappa0(u), "d kappa_1/du = kappa_0",
                       ranges={u: (-0.99, 0.99)}),
    ]
    # arcsin has nonnegative Taylor coefficients -> H = G o K0 >= G/4 (Schur product theorem)
    ser = sp.series(sp.asin(u), u, 0, 12).removeO()
    coeffs = [ser.coeff(u, j) for j in range(12)]
    ok = all(cf >= 0 for cf in coeffs)
    checks.append(Check("the Taylor coefficients of asin(u) up to u^11 are nonnegative (all are: "
                        "(2j)!/(4^j (j!)^2 (2j+1)))", ok, 0.0))
    steps.append(Step("Hence $H_{ij} = (x_i^Tx_j)\\,\\kappa_0(x_i^Tx_j) = \\frac{1}{4}G_{ij} + \\frac{1}{2\\pi} G_{ij}"
                      "\\arcsin G_{ij}$ with $G = XX^T$; $\\arcsin$ has nonnegative Taylor coefficients, so by the "
                      "Schur product theorem $H \\succeq G/4$", sp.Eq(sp.Symbol("asin_series"), ser)))
    # fine-tuning in the NTK regime: eigen-coordinates of K, residual decays like e^{-lam t}
    r0 = sp.Symbol("r_0", real=True)
    integ = sp.integrate(sp.exp(-lam * t) * r0, (t, 0, sp.oo))
    steps.append(Step("Linearised training from the pretrained function: in an eigenvector of $K$ (eigenvalue "
                      "$\\lambda$) the training residual decays as $r_0 e^{-\\lambda t}$ and a test output moves by "
                      "$k(x, X)$ times the accumulated residual, $\\int_0^\\infty r_0 e^{-\\lambda t} dt$", sp.Eq(
                          sp.Symbol("I_acc"), integ)))
    checks.append(check_identity(integ, r0 / lam, "the accumulated residual is r_0/lambda, i.e. K^{-1} r_0"))
    fS, kxX = sp.Symbol("f_S"), sp.Symbol("k_xX")
    steps.append(Step("so the fine-tuned function is kernel regression of the residual, $f(x) = f_S(x) + k(x, X) "
                      "K^{-1}(y - f_S(X))$: in parameter space, derivation linear_teachers.finetune_limit with $X$ "
                      "replaced by the Jacobian. For linear teachers ($y = X\\theta_T$, $f_S(X) = X\\theta_S$) the "
                      "residual $r = X(\\theta_T - \\theta_S)$ and $H \\succeq G/4$ give",
                      sp.Le(sp.Symbol("rHr"), 4 * sp.Symbol("PdTS"))))
    del fS, kxX
    # numeric: H - G/4 PSD on a random unit-norm instance
    import numpy as np

    rng = np.random.default_rng(0)
    Xr = rng.standard_normal((8, 5))
    Xr /= np.linalg.norm(Xr, axis=1, keepdims=True)
    G = Xr @ Xr.T
    Uc = np.clip(G, -1, 1)
    H = G * (np.pi - np.arccos(Uc)) / (2 * np.pi)
    mineig = float(np.linalg.eigvalsh(H - G / 4).min())
    checks.append(Check(f"numeric (8 unit inputs in d = 5): min eigenvalue of H - G/4 is {mineig:.2e} >= 0",
                        mineig > -1e-12, max(0.0, -mineig)))
    if not checks[-1].passed:
        raise DerivationError("relu_ntk: H - G/4 not PSD")
    dlt = rng.standard_normal(5)
    res = Xr @ dlt
    rHr = float(res @ np.linalg.solve(H, res))
    Pd = np.linalg.pinv(Xr) @ res
    bound = 4 * float(Pd @ Pd)
    checks.append(Check(f"numeric (same instance, random theta_T - theta_S): r^T H^-1 r = {rHr:.3f} <= "
                        f"4 ||P(theta_T - theta_S)||^2 = {bound:.3f}", rHr <= bound * (1 + 1e-12), 0.0))
    if not checks[-1].passed:
        raise DerivationError("relu_ntk: residual bound violated")
    k0d, k1d = (Definition(s.k0(u), ntk_kappa0(u), "degree-0 arc-cosine kernel"),
                Definition(s.k1(u), ntk_kappa1(u), "degree-1 arc-cosine kernel"))
    display = Display(sp.Eq(s.Th(u), u * s.k0(u) + s.k1(u)), where=(k0d, k1d))
    return Derivation(
        display=display,
        name="linear_teachers.relu_ntk",
        title="ReLU NTK of a two-layer network and fine-tuning in the NTK regime",
        statement=sp.Eq(s.Th(u), u * ntk_kappa0(u) + ntk_kappa1(u)),
        symbols=(u,),
        assumptions=(
            "Two-layer network $f(x) = m^{-1/2}\\sum_r a_r\\,\\mathrm{relu}(w_r^Tx)$, $w_r \\sim N(0, I_d)$, "
            "$a_r = \\pm 1$, width $m \\to \\infty$ (NTK regime); inputs of unit norm, $u = x^Tx'$",
            "Both layers trained: $\\Theta = u\\kappa_0 + \\kappa_1$; first layer only (Du et al. 2019, Arora et al. "
            "2019): $H = u\\kappa_0$",
            "For the sample-complexity quantity: the pretrained network computes $f_S(x) = \\theta_S^Tx$ on the "
            "target data and the target teacher is linear, $y = X\\theta_T$",
        ),
        source=f"{_SRC} (shallow ReLU networks, NTK regime); {_SRC_NTK}; derived here (integrate)",
        steps=tuple(steps),
        checks=tuple(checks),
        notes=("With the bound of Arora et al. 2019 (population loss at most $\\sqrt{2 r^T H^{-1} r/n}$ plus "
               "$O(\\sqrt{\\log(n/\\delta)/n})$, $r$ the residual to be fitted) fine-tuning needs $n = O(\\|\\theta_T - \\theta_S\\|^2/\\epsilon^2)$ samples, "
               "training from scratch $O(\\|\\theta_T\\|^2/\\epsilon^2)$. " + _NOT_READ),
    )
