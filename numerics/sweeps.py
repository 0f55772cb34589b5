"""Parameter sweeps: a grid of configurations, run by any executor, cached per point, with progress.

A sweep evaluates a *top-level* function ``func(**point) -> dict`` at every point of a grid. Each
point's result is stored as JSON under ``cache_dir`` keyed by the function's qualified name, a
``version`` string and the point itself, so an interrupted sweep resumes where it stopped and a
finished one is free to re-read.

The executor is anything with the ``concurrent.futures.Executor`` interface: ``None`` runs serially
in-process; a ``concurrent.futures.ProcessPoolExecutor`` uses local cores; a Dask cluster is used
through ``dask.distributed.Client(...).get_executor()`` (Dask is not a dependency: install it where
one machine is not enough).

Results must be JSON-serialisable (numbers, lists, dicts; numpy arrays and scalars are converted).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
from concurrent.futures import Executor, as_completed
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
from tqdm.auto import tqdm

__all__ = ["grid", "run_sweep", "SweepCache", "to_jsonable"]


def grid(**axes: Iterable[Any]) -> list[dict[str, Any]]:
    """The Cartesian product of named axes, as a list of dicts (last axis varies fastest)."""
    names = list(axes)
    values = [list(v) for v in axes.values()]
    for n, v in zip(names, values):
        if not v:
            raise ValueError(f"{n}: axis is empty")
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def to_jsonable(x):
    """``x`` with numpy arrays/scalars turned into lists/numbers and non-finite floats into strings
    (``'nan'``, ``'inf'``), so that ``json.dumps`` writes standard JSON."""
    if isinstance(x, Mapping):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return repr(x)
    return x


class SweepCache:
    """One JSON file per (function, version, point) under ``directory``."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)

    def _path(self, name: str, version: str, point: Mapping) -> Path:
        payload = json.dumps({"f": name, "v": version, "p": to_jsonable(dict(point))}, sort_keys=True)
        return self.directory / name / (hashlib.sha256(payload.encode()).hexdigest()[:24] + ".json")

    def load(self, name: str, version: str, point: Mapping):
        p = self._path(name, version, point)
        if p.exists():
            try:
                return json.loads(p.read_text())["result"]
            except (OSError, json.JSONDecodeError, KeyError):
                return None
        return None

    def store(self, name: str, version: str, point: Mapping, result) -> None:
        p = self._path(name, version, point)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps({"point": to_jsonable(dict(point)), "result": to_jsonable(result)}))
        os.replace(tmp, p)


def run_sweep(
    func: Callable[..., Any],
    points: list[dict[str, Any]],
    *,
    cache_dir: str | os.PathLike | None = None,
    version: str = "1",
    executor: Executor | None = None,
    progress: bool = True,
    desc: str | None = None,
) -> list[Any]:
    """Evaluate ``func(**point)`` at every point; returns results in the order of ``points``.

    Points already in the cache are not recomputed. With an ``executor``, uncached points are
    submitted to it (``func`` must then be picklable: a module-level function).
    """
    name = f"{func.__module__}.{func.__qualname__}"
    cache = SweepCache(cache_dir) if cache_dir is not None else None
    results: list[Any] = [None] * len(points)
    todo = []
    for i, p in enumerate(points):
        hit = cache.load(name, version, p) if cache is not None else None
        if hit is not None:
            results[i] = hit
        else:
            todo.append(i)
    bar = tqdm(total=len(points), initial=len(points) - len(todo), desc=desc or func.__name__,
               disable=not progress, leave=False)
    try:
        if executor is None:
            for i in todo:
                results[i] = to_jsonable(func(**points[i]))
                if cache is not None:
                    cache.store(name, version, points[i], results[i])
                bar.update()
        else:
            futures = {executor.submit(func, **points[i]): i for i in todo}
            for fut in as_completed(futures):
                i = futures[fut]
                results[i] = to_jsonable(fut.result())
                if cache is not None:
                    cache.store(name, version, points[i], results[i])
                bar.update()
    finally:
        bar.close()
    return results
