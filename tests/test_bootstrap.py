"""The bootstrap seeds the admin console's sidebar on a fresh database only."""

from __future__ import annotations

import httpx

from seam_api.app import Application
from seam_api.bootstrap import bootstrap
from tests.helpers import API, data

CONSOLE_ROUTES = [
    "/admin/users",
    "/admin/roles",
    "/admin/permissions",
    "/admin/sidebar",
    "/admin/audit",
]


async def test_a_fresh_database_gives_the_admin_the_console_pages(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    items = data(await client.get(f"{API}/sidebar", headers=admin_headers))
    assert [item["route"] for item in items] == CONSOLE_ROUTES
    assert all(item["nameItem"] and item["iconItem"] for item in items)


async def test_a_deleted_console_item_is_not_added_back_by_a_later_bootstrap(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    items = data(await client.get(f"{API}/sidebar", headers=admin_headers))
    audit = next(item for item in items if item["route"] == "/admin/audit")
    data(await client.delete(f"{API}/sidebar/{audit['idItem']}", headers=admin_headers))
    await bootstrap(app.seam, app.routes)
    items = data(await client.get(f"{API}/sidebar", headers=admin_headers))
    assert [item["route"] for item in items] == CONSOLE_ROUTES[:-1]


async def test_route_permissions_are_described_in_words_from_their_routes(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    described = {
        permission["nameUri"]: permission["description"]
        for permission in data(await client.get(f"{API}/permission", headers=admin_headers))
    }
    assert described["PUT /api/v1/users/:id"].startswith("Edit any user's name, email, role")
    assert described["GET /api/v1/sidebar/all"].startswith("List every menu item")
    assert all(text and not text.startswith("Route ") for text in described.values())
