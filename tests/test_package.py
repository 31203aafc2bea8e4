"""ClaimGraph as users get it: the built wheel installed outside the repository, and a fresh
clone with nothing beside it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT, SEED_ARTICLE_SETTING
from tests.test_serve import free_port, serve_process

INVALID = FIXTURES / "invalid" / "statement-no-date.ttl"


def run(command: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload,no-any-return]


def clean_env() -> dict[str, str]:
    """The environment of a user who has set nothing (no CLAIMGRAPH_* settings, no venv)."""
    drop = ("CLAIMGRAPH_", "VIRTUAL_ENV", "PYTHONPATH", "PYTEST_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout, installed into a new virtual environment."""
    work = tmp_path_factory.mktemp("wheel")
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", work / "dist", ROOT])
    assert built.returncode == 0, built.stderr
    (wheel,) = (work / "dist").glob("claimgraph-*.whl")
    venv = work / "venv"
    made = run([sys.executable, "-m", "venv", venv])
    assert made.returncode == 0, made.stderr
    done = run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel])
    assert done.returncode == 0, done.stderr
    return venv / "bin"


def test_the_wheel_carries_the_content(installed: Path) -> None:
    code = "import claimgraph.config as c; print(c.default_content_root())"
    where = run([installed / "python", "-c", code], cwd="/", env=clean_env())
    assert where.returncode == 0, where.stderr
    root = Path(where.stdout.strip())
    assert root.parts[-2:] == ("claimgraph", "content") and "site-packages" in root.parts
    for name in ("ontology/claimgraph.ttl", "shapes/claimgraph-shapes.ttl", "data/zpmc.trig"):
        assert (root / name).is_file(), name
    assert list((root / "queries").glob("*.rq"))


def test_installed_validate_refuses_invalid_data(installed: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    shutil.copy(INVALID, bad)
    refused = run([installed / "claimgraph", "validate", bad], cwd=tmp_path, env=clean_env())
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "cg:date" in refused.stdout + refused.stderr


def test_installed_validate_accepts_the_shipped_data(installed: Path, tmp_path: Path) -> None:
    ok = run([installed / "claimgraph", "validate"], cwd=tmp_path, env=clean_env())
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_installed_module_entry_point(installed: Path, tmp_path: Path) -> None:
    shown = run([installed / "python", "-m", "claimgraph", "--help"], cwd=tmp_path, env=clean_env())
    assert shown.returncode == 0 and "validate" in shown.stdout


def test_installed_serve_serves_the_case(installed: Path, tmp_path: Path) -> None:
    port = free_port()
    command = [installed / "claimgraph", "serve", "--port", str(port), "--data-dir", "store"]
    with serve_process(command, port, env=clean_env(), cwd=tmp_path) as url:
        with urllib.request.urlopen(url + "id/actor/zpmc", timeout=10) as resp:
            assert "ZPMC" in resp.read().decode()
        with urllib.request.urlopen(url + "ontology", timeout=10) as resp:
            assert resp.status == 200


def test_missing_shapes_is_an_error_not_conformance(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "ontology", content / "ontology")
    (content / "shapes").mkdir()
    env = {**clean_env(), "CLAIMGRAPH_CONTENT_ROOT": str(content)}
    exe = Path(sys.executable).with_name("claimgraph")
    result = run([exe, "validate", INVALID], cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "no SHACL shapes found" in result.stderr


def test_a_fresh_clone_needs_nothing_beside_it(tmp_path: Path) -> None:
    """Clone the committed repository alone into an empty folder and run, there, the test
    modules that read fixtures: they find everything inside the clone."""
    clone = tmp_path / "alone" / "claimgraph"
    cloned = run(["git", "clone", "--quiet", "--no-hardlinks", ROOT, clone])
    assert cloned.returncode == 0, cloned.stderr
    env = {**clean_env(), "PYTHONPATH": str(clone / "server")}  # the clone's package first
    env.pop(SEED_ARTICLE_SETTING, None)
    collected = run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=clone,
        env=env,
    )
    assert collected.returncode == 0, collected.stdout[-3000:]
    modules = ["tests/test_claimreview.py", "tests/test_data.py", "tests/test_shapes.py"]
    ran = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *modules],
        cwd=clone,
        env=env,
    )
    assert ran.returncode == 0, ran.stdout[-3000:]
    assert "CLAIMGRAPH_SEED_ARTICLE" in ran.stdout  # the article checks say why they skip
