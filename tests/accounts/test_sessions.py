"""Sessions and refresh tokens (contract 9.4): every sign-in is a session, refresh tokens
rotate, a used one ends its session, and ending a session ends its tokens and sockets."""

from __future__ import annotations

import asyncio

import httpx

from tests.accounts import new_account, sign_in
from tests.accounts.conftest import Live
from tests.conftest import bearer
from tests.helpers import API, create_role, data, failure, grant
from tests.security import Tab

SESSION_FIELDS = {"idSession", "createdAt", "lastSeenAt", "ip", "userAgent"}


async def refresh(http: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await http.post(f"{API}/auth/refresh", json={"refreshToken": refresh_token})


async def test_every_sign_in_is_a_session_and_the_current_one_is_marked(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(client, admin_headers)
    await sign_in(client, account.email)
    sessions = data(await client.get(f"{API}/auth/sessions", headers=account.headers))
    assert len(sessions) == 2
    assert all(set(session) == {*SESSION_FIELDS, "current"} for session in sessions)
    assert [session["current"] for session in sessions] == [True, False]
    assert sessions[0]["createdAt"].endswith("Z")


async def test_a_refresh_answers_new_tokens_and_retires_the_old_refresh_token(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(client, admin_headers)
    pair = data(await refresh(client, account.refresh_token))
    assert set(pair) == {"token", "expiresIn", "refreshToken"}
    assert pair["refreshToken"] != account.refresh_token
    assert data(await client.get(f"{API}/roles", headers=bearer(pair["token"])))
    again = data(await refresh(client, pair["refreshToken"]))
    assert data(await client.get(f"{API}/roles", headers=bearer(again["token"])))


async def test_a_used_refresh_token_ends_the_whole_session(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(client, admin_headers)
    pair = data(await refresh(client, account.refresh_token))
    failure(await refresh(client, account.refresh_token), 401)  # the thief, or the victim
    failure(await refresh(client, pair["refreshToken"]), 401)
    failure(await client.get(f"{API}/roles", headers=bearer(pair["token"])), 401)
    failure(await client.get(f"{API}/roles", headers=account.headers), 401)
    assert (await sign_in(client, account.email))["token"]  # the account itself is fine
    entries = data(
        await client.get(
            f"{API}/audit", headers=admin_headers, params={"operation": "auth:refreshReused"}
        )
    )
    assert [entry["actorId"] for entry in entries] == [account.id]


async def test_an_unknown_refresh_token_is_401(client: httpx.AsyncClient) -> None:
    failure(await refresh(client, "not-a-refresh-token"), 401)
    failure(await client.post(f"{API}/auth/refresh", json={}), 400)


async def test_a_disabled_user_cannot_refresh(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(client, admin_headers)
    state = {"isActive": 0}
    data(await client.put(f"{API}/users/{account.id}/state", headers=admin_headers, json=state))
    failure(await refresh(client, account.refresh_token), 401)
    data(
        await client.put(
            f"{API}/users/{account.id}/state", headers=admin_headers, json={"isActive": 1}
        )
    )
    failure(await refresh(client, account.refresh_token), 401)  # its session ended for good


async def test_ending_one_of_your_sessions_ends_its_tokens(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(client, admin_headers)
    other = await sign_in(client, account.email)
    sessions = data(await client.get(f"{API}/auth/sessions", headers=account.headers))
    other_id = next(session["idSession"] for session in sessions if not session["current"])
    url = f"{API}/auth/sessions/{other_id}"
    data(await client.delete(url, headers=account.headers))
    failure(await client.get(f"{API}/roles", headers=bearer(other["token"])), 401)
    failure(await refresh(client, other["refreshToken"]), 401)
    assert data(await client.get(f"{API}/roles", headers=account.headers))
    failure(await client.delete(url, headers=account.headers), 404)


async def test_ending_another_accounts_session_by_id_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    victim = await new_account(client, admin_headers)
    attacker = await new_account(client, admin_headers)
    sessions = data(await client.get(f"{API}/auth/sessions", headers=victim.headers))
    url = f"{API}/auth/sessions/{sessions[0]['idSession']}"
    failure(await client.delete(url, headers=attacker.headers), 404)
    assert data(await client.get(f"{API}/roles", headers=victim.headers))
    failure(await client.delete(f"{API}/auth/sessions/abc", headers=attacker.headers), 400)


async def test_signing_out_everywhere_else_keeps_this_session(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(client, admin_headers)
    others = [await sign_in(client, account.email) for _ in range(2)]
    data(await client.delete(f"{API}/auth/sessions", headers=account.headers))
    for other in others:
        failure(await client.get(f"{API}/roles", headers=bearer(other["token"])), 401)
    sessions = data(await client.get(f"{API}/auth/sessions", headers=account.headers))
    assert [session["current"] for session in sessions] == [True]


async def test_logout_ends_the_session_and_its_refresh_token(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(client, admin_headers)
    pair = data(await refresh(client, account.refresh_token))
    data(await client.post(f"{API}/auth/logout", headers=bearer(pair["token"])))
    failure(await client.get(f"{API}/roles", headers=account.headers), 401)  # same session
    failure(await refresh(client, pair["refreshToken"]), 401)


async def test_administrators_list_and_end_a_users_sessions(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(client, admin_headers)
    url = f"{API}/users/{account.id}/sessions"
    sessions = data(await client.get(url, headers=admin_headers))
    assert len(sessions) == 1 and set(sessions[0]) == SESSION_FIELDS
    data(await client.delete(url, headers=admin_headers))
    failure(await client.get(f"{API}/roles", headers=account.headers), 401)
    failure(await refresh(client, account.refresh_token), 401)
    assert data(await client.get(url, headers=admin_headers)) == []
    failure(await client.get(f"{API}/users/999999/sessions", headers=admin_headers), 404)


async def test_a_users_sessions_need_the_routes_permissions(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    role_id = await create_role(client, admin_headers)
    reader = await new_account(client, admin_headers, role_id=role_id)
    target = await new_account(client, admin_headers)
    url = f"{API}/users/{target.id}/sessions"
    failure(await client.get(url, headers=reader.headers), 403)
    await grant(client, admin_headers, role_id=role_id, name_uri="GET /api/v1/users/:id/sessions")
    assert len(data(await client.get(url, headers=reader.headers))) == 1
    failure(await client.delete(url, headers=reader.headers), 403)


async def test_session_events_carry_ids_only(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    account = await new_account(client, admin_headers)
    data(await client.delete(f"{API}/auth/sessions", headers=account.headers))
    entries = data(
        await client.get(
            f"{API}/audit", headers=admin_headers, params={"operation": "session:revokeOthers"}
        )
    )
    assert entries and entries[0]["actorId"] == account.id
    assert account.refresh_token not in str(entries) and account.token not in str(entries)


async def test_ending_a_session_closes_its_sockets_within_a_second(
    live: Live,
) -> None:
    url, http, admin = live
    account = await new_account(http, admin)
    kept = await sign_in(http, account.email)
    ending = await Tab().open(url, account.token, "websocket")
    staying = await Tab().open(url, kept["token"], "websocket")
    try:
        sessions = data(await http.get(f"{API}/auth/sessions", headers=bearer(kept["token"])))
        ended = next(session["idSession"] for session in sessions if not session["current"])
        await http.delete(f"{API}/auth/sessions/{ended}", headers=bearer(kept["token"]))
        await asyncio.wait_for(ending.closed.wait(), 1.0)
        await asyncio.sleep(0.2)
        assert not staying.closed.is_set()
    finally:
        await ending.close()
        await staying.close()
