"""Derive a result with SymPy and print it three ways: plain text, a LaTeX fragment, a standalone document.

    python examples/derive_and_print_latex.py [NAME] [--out FILE.tex]

NAME defaults to ``ptft.dl_handoff``, the finetuning penalty after the hand-off of Anguita et al. (2026),
Thm 4.1; ``ptft list derivations`` shows the others.
"""
from __future__ import annotations

import argparse

from ptft import theory


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", nargs="?", default="ptft.dl_handoff")
    p.add_argument("--out", help="also write a standalone .tex document here")
    a = p.parse_args(argv)

    d = theory.get(a.name)              # derived on first use (SymPy), then cached
    print(repr(d))                      # one line: name, title, statement
    print(d.summary())                  # statement, definitions, assumptions, source, checks
    print()
    print(d.latex())                    # display math, broken to fit the page
    f = d.lambdify()                    # a NumPy function of d.symbols
    print(f"\n{a.name} at {dict(zip([s.name for s in d.symbols], [0.5] * len(d.symbols)))}: "
          f"{float(f(*[0.5] * len(d.symbols))):.6g}")
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(d.latex(steps=True, standalone=True))
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
