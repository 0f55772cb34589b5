"""The claim registry: each claim pairs a theory prediction with a simulation and a justified tolerance.

A claim is a function ``f(config: RunConfig) -> Measurement`` registered with :func:`claim`. It
computes the theory value and the simulation value, the error between them (its ``metric`` says
how), and a tolerance with the reason it is that size (finite size, step size, solver error). The
registry turns it into a :class:`ClaimResult` with a verdict:

- ``PASS``: finite error within tolerance;
- ``FAIL``: error above tolerance, a non-finite value, or a simulation that did not converge
  (raise :class:`NotConverged` from the claim: it is reported, never silently used);
- ``ERROR``: the claim raised any other exception (the message is kept).

A claim states what holds. Where the measured fact contradicts a published statement or a prior
expectation, the claim says so in ``refutes`` (:class:`Refutes`: the source, the expectation, and the
``docs/differences.md`` entry that explains the difference); the reports print it beside the verdict.

Claims are registered by importing :mod:`verification.claims`, one module per paper. A renamed claim
keeps its old id as an alias for one release (``aliases=`` of :func:`claim`): :func:`get_claim` and
:func:`select_claims` resolve it with a :class:`ClaimRenamedWarning` (a ``FutureWarning``).
"""
from __future__ import annotations

import math
import time
import traceback
import warnings
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from ptft.numerics.sweeps import to_jsonable
from ptft.numerics.validation import NotConvergedWarning

__all__ = ["RunConfig", "Measurement", "ClaimResult", "Claim", "Refutes", "NotConverged", "ClaimRenamedWarning",
           "DIFFERENCES_DOC", "claim", "get_claim", "claims", "select_claims", "aliases", "resolve_alias",
           "unregister"]

DIFFERENCES_DOC = "docs/differences.md"
"""Where the project explains each difference from the papers or from a prior expectation."""


class NotConverged(RuntimeError):
    """Raised inside a claim when a simulation or solver it relies on did not converge."""


class ClaimRenamedWarning(FutureWarning):
    """An old claim id was used; its message names the new id (the alias goes in the next release)."""


@dataclass(frozen=True)
class Refutes:
    """The expectation a claim's measured fact contradicts.

    ``source``: who stated it (a paper, with section); ``statement``: the expectation in one sentence;
    ``see``: the ``docs/differences.md#anchor`` entry that explains the difference (the anchor is the
    GitHub slug of a heading in that file).
    """

    source: str
    statement: str
    see: str

    def __post_init__(self):
        if not self.see.startswith(DIFFERENCES_DOC + "#"):
            raise ValueError(f"see: must point into {DIFFERENCES_DOC}#<anchor>, got {self.see!r}")

    def line(self) -> str:
        """``source: statement (see docs/differences.md#anchor)``, one line for the reports."""
        return f"{self.source}: {self.statement} (see {self.see})"

    @classmethod
    def coerce(cls, value) -> "Refutes | None":
        """A :class:`Refutes` from itself, a dict (as stored in JSON) or None."""
        if value is None or isinstance(value, cls):
            return value
        return cls(**{k: value[k] for k in ("source", "statement", "see")})


@dataclass(frozen=True)
class RunConfig:
    """Settings every claim receives.

    ``quick`` selects the small configuration (the whole quick run takes under a minute on 2 cores),
    ``seed`` the root of every random draw: :meth:`rng` derives independent, reproducible streams.
    """

    quick: bool = False
    seed: int = 0

    def rng(self, *keys: Any) -> np.random.Generator:
        """A generator seeded by ``seed`` and the given keys (same keys, same numbers)."""
        return np.random.default_rng([self.seed] + [zlib.crc32(repr(k).encode()) for k in keys])

    def pick(self, quick, full):
        """``quick`` in the quick configuration, ``full`` otherwise."""
        return quick if self.quick else full

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Measurement:
    """What a claim function returns.

    ``theory`` / ``simulation`` are the two headline numbers (``theory_label`` / ``simulation_label``
    say what they are), ``error`` compares them as described by ``metric``, and the claim holds when
    ``error <= tolerance``; ``tolerance_reason`` justifies the tolerance. ``details`` holds the
    supporting numbers (tables, fits) that go into the JSON report.
    """

    theory: float
    simulation: float
    error: float
    tolerance: float
    tolerance_reason: str
    metric: str
    theory_label: str = "theory"
    simulation_label: str = "simulation"
    details: dict = field(default_factory=dict)


