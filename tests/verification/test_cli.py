"""The ptft command line, end to end on a small selection of claims."""
import json

import pytest

from ptft.verification.cli import main


def test_verify_quick_single_claim_writes_reports(tmp_path, capsys):
    out = tmp_path / "rep"
    rc = main(["verify", "--quick", "--only", "diagonal.woodworth_q_equals_derived_Q", "--out", str(out),
               "--json", str(tmp_path / "r.json"), "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 0 and "PASS" in text and "1 held, 0 failed, 0 errors" in text
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["claims"][0]["id"] == "diagonal.woodworth_q_equals_derived_Q"
    assert data["config"] == {"quick": True, "seed": 0}
    assert (out / "report.md").exists() and (out / "report.tex").exists()
    # second run comes from the cache and says so
    main(["verify", "--quick", "--only", "diagonal.woodworth_q_equals_derived_Q", "--out", str(out),
          "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    assert "from cache" in capsys.readouterr().out


def test_verify_unknown_claim_is_a_clear_error(capsys):
    assert main(["verify", "--only", "no-such-claim", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "ptft verify: error: argument --only: no claim matches 'no-such-claim'" in err


def test_list_and_derive(capsys):
    assert main(["list", "claims"]) == 0
    assert "diagonal.gd_gap_is_first_order_in_lr" in capsys.readouterr().out
    assert main(["list", "derivations"]) == 0
    assert "diagonal.penalty" in capsys.readouterr().out
    assert main(["derive", "diagonal.q", "--latex"]) == 0
    assert r"\operatorname{asinh}" in capsys.readouterr().out
    assert main(["derive", "diagonal.q"]) == 0
    assert "check [ok]" in capsys.readouterr().out
    assert main(["derive", "nope"]) == 2


def test_bad_arguments_exit_nonzero():
    with pytest.raises(SystemExit):
        main(["verify", "--seed", "abc"])
