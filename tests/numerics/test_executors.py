"""numerics.executors.make_executor: serial, process pool, argument checks, a clear error without Dask."""
from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor

import pytest

from ptft.numerics.executors import INSTALL_HINT, make_executor
from ptft.numerics.sweeps import grid, run_sweep
from tests.numerics.cluster_helpers import seeded_gd


def test_no_workers_means_serial():
    with make_executor() as ex:
        assert ex is None


def test_process_backend_gives_a_pool_with_the_serial_results():
    pts = grid(seed=[1, 2], n=[10], d=[30], lr=[0.5])
    with make_executor(workers=2, backend="process") as ex:
        assert isinstance(ex, ProcessPoolExecutor)
        pooled = run_sweep(seeded_gd, pts, executor=ex, progress=False)
    assert pooled == run_sweep(seeded_gd, pts, progress=False)
    with pytest.raises(RuntimeError, match="after shutdown"):
        ex.submit(abs, 1)


@pytest.mark.parametrize("kwargs, name", [
    (dict(workers=0), "workers"), (dict(workers=True), "workers"), (dict(workers=2.0), "workers"),
    (dict(backend="mpi"), "backend"), (dict(scheduler=""), "scheduler"),
    (dict(scheduler="tcp://h:8786", workers=2), "workers"), (dict(scheduler="tcp://h:8786", backend="process"), "backend"),
    (dict(cluster_options={"x": 1}), "cluster_options"),
])
def test_bad_arguments_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        with make_executor(**kwargs):
            pass  # pragma: no cover


def test_missing_dask_is_a_clear_import_error_or_a_process_pool(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # makes `import dask.distributed` fail
    with pytest.raises(ImportError, match=r'pip install "ptft-theory\[cluster\]"'):
        with make_executor(scheduler="tcp://127.0.0.1:1"):
            pass  # pragma: no cover
    with pytest.raises(ImportError, match="ptft-theory"):
        with make_executor(workers=1, backend="dask"):
            pass  # pragma: no cover
    with make_executor(workers=1) as ex:  # auto: falls back to local processes
        assert isinstance(ex, ProcessPoolExecutor)
    assert "ptft-theory[cluster]" in INSTALL_HINT


def test_workers_running_other_ptft_code_are_refused():
    from ptft.numerics.executors import _check_workers, _worker_code_identity

    class FakeClient:
        def __init__(self, answer):
            self.answer = answer

        def run(self, fn):
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer

    version, source = _worker_code_identity()
    _check_workers(FakeClient({"tcp://a:1": (version, source)}))  # same code: fine
    with pytest.raises(RuntimeError, match="tcp://b:1: version 0.0.1, source deadbeef"):
        _check_workers(FakeClient({"tcp://a:1": (version, source), "tcp://b:1": ("0.0.1", "deadbeef")}))
    with pytest.raises(RuntimeError, match="cannot run ptft.*ModuleNotFoundError"):
        _check_workers(FakeClient(ModuleNotFoundError("No module named 'ptft'")))
