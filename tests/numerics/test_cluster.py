"""Sweeps and claims on a real Dask LocalCluster (2 worker processes): bit-identical to serial runs,
finished points kept when a worker dies, and ``make_executor`` connecting to a scheduler."""
from __future__ import annotations

import warnings
from concurrent.futures import ProcessPoolExecutor

import pytest

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402

from ptft.numerics.executors import make_executor  # noqa: E402
from ptft.numerics.sweeps import SweepCache, SweepError, grid, run_sweep  # noqa: E402
from ptft.verification.cache import ResultCache  # noqa: E402
from ptft.verification.registry import RunConfig, select_claims  # noqa: E402
from ptft.verification.runner import run_claims  # noqa: E402
from tests.numerics.cluster_helpers import (calls_made, forget_code_fingerprint, logged_cell,  # noqa: E402
                                            seeded_gd)

# cheap claims (well under a second each in the quick configuration)
QUICK_CLAIMS = ["diagonal.woodworth_q_equals_derived_Q", "diagonal.flow_equals_implicit_bias",
                "diagonal.large_init_gives_min_l2"]


@pytest.fixture(scope="module")
def client():
    # allowed-failures = 0: a task whose worker dies fails at once (KilledWorker) instead of being retried
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                           dashboard_address=":0")
        c = distributed.Client(cluster)
    c.wait_for_workers(2, timeout=60)
    yield c
    c.close()
    cluster.close()


@pytest.fixture
def fresh_fingerprints(client):
    """Workers and this process hash the source files now: the repository may have been edited since
    either first hashed it (make_executor(scheduler=...) refuses workers whose fingerprint differs)."""
    forget_code_fingerprint()
    client.run(forget_code_fingerprint)


def test_sweep_is_bit_identical_serially_on_a_process_pool_and_on_the_cluster(client):
    pts = grid(seed=[0, 1, 2, 3], n=[10], d=[30], lr=[0.5])
    serial = run_sweep(seeded_gd, pts, progress=False)
    with ProcessPoolExecutor(2) as pool:
        pooled = run_sweep(seeded_gd, pts, executor=pool, progress=False)
    clustered = run_sweep(seeded_gd, pts, executor=client.get_executor(), progress=False)
    assert serial == pooled == clustered  # exact equality of every float, in point order
    assert serial[0] != serial[1]  # the seed travels with the point


def test_make_executor_connects_to_a_scheduler_and_checks_the_workers(client, tmp_path, fresh_fingerprints):
    pts = grid(seed=[5, 6], n=[10], d=[30], lr=[0.5])
    with make_executor(scheduler=client.scheduler.address) as ex:
        remote = run_sweep(seeded_gd, pts, executor=ex, cache_dir=tmp_path, progress=False)
    assert remote == run_sweep(seeded_gd, pts, progress=False)
    assert len(SweepCache(tmp_path).entries()) == 2
    assert client.status == "running"  # the cluster we connected to is left running


def test_quick_claims_on_the_cluster_match_the_serial_run_exactly(client, tmp_path):
    selected = select_claims(QUICK_CLAIMS)
    config = RunConfig(quick=True, seed=0)
    serial = run_claims(selected, config, progress=False)
    cache = ResultCache(tmp_path)
    remote = run_claims(selected, config, cache=cache, progress=False, executor=client.get_executor())
    assert [r.id for r in remote.results] == [c.id for c in selected]  # registration order
    assert all(r.verdict == "PASS" for r in remote.results)

    def numbers(r):
        d = r.to_dict()
        return {k: v for k, v in d.items() if k not in ("seconds", "cached")}

    assert [numbers(r) for r in remote.results] == [numbers(r) for r in serial.results]
    assert len(cache.entries()) == len(selected)  # stored as they arrived
    again = run_claims(selected, config, cache=cache, progress=False, executor=client.get_executor())
    assert all(r.cached for r in again.results)


def test_a_killed_worker_keeps_the_finished_points_and_a_rerun_resumes(client, tmp_path):
    log, cache_dir = tmp_path / "log", tmp_path / "cache"
    n = 7
    pts = [dict(i=i, seed=100 + i, log_dir=str(log), kill=(i == n - 1)) for i in range(n)]
    with pytest.raises(SweepError) as info:
        run_sweep(logged_cell, pts, cache_dir=cache_dir, executor=client.get_executor(), progress=False)
    err = info.value
    assert isinstance(err.__cause__, distributed.KilledWorker)
    assert n - 1 in err.errors and err.failed >= 1 and err.finished == n - err.failed
    assert f"{err.finished} of {n} points finished" in str(err) and "rerun" in str(err)
    assert len(SweepCache(cache_dir).entries()) == err.finished  # finished points were stored as they came
    failed = sorted(err.errors)  # the killing point, and any point queued behind it on that worker
    del info, err

    client.wait_for_workers(2, timeout=60)  # the nanny restarts the dead worker
    (log / "allow").touch()
    before = calls_made(str(log))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no damaged cache entries
        rerun = run_sweep(logged_cell, pts, cache_dir=cache_dir, executor=client.get_executor(), progress=False)
    recomputed = calls_made(str(log))
    for i in before:
        recomputed.remove(i)
    assert recomputed == failed  # only the points lost with the dead worker ran again
    assert rerun == run_sweep(logged_cell, pts, cache_dir=cache_dir, progress=False)
    assert [r["i"] for r in rerun] == list(range(n))


def test_make_executor_starts_and_stops_a_local_cluster(tmp_path):
    pts = grid(seed=[7, 8], n=[10], d=[30], lr=[0.5])
    with make_executor(workers=1, backend="dask", cluster_options={"dashboard_address": ":0"}) as ex:
        assert type(ex).__name__ == "ClientExecutor"
        local = run_sweep(seeded_gd, pts, executor=ex, progress=False)
        client = ex._client
    assert local == run_sweep(seeded_gd, pts, progress=False)
    assert client.status == "closed"


def test_cli_verify_on_a_scheduler(client, tmp_path, capsys, fresh_fingerprints):
    from ptft.verification.cli import main

    rc = main(["verify", "--quick", "--only", QUICK_CLAIMS[0], "--scheduler", client.scheduler.address,
               "--out", str(tmp_path / "rep"), "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0 and "PASS" in out and QUICK_CLAIMS[0] in out
    assert len(ResultCache(tmp_path / "cache").entries()) == 1
