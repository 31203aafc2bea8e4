"""The docs stay honest: every setting, command and route is documented in the README."""

from __future__ import annotations

import dataclasses

import click
import pytest

from claimgraph.app import create_app
from claimgraph.cli import main
from claimgraph.config import Settings
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Settings)])
def test_every_setting_is_documented(field: str) -> None:
    assert f"CLAIMGRAPH_{field.upper()}" in README


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_is_documented(command: str) -> None:
    assert f"claimgraph {command}" in README
    cmd = main.commands[command]
    assert isinstance(cmd, click.Command) and cmd.help


def test_every_route_is_documented(settings: Settings, graph: object) -> None:
    app = create_app(settings, graph=graph)  # type: ignore[arg-type]
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        assert f"`{rule.rule}`" in README or f"`GET {rule.rule}`" in README, rule.rule
