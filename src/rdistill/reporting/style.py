"""One look for every figure: sizes, fonts, colours, and the no-data signal.

Figures are built on ``matplotlib.figure.Figure`` with an Agg canvas, never through
``pyplot``: no global figure registry to leak, no GUI backend to pick, safe to call
from any thread or test.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

P = ParamSpec("P")

# Okabe & Ito (2008): distinguishable with the common colour-vision deficiencies
# and in greyscale print.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

_RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    # Constrained layout moves labels, legends and colour bars so they never overlap.
    "figure.constrained_layout.use": True,
    # TrueType fonts in the PDF: journals reject Type 3 fonts, and text stays selectable.
    "pdf.fonttype": 42,
}

WIDTH_IN = 6.4  # one text column of a two-column paper is ~3.3 in; 6.4 in spans the page


def house_style():
    """Context manager with the house rc settings; saving must run inside it too, since
    the PDF font type is read at save time, not when the figure is drawn."""
    return matplotlib.rc_context(_RC)


class PlotSkipped(Exception):
    """The data for a figure is absent or too small to draw; the message says why."""


def styled(draw: Callable[P, Figure]) -> Callable[P, Figure]:
    """Run a plotting function under the house rc settings (read when artists are made)."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Figure:
        with house_style():
            return draw(*args, **kwargs)

    return wrapper


def new_figure(height_in: float = 3.8, width_in: float = WIDTH_IN) -> Figure:
    """An empty figure on an Agg canvas (call inside a ``styled`` function)."""
    figure = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(figure)
    return figure


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def plain_log_ticks(axis) -> None:
    """Ticks at 1, 2, 5 x 10^k printed as plain numbers (0.5, 20), not 2x10^1."""
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def label_points(ax, xs, ys, names, gap_pt: float = 5.0, fontsize: float = 7) -> list:
    """Name each point, trying eight positions around it and keeping the first whose box
    overlaps no label placed before (a greedy repel; clusters of many points may still
    collide, but pairs and triples no longer print on top of each other)."""
    renderer = ax.figure.canvas.get_renderer()
    offsets = [(gap_pt, gap_pt, "left", "bottom"), (gap_pt, -gap_pt, "left", "top"),
               (-gap_pt, gap_pt, "right", "bottom"), (-gap_pt, -gap_pt, "right", "top"),
               (gap_pt * 1.6, 0, "left", "center"), (-gap_pt * 1.6, 0, "right", "center"),
               (0, gap_pt * 1.6, "center", "bottom"), (0, -gap_pt * 1.6, "center", "top")]
    placed_boxes, texts = [], []
    for x, y, name in zip(xs, ys, names):
        text = None
        for dx, dy, ha, va in offsets:
            if text is not None:
                text.remove()
            text = ax.annotate(name, (x, y), xytext=(dx, dy), textcoords="offset points",
                               ha=ha, va=va, fontsize=fontsize)
            box = text.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in placed_boxes):
                break
        else:
            # Every position collides: fall back to the first one rather than drop the name.
            text.remove()
            dx, dy, ha, va = offsets[0]
            text = ax.annotate(name, (x, y), xytext=(dx, dy), textcoords="offset points",
                               ha=ha, va=va, fontsize=fontsize)
        placed_boxes.append(text.get_window_extent(renderer))
        texts.append(text)
    return texts
