"""The docs stay honest: every setting, command and route is documented on its page of
``docs/``, and every link between the README and the pages leads somewhere."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import click
import pytest

from claimgraph.app import create_app
from claimgraph.cli import main
from claimgraph.config import Settings
from tests.conftest import ROOT

DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md")), ROOT / "ontology" / "README.md"]


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Settings)])
def test_every_setting_is_documented(field: str) -> None:
    assert f"`CLAIMGRAPH_{field.upper()}`" in page("settings.md")


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_is_documented(command: str) -> None:
    assert f"claimgraph {command}" in page("cli.md")
    cmd = main.commands[command]
    assert isinstance(cmd, click.Command) and cmd.help


def test_every_route_is_documented(settings: Settings, graph: object) -> None:
    app = create_app(settings, graph=graph)  # type: ignore[arg-type]
    routes = page("http-api.md")
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        assert f"`{rule.rule}`" in routes or f"`GET {rule.rule}`" in routes, rule.rule


def test_the_readme_is_a_front_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    assert "make serve" in readme and "make test" in readme
    for doc in DOCS.glob("*.md"):
        assert f"(docs/{doc.name})" in readme, f"the README links to docs/{doc.name}"


def _anchors(text: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown text (outside code blocks)."""
    anchors, fenced = set(), False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{1,6} (.*)", line)):
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            anchors.add(slug)
    return anchors


@pytest.mark.parametrize("doc", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_link_leads_somewhere(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", prose):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked here
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif (
            anchor
            and file.suffix == ".md"
            and anchor not in _anchors(file.read_text(encoding="utf-8"))
        ):
            broken.append(f"{target}: no such heading")
    assert broken == [], f"{doc.name}: " + "; ".join(broken)
