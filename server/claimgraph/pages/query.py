"""Additions to the query page (``server/claimgraph/templates/sparql.html``, served by the SPARQL
endpoint): the example research queries of ``queries/`` to pick from, download links, and
result cells that link into the browser. The endpoint's protocol code is not touched: these
reach the template through a context processor."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request, url_for

from claimgraph.core import ClaimGraph


@dataclass(frozen=True)
class Example:
    name: str
    title: str
    text: str


def load_examples(folder: Path) -> list[Example]:
    """Every ``*.rq`` file, titled by its first comment line."""
    examples = []
    for path in sorted(folder.glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        first = text.lstrip().splitlines()[0] if text.strip() else ""
        title = first.lstrip("# ").strip() if first.startswith("#") else path.stem
        examples.append(Example(path.stem, title, text))
    return examples


def init_app(app: Flask, graph: ClaimGraph) -> None:
    examples = load_examples(graph.settings.content_root / "queries")

    @app.context_processor
    def query_page() -> dict[str, Any]:
        if request.endpoint != "sparql.sparql":
            return {}
        cg: ClaimGraph = current_app.extensions["claimgraph"]
        query = request.values.get("query", "")
        return {
            "examples": [(e, url_for("sparql.sparql", query=e.text)) for e in examples],
            "cell_href": cg.iris.href,
            "iri_base": cg.iris.base,
            "downloads": [
                (name, url_for("sparql.sparql", query=query, format=name))
                for name in ("csv", "json", "tsv")
            ]
            if query.strip()
            else [],
            "share": url_for("sparql.sparql", query=query) if query.strip() else None,
        }
