"""Command line of one figure script: ``python -m ptft.paper_figures.NAME [--out DIR] [--quick] [--no-cache]``.

Each figure module ends with ``if __name__ == "__main__": raise SystemExit(main("NAME"))``; :func:`main`
runs :func:`ptft.paper_figures.make_all` for that one figure, which prints one ``wrote PATH`` line per
file (the same lines as ``ptft figures``). ``make`` itself never prints: it returns the paths.
"""
from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["main", "print_written"]


def print_written(paths) -> None:
    """One ``wrote PATH`` line per written file (flushed, so long runs report as they go)."""
    for p in paths:
        print(f"wrote {p}", flush=True)


def build_parser(name: str) -> argparse.ArgumentParser:
    from ptft.paper_figures import FIGURES

    doc = (FIGURES[name].__doc__ or "").strip().splitlines()
    p = argparse.ArgumentParser(prog=f"python -m ptft.paper_figures.{name}", description=doc[0] if doc else None)
    p.add_argument("--out", default="figures-out", help="output folder (default ./figures-out)")
    p.add_argument("--quick", action="store_true", help="small sizes (for a smoke test)")
    p.add_argument("--no-cache", action="store_true",
                   help="recompute every sweep point: OUT/.cache is neither read nor written")
    return p


def main(name: str, argv: list[str] | None = None) -> int:
    """Write figure ``name`` (PNG + PDF) and print where; returns the exit code."""
    from ptft.paper_figures import make_all

    a = build_parser(name).parse_args(argv)
    make_all(Path(a.out), quick=a.quick, only=[name], use_cache=not a.no_cache, verbose=True)
    return 0
