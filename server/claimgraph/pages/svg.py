"""A claim's neighbourhood as a server-side SVG: the claim on the left, the speakers, sources,
evidence and related claims one per row to its right, each edge coloured by the stance the
speaker takes (or the direction the evidence points). A fan rather than a circle, so the
labels get the width of the figure and stay readable on a phone; each label is cut to the
width it has, measured with a table of glyph widths, so none is clipped. All text is escaped;
links only via ``Iris.href`` results (local paths or http(s))."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from markupsafe import Markup, escape

COLOURS = {"claim": "#2b6cb0", "speaker": "#c05621", "source": "#2f855a", "evidence": "#6b46c1"}
MAX_NODES = 24

WIDTH = 400  # user units; the figure scales it to the column (a phone's ≈ 360 px)
FONT = 13
ROW = 24
TOP = 34  # below the claim's title
CLAIM_X = 22
NODE_X = 104
LABEL_X = NODE_X + 10
MARGIN = 4


@dataclass
class Node:
    kind: str
    label: str
    href: str | None
    # the class of the edge's colour (``stance-denies``, ``direction-refutes``) and its name
    tones: list[tuple[str, str]] = field(default_factory=list)


def char_width(ch: str) -> float:
    """A generous estimate of one character's advance in em, for a sans-serif face: wide for
    East Asian characters, narrow for i, l, punctuation. Erring wide only cuts a label early."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch in "iljtfr.,;:'!|()[]Iı ":
        return 0.4
    if ch in "mwMW@%—":
        return 1.0
    if ch.isupper() or ch.isdigit():
        return 0.78
    return 0.66  # DejaVu Sans, a wide face and Chromium's default on Linux, averages ≈ 0.6


BOLD = 1.15  # bold glyphs are this much wider


def text_width(text: str, size: float) -> float:
    return sum(char_width(ch) for ch in text) * size


def fit(text: str, size: float, room: float) -> str:
    """``text``, cut with an ellipsis to what fits in ``room`` user units at font ``size``."""
    if text_width(text, size) <= room:
        return text
    budget = room - text_width("…", size)
    used, end = 0.0, 0
    for end, ch in enumerate(text):  # noqa: B007 - end is read after the loop
        used += char_width(ch) * size
        if used > budget:
            break
    return text[:end].rstrip() + "…"


def _merge(around: list[Node]) -> list[Node]:
    """One row per resource; the tones of its edges gathered in order."""
    rows: dict[tuple[str, str, str | None], Node] = {}
    for node in around:
        key = (node.kind, node.label, node.href)
        row = rows.get(key)
        if row is None:
            rows[key] = Node(node.kind, node.label, node.href, list(node.tones))
        else:
            row.tones.extend(t for t in node.tones if t not in row.tones)
    return list(rows.values())


def neighbourhood_svg(centre: Node, around: list[Node]) -> Markup:
    nodes = _merge(around)[:MAX_NODES]
    legend = _legend(centre, nodes)
    rows_bottom = TOP + ROW * max(len(nodes), 1)
    height = rows_bottom + ROW * (1 + max((line for line, _, _, _ in legend), default=0))
    cy = TOP + ROW * (max(len(nodes), 1) - 1) / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="group" aria-labelledby="nbh-title" class="neighbourhood" '
        f'font-size="{FONT}"><title id="nbh-title">'
        f"Neighbourhood of the claim: {len(nodes)} linked resources</title>",
        f'<text x="{MARGIN}" y="{FONT + 4}" font-weight="bold">'
        f"{escape(fit(centre.label, FONT * BOLD, WIDTH - 2 * MARGIN))}</text>",
    ]
    mid = (CLAIM_X + NODE_X) / 2
    for i, node in enumerate(nodes):
        y = TOP + ROW * i
        tones = node.tones or [("", "")]
        for j, (tone, _) in enumerate(tones):
            end = y + (j - (len(tones) - 1) / 2) * 3  # several stances: parallel edges
            parts.append(
                f'<path class="edge {escape(tone)}" fill="none" d="M{CLAIM_X},{cy:.1f} '
                f'C{mid:.1f},{cy:.1f} {mid:.1f},{end:.1f} {NODE_X - 6},{end:.1f}"/>'
            )
    for i, node in enumerate(nodes):
        y = TOP + ROW * i
        label = fit(node.label, FONT, WIDTH - LABEL_X - MARGIN)
        shape = (
            f"<title>{escape(node.kind)}: {escape(node.label)}</title>"
            f'<circle cx="{NODE_X}" cy="{y}" r="6" fill="{COLOURS.get(node.kind, "#555")}"/>'
            f'<text x="{LABEL_X}" y="{y + FONT * 0.35:.1f}">{escape(label)}</text>'
        )
        parts.append(
            f'<a href="{escape(node.href)}">{shape}</a>' if node.href else f"<g>{shape}</g>"
        )
    parts.append(f'<circle cx="{CLAIM_X}" cy="{cy:.1f}" r="11" fill="{COLOURS["claim"]}"/>')
    for line, x, swatch, name in legend:
        y = rows_bottom + ROW * line + 6
        if swatch.startswith("#"):
            parts.append(f'<circle cx="{x + 6}" cy="{y}" r="6" fill="{swatch}"/>')
        else:
            parts.append(f'<path class="edge {escape(swatch)}" d="M{x},{y} L{x + SWATCH},{y}"/>')
        parts.append(f'<text x="{x + SWATCH + 4}" y="{y + FONT * 0.35:.1f}">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # every dynamic value above went through escape()


SWATCH = 16  # width of a legend entry's swatch
GAP = 12


def _legend(centre: Node, nodes: list[Node]) -> list[tuple[int, float, str, str]]:
    """(line, x, swatch, name) of each legend entry: a colour for each kind of node drawn, a
    stance or direction class for each edge colour drawn, and nothing else (a legend of things
    not in the figure is noise); entries flow onto a new line when the width is used up."""
    entries = [
        (COLOURS.get(k, "#555"), k) for k in dict.fromkeys([centre.kind] + [n.kind for n in nodes])
    ]
    entries += list(dict.fromkeys(t for n in nodes for t in n.tones if t[0]))
    out, line, x = [], 0, float(MARGIN)
    for swatch, name in entries:
        name = fit(name, FONT, WIDTH - 2 * MARGIN - SWATCH - 4)
        width = SWATCH + 4 + text_width(name, FONT)
        if x + width > WIDTH - MARGIN and x > MARGIN:
            line, x = line + 1, float(MARGIN)
        out.append((line, x, swatch, name))
        x += width + GAP
    return out
