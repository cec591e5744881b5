"""`POST /users/import`: a preview names every bad row; an import creates every account or
none, each with a temporary password shown once."""

from __future__ import annotations

import asyncio

import httpx

from seam_api.security.credentials import MAX_HASHES_IN_FLIGHT, hash_slots
from tests.conftest import ADMIN_EMAIL
from tests.helpers import API, create_role, data, failure, grant, member, role_id_named

GOOD = [
    {"full_name": "Ada Lovelace", "email": "ada@example.com"},
    {"full_name": "Alan Turing", "email": "ALAN@example.com", "idUser": "7", "isActive": "1"},
]


async def _count(http: httpx.AsyncClient, admin: dict[str, str]) -> int:
    body = (await http.get(f"{API}/users", headers=admin, params={"withTotal": "true"})).json()
    return int(body["meta"]["total"])


async def test_a_preview_names_every_bad_row_and_creates_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    rows = [
        *GOOD,
        {"full_name": "   ", "email": "not-an-email"},
        {"full_name": "Taken", "email": ADMIN_EMAIL},
        {"full_name": "Twice", "email": "ada@example.com"},
        {"full_name": "No role", "email": "norole@example.com", "roleId": 999999},
    ]
    result = data(
        await client.post(
            f"{API}/users/import", headers=admin_headers, json={"rows": rows, "dryRun": True}
        )
    )
    found = {(problem["row"], problem["field"]) for problem in result["errors"]}
    assert found == {(3, "full_name"), (3, "email"), (4, "email"), (5, "email"), (6, "roleId")}
    assert result["dryRun"] is True and result["total"] == 6 and result["created"] == []
    assert await _count(client, admin_headers) == 1


async def test_one_bad_row_stops_the_whole_import(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    rows = [*GOOD, {"full_name": "Bad", "email": "bad@localhost"}]
    body = failure(
        await client.post(f"{API}/users/import", headers=admin_headers, json={"rows": rows}), 400
    )
    assert [error["field"] for error in body["errors"]] == ["rows.3.email"]
    assert await _count(client, admin_headers) == 1


async def test_an_import_creates_every_row_with_a_temporary_password_that_signs_in(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role = await create_role(client, admin_headers)
    rows = [GOOD[0], {**GOOD[1], "roleId": role}]
    result = data(
        await client.post(f"{API}/users/import", headers=admin_headers, json={"rows": rows})
    )
    created = result["created"]
    assert [user["email"] for user in created] == ["ada@example.com", "alan@example.com"]
    default_role = await role_id_named(client, admin_headers, "user")
    assert [user["roleId"] for user in created] == [default_role, role]
    for user in created:
        body = {"email": user["email"], "password": user["temporaryPassword"]}
        assert (await client.post(f"{API}/auth/login", json=body)).status_code == 200
    assert await _count(client, admin_headers) == 3


async def test_a_delegated_importer_cannot_hand_out_a_role_beyond_its_own(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    importer_role = await create_role(client, admin_headers)
    await grant(client, admin_headers, role_id=importer_role, name_uri="POST /api/v1/users/import")
    importer = await member(client, admin_headers, role_id=importer_role)
    admin_role = await role_id_named(client, admin_headers, "admin")
    rows = [{"full_name": "Would Be Admin", "email": "sneaky@example.com", "roleId": admin_role}]
    result = data(
        await client.post(
            f"{API}/users/import", headers=importer.headers, json={"rows": rows, "dryRun": True}
        )
    )
    assert [(p["row"], p["field"]) for p in result["errors"]] == [(1, "roleId")]
    failure(
        await client.post(f"{API}/users/import", headers=importer.headers, json={"rows": rows}), 403
    )


async def test_importing_needs_its_permission_and_some_rows(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    outsider = await member(client, admin_headers)
    failure(
        await client.post(f"{API}/users/import", headers=outsider.headers, json={"rows": GOOD}), 403
    )
    body = failure(
        await client.post(f"{API}/users/import", headers=admin_headers, json={"rows": []}), 400
    )
    assert [error["field"] for error in body["errors"]] == ["rows"]


async def test_a_taken_email_stops_the_import_as_a_conflict(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    rows = [*GOOD, {"full_name": "Taken", "email": ADMIN_EMAIL}]
    response = await client.post(f"{API}/users/import", headers=admin_headers, json={"rows": rows})
    assert [error["field"] for error in failure(response, 409)["errors"]] == ["rows.3.email"]
    assert await _count(client, admin_headers) == 1


async def test_an_import_of_more_rows_than_hashes_in_flight_waits_for_them_and_leaves_sign_ins_room(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """Hashes beyond the bound are refused to sign-ins (429), but an import queues for its own,
    on half the slots: the rest stay free for people signing in meanwhile."""
    rows = [
        {"full_name": f"Bulk {number}", "email": f"bulk-{number}@example.com"}
        for number in range(5 * MAX_HASHES_IN_FLIGHT)
    ]
    import_task = asyncio.ensure_future(
        client.post(f"{API}/users/import", headers=admin_headers, json={"rows": rows})
    )
    most = 0
    while not import_task.done():
        most = max(most, hash_slots.in_flight)
        await asyncio.sleep(0)
    created = data(await import_task)["created"]
    assert len(created) == len(rows)
    assert 0 < most <= MAX_HASHES_IN_FLIGHT // 2
    body = {"email": created[-1]["email"], "password": created[-1]["temporaryPassword"]}
    assert (await client.post(f"{API}/auth/login", json=body)).status_code == 200


async def test_an_import_with_invitations_without_mail_is_503_and_creates_nobody(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"rows": [{"full_name": "Not Created", "email": "not-created@example.com"}]}
    answer = await client.post(
        f"{API}/users/import", headers=admin_headers, json={**body, "invite": True}
    )
    failure(answer, 503)
    assert await _count(client, admin_headers) == 1  # the admin only
