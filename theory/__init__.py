"""ptft-theory, symbolic side: derivations registered by name, derived lazily with SymPy.

>>> import theory
>>> theory.names()                      # doctest: +SKIP
>>> theory.get("diagonal.penalty").latex()   # doctest: +SKIP

Importing this package only registers the derivation builders; no SymPy work runs until
:func:`get` is called.
"""
from ptft.theory.derivation import Check, Derivation, DerivationError, Step, all_derivations, get, names, register

# modules below register their derivations on import (cheap: builders only)
from ptft.theory import diagonal  # noqa: E402,F401
from ptft.theory import mtl, ptft, conservation  # noqa: E402,F401
from ptft.theory import regimes, asymptotics  # noqa: E402,F401
from ptft.theory import linear_teachers  # noqa: E402,F401

__all__ = ["Check", "Derivation", "DerivationError", "Step", "all_derivations", "get", "names", "register"]
