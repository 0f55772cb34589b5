"""ptft-theory: a symbolic and numerical companion to the theory of multi-task learning (MTL) and
pretraining + finetuning (PT+FT).

One import namespace::

    import ptft
    ptft.theory          # SymPy derivations, registered by name (ptft.theory.get("diagonal.penalty"))
    ptft.numerics        # NumPy/SciPy simulators and solvers
    ptft.verification    # claims (theory vs simulation), runner, reports
    ptft.paper_figures   # one script per figure

Subpackages are imported on first attribute access, so ``import ptft`` is cheap.
"""
from __future__ import annotations

import importlib
import os as _os

__version__ = "0.2.0"

# Running from a source checkout: the subpackages live in the checkout's top-level folders
# (setuptools' package_dir maps them into ``ptft`` on install).
_here = _os.path.dirname(_os.path.abspath(__file__))
_root = _os.path.dirname(_here)
if not _os.path.isdir(_os.path.join(_here, "theory")) and _os.path.isfile(
        _os.path.join(_root, "theory", "derivation.py")):
    __path__.append(_root)  # type: ignore[name-defined]  # noqa: F821

_SUBPACKAGES = ("theory", "numerics", "verification", "paper_figures")

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'ptft' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_SUBPACKAGES))
