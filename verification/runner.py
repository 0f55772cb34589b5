"""Run a selection of claims with progress, caching and a :class:`~verification.report.Report`."""
from __future__ import annotations

import time
from typing import Iterable

from tqdm.auto import tqdm

from ptft.verification.cache import ResultCache
from ptft.verification.registry import Claim, ClaimResult, RunConfig
from ptft.verification.report import Report

__all__ = ["run_claims"]


def run_claims(
    selected: Iterable[Claim],
    config: RunConfig,
    cache: ResultCache | None = None,
    progress: bool = True,
) -> Report:
    """Run ``selected`` under ``config``; reuse cached results (only PASS/FAIL, never ERROR)."""
    selected = list(selected)
    results: list[ClaimResult] = []
    t0 = time.perf_counter()
    bar = tqdm(selected, desc="claims", unit="claim", disable=not progress, leave=False)
    for c in bar:
        bar.set_postfix_str(c.id)
        hit = cache.load(c.id, config.as_dict()) if cache is not None else None
        if hit is not None:
            r = ClaimResult.from_dict(hit)
            r.cached = True
        else:
            r = c.run(config)
            if cache is not None and r.verdict in ("PASS", "FAIL"):
                cache.store(c.id, config.as_dict(), r.to_dict())
        results.append(r)
    return Report(results=results, config=config, seconds=time.perf_counter() - t0)
