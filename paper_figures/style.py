"""Shared matplotlib setup for the paper figures: Agg backend, sizes, one colour per method, saving.

Conventions used by every figure module: theory (SymPy formulas, penalty minimisers) is drawn as
lines, simulations / numerical implementations as markers; :func:`save_figure` writes a PNG and a
PDF with the same stem.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: figures are only ever written to files

import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["METHOD_COLORS", "METHOD_LABELS", "METHOD_MARKERS", "RC", "PANEL_SIZE", "apply_style", "new_figure",
           "panel_label", "rescaling_color", "save_figure", "aux_color"]

#: inches per panel (width, height)
PANEL_SIZE = (3.6, 3.0)

RC = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "legend.framealpha": 0.85,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "lines.linewidth": 1.5,
    "lines.markersize": 5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 160,
    "pdf.fonttype": 42,
    "figure.constrained_layout.use": True,
}

#: one colour per method, identical across figures
METHOD_COLORS = {
    "single_task": "#555555",
    "mtl": "#1f77b4",
    "ptft": "#ff7f0e",
    "ptft_rescaled": "#d62728",
}
METHOD_MARKERS = {"single_task": "s", "mtl": "o", "ptft": "^", "ptft_rescaled": "v"}
METHOD_LABELS = {"single_task": "single task", "mtl": "MTL", "ptft": "PT+FT", "ptft_rescaled": "PT+FT rescaled"}


def apply_style() -> None:
    """Set the shared rcParams (idempotent)."""
    plt.rcParams.update(RC)


def new_figure(ncols: int, nrows: int = 1, *, width: float | None = None, height: float | None = None, **kw):
    """``plt.subplots`` with the shared style and a size of ``PANEL_SIZE`` per panel."""
    apply_style()
    w = width if width is not None else PANEL_SIZE[0] * ncols
    h = height if height is not None else PANEL_SIZE[1] * nrows
    return plt.subplots(nrows, ncols, figsize=(w, h), squeeze=False, **kw)


def panel_label(ax, letter: str, title: str = "") -> None:
    """Bold panel letter (a), (b), ... followed by a title, above the axes (never over the data)."""
    ax.set_title(f"({letter}) {title}".rstrip(), loc="left", fontweight="normal")


def aux_color(beta_aux: float, values) -> tuple:
    """Colour for a value of |beta_aux| among ``values``: black for 0 (a new feature), viridis otherwise."""
    if beta_aux == 0:
        return (0.0, 0.0, 0.0, 1.0)
    nz = sorted(v for v in values if v != 0)
    i = nz.index(beta_aux)
    return plt.get_cmap("viridis")(0.1 + 0.75 * i / max(len(nz) - 1, 1))


def rescaling_color(c: float, values) -> tuple:
    """Colour for a rescaling factor ``c``: ``c = 1`` is the PT+FT orange, smaller ``c`` darker reds."""
    if c == 1:
        return matplotlib.colors.to_rgba(METHOD_COLORS["ptft"])
    small = sorted((v for v in values if v != 1), reverse=True)
    i = small.index(c)
    return plt.get_cmap("Reds")(0.55 + 0.4 * i / max(len(small) - 1, 1))


def save_figure(fig, out_dir, name: str) -> list[Path]:
    """Write ``out_dir/name.png`` and ``out_dir/name.pdf``, close ``fig``; returns the two paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.pdf"]
    for p in paths:
        fig.savefig(p)
    plt.close(fig)
    return paths

