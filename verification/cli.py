"""The ``ptft`` command: ``verify``, ``list``, ``derive``, ``figures``.

    ptft verify [--quick] [--seed N] [--only ID_OR_TAG ...] [--out DIR] [--json PATH] [--markdown PATH]
                [--latex PATH] [--no-cache] [--cache-dir DIR] [--no-progress]
    ptft list [claims|derivations|figures]
    ptft derive NAME [--steps] [--latex [--standalone]] [--out FILE.tex]
    ptft document [--out DIR] [--pdf] [--report PATH] [--only NAME ...]
    ptft figures [--out DIR] [--quick] [--only NAME ...] [--no-cache]
    ptft cache info|clear [--cache-dir DIR] [--figures-out DIR] [--figures]

``ptft verify`` and ``ptft figures`` also take ``--scheduler ADDRESS`` (an existing Dask scheduler) or
``--workers N`` (on this machine: a Dask ``LocalCluster`` of N single-thread worker processes when
Dask is installed, else a ``ProcessPoolExecutor`` of N processes); see
:func:`ptft.numerics.executors.make_executor`.

``ptft verify`` exits 0 when every selected claim holds, 1 when any fails or errors (a FAIL is a real
result, reported with its reason, not hidden), and 2 on a usage error (a negative ``--seed``, an
``--only`` id or tag that matches no claim, an ``--out`` that cannot be written: all checked before any
claim runs, so a usage error never leaves a report behind).
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ptft", description="ptft-theory: derive, simulate and verify the theory "
                                "of multi-task learning and pretraining + finetuning.")
    from ptft import __version__

    p.add_argument("--version", action="version", version=f"ptft-theory {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    v = sub.add_parser("verify", help="run the claims and write a report")
    v.add_argument("--quick", action="store_true", help="small configuration (under a minute on 2 cores)")
    v.add_argument("--seed", type=int, default=0, help="root seed of every random draw (default 0)")
    v.add_argument("--only", nargs="+", metavar="ID_OR_TAG", help="run the claims whose id contains, or whose "
                   "tags include, one of these")
    v.add_argument("--out", default="ptft-report", help="folder for report.json/.md/.tex (default ./ptft-report)")
    v.add_argument("--json", metavar="PATH", help="also write the JSON report here")
    v.add_argument("--markdown", metavar="PATH", help="also write the Markdown report here")
    v.add_argument("--latex", metavar="PATH", help="also write the LaTeX report here")
    v.add_argument("--no-cache", action="store_true", help="recompute every claim (the cache is keyed by claim, "
                   "configuration and source code)")
    v.add_argument("--cache-dir", help="cache folder (default $PTFT_CACHE_DIR or ~/.cache/ptft-theory)")
    v.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_executor_args(v, "claims")
    v.set_defaults(_subparser=v)

    ls = sub.add_parser("list", help="list claims, derivations and figures")
    ls.add_argument("what", nargs="?", choices=["claims", "derivations", "figures", "all"], default="all")

    d = sub.add_parser("derive", help="run and print one derivation")
    d.add_argument("name", help="derivation name (see `ptft list derivations`)")
    d.add_argument("--latex", action="store_true", help="print LaTeX (a fragment: display math of the statement "
                   "and its definitions)")
    d.add_argument("--steps", action="store_true", help="include the derivation's steps (as text, or as LaTeX with "
                   "--latex)")
    d.add_argument("--standalone", action="store_true", help="with --latex: a whole document that compiles on its own")
    d.add_argument("--out", metavar="FILE.tex", help="write a standalone LaTeX document to this file instead of "
                   "printing")

    doc = sub.add_parser("document", help="write every derivation into one LaTeX document (derivations.tex)")
    doc.add_argument("--out", default="ptft-document", help="output folder (default ./ptft-document)")
    doc.add_argument("--pdf", action="store_true", help="also compile it to PDF with latexmk or pdflatex")
    doc.add_argument("--report", metavar="PATH", help="report.json whose verdicts to show beside each derivation "
                     "(default: ./ptft-report/report.json if it exists)")
    doc.add_argument("--only", nargs="+", metavar="NAME", help="only these derivations (or name prefixes)")
    doc.add_argument("--no-progress", action="store_true", help="no progress bar")

    f = sub.add_parser("figures", help="regenerate the paper figures (PNG + PDF)")
    f.add_argument("--out", default="figures-out", help="output folder (default ./figures-out)")
    f.add_argument("--quick", action="store_true", help="small sizes (for a smoke test)")
    f.add_argument("--only", nargs="+", metavar="NAME", help="only these figures")
    f.add_argument("--no-cache", action="store_true",
                   help="recompute every sweep point (OUT/.cache is neither read nor written)")
    _add_executor_args(f, "sweep points")

    c = sub.add_parser("cache", help="show or clear the result caches")
    c.add_argument("action", choices=["info", "clear"], help="info: folder, entries, size; clear: delete the entries")
    c.add_argument("--cache-dir", help="claims cache folder (default $PTFT_CACHE_DIR or ~/.cache/ptft-theory)")
    c.add_argument("--figures-out", default="figures-out", metavar="DIR", help="output folder of `ptft figures`, "
                   "whose sweep cache is DIR/.cache (default ./figures-out)")
    c.add_argument("--figures", action="store_true", help="clear: also clear the figures' sweep cache")
    return p


def _add_executor_args(parser: argparse.ArgumentParser, unit: str) -> None:
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--scheduler", metavar="ADDRESS", help=f"run the {unit} on an existing Dask scheduler, e.g. "
                   "tcp://host:8786 (needs the cluster extra; ptft of the same version on every worker)")
    g.add_argument("--workers", type=int, metavar="N", help=f"run the {unit} on N local processes: a Dask "
                   "LocalCluster if Dask is installed, else a process pool")


def _executor_args_error(a) -> str | None:
    """What is wrong with ``--workers`` / ``--scheduler``, or None."""
    from ptft.numerics.executors import INSTALL_HINT, dask_available

    if a.workers is not None and a.workers < 1:
        return f"--workers: expected a positive number of processes, got {a.workers}"
    if a.scheduler is not None and not dask_available():
        return f"--scheduler needs Dask: {INSTALL_HINT}"
    return None


def _executor(a):
    """The executor context for ``--scheduler`` / ``--workers`` (serial when neither is given)."""
    from ptft.numerics.executors import make_executor

    return make_executor(workers=a.workers, scheduler=a.scheduler)


def _usage_error(a, message: str) -> int:
    """Report a usage error as argparse does (usage line, then ``ptft CMD: error: ...``); exit code 2."""
    parser = getattr(a, "_subparser", None)
    if parser is not None:
        parser.print_usage(sys.stderr)
    print(f"ptft {a.command}: error: {message}", file=sys.stderr)
    return 2


def _select_claims_noting_renames(only):
    """``select_claims(only)``; a former claim id prints a note to stderr instead of a FutureWarning."""
    from ptft.verification.registry import ClaimRenamedWarning, select_claims

    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return select_claims(only)
    finally:   # also when an unknown id follows a renamed one
        for w in caught:
            if issubclass(w.category, ClaimRenamedWarning):
                print(f"note: {w.message}", file=sys.stderr)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _cmd_verify(a) -> int:
    from ptft.verification.cache import ResultCache
    from ptft.verification.registry import RunConfig
    from ptft.verification.report import REPORT_FILES, atomic_write_text, check_writable_dir
    from ptft.verification.runner import run_claims

    # every usage error is found before a claim runs or a file is written
    if a.seed < 0:
        return _usage_error(a, f"argument --seed: must be a non-negative integer, got {a.seed}")
    try:
        selected = _select_claims_noting_renames(a.only)
    except ValueError as exc:
        return _usage_error(a, f"argument --only: {exc}")
    err = _executor_args_error(a)
    if err:
        return _usage_error(a, err)
    extra = {}
    try:
        option = "--out"
        out = check_writable_dir(a.out)
        for key, option in (("json", "--json"), ("markdown", "--markdown"), ("latex", "--latex")):
            path = getattr(a, key)
            if path:
                path = Path(path).expanduser().absolute()
                if path.is_dir():
                    raise ValueError(f"{path} is a directory")
                check_writable_dir(path.parent)
                extra[key] = path
    except ValueError as exc:
        return _usage_error(a, f"argument {option}: {exc}")

    config = RunConfig(quick=a.quick, seed=a.seed)
    cache = None if a.no_cache else ResultCache(a.cache_dir)
    with _executor(a) as executor:
        report = run_claims(selected, config, cache=cache, progress=not a.no_progress, executor=executor)
    where = out / "report.{json,md,tex}"
    try:
        report.write(out)   # atomic: all or nothing, each file via a temporary file
        texts = {key: (out / REPORT_FILES[key]).read_text() for key in extra}
        for key, path in extra.items():
            atomic_write_text(path, texts[key])
    except OSError as exc:
        print(report.table(report=f"NOT written ({exc.strerror or exc}: {exc.filename or where})"))
        return 1
    print(report.table(report=where))
    return 0 if report.all_passed else 1


def _cmd_list(a) -> int:
    if a.what in ("claims", "all"):
        from ptft.verification.registry import claims

        from ptft.verification.registry import aliases

        print("claims:")
        for c in claims():
            print(f"  {c.id}  [{', '.join(c.tags)}]" if c.tags else f"  {c.id}")
            print(f"      {c.title}")
            print(f"      source: {c.source}")
            if c.refutes is not None:
                print(f"      refutes: {c.refutes.line()}")
        renamed = aliases()
        if renamed:
            print("renamed claims (the old ids still select them until the next release):")
            for old, new in renamed.items():
                print(f"  {old} -> {new}")
    if a.what in ("derivations", "all"):
        from ptft.theory.derivation import titles

        print("derivations:")
        for n, title in titles().items():
            print(f"  {n:40s} {title}")
    if a.what in ("figures", "all"):
        from ptft.paper_figures import FIGURES

        print("figures:")
        for n, mod in FIGURES.items():
            doc = (mod.__doc__ or "").strip().splitlines()
            print(f"  {n:30s} {doc[0] if doc else ''}")
    return 0


def _cmd_derive(a) -> int:
    from ptft import theory

    try:
        d = theory.get(a.name)
    except KeyError as exc:
        print(f"ptft derive: error: {exc.args[0]}", file=sys.stderr)
        return 2
    if a.out:
        out = Path(a.out)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(d.latex(steps=a.steps, standalone=True))
        except OSError as exc:
            print(f"ptft derive: error: --out: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"wrote {out.resolve()}")
    elif a.latex:
        print(d.latex(steps=a.steps, standalone=a.standalone))
    else:
        print(d.summary())
        if a.steps and d.steps:
            print("  steps:")
            print(d.steps_text())
    return 0


def _cmd_document(a) -> int:
    from ptft import theory
    from ptft.theory.document import write_document
    from ptft.theory.texbuild import LatexNotFound, compile_pdf

    names = theory.names()
    if a.only:
        chosen = [n for n in names if any(n == o or n.startswith(o) for o in a.only)]
        if not chosen:
            print(f"ptft document: error: --only: no derivation matches {a.only}; see `ptft list derivations`",
                  file=sys.stderr)
            return 2
        names = chosen
    report = a.report
    if report is None and Path("ptft-report/report.json").is_file():
        report = "ptft-report/report.json"
    elif report is not None and not Path(report).is_file():
        print(f"ptft document: error: --report: no such file {report}", file=sys.stderr)
        return 2
    try:
        path = write_document(a.out, names=names, report=report, progress=not a.no_progress)
    except OSError as exc:
        print(f"ptft document: error: --out: cannot write into {a.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {path.resolve()} ({len(names)} derivations"
          + (f", verdicts from {Path(report).resolve()})" if report else ", no verdicts: run `ptft verify` first)"))
    if a.pdf:
        try:
            build = compile_pdf(path)
        except LatexNotFound as exc:
            print(f"ptft document: {exc}", file=sys.stderr)
            return 1
        if not build.ok:
            print("ptft document: LaTeX failed:\n  " + "\n  ".join(build.errors[:5] or [build.log[-2000:]]),
                  file=sys.stderr)
            return 1
        wide = [w for w, _ in build.overfull if w > 20]
        note = f" ({len(wide)} lines wider than the page by more than 20 pt)" if wide else ""
        print(f"wrote {build.pdf}{note}")
    return 0


def _cmd_figures(a) -> int:
    from ptft.paper_figures import FIGURES, make_all

    unknown = [n for n in a.only or [] if n not in FIGURES]
    err = f"unknown figure(s) {unknown}; known: {', '.join(FIGURES)}" if unknown else _executor_args_error(a)
    if err:
        print(f"ptft figures: {err}", file=sys.stderr)
        return 2
    with _executor(a) as executor:
        make_all(a.out, quick=a.quick, only=a.only, executor=executor, use_cache=not a.no_cache,
                 verbose=True)  # prints "wrote PATH" per file as each figure finishes
    return 0


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"  # pragma: no cover


def _cmd_cache(a) -> int:
    from ptft.numerics.sweeps import SweepCache
    from ptft.verification.cache import ResultCache

    claims_cache = ResultCache(a.cache_dir)
    figures_cache = SweepCache(Path(a.figures_out) / ".cache")
    if a.action == "info":
        n = len(claims_cache.entries())
        print(f"claims cache:  {claims_cache.directory.resolve()}: {n} entries, {_size(claims_cache.size_bytes())}")
        if figures_cache.directory.is_dir():
            print(f"figures cache: {figures_cache.directory.resolve()}: {len(figures_cache.entries())} sweep points, "
                  f"{_size(figures_cache.size_bytes())}")
        else:
            print(f"figures cache: {figures_cache.directory.resolve()}: none (set with --figures-out DIR)")
        return 0
    n = claims_cache.clear()
    print(f"removed {n} entries from the claims cache {claims_cache.directory.resolve()}")
    if a.figures:
        m = figures_cache.clear()
        print(f"removed {m} sweep points from the figures cache {figures_cache.directory.resolve()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    handler = {"verify": _cmd_verify, "list": _cmd_list, "derive": _cmd_derive, "document": _cmd_document,
               "figures": _cmd_figures,
               "cache": _cmd_cache}[a.command]
    return handler(a)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
