"""ptft-theory verification: a registry of claims (theory vs simulation), a runner and reports.

>>> from verification import RunConfig, select_claims, run_claims
>>> report = run_claims(select_claims(["diagonal"]), RunConfig(quick=True))   # doctest: +SKIP
>>> print(report.table())                                                      # doctest: +SKIP
"""
from ptft.verification.registry import ClaimResult, Measurement, NotConverged, RunConfig, claim, claims, select_claims
from ptft.verification.runner import run_claims

__all__ = ["ClaimResult", "Measurement", "NotConverged", "RunConfig", "claim", "claims", "select_claims",
           "run_claims"]
