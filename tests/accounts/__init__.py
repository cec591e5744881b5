"""Accounts (contract 9.1 to 9.4): shared builders for the tests of this folder."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pyotp
import pytest

from seam_api.security import totp as totp_module
from tests.conftest import bearer
from tests.helpers import API, PASSWORD, data, register

STEP = 30


@dataclass
class Account:
    """A user of the tests, with the tokens of their latest sign-in."""

    id: int
    email: str
    password: str
    token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


async def sign_in(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> Any:
    """The data of a successful POST /auth/login."""
    body = {"email": email, "password": password}
    return data(await http.post(f"{API}/auth/login", json=body))


async def new_account(
    http: httpx.AsyncClient, admin: dict[str, str], *, role_id: int | None = None
) -> Account:
    user = await register(http, admin, role_id=role_id)
    signed = await sign_in(http, user["email"])
    return Account(
        int(user["idUser"]), user["email"], PASSWORD, signed["token"], signed["refreshToken"]
    )


async def at_step_start() -> None:
    """Wait out the last seconds of a 30 s step, so a code made now is still current (or
    still the previous step's) when the server checks it."""
    into = time.time() % STEP
    if into > STEP - 3:
        await asyncio.sleep(STEP - into + 0.1)


def code_at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + offset_steps * STEP)


@contextmanager
def server_clock(monkeypatch: pytest.MonkeyPatch, offset: float) -> Iterator[None]:
    """The server's TOTP checks run `offset` seconds away from now (for an enrolment confirmed
    "earlier", so every code of the present is unspent)."""
    monkeypatch.setattr(totp_module, "time", SimpleNamespace(time=lambda: time.time() + offset))
    try:
        yield
    finally:
        monkeypatch.setattr(totp_module, "time", time)


async def enable_mfa(
    http: httpx.AsyncClient, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[str, list[str]]:
    """Enrol and confirm a TOTP second factor, confirmed with a code of five minutes ago so
    the codes of the present are unspent; the secret and the recovery codes."""
    enrolment = data(await http.post(f"{API}/auth/mfa/totp", headers=headers))
    secret = enrolment["secret"]
    with server_clock(monkeypatch, -300):
        code = pyotp.TOTP(secret).at(time.time() - 300)
        confirmed = data(
            await http.post(f"{API}/auth/mfa/totp/confirm", headers=headers, json={"code": code})
        )
    return secret, confirmed["recoveryCodes"]


async def challenge(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """The MFA token of the first step of a sign-in with a second factor."""
    answer = await sign_in(http, email, password)
    assert answer["mfaRequired"] is True and "token" not in answer, answer
    assert 0 < answer["expiresIn"] <= 300
    return str(answer["mfaToken"])


async def second_step(http: httpx.AsyncClient, mfa_token: str, code: str) -> httpx.Response:
    body = {"mfaToken": mfa_token, "code": code}
    return await http.post(f"{API}/auth/login/mfa", json=body)
