"""The Derivation object and the registry of named derivations.

A :class:`Derivation` is one result of the theory: a SymPy statement (usually an ``Eq``), the
symbols it is a function of, the assumptions the algebra used, the source it reproduces, the
intermediate steps that led to it and the symbolic checks that were run on it.

Derivations are *registered* by name with :func:`register`; the SymPy work runs only when the
derivation is first asked for (:func:`get`) and is cached afterwards, so ``import theory`` is cheap.

Example
-------
>>> from theory import get
>>> d = get("diagonal.penalty")          # doctest: +SKIP
>>> print(d.latex())                      # doctest: +SKIP
>>> Q = d.lambdify()                      # numpy function of d.symbols   # doctest: +SKIP
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import sympy as sp

__all__ = [
    "Definition",
    "Display",
    "Step",
    "Check",
    "Derivation",
    "DerivationError",
    "register",
    "get",
    "names",
    "titles",
    "all_derivations",
    "check_identity",
]


class DerivationError(RuntimeError):
    """A symbolic check that a derivation relies on did not hold."""


@dataclass(frozen=True)
class Step:
    """One intermediate result of a derivation: a sentence and the expression it produced.

    ``description`` is prose with inline math between ``$...$`` (LaTeX); the text outside the
    dollars is escaped when printed, so ``_``, ``%`` or ``>`` need no care there.
    """

    description: str
    expr: sp.Basic

    def latex(self) -> str:
        """Display math of the step's expression, broken to fit the page."""
        return _display_expr(self.expr)

    def text(self) -> str:
        """The description without LaTeX markup, and the expression in SymPy's plain notation."""
        return f"{_plain(self.description)}: {sp.sstr(self.expr)}"


@dataclass(frozen=True)
class Definition:
    """A named quantity in a derivation's display form: ``lhs = rhs``.

    ``lhs`` is a symbol (``k_d``) or an applied undefined function (``q_k(z)``), whose arguments
    are the dummy variables of ``rhs``. ``text`` is an optional comment in prose (inline ``$...$``).
    """

    lhs: sp.Basic
    rhs: sp.Basic
    text: str = ""

    def substitute_into(self, expr: sp.Basic) -> sp.Basic:
        """``expr`` with every occurrence of the defined quantity replaced by its definition."""
        if isinstance(self.lhs, sp.Symbol):
            return expr.xreplace({self.lhs: self.rhs})
        if isinstance(self.lhs, sp.core.function.AppliedUndef):
            f = self.lhs.func
            return expr.replace(f, sp.Lambda(self.lhs.args, self.rhs))
        raise TypeError(f"Definition.lhs must be a Symbol or an applied function, got {self.lhs!r}")


@dataclass(frozen=True)
class Display:
    """How a derivation's statement is printed: an equation in named quantities and their definitions.

    ``statement`` uses the names; ``where`` defines them, each in terms of the symbols and the names
    defined *after* it ("Q = sum_d q(k_d, beta_d), where q(k, z) = ... and k_d = ..."). The registry
    checks that substituting the definitions back gives the derived statement.
    """

    statement: sp.Basic
    where: tuple[Definition, ...] = ()

    def expanded(self) -> sp.Basic:
        """The statement with every definition substituted (last definition first, repeatedly)."""
        if isinstance(self.statement, sp.Equality):  # sides apart: Eq(a, a') would collapse to True
            return sp.Eq(self._expand(self.statement.lhs), self._expand(self.statement.rhs), evaluate=False)
        return self._expand(self.statement)

    def _expand(self, expr: sp.Basic) -> sp.Basic:
        for _ in range(len(self.where) + 1):
            before = expr
            for d in reversed(self.where):
                expr = d.substitute_into(expr)
            if expr == before:
                break
        return expr


@dataclass(frozen=True)
class Check:
    """A symbolic identity verified while deriving (``simplify(lhs - rhs) == 0``).

    ``numeric_max_error`` is the largest absolute difference found at random points with mpmath at
    high precision (``None`` if no numeric spot check was run).
    """

    description: str
    passed: bool
    numeric_max_error: float | None = None


