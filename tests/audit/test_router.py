"""The audit routes (contract 6) on every database: entries written by the mutations themselves,
filters and paging, one entry, the streamed export, who may read it, and retention."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, insert, select

from seam_api.core.db import Database
from seam_api.models import event_sequence, events
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AppFactory,
    Databases,
    bearer,
    login,
    start_server,
)
from tests.helpers import (
    API,
    PASSWORD,
    create_role,
    data,
    failure,
    grant,
    member,
    register,
    unique,
)

ADMIN_ID = 1


async def audit(
    http: httpx.AsyncClient, headers: dict[str, str], **filters: Any
) -> list[dict[str, Any]]:
    return list(data(await http.get(f"{API}/audit", headers=headers, params=filters)))


async def test_a_mutation_records_who_changed_what_with_before_and_after(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    headers = {**admin_headers, "User-Agent": "audit-test/1.0", "X-Request-ID": "req-audit-1"}
    body = {"roleName": unique("renamed"), "description": "Now described"}
    data(await client.put(f"{API}/roles/{role_id}", headers=headers, json=body))

    newest = (await audit(client, admin_headers, entity="role", entityId=str(role_id)))[0]
    assert newest["operation"] == "role:edit"
    assert newest["message"] == "Role updated successfully"
    assert newest["actorId"] == ADMIN_ID and newest["actorEmail"] == ADMIN_EMAIL
    assert newest["entity"] == "role" and newest["entityId"] == str(role_id)
    assert newest["changes"]["description"] == [None, "Now described"]
    assert newest["changes"]["roleName"][1] == body["roleName"]
    assert newest["userAgent"] == "audit-test/1.0"
    assert newest["ip"]  # the test client's address
    assert newest["eventId"].isdigit()
    assert newest["occurredAt"].endswith("Z")
    assert set(newest) >= {
        "eventId", "operation", "message", "actorId", "actorEmail", "ip", "userAgent",
        "entity", "entityId", "changes", "occurredAt",
    }  # fmt: skip


async def test_a_password_appears_by_name_never_by_value(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    user = await register(client, admin_headers)
    body = {"password": "a-brand-new-password"}
    data(await client.put(f"{API}/users/{user['idUser']}", headers=admin_headers, json=body))
    data(await client.put(f"{API}/users/{user['idUser']}/resetPassword", headers=admin_headers))

    entries = await audit(client, admin_headers, entity="user", entityId=str(user["idUser"]))
    assert [e["operation"] for e in entries] == [
        "user:resetPassword",
        "user:edit",
        "auth:register",
    ]
    assert all(e["changes"]["password"] == [None, None] for e in entries)
    export = await client.get(f"{API}/audit/export", headers=admin_headers)
    for secret in ("a-brand-new-password", "member-password-1", "$2b$", "$argon2", "password_hash"):
        assert secret not in export.text


async def test_a_failed_mutation_leaves_no_entry(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    name = unique("taken")
    data(await client.post(f"{API}/roles", headers=admin_headers, json={"roleName": name}), 201)
    before = await audit(client, admin_headers)
    failure(await client.post(f"{API}/roles", headers=admin_headers, json={"roleName": name}), 409)
    failure(await client.delete(f"{API}/users/999999", headers=admin_headers), 404)
    assert await audit(client, admin_headers) == before


async def test_sign_ins_and_sign_outs_are_entries(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bad = {"email": ADMIN_EMAIL, "password": "not-the-password"}
    failure(await client.post(f"{API}/auth/login", json=bad), 401)
    unknown = {"email": "nobody@example.com", "password": "whatever-it-is"}
    failure(await client.post(f"{API}/auth/login", json=unknown), 401)
    token = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    data(await client.post(f"{API}/auth/logout", headers=bearer(token)))

    sessions = await audit(client, admin_headers, entity="session")
    assert [e["operation"] for e in sessions[:4]] == [
        "auth:logout",
        "auth:login",
        "auth:loginFailed",
        "auth:loginFailed",
    ]
    assert sessions[2]["actorEmail"] == "nobody@example.com" and sessions[2]["actorId"] is None
    assert sessions[3]["actorId"] == ADMIN_ID
    assert all(e["changes"] == {} for e in sessions[:4])


async def test_filters_and_paging_with_before(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = [await create_role(client, admin_headers) for _ in range(3)]
    creates = await audit(client, admin_headers, operation="role:create", limit=2)
    assert [int(e["entityId"]) for e in creates] == created[:0:-1]
    older = await audit(
        client, admin_headers, operation="role:create", before=creates[-1]["eventId"]
    )
    assert int(older[0]["entityId"]) == created[0]

    plain = await member(client, admin_headers)
    mine = await audit(client, admin_headers, actorId=plain.id)
    assert [e["operation"] for e in mine] == ["auth:login"]

    now = time.time()
    recent = await audit(
        client, admin_headers, operation="role:create",
        **{"from": _iso(now - 60), "to": _iso(now + 60)},
    )  # fmt: skip
    assert len(recent) >= 3
    assert await audit(client, admin_headers, **{"to": _iso(now - 3600)}) == []
    assert (
        await audit(client, admin_headers, **{"from": _iso(now + 60), "to": _iso(now - 60)}) == []
    )


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"before": "abc"},
        {"actorId": -1},
        {"entity": "e" * 21},
        {"from": "yesterday"},
    ],
)
async def test_bad_filters_are_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str], params: dict[str, Any]
) -> None:
    body = failure(await client.get(f"{API}/audit", headers=admin_headers, params=params), 400)
    assert body["errors"]


async def test_one_entry_by_its_id(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    newest = (await audit(client, admin_headers, limit=1))[0]
    one = data(await client.get(f"{API}/audit/{newest['eventId']}", headers=admin_headers))
    assert one == newest and one["entityId"] == str(role_id)
    failure(await client.get(f"{API}/audit/999999999", headers=admin_headers), 404)
    failure(await client.get(f"{API}/audit/nope", headers=admin_headers), 400)


async def test_a_role_without_the_audit_permissions_sees_nothing(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    plain = await member(client, admin_headers)
    failure(await client.get(f"{API}/audit", headers=plain.headers), 403)
    failure(await client.get(f"{API}/audit/1", headers=plain.headers), 403)
    failure(await client.get(f"{API}/audit/export", headers=plain.headers), 403)
    failure(await client.get(f"{API}/audit"), 401)

    auditor_role = await create_role(client, admin_headers)
    await grant(client, admin_headers, role_id=auditor_role, name_uri="GET /api/v1/audit")
    auditor = await member(client, admin_headers, role_id=auditor_role)
    assert await audit(client, auditor.headers, limit=1)


async def test_export_as_csv_and_ndjson(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    formula = "=HYPERLINK(1)"
    role = data(
        await client.post(f"{API}/roles", headers=admin_headers, json={"roleName": formula}), 201
    )
    ndjson = await client.get(
        f"{API}/audit/export", headers=admin_headers, params={"format": "ndjson", "entity": "role"}
    )
    assert ndjson.status_code == 200
    assert ndjson.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in ndjson.text.splitlines()]
    assert lines[-1]["entityId"] == str(role["idRole"])
    assert [int(e["eventId"]) for e in lines] == sorted(int(e["eventId"]) for e in lines)

    exported = await client.get(
        f"{API}/audit/export", headers=admin_headers, params={"format": "csv", "entity": "role"}
    )
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["eventId"] for row in rows] == [e["eventId"] for e in lines]
    changes = orjson.loads(rows[-1]["changes"])
    assert changes["roleName"] == [None, formula]  # inside JSON the value stays as it was
    assert rows[-1]["message"] == "Role created successfully"


async def test_a_cell_that_would_run_as_a_formula_is_written_as_text(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    bad = {"email": "=cmd@example.com", "password": "whatever-it-is"}
    failure(await client.post(f"{API}/auth/login", json=bad), 401)
    exported = await client.get(
        f"{API}/audit/export",
        headers=admin_headers,
        params={"format": "csv", "operation": "auth:loginFailed"},
    )
    emails = [row["actorEmail"] for row in csv.DictReader(io.StringIO(exported.text))]
    assert "'=cmd@example.com" in emails


async def test_addresses_are_not_recorded_when_turned_off(make_app: AppFactory) -> None:
    application = await make_app(audit_ip=False)
    transport = httpx.ASGITransport(app=application.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        headers = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        await create_role(http, headers)
        entries = await audit(http, headers)
    assert entries and all(e["ip"] is None and e["userAgent"] is None for e in entries)


EXPORTED = 100_000


async def _fill(db: Database, count: int) -> None:
    """`count` entries written straight into the log, as a year of use would leave them."""
    row = {
        "operation": "role:edit",
        "message": "Role updated successfully",
        "actor_id": ADMIN_ID,
        "actor_email": ADMIN_EMAIL,
        "ip": "203.0.113.9",
        "user_agent": "bulk",
        "entity": "role",
        "entity_id": "1",
        "changes": orjson.dumps({"description": ["before " * 8, "after " * 8]}).decode(),
        "occurred_at": 1_700_000_000_000,
    }
    async with db.transaction() as conn:
        start = int(await conn.scalar(select(event_sequence.c.last_id)) or 0)
        for first in range(0, count, 5000):
            batch = range(first, min(first + 5000, count))
            await conn.execute(insert(events), [{**row, "event_id": start + 1 + i} for i in batch])
        await conn.execute(event_sequence.update().values(last_id=start + count))


def _peak_rss(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in bytes."""
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


