"""Draw a user's recent hydration and check-in history as a PNG for /history.

Pure and thread-safe: each call builds its own Figure with an Agg canvas, never touches pyplot or
matplotlib's global backend, and gives every artist its font and colours explicitly. Every word
on the image comes from the caller (the message catalog, in the user's language).
Rendering is CPU-bound (under a fifth of a second); call it from async code with
``asyncio.to_thread``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from types import MappingProxyType

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch

# The check-in answer that means "no symptoms"; it gets its own colour (see texts.CHECKIN_ANSWERS).
FINE = "fine"

WIDTH_IN, HEIGHT_IN, DPI = 6.0, 7.5, 180  # 1080 x 1350 px: a portrait photo in a Telegram chat
WIDTH_PX, HEIGHT_PX = round(WIDTH_IN * DPI), round(HEIGHT_IN * DPI)

# Okabe-Ito colours: distinguishable with the common kinds of colour blindness.
BAR_COLOUR = "#0072B2"  # blue
SYMPTOM_COLOUR = "#D55E00"  # vermillion
FINE_COLOUR = "#009E73"  # bluish green
NO_CHECKIN_COLOUR = "#E4E4E4"  # light grey band behind a day without a check-in
TEXT_COLOUR = "#222222"
GRID_COLOUR = "#C8C8C8"
FONT = "DejaVu Sans"  # ships with matplotlib and covers Latin accents, Greek and Cyrillic

TITLE_PT, HEADING_PT, LABEL_PT, COUNT_PT = 20, 16, 14, 14

_DIRECTIVE = re.compile(r"%(-?)(.)", re.DOTALL)


@dataclass(frozen=True)
class HistoryDay:
    """One local day: glasses of water logged and the check-in answer codes given that day."""

    day: date
    glasses: int
    symptoms: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChartLabels:
    """Every text drawn on the chart, in the user's language.

    ``symptoms`` maps each answer code to its short label; its order is the order of the rows.
    ``date_format`` writes the day under each column: ``%d``/``%m``/``%y``/``%Y`` (``%-d`` and
    ``%-m`` without the leading zero), ``%a`` (``weekday_names``, Monday first), ``%b``
    (``month_names``, January first), ``%%``, and a newline for a second line.
    """

    title: str
    glasses: str
    symptoms_heading: str
    symptoms: Mapping[str, str] = field(hash=False)
    no_checkin: str
    date_format: str
    weekday_names: tuple[str, ...] = ()
    month_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A read-only copy, so a caller mutating its dict cannot change a frozen label set.
        object.__setattr__(self, "symptoms", MappingProxyType(dict(self.symptoms)))
        if len(self.weekday_names) not in (0, 7):
            raise ValueError("weekday_names needs 7 names, Monday first")
        if len(self.month_names) not in (0, 12):
            raise ValueError("month_names needs 12 names, January first")
        format_day(date(2000, 1, 1), self)  # fail here, not at the first /history


def has_data(days: Sequence[HistoryDay]) -> bool:
    """True when any day has a glass of water or a check-in answer: else nothing to draw."""
    return any(d.glasses > 0 or d.symptoms for d in days)


def format_day(day: date, labels: ChartLabels) -> str:
    """The column label for ``day`` per ``labels.date_format``, without the process locale."""

    def one(match: re.Match[str]) -> str:
        unpadded, code = match.group(1) == "-", match.group(2)
        if code == "%" and not unpadded:
            return "%"
        if code in "dm":
            number = day.day if code == "d" else day.month
            return str(number) if unpadded else f"{number:02d}"
        if not unpadded:
            if code == "y":
                return f"{day.year % 100:02d}"
            if code == "Y":
                return str(day.year)
            if code == "a" and labels.weekday_names:
                return labels.weekday_names[day.weekday()]
            if code == "b" and labels.month_names:
                return labels.month_names[day.month - 1]
        raise ValueError(f"date_format: unsupported directive {match.group(0)!r}")

    return _DIRECTIVE.sub(one, labels.date_format)


def day_labels(days: Sequence[date], labels: ChartLabels) -> list[str]:
    """Column labels for ``days``; a second or later line equal to the day before's is left blank.

    So "%-d\n%b" names the month only under its first day in the window.
    """
    out: list[str] = []
    previous: list[str] = []
    for day in days:
        lines = format_day(day, labels).split("\n")
        shown = [line if i == 0 or i >= len(previous) or line != previous[i] else ""
                 for i, line in enumerate(lines)]
        out.append("\n".join(shown))
        previous = lines
    return out


def render_history(days: Sequence[HistoryDay], labels: ChartLabels) -> bytes:
    """Draw ``days`` (oldest first, consecutive or not, no repeats) as a 1080x1350 PNG.

    Top: a bar of glasses per day, with the count above each non-zero bar. Bottom: one row per
    answer code reported in the window, in ``labels.symptoms`` order, a dot on each day that had
    it ("fine" in green), and a grey band on days without a check-in.
    The same input always gives the same bytes. Raises ValueError for an empty or unordered
    list, negative glasses, or an answer code that ``labels.symptoms`` has no label for.
    """
    _check(days, labels)
    reported = {code for d in days for code in d.symptoms}
    rows = [code for code in labels.symptoms if code in reported]

    layout = ConstrainedLayoutEngine(h_pad=0.08, w_pad=0.08, hspace=0.06)
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, facecolor="white", layout=layout)
    canvas = FigureCanvasAgg(fig)
    # The dot panel grows with its rows so rows keep one spacing whatever their number.
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[5, 1 + 0.5 * max(len(rows), 1)])
    fig.suptitle(labels.title, fontsize=TITLE_PT, fontweight="bold", fontfamily=FONT,
                 color=TEXT_COLOUR, parse_math=False)
    _draw_glasses(top, days, labels)
    _draw_checkins(bottom, days, rows, labels)
    if any(not d.symptoms for d in days):
        legend = fig.legend(
            handles=[Patch(facecolor=NO_CHECKIN_COLOUR, edgecolor=GRID_COLOUR,
                           label=labels.no_checkin)],
            loc="outside lower center", frameon=False,
            prop={"family": FONT, "size": LABEL_PT}, labelcolor=TEXT_COLOUR,
            handlelength=1.4, handleheight=1.0,
        )
        for text in legend.get_texts():
            text.set_parse_math(False)
    _fit_day_labels(fig, bottom, days, labels)

    out = io.BytesIO()
    # No Software/date metadata: identical input gives identical bytes.
    print_png: Callable[..., None] = canvas.print_png  # matplotlib leaves it unannotated
    print_png(out, metadata={"Software": None})
    return out.getvalue()


def _check(days: Sequence[HistoryDay], labels: ChartLabels) -> None:
    if not days:
        raise ValueError("render_history needs at least one day")
    for earlier, later in pairwise(days):
        if later.day <= earlier.day:
            raise ValueError("days must be oldest first, each day once")
    for d in days:
        if d.glasses < 0:
            raise ValueError(f"negative glasses on {d.day.isoformat()}")
        for code in d.symptoms:
            if code not in labels.symptoms:
                raise ValueError(f"no label for answer code {code!r}")


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(GRID_COLOUR)
    ax.set_facecolor("white")
    ax.tick_params(colors=TEXT_COLOUR, labelsize=LABEL_PT, length=0, pad=6)


def _heading(ax: Axes, text: str) -> None:
    ax.set_title(text, loc="left", fontsize=HEADING_PT, fontfamily=FONT, color=TEXT_COLOUR,
                 parse_math=False, pad=10)


def _draw_glasses(ax: Axes, days: Sequence[HistoryDay], labels: ChartLabels) -> None:
    _style(ax)
    _heading(ax, labels.glasses)
    xs = range(len(days))
    counts = [d.glasses for d in days]
    ax.bar(xs, counts, width=0.7, color=BAR_COLOUR, zorder=2)
    peak = max(max(counts), 4)
    ax.set_ylim(0, peak * 1.18)  # room above the tallest bar for its count
    step = next(s for s in _nice_steps() if peak / s <= 5)  # at most five whole-number gaps
    ticks = list(range(0, peak + 1, step))
    ax.set_yticks(ticks, labels=[str(t) for t in ticks], fontfamily=FONT)
    ax.yaxis.grid(True, color=GRID_COLOUR, linewidth=0.8, zorder=0)
    ax.set_axisbelow(True)
    for x, count in zip(xs, counts, strict=True):
        if count:
            ax.text(x, count + peak * 0.02, str(count), ha="center", va="bottom",
                    fontsize=COUNT_PT, fontweight="bold", fontfamily=FONT, color=TEXT_COLOUR,
                    parse_math=False)
    ax.tick_params(axis="x", bottom=False, labelbottom=False)


def _draw_checkins(ax: Axes, days: Sequence[HistoryDay], rows: Sequence[str],
                   labels: ChartLabels) -> None:
    _style(ax)
    _heading(ax, labels.symptoms_heading)
    ax.spines["left"].set_visible(False)
    n = len(days)
    depth = max(len(rows), 1)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylim(depth - 0.5, -0.5)  # first row at the top
    for x, d in enumerate(days):
        if not d.symptoms:
            ax.axvspan(x - 0.42, x + 0.42, color=NO_CHECKIN_COLOUR, zorder=0, linewidth=0)
    for y in range(len(rows)):
        ax.axhline(y, color=GRID_COLOUR, linewidth=0.8, zorder=1)
    for y, code in enumerate(rows):
        xs = [x for x, d in enumerate(days) if code in d.symptoms]
        colour = FINE_COLOUR if code == FINE else SYMPTOM_COLOUR
        ax.scatter(xs, [y] * len(xs), s=170, color=colour, edgecolors="white", linewidths=1.2,
                   zorder=3)
    ax.set_yticks(range(len(rows)), labels=[labels.symptoms[c] for c in rows],
                  fontfamily=FONT, parse_math=False)
    ax.set_xticks(range(n), labels=day_labels([d.day for d in days], labels),
                  fontfamily=FONT, linespacing=1.1, parse_math=False)


def _nice_steps() -> Iterator[int]:
    """1, 2, 5, 10, 20, 50, ...: gridline steps a reader counts in easily."""
    scale = 1
    while True:
        yield from (scale, 2 * scale, 5 * scale)
        scale *= 10


def _fit_day_labels(fig: Figure, ax: Axes, days: Sequence[HistoryDay],
                    labels: ChartLabels) -> None:
    """Turn the day labels upright, on one line each, when side by side they would touch."""
    fig.draw_without_rendering()  # lays the figure out so the labels have a size
    boxes = [t.get_window_extent() for t in ax.get_xticklabels()]
    gap = 4.0  # pixels between neighbouring labels
    if all(a.x1 + gap <= b.x0 for a, b in pairwise(boxes)):
        return
    upright = [format_day(d.day, labels).replace("\n", " ") for d in days]
    ax.set_xticks(range(len(days)), labels=upright, rotation=90, fontfamily=FONT,
                  parse_math=False)