@dataclass(frozen=True)
class Derivation:
    """A derived result with its assumptions and provenance.

    Attributes
    ----------
    name : registry key, dotted (``"diagonal.penalty"``).
    title : one line in words.
    statement : the result, usually ``sympy.Eq(lhs, rhs)``; :attr:`expr` is its right-hand side.
    symbols : the arguments of :meth:`lambdify`, in order.
    assumptions : the assumptions the algebra needed, in words (the SymPy symbols carry them too).
    source : the paper/section the result reproduces, or "derived here".
    steps : intermediate results, in order.
    checks : symbolic identities verified on the way.
    notes : remarks, e.g. where the result differs from a paper's statement.
    display : how the statement is printed (named quantities and their definitions); when absent
        the statement is printed as derived, broken to fit the page.
    """

    name: str
    title: str
    statement: sp.Basic
    symbols: tuple[sp.Symbol, ...]
    assumptions: tuple[str, ...] = ()
    source: str = ""
    steps: tuple[Step, ...] = ()
    checks: tuple[Check, ...] = ()
    notes: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)
    display: Display | None = None

    @property
    def expr(self) -> sp.Expr:
        """The right-hand side of the statement (the statement itself if it is not an equation)."""
        return self.statement.rhs if isinstance(self.statement, sp.Equality) else self.statement

    @property
    def verified(self) -> bool:
        """True when every symbolic check passed."""
        return all(c.passed for c in self.checks)

    def latex(self, steps: bool = False, standalone: bool = False) -> str:
        """LaTeX of the statement (display math, with its definitions), broken to fit the page.

        ``steps=True`` adds the derivation's steps (prose with inline math, each followed by its
        display); ``standalone=True`` returns a document that compiles on its own.
        """
        body = self.statement_latex()
        if steps:
            body += "\n" + self.steps_latex()
        if standalone:
            from ptft.theory.texbuild import standalone as _standalone

            head = "%s\n\n" % _prose(f"{self.name}: {self.title}. Source: {self.source}.")
            return _standalone(head + body)
        return body

    def statement_rows(self) -> tuple[list, list, list[str]]:
        """Laid-out rows of the statement: (main rows, "where" rows, comments on the definitions).

        Rows are ``(lhs_tex, relation, rhs_lines)`` as produced by
        :func:`ptft.theory.latex.layout_equation`; abbreviations the layout had to introduce come
        first among the "where" rows, then the declared definitions of :attr:`display`.
        """
        from ptft.theory.latex import layout_equation, tex

        st = self.display.statement if self.display is not None else self.statement
        taken = {s.name for s in self.statement.free_symbols} | {s.name for s in st.free_symbols}
        main = _layout_relation(st, taken)
        where: list = list(main[1:])
        comments: list[str] = []
        if self.display is not None:
            for d in self.display.where:
                where += layout_equation(d.lhs, d.rhs, taken=taken)
                if d.text:
                    comments.append(f"${tex(d.lhs)}$: {_prose(d.text)}")
        return main[:1], where, comments

    def statement_latex(self) -> str:
        """Display math of the statement: the display form with "where" definitions if declared."""
        from ptft.theory.latex import display_block

        main, where, comments = self.statement_rows()
        out = display_block(main, where, where_word="where")
        if comments:
            out += "\n" + "; ".join(comments) + "."
        return out

    def steps_latex(self) -> str:
        """The derivation's steps as an enumerated list of prose lines, each with its display."""
        if not self.steps:
            return ""
        items = [r"\begin{enumerate}"]
        for s in self.steps:
            items.append(r"\item %s:" % _prose(s.description))
            items.append(s.latex())
        items.append(r"\end{enumerate}")
        return "\n".join(items)

    def steps_text(self) -> str:
        """The steps as numbered plain-text lines (``ptft derive NAME --steps``)."""
        return "\n".join(f"  {k}. {s.text()}" for k, s in enumerate(self.steps, 1))

    def lambdify(self, modules: str | Sequence = "numpy") -> Callable:
        """A numerical function of :attr:`symbols` (in that order) evaluating :attr:`expr`."""
        return sp.lambdify(self.symbols, self.expr, modules=modules)

    def _repr_latex_(self) -> str:
        """Notebooks render the statement and its definitions as one ``aligned`` display (MathJax)."""
        main, where, _ = self.statement_rows()
        rows = []
        for k, (lhs, rel, rhs_lines) in enumerate(main + where):
            if k == len(main):
                rows.append(r"&\text{where}")
            rows.append(f"{lhs} &{rel} {rhs_lines[0]}")
            rows += [f"&\\quad {r}" for r in rhs_lines[1:]]
        return "$$\\begin{aligned}" + " \\\\ ".join(rows) + "\\end{aligned}$$"

    def __repr__(self) -> str:
        st = sp.sstr(self.display.statement if self.display is not None else self.statement)
        if len(st) > 80:
            st = st[:77] + "..."
        return f"<Derivation {self.name}: {self.title} | {st}>"

    def summary(self) -> str:
        """A plain-text description: title, statement, assumptions, source, checks."""
        out = [f"{self.name}: {self.title}"]
        if self.display is not None:
            out.append(f"  {sp.sstr(self.display.statement)}")
            out += [f"    where {sp.sstr(d.lhs)} = {sp.sstr(d.rhs)}" for d in self.display.where]
        else:
            out.append(f"  {sp.sstr(self.statement)}")
        if self.assumptions:
            out.append("  assumptions: " + "; ".join(_plain(x) for x in self.assumptions))
        if self.source:
            out.append(f"  source: {self.source}")
        for c in self.checks:
            mark = "ok" if c.passed else "FAILED"
            num = "" if c.numeric_max_error is None else f" (numeric max error {c.numeric_max_error:.1e})"
            out.append(f"  check [{mark}] {_plain(c.description)}{num}")
        if self.notes:
            out.append(f"  note: {_plain(self.notes)}")
        return "\n".join(out)


