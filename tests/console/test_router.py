"""How the app serves the console: one page for every /admin path, its files, its headers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from seam_api.app import Application
from seam_api.console.router import FILES
from seam_api.core.operation_names import READ_OPERATIONS, READ_SUFFIXES


async def test_every_console_path_answers_the_page_with_a_strict_policy(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/admin", "/admin/", "/admin/users", "/admin/audit/42"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/admin/static/js/main.js">' in response.text
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "script-src 'self';" in policy
        assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe" not in policy


async def test_scripts_are_served_as_javascript_with_the_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/static/js/main.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers


def test_vendored_libraries_ship_with_their_licences() -> None:
    for library in ("htm", "preact", "socket.io-client"):
        assert f"vendor/LICENSE.{library}" in FILES


def test_the_vendored_client_is_the_version_the_refresh_script_pins() -> None:
    script = (Path(__file__).parents[2] / "scripts" / "vendor_console.sh").read_text()
    pinned = re.search(r"^SOCKET_IO=(\S+)", script, re.MULTILINE)
    assert pinned is not None
    banner = FILES["vendor/socket.io.esm.min.js"].read_text()[:200]
    assert f"Socket.IO v{pinned[1]}\n" in banner
    assert f"socket.io-client {pinned[1]} " in FILES["vendor/VERSIONS"].read_text()


async def test_a_missing_or_escaping_file_is_a_404_envelope(client: httpx.AsyncClient) -> None:
    # Only the listed files are served: a dotted path never reaches the file system.
    for path in ("/admin/static/nope.js", "/admin/static/%2e%2e/router.py", "/admin/static/"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["success"] is False


async def test_the_console_is_outside_the_api_schema_and_its_permissions(
    app: Application, client: httpx.AsyncClient
) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert not [path for path in schema["paths"] if path.startswith("/admin")]
    assert not [route for route in app.routes if getattr(route, "path", "").startswith("/admin")]


async def test_the_console_is_served_the_servers_own_list_of_reads(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/admin/static/js/operations.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    lists = dict(re.findall(r"export const (\w+) = (\[.*?\]);", response.text))
    assert json.loads(lists["READ_SUFFIXES"]) == list(READ_SUFFIXES)
    assert json.loads(lists["READ_OPERATIONS"]) == sorted(READ_OPERATIONS)
    assert "audit:export" in lists["READ_OPERATIONS"]
    reads, suffixes = (
        json.loads(lists["READ_OPERATIONS"]),
        tuple(json.loads(lists["READ_SUFFIXES"])),
    )
    for operation, reading in (
        ("apikey:fetchByUser", True),
        ("mfa:fetchByUser", True),
        ("apikey:revokeByUser", False),
    ):
        assert (operation in reads or operation.endswith(suffixes)) is reading, operation
