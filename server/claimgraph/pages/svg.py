"""A claim's neighbourhood as a server-side SVG: the claim in the middle, the actors, sources,
evidence and related claims around it on a circle. All text is escaped; links only via
``Iris.href`` results (local paths or http(s))."""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

COLOURS = {"claim": "#2b6cb0", "speaker": "#c05621", "source": "#2f855a", "evidence": "#6b46c1"}
MAX_NODES = 24


@dataclass(frozen=True)
class Node:
    kind: str
    label: str
    href: str | None


def _short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def neighbourhood_svg(centre: Node, around: list[Node], size: int = 560) -> Markup:
    unique: list[Node] = []
    seen: set[tuple[str, str, str | None]] = set()
    for node in around:
        key = (node.kind, node.label, node.href)
        if key not in seen:
            seen.add(key)
            unique.append(node)
    unique = unique[:MAX_NODES]
    c = size / 2
    r = size / 2 - 90
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" '
        f'aria-labelledby="nbh-title" class="neighbourhood"><title id="nbh-title">'
        f"Neighbourhood of the claim: {len(unique)} linked resources</title>"
    ]
    points = []
    for i, node in enumerate(unique):
        angle = 2 * math.pi * i / max(len(unique), 1) - math.pi / 2
        x, y = c + r * math.cos(angle), c + r * math.sin(angle)
        points.append((x, y, node))
        parts.append(f'<line x1="{c:.1f}" y1="{c:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="#bbb"/>')
    for x, y, node in points:
        colour = COLOURS.get(node.kind, "#555")
        anchor = "start" if x > c + 1 else "end" if x < c - 1 else "middle"
        dx = 9 if anchor == "start" else -9 if anchor == "end" else 0
        shape = (
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{colour}"/>'
            f'<text x="{x + dx:.1f}" y="{y + 4:.1f}" font-size="11" text-anchor="{anchor}">'
            f"{escape(_short(node.label))}<title>{escape(node.kind)}: {escape(node.label)}</title>"
            "</text>"
        )
        if node.href:
            shape = f'<a href="{escape(node.href)}">{shape}</a>'
        parts.append(shape)
    parts.append(
        f'<circle cx="{c:.1f}" cy="{c:.1f}" r="12" fill="{COLOURS["claim"]}"/>'
        f'<text x="{c:.1f}" y="{c + 28:.1f}" font-size="12" font-weight="bold" '
        f'text-anchor="middle">{escape(_short(centre.label, 40))}</text>'
    )
    legend_y = size - 14
    for i, (kind, colour) in enumerate(COLOURS.items()):
        lx = 10 + i * 100
        parts.append(
            f'<circle cx="{lx + 5}" cy="{legend_y - 4}" r="5" fill="{colour}"/>'
            f'<text x="{lx + 14}" y="{legend_y}" font-size="11">{kind}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # every dynamic value above went through escape()
