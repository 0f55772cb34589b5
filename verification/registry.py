"""The claim registry: each claim pairs a theory prediction with a simulation and a justified tolerance.

A claim is a function ``f(config: RunConfig) -> Measurement`` registered with :func:`claim`. It
computes the theory value and the simulation value, the error between them (its ``metric`` says
how), and a tolerance with the reason it is that size (finite size, step size, solver error). The
registry turns it into a :class:`ClaimResult` with a verdict:

- ``PASS``: finite error within tolerance;
- ``FAIL``: error above tolerance, a non-finite value, or a simulation that did not converge
  (raise :class:`NotConverged` from the claim: it is reported, never silently used);
- ``ERROR``: the claim raised any other exception (the message is kept).

Claims are registered by importing :mod:`verification.claims`, one module per paper.
"""
from __future__ import annotations

import math
import time
import traceback
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from ptft.numerics.sweeps import to_jsonable

__all__ = ["RunConfig", "Measurement", "ClaimResult", "Claim", "NotConverged", "claim", "get_claim", "claims",
           "select_claims"]


class NotConverged(RuntimeError):
    """Raised inside a claim when a simulation or solver it relies on did not converge."""


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
    """A registered claim: id, title, source, the function that measures it, and tags."""

    id: str
    title: str
    source: str
    func: Callable[[RunConfig], Measurement]
    tags: tuple[str, ...] = ()

    def run(self, config: RunConfig) -> ClaimResult:
        """Run the claim and judge it (exceptions become ``ERROR``, non-convergence ``FAIL``)."""
        t0 = time.perf_counter()
        base = dict(id=self.id, title=self.title, source=self.source, config=config.as_dict())
        try:
            m = self.func(config)
        except NotConverged as exc:
            return ClaimResult(**base, verdict="FAIL", message=f"did not converge: {exc}",
                               seconds=time.perf_counter() - t0)
        except Exception as exc:  # a claim that crashes is reported, not hidden
            tb = traceback.format_exc(limit=3)
            return ClaimResult(**base, verdict="ERROR", message=f"{type(exc).__name__}: {exc}",
                               details={"traceback": tb}, seconds=time.perf_counter() - t0)
        values = (m.theory, m.simulation, m.error, m.tolerance)
        finite = all(v is not None and math.isfinite(float(v)) for v in values)
        ok = finite and float(m.error) <= float(m.tolerance)
        msg = "" if finite else "non-finite value"
        return ClaimResult(**base, verdict="PASS" if ok else "FAIL", theory=float(m.theory),
                           simulation=float(m.simulation), error=float(m.error), tolerance=float(m.tolerance),
                           tolerance_reason=m.tolerance_reason, metric=m.metric, theory_label=m.theory_label,
                           simulation_label=m.simulation_label, message=msg, details=to_jsonable(m.details),
                           seconds=time.perf_counter() - t0)


_CLAIMS: dict[str, Claim] = {}


def claim(id: str, title: str, source: str, tags: tuple[str, ...] = ()) -> Callable:
    """Register ``func(config) -> Measurement`` as a claim named ``id``."""

    def deco(func: Callable[[RunConfig], Measurement]) -> Callable[[RunConfig], Measurement]:
        if id in _CLAIMS:
            raise ValueError(f"claim id {id!r} is registered twice")
        _CLAIMS[id] = Claim(id=id, title=title, source=source, func=func, tags=tuple(tags))
        return func

    return deco


def _load() -> None:
    import ptft.verification.claims  # noqa: F401  (registers every claim module)


def claims() -> list[Claim]:
    """All registered claims, in registration order."""
    _load()
    return list(_CLAIMS.values())


def get_claim(id: str) -> Claim:
    _load()
    try:
        return _CLAIMS[id]
    except KeyError:
        raise KeyError(f"no claim {id!r}; known: {', '.join(_CLAIMS)}") from None


def select_claims(patterns: list[str] | None = None) -> list[Claim]:
    """Claims whose id contains any of ``patterns`` or carries one as a tag (all when empty)."""
    everything = claims()
    if not patterns:
        return everything
    chosen = [c for c in everything if any(p in c.id or p in c.tags for p in patterns)]
    if not chosen:
        raise ValueError(f"--only: no claim matches {patterns}; known ids: {', '.join(c.id for c in everything)}")
    return chosen
