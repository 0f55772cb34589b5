"""LaTeX as a mathematician writes it: symbol names, term order, and equations that fit the page.

- :func:`tex` prints a SymPy expression with the project's symbol conventions (:data:`SYMBOL_TEX`:
  ``c_abs`` as ``|c|``, ``beta_PT`` as ``\\beta_{\\mathrm{PT}}``, ``u0`` as ``u_0``, ...) and with a
  constant written first in a two-term sum (``\\sqrt{1 + z^2}``, not ``\\sqrt{z^2 + 1}``).
- :func:`tex_width` estimates the printed width of a math-mode string (in units of about one italic
  letter, 5.5 pt at 11 pt), so that :func:`layout_equation` can break a long equation before it runs
  off the page: first at the top-level ``+``/``-`` of its right-hand side, then, if a single term is
  still too wide, by naming its largest subexpressions (``A``, ``B``, ... "where A = ...").
- :func:`display_block` turns an equation and its definitions ("where k_d = ...") into display math
  (``align*`` with ``aligned`` continuation lines; no package beyond amsmath).

The derivation object (:mod:`ptft.theory.derivation`) uses these for its statement and steps; the
derivations document (:mod:`ptft.theory.document`) for every section.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import sympy as sp
from sympy.printing.latex import LatexPrinter

__all__ = ["SYMBOL_TEX", "SYMBOL_MEANING", "tex", "tex_width", "layout_equation", "display_block", "MAX_WIDTH"]

#: Printed form of symbol (and function) names; names not listed follow :func:`_name_rule`.
SYMBOL_TEX: dict[str, str] = {
    "c_abs": r"|c|",
    "u0": r"u_0",
    "v0": r"v_0",
    "w_plus": r"w_{+}",
    "w_minus": r"w_{-}",
    "lam": r"\lambda",
    "sqrt_k": r"\sqrt{k}",
    "beta_0": r"\beta_0",
    "beta0": r"\beta_0",
    "q_W": r"q_{\mathrm{W}}",
    "Q_2p": r"Q_{\mathrm{2p}}",
    "Q_W": r"Q_{\mathrm{W}}",
    "R_FT": r"R_{\mathrm{FT}}",
    "R_seq": r"R_{\mathrm{seq}}",
    "R_exact": r"R_{\mathrm{exact}}",
    "k_d": r"k_d",
    "c_FT": r"c_{\mathrm{FT}}",
}

#: One line of meaning per symbol name, for the symbol table of the derivations document.
SYMBOL_MEANING: dict[str, str] = {
    "beta": "effective (end-to-end) coefficient of one coordinate, $\\beta = u v$",
    "beta_aux": "coefficient of the auxiliary (pretraining) task on the same coordinate",
    "beta_main": "coefficient of the main task (MTL)",
    "beta_PT": "pretrained coefficient handed to finetuning ([DL])",
    "beta_0": "coefficient at the start of finetuning",
    "u": "first-layer weight of one coordinate",
    "v": "second-layer (readout) weight of one coordinate",
    "u0": "first-layer weight at initialisation",
    "v0": "second-layer weight at initialisation",
    "w_plus": "weight of the positive pathway, $\\beta = w_{+}^2 - w_{-}^2$",
    "w_minus": "weight of the negative pathway",
    "w": "shared first-layer weight (MTL)",
    "v_main": "main-task readout (MTL)",
    "v_aux": "auxiliary-task readout (MTL)",
    "W": "$w^2$, the squared shared first-layer weight (MTL metric)",
    "S": "integrated negative gradient, $S(t) = \\int_0^t g$",
    "c": "conserved half-difference $(u_0^2 - v_0^2)/2$, or the [LL] rescaling factor of the first layer",
    "c_abs": "$|c|$, the scale of the initialisation",
    "phi": "shape of the initialisation, $\\operatorname{atanh}(2u_0v_0/(u_0^2+v_0^2))$",
    "alpha": "initialisation scale",
    "gamma": "readout scale at the start of finetuning ([LL], [DL])",
    "c_PT": "pretraining initialisation scale ([DL])",
    "lambda_PT": "pretraining initialisation shape, $w_0^2 = c_{\\mathrm{PT}}(1+\\lambda_{\\mathrm{PT}})/2$ ([DL])",
    "M": "sum of squared weights of both branches at the start of finetuning",
    "k": "$M^2 - 4\\beta_0^2$, the scale of the general-start penalty",
    "z": "generic argument of a one-dimensional potential",
    "t": "training time",
    "a": "$|\\beta_{\\mathrm{aux}}|$ (positive)",
    "lam": "a dual variable (Lagrange multiplier)",
    "|v|": "norm of the readout vector $(v_{\\mathrm{main}}, v_{\\mathrm{aux}})$ (MTL)",
    "|beta|": "norm of $(\\beta_{\\mathrm{main}}, \\beta_{\\mathrm{aux}})$ (MTL)",
    "|\\beta|": "norm of $(\\beta_{\\mathrm{main}}, \\beta_{\\mathrm{aux}})$ (MTL)",
}

_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
          "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega", "Gamma", "Delta",
          "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}


def _base(name: str) -> str:
    return "\\" + name if name in _GREEK else name


def _name_rule(name: str) -> str:
    """``beta_aux`` -> ``\\beta_{\\mathrm{aux}}``, ``u0`` -> ``u_0``, ``x_12`` -> ``x_{12}``."""
    if name in SYMBOL_TEX:
        return SYMBOL_TEX[name]
    m = re.fullmatch(r"([A-Za-z]+?)(\d+)", name)
    if m and "_" not in name:
        return f"{_base(m.group(1))}_{{{m.group(2)}}}"
    if "_" in name:
        head, sub = name.split("_", 1)
        subs = sub.split("_")
        parts = []
        for s in subs:
            if s in _GREEK:
                parts.append("\\" + s)
            elif len(s) > 1 and not s.isdigit():
                parts.append(r"\mathrm{%s}" % s)
            else:
                parts.append(s)
        return f"{_base(head)}_{{{','.join(parts)}}}"
    return _base(name)


class _Printer(LatexPrinter):
    """SymPy's LaTeX printer with the project's names and a constant-first two-term sum."""

    def _deal_with_super_sub(self, string: str, style: str = "plain") -> str:  # noqa: D401
        return _name_rule(string)

    def _as_ordered_terms(self, expr, order=None):
        terms = list(super()._as_ordered_terms(expr, order=order))
        if len(terms) == 2 and terms[1].is_Number and terms[1].is_positive:
            return [terms[1], terms[0]]
        # a named function (q_k(beta)) leads its sum, as a mathematician writes "q_k(beta) - ..."
        named = [t for t in terms if isinstance(t, sp.core.function.AppliedUndef)]
        if named:
            terms = named + [t for t in terms if t not in named]
        # start with a positive term where there is one ("sqrt(...) - a", not "-a + sqrt(...)")
        if terms and terms[0].could_extract_minus_sign():
            for k, t in enumerate(terms):
                if not t.could_extract_minus_sign():
                    terms = [t] + terms[:k] + terms[k + 1:]
                    break
        return terms


def tex(expr) -> str:
    """LaTeX of ``expr`` with the project's symbol names (see :data:`SYMBOL_TEX`)."""
    if isinstance(expr, str):
        return expr
    return _Printer({"ln_notation": True, "long_frac_ratio": 2}).doprint(sp.sympify(expr))


