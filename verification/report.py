"""The verification report: a terminal table, JSON, Markdown and LaTeX renderings of claim results.

Every rendering prints, beside a claim's verdict, the expectation it refutes (if any) with a pointer
to its entry in ``docs/differences.md``. :meth:`Report.write` renders all three files before writing
any, and writes each through a temporary file and :func:`os.replace`, so an interrupted run never
leaves a partial report behind; :func:`check_writable_dir` lets a caller find out *before* running
the claims that the report could not be written.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ptft.theory.texbuild import tex_number, verdict_tex
from ptft.verification.registry import DIFFERENCES_DOC, ClaimResult, RunConfig

__all__ = ["Report", "atomic_write_text", "check_writable_dir", "tex_text", "tex_number", "REPORT_FILES"]

REPORT_FILES = {"json": "report.json", "markdown": "report.md", "latex": "report.tex"}
"""The files :meth:`Report.write` puts into its folder."""


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if x == 0:
        return "0"
    ax = abs(x)
    return f"{x:.3g}" if 1e-3 <= ax < 1e4 else f"{x:.2e}"


def _versions() -> dict:
    import numpy
    import scipy
    import sympy

    return {"python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy.__version__,
            "sympy": sympy.__version__}


# ------------------------------------------------------------------------------------------------
# files: atomic writes and an early writability check
# ------------------------------------------------------------------------------------------------
def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and :func:`os.replace`.

    Readers see the old file or the new one, never a partial one; a failure leaves no temporary file.
    """
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p


def check_writable_dir(directory: str | os.PathLike) -> Path:
    """Create ``directory`` if needed and check a file can be written in it; the absolute path.

    Raises :class:`ValueError` saying why not (a path under a file, a read-only folder, ...).
    """
    d = Path(directory).expanduser().absolute()
    if d.exists() and not d.is_dir():
        raise ValueError(f"{d} exists and is not a directory")
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create directory {d}: {exc.strerror or exc}") from None
    try:
        with tempfile.NamedTemporaryFile(dir=d, prefix=".ptft-write-check-"):
            pass
    except OSError as exc:
        raise ValueError(f"cannot write in directory {d}: {exc.strerror or exc}") from None
    return d


# ------------------------------------------------------------------------------------------------
# LaTeX: text with numbers and Greek letters set as math
# ------------------------------------------------------------------------------------------------
_GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "lambda", "mu", "phi", "rho", "sigma", "theta")
_MATH_TOKEN = re.compile(
    r"(?P<sci>(?<![\w.])[-+]?\d+(?:\.\d+)?[eE][-+]?\d+(?![\w.]))"
    r"|(?P<greek>(?<![A-Za-z\\])(?:" + "|".join(_GREEK) + r")(?![A-Za-z])(?:_?\d+|_[A-Za-z0-9]+)?"
    r"(?:\^(?:-?\d+|[A-Za-z]))?)"
    r"|(?P<power>\^-?\d+)")


def _greek_to_tex(tok: str) -> str:
    m = re.fullmatch(r"([A-Za-z]+?)(?:_?(\d+)|_([A-Za-z0-9]+))?(?:\^(-?\d+|[A-Za-z]))?", tok)
    name, digits, sub, sup = m.groups()
    out = "\\" + name
    if digits or sub:
        out += "_{%s}" % (digits if digits else ("\\mathrm{%s}" % sub if len(sub) > 1 else sub))
    if sup:
        out += "^{%s}" % sup
    return f"${out}$"


def tex_text(s: str) -> str:
    """Prose for LaTeX text mode: special characters escaped, numbers in scientific notation and Greek
    letter names (``alpha``, ``beta_aux``, ``alpha^2``) set as math, ``->`` as an arrow.

    >>> tex_text("gap 1.2e-09 at alpha = 1e-4")
    'gap $1.2\\\\times10^{-9}$ at $\\\\alpha$ = $10^{-4}$'
    """
    from ptft.theory.texbuild import escape_text

    out, pos = [], 0
    for m in _MATH_TOKEN.finditer(s):
        out.append(escape_text(s[pos:m.start()]))
        tok = m.group(0)
        if m.group("sci"):
            out.append(tex_number(tok))
        elif m.group("greek"):
            out.append(_greek_to_tex(tok))
        else:
            out.append("$^{%s}$" % tok[1:])
        pos = m.end()
    out.append(escape_text(s[pos:]))
    return "".join(out)