async def test_an_export_of_100k_entries_streams_in_flat_memory(
    databases: Databases, backend: str, tmp_path: Path
) -> None:
    """A real server, since the in-process test client buffers whole bodies."""
    url = await databases.create(backend)
    server = start_server(tmp_path, {"SEAM_DATABASE_URL": url, "SEAM_AUDIT_RETENTION": "0"})
    db = Database(url)
    try:
        await _fill(db, EXPORTED)
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
            headers = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
            await http.get(f"{API}/audit", headers=headers)
            await asyncio.sleep(2)  # the log follower reads past the new entries meanwhile
            peak_before = _peak_rss(server.pid)
            lines = size = 0
            params = {"format": "ndjson", "operation": "role:edit"}
            async with http.stream(
                "GET", f"{API}/audit/export", headers=headers, params=params
            ) as response:
                assert response.status_code == 200
                async for chunk in response.aiter_bytes():
                    lines += chunk.count(b"\n")
                    size += len(chunk)
            growth = _peak_rss(server.pid) - peak_before
    finally:
        await db.dispose()
        server.stop()
    assert lines == EXPORTED
    # The body is tens of megabytes (loaded at once, its rows would take hundreds); what the
    # server held at a time is a page of entries.
    assert size > 30_000_000
    assert growth < 16 * 1024 * 1024, f"peak memory grew {growth} bytes for a {size}-byte export"


