"""verification.cache.ResultCache (damaged entries, entries/clear), run_claims with an executor, and
``ptft cache info|clear``."""
from __future__ import annotations

import json
import warnings
from concurrent.futures import Executor, Future, ThreadPoolExecutor

import pytest

from ptft.verification.cache import ResultCache
from ptft.verification.cli import main
from ptft.verification.registry import Claim, Measurement, RunConfig, select_claims
from ptft.verification.runner import run_claims

CHEAP = "diagonal.woodworth_q_equals_derived_Q"  # the quickest claim (about 10 ms in the quick configuration)
CONFIG = RunConfig(quick=True, seed=0)


def _entry(cache: ResultCache):
    (p,) = cache.entries()
    return p


@pytest.mark.parametrize("damage, why", [
    ('{"id": "diagonal.woodworth_q_equals_derived_Q", "verd', "unreadable"),   # truncated JSON
    ('{"id": "diagonal.woodworth_q_equals_derived_Q"}', "lacks"),              # keys missing
    ('["PASS"]', "lacks"),                                                      # not a dict
    ('{"id": "other", "title": "t", "source": "s", "verdict": "PASS"}', "holds claim 'other'"),
])
def test_a_damaged_claim_entry_warns_and_is_recomputed(tmp_path, damage, why):
    cache = ResultCache(tmp_path)
    first = run_claims(select_claims([CHEAP]), CONFIG, cache=cache, progress=False)
    entry = _entry(cache)
    entry.write_text(damage)
    with pytest.warns(RuntimeWarning, match=f"{entry.name}.*{why}|{why}.*{entry.name}"):
        again = run_claims(select_claims([CHEAP]), CONFIG, cache=cache, progress=False)
    (r,) = again.results
    assert not r.cached and r.verdict == "PASS" and r.simulation == first.results[0].simulation
    assert json.loads(entry.read_text())["verdict"] == "PASS"  # rewritten
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run_claims(select_claims([CHEAP]), CONFIG, cache=cache, progress=False).results[0].cached


def test_run_claims_on_an_executor_caches_each_result_and_keeps_the_order(tmp_path):
    selected = select_claims(["diagonal.woodworth", "diagonal.flow_equals", "conservation.law_holds"])
    cache = ResultCache(tmp_path)
    serial = run_claims(selected, CONFIG, progress=False)
    with ThreadPoolExecutor(2) as ex:
        pooled = run_claims(selected, CONFIG, cache=cache, progress=False, executor=ex)
    assert [r.id for r in pooled.results] == [c.id for c in selected]
    assert [r.simulation for r in pooled.results] == [r.simulation for r in serial.results]
    assert len(cache.entries()) == 3
    with pytest.raises(ValueError, match="executor"):
        run_claims(selected, CONFIG, executor="dask")


def _unregistered(config):
    return Measurement(theory=1.0, simulation=1.0, error=0.0, tolerance=1e-12, tolerance_reason="exact",
                       metric="abs")


class _Broken(Executor):
    """An executor whose every task fails as a whole (as when its worker is killed)."""

    def submit(self, fn, *args, **kwargs):
        f = Future()
        f.set_exception(OSError("worker lost"))
        return f


def test_unregistered_claims_travel_whole_and_failed_tasks_are_errors_not_cached(tmp_path):
    c = Claim(id="adhoc.one", title="ad hoc", source="test", func=_unregistered)
    with ThreadPoolExecutor(1) as ex:
        (r,) = run_claims([c], CONFIG, progress=False, executor=ex).results
    assert r.verdict == "PASS"
    cache = ResultCache(tmp_path)
    (r,) = run_claims([c], CONFIG, cache=cache, progress=False, executor=_Broken()).results
    assert r.verdict == "ERROR" and "worker lost" in r.message and cache.entries() == []


def test_cache_info_and_clear(tmp_path, capsys):
    cache_dir, figs = tmp_path / "claims", tmp_path / "figs"
    run_claims(select_claims([CHEAP, "diagonal.flow_equals"]), CONFIG, cache=ResultCache(cache_dir), progress=False)
    (figs / ".cache" / "mod.f").mkdir(parents=True)
    (figs / ".cache" / "mod.f" / "abc.json").write_text('{"point": {}, "result": 1}')
    (cache_dir / "notes.txt").write_text("not an entry")

    assert main(["cache", "info", "--cache-dir", str(cache_dir), "--figures-out", str(figs)]) == 0
    out = capsys.readouterr().out
    assert f"{cache_dir.resolve()}: 2 entries" in out and f"{(figs / '.cache').resolve()}: 1 sweep points" in out
    assert main(["cache", "clear", "--cache-dir", str(cache_dir), "--figures-out", str(figs)]) == 0
    assert "removed 2 entries" in capsys.readouterr().out
    assert ResultCache(cache_dir).entries() == [] and (cache_dir / "notes.txt").exists()
    assert (figs / ".cache" / "mod.f" / "abc.json").exists()  # figures only with --figures
    assert main(["cache", "clear", "--cache-dir", str(cache_dir), "--figures-out", str(figs), "--figures"]) == 0
    out = capsys.readouterr().out
    assert "removed 0 entries" in out and "removed 1 sweep points" in out
    assert main(["cache", "info", "--cache-dir", str(tmp_path / "none"), "--figures-out", str(tmp_path / "x")]) == 0
    out = capsys.readouterr().out
    assert "0 entries, 0 B" in out and "none" in out
    with pytest.raises(SystemExit):
        main(["cache", "purge"])


def test_cli_executor_arguments_are_checked(capsys):
    assert main(["verify", "--only", CHEAP, "--workers", "0", "--no-progress"]) == 2
    assert "--workers" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # one or the other
        main(["verify", "--workers", "2", "--scheduler", "tcp://h:8786"])
    assert main(["figures", "--only", "no_such_figure", "--workers", "2"]) == 2
    assert "no_such_figure" in capsys.readouterr().err
