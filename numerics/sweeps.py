"""Parameter sweeps: a grid of configurations, run by any executor, cached per point, with progress.

A sweep evaluates a *top-level* function ``func(**point) -> dict`` at every point of a grid. Each
point's result is stored as JSON under ``cache_dir`` keyed by the function's qualified name, a
``version`` string and the point itself, as soon as that point finishes, so an interrupted sweep
(Ctrl-C, a crashed process, a worker killed on a cluster) resumes where it stopped and a finished
one is free to re-read. A damaged cache file (truncated JSON, missing keys) is reported with a
``RuntimeWarning`` naming it and recomputed, never used.

The executor is anything with the ``concurrent.futures.Executor`` interface: ``None`` runs serially
in-process; a ``concurrent.futures.ProcessPoolExecutor`` uses local cores; a Dask cluster is used
through ``dask.distributed.Client(...).get_executor(pure=False)`` (Dask is optional: the ``cluster``
extra; :func:`ptft.numerics.executors.make_executor` builds any of these).

What travels to a worker: ``func`` *by reference* (its module and name, so the same version of
the package must be importable on every worker) and the point dict; the result comes back as a
JSON-able dict. **Randomness must travel with the point**: a function that draws random numbers
takes its seed as an argument (``seed=...`` in the point) and builds its generator from it, never
from worker state (a global generator, the process id, the time). Then a sweep gives bit-identical
results serially, on a process pool or on a cluster, and a cached point means the same thing
wherever it was computed.

Results must be JSON-serialisable (numbers, lists, dicts; numpy arrays and scalars are converted).
A result of ``None`` means "no result" and is not cached (the point is retried next time).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import socket
import traceback
import warnings
from concurrent.futures import Executor, as_completed
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
from tqdm.auto import tqdm

__all__ = ["grid", "run_sweep", "SweepCache", "SweepError", "to_jsonable"]


class SweepError(RuntimeError):
    """Some points of a sweep raised (in ``func`` or on a failed worker).

    The points that finished are already in the cache, so rerunning the same sweep computes only
    the missing ones. ``finished`` / ``failed`` / ``total`` count points (cached hits included in
    ``finished``); ``errors`` maps a failed point's index to its exception; the first exception is
    also the ``__cause__``.
    """

    def __init__(self, message: str, *, finished: int, failed: int, total: int,
                 errors: dict[int, BaseException]):
        super().__init__(message)
        self.finished = finished
        self.failed = failed
        self.total = total
        self.errors = errors


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
    """One JSON file per (function, version, point) under ``directory`` (a subfolder per function)."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)

    def _path(self, name: str, version: str, point: Mapping) -> Path:
        payload = json.dumps({"f": name, "v": version, "p": to_jsonable(dict(point))}, sort_keys=True)
        return self.directory / name / (hashlib.sha256(payload.encode()).hexdigest()[:24] + ".json")

    def load(self, name: str, version: str, point: Mapping) -> Any:
        """The stored result, or None when absent or damaged (a damaged file is reported with a
        ``RuntimeWarning`` naming it, and is overwritten when the point is recomputed)."""
        p = self._path(name, version, point)
        if not p.exists():
            return None
        try:
            data = json.loads(p.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            warnings.warn(f"sweep cache entry {p} is unreadable ({type(exc).__name__}: {exc}); recomputing it",
                          RuntimeWarning, stacklevel=2)
            return None
        if not isinstance(data, dict) or "result" not in data or "point" not in data:
            warnings.warn(f"sweep cache entry {p} lacks the 'point'/'result' keys; recomputing it",
                          RuntimeWarning, stacklevel=2)
            return None
        return data["result"]

    def store(self, name: str, version: str, point: Mapping, result: Any) -> None:
        """Write one point's result (atomically: a temporary file renamed into place)."""
        p = self._path(name, version, point)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f"{p.stem}.{socket.gethostname()}-{os.getpid()}.tmp")  # unique on a shared FS
        tmp.write_text(json.dumps({"point": to_jsonable(dict(point)), "result": to_jsonable(result)}))
        os.replace(tmp, p)

    def entries(self) -> list[Path]:
        """Every stored entry (``*.json`` one level below ``directory``)."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*/*.json"))

    def size_bytes(self) -> int:
        """Total size of the stored entries."""
        return sum(p.stat().st_size for p in self.entries())

    def clear(self) -> int:
        """Delete every entry (and leftover temporary files and emptied subfolders); returns how
        many entries were removed. Other files under ``directory`` are left alone."""
        removed = 0
        for p in self.entries():
            p.unlink(missing_ok=True)
            removed += 1
        if self.directory.is_dir():
            for p in self.directory.glob("*/*.tmp"):
                p.unlink(missing_ok=True)
            for d in self.directory.iterdir():
                if d.is_dir() and not any(d.iterdir()):
                    d.rmdir()
        return removed


def _call(func: Callable[..., Any], point: dict[str, Any]) -> Any:
    """``func(**point)`` on a worker. The point goes as one positional argument so that its keys can
    never collide with an executor's own keyword arguments (Dask's ``submit`` takes ``pure=``,
    ``workers=``, ``key=``, ...)."""
    return func(**point)


def _failure_message(name: str, finished: int, failed: int, total: int, first: tuple[int, Mapping, BaseException],
                     cache: SweepCache | None) -> str:
    i, point, exc = first
    where = (f"the finished points are cached under {cache.directory}: rerun the same sweep to resume "
             f"from the cache (only the {total - finished} missing points are computed)"
             if cache is not None else "no cache_dir was given, so nothing was kept")
    return (f"sweep {name}: {failed} of {total} points failed (first: point {i} {dict(point)} raised "
            f"{type(exc).__name__}: {exc}); {finished} of {total} points finished; {where}")


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

    Points already in the cache are not recomputed; every other point is stored as soon as it
    finishes. With an ``executor``, uncached points are submitted to it (``func`` must then be
    picklable: a module-level function, sent by reference) and collected as they complete.

    Seeds travel with the point: a random ``func`` must take its seed from its arguments, never from
    worker state, so that results are bit-identical serially, on a process pool and on a cluster.

    If points fail (``func`` raises, or a worker dies: Dask's ``KilledWorker``), a :class:`SweepError`
    is raised, chained to the first exception, saying how many points finished; those are already
    cached, so a rerun resumes from the cache. Serially the sweep stops at the first failure; with an
    executor the points already submitted are still collected (and cached) first.
    """
    if not callable(func):
        raise ValueError(f"func: expected a callable, got {type(func).__name__}")
    if isinstance(points, Mapping) or not all(isinstance(p, Mapping) for p in points):
        raise ValueError("points: expected a list of dicts (one per point), e.g. grid(a=[1, 2])")
    if not isinstance(version, str):
        raise ValueError(f"version: expected a str, got {type(version).__name__}")
    if executor is not None and not hasattr(executor, "submit"):
        raise ValueError(f"executor: expected a concurrent.futures.Executor or None, got {type(executor).__name__}")
    points = [dict(p) for p in points]
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
    finished = len(points) - len(todo)
    errors: dict[int, BaseException] = {}

    def done(i: int, value: Any) -> None:
        nonlocal finished
        results[i] = to_jsonable(value)
        if cache is not None and results[i] is not None:
            cache.store(name, version, points[i], results[i])
        finished += 1
        bar.update()

    bar = tqdm(total=len(points), initial=finished, desc=desc or func.__name__, disable=not progress, leave=False)
    try:
        if executor is None:
            for i in todo:
                try:
                    value = func(**points[i])
                except Exception as exc:
                    errors[i] = exc
                    break
                done(i, value)
        else:
            futures = {executor.submit(_call, func, points[i]): i for i in todo}
            try:
                for fut in as_completed(futures):
                    # drop our reference as each point completes: a Dask worker can free the result,
                    # and a worker dying later does not make the scheduler recompute finished points
                    i = futures.pop(fut)
                    try:
                        value = fut.result()
                    except Exception as exc:
                        errors[i] = exc
                        continue
                    finally:
                        del fut
                    done(i, value)
            finally:
                for f in futures:  # only left on an interruption (KeyboardInterrupt, a cache write error)
                    f.cancel()
                futures.clear()
    finally:
        bar.close()
    if errors:
        first = min(errors)
        for exc in errors.values():  # keep file/line information, drop the frames' locals (futures)
            try:
                traceback.clear_frames(exc.__traceback__)
            except Exception:  # pragma: no cover  (a foreign traceback object)
                pass
        msg = _failure_message(name, finished, len(errors), len(points), (first, points[first], errors[first]), cache)
        raise SweepError(msg, finished=finished, failed=len(errors), total=len(points),
                         errors=errors) from errors[first]
    return results