async def test_retention_prunes_only_entries_past_it(make_app: AppFactory) -> None:
    application = await make_app(audit_retention="0")
    await _fill(application.seam.db, 2500)  # from 2023
    transport = httpx.ASGITransport(app=application.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        headers = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        await create_role(http, headers)
        cutoff = int(time.time() * 1000) - 90 * 86400 * 1000
        removed = await application.seam.events.prune(older_than_ms=cutoff)
        async with application.seam.db.read() as conn:
            left = await conn.scalar(select(func.count()).select_from(events))
            oldest = await conn.scalar(select(func.min(events.c.occurred_at)))
    assert removed == 2500
    assert left and left >= 2  # the bootstrap's sign-in and the new role are recent
    assert oldest is not None and oldest > cutoff


async def test_an_entrys_message_follows_the_readers_language(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    spanish = {**admin_headers, "Accept-Language": "es"}
    body = {"full_name": "Lengua Mixta", "email": "lengua@example.com", "password": "secret-pass-1"}
    data(await client.post(f"{API}/auth/register", headers=spanish, json=body), 201)
    params = {"operation": "auth:register", "limit": 1}
    english = data(await client.get(f"{API}/audit", headers=admin_headers, params=params))
    in_spanish = data(await client.get(f"{API}/audit", headers=spanish, params=params))
    assert english[0]["message"] == "User registered successfully"
    assert in_spanish[0]["message"] == "Usuario registrado exitosamente"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_an_auditor_who_may_not_read_users_sees_user_entries_redacted(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    auditor_role = await create_role(client, admin_headers)
    for name_uri in ("GET /api/v1/audit", "GET /api/v1/audit/:eventId", "GET /api/v1/audit/export"):
        await grant(client, admin_headers, role_id=auditor_role, name_uri=name_uri)
    auditor = await member(client, admin_headers, role_id=auditor_role)
    user = await register(client, admin_headers)
    body = {"full_name": "Secret Name"}
    data(await client.put(f"{API}/users/{user['idUser']}", headers=admin_headers, json=body))
    await login(client, user["email"], PASSWORD)

    for entry in await audit(client, auditor.headers):
        if entry["entity"] in ("user", "session"):
            assert all(values == [None, None] for values in entry["changes"].values()), entry
            assert entry["ip"] is None and entry["userAgent"] is None, entry
    edits = await audit(client, auditor.headers, operation="user:edit")
    assert edits[0]["changes"] == {"full_name": [None, None]}  # what changed, not the values
    one = data(await client.get(f"{API}/audit/{edits[0]['eventId']}", headers=auditor.headers))
    assert one["changes"] == {"full_name": [None, None]}
    export = await client.get(f"{API}/audit/export", headers=auditor.headers)
    exported = [orjson.loads(line) for line in export.text.splitlines()]
    assert "Secret Name" not in export.text
    assert all(e["ip"] is None for e in exported if e["entity"] in ("user", "session"))
    full = await audit(client, admin_headers, operation="user:edit")
    assert full[0]["changes"]["full_name"][1] == "Secret Name"  # readers of users see it all


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_an_audit_role_without_users_read_sees_no_names_emails_or_addresses(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    # The audit's redaction follows each operation's data_needs, as data:changed does: every
    # entry about an account, whichever domain wrote it, is a user's data.
    auditor_role = await create_role(client, admin_headers)
    for name_uri in ("GET /api/v1/audit", "GET /api/v1/audit/:eventId", "GET /api/v1/audit/export"):
        await grant(client, admin_headers, role_id=auditor_role, name_uri=name_uri)
    auditor = await member(client, admin_headers, role_id=auditor_role)
    email = f"{unique('hidden')}@example.com"
    agent = {"User-Agent": "hidden-agent/7.0"}
    user = await register(client, admin_headers, email=email)
    token = await login(client, email, PASSWORD)
    own = {**bearer(token), **agent}
    body = {"full_name": "Hidden Person"}
    data(await client.put(f"{API}/auth/me", headers=own, json=body))
    key = {"name": "hidden key", "permissions": []}
    data(await client.post(f"{API}/auth/keys", headers=own, json=key), 201)
    wrong = {"email": email, "password": "not-the-password-1"}
    failure(await client.post(f"{API}/auth/login", headers=agent, json=wrong), 401)
    data(await client.post(f"{API}/auth/logout", headers=own))
    secrets = ("Hidden Person", email, "hidden-agent", "hidden key")

    async def shown(headers: dict[str, str]) -> list[str]:
        """Every entry the list and the export show, less `actorEmail` (who acted stays)."""
        listed = await audit(client, headers, limit=200)
        export = (await client.get(f"{API}/audit/export", headers=headers)).text
        exported = [orjson.loads(line) for line in export.splitlines()]
        return [
            orjson.dumps({k: v for k, v in entry.items() if k != "actorEmail"}).decode()
            for entry in [*listed, *exported]
        ]

    to_auditor = "".join(await shown(auditor.headers))
    assert [s for s in secrets if s in to_auditor] == []
    to_admin = "".join(await shown(admin_headers))
    assert [s for s in secrets if s not in to_admin] == []
    about_accounts = [
        entry
        for entry in await audit(client, auditor.headers, limit=200)
        if entry["entity"] in ("user", "session", "mfa", "apikey")
    ]
    operations = {entry["operation"] for entry in about_accounts}
    assert {"account:edit", "apikey:create", "auth:loginFailed", "auth:logout"} <= operations
    for entry in about_accounts:
        assert all(values == [None, None] for values in entry["changes"].values()), entry
        assert entry["ip"] is None and entry["userAgent"] is None, entry
    filters = {"entity": "user", "entityId": str(user["idUser"]), "operation": "auth:register"}
    registered = await audit(client, auditor.headers, **filters)
    assert {"full_name", "email"} <= set(registered[0]["changes"])  # the shape stays


async def test_retention_moves_past_entries_it_cannot_delete_yet(make_app: AppFactory) -> None:
    # A recent entry holding the lowest id (another instance's clock ahead, or old entries
    # written after it) stopped pruning for good at the first batch.
    application = await make_app(audit_retention="0")
    transport = httpx.ASGITransport(app=application.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        headers = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        await create_role(http, headers)
        await _fill(application.seam.db, 2500)  # from 2023, ids after the recent ones
        cutoff = int(time.time() * 1000) - 90 * 86400 * 1000
        removed = await application.seam.events.prune(older_than_ms=cutoff)
        async with application.seam.db.read() as conn:
            oldest = await conn.scalar(select(func.min(events.c.occurred_at)))
            left = await conn.scalar(select(func.count()).select_from(events))
    assert removed == 2500
    assert oldest is not None and oldest > cutoff
    assert left and left >= 2  # the sign-in and the new role stay


async def test_the_newest_page_follows_every_new_entry_and_the_readers_permissions(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """The plain newest page is served from the read cache: a sign-in (an entry that is no
    mutation) shows at once, and a reader who loses the users' read sees its next page redacted."""
    auditor_role = await create_role(client, admin_headers)
    for name_uri in ("GET /api/v1/audit", "GET /api/v1/audit/:eventId", "GET /api/v1/users"):
        await grant(client, admin_headers, role_id=auditor_role, name_uri=name_uri)
    auditor = await member(client, admin_headers, role_id=auditor_role)
    user = await register(client, admin_headers)
    await audit(client, auditor.headers)  # cached now

    await login(client, user["email"], PASSWORD)
    newest = (await audit(client, auditor.headers))[0]
    assert (newest["operation"], newest["actorEmail"]) == ("auth:login", user["email"])
    assert newest["ip"] is not None
    one = data(await client.get(f"{API}/audit/{newest['eventId']}", headers=auditor.headers))
    assert one["ip"] is not None  # cached too

    permissions = data(
        await client.get(
            f"{API}/permission/getByRoleId?roleId={auditor_role}", headers=admin_headers
        )
    )
    users_read = next(p for p in permissions if p["nameUri"] == "GET /api/v1/users")
    body = {"roleId": auditor_role, "permissionId": users_read["idPermission"]}
    data(
        await client.request(
            "DELETE", f"{API}/permission/unassign", headers=admin_headers, json=body
        )
    )

    page = await audit(client, auditor.headers)
    login_entry = next(e for e in page if e["eventId"] == newest["eventId"])
    assert login_entry["ip"] is None
    one = data(await client.get(f"{API}/audit/{newest['eventId']}", headers=auditor.headers))
    assert one["ip"] is None
