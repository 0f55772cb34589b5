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
    "Step",
    "Check",
    "Derivation",
    "DerivationError",
    "register",
    "get",
    "names",
    "all_derivations",
    "check_identity",
]


class DerivationError(RuntimeError):
    """A symbolic check that a derivation relies on did not hold."""


@dataclass(frozen=True)
class Step:
    """One intermediate result of a derivation: a sentence and the expression it produced."""

    description: str
    expr: sp.Basic

    def latex(self) -> str:
        return sp.latex(self.expr)


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
    notes : remarks, e.g. where the result differs from the reference note.
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

    @property
    def expr(self) -> sp.Expr:
        """The right-hand side of the statement (the statement itself if it is not an equation)."""
        return self.statement.rhs if isinstance(self.statement, sp.Equality) else self.statement

    @property
    def verified(self) -> bool:
        """True when every symbolic check passed."""
        return all(c.passed for c in self.checks)

    def latex(self, steps: bool = False) -> str:
        """LaTeX of the statement; with ``steps=True`` an ``align*`` block of the whole derivation."""
        if not steps:
            return sp.latex(self.statement)
        lines = [r"\begin{align*}"]
        for s in self.steps:
            lines.append(r"&\text{%s}: & %s \\" % (_latex_text(s.description), s.latex()))
        lines.append(r"&\text{result}: & %s" % sp.latex(self.statement))
        lines.append(r"\end{align*}")
        return "\n".join(lines)

    def lambdify(self, modules: str | Sequence = "numpy") -> Callable:
        """A numerical function of :attr:`symbols` (in that order) evaluating :attr:`expr`."""
        return sp.lambdify(self.symbols, self.expr, modules=modules)

    def _repr_latex_(self) -> str:  # notebooks render the statement
        return "$" + self.latex() + "$"

    def summary(self) -> str:
        """A plain-text description: title, statement, assumptions, source, checks."""
        out = [f"{self.name}: {self.title}", f"  {sp.sstr(self.statement)}"]
        if self.assumptions:
            out.append("  assumptions: " + "; ".join(self.assumptions))
        if self.source:
            out.append(f"  source: {self.source}")
        for c in self.checks:
            mark = "ok" if c.passed else "FAILED"
            num = "" if c.numeric_max_error is None else f" (numeric max error {c.numeric_max_error:.1e})"
            out.append(f"  check [{mark}] {c.description}{num}")
        if self.notes:
            out.append(f"  note: {self.notes}")
        return "\n".join(out)


def _latex_text(s: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#")):
        s = s.replace(a, b)
    return s


# --------------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------------
_BUILDERS: dict[str, Callable[[], Derivation]] = {}


def register(name: str) -> Callable[[Callable[[], Derivation]], Callable[[], Derivation]]:
    """Register a zero-argument builder returning a :class:`Derivation` under ``name``.

    The builder runs on first :func:`get` and its result is cached.
    """

    def deco(builder: Callable[[], Derivation]) -> Callable[[], Derivation]:
        if name in _BUILDERS:
            raise ValueError(f"derivation name {name!r} is registered twice")
        cached = functools.lru_cache(maxsize=None)(builder)
        _BUILDERS[name] = cached
        return cached

    return deco


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