def _prose(s: str) -> str:
    from ptft.theory.texbuild import prose

    return prose(s)


_BRACED = r"\{((?:[^{}]|\{[^{}]*\})*)\}"


def _plain(s: str) -> str:
    """Prose with inline math, for a terminal: dollars dropped, common LaTeX spelled out in ASCII.

    ``$\\frac{\\beta}{2} \\operatorname{asinh}(u)$`` becomes ``(beta)/(2) asinh(u)``.
    """
    import re

    if "$" not in s and "\\" not in s:
        return s
    out = s.replace("$", "")
    for _ in range(4):  # nested groups, innermost first
        out = re.sub(r"\\[dt]?frac" + _BRACED + _BRACED, r"(\1)/(\2)", out)
        out = re.sub(r"\\sqrt" + _BRACED, r"sqrt(\1)", out)
        out = re.sub(r"\\(?:mathrm|operatorname|text|textrm|mathit|mathbf)" + _BRACED, r"\1", out)
        out = re.sub(r"\^" + _BRACED, lambda m: "^" + (m.group(1) if len(m.group(1)) == 1 else f"({m.group(1)})"), out)
        out = re.sub(r"_" + _BRACED, lambda m: "_" + m.group(1), out)
    out = re.sub(r"\\to(?![A-Za-z])", "->", out)
    for a, b in (("\\left", ""), ("\\right", ""), ("\\infty", "oo"), ("\\quad", " "),
                 ("\\qquad", " "), ("\\cdot", "*"), ("\\times", "x"), ("\\leq", "<="), ("\\geq", ">="),
                 ("\\le", "<="), ("\\ge", ">="), ("\\neq", "!="), ("\\approx", "~"), ("\\sim", "~"),
                 ("\\ll", "<<"), ("\\gg", ">>"), ("\\pm", "+-"), ("\\,", " "), ("\\;", " "), ("\\!", ""),
                 ("\\{", "{"), ("\\}", "}"), ("\\|", "||")):
        out = out.replace(a, b)
    out = re.sub(r"\\([A-Za-z]+)", r"\1", out)
    return out.replace("{", "").replace("}", "")


def _layout_relation(st: sp.Basic, taken: set[str]) -> list:
    from ptft.theory.latex import layout_equation

    if isinstance(st, sp.Equality):
        return layout_equation(st.lhs, st.rhs, taken=taken)
    return layout_equation("", st, rel="", taken=taken)


def _display_expr(expr: sp.Basic) -> str:
    """Display math for a step's expression: an equation, a tuple/matrix (one row per entry) or a value."""
    from ptft.theory.latex import display_block, layout_equation, tex, tex_width, MAX_WIDTH

    taken = {s.name for s in getattr(expr, "free_symbols", ()) if isinstance(s, sp.Symbol)}
    if isinstance(expr, sp.MatrixBase) and tex_width(tex(expr)) <= MAX_WIDTH:
        return display_block([("", "", [tex(expr)])])
    if isinstance(expr, (sp.Tuple, sp.MatrixBase)):
        entries = list(expr) if isinstance(expr, sp.Tuple) else [expr[i, j] for i in range(expr.rows)
                                                                   for j in range(expr.cols)]
        if isinstance(expr, sp.Tuple) and tex_width(tex(expr)) <= MAX_WIDTH:
            return display_block([("", "", [tex(expr)])])
        rows: list = []
        for k, e in enumerate(entries):
            label = (r"(%d)" % (k + 1)) if isinstance(expr, sp.Tuple) else (r"[%d,%d]" % divmod(k, expr.cols))
            lines = _layout_relation(e, taken) if isinstance(e, sp.Equality) else layout_equation(
                r"\text{%s}" % label, e, rel="", taken=taken)
            rows += lines
        return display_block(rows[:len(rows)], ())
    lines = _layout_relation(expr, taken)
    return display_block(lines[:1], lines[1:])


# --------------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------------
_BUILDERS: dict[str, Callable[[], Derivation]] = {}
_TITLES: dict[str, str] = {}


