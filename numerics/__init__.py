"""ptft-theory, numerical side: simulators and solvers (NumPy/SciPy; no SymPy at run time).

Modules: :mod:`numerics.diagonal` (single-task diagonal networks), :mod:`numerics.data` (teachers,
designs), :mod:`numerics.validation` (argument checks shared by every public function, and
:class:`NotConvergedWarning`, emitted by every simulator or solver that stops before its tolerance).
"""
from ptft.numerics.validation import NotConvergedWarning

__all__ = ["NotConvergedWarning"]
