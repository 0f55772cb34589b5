"""``ptft verify`` exit codes (0 all hold, 1 a failure or error, 2 usage error), the final summary line,
renamed claim ids, no partial report on a usage error, and ``ptft list``."""
from __future__ import annotations

import json
import os
import re
import warnings

import pytest

from ptft.verification import registry
from ptft.verification.cli import main
from ptft.verification.registry import ClaimRenamedWarning, Measurement, claim, get_claim, select_claims

CHEAP = "diagonal.woodworth_q_equals_derived_Q"  # about 10 ms in the quick configuration
FINAL = re.compile(r"^(\d+) held, (\d+) failed, (\d+) errors in \d+\.\d s; report: (.+)$")


def _verify(tmp_path, *args):
    return main(["verify", "--quick", "--no-progress", "--cache-dir", str(tmp_path / "cache"), *args])


@pytest.fixture
def failing_claim():
    """A registered claim that fails (error 2 > tolerance 1) and one that crashes; removed afterwards."""
    ids = ("zz_test.always_fails", "zz_test.always_crashes")

    @claim(ids[0], "A claim that does not hold", "test", tags=("zz_test_tag",))
    def _fails(cfg):
        return Measurement(theory=0.0, simulation=2.0, error=2.0, tolerance=1.0, tolerance_reason="test",
                           metric="absolute difference")

    @claim(ids[1], "A claim that crashes", "test")
    def _crashes(cfg):
        raise ZeroDivisionError("on purpose")

    yield ids
    for i in ids:
        registry.unregister(i)


def test_exit_0_when_every_claim_holds_and_the_last_line_summarises(tmp_path, capsys):
    out = tmp_path / "rep"
    assert _verify(tmp_path, "--only", CHEAP, "--out", str(out)) == 0
    lines = capsys.readouterr().out.rstrip("\n").splitlines()
    m = FINAL.match(lines[-1])
    assert m, lines[-1]
    assert m.groups()[:3] == ("1", "0", "0")
    assert m.group(4) == f"{out.resolve()}/report.{{json,md,tex}}"
    assert sum(1 for line in lines if FINAL.match(line)) == 1   # exactly one summary line, the last
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md", "report.tex"]  # no temp files


def test_exit_1_when_a_claim_fails_or_errors(tmp_path, capsys, failing_claim):
    assert _verify(tmp_path, "--only", CHEAP, failing_claim[0], "--out", str(tmp_path / "a")) == 1
    assert FINAL.match(capsys.readouterr().out.splitlines()[-1]).groups()[:3] == ("1", "1", "0")
    assert _verify(tmp_path, "--only", failing_claim[1], "--out", str(tmp_path / "b")) == 1
    text = capsys.readouterr().out
    assert "ZeroDivisionError: on purpose" in text
    assert FINAL.match(text.splitlines()[-1]).groups()[:3] == ("0", "0", "1")
    data = json.loads((tmp_path / "b" / "report.json").read_text())
    assert data["counts"] == {"PASS": 0, "FAIL": 0, "ERROR": 1}
    # a tag selects too
    assert _verify(tmp_path, "--only", "zz_test_tag", "--out", str(tmp_path / "c")) == 1


@pytest.mark.parametrize("args, needle", [
    (["--seed", "-1"], "argument --seed: must be a non-negative integer, got -1"),
    (["--only", "no.such.claim"], "argument --only: no claim matches 'no.such.claim'"),
    (["--only", CHEAP, "no_such_tag"], "argument --only: no claim matches 'no_such_tag'"),  # one unknown is enough
])
def test_exit_2_on_usage_errors_before_anything_runs(tmp_path, capsys, args, needle):
    out = tmp_path / "rep"
    assert _verify(tmp_path, *args, "--out", str(out)) == 2
    captured = capsys.readouterr()
    assert f"ptft verify: error: {needle}" in captured.err and "Traceback" not in captured.err
    assert captured.err.startswith("usage: ptft verify")
    assert captured.out == "" and not out.exists() and not (tmp_path / "cache").exists()


def test_exit_2_when_out_is_under_a_file_and_no_report_is_written(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert _verify(tmp_path, "--only", CHEAP, "--out", str(blocker / "rep")) == 2
    captured = capsys.readouterr()
    assert "ptft verify: error: argument --out: cannot create directory" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert blocker.read_text() == "not a folder" and not (tmp_path / "cache").exists()   # no claim ran
    assert _verify(tmp_path, "--only", CHEAP, "--out", str(blocker)) == 2    # an existing file as --out
    assert "is not a directory" in capsys.readouterr().err
    assert _verify(tmp_path, "--only", CHEAP, "--out", str(tmp_path / "ok"), "--json", str(blocker / "r.json")) == 2
    assert "argument --json" in capsys.readouterr().err and not (tmp_path / "ok" / "report.json").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user (root writes anywhere)")
def test_exit_2_when_out_is_read_only(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert _verify(tmp_path, "--only", CHEAP, "--out", str(ro)) == 2
        assert "ptft verify: error: argument --out: cannot write in directory" in capsys.readouterr().err
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_old_claim_ids_resolve_with_a_note(tmp_path, capsys):
    renamed = registry.aliases()
    assert renamed == {"mtl.gd_reaches_group_lasso_minimum": "mtl.gd_misses_group_lasso_minimum_as_alpha_shrinks",
                       "ll.mtl_beats_ptft_on_identical_features": "ll.ptft_beats_mtl_on_identical_features"}
    for old, new in renamed.items():
        with pytest.warns(ClaimRenamedWarning, match=f"claim id {re.escape(old)} was renamed to {re.escape(new)}"):
            assert [c.id for c in select_claims([old])] == [new]
        with pytest.warns(FutureWarning, match="removed in the next release"):
            assert get_claim(old).id == new
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # the new ids warn about nothing
        assert get_claim("ll.ptft_beats_mtl_on_identical_features").refutes is not None
    # the CLI prints the note to stderr (and selects the renamed claim: here only to reach the usage error
    # of a second, unknown id, so nothing slow runs)
    assert _verify(tmp_path, "--only", "mtl.gd_reaches_group_lasso_minimum", "nope", "--out", str(tmp_path / "r")) == 2
    err = capsys.readouterr().err
    assert ("note: claim id mtl.gd_reaches_group_lasso_minimum was renamed to "
            "mtl.gd_misses_group_lasso_minimum_as_alpha_shrinks; the old id will be removed in the next release") in err


def test_list_claims_shows_tags_sources_and_refutes_and_derivations_their_titles(capsys):
    assert main(["list", "claims"]) == 0
    out = capsys.readouterr().out
    assert f"  {CHEAP}  [diagonal]" in out and "source: [W] Woodworth et al., COLT 2020" in out
    assert "refutes: [LL] Lippl & Lindsey" in out and "docs/differences.md#" in out
    assert "mtl.gd_reaches_group_lasso_minimum -> mtl.gd_misses_group_lasso_minimum_as_alpha_shrinks" in out
    assert main(["list", "derivations"]) == 0
    out = capsys.readouterr().out
    from ptft.theory.derivation import titles
    for name, title in titles().items():
        assert title and f"{name} " in out and title in out