# --------------------------------------------------------------------------------------------------
# width estimate
# --------------------------------------------------------------------------------------------------
_NARROW = {",": 0.3, ";": 0.5, ":": 0.4, "!": -0.2, " ": 0.4, "quad": 2.0, "qquad": 4.0}
_OPS = {"cdot", "times", "to", "leq", "geq", "le", "ge", "approx", "neq", "pm", "mp", "sim", "equiv", "mapsto"}
_TEXTLIKE = {"operatorname", "mathrm", "text", "textrm", "mathit", "mathbf", "textbf", "mathsf"}
_ZERO = {"left", "right", "big", "Big", "bigg", "Bigg", "displaystyle", "limits", "nolimits"}

#: Budget for one display line, in :func:`tex_width` units (about 5.5 pt each at 11 pt).
MAX_WIDTH = 62.0


def tex_width(s: str) -> float:
    """Approximate printed width of math-mode LaTeX ``s`` (one unit ~ an italic letter).

    Fractions count their wider part, scripts 0.7 of theirs, binary operators and relations 2 (they
    carry space on both sides), ``\\left``/``\\right`` nothing beyond their delimiter.
    """
    return _width(s, 0)[0]


def _group(s: str, i: int) -> tuple[float, int]:
    """Width of the group or single token starting at ``s[i]`` (skipping spaces)."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i >= len(s):
        return 0.0, i
    if s[i] == "{":
        return _width(s, i + 1)
    if s[i] == "\\":
        j = i + 1
        while j < len(s) and s[j].isalpha():
            j += 1
        if j == i + 1:
            j += 1
        return 1.0, j
    return 1.0, i + 1


def _raw_group(s: str, i: int) -> tuple[str, int]:
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] == "{":
        depth, j = 1, i + 1
        while j < len(s) and depth:
            depth += {"{": 1, "}": -1}.get(s[j], 0)
            j += 1
        return s[i + 1:j - 1], j
    return s[i:i + 1], i + 1


def _width(s: str, i: int) -> tuple[float, int]:
    total = 0.0
    while i < len(s):
        ch = s[i]
        if ch == "}":
            return total, i + 1
        if ch == "{":
            w, i = _width(s, i + 1)
            total += w
            continue
        if ch == "\\":
            j = i + 1
            while j < len(s) and s[j].isalpha():
                j += 1
            name = s[i + 1:j] if j > i + 1 else s[i + 1:i + 2]
            i = j if j > i + 1 else i + 2
            if name in _ZERO:
                continue
            if name == "frac" or name == "dfrac" or name == "tfrac":
                a, i = _group(s, i)
                b, i = _group(s, i)
                total += max(a, b) + 0.4
            elif name == "sqrt":
                if i < len(s) and s[i] == "[":
                    k = s.index("]", i)
                    total += 0.5
                    i = k + 1
                w, i = _group(s, i)
                total += w + 1.2
            elif name in _TEXTLIKE:
                raw, i = _raw_group(s, i)
                total += 0.85 * len(raw)
            elif name in _NARROW:
                total += _NARROW[name]
            elif name in _OPS:
                total += 2.0
            elif name == "\\":
                return total, i
            else:
                total += 1.0
            continue
        if ch in "^_":
            w, i = _group(s, i + 1)
            total += 0.7 * w
            continue
        if ch in "+-=<>":
            total += 2.0
        elif ch in " &":
            pass
        else:
            total += 1.0
        i += 1
    return total, i


# --------------------------------------------------------------------------------------------------
# layout
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Line:
    lhs: str
    rel: str
    rhs_lines: tuple[str, ...]


def _signed_terms(expr: sp.Expr) -> list[tuple[str, str]]:
    """Top-level terms of a sum as (sign, LaTeX of |term|), in the printer's order."""
    terms = _Printer()._as_ordered_terms(expr) if isinstance(expr, sp.Add) else [expr]
    out = []
    for t in terms:
        if t.could_extract_minus_sign():
            out.append(("-", tex(-t)))
        else:
            out.append(("+", tex(t)))
    return out


