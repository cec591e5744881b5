"""Contract 9.5 on live sockets (a real server): a key opens a socket as a token does; disabling
or deleting its owner, or revoking it (its owner or an administrator), closes that socket within
a second; a bad key gets the handshake refusal of any bad token; and a key's socket hears no
progress of its owner's other calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Server, bearer, login
from tests.helpers import API, PASSWORD, data, register, unique
from tests.scaleout.conftest import Listener
from tests.security import Tab
from tests.security.test_tokens import REFUSED, refusal


@pytest.fixture(scope="module")
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
async def admin(http: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))


async def owner_with_key(http: httpx.AsyncClient, admin: dict[str, str]) -> tuple[int, dict]:
    """A new member and a key of theirs (for no permission: a socket needs none)."""
    user = await register(http, admin)
    headers = bearer(await login(http, user["email"], PASSWORD))
    body = {"name": unique("key"), "permissions": []}
    key = data(await http.post(f"{API}/auth/keys", headers=headers, json=body), 201)
    return int(user["idUser"]), {**key, "headers": headers}


Ending = Callable[[httpx.AsyncClient, dict[str, str], int, dict], Awaitable[httpx.Response]]
ENDINGS: dict[str, Ending] = {
    "owner disabled": lambda http, admin, user_id, _key: http.put(
        f"{API}/users/{user_id}/state", headers=admin, json={"isActive": 0}
    ),
    "owner deleted": lambda http, admin, user_id, _key: http.delete(
        f"{API}/users/{user_id}", headers=admin
    ),
    "key revoked": lambda http, _admin, _user_id, key: http.delete(
        f"{API}/auth/keys/{key['idKey']}", headers=key["headers"]
    ),
    "key revoked by an administrator": lambda http, admin, user_id, key: http.delete(
        f"{API}/users/{user_id}/keys/{key['idKey']}", headers=admin
    ),
}


@pytest.mark.parametrize("ending", ENDINGS.values(), ids=ENDINGS.keys())
async def test_a_keys_socket_closes_within_a_second_when_the_key_ends(
    server: Server, http: httpx.AsyncClient, admin: dict[str, str], ending: Ending
) -> None:
    user_id, key = await owner_with_key(http, admin)
    tab = await Tab().open(server.url, key["key"], "websocket")
    try:
        answer, _ = await asyncio.wait_for(
            asyncio.gather(ending(http, admin, user_id, key), tab.closed.wait()), timeout=1.0
        )
    finally:
        await tab.close()

    assert answer.status_code == 200, answer.text
    assert await refusal(server.url, key["key"]) == REFUSED


async def test_a_malformed_or_unknown_key_is_refused_at_the_handshake_like_a_bad_token(
    server: Server, http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _user_id, key = await owner_with_key(http, admin)

    assert await refusal(server.url, key["key"]) is None
    for presented in (key["key"][:-1], "seam_" + "A" * 43, "seam_"):
        assert await refusal(server.url, presented) == REFUSED


async def test_a_keys_socket_closes_when_the_key_expires(
    server: Server, http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    user = await register(http, admin)
    headers = bearer(await login(http, user["email"], PASSWORD))
    expires = datetime.now(UTC) + timedelta(seconds=2)
    body = {"name": unique("key"), "permissions": [], "expiresAt": expires.isoformat()}
    key = data(await http.post(f"{API}/auth/keys", headers=headers, json=body), 201)
    tab = await Tab().open(server.url, key["key"], "websocket")
    try:
        await asyncio.wait_for(tab.closed.wait(), timeout=4.0)
    finally:
        await tab.close()

    assert datetime.now(UTC) >= expires
    assert await refusal(server.url, key["key"]) == REFUSED


@pytest.mark.parametrize(("granted", "sees_data"), [([], False), (["GET /api/v1/users"], True)])
async def test_a_keys_socket_gets_users_data_only_if_the_key_may_read_users(
    server: Server, http: httpx.AsyncClient, admin: dict[str, str], granted: list, sees_data: bool
) -> None:
    body = {"name": unique("key"), "permissions": granted}
    key = data(await http.post(f"{API}/auth/keys", headers=admin, json=body), 201)["key"]
    user = await register(http, admin)
    listener = Listener()
    await listener.connect(server.url, key)
    try:
        renamed = {"full_name": unique("Renamed")}
        data(await http.put(f"{API}/users/{user['idUser']}", headers=admin, json=renamed))

        event = await listener.wait_for(
            lambda name, payload: name == "data:changed" and payload["operation"] == "user:edit"
        )
    finally:
        await listener.close()

    assert (event["data"] is not None) == sees_data
    if sees_data:
        assert event["data"]["full_name"] == renamed["full_name"]


async def test_a_keys_socket_hears_no_progress_of_its_owners_calls_that_name_no_socket(
    server: Server, http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """The owner's call without X-Socket-ID reports to the owner's room: the owner's own
    sockets, not the key's, whose grant (none here) would not let it read the user shown."""
    user = await register(http, admin)
    body = {"name": unique("key"), "permissions": []}
    key = data(await http.post(f"{API}/auth/keys", headers=admin, json=body), 201)["key"]
    browser, program = Listener(), Listener()
    await browser.connect(server.url, admin["Authorization"].removeprefix("Bearer "))
    await program.connect(server.url, key)
    try:
        data(await http.get(f"{API}/users/{user['idUser']}", headers=admin))
        shown = await browser.wait_for(
            lambda name, event: name == "operation:progress" and event["status"] == "success"
        )
        # A change after it: each socket's events arrive in order, so once the key's socket
        # has this one, any progress sent to it before would have arrived too.
        renamed = {"full_name": unique("Renamed")}
        data(await http.put(f"{API}/users/{user['idUser']}", headers=admin, json=renamed))
        await program.wait_for(lambda name, _event: name == "data:changed")
        own_call = {**bearer(key), "X-Socket-ID": program.sid}
        data(await http.get(f"{API}/roles", headers=own_call))
        own = await program.wait_for(
            lambda name, event: name == "operation:progress" and event["status"] == "success"
        )
    finally:
        await browser.close()
        await program.close()

    assert shown["data"]["email"] == user["email"]
    progress = program.matching(lambda name, _event: name == "operation:progress")
    assert {event["operation"] for event in progress} == {"role:fetchAll"}
    assert own["operation"] == "role:fetchAll"
