"""What a claim refutes, in every rendering; docs/differences.md anchors; atomic report files; the LaTeX
report compiles without errors or lines running off the page; non-convergence warnings inside claims."""
from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from ptft.theory.texbuild import compile_pdf, find_latex_engine
from ptft.verification import report as report_mod
from ptft.verification.registry import (DIFFERENCES_DOC, Claim, ClaimResult, Measurement, Refutes, RunConfig,
                                        claims)
from ptft.verification.report import Report, atomic_write_text, tex_number, tex_text

REPO = Path(__file__).resolve().parents[2]
REFUTES = Refutes(source="[LL] Lippl & Lindsey, NeurIPS 2024, Sec. 3",
                  statement="MTL gradient descent lands on the minimum-l1,2 interpolator as alpha -> 0",
                  see=f"{DIFFERENCES_DOC}#mtl-gd-does-not-reach-the-l12-minimiser")


def _measure(err, tol=1.0, **kw):
    return lambda cfg: Measurement(theory=1.0, simulation=1.0 + err, error=err, tolerance=tol,
                                   tolerance_reason="test", metric="absolute difference", **kw)


def github_slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    s = unicodedata.normalize("NFC", heading.strip().lower())
    s = "".join(ch for ch in s if ch.isalnum() or ch in " -_")
    return s.replace(" ", "-")


def test_github_slug_matches_known_examples():
    assert github_slug("MTL GD does not reach the l1,2 minimiser") == "mtl-gd-does-not-reach-the-l12-minimiser"
    assert github_slug("PT+FT beats MTL on identical features") == "ptft-beats-mtl-on-identical-features"


@pytest.mark.skipif(not (REPO / DIFFERENCES_DOC).is_file(), reason="needs a source checkout with docs/")
def test_every_refutes_pointer_names_a_heading_of_the_differences_doc():
    text = (REPO / DIFFERENCES_DOC).read_text()
    anchors = {github_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+)$", text, flags=re.M)}
    refuting = [c for c in claims() if c.refutes is not None]
    assert len(refuting) >= 2
    for c in refuting:
        doc, anchor = c.refutes.see.split("#", 1)
        assert doc == DIFFERENCES_DOC and anchor in anchors, (c.id, anchor)
        assert c.id in text   # the entry names the claim


def test_refutes_must_point_into_the_differences_doc():
    with pytest.raises(ValueError, match="see"):
        Refutes(source="x", statement="y", see="NOTES.md#section")


def test_refutes_is_printed_beside_the_verdict_in_every_rendering():
    results = [Claim("plain", "A plain claim", "[W]", _measure(0.5)).run(RunConfig()),
               Claim("refuter", "A claim that refutes", "[LL]", _measure(0.5), refutes=REFUTES).run(RunConfig())]
    rep = Report(results=results, config=RunConfig(quick=True), seconds=1.25)
    assert results[1].refutes == REFUTES and results[0].refutes is None

    lines = rep.table(report="/somewhere/report.{json,md,tex}").splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("PASS") and "refuter" in line)
    assert lines[i + 1].strip() == f"refutes: {REFUTES.source}: {REFUTES.statement} (see {REFUTES.see})"
    assert lines[i + 1].startswith(" ")
    assert "docs/differences.md" in lines[-2] and "1 claim refutes" in lines[-2]
    assert lines[-1] == "2 held, 0 failed, 0 errors in 1.2 s; report: /somewhere/report.{json,md,tex}"

    data = json.loads(rep.to_json())
    assert data["claims"][1]["refutes"] == {"source": REFUTES.source, "statement": REFUTES.statement,
                                            "see": REFUTES.see}
    assert data["claims"][0]["refutes"] is None and data["differences"] == DIFFERENCES_DOC
    assert ClaimResult.from_dict(data["claims"][1]).refutes == REFUTES   # survives the cache round trip

    md = rep.to_markdown()
    assert f"- **refutes**: {REFUTES.source}: {REFUTES.statement} (see `{REFUTES.see}`)" in md
    assert "what differs and why: docs/differences.md" in md

    tex = rep.to_latex()
    assert r"\item[refutes]" in tex and r"differences.\allowbreak{}md\#\allowbreak{}mtl-" in tex
    assert r"$\alpha$ $\to$ 0" in tex


def test_tex_text_sets_numbers_and_greek_as_math_and_escapes_the_rest():
    assert tex_number(1.2e-9) == r"$1.2\times10^{-9}$" and tex_number(1e-6) == r"$10^{-6}$"
    assert tex_number(0.25) == "$0.25$" and tex_number(-4.0) == "$-4$" and tex_number(None) == "--"
    s = tex_text("gap 5e-3 at alpha = 1e-4, beta_aux^2 & 50% of ||B||_1,2 #1")
    assert r"$5\times10^{-3}$" in s and r"$10^{-4}$" in s and r"$\alpha$" in s
    assert r"$\beta_{\mathrm{aux}}^{2}$" in s and r"\&" in s and r"50\%" in s and r"\#1" in s
    assert "alphabet" in tex_text("alphabet") and "$" not in tex_text("alphas and betas")


