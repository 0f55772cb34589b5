"""LaTeX plumbing shared by derivations, the derivations document and the verification report.

- :func:`escape_text` makes prose safe for LaTeX text mode (``_ % & # $ { } ~ ^ \\ < > |``).
- :func:`prose` turns a sentence with inline ``$...$`` math into LaTeX: the text parts are escaped,
  the math parts are kept as written.
- :func:`standalone` wraps a fragment into a document that compiles on its own.
- :func:`find_latex_engine` and :func:`compile_pdf` run ``latexmk`` or ``pdflatex`` when one is
  installed and return a :class:`LatexBuild` with the log's errors and overfull boxes, so tests and the
  ``--pdf`` options can insist that nothing runs off the page.

LaTeX is optional: nothing here needs it except :func:`compile_pdf`, which raises
:class:`LatexNotFound` (with how to install one) when neither engine is on ``PATH``.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["escape_text", "prose", "tex_number", "verdict_tex", "VERDICT_COLOUR", "standalone", "PREAMBLE", "find_latex_engine", "compile_pdf", "LatexBuild",
           "LatexNotFound", "INSTALL_HINT"]

INSTALL_HINT = ("no LaTeX engine found (pdflatex or latexmk). LaTeX is optional: it is needed only to turn the "
                ".tex files into PDF. On Debian/Ubuntu: apt-get install --no-install-recommends texlive-latex-base "
                "texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended; on macOS: MacTeX or "
                "BasicTeX; elsewhere TeX Live (https://tug.org/texlive/).")

_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}", "_": r"\_\allowbreak{}", "=": r"=\allowbreak{}", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$", "{": r"\{",
    "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
    ">": r"\textgreater{}", "|": r"\textbar{}",
}
_TEXT_RE = re.compile("|".join(re.escape(k) for k in _TEXT_ESCAPES))


def escape_text(s: str) -> str:
    """``s`` safe for LaTeX text mode: every special character is escaped (``a_b > 1`` prints as is)."""
    pieces = s.replace("\u2192", "->").split("->")
    return r"$\to$".join(_TEXT_RE.sub(lambda m: _TEXT_ESCAPES[m.group(0)], p) for p in pieces)


def prose(s: str) -> str:
    """A sentence with inline math: text outside ``$...$`` is escaped, math inside is kept verbatim.

    >>> prose("start at $w_0^2 = c$ (50% of it)")
    'start at $w_0^2 = c$ (50\\\\% of it)'
    """
    parts = s.split("$")
    if len(parts) % 2 == 0:
        raise ValueError(f"prose: unbalanced '$' in {s!r}")
    return "".join(escape_text(p) if i % 2 == 0 else f"${p}$" for i, p in enumerate(parts))


def tex_number(x: float | str | None) -> str:
    """A number as LaTeX math, 3 significant digits: ``1.2e-09`` -> ``$1.2\\times10^{-9}$``, ``1e-06`` ->
    ``$10^{-6}$``, ``0.5`` -> ``$0.5$``, None -> ``--``."""
    if x is None:
        return "--"
    s = x if isinstance(x, str) else f"{x:.3g}"   # 3 significant digits, no trailing zeros
    m = re.fullmatch(r"([-+]?\d+(?:\.\d+)?)[eE]([-+]?\d+)", s)
    if not m:
        return f"${s}$"
    mant, exp = m.group(1).lstrip("+"), int(m.group(2))
    return f"$10^{{{exp}}}$" if mant == "1" else f"${mant}\\times10^{{{exp}}}$"


#: xcolor colour of each verdict in reports and in the derivations document.
VERDICT_COLOUR = {"PASS": "green!45!black", "FAIL": "red!75!black", "ERROR": "orange!85!black"}


def verdict_tex(verdict: str | None) -> str:
    """A verdict in bold and its colour (``\\textit{not run}`` for None)."""
    if verdict is None:
        return r"\textit{not run}"
    return r"\textcolor{%s}{\textbf{%s}}" % (VERDICT_COLOUR.get(verdict, "black"), escape_text(verdict))


PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage[margin=2.5cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{booktabs,longtable,array}
\usepackage{xcolor}
\usepackage[hidelinks]{hyperref}
\allowdisplaybreaks
\setlength{\emergencystretch}{3em}
\newcommand{\asinh}{\operatorname{asinh}}
\newcommand{\acosh}{\operatorname{acosh}}
\newcommand{\atanh}{\operatorname{atanh}}
\newcommand{\sign}{\operatorname{sign}}
"""


