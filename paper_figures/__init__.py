"""One script per figure; each module exposes ``make(out_dir, quick=False, *, use_cache=True) -> list[Path]``
(PNG + PDF; ``make`` returns the paths and prints nothing).

``FIGURES`` maps a figure's name to its module (imported on first access); :func:`make_all` regenerates
them (``ptft figures``). Each module is also a script, ``python -m ptft.paper_figures.NAME [--out DIR]
[--quick] [--no-cache]`` (:mod:`ptft.paper_figures.script`), printing one ``wrote PATH`` line per file.
"""
from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from concurrent.futures import Executor
from pathlib import Path

__all__ = ["FIGURES", "make_all"]

_MODULES = ["penalty_landscape", "conservation_law", "generalisation", "rescaling", "rescaling_phase",
            "dl_theory_vs_simulation", "dl_regime_comparison", "dl_phase_diagram", "dl_best_regime_map",
            "sbg_risk_vs_samples", "sbg_depth", "sbg_ntk"]


class _Figures(Mapping):
    """Name -> figure module, imported on first access (so ``python -m ptft.paper_figures.NAME`` does not
    import NAME twice)."""

    def __getitem__(self, name: str):
        if name not in _MODULES:
            raise KeyError(name)
        return importlib.import_module(f"{__name__}.{name}")

    def __iter__(self):
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


FIGURES = _Figures()


def make_all(out_dir: str | Path, quick: bool = False, only: list[str] | None = None, *,
             executor: Executor | None = None, use_cache: bool = True, verbose: bool = False) -> list[Path]:
    """Regenerate the selected figures (all by default) into ``out_dir``; returns the written files.

    ``executor`` (e.g. from :func:`ptft.numerics.executors.make_executor`) is passed to the figures
    whose ``make`` takes one (those built on :func:`ptft.numerics.sweeps.run_sweep`); the others
    run serially. Sweep points are cached under ``out_dir/.cache`` either way, unless ``use_cache=False``
    (``--no-cache``): then every point is recomputed and the cache is neither read nor written.
    ``verbose=True`` prints ``wrote PATH`` for each file as each figure finishes.
    """
    names = only or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise KeyError(f"unknown figure(s) {unknown}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for n in names:
        make = FIGURES[n].make
        takes_executor = "executor" in inspect.signature(make).parameters
        kw = {"use_cache": use_cache} if "use_cache" in inspect.signature(make).parameters else {}
        paths = make(out, quick=quick, executor=executor, **kw) if takes_executor else make(out, quick=quick, **kw)
        if verbose:
            from ptft.paper_figures.script import print_written

            print_written(paths)
        written += paths
    return written
