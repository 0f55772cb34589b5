"""LaTeX output: printing conventions, line breaking, display forms, and documents that compile.

The compile tests run pdflatex on every derivation's standalone output and on the whole derivations
document and fail on a LaTeX error or on any line wider than the page by more than 20 pt (a little
slack for TeX's own rounding of glue, no more).
They are skipped where no LaTeX is installed, except in CI (``CI`` set), where .ci/run installs one.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import sympy as sp

from ptft import theory
from ptft.theory.derivation import (Definition, Derivation, DerivationError, Display, _BUILDERS, register)
from ptft.theory.latex import MAX_WIDTH, layout_equation, tex, tex_width
from ptft.theory.texbuild import compile_pdf, escape_text, find_latex_engine, prose, standalone

OVERFULL_PT = 20.0


def _engine():
    eng = find_latex_engine()
    if eng is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have pdflatex (.ci/run installs it)")
        pytest.skip("no LaTeX engine installed (optional for users)")
    return "pdflatex" if eng == "pdflatex" or Path("/usr/bin/pdflatex").exists() else eng


# ----------------------------------------------------------------------------- printing conventions
def test_escape_text_escapes_every_special_character():
    s = escape_text(r"a_b > 1 | 50% & #x $y {z} ~ ^ \ ->")
    for piece in (r"a\_", r"\textgreater{}", r"\textbar{}", r"50\%", r"\&", r"\#x", r"\$y", r"\{z\}",
                  r"\textasciitilde{}", r"\textasciicircum{}", r"\textbackslash{}", r"$\to$"):
        assert piece in s
    assert s.count("$") == 3  # the escaped \$ and the pair around \to


def test_prose_keeps_math_and_escapes_text():
    assert prose("start at $w_0^2 = c$ (50% of it)") == r"start at $w_0^2 = c$ (50\% of it)"
    with pytest.raises(ValueError, match="unbalanced"):
        prose("a $b")


def test_symbols_print_as_a_mathematician_writes_them():
    c_abs = sp.Symbol("c_abs", positive=True)
    b, bpt, g = sp.Symbol("beta"), sp.Symbol("beta_PT"), sp.Symbol("gamma_FT")
    assert tex(c_abs) == "|c|"
    assert tex(bpt) == r"\beta_{\mathrm{PT}}"
    assert tex(g) == r"\gamma_{\mathrm{FT}}"
    assert tex(sp.Symbol("u0")) == "u_0"
    assert tex(sp.sqrt(1 + b**2 / c_abs**2)).startswith(r"\sqrt{1 + ")
    assert r"\text" not in tex(sp.Function("Q_DL")(b))


def test_width_estimate_counts_the_wider_part_of_a_fraction():
    assert tex_width(r"\frac{a}{bbbb}") == pytest.approx(tex_width("bbbb") + 0.4)
    assert tex_width("x^{2}") < tex_width("x2")
    assert tex_width(r"\left(x\right)") == tex_width("(x)")


def test_long_sum_is_broken_at_top_level_terms():
    xs = sp.symbols("x0:40", real=True)
    rows = layout_equation(sp.Symbol("L"), sum(xs))
    assert len(rows) == 1 and len(rows[0][2]) > 1
    assert all(tex_width(line) <= MAX_WIDTH for line in rows[0][2])


def test_unbreakable_term_is_abbreviated_and_definitions_recompose_it():
    xs = sp.symbols("x0:30", positive=True)
    expr = sp.asinh(sum(xs)) * sp.sqrt(1 + sum(x**2 for x in xs))
    rows = layout_equation(sp.Symbol("L"), expr)
    assert len(rows) > 1  # named subexpressions were introduced
    for lhs, _, lines in rows:
        assert all(tex_width(line) + tex_width(lhs) <= MAX_WIDTH + 2 for line in lines)


# ----------------------------------------------------------------------------- display forms
def _toy(display_rhs: sp.Expr) -> Derivation:
    z, k = sp.Symbol("z", real=True), sp.Symbol("k", positive=True)
    q = sp.Function("q_k")
    true = sp.sqrt(4 + z**2) / 2
    return Derivation(name="test.toy", title="toy", statement=sp.Eq(sp.Symbol("Q"), true), symbols=(z,),
                      display=Display(sp.Eq(sp.Symbol("Q"), q(z)),
                                      where=(Definition(q(z), display_rhs), Definition(k, sp.Integer(4)))))


@pytest.fixture
def toy_registry():
    names = []

    def reg(name, builder):
        register(name)(builder)
        names.append(name)

    yield reg
    for n in names:
        _BUILDERS.pop(n, None)


def test_display_form_is_checked_against_the_derived_statement(toy_registry):
    z, k = sp.Symbol("z", real=True), sp.Symbol("k", positive=True)
    toy_registry("test.toy_good", lambda: _toy_named("test.toy_good", sp.sqrt(k + z**2) / 2))
    d = theory.get("test.toy_good")
    assert any("display form equals" in c.description and c.passed for c in d.checks)
    assert "where" in d.latex() and r"q_{k}" in d.latex()
    toy_registry("test.toy_bad", lambda: _toy_named("test.toy_bad", sp.sqrt(k + z**2) / 3))
    with pytest.raises(DerivationError, match="display form"):
        theory.get("test.toy_bad")


def _toy_named(name, rhs):
    import dataclasses

    return dataclasses.replace(_toy(rhs), name=name)


def test_repr_is_one_line_and_notebooks_get_latex():
    d = theory.get("ptft.dl_handoff")
    r = repr(d)
    assert "\n" not in r and r.startswith("<Derivation ptft.dl_handoff:") and len(r) < 300
    html = d._repr_latex_()
    assert html.startswith("$$") and html.endswith("$$") and r"\text{where}" in html and "c_{\\mathrm{FT}}" in html


def test_steps_as_text_have_no_latex_markup():
    d = theory.get("diagonal.penalty")
    text = d.steps_text()
    assert text.count("\n") == len(d.steps) - 1
    assert "$" not in text and "\\mathrm" not in text


# ----------------------------------------------------------------------------- compiling
@pytest.mark.parametrize("name", theory.names())
def test_every_derivation_compiles_standalone_and_fits_the_page(name, tmp_path):
    engine = _engine()
    from ptft.verification.cli import main

    out = tmp_path / f"{name}.tex"
    assert main(["derive", name, "--latex", "--steps", "--out", str(out)]) == 0
    build = compile_pdf(out, engine="pdflatex" if engine != "latexmk" else engine, passes=1)
    assert build.ok, build.errors[:3]
    assert build.worst_overfull() <= OVERFULL_PT, build.overfull


def test_whole_document_compiles_and_fits_the_page(tmp_path):
    _engine()
    from ptft.theory.document import write_document

    path = write_document(tmp_path)
    text = path.read_text()
    for n in theory.names():
        assert r"\label{der:%s}" % n in text
    assert r"\begin{thebibliography}" in text and "Symbols" in text
    build = compile_pdf(path)
    assert build.ok, build.errors[:3]
    assert build.worst_overfull() <= OVERFULL_PT, build.overfull
    assert build.pdf is not None and build.pdf.stat().st_size > 10_000


def test_standalone_wraps_a_fragment_into_a_document(tmp_path):
    _engine()
    p = tmp_path / "s.tex"
    p.write_text(standalone(r"\[ x = \asinh(y) \]", title="a_b & c"))
    assert compile_pdf(p, passes=1).ok


def test_derive_and_document_usage_errors(tmp_path, capsys):
    from ptft.verification.cli import main

    assert main(["derive", "no.such"]) == 2
    assert "no derivation named" in capsys.readouterr().err
    assert main(["document", "--out", str(tmp_path), "--only", "no.such", "--no-progress"]) == 2
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["derive", "diagonal.q", "--out", str(blocker / "x.tex")]) == 2
    assert "--out" in capsys.readouterr().err
