"""Statements on one dated axis, as a server-side SVG (no script), and the order they are
listed in: by date, except that what is reported always comes before its report.

Dates are as precise as the data gives them (``2024``, ``2024-03``, ``2024-03-07``): a date
known to the month is drawn as a bar over the month, an approximate one (``cg:dateApproximate``)
as a hollow marker. Long gaps between dates are shortened (and marked ``≈`` on the axis) so
that a 2016 photograph does not squeeze 2024 into a corner. Every text is escaped; links are
``Iris.href`` results only (local paths or http(s)).
"""

from __future__ import annotations

import calendar
import datetime
import heapq
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from markupsafe import Markup, escape

STANCE_COLOURS = {
    "asserts": "#2f855a",
    "denies": "#c53030",
    "questions": "#b7791f",
    "reports": "#718096",
}
OTHER_COLOUR = "#4a5568"
WIDTH = 480  # of the viewBox: on a 390 px phone the drawing scales to the width, text at ~9 px
ROW = 22
TOP = 40  # the axis and its dates
PAD = 14
MAX_GAP_DAYS = 45  # a longer gap between two dates is drawn this long (and marked)
LABEL_CHARS = 34
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")

K = TypeVar("K", bound=Hashable)


def day_range(date: str) -> tuple[int, int] | None:
    """The first and last day (proleptic ordinals) a date of mixed precision covers; ``None``
    for what is not a year, year-month or date (a time of day is ignored)."""
    m = _DATE.match(date)
    if m is None:
        return None
    try:
        year = int(m[1])
        if m[3] is not None:
            day = datetime.date(year, int(m[2]), int(m[3])).toordinal()
            return day, day
        if m[2] is not None:
            month = int(m[2])
            first = datetime.date(year, month, 1).toordinal()
            return first, first + calendar.monthrange(year, month)[1] - 1
        return datetime.date(year, 1, 1).toordinal(), datetime.date(year, 12, 31).toordinal()
    except ValueError:
        return None


