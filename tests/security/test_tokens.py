"""Reference §3 and 5: a token counts only if it is ours, unexpired, unrevoked and its account is
unchanged. Logout revokes the presented token; disabling or deleting a user, resetting or
changing their password, or changing their role revokes every token issued before and closes
their live sockets within a second.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import jwt
import pytest
import socketio

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET, Server, bearer, login
from tests.security import Tab

API = "/api/v1"
PASSWORD = "member-password-1"
OTHER_SECRET = "another-secret-that-is-at-least-32-bytes!"
REFUSED = "Invalid or expired token"


@pytest.fixture
def backend() -> str:
    """Token checks run above the database; the REST suites cover every backend."""
    return "sqlite"


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    email: str
    token: str


async def new_member(http: httpx.AsyncClient, admin: dict[str, str]) -> Member:
    email = f"member-{uuid.uuid4().hex[:12]}@example.com"
    body = {"full_name": "Token Tester", "email": email, "password": PASSWORD}
    answer = await http.post(f"{API}/auth/register", headers=admin, json=body)
    assert answer.status_code == 201, answer.text
    return Member(answer.json()["data"]["idUser"], email, await login(http, email, PASSWORD))


async def status_with(http: httpx.AsyncClient, token: str) -> int:
    """The status of an **auth** route called with `token`."""
    return (await http.get(f"{API}/roles", headers=bearer(token))).status_code


def reissued(
    token: str, *, secret: str = JWT_SECRET, algorithm: str = "HS256", **claims: Any
) -> str:
    """`token`'s claims, with `claims` over them (None drops one), signed again."""
    payload = jwt.decode(token, options={"verify_signature": False})
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    with warnings.catch_warnings():  # HS512 would like a longer key; the forgery does not care
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(payload, secret, algorithm=algorithm)


def unsigned(token: str) -> str:
    """`token`'s claims under `alg: none`, with no signature."""
    _header, payload, _signature = token.split(".")
    none_header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    return f"{none_header}.{payload}."


def with_role(token: str, role_id: int) -> str:
    """`token` with its roleId claim changed and its signature kept."""
    header, _payload, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["roleId"] = role_id
    payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    return f"{header}.{payload}.{signature}"


# -- what a token must be --------------------------------------------------------------------


