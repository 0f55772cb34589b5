"""Claim modules, one per paper; importing this package registers them all (foundation first)."""
from ptft.verification.claims import woodworth2020  # noqa: F401  (single-task diagonal network)
from ptft.verification.claims import lippl_lindsey2023  # noqa: F401,E402  (MTL, PT+FT, conservation law)
from ptft.verification.claims import anguita2026  # noqa: F401,E402  ([DL] hand-off)
from ptft.verification.claims import anguita2026_extensions  # noqa: F401,E402  ([DL] beyond the paper)
from ptft.verification.claims import shachaf2021  # noqa: F401,E402  ([SBG] linear teachers)
