"""The claim machinery: verdicts, non-convergence, errors, cache, and report renderings."""
import json

import numpy as np

from ptft.verification.cache import ResultCache
from ptft.verification.registry import Claim, Measurement, NotConverged, RunConfig
from ptft.verification.report import Report
from ptft.verification.runner import run_claims


def _measure(err, tol=1.0):
    return lambda cfg: Measurement(theory=1.0, simulation=1.0 + err, error=err, tolerance=tol,
                                   tolerance_reason="test", metric="absolute difference")


def test_verdicts():
    assert Claim("a", "t", "s", _measure(0.5)).run(RunConfig()).verdict == "PASS"
    assert Claim("b", "t", "s", _measure(2.0)).run(RunConfig()).verdict == "FAIL"
    nan = Claim("c", "t", "s", _measure(float("nan"))).run(RunConfig())
    assert nan.verdict == "FAIL" and "non-finite" in nan.message


def test_not_converged_is_fail_with_reason_and_crash_is_error():
    def nc(cfg):
        raise NotConverged("GD stopped at max_steps=10")

    def boom(cfg):
        raise ZeroDivisionError("x")

    r = Claim("nc", "t", "s", nc).run(RunConfig())
    assert r.verdict == "FAIL" and "max_steps=10" in r.message
    e = Claim("e", "t", "s", boom).run(RunConfig())
    assert e.verdict == "ERROR" and "ZeroDivisionError" in e.message


def test_config_rng_is_deterministic_and_key_dependent():
    a = RunConfig(seed=3).rng("x", 1).standard_normal(4)
    b = RunConfig(seed=3).rng("x", 1).standard_normal(4)
    c = RunConfig(seed=3).rng("x", 2).standard_normal(4)
    d = RunConfig(seed=4).rng("x", 1).standard_normal(4)
    assert np.array_equal(a, b) and not np.allclose(a, c) and not np.allclose(a, d)


def test_cache_resumes_and_is_keyed_by_config(tmp_path):
    calls = []

    def counted(cfg):
        calls.append(cfg)
        return _measure(0.1)(cfg)

    c = Claim("counted", "t", "s", counted)
    cache = ResultCache(tmp_path)
    r1 = run_claims([c], RunConfig(quick=True), cache=cache, progress=False)
    r2 = run_claims([c], RunConfig(quick=True), cache=cache, progress=False)
    assert len(calls) == 1 and r2.results[0].cached and not r1.results[0].cached
    assert r2.results[0].error == r1.results[0].error
    run_claims([c], RunConfig(quick=False), cache=cache, progress=False)
    assert len(calls) == 2  # another configuration is another key


def test_errors_are_not_cached(tmp_path):
    calls = []

    def flaky(cfg):
        calls.append(1)
        raise RuntimeError("transient")

    c = Claim("flaky", "t", "s", flaky)
    cache = ResultCache(tmp_path)
    run_claims([c], RunConfig(), cache=cache, progress=False)
    run_claims([c], RunConfig(), cache=cache, progress=False)
    assert len(calls) == 2


def test_report_renderings():
    results = [Claim("ok_claim", "An ok claim", "[W]", _measure(0.5)).run(RunConfig()),
               Claim("bad_claim", "A failing claim", "[LL]", _measure(5.0)).run(RunConfig())]
    rep = Report(results=results, config=RunConfig(quick=True))
    table = rep.table()
    assert "PASS" in table and "FAIL" in table and table.splitlines()[-1].startswith("1 held, 1 failed, 0 errors in ")
    data = json.loads(rep.to_json())
    assert data["counts"] == {"PASS": 1, "FAIL": 1, "ERROR": 0}
    assert data["claims"][1]["error"] == 5.0
    md = rep.to_markdown()
    assert "| **FAIL** | `bad_claim` |" in md and "why this tolerance: test" in md
    tex = rep.to_latex()
    assert r"\begin{longtable}" in tex and r"bad\_" in tex and not rep.all_passed
    assert r"\textcolor{red!75!black}{\textbf{FAIL}}" in tex and r"\textcolor{green!45!black}{\textbf{PASS}}" in tex