def reporting_order(dates: Mapping[K, str], reported: Mapping[K, Iterable[K]]) -> list[K]:
    """``dates``' keys by date (then key), each after every key it reports (``reported[k]``:
    what ``k`` reports; keys not in ``dates`` are ignored). Dates compare as strings, so
    ``2024-03`` comes before ``2024-03-07``; a report dated before what it reports (or at a
    coarser precision) still comes after it. Linear in the keys and links, times a log; a
    cycle in the links (bad data) is broken at its earliest key."""
    waiting: dict[K, int] = {k: 0 for k in dates}
    reports_of: dict[K, list[K]] = {}
    for k, targets in reported.items():
        if k not in waiting:
            continue
        for t in set(targets):
            if t in waiting and t != k:
                waiting[k] += 1
                reports_of.setdefault(t, []).append(k)
    ready = [(dates[k], str(k), k) for k, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    everything = sorted((dates[k], str(k), k) for k in dates)  # for breaking cycles
    cursor = 0
    out: list[K] = []
    done: set[K] = set()
    while len(out) < len(waiting):
        if not ready:  # only cycles are left: take the earliest key not placed yet
            while everything[cursor][2] in done:
                cursor += 1
            ready.append(everything[cursor])
        _, _, k = heapq.heappop(ready)
        if k in done:
            continue
        done.add(k)
        out.append(k)
        for r in reports_of.get(k, ()):
            waiting[r] -= 1
            if waiting[r] == 0 and r not in done:
                heapq.heappush(ready, (dates[r], str(r), r))
    return out


@dataclass(frozen=True)
class AxisRow:
    """One statement on the axis."""

    key: str
    date: str
    label: str  # who, and how (speaker and stance)
    title: str  # the tooltip: the whole of what the row stands for
    stance: str  # the stance's local name (asserts, denies, …): its colour
    href: str | None = None
    approximate: bool = False


def colour(stance: str) -> str:
    return STANCE_COLOURS.get(stance, OTHER_COLOUR)


def _short(text: str, n: int = LABEL_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


class _Scale:
    """Day ordinal → x, with each gap between consecutive marks shortened to MAX_GAP_DAYS."""

    def __init__(self, marks: Iterable[int], left: float, right: float) -> None:
        self.marks = sorted(set(marks))
        self.at: list[float] = []  # the compressed position of each mark, in days
        self.broken: list[float] = []  # compressed positions of the middle of shortened gaps
        pos = 0.0
        for i, day in enumerate(self.marks):
            if i:
                gap = day - self.marks[i - 1]
                if gap > MAX_GAP_DAYS:
                    self.broken.append(pos + MAX_GAP_DAYS / 2)
                pos += min(gap, MAX_GAP_DAYS)
            self.at.append(pos)
        span = pos or 1.0
        self.left, self.factor = left, (right - left) / span
        self.index = {day: i for i, day in enumerate(self.marks)}

    def x(self, day: int) -> float:
        return self.left + self.at[self.index[day]] * self.factor

    def x_of(self, pos: float) -> float:
        return self.left + pos * self.factor


def axis_svg(
    rows: Sequence[AxisRow],
    links: Iterable[tuple[str, str]],
    *,
    title: str,
    ident: str = "axis",
) -> Markup:
    """``rows`` (in the order given, one per line) on a dated axis; ``links``: (reported,
    report) pairs of row keys, drawn as arrows from what is reported to its report."""
    ranges = {r.key: day_range(r.date) for r in rows}
    marks = [d for rng in ranges.values() if rng for d in (rng[0], rng[1] + 1)]
    scale = _Scale(marks or [0], PAD, WIDTH - PAD)
    height = TOP + ROW * max(len(rows), 1) + 34
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        # a group, not an image: its marks link to the statements
        f'role="group" aria-labelledby="{ident}-title" class="axis"><title id="{ident}-title">'
        f"{escape(title)}</title>"
        f'<defs><marker id="{ident}-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="6" '
        f'markerHeight="6" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#4a5568"/></marker>'
        "</defs>",
        f'<line x1="{PAD}" y1="{TOP - 12}" x2="{WIDTH - PAD}" y2="{TOP - 12}" stroke="#a0aec0"/>',
    ]
    # the dates on the axis: each distinct start of a row's date, unless too close to the last
    last_x = -1e9
    for start in sorted({rng[0] for rng in ranges.values() if rng}):
        x = scale.x(start)
        if x - last_x < 90:  # a date is ~55 units wide at font size 10
            continue
        last_x = x
        text = datetime.date.fromordinal(start).isoformat()
        anchor = "start" if x < PAD + 40 else "end" if x > WIDTH - PAD - 40 else "middle"
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP - 16}" x2="{x:.1f}" y2="{TOP - 8}" stroke="#a0aec0"/>'
            f'<text x="{x:.1f}" y="{TOP - 20}" font-size="10" text-anchor="{anchor}" '
            f'fill="#4a5568">{text}</text>'
        )
    for pos in scale.broken:
        x = scale.x_of(pos)
        parts.append(
            f'<text x="{x:.1f}" y="{TOP - 8}" font-size="12" text-anchor="middle" '
            'fill="#4a5568">≈<title>a long gap, shortened</title></text>'
        )
    # The rows go on top of the reporting arrows, their labels with a white halo (CSS), so
    # that an arrow crossing a label leaves it readable.
    where: dict[str, tuple[float, float]] = {}
    drawn: list[str] = []
    for i, row in enumerate(rows):
        y = TOP + ROW * i + ROW / 2
        rng = ranges[row.key]
        fill = colour(row.stance)
        if rng is None:
            x = float(PAD)
            mark = ""
        else:
            x, end = scale.x(rng[0]), scale.x(rng[1] + 1)
            bar = (
                f'<rect x="{x:.1f}" y="{y - 4:.1f}" width="{max(end - x, 0):.1f}" height="8" '
                f'rx="3" fill="{fill}" fill-opacity="0.25"/>'
                if rng[1] > rng[0]
                else ""
            )
            dot = (
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#fff" stroke="{fill}" '
                'stroke-width="2"/>'
                if row.approximate
                else f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{fill}"/>'
            )
            mark = bar + dot
        where[row.key] = (x, y)
        right = x < WIDTH / 2
        tx = x + 9 if right else x - 9
        anchor = "start" if right else "end"
        approx = " (approximate date)" if row.approximate else ""
        shape = (
            f"{mark}"
            f'<text x="{tx:.1f}" y="{y + 4:.1f}" font-size="12" text-anchor="{anchor}" '
            'class="label">'
            f"{escape(_short(row.label))}</text>"
            f"<title>{escape(row.date)}{approx}: {escape(row.title)}</title>"
        )
        if row.href:
            shape = f'<a href="{escape(row.href)}">{shape}</a>'
        drawn.append(f"<g>{shape}</g>")
    for reported, report in links:
        if reported in where and report in where:
            (x1, y1), (x2, y2) = where[reported], where[report]
            bend = 18 + abs(y2 - y1) / 6
            side = -1 if x1 > WIDTH / 2 else 1
            parts.append(
                f'<path d="M{x1:.1f},{y1 + 5:.1f} C{x1 + side * bend:.1f},{y1 + bend:.1f} '
                f'{x2 + side * bend:.1f},{y2 - bend:.1f} {x2:.1f},{y2 - 6:.1f}" fill="none" '
                f'stroke="#4a5568" stroke-width="1.2" marker-end="url(#{ident}-arrow)"/>'
            )
    parts += drawn
    legend_y = height - 12
    shown = sorted({r.stance for r in rows}, key=lambda s: (s not in STANCE_COLOURS, s))
    for i, stance in enumerate(shown[:6]):
        lx = PAD + i * 78
        parts.append(
            f'<circle cx="{lx + 5}" cy="{legend_y - 4}" r="5" fill="{colour(stance)}"/>'
            f'<text x="{lx + 14}" y="{legend_y}" font-size="11">{escape(_short(stance, 12))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # every dynamic value above went through escape()
