"""The project says under which licence it is shared, and keeps a changelog."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_licence_is_mit_in_the_file_and_in_pyproject() -> None:
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"


def test_the_changelog_has_an_unreleased_section() -> None:
    assert "## Unreleased" in (ROOT / "CHANGELOG.md").read_text()


def _locked(lock: Path) -> dict[str, str]:
    """Name -> pinned version of every package in a lock file, after checking each has hashes."""
    text = lock.read_text()
    pins = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+) \\$", text, re.MULTILINE))
    entries = re.split(r"\n(?=[a-z0-9])", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in entry for entry in entries if "==" in entry)
    return {name.replace("_", "-").lower(): version for name, version in pins.items()}


def _direct(requirements: list[str]) -> set[str]:
    return {
        re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower() for requirement in requirements
    }


def test_the_lock_files_pin_every_dependency_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _direct(project["dependencies"])
    test = _direct(project["optional-dependencies"]["test"])
    assert runtime <= set(_locked(ROOT / "requirements.lock"))
    assert runtime | test <= set(_locked(ROOT / "requirements-test.lock"))
    assert {"argon2-cffi", "prometheus-client"} <= runtime
    assert "playwright" in test


def test_make_installs_from_the_locks_with_hashes_checked() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r $(LOCK)" in makefile
    assert "--require-hashes -r $(TEST_LOCK)" in makefile
    assert re.search(r"^lock:", makefile, re.MULTILINE)
    assert re.search(r"^floors:", makefile, re.MULTILINE)


def test_the_gating_tools_are_pinned_and_the_floors_are_true() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    assert {"ruff", "mypy"} <= {r.split("==")[0] for r in requirements if "==" in r}
    # ws="websockets-sansio" (cli.serve) arrived in uvicorn 0.35; the test loop scope setting
    # in pytest-asyncio 0.26.
    assert "uvicorn[standard]>=0.35" in requirements
    assert "pytest-asyncio>=0.26" in requirements
