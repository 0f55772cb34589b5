"""Shared SymPy symbols of ptft-theory, each with explicit assumptions.

Import the symbols from here (``from theory.symbols import beta, c_abs, phi``) so that every
derivation talks about the *same* SymPy objects: two symbols with the same name but different
assumptions are different objects to SymPy and do not cancel.

Conventions (single coordinate of a two-layer diagonal network, ``beta = u * v``):

=============  ==========================  =====================================================
symbol         assumptions                 meaning
=============  ==========================  =====================================================
``beta``       real                        the effective (end-to-end) coefficient ``u * v``
``beta_pos``   positive                    ``beta`` restricted to ``beta > 0`` (asymptotics)
``beta_aux``   real                        coefficient of the auxiliary / pretraining task
``u``, ``v``   real                        first- and second-layer weights of one coordinate
``u0``, ``v0`` real                        their values at initialisation
``w_plus``     real                        weight of the positive pathway, ``beta = w+^2 - w-^2``
``w_minus``    real                        weight of the negative pathway
``S``          real                        integrated negative gradient ``S(t) = int_0^t g``
``c``          real                        conserved half-difference ``(u0^2 - v0^2) / 2``
``c_abs``      positive                    ``|c|``, the scale of the initialisation
``phi``        real                        shape of the initialisation ``artanh(2 u0 v0/(u0^2+v0^2))``
``alpha``      positive                    initialisation scale (``w+ = w- = alpha`` at t = 0)
``z``          real                        generic argument of a one-dimensional potential
``t``          nonnegative                 training time
``gamma``      positive                    a positive scale (e.g. learning rate / ratio)
``lam``        real                        a dual variable (Lagrange multiplier)
=============  ==========================  =====================================================
"""
from __future__ import annotations

import sympy as sp

__all__ = [
    "beta",
    "beta_pos",
    "beta_aux",
    "u",
    "v",
    "u0",
    "v0",
    "w_plus",
    "w_minus",
    "S",
    "c",
    "c_abs",
    "phi",
    "alpha",
    "z",
    "t",
    "gamma",
    "lam",
]

beta: sp.Symbol = sp.Symbol("beta", real=True)
#: ``beta`` with ``beta > 0``; same printed name, *different* SymPy symbol from :data:`beta`.
beta_pos: sp.Symbol = sp.Symbol("beta", positive=True)
beta_aux: sp.Symbol = sp.Symbol("beta_aux", real=True)

u: sp.Symbol = sp.Symbol("u", real=True)
v: sp.Symbol = sp.Symbol("v", real=True)
u0: sp.Symbol = sp.Symbol("u0", real=True)
v0: sp.Symbol = sp.Symbol("v0", real=True)
w_plus: sp.Symbol = sp.Symbol("w_plus", real=True)
w_minus: sp.Symbol = sp.Symbol("w_minus", real=True)

S: sp.Symbol = sp.Symbol("S", real=True)
c: sp.Symbol = sp.Symbol("c", real=True)
c_abs: sp.Symbol = sp.Symbol("c_abs", positive=True)
phi: sp.Symbol = sp.Symbol("phi", real=True)
alpha: sp.Symbol = sp.Symbol("alpha", positive=True)

z: sp.Symbol = sp.Symbol("z", real=True)
t: sp.Symbol = sp.Symbol("t", nonnegative=True)
gamma: sp.Symbol = sp.Symbol("gamma", positive=True)
lam: sp.Symbol = sp.Symbol("lam", real=True)
