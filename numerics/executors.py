"""Executors for :func:`ptft.numerics.sweeps.run_sweep` and :func:`ptft.verification.runner.run_claims`.

:func:`make_executor` is a context manager that yields ``None`` (run serially), a local
``ProcessPoolExecutor``, or a Dask executor (a ``LocalCluster`` on this machine or an existing
scheduler anywhere), and shuts it down on exit::

    from ptft.numerics.executors import make_executor
    from ptft.numerics.sweeps import grid, run_sweep

    with make_executor(workers=2, backend="process") as ex:
        results = run_sweep(func, grid(seed=range(8)), cache_dir="cache", executor=ex)

Dask is optional (``pip install "ptft-theory[cluster]"``) and imported only when asked for.
"""
from __future__ import annotations

import contextlib
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any, Iterator, Mapping

__all__ = ["make_executor", "dask_available", "BACKENDS", "INSTALL_HINT"]

#: ``auto``: Dask when a scheduler is given or Dask is installed, else a process pool;
#: ``process``: ``concurrent.futures.ProcessPoolExecutor``; ``dask``: Dask, an ImportError if missing.
BACKENDS = ("auto", "process", "dask")

#: What to install for the Dask backend.
INSTALL_HINT = 'pip install "ptft-theory[cluster]"  (or: pip install "dask[distributed]")'


def dask_available() -> bool:
    """Whether ``dask.distributed`` can be imported."""
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        return False
    return True


def _import_distributed():
    try:
        import dask.distributed as dd
    except ImportError as exc:
        raise ImportError(f"Dask is needed for a cluster (--scheduler / backend='dask'): {INSTALL_HINT}") from exc
    return dd


def _worker_code_identity() -> tuple[str, str]:
    """(ptft version, source fingerprint) as seen by a worker (run there by ``Client.run``)."""
    import ptft
    from ptft.verification.cache import code_fingerprint

    return ptft.__version__, code_fingerprint()


def _check_workers(client: Any) -> None:
    """Raise if a worker cannot import ptft or runs different ptft source code than this process."""
    local = _worker_code_identity()
    try:
        remote = client.run(_worker_code_identity)
    except Exception as exc:
        raise RuntimeError(f"the Dask workers cannot run ptft ({type(exc).__name__}: {exc}); install ptft-theory "
                           f"{local[0]} on every worker (functions are sent by reference)") from exc
    bad = {addr: ident for addr, ident in remote.items() if tuple(ident) != local}
    if bad:
        listing = ", ".join(f"{a}: version {v}, source {f}" for a, (v, f) in sorted(bad.items()))
        raise RuntimeError(f"Dask workers run different ptft code than this process (version {local[0]}, source "
                           f"{local[1]}): {listing}; install the same version on every worker (functions are sent "
                           f"by reference) or pass check_workers=False")


@contextlib.contextmanager
def make_executor(
    workers: int | None = None,
    scheduler: str | None = None,
    backend: str = "auto",
    *,
    cluster_options: Mapping[str, Any] | None = None,
    check_workers: bool = True,
) -> Iterator[Executor | None]:
    """Yield an executor for ``run_sweep`` / ``run_claims`` and shut it down on exit.

    - ``scheduler`` (an address such as ``"tcp://host:8786"``): connect to that Dask scheduler and
      yield ``client.get_executor(pure=False)``; the cluster itself is left running. With
      ``check_workers`` the connected workers must import ptft with the same source fingerprint as
      this process (functions travel by reference; different code would make cached results lie).
    - ``workers=N`` without a scheduler: ``backend="dask"`` starts a ``LocalCluster`` of N worker
      processes, one thread each (``cluster_options`` are passed on to it); ``backend="process"`` a
      ``ProcessPoolExecutor(N)``; ``backend="auto"`` (default) the LocalCluster when Dask is
      installed, else the process pool.
    - neither: ``None`` (callers then run serially in-process).

    Raises ValueError for bad arguments and ImportError (saying ``pip install "ptft-theory[cluster]"``)
    when Dask is needed but missing.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers: expected a positive int or None, got {workers!r}")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ValueError(f"scheduler: expected an address such as 'tcp://host:8786', got {scheduler!r}")
    if scheduler is not None and workers is not None:
        raise ValueError("workers: cannot be combined with scheduler (the scheduler's own workers are used)")
    if scheduler is not None and backend == "process":
        raise ValueError("backend: 'process' cannot use a scheduler; use backend='dask' or 'auto'")
    if cluster_options is not None and (scheduler is not None or workers is None):
        raise ValueError("cluster_options: only used when a LocalCluster is started (workers=N, no scheduler)")

    if scheduler is not None:
        dd = _import_distributed()
        client = dd.Client(scheduler)
        try:
            if check_workers:
                _check_workers(client)
            yield client.get_executor(pure=False)
        finally:
            client.close()
        return
    if workers is None:
        yield None
        return
    use_dask = backend == "dask" or (backend == "auto" and dask_available())
    if not use_dask:
        pool = ProcessPoolExecutor(max_workers=workers)
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    dd = _import_distributed()
    options = dict(n_workers=workers, processes=True, threads_per_worker=1)
    options.update(cluster_options or {})
    cluster = dd.LocalCluster(**options)
    try:
        client = dd.Client(cluster)
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
    finally:
        cluster.close()
