"""One script per figure; each module exposes ``make(out_dir, quick=False) -> list[Path]`` (PNG + PDF).

``FIGURES`` maps a figure's name to its module; :func:`make_all` regenerates them (``ptft figures``).
"""
from __future__ import annotations

import importlib
from pathlib import Path

__all__ = ["FIGURES", "make_all"]

_MODULES = ["penalty_landscape", "conservation_law", "generalisation", "rescaling", "rescaling_phase"]

FIGURES = {name: importlib.import_module(f"ptft.paper_figures.{name}") for name in _MODULES}


def make_all(out_dir: str | Path, quick: bool = False, only: list[str] | None = None) -> list[Path]:
    """Regenerate the selected figures (all by default) into ``out_dir``; returns the written files."""
    names = only or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise KeyError(f"unknown figure(s) {unknown}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for n in names:
        written += FIGURES[n].make(out, quick=quick)
    return written