def _tt(s: str) -> str:
    """``\\texttt`` of an identifier or path that may break after ``. _ - / #`` (long ids fit a column)."""
    from ptft.theory.texbuild import escape_text

    pieces = []
    for ch in s:
        e = escape_text(ch)
        pieces.append(e + "\\allowbreak{}" if ch in "._-/#" and not e.endswith("\\allowbreak{}") else e)
    return "\\texttt{" + "".join(pieces) + "}"




def _tex_verdict(r: ClaimResult) -> str:
    return verdict_tex(r.verdict) + ("$^{*}$" if r.cached else "")


# ------------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------------
@dataclass
class Report:
    """Claim results of one run plus its configuration, duration and software versions."""

    results: list[ClaimResult]
    config: RunConfig
    seconds: float = 0.0
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))

    @property
    def counts(self) -> dict[str, int]:
        out = {"PASS": 0, "FAIL": 0, "ERROR": 0}
        for r in self.results:
            out[r.verdict] = out.get(r.verdict, 0) + 1
        return out

    @property
    def all_passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def refuting(self) -> list[ClaimResult]:
        """The results whose claim refutes a published statement or a prior expectation."""
        return [r for r in self.results if r.refutes is not None]

    def summary_line(self) -> str:
        """Counts, configuration and duration (the reports' headline)."""
        c = self.counts
        mode = "quick" if self.config.quick else "default"
        return (f"{c['PASS']} held, {c['FAIL']} failed, {c['ERROR']} errors "
                f"({len(self.results)} claims, {mode} configuration, seed {self.config.seed}, {self.seconds:.1f} s)")

    def final_line(self, report: str | os.PathLike | None = None) -> str:
        """The terminal summary's last line: counts, duration and where the report is."""
        c = self.counts
        line = f"{c['PASS']} held, {c['FAIL']} failed, {c['ERROR']} errors in {self.seconds:.1f} s"
        return line + (f"; report: {report}" if report is not None else "")

    def refuted_note(self) -> str:
        """One sentence pointing to docs/differences.md ('' when no claim refutes anything)."""
        n = len(self.refuting)
        if not n:
            return ""
        return (f"{n} claim{'s' if n > 1 else ''} refute{'' if n > 1 else 's'} a published or expected statement "
                f"('refutes:' lines); what differs and why: {DIFFERENCES_DOC}")

    # ---------------------------------------------------------------- renderings
    def table(self, width: int | None = None, report: str | os.PathLike | None = None) -> str:
        """Terminal table: verdict, id, theory, simulation, error, tolerance, seconds; under a claim its
        message (if it did not hold) and what it refutes. Ends with :meth:`final_line` (``report``: where
        the report files are). ``width`` of the id column: default the longest id (at least 30)."""
        if width is None:
            width = max([30] + [len(r.id) for r in self.results])
        head = f"{'verdict':7}  {'claim':{width}}  {'theory':>10}  {'simulation':>10}  {'error':>9}  {'tol':>9}  {'s':>6}"
        lines = [head, "-" * len(head)]
        for r in self.results:
            cid = r.id if len(r.id) <= width else r.id[: width - 1] + "~"
            mark = r.verdict + ("*" if r.cached else "")
            lines.append(f"{mark:7}  {cid:{width}}  {_fmt(r.theory):>10}  {_fmt(r.simulation):>10}  "
                         f"{_fmt(r.error):>9}  {_fmt(r.tolerance):>9}  {r.seconds:6.1f}")
            if r.message and r.verdict != "PASS":
                lines.append(f"{'':9}-> {r.message}")
            if r.refutes is not None:
                lines.append(f"{'':9}refutes: {r.refutes.line()}")
        lines.append("-" * len(head))
        if any(r.cached for r in self.results):
            lines.append("* = from cache")
        if self.refuting:
            lines.append(self.refuted_note())
        lines.append(self.final_line(report))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"created": self.created, "config": self.config.as_dict(), "seconds": self.seconds,
                "counts": self.counts, "summary": self.summary_line(), "versions": _versions(),
                "differences": DIFFERENCES_DOC if self.refuting else None,
                "claims": [r.to_dict() for r in self.results]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_markdown(self) -> str:
        out = ["# ptft-theory verification report", "", self.summary_line(), ""]
        if self.refuting:
            out += [self.refuted_note() + ".", ""]
        out += ["| verdict | claim | theory | simulation | error | tolerance |", "|---|---|---|---|---|---|"]
        for r in self.results:
            mark = f"**{r.verdict}**" + (" (refutes)" if r.refutes is not None else "")
            out.append(f"| {mark} | `{r.id}` | {_fmt(r.theory)} | {_fmt(r.simulation)} | {_fmt(r.error)} | "
                       f"{_fmt(r.tolerance)} |")
        out.append("")
        for r in self.results:
            out += [f"## {r.verdict}: {r.title}", "", f"- id: `{r.id}`", f"- source: {r.source}"]
            if r.refutes is not None:
                out.append(f"- **refutes**: {r.refutes.source}: {r.refutes.statement} (see `{r.refutes.see}`)")
            if r.metric:
                out.append(f"- {r.theory_label}: {_fmt(r.theory)}; {r.simulation_label}: {_fmt(r.simulation)}")
                out.append(f"- error ({r.metric}): {_fmt(r.error)} against tolerance {_fmt(r.tolerance)}")
                out.append(f"- why this tolerance: {r.tolerance_reason}")
            if r.message:
                out.append(f"- message: {r.message}")
            out.append(f"- time: {r.seconds:.1f} s{' (cached)' if r.cached else ''}")
            out.append("")
        return "\n".join(out)

    def to_latex(self) -> str:
        """A standalone LaTeX document (:func:`theory.texbuild.standalone`): numbers and formulas as math,
        verdicts in colour, a ``longtable`` with a wrapping claim column, then one entry per claim."""
        from ptft.theory.texbuild import escape_text, standalone

        rows = []
        for r in self.results:
            rows.append(f"{_tex_verdict(r)} & {_tt(r.id)} & {tex_number(r.theory)} & {tex_number(r.simulation)} & "
                        f"{tex_number(r.error)} & {tex_number(r.tolerance)} \\\\")
        table = "\n".join([
            r"{\small\setlength{\tabcolsep}{4pt}",
            r"\begin{longtable}{@{}l>{\raggedright\arraybackslash}p{0.36\linewidth}rrrr@{}}",
            r"\toprule verdict & claim & theory & simulation & error & tolerance \\ \midrule \endhead",
            r"\bottomrule \endfoot", *rows, r"\end{longtable}}"])
        entries = []
        for r in self.results:
            items = [f"\\item[id] {_tt(r.id)}", f"\\item[source] {tex_text(r.source)}"]
            if r.refutes is not None:
                items.append(f"\\item[refutes] {tex_text(r.refutes.source)}: {tex_text(r.refutes.statement)} "
                             f"(see {_tt(r.refutes.see)})")
            if r.metric:
                items.append(f"\\item[values] {tex_text(r.theory_label)}: {tex_number(r.theory)}; "
                             f"{tex_text(r.simulation_label)}: {tex_number(r.simulation)}")
                items.append(f"\\item[error] {tex_number(r.error)} against tolerance {tex_number(r.tolerance)}; "
                             f"metric: {tex_text(r.metric)}")
                items.append(f"\\item[tolerance] {tex_text(r.tolerance_reason)}")
            if r.message:
                items.append(f"\\item[message] {tex_text(r.message)}")
            items.append(f"\\item[time] {r.seconds:.1f} s{' (cached)' if r.cached else ''}")
            entries += [f"\\subsection*{{{_tex_verdict(r)}: {tex_text(r.title)}}}",
                        r"\begin{description}\raggedright", *items, r"\end{description}"]
        head = [escape_text(self.summary_line()) + r"\par"]
        if self.refuting:
            head.append(escape_text(self.refuted_note() + ".") + r"\par")
        if any(r.cached for r in self.results):
            head.append(r"$^{*}$ from cache.\par")
        body = "\n".join([*head, r"\medskip", table, *entries])
        return standalone(body, title="ptft-theory verification report")

    def render(self) -> dict[str, str]:
        """The three renderings, keyed like :data:`REPORT_FILES`."""
        return {"json": self.to_json(), "markdown": self.to_markdown(), "latex": self.to_latex()}

    def write(self, directory: str | os.PathLike) -> dict[str, Path]:
        """Write ``report.json``, ``report.md`` and ``report.tex`` into ``directory``.

        All three are rendered first, then each is written atomically (:func:`atomic_write_text`): a
        failure leaves the previous files, never a half-written one.
        """
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        texts = self.render()
        paths = {k: d / name for k, name in REPORT_FILES.items()}
        for k, p in paths.items():
            atomic_write_text(p, texts[k])
        return paths