def register(name: str, title: str | None = None) -> Callable[[Callable[[], Derivation]], Callable[[], Derivation]]:
    """Register a zero-argument builder returning a :class:`Derivation` under ``name``.

    The builder runs on first :func:`get` and its result is cached. ``title`` (the derivation's
    ``title``, repeated here) lets :func:`titles` list the derivations without deriving them.
    """

    def deco(builder: Callable[[], Derivation]) -> Callable[[], Derivation]:
        if name in _BUILDERS:
            raise ValueError(f"derivation name {name!r} is registered twice")
        if title is not None:
            _TITLES[name] = title
        @functools.wraps(builder)
        def build() -> Derivation:
            d = builder()
            return _with_display_check(d) if d.display is not None else d

        cached = functools.lru_cache(maxsize=None)(build)
        _BUILDERS[name] = cached
        return cached

    return deco


def _with_display_check(d: Derivation) -> Derivation:
    """``d`` with one more check: its display form, definitions substituted, equals the statement."""
    import dataclasses

    shown = d.display.expanded()
    if isinstance(d.statement, sp.Equality) != isinstance(shown, sp.Equality):
        raise DerivationError(f"{d.name}: display form and statement are not both equations")
    pairs = [(shown.lhs, d.statement.lhs), (shown.rhs, d.statement.rhs)] if isinstance(shown, sp.Equality) else [
        (shown, d.statement)]
    checks = []
    for k, (a, b) in enumerate(pairs):
        if a == b:
            continue
        checks.append(check_identity(a, b, f"display form equals the derived statement ({'lhs' if k == 0 else 'rhs'})"))
    if not checks:
        checks = [Check("display form equals the derived statement (identical after substitution)", True, 0.0)]
    return dataclasses.replace(d, checks=tuple(d.checks) + tuple(checks))


def _load_all() -> None:
    # importing the theory package registers every module's builders
    from ptft import theory  # noqa: F401


def get(name: str) -> Derivation:
    """The derivation registered as ``name`` (derived on first use, then cached)."""
    _load_all()
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise KeyError(f"no derivation named {name!r}; known: {', '.join(sorted(_BUILDERS))}") from None
    d = builder()
    if d.name != name:
        raise DerivationError(f"builder for {name!r} returned a derivation named {d.name!r}")
    return d


def names() -> list[str]:
    """Registered derivation names, sorted."""
    _load_all()
    return sorted(_BUILDERS)


def titles() -> dict[str, str]:
    """``{name: title}`` for every registered derivation, sorted by name, without deriving anything
    (``""`` for a derivation registered without a title)."""
    _load_all()
    return {n: _TITLES.get(n, "") for n in sorted(_BUILDERS)}


def all_derivations() -> Iterable[Derivation]:
    """Every registered derivation, derived (slow the first time)."""
    return (get(n) for n in names())


# --------------------------------------------------------------------------------------------------
# identity checking
# --------------------------------------------------------------------------------------------------
def check_identity(
    lhs: sp.Expr,
    rhs: sp.Expr,
    description: str,
    *,
    points: int = 5,
    ranges: dict[sp.Symbol, tuple[float, float]] | None = None,
    seed: int = 0,
    dps: int = 50,
    tol: float = 1e-30,
    require_symbolic: bool = False,
) -> Check:
    """Verify ``lhs == rhs``: ``simplify(lhs - rhs) == 0`` and a high-precision numeric spot check.

    The numeric check evaluates ``lhs - rhs`` at ``points`` pseudo-random points (drawn with
    ``seed``) with mpmath at ``dps`` digits; symbols are drawn uniformly from ``ranges`` (default
    (0.1, 2) for positive symbols, (-2, 2) otherwise). The check passes if the symbolic difference
    simplifies to zero, or (unless ``require_symbolic``) if every numeric difference is below ``tol``.
    Raises :class:`DerivationError` if neither holds: a derivation must not be registered unchecked.
    """
    import random

    import mpmath

    diff = sp.simplify(lhs - rhs)
    symbolic_ok = diff == 0
    free = sorted((lhs - rhs).free_symbols, key=lambda s: s.name)
    rnd = random.Random(seed)
    ranges = dict(ranges or {})
    max_err = 0.0
    with mpmath.workdps(dps):
        for _ in range(points):
            subs = {}
            for s in free:
                lo, hi = ranges.get(s, (0.1, 2.0) if s.is_positive else (-2.0, 2.0))
                subs[s] = sp.Float(rnd.uniform(lo, hi), dps)
            val = sp.N((lhs - rhs).subs(subs), dps)
            err = abs(complex(val))
            max_err = max(max_err, err)
    numeric_ok = max_err < tol
    passed = bool(symbolic_ok or (numeric_ok and not require_symbolic))
    if not passed:
        raise DerivationError(f"identity failed: {description} (simplified difference {diff}, numeric {max_err:.3e})")
    return Check(description=description + ("" if symbolic_ok else " [numeric only]"), passed=True,
                 numeric_max_error=max_err)
