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
import numpy as np  # noqa: E402

__all__ = ["METHOD_COLORS", "METHOD_LABELS", "METHOD_MARKERS", "RC", "PANEL_SIZE", "apply_style", "new_figure",
           "panel_label", "rescaling_color", "save_figure", "aux_color", "cut_at_floor", "sparse_log_ticks"]

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



def cut_at_floor(x, y, floor: float):
    """A log-log polyline ``(x, y)`` cut where it falls below ``floor``.

    Returns new ``(x, y)`` arrays: a segment that crosses ``floor`` ends (or starts) exactly at the
    crossing (interpolated linearly in log x and log y), points below ``floor`` (or <= 0) become NaN, so
    the drawn line stays inside axes whose bottom edge is at or below ``floor`` without relying on
    clipping. NaNs in ``y`` stay gaps.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    xs, ys = [], []
    ok = np.isfinite(y) & (y >= floor)
    for i in range(len(x)):
        if i > 0 and np.isfinite(y[i - 1]) and np.isfinite(y[i]) and ok[i - 1] != ok[i]:
            lo_y = np.log(np.maximum([y[i - 1], y[i]], 1e-300))
            t = (np.log(floor) - lo_y[0]) / (lo_y[1] - lo_y[0])
            xs.append(float(np.exp(np.log(x[i - 1]) + t * (np.log(x[i]) - np.log(x[i - 1])))))
            ys.append(floor)
            if not ok[i]:  # leaving: break the line after the crossing
                xs.append(np.nan)
                ys.append(np.nan)
        xs.append(x[i])
        ys.append(y[i] if ok[i] else np.nan)
    return np.array(xs), np.array(ys)


def sparse_log_ticks(axis, lo: float, hi: float, max_ticks: int = 5) -> None:
    """At most ``max_ticks`` labelled ticks on a log ``axis`` (``ax.xaxis`` / ``ax.yaxis``) spanning [lo, hi].

    Uses decades (or every 2nd / 3rd decade) when the range is wide, 1-2-5 or 1-3 steps when it spans
    less than two decades; minor ticks are kept but never labelled.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    lo, hi = float(min(lo, hi)), float(max(lo, hi))
    e0, e1 = int(np.floor(np.log10(lo))) - 1, int(np.ceil(np.log10(hi))) + 1
    candidates = [[10.0 ** e for e in range(e0, e1 + 1, step)] for step in (1, 2, 3, 4, 5)]
    fine = [[m * 10.0 ** e for e in range(e0, e1 + 1) for m in ms] for ms in ((1, 2, 5), (1, 3))]
    chosen = None
    for ticks in fine + candidates:
        inside = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
        if 2 <= len(inside) <= max_ticks:
            chosen = inside
            break
    if chosen is None:  # narrower than any pair of candidates: the two ends
        chosen = [lo, hi]
    decades = all(abs(np.log10(t) - round(np.log10(t))) < 1e-9 for t in chosen)
    axis.set_major_locator(FixedLocator(chosen))
    axis.set_major_formatter(FuncFormatter(_decade_label if decades else _tick_label))
    axis.set_minor_locator(LogLocator(subs=np.arange(2, 10)))
    axis.set_minor_formatter(NullFormatter())


def _decade_label(v, _pos=None) -> str:
    return rf"$10^{{{int(round(np.log10(v)))}}}$" if v > 0 else ""


def _tick_label(v, _pos=None) -> str:
    if v <= 0:
        return ""
    e = int(np.floor(np.log10(v) + 1e-9))
    m = v / 10.0 ** e
    if -2 <= e <= 2:
        return f"{v:g}"
    if abs(m - 1) < 1e-6:
        return rf"$10^{{{e}}}$"
    return rf"${m:g}\cdot 10^{{{e}}}$"
