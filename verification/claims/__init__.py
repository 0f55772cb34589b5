"""Claim modules, one per paper; importing this package registers them all."""
from verification.claims import lippl_lindsey2023, woodworth2020  # noqa: F401
