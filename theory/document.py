"""One LaTeX document of every registered derivation (``ptft document``).

Each derivation gets a section: title, source with citations, assumptions, the statement with its
definitions, the derivation steps, the checks that were run, notes, and the claims that test it with
their latest verdicts (read from a ``report.json`` written by ``ptft verify``, if one is given or found).
A symbol table and a bibliography of the papers close the document.

>>> from ptft.theory.document import write_document
>>> tex_path = write_document("out/")            # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import sympy as sp

from ptft.theory.latex import SYMBOL_MEANING, tex
from ptft.theory.references import REFERENCES, cited_keys
from ptft.theory.texbuild import PREAMBLE, escape_text, prose, tex_number, verdict_tex

__all__ = ["ClaimLink", "claims_by_derivation", "document_latex", "write_document", "load_verdicts"]

_GROUPS = {
    "diagonal": "Single-task diagonal linear networks",
    "mtl": "Multi-task learning",
    "ptft": "Pretraining and finetuning",
    "conservation": "The reuse--sparsity conservation law",
    "regimes": "The four fine-tuning regimes",
    "asymptotics": "Generalisation error in the proportional limit",
    "linear_teachers": "Fine-tuning with linear teachers",
}


@dataclass(frozen=True)
class ClaimLink:
    """A claim that tests a derivation, with its latest verdict (``None`` if never run)."""

    id: str
    title: str
    verdict: str | None = None
    error: float | None = None
    tolerance: float | None = None


def _safe_prose(s: str) -> str:
    try:
        return prose(s)
    except ValueError:
        return escape_text(s)


def _cite(source: str) -> str:
    """The source in prose, each ``[KEY]`` turned into ``\\cite{KEY}``."""
    out = _safe_prose(source)
    for key in cited_keys(source):
        out = out.replace(f"[{key}]", r"\cite{%s}" % key)
    return out


def load_verdicts(report: str | os.PathLike | None) -> dict[str, dict]:
    """Claim id -> its entry in a ``report.json`` (empty if the file is absent or unreadable)."""
    if report is None:
        return {}
    p = Path(report)
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text())
        return {c["id"]: c for c in data.get("claims", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def claims_by_derivation(names: Iterable[str], verdicts: dict[str, dict] | None = None) -> dict[str, list[ClaimLink]]:
    """Derivation name -> the claims whose source or title names it (``theory: NAME`` or a ``prefix.*``)."""
    from ptft.verification.registry import claims

    names = list(names)
    verdicts = verdicts or {}
    out: dict[str, list[ClaimLink]] = {n: [] for n in names}
    for c in claims():
        text = f"{c.source} {c.title} {' '.join(getattr(c, 'derivations', ()) or ())}"
        for n in names:
            prefix = n.split(".")[0] + ".*"
            if re.search(r"(?<![\w.])%s(?![\w])" % re.escape(n), text) or prefix in text:
                v = verdicts.get(c.id, {})
                out[n].append(ClaimLink(c.id, c.title, v.get("verdict"), v.get("error"), v.get("tolerance")))
    return out


def _num(x) -> str:
    try:
        return tex_number(None if x is None else float(x))
    except (TypeError, ValueError):
        return escape_text(str(x))


def _section(d, claims: list[ClaimLink]) -> str:
    out = [r"\subsection{%s}" % escape_text(d.title), r"\label{der:%s}" % d.name,
           r"\noindent\texttt{%s}\quad Source: %s." % (escape_text(d.name), _cite(d.source or "derived here"))]
    if d.assumptions:
        out.append(r"\paragraph{Assumptions.}")
        out.append(r"\begin{itemize}")
        out += [r"\item %s" % _safe_prose(a) for a in d.assumptions]
        out.append(r"\end{itemize}")
    out.append(r"\paragraph{Statement.}")
    out.append(d.statement_latex())
    if d.steps:
        out.append(r"\paragraph{Derivation.}")
        out.append(d.steps_latex())
    if d.checks:
        out.append(r"\paragraph{Checks.} Symbolic identities verified while deriving (SymPy "
                   r"\texttt{simplify}, and a 50-digit mpmath spot check at random points):")
        out.append(r"\begin{itemize}")
        for c in d.checks:
            num = "" if c.numeric_max_error is None else f" (largest numeric difference {_num(c.numeric_max_error)})"
            mark = r"\textcolor{green!50!black}{ok}" if c.passed else r"\textcolor{red!70!black}{failed}"
            out.append(r"\item [%s] %s%s" % (mark, _safe_prose(c.description), num))
        out.append(r"\end{itemize}")
    if d.notes:
        out.append(r"\paragraph{Notes.} %s" % _cite(d.notes))
    out.append(r"\paragraph{Claims that test it.}")
    if claims:
        out.append(r"\begin{itemize}")
        for c in claims:
            err = "" if c.error is None else f", error {_num(c.error)} (tolerance {_num(c.tolerance)})"
            out.append(r"\item %s \texttt{%s}: %s%s" % (verdict_tex(c.verdict), escape_text(c.id).replace(".", r".\allowbreak "),
                                                       escape_text(c.title), err))
        out.append(r"\end{itemize}")
    else:
        out.append("None yet: the derivation is checked symbolically only.")
    return "\n".join(out)


def _symbol_table(derivations) -> str:
    syms: dict[str, sp.Symbol] = {}
    for d in derivations:
        for expr in (d.statement, d.display.statement if d.display is not None else None):
            if expr is None:
                continue
            for s in expr.free_symbols:
                if isinstance(s, sp.Symbol):
                    syms.setdefault(s.name, s)
    rows = []
    for name in sorted(syms, key=lambda n: (n.lower(), n)):
        s = syms[name]
        assum = ", ".join(k for k in ("positive", "nonnegative", "real") if getattr(s, f"is_{k}"))
        meaning = _safe_prose(SYMBOL_MEANING.get(name, ""))
        rows.append(r"$%s$ & \texttt{%s} & %s & %s \\" % (tex(s), escape_text(name), escape_text(assum), meaning))
    return "\n".join([
        r"\section*{Symbols}", r"\addcontentsline{toc}{section}{Symbols}",
        "Symbols as printed, their SymPy names, the assumptions SymPy carries, and their meaning.",
        r"\begin{longtable}{l l l p{0.4\textwidth}}", r"\toprule",
        r"symbol & SymPy name & assumptions & meaning \\", r"\midrule", r"\endhead", *rows,
        r"\bottomrule", r"\end{longtable}"])


def _bibliography() -> str:
    items = [r"\bibitem{%s} %s" % (r.key, escape_text(r.text())) for r in REFERENCES.values()]
    return "\n".join([r"\begin{thebibliography}{99}", *items, r"\end{thebibliography}"])


def document_latex(names: Iterable[str] | None = None, report: str | os.PathLike | None = None,
                   progress: bool = False) -> str:
    """The whole document as a string: every derivation (or those in ``names``), symbols, bibliography."""
    from ptft import __version__
    from ptft import theory

    names = list(names) if names is not None else theory.names()
    it = names
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(names, desc="derivations", unit="derivation", leave=False)
    derivations = [theory.get(n) for n in it]
    links = claims_by_derivation(names, load_verdicts(report))
    body = [PREAMBLE.rstrip(),
            r"\title{ptft-theory: derivations}",
            r"\author{Generated by \texttt{ptft document} (ptft-theory %s)}" % escape_text(__version__),
            r"\date{\today}", r"\begin{document}", r"\maketitle",
            r"\noindent Every result below was derived with SymPy by the package, not typed in: the statement "
            r"is printed from the derived expression (or from a display form in named quantities that SymPy "
            r"checked to be equal to it), followed by the steps, the identities checked on the way and the "
            r"claims of \texttt{ptft verify} that test it against simulated gradient descent.",
            r"\tableofcontents"]
    group = None
    for d in derivations:
        g = d.name.split(".")[0]
        if g != group:
            group = g
            body.append(r"\section{%s}" % escape_text(_GROUPS.get(g, g)))
        body.append(_section(d, links.get(d.name, [])))
    body += [_symbol_table(derivations), _bibliography(), r"\end{document}", ""]
    return "\n\n".join(body)


def write_document(out_dir: str | os.PathLike, names: Iterable[str] | None = None,
                   report: str | os.PathLike | None = None, progress: bool = False) -> Path:
    """Write ``derivations.tex`` into ``out_dir`` (created if needed); returns its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "derivations.tex"
    text = document_latex(names, report=report, progress=progress)
    tmp = path.with_suffix(".tex.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
