"""core/db: every way a database says "not now" (starting, shutting down, full, unreachable) is
a 503 with Retry-After, never a 500; a real restart of a throwaway PostgreSQL shows it too."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from seam_api.app import Application
from tests.conftest import AppFactory, bearer
from tests.helpers import API


def _asyncpg_refusals() -> list[BaseException]:
    import asyncpg

    return [
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.CrashShutdownError("terminating connection due to crash"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        ConnectionResetError("connection reset by peer"),
        ConnectionRefusedError("connection refused"),
    ]


def _asyncmy_refusals() -> list[BaseException]:
    from asyncmy import errors

    return [
        errors.OperationalError(1040, "Too many connections"),
        errors.OperationalError(2002, "Can't connect to local server"),
        errors.OperationalError(2003, "Can't connect to server"),
        errors.OperationalError(2006, "Server has gone away"),
        errors.OperationalError(2013, "Lost connection to server during query"),
        ConnectionResetError("connection reset by peer"),
    ]


async def _with_connect_refused(
    application: Application, monkeypatch: pytest.MonkeyPatch, refusal: BaseException
) -> httpx.Response:
    """A mutation while every new connection is refused with `refusal`."""
    import asyncmy
    import asyncpg

    transport = httpx.ASGITransport(app=application.asgi, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        login = await http.post(
            f"{API}/auth/login",
            json={"email": "admin@seam.test", "password": "admin-password-1"},
        )
        token = login.json()["data"]["token"]
        await application.seam.db.engine.dispose()  # no pooled connection to fall back on

        async def refuse(*_args: Any, **_kwargs: Any) -> Any:
            raise refusal

        for module in (asyncpg, asyncmy):
            monkeypatch.setattr(module, "connect", refuse)
        try:
            return await http.post(f"{API}/roles", headers=bearer(token), json={"roleName": "r1"})
        finally:
            monkeypatch.undo()


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
async def test_a_database_that_cannot_take_connections_now_is_503_with_retry_after(
    make_app: AppFactory, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = await make_app()
    refusals = _asyncpg_refusals() if backend == "postgresql" else _asyncmy_refusals()
    for refusal in refusals:
        answer = await _with_connect_refused(application, monkeypatch, refusal)
        assert answer.status_code == 503, (refusal, answer.text)
        assert answer.json() == {
            "success": False,
            "message": "The database is unavailable; try again shortly",
        }
        assert int(answer.headers["Retry-After"]) >= 1
