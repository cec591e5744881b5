"""The session cache: a change that lands while an account is loading must win over what the
load read, so a disabled user is never cached back as active."""

from __future__ import annotations

import asyncio

from seam_api.security.credentials import TokenSigner
from seam_api.security.sessions import AccountState, SessionGuard
from tests.loaders import Gated

SECRET = "a-secret-for-the-session-cache-tests-0123456789"


def account(*, active: bool) -> AccountState:
    return AccountState(user_id=7, role_id=2, is_active=active, token_version=1)


def guard(load_account: Gated, load_revoked: Gated | None = None) -> SessionGuard:
    async def nothing_revoked(_now: int) -> dict[str, int]:
        return {}

    return SessionGuard(
        TokenSigner(SECRET, "HS256", 3600),
        load_account,  # type: ignore[arg-type]
        load_revoked or nothing_revoked,  # type: ignore[arg-type]
    )


async def test_an_account_forgotten_during_its_load_is_not_cached_stale() -> None:
    loads = Gated(account(active=True), account(active=False))
    sessions = guard(loads)
    racing = asyncio.create_task(sessions.account(7))
    await asyncio.sleep(0)
    sessions.forget_account(7)  # the user was disabled while the query ran
    loads.release.set()
    await racing

    current = await sessions.account(7)

    assert current is not None and current.is_active is False
    assert loads.calls == 2


async def test_an_undisturbed_account_load_is_cached() -> None:
    loads = Gated(account(active=True))
    loads.release.set()
    sessions = guard(loads)

    assert await sessions.account(7) == await sessions.account(7)
    assert loads.calls == 1


async def test_a_revocation_heard_during_warm_up_is_kept() -> None:
    accounts = Gated(account(active=True))
    accounts.release.set()
    stored = Gated({"some-older-jti": 2_000_000_000})
    sessions = guard(accounts, stored)
    token = sessions.signer.sign(user_id=7, email="a@b.c", role_id=2, role_name="r", version=1)
    claims = sessions.signer.verify(token)
    assert claims is not None and await sessions.authenticate(token) is not None
    warming = asyncio.create_task(sessions.warm())
    await asyncio.sleep(0)
    sessions.mark_revoked(claims.token_id, claims.expires_at)  # a logout heard meanwhile
    stored.release.set()
    await warming

    assert await sessions.authenticate(token) is None