def _pack(terms: list[tuple[str, str]], first_budget: float, budget: float) -> list[str] | None:
    """Greedy packing of signed terms into lines; None if one term alone is too wide."""
    lines: list[str] = []
    cur, cur_w, limit = "", 0.0, first_budget
    for k, (sign, body) in enumerate(terms):
        piece = (("- " if sign == "-" else "") + body) if k == 0 else f" {sign} {body}"
        w = tex_width(piece)
        if cur and cur_w + w > limit:
            lines.append(cur)
            cur, cur_w, limit = f"{sign} {body}", tex_width(f"{sign} {body}"), budget
            if cur_w > limit:
                return None
        else:
            if not cur and w > limit:
                return None
            cur, cur_w = cur + piece, cur_w + w
    lines.append(cur)
    return lines


_FRESH = ["A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "N", "P", "R", "T", "U", "V", "Y", "Z"]


def _fresh_symbol(taken: set[str]) -> sp.Symbol:
    for n in _FRESH:
        if n not in taken:
            taken.add(n)
            return sp.Symbol(n)
    k = 1
    while f"A_{k}" in taken:
        k += 1
    taken.add(f"A_{k}")
    return sp.Symbol(f"A_{k}")


def _candidates(expr: sp.Basic) -> list[sp.Basic]:
    out = []
    for sub in sp.preorder_traversal(expr):
        if sub is expr or sub.is_Atom or isinstance(sub, (sp.Tuple, sp.MatrixBase)):
            continue
        if isinstance(sub, sp.Mul) and any(a.is_Number for a in sub.args) and len(sub.args) == 2:
            continue  # -x, 2x: name x instead
        if isinstance(sub, sp.Pow) and sub.base.is_Atom:
            continue
        out.append(sub)
    return out


def _abbreviate(sides: list[sp.Basic], taken: set[str], budget: float) -> tuple[list[sp.Basic], sp.Symbol, sp.Basic]:
    """Replace the most space-saving subexpression of ``sides`` by a fresh symbol."""
    counts: dict[sp.Basic, int] = {}
    for side in sides:
        for sub in _candidates(side):
            counts[sub] = counts.get(sub, 0) + 1
    if not counts:
        raise ValueError("nothing to abbreviate")
    widths = {sub: tex_width(tex(sub)) for sub in counts}
    fitting = [s for s in counts if 6.0 <= widths[s] <= budget - 6.0]
    pool = fitting or list(counts)
    best = max(pool, key=lambda s: (widths[s] * counts[s], widths[s]))
    sym = _fresh_symbol(taken)
    return [side.xreplace({best: sym}) for side in sides], sym, best


def layout_equation(lhs, rhs, rel: str = "=", budget: float = MAX_WIDTH,
                    taken: set[str] | None = None) -> list[tuple[str, str, list[str]]]:
    """Lines of display math for ``lhs rel rhs`` that fit ``budget``.

    Returns ``[(lhs_tex, rel, rhs_lines), ...]``: the equation first, then any definitions that were
    introduced to make it fit ("where A = ..."). ``lhs``/``rhs`` may be SymPy objects or LaTeX strings
    (strings are never broken).
    """
    taken = set(taken or ())
    for side in (lhs, rhs):
        if isinstance(side, sp.Basic):
            taken |= {s.name for s in side.free_symbols if isinstance(s, sp.Symbol)}
    out: list[tuple[str, str, list[str]]] = []
    pending = [(lhs, rel, rhs)]
    guard = 0
    while pending:
        guard += 1
        if guard > 60:
            raise RuntimeError("layout_equation: too many abbreviations")
        L, R_, X = pending.pop(0)
        lt, xt = tex(L), tex(X)
        lw = tex_width(lt) + 2.0
        if lw + tex_width(xt) <= budget:
            out.append((lt, R_, [xt]))
            continue
        if isinstance(X, sp.Basic) and not isinstance(X, (sp.Tuple, sp.MatrixBase)) and lw <= budget / 2:
            lines = _pack(_signed_terms(X), budget - lw, budget - 3.0)
            if lines is not None:
                out.append((lt, R_, lines))
                continue
        sides = [s for s in (L, X) if isinstance(s, sp.Basic)]
        if not sides or all(not _candidates(s) for s in sides):
            out.append((lt, R_, [xt]))  # atoms or strings: nothing more to do
            continue
        new_sides, sym, sub = _abbreviate(sides, taken, budget)
        it = iter(new_sides)
        L = next(it) if isinstance(L, sp.Basic) else L
        X = next(it) if isinstance(X, sp.Basic) else X
        pending.insert(0, (L, R_, X))
        pending.append((sym, "=", sub))
    return out


def display_block(lines: Sequence[tuple[str, str, list[str]]], where: Sequence[tuple[str, str, list[str]]] = (),
                  where_word: str = "where") -> str:
    """``align*`` display of equations ``[(lhs, rel, rhs_lines)]`` followed by "where" definitions.

    Continuation lines of a broken right-hand side are indented under it; the definitions follow
    after a short "where" line.
    """
    def block(eqs) -> str:
        rows = []
        for lhs, rel, rhs_lines in eqs:
            rows.append(f"{lhs} &{rel} {rhs_lines[0]}")
            rows += [f"&\\quad {r}" for r in rhs_lines[1:]]
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    out = block(lines)
    if where:
        # a block of its own: a wide left-hand side above must not push the definitions right
        out += "\n%s\n" % where_word + block(where)
    return out