async def test_a_token_reissued_with_our_key_is_accepted(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """The control for the forgeries below: only what each one changes makes it fail."""
    token = admin_headers["Authorization"].removeprefix("Bearer ")

    assert await status_with(client, reissued(token)) == 200


FORGERIES: dict[str, Callable[[str], str]] = {
    "signed with another key": lambda token: reissued(token, secret=OTHER_SECRET),
    "alg none": unsigned,
    "another algorithm with our key": lambda token: reissued(token, algorithm="HS512"),
    "expired": lambda token: reissued(
        token, iat=int(time.time()) - 7200, exp=int(time.time()) - 10
    ),
    "claims changed after signing": lambda token: with_role(token, 999),
    "without a token id": lambda token: reissued(token, jti=None),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
async def test_a_forged_or_expired_token_is_401(
    client: httpx.AsyncClient, admin_headers: dict[str, str], forge: Callable[[str], str]
) -> None:
    token = admin_headers["Authorization"].removeprefix("Bearer ")

    answer = await client.get(f"{API}/roles", headers=bearer(forge(token)))

    assert answer.status_code == 401
    assert answer.json() == {"success": False, "message": REFUSED}


# -- revocation over HTTP ----------------------------------------------------------------------


async def test_logout_revokes_the_presented_token(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    member = await new_member(client, admin_headers)
    logout = await client.post(f"{API}/auth/logout", headers=bearer(member.token))
    assert logout.status_code == 200

    assert await status_with(client, member.token) == 401


Change = Callable[[httpx.AsyncClient, dict[str, str], int], Awaitable[httpx.Response]]


async def _create_role(http: httpx.AsyncClient, admin: dict[str, str]) -> int:
    name = f"role-{uuid.uuid4().hex[:10]}"
    answer = await http.post(f"{API}/roles", headers=admin, json={"roleName": name})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["data"]["idRole"])


async def _change_role(
    http: httpx.AsyncClient, admin: dict[str, str], user_id: int
) -> httpx.Response:
    role_id = await _create_role(http, admin)
    return await http.put(f"{API}/users/{user_id}", headers=admin, json={"roleId": role_id})


REVOKING_CHANGES: dict[str, Change] = {
    "disabled": lambda http, admin, user_id: http.put(
        f"{API}/users/{user_id}/state", headers=admin, json={"isActive": 0}
    ),
    "deleted": lambda http, admin, user_id: http.delete(f"{API}/users/{user_id}", headers=admin),
    "password reset": lambda http, admin, user_id: http.put(
        f"{API}/users/{user_id}/resetPassword", headers=admin
    ),
    "password changed": lambda http, admin, user_id: http.put(
        f"{API}/users/{user_id}", headers=admin, json={"password": "a-new-password-2"}
    ),
    "role changed": _change_role,
}


@pytest.mark.parametrize("change", REVOKING_CHANGES.values(), ids=REVOKING_CHANGES.keys())
async def test_an_account_change_revokes_every_earlier_token(
    client: httpx.AsyncClient, admin_headers: dict[str, str], change: Change
) -> None:
    member = await new_member(client, admin_headers)
    second = await login(client, member.email, PASSWORD)

    answer = await change(client, admin_headers, member.id)

    assert answer.status_code == 200, answer.text
    assert [await status_with(client, token) for token in (member.token, second)] == [401, 401]


async def test_a_name_change_leaves_tokens_valid(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """The control: only the changes above end sessions."""
    member = await new_member(client, admin_headers)
    body = {"full_name": "Renamed Member"}
    answer = await client.put(f"{API}/users/{member.id}", headers=admin_headers, json=body)
    assert answer.status_code == 200

    assert await status_with(client, member.token) == 200


# -- revocation on live sockets (a real server) -----------------------------------------------


@dataclass
class Wire:
    """The real server, an HTTP client for it and the admin's headers."""

    url: str
    http: httpx.AsyncClient
    admin: dict[str, str]


@pytest.fixture(scope="module")
async def wire(server: Server) -> AsyncIterator[Wire]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        admin = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        yield Wire(server.url, http, admin)


async def refusal(url: str, token: str) -> str | None:
    """The handshake's refusal message (its `connect_error`), or None if it was accepted."""
    messages: list[str] = []

    def on_refused(data: Any = None) -> None:
        messages.append(data.get("message") if isinstance(data, dict) else str(data))

    async with aiohttp.ClientSession() as session:
        client = socketio.AsyncClient(reconnection=False, http_session=session)
        client.on("connect_error", on_refused)
        try:
            await client.connect(url, auth={"token": token}, transports=["websocket"])
        except socketio.exceptions.ConnectionError:
            assert messages, "refused without a connect_error"
            return messages[0]
        await client.disconnect()
    return None


@pytest.mark.parametrize("change", REVOKING_CHANGES.values(), ids=REVOKING_CHANGES.keys())
async def test_an_account_change_closes_live_sockets_within_a_second(
    wire: Wire, change: Change
) -> None:
    member = await new_member(wire.http, wire.admin)
    tabs = [
        await Tab().open(wire.url, member.token, "websocket"),
        await Tab().open(wire.url, member.token, "polling"),
    ]
    if change is _change_role:  # the new role is made first: only the change itself is timed
        role_id = await _create_role(wire.http, wire.admin)
        body = {"roleId": role_id}

        async def timed_change() -> httpx.Response:
            return await wire.http.put(f"{API}/users/{member.id}", headers=wire.admin, json=body)

    else:

        async def timed_change() -> httpx.Response:
            return await change(wire.http, wire.admin, member.id)

    closed = asyncio.gather(*(tab.closed.wait() for tab in tabs))
    try:
        answer, _ = await asyncio.wait_for(asyncio.gather(timed_change(), closed), timeout=1.0)
    finally:
        for tab in tabs:
            await tab.close()

    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("change", REVOKING_CHANGES.values(), ids=REVOKING_CHANGES.keys())
async def test_a_token_revoked_by_an_account_change_is_refused_at_the_handshake(
    wire: Wire, change: Change
) -> None:
    member = await new_member(wire.http, wire.admin)
    assert (await change(wire.http, wire.admin, member.id)).status_code == 200

    assert await refusal(wire.url, member.token) == REFUSED


async def test_a_token_revoked_by_logout_is_refused_at_the_handshake(wire: Wire) -> None:
    member = await new_member(wire.http, wire.admin)
    assert await refusal(wire.url, member.token) is None
    logout = await wire.http.post(f"{API}/auth/logout", headers=bearer(member.token))
    assert logout.status_code == 200

    assert await refusal(wire.url, member.token) == REFUSED


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
async def test_a_forged_or_expired_token_is_refused_at_the_handshake(
    wire: Wire, forge: Callable[[str], str]
) -> None:
    token = wire.admin["Authorization"].removeprefix("Bearer ")

    assert await refusal(wire.url, forge(token)) == REFUSED
