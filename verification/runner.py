"""Run a selection of claims with progress, caching and a :class:`~verification.report.Report`."""
from __future__ import annotations

import time
from concurrent.futures import Executor, as_completed
from typing import Iterable

from tqdm.auto import tqdm

from ptft.verification.cache import ResultCache
from ptft.verification.registry import Claim, ClaimResult, RunConfig, get_claim
from ptft.verification.report import Report

__all__ = ["run_claims", "run_claim_remote"]


def run_claim_remote(claim: str | Claim, config: dict) -> dict:
    """Run one claim on a worker and return its result as a JSON-able dict.

    ``claim`` is normally a registered claim's id, looked up on the worker with
    :func:`~ptft.verification.registry.get_claim` (claims are module-level registered functions, so
    only the id and the configuration travel); an unregistered :class:`Claim` object is sent whole.
    """
    c = get_claim(claim) if isinstance(claim, str) else claim
    return c.run(RunConfig(**config)).to_dict()


def _is_registered(c: Claim) -> bool:
    try:
        return get_claim(c.id) is c
    except KeyError:
        return False


def _worker_failure(c: Claim, config: RunConfig, exc: BaseException) -> ClaimResult:
    return ClaimResult(id=c.id, title=c.title, source=c.source, verdict="ERROR", config=config.as_dict(),
                       message=f"the worker running the claim failed: {type(exc).__name__}: {exc} (not cached: "
                               f"a rerun runs it again)")


def run_claims(
    selected: Iterable[Claim],
    config: RunConfig,
    cache: ResultCache | None = None,
    progress: bool = True,
    executor: Executor | None = None,
) -> Report:
    """Run ``selected`` under ``config``; reuse cached results (only PASS/FAIL, never ERROR).

    With an ``executor`` (any ``concurrent.futures.Executor``: a process pool, or a Dask cluster's
    ``client.get_executor()``) every uncached claim is one task: its id and configuration are sent
    (see :func:`run_claim_remote`), each result is stored in the cache as it arrives and the progress
    bar advances as claims complete. A task that fails as a whole (e.g. its worker was killed) gives
    an ``ERROR`` result, which is not cached. The report lists the claims in the order of
    ``selected`` (registration order) either way.
    """
    selected = list(selected)
    if executor is not None and not hasattr(executor, "submit"):
        raise ValueError(f"executor: expected a concurrent.futures.Executor or None, got {type(executor).__name__}")
    results: list[ClaimResult | None] = [None] * len(selected)
    t0 = time.perf_counter()

    def finish(i: int, r: ClaimResult) -> None:
        if cache is not None and r.verdict in ("PASS", "FAIL"):
            cache.store(selected[i].id, config.as_dict(), r.to_dict())
        results[i] = r

    if executor is None:
        bar = tqdm(selected, desc="claims", unit="claim", disable=not progress, leave=False)
        for i, c in enumerate(bar):
            bar.set_postfix_str(c.id)
            hit = cache.load(c.id, config.as_dict()) if cache is not None else None
            if hit is not None:
                r = ClaimResult.from_dict(hit)
                r.cached = True
                results[i] = r
            else:
                finish(i, c.run(config))
    else:
        todo = []
        for i, c in enumerate(selected):
            hit = cache.load(c.id, config.as_dict()) if cache is not None else None
            if hit is not None:
                results[i] = ClaimResult.from_dict(hit)
                results[i].cached = True
            else:
                todo.append(i)
        bar = tqdm(total=len(selected), initial=len(selected) - len(todo), desc="claims", unit="claim",
                   disable=not progress, leave=False)
        futures = {executor.submit(run_claim_remote, selected[i].id if _is_registered(selected[i]) else selected[i],
                                   config.as_dict()): i for i in todo}
        try:
            for fut in as_completed(futures):
                i = futures.pop(fut)
                try:
                    r = ClaimResult.from_dict(fut.result())
                except Exception as exc:  # the task itself failed (a claim's own errors come back as ERROR)
                    r = _worker_failure(selected[i], config, exc)
                finish(i, r)
                bar.set_postfix_str(selected[i].id)
                bar.update()
        finally:
            for f in futures:  # only left on an interruption
                f.cancel()
    bar.close()
    return Report(results=list(results), config=config, seconds=time.perf_counter() - t0)
