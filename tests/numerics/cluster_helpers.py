"""Module-level sweep functions for tests/numerics/test_cluster.py (sent to workers by reference).

Every random draw comes from the ``seed`` in the point, never from worker state.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np


def seeded_gd(seed: int, n: int, d: int, lr: float) -> dict:
    """A tiny diagonal-network GD run on a seeded Gaussian problem (BLAS products, many steps)."""
    from ptft.numerics.diagonal import simulate_gd

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) / np.sqrt(d)
    y = X @ np.where(np.arange(d) < 2, 1.0, 0.0)
    r = simulate_gd(X, y, 1.0, 1.0, lr=lr, max_steps=20_000, tol=1e-4)  # converges for seeds 0..11 at n=10, d=30
    return {"beta": r.u * r.v, "steps": r.steps, "loss": r.loss, "gram_eig": np.linalg.eigvalsh(X @ X.T)}


def logged_cell(i: int, seed: int, log_dir: str, kill: bool = False) -> dict:
    """Log the call to ``log_dir/calls``, then either kill this worker process (``kill`` and no
    ``log_dir/allow`` file yet) or sleep briefly and return a seeded number."""
    calls = Path(log_dir) / "calls"
    calls.mkdir(parents=True, exist_ok=True)
    (calls / f"{i}-{os.getpid()}-{time.monotonic_ns()}").touch()
    if kill and not (Path(log_dir) / "allow").exists():
        os._exit(1)  # the worker dies mid-task, as on a node failure
    time.sleep(0.15)
    return {"i": i, "value": float(np.random.default_rng(seed).standard_normal(3) @ np.arange(3.0))}


def calls_made(log_dir: str) -> list[int]:
    """The point indices ``logged_cell`` was called with so far (one entry per call)."""
    calls = Path(log_dir) / "calls"
    return sorted(int(p.name.split("-")[0]) for p in calls.iterdir()) if calls.is_dir() else []


def forget_code_fingerprint() -> None:
    """Drop this process's cached source fingerprint (the next use re-hashes the files on disk)."""
    from ptft.verification.cache import code_fingerprint

    code_fingerprint.cache_clear()
