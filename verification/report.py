"""The verification report: a terminal table, JSON, Markdown and LaTeX renderings of claim results."""
from __future__ import annotations

import datetime as _dt
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path

from ptft.verification.registry import ClaimResult, RunConfig

__all__ = ["Report"]


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

    def summary_line(self) -> str:
        c = self.counts
        mode = "quick" if self.config.quick else "default"
        return (f"{c['PASS']} passed, {c['FAIL']} failed, {c['ERROR']} errors "
                f"({len(self.results)} claims, {mode} configuration, seed {self.config.seed}, {self.seconds:.1f} s)")

    # ---------------------------------------------------------------- renderings
    def table(self, width: int = 48) -> str:
        """Fixed-width terminal table: verdict, id, theory, simulation, error, tolerance."""
        head = f"{'verdict':7}  {'claim':{width}}  {'theory':>10}  {'simulation':>10}  {'error':>9}  {'tol':>9}  {'s':>6}"
        lines = [head, "-" * len(head)]
        for r in self.results:
            cid = r.id if len(r.id) <= width else r.id[: width - 1] + "~"
            mark = r.verdict + ("*" if r.cached else "")
            lines.append(f"{mark:7}  {cid:{width}}  {_fmt(r.theory):>10}  {_fmt(r.simulation):>10}  "
                         f"{_fmt(r.error):>9}  {_fmt(r.tolerance):>9}  {r.seconds:6.1f}")
            if r.message and r.verdict != "PASS":
                lines.append(f"{'':7}  -> {r.message}")
        lines.append("-" * len(head))
        lines.append(self.summary_line() + ("   (* = from cache)" if any(r.cached for r in self.results) else ""))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"created": self.created, "config": self.config.as_dict(), "seconds": self.seconds,
                "counts": self.counts, "versions": _versions(), "claims": [r.to_dict() for r in self.results]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_markdown(self) -> str:
        out = ["# ptft-theory verification report", "", self.summary_line(), "",
               "| verdict | claim | theory | simulation | error | tolerance |", "|---|---|---|---|---|---|"]
        for r in self.results:
            out.append(f"| {r.verdict} | `{r.id}` | {_fmt(r.theory)} | {_fmt(r.simulation)} | {_fmt(r.error)} | "
                       f"{_fmt(r.tolerance)} |")
        out.append("")
        for r in self.results:
            out += [f"## {r.verdict}: {r.title}", "", f"- id: `{r.id}`", f"- source: {r.source}"]
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
        def esc(s: str) -> str:
            for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"),
                         ("$", r"\$"), ("{", r"\{"), ("}", r"\}"), ("^", r"\^{}"), ("~", r"\~{}")):
                s = s.replace(a, b)
            return s

        rows = "\n".join(
            f"{r.verdict} & \\texttt{{{esc(r.id)}}} & {esc(_fmt(r.theory))} & {esc(_fmt(r.simulation))} & "
            f"{esc(_fmt(r.error))} & {esc(_fmt(r.tolerance))} \\\\" for r in self.results)
        notes = "\n".join(f"\\item \\texttt{{{esc(r.id)}}}: {esc(r.title)}. Metric: {esc(r.metric)}. "
                          f"Tolerance: {esc(r.tolerance_reason)}. Source: {esc(r.source)}."
                          for r in self.results)
        return "\n".join([
            r"\documentclass{article}", r"\usepackage{booktabs}", r"\usepackage[margin=2cm]{geometry}",
            r"\begin{document}", r"\section*{ptft-theory verification report}", esc(self.summary_line()), "",
            r"\begin{tabular}{llrrrr}", r"\toprule",
            r"verdict & claim & theory & simulation & error & tolerance \\", r"\midrule", rows, r"\bottomrule",
            r"\end{tabular}", r"\begin{itemize}", notes, r"\end{itemize}", r"\end{document}", ""])

    def write(self, directory: str | Path) -> dict[str, Path]:
        """Write ``report.json``, ``report.md`` and ``report.tex`` into ``directory``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        paths = {"json": d / "report.json", "markdown": d / "report.md", "latex": d / "report.tex"}
        paths["json"].write_text(self.to_json())
        paths["markdown"].write_text(self.to_markdown())
        paths["latex"].write_text(self.to_latex())
        return paths
