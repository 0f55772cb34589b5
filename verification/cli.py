"""The ``ptft`` command: ``verify``, ``list``, ``derive``, ``figures``.

    ptft verify [--quick] [--seed N] [--only ID_OR_TAG ...] [--out DIR] [--json PATH] [--markdown PATH]
                [--latex PATH] [--no-cache] [--cache-dir DIR] [--no-progress]
    ptft list [claims|derivations|figures]
    ptft derive NAME [--latex] [--steps]
    ptft figures [--out DIR] [--quick] [--only NAME ...]

``ptft verify`` exits 0 when every selected claim passes and 1 otherwise (a FAIL is a real result,
reported with its reason, not hidden).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ptft", description="ptft-theory: derive, simulate and verify the theory "
                                "of multi-task learning and pretraining + finetuning.")
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

    ls = sub.add_parser("list", help="list claims, derivations and figures")
    ls.add_argument("what", nargs="?", choices=["claims", "derivations", "figures", "all"], default="all")

    d = sub.add_parser("derive", help="run and print one derivation")
    d.add_argument("name", help="derivation name (see `ptft list derivations`)")
    d.add_argument("--latex", action="store_true", help="print the LaTeX of the statement")
    d.add_argument("--steps", action="store_true", help="with --latex: the whole derivation as an align* block")

    f = sub.add_parser("figures", help="regenerate the paper figures (PNG + PDF)")
    f.add_argument("--out", default="figures-out", help="output folder (default ./figures-out)")
    f.add_argument("--quick", action="store_true", help="small sizes (for a smoke test)")
    f.add_argument("--only", nargs="+", metavar="NAME", help="only these figures")
    return p


def _cmd_verify(a) -> int:
    from ptft.verification.cache import ResultCache
    from ptft.verification.registry import RunConfig, select_claims
    from ptft.verification.runner import run_claims

    try:
        selected = select_claims(a.only)
    except ValueError as exc:
        print(f"ptft verify: {exc}", file=sys.stderr)
        return 2
    config = RunConfig(quick=a.quick, seed=a.seed)
    cache = None if a.no_cache else ResultCache(a.cache_dir)
    report = run_claims(selected, config, cache=cache, progress=not a.no_progress)
    print(report.table())
    paths = report.write(a.out)
    for key, attr in (("json", a.json), ("markdown", a.markdown), ("latex", a.latex)):
        if attr:
            Path(attr).parent.mkdir(parents=True, exist_ok=True)
            Path(attr).write_text(paths[key].read_text())
    print(f"report written to {Path(a.out).resolve()}/report.{{json,md,tex}}")
    return 0 if report.all_passed else 1


def _cmd_list(a) -> int:
    if a.what in ("claims", "all"):
        from ptft.verification.registry import claims

        print("claims:")
        for c in claims():
            tags = f"  [{', '.join(c.tags)}]" if c.tags else ""
            print(f"  {c.id:50s} {c.title}{tags}")
    if a.what in ("derivations", "all"):
        from ptft import theory
        print("derivations:")
        for n in theory.names():
            print(f"  {n}")
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
        print(f"ptft derive: {exc.args[0]}", file=sys.stderr)
        return 2
    if a.latex:
        print(d.latex(steps=a.steps))
    else:
        print(d.summary())
    return 0


def _cmd_figures(a) -> int:
    from ptft.paper_figures import FIGURES, make_all

    try:
        written = make_all(a.out, quick=a.quick, only=a.only)
    except KeyError as exc:
        print(f"ptft figures: {exc.args[0]}; known: {', '.join(FIGURES)}", file=sys.stderr)
        return 2
    for p in written:
        print(p)
    return 0


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    handler = {"verify": _cmd_verify, "list": _cmd_list, "derive": _cmd_derive, "figures": _cmd_figures}[a.command]
    return handler(a)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