def standalone(body: str, title: str | None = None) -> str:
    """``body`` (a LaTeX fragment) wrapped in a document with :data:`PREAMBLE`; compiles on its own."""
    head = PREAMBLE + "\\begin{document}\n"
    if title:
        head += "\\section*{%s}\n" % escape_text(title)
    return head + body.rstrip() + "\n\\end{document}\n"


class LatexNotFound(RuntimeError):
    """No LaTeX engine on PATH; the message says how to install one."""


@dataclass
class LatexBuild:
    """Outcome of :func:`compile_pdf`: the PDF (if any), LaTeX errors and overfull boxes (in pt)."""

    tex: Path
    pdf: Path | None
    returncode: int
    errors: list[str] = field(default_factory=list)
    overfull: list[tuple[float, str]] = field(default_factory=list)
    log: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.errors and self.pdf is not None

    def worst_overfull(self) -> float:
        """The widest overfull box in pt (0 if none)."""
        return max((w for w, _ in self.overfull), default=0.0)


def find_latex_engine() -> str | None:
    """``'latexmk'`` or ``'pdflatex'`` (the first found on PATH), else None."""
    for name in ("latexmk", "pdflatex"):
        if shutil.which(name):
            return name
    return None


_OVERFULL = re.compile(r"Overfull \\[hv]box \(([\d.]+)pt too (?:wide|high)\)(.*)")


def parse_log(log: str) -> tuple[list[str], list[tuple[float, str]]]:
    """LaTeX errors (lines starting with ``!``) and overfull boxes ``(width_pt, context)`` from a log."""
    lines = log.splitlines()
    errors = []
    for i, line in enumerate(lines):
        if line.startswith("!"):
            errors.append(" ".join(lines[i:i + 3]))
    overfull = [(float(m.group(1)), m.group(2).strip()) for m in map(_OVERFULL.match, lines) if m]
    return errors, overfull


def compile_pdf(tex_path: str | os.PathLike, *, engine: str | None = None, timeout: float = 300.0,
                out_dir: str | os.PathLike | None = None, passes: int = 2) -> LatexBuild:
    """Compile ``tex_path`` to PDF (``passes`` runs of pdflatex, so references resolve; latexmk decides itself).

    The PDF is written next to the .tex file unless ``out_dir`` is given; auxiliary files go to a
    temporary folder. Raises :class:`LatexNotFound` when no engine is installed.
    """
    tex = Path(tex_path).resolve()
    if not tex.is_file():
        raise FileNotFoundError(f"tex_path: no such file {tex}")
    engine = engine or find_latex_engine()
    if engine is None:
        raise LatexNotFound(INSTALL_HINT)
    dest = Path(out_dir).resolve() if out_dir is not None else tex.parent
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ptft-tex-") as work:
        if engine == "latexmk":
            cmds = [["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", f"-outdir={work}", str(tex)]]
        else:
            cmd = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={work}", str(tex)]
            cmds = [cmd] * max(1, int(passes))
        rc = 0
        for cmd in cmds:
            proc = subprocess.run(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=timeout)
            rc = proc.returncode
            if rc != 0:
                break
        log_path = Path(work) / (tex.stem + ".log")
        log = log_path.read_text(errors="replace") if log_path.exists() else proc.stdout.decode(errors="replace")
        pdf_tmp = Path(work) / (tex.stem + ".pdf")
        pdf = None
        if pdf_tmp.exists() and rc == 0:
            pdf = dest / pdf_tmp.name
            shutil.copyfile(pdf_tmp, pdf)
    errors, overfull = parse_log(log)
    return LatexBuild(tex=tex, pdf=pdf, returncode=rc, errors=errors, overfull=overfull, log=log)
