"""Claim modules, one per paper; importing this package registers them all."""
from verification.claims import woodworth2020  # noqa: F401