@dataclass
class ClaimResult:
    """A claim's outcome, as written into the report."""

    id: str
    title: str
    source: str
    verdict: str
    theory: float | None = None
    simulation: float | None = None
    error: float | None = None
    tolerance: float | None = None
    tolerance_reason: str = ""
    metric: str = ""
    theory_label: str = "theory"
    simulation_label: str = "simulation"
    message: str = ""
    details: dict = field(default_factory=dict)
    seconds: float = 0.0
    config: dict = field(default_factory=dict)
    cached: bool = False
    refutes: Refutes | None = None

    def __post_init__(self):
        self.refutes = Refutes.coerce(self.refutes)

    @property
    def passed(self) -> bool:
        return self.verdict == "PASS"

    def to_dict(self) -> dict:
        return to_jsonable(asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> "ClaimResult":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Claim:
    """A registered claim: id, title, source, the function that measures it, tags, and what it refutes."""

    id: str
    title: str
    source: str
    func: Callable[[RunConfig], Measurement]
    tags: tuple[str, ...] = ()
    refutes: Refutes | None = None

    def run(self, config: RunConfig) -> ClaimResult:
        """Run the claim and judge it (exceptions become ``ERROR``, non-convergence ``FAIL``)."""
        t0 = time.perf_counter()
        base = dict(id=self.id, title=self.title, source=self.source, config=config.as_dict(),
                    refutes=self.refutes)
        # NotConvergedWarnings of the simulations go into the result (details), not onto the terminal
        caught: list = []
        try:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", NotConvergedWarning)
                    m = self.func(config)
            finally:
                noted = _sort_warnings(caught)   # outside the recording block: others are emitted again
        except NotConverged as exc:
            return ClaimResult(**base, verdict="FAIL", message=f"did not converge: {exc}",
                               details=_noted(noted), seconds=time.perf_counter() - t0)
        except Exception as exc:  # a claim that crashes is reported, not hidden
            tb = traceback.format_exc(limit=3)
            return ClaimResult(**base, verdict="ERROR", message=f"{type(exc).__name__}: {exc}",
                               details={"traceback": tb, **_noted(noted)}, seconds=time.perf_counter() - t0)
        values = (m.theory, m.simulation, m.error, m.tolerance)
        finite = all(v is not None and math.isfinite(float(v)) for v in values)
        ok = finite and float(m.error) <= float(m.tolerance)
        msg = "" if finite else "non-finite value"
        return ClaimResult(**base, verdict="PASS" if ok else "FAIL", theory=float(m.theory),
                           simulation=float(m.simulation), error=float(m.error), tolerance=float(m.tolerance),
                           tolerance_reason=m.tolerance_reason, metric=m.metric, theory_label=m.theory_label,
                           simulation_label=m.simulation_label, message=msg,
                           details=to_jsonable({**m.details, **_noted(noted)}), seconds=time.perf_counter() - t0)


def _sort_warnings(caught) -> list[str]:
    """Messages of the recorded NotConvergedWarnings; any other recorded warning is emitted again."""
    noted = []
    for w in caught:
        if issubclass(w.category, NotConvergedWarning):
            noted.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return noted


def _noted(noted: list[str]) -> dict:
    return {"not_converged_warnings": noted} if noted else {}


_CLAIMS: dict[str, Claim] = {}
_ALIASES: dict[str, str] = {}   # old id -> current id (kept for one release)


def claim(id: str, title: str, source: str, tags: tuple[str, ...] = (), *, refutes: Refutes | None = None,
          aliases: tuple[str, ...] = ()) -> Callable:
    """Register ``func(config) -> Measurement`` as a claim named ``id``.

    ``refutes``: the expectation the measured fact contradicts (:class:`Refutes`), printed beside the
    verdict. ``aliases``: former ids of this claim; they still resolve, with a :class:`ClaimRenamedWarning`.
    """

    def deco(func: Callable[[RunConfig], Measurement]) -> Callable[[RunConfig], Measurement]:
        if id in _CLAIMS or id in _ALIASES:
            raise ValueError(f"claim id {id!r} is registered twice")
        for old in aliases:
            if old in _CLAIMS or old in _ALIASES:
                raise ValueError(f"alias {old!r} of claim {id!r} is already a claim id or an alias")
        _CLAIMS[id] = Claim(id=id, title=title, source=source, func=func, tags=tuple(tags), refutes=refutes)
        for old in aliases:
            _ALIASES[old] = id
        return func

    return deco


def unregister(id: str) -> None:
    """Remove claim ``id`` and its aliases (for tests that register a temporary claim)."""
    _CLAIMS.pop(id, None)
    for old in [a for a, new in _ALIASES.items() if new == id]:
        del _ALIASES[old]


def aliases() -> dict[str, str]:
    """Old claim ids that still resolve, mapped to their current ids."""
    _load()
    return dict(_ALIASES)


def _renamed_message(old: str, new: str) -> str:
    return f"claim id {old} was renamed to {new}; the old id will be removed in the next release"


def resolve_alias(id: str, warn: bool = True) -> str:
    """The current id for ``id`` (itself unless it is a former id; then a :class:`ClaimRenamedWarning`)."""
    _load()
    new = _ALIASES.get(id)
    if new is None:
        return id
    if warn:
        warnings.warn(_renamed_message(id, new), ClaimRenamedWarning, stacklevel=3)
    return new


def _load() -> None:
    import ptft.verification.claims  # noqa: F401  (registers every claim module)


def claims() -> list[Claim]:
    """All registered claims, in registration order."""
    _load()
    return list(_CLAIMS.values())


def get_claim(id: str) -> Claim:
    """The claim registered as ``id`` (a former id resolves, with a :class:`ClaimRenamedWarning`)."""
    _load()
    id = resolve_alias(id)
    try:
        return _CLAIMS[id]
    except KeyError:
        raise KeyError(f"no claim {id!r}; known: {', '.join(_CLAIMS)}") from None


def select_claims(patterns: list[str] | None = None) -> list[Claim]:
    """Claims whose id contains any of ``patterns`` or carries one as a tag (all when empty).

    A pattern equal to a former claim id selects the renamed claim (with a :class:`ClaimRenamedWarning`).
    Every pattern must select at least one claim: otherwise :class:`ValueError` names the ones that did not.
    """
    everything = claims()
    if not patterns:
        return everything
    resolved = []
    for p in patterns:   # a loop, not a comprehension: the warning then points at the caller
        resolved.append(resolve_alias(p))
    patterns = resolved
    unmatched = [p for p in patterns if not any(p in c.id or p in c.tags for c in everything)]
    if unmatched:
        tags = sorted({t for c in everything for t in c.tags})
        raise ValueError(f"no claim matches {', '.join(repr(p) for p in unmatched)} (an id, part of one, or a tag); "
                         f"tags: {', '.join(tags)}; ids: {', '.join(c.id for c in everything)}")
    return [c for c in everything if any(p in c.id or p in c.tags for p in patterns)]
