"""Contract 9.5: API keys for programs, created for a subset of the creator's permissions, shown
once, stored hashed, and at every request bounded by what the owner's role holds now."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from seam_api.apikeys import service as apikeys_service
from seam_api.app import Application
from seam_api.models import api_keys
from tests.conftest import bearer
from tests.helpers import (
    API,
    create_role,
    data,
    failure,
    grant,
    member,
    revoke,
    unique,
    unique_email,
)

USERS_READ = "GET /api/v1/users"
ROLES_CREATE = "POST /api/v1/roles"
REFUSED = "Invalid or expired token"


async def new_key(
    http: httpx.AsyncClient, headers: dict[str, str], *permissions: str, **extra: Any
) -> dict[str, Any]:
    body = {"name": unique("key"), "permissions": list(permissions), **extra}
    return dict(data(await http.post(f"{API}/auth/keys", headers=headers, json=body), 201))


async def test_a_key_is_shown_once_starts_with_seam_and_works_as_a_bearer_token(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await new_key(client, admin_headers, USERS_READ)

    assert created["key"].startswith("seam_")
    assert created["permissions"] == [USERS_READ]
    assert created["expiresAt"] is None and created["createdAt"].endswith("Z")
    data(await client.get(f"{API}/users", headers=bearer(created["key"])))
    listed = data(await client.get(f"{API}/auth/keys", headers=admin_headers))
    assert [k["idKey"] for k in listed] == [created["idKey"]]
    assert "key" not in listed[0]
    async with app.seam.db.read() as conn:
        stored = (await conn.execute(select(api_keys.c.key_hash))).scalars().all()
    assert stored == [app.seam.keys.hasher.digest(created["key"])]


async def test_a_key_asking_for_a_permission_its_creator_lacks_is_refused(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    await grant(client, admin_headers, role_id=role_id, name_uri=USERS_READ)
    someone = await member(client, admin_headers, role_id=role_id)

    body = {"name": "too much", "permissions": [USERS_READ, ROLES_CREATE]}
    failure(await client.post(f"{API}/auth/keys", headers=someone.headers, json=body), 403)
    assert data(await client.get(f"{API}/auth/keys", headers=someone.headers)) == []


async def test_a_key_reaches_only_the_permissions_it_was_granted(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    key = (await new_key(client, admin_headers, USERS_READ))["key"]

    data(await client.get(f"{API}/users", headers=bearer(key)))
    failure(await client.get(f"{API}/users/1", headers=bearer(key)), 403)
    failure(await client.post(f"{API}/roles", headers=bearer(key), json={"roleName": "x1"}), 403)


async def test_demoting_the_owner_shrinks_the_key_at_once(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    permission = await grant(client, admin_headers, role_id=role_id, name_uri=USERS_READ)
    owner = await member(client, admin_headers, role_id=role_id)
    key = (await new_key(client, owner.headers, USERS_READ))["key"]
    data(await client.get(f"{API}/users", headers=bearer(key)))

    await revoke(client, admin_headers, role_id=role_id, permission_id=permission)

    failure(await client.get(f"{API}/users", headers=bearer(key)), 403)


async def test_disabling_the_owner_makes_the_key_401_at_once(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    owner = await member(client, admin_headers)
    key = (await new_key(client, owner.headers))["key"]
    data(await client.get(f"{API}/roles", headers=bearer(key)))

    body = {"isActive": 0}
    data(await client.put(f"{API}/users/{owner.id}/state", headers=admin_headers, json=body))

    assert failure(await client.get(f"{API}/roles", headers=bearer(key)), 401)["message"] == REFUSED


async def test_deleting_the_owner_makes_the_key_401(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    owner = await member(client, admin_headers)
    key = (await new_key(client, owner.headers))["key"]
    data(await client.get(f"{API}/roles", headers=bearer(key)))

    data(await client.delete(f"{API}/users/{owner.id}", headers=admin_headers))

    failure(await client.get(f"{API}/roles", headers=bearer(key)), 401)


async def test_an_expired_key_is_401(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    created = await new_key(client, admin_headers, USERS_READ, expiresAt=soon)
    data(await client.get(f"{API}/users", headers=bearer(created["key"])))

    await asyncio.sleep(1.2)

    failure(await client.get(f"{API}/users", headers=bearer(created["key"])), 401)


async def test_an_expiry_in_the_past_is_a_400_naming_expires_at(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {"name": "late", "permissions": [], "expiresAt": "2020-01-01T00:00:00Z"}
    answer = failure(await client.post(f"{API}/auth/keys", headers=admin_headers, json=body), 400)
    assert [e["field"] for e in answer["errors"]] == ["expiresAt"]


async def test_a_revoked_key_is_401_and_another_accounts_key_is_not_found(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await new_key(client, admin_headers, USERS_READ)
    someone = await member(client, admin_headers)
    path = f"{API}/auth/keys/{created['idKey']}"

    failure(await client.delete(path, headers=someone.headers), 404)
    data(await client.get(f"{API}/users", headers=bearer(created["key"])))
    data(await client.delete(path, headers=admin_headers))

    failure(await client.get(f"{API}/users", headers=bearer(created["key"])), 401)
    failure(await client.delete(path, headers=admin_headers), 404)


async def test_a_key_never_reaches_key_password_or_session_routes(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    key = bearer((await new_key(client, admin_headers, USERS_READ))["key"])

    failure(await client.get(f"{API}/auth/keys", headers=key), 403)
    body = {"name": "escalate", "permissions": [USERS_READ]}
    failure(await client.post(f"{API}/auth/keys", headers=key, json=body), 403)
    failure(await client.delete(f"{API}/auth/keys/1", headers=key), 403)
    failure(await client.post(f"{API}/auth/logout", headers=key), 403)
    data(await client.get(f"{API}/users", headers=key))  # the key itself still works


async def test_malformed_or_truncated_keys_get_the_message_of_any_bad_token(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    key = (await new_key(client, admin_headers, USERS_READ))["key"]
    bad_jwt = failure(await client.get(f"{API}/users", headers=bearer("eyJ.bad.token")), 401)

    for presented in (key[:-1], key + "A", "seam_", "seam_" + "!" * 43, key[:-1] + "*"):
        answer = failure(await client.get(f"{API}/users", headers=bearer(presented)), 401)
        assert answer == bad_jwt


async def test_the_audit_names_the_key_beside_its_owner(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await new_key(client, admin_headers, ROLES_CREATE)
    role = data(
        await client.post(
            f"{API}/roles", headers=bearer(created["key"]), json={"roleName": unique("r")}
        ),
        201,
    )

    params = {"entity": "role", "entityId": str(role["idRole"])}
    entries = data(await client.get(f"{API}/audit", headers=admin_headers, params=params))
    assert entries[0]["actorKeyId"] == created["idKey"]
    assert entries[0]["actorId"] == 1
    params = {"entity": "apikey", "entityId": str(created["idKey"])}
    (creation,) = data(await client.get(f"{API}/audit", headers=admin_headers, params=params))
    assert creation["changes"]["key"] == [None, None]
    assert creation["actorKeyId"] is None
    assert created["key"] not in str(creation)


async def test_last_use_is_shown_and_written_in_a_batch(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await new_key(client, admin_headers, USERS_READ)
    (listed,) = data(await client.get(f"{API}/auth/keys", headers=admin_headers))
    assert listed["lastUsedAt"] is None

    for _ in range(3):
        data(await client.get(f"{API}/users", headers=bearer(created["key"])))

    (listed,) = data(await client.get(f"{API}/auth/keys", headers=admin_headers))
    assert listed["lastUsedAt"] is not None
    async with app.seam.db.read() as conn:
        query = select(api_keys.c.last_used_at).where(api_keys.c.id_key == created["idKey"])
        assert (await conn.execute(query)).scalar_one() is None  # not written per request
    await app.seam.keys.flush()
    async with app.seam.db.read() as conn:
        assert (await conn.execute(query)).scalar_one() is not None


async def test_the_audit_names_the_owner_by_their_current_email(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    await grant(client, admin_headers, role_id=role_id, name_uri=ROLES_CREATE)
    owner = await member(client, admin_headers, role_id=role_id)
    key = bearer((await new_key(client, owner.headers, ROLES_CREATE))["key"])
    data(await client.post(f"{API}/roles", headers=key, json={"roleName": unique("r")}), 201)

    new_email = unique_email()
    body = {"email": new_email}
    data(await client.put(f"{API}/users/{owner.id}", headers=admin_headers, json=body))
    role = data(await client.post(f"{API}/roles", headers=key, json={"roleName": unique("r")}), 201)

    params = {"entity": "role", "entityId": str(role["idRole"])}
    (entry,) = data(await client.get(f"{API}/audit", headers=admin_headers, params=params))
    assert (entry["actorId"], entry["actorEmail"]) == (owner.id, new_email)


async def test_an_account_holds_a_bounded_number_of_keys(
    client: httpx.AsyncClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apikeys_service, "MAX_KEYS_PER_USER", 2)
    first = await new_key(client, admin_headers)
    await new_key(client, admin_headers)

    body = {"name": "third", "permissions": []}
    failure(await client.post(f"{API}/auth/keys", headers=admin_headers, json=body), 409)
    data(await client.delete(f"{API}/auth/keys/{first['idKey']}", headers=admin_headers))
    await new_key(client, admin_headers)


# -- an administrator's view of a user's keys ------------------------------------------------

USER_KEYS_READ = "GET /api/v1/users/:id/keys"
USER_KEY_REVOKE = "DELETE /api/v1/users/:id/keys/:idKey"


async def test_administrators_list_a_users_keys_as_the_owner_does_without_the_key(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    owner = await member(client, admin_headers)
    created = await new_key(client, owner.headers)
    url = f"{API}/users/{owner.id}/keys"

    listed = data(await client.get(url, headers=admin_headers))

    assert listed == data(await client.get(f"{API}/auth/keys", headers=owner.headers))
    assert [k["idKey"] for k in listed] == [created["idKey"]]
    assert set(listed[0]) == {
        "idKey",
        "name",
        "permissions",
        "expiresAt",
        "createdAt",
        "lastUsedAt",
    }
    assert data(await client.get(f"{API}/users/1/keys", headers=admin_headers)) == []
    failure(await client.get(f"{API}/users/999999/keys", headers=admin_headers), 404)


async def test_an_administrator_revokes_a_users_key_and_only_that_users(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    owner = await member(client, admin_headers)
    someone = await member(client, admin_headers)
    created = await new_key(client, owner.headers)
    kept = await new_key(client, owner.headers)

    not_theirs = f"{API}/users/{someone.id}/keys/{created['idKey']}"
    assert failure(await client.delete(not_theirs, headers=admin_headers), 404)["message"] == (
        "API key not found"
    )
    data(await client.get(f"{API}/roles", headers=bearer(created["key"])))
    url = f"{API}/users/{owner.id}/keys/{created['idKey']}"
    data(await client.delete(url, headers=admin_headers))

    failure(await client.get(f"{API}/roles", headers=bearer(created["key"])), 401)
    data(await client.get(f"{API}/roles", headers=bearer(kept["key"])))
    listed = data(await client.get(f"{API}/auth/keys", headers=owner.headers))
    assert [k["idKey"] for k in listed] == [kept["idKey"]]
    failure(await client.delete(url, headers=admin_headers), 404)
    missing_user = f"{API}/users/999999/keys/{kept['idKey']}"
    assert failure(await client.delete(missing_user, headers=admin_headers), 404)["message"] == (
        "User not found"
    )


async def test_an_administrators_revocation_is_audited_with_the_owner_and_no_key(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    owner = await member(client, admin_headers)
    created = await new_key(client, owner.headers)
    url = f"{API}/users/{owner.id}/keys/{created['idKey']}"
    data(await client.delete(url, headers=admin_headers))

    params = {"operation": "apikey:revokeByUser", "entityId": str(created["idKey"])}
    (entry,) = data(await client.get(f"{API}/audit", headers=admin_headers, params=params))
    assert (entry["entity"], entry["actorId"]) == ("apikey", 1)
    assert entry["changes"]["idUser"] == [owner.id, None]
    assert entry["changes"]["name"] == [created["name"], None]
    assert created["key"] not in str(entry)


async def test_a_users_keys_need_the_routes_permissions(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    reader = await member(client, admin_headers, role_id=role_id)
    owner = await member(client, admin_headers)
    created = await new_key(client, owner.headers)
    url = f"{API}/users/{owner.id}/keys"

    failure(await client.get(url, headers=reader.headers), 403)
    await grant(client, admin_headers, role_id=role_id, name_uri=USER_KEYS_READ)
    assert len(data(await client.get(url, headers=reader.headers))) == 1
    failure(await client.delete(f"{url}/{created['idKey']}", headers=reader.headers), 403)
    await grant(client, admin_headers, role_id=role_id, name_uri=USER_KEY_REVOKE)
    data(await client.delete(f"{url}/{created['idKey']}", headers=reader.headers))


async def test_a_users_keys_follow_the_delegation_rules_of_a_users_sessions(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """A role that may not change an account (its role holds more) sees its keys and
    sessions alike, and is refused ending either alike."""
    role_id = await create_role(client, admin_headers)
    for name_uri in (
        USER_KEYS_READ,
        USER_KEY_REVOKE,
        "GET /api/v1/users/:id/sessions",
        "DELETE /api/v1/users/:id/sessions",
    ):
        await grant(client, admin_headers, role_id=role_id, name_uri=name_uri)
    helper = await member(client, admin_headers, role_id=role_id)
    created = await new_key(client, admin_headers)  # the admin's, whose role holds everything

    sessions = await client.get(f"{API}/users/1/sessions", headers=helper.headers)
    keys = await client.get(f"{API}/users/1/keys", headers=helper.headers)
    assert sessions.status_code == keys.status_code == 200
    end_sessions = await client.delete(f"{API}/users/1/sessions", headers=helper.headers)
    revoke_key = await client.delete(
        f"{API}/users/1/keys/{created['idKey']}", headers=helper.headers
    )
    assert failure(revoke_key, 403)["message"] == failure(end_sessions, 403)["message"]
    data(await client.get(f"{API}/roles", headers=bearer(created["key"])))  # still there


async def test_a_key_never_reaches_a_users_keys_even_when_granted_them(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    owner = await member(client, admin_headers)
    target = await new_key(client, owner.headers)
    key = bearer((await new_key(client, admin_headers, USER_KEYS_READ, USER_KEY_REVOKE))["key"])

    listed = failure(await client.get(f"{API}/users/{owner.id}/keys", headers=key), 403)
    url = f"{API}/users/{owner.id}/keys/{target['idKey']}"
    revoked = failure(await client.delete(url, headers=key), 403)

    assert (
        listed["message"]
        == revoked["message"]
        == ("API keys cannot be used here; sign in with your password")
    )
    data(await client.get(f"{API}/roles", headers=bearer(target["key"])))