def test_report_files_are_written_atomically(tmp_path, monkeypatch):
    rep = Report(results=[Claim("a", "t", "s", _measure(0.5)).run(RunConfig())], config=RunConfig())
    paths = rep.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.md", "report.tex"]
    before = {k: p.read_text() for k, p in paths.items()}

    # a rendering that crashes leaves the previous report untouched (everything is rendered first)
    monkeypatch.setattr(Report, "to_latex", lambda self: 1 / 0)
    rep2 = Report(results=[Claim("b", "t", "s", _measure(5.0)).run(RunConfig())], config=RunConfig())
    with pytest.raises(ZeroDivisionError):
        rep2.write(tmp_path)
    assert {k: p.read_text() for k, p in paths.items()} == before

    # a write that fails half way leaves the old file and no temporary file
    class Boom(Exception):
        pass

    real_replace = report_mod.os.replace

    def failing_replace(src, dst):
        raise Boom("disk full")

    monkeypatch.setattr(report_mod.os, "replace", failing_replace)
    with pytest.raises(Boom):
        atomic_write_text(paths["json"], "{partial")
    monkeypatch.setattr(report_mod.os, "replace", real_replace)
    assert paths["json"].read_text() == before["json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.md", "report.tex"]


def _synthetic_report() -> Report:
    long_id = "ll.an_extremely_long_claim_identifier_that_keeps_going_well_beyond_any_column_width_x"
    long_text = ("a tolerance reason that mentions alpha = 1e-3, gamma^2, beta_aux, ||B_GD||_1,2 / min ||B||_1,2 - 1, "
                 "O(lr^2), 50% & #hash, a_very_long_snake_case_identifier_without_spaces_that_must_still_break, "
                 "docs/differences.md#some-very-long-anchor-that-also-has-to-wrap-somewhere-on-the-line ") * 2
    results = []
    for k, (verdict_err, refutes) in enumerate([(1e-9, REFUTES), (5.0, None), (None, REFUTES)]):
        if verdict_err is None:
            def boom(cfg):
                raise ZeroDivisionError("message with_underscores and $dollars$ and {braces} " * 3)
            func = boom
        else:
            func = _measure(verdict_err, tol=1e-6 if verdict_err < 1 else 1.0)
        c = Claim(f"{long_id}{k}", "Title with alpha -> 0, l1,2 and 1e-12 " + long_text[:120], long_text[:200],
                  func, refutes=refutes)
        r = c.run(RunConfig())
        r.metric = r.metric and long_text
        r.tolerance_reason = long_text
        r.theory_label, r.simulation_label = "excess at alpha = 1e-2", "||B_GD||_1,2 at alpha = 1e-4"
        results.append(r)
    results[0].theory, results[0].simulation = -1234.5678e-12, 9.87654e21
    results[1].cached = True
    return Report(results=results, config=RunConfig(quick=True), seconds=12.3)


@pytest.mark.skipif(find_latex_engine() is None, reason="no LaTeX engine (pdflatex or latexmk) installed")
@pytest.mark.parametrize("which", ["synthetic", "real"])
def test_latex_report_compiles_and_fits_the_page(tmp_path, which):
    if which == "synthetic":
        rep = _synthetic_report()
    else:   # the real claims' texts (ids, sources, metrics, reasons, refutes) with made-up numbers
        results = [ClaimResult(id=c.id, title=c.title, source=c.source, verdict="PASS", theory=1.5e-9,
                               simulation=-0.25, error=3.2e-11, tolerance=1e-6, refutes=c.refutes,
                               metric="relative excess ||B_GD||_1,2 / min ||B||_1,2 - 1 at alpha = 0.0001",
                               tolerance_reason="Richardson over 4 step sizes leaves O(lr^4); 1e-6 bar")
                   for c in claims()]
        rep = Report(results=results, config=RunConfig(quick=True), seconds=3.0)
    paths = rep.write(tmp_path)
    build = compile_pdf(paths["latex"], out_dir=tmp_path)
    assert build.ok and not build.errors, build.errors or build.log[-3000:]
    assert build.worst_overfull() <= 20.0, build.overfull


def test_non_convergence_inside_a_claim_is_recorded_not_printed(recwarn):
    from ptft.numerics import diagonal as nd

    def stops_early(cfg):
        rng = np.random.default_rng(0)
        X = rng.standard_normal((5, 10))
        nd.simulate_gd(X, X @ rng.standard_normal(10), np.full(10, 0.1), np.zeros(10), 0.01, max_steps=3)
        return _measure(0.5)(cfg)

    r = Claim("early", "t", "s", stops_early).run(RunConfig())
    (msg,) = r.details["not_converged_warnings"]
    assert "simulate_gd did not converge: relative residual" in msg and "max_steps = 3" in msg
    assert not [w for w in recwarn if "did not converge" in str(w.message)]
