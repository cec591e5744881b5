"""The docs a user holds: nothing points outside the repository, the README links the
reference, and the reference names every route and setting the code has."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from seam_api.app import ROUTERS, route_table
from seam_api.security.access import name_uri
from seam_api.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference.md"


def test_nothing_in_the_repository_points_at_the_old_contract_file() -> None:
    tracked = subprocess.run(
        ["git", "grep", "-l", "CONTRACT.md", "--", ".", ":!tests/test_docs.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert tracked.stdout == "", tracked.stdout


def test_the_readme_links_every_doc_and_has_a_production_section() -> None:
    readme = (ROOT / "README.md").read_text()
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{doc.name})" in readme, doc.name
    assert "## Production and several instances" in readme
    for subject in ("deploy/", "/healthz", "/readyz", "/metrics", "SEAM_TRUSTED_PROXIES"):
        assert subject in readme, subject
    production = (ROOT / "docs" / "production.md").read_text()
    assert "../deploy/nginx.conf" in production


def test_the_readme_tells_no_measurement_story() -> None:
    """Measurement history lives in docs/benchmarks.md; the README keeps one current table."""
    readme = (ROOT / "README.md").read_text()
    assert not re.search(r"\b(19|20)\d\d-\d\d-\d\d\b|\d+ (November|December)\b", readme)
    assert "earlier" not in readme.lower()


def test_the_reference_names_every_route() -> None:
    text = REFERENCE.read_text()
    for route in route_table(ROUTERS):
        for method in getattr(route, "methods", ()):
            _method, path = name_uri(method, route.path_format).split(" ", 1)
            row = re.compile(rf"\| {method} \| {re.escape(path.removeprefix('/api/v1'))} \|")
            assert row.search(text), f"{method} {path}"


def test_the_reference_names_every_setting() -> None:
    text = REFERENCE.read_text()
    for field in Settings.model_fields:
        if field == "jwt_algorithm":
            continue  # not a knob for operators: HS256 is pinned unless code changes it
        assert f"SEAM_{field.upper()}" in text, field
