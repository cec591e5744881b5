"""Contract 5 on the wire: a real `seam-api serve`, real Socket.IO clients, real HTTP calls.

Each `Tab` is one browser tab: a `socketio.AsyncClient` that records what it receives. Waits
have deadlines and never stand in for assertions. "Nothing arrived" is proven with `settle`:
the server delivers events in the order they were made, so once a later broadcast (a marker)
has reached a tab, no earlier event is still on its way to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import jwt
import pyotp
import pytest
import socketio
from socketio.packet import EVENT

from seam_api.app import ROUTERS, Application
from seam_api.cli import connection_options
from seam_api.core.context import OperationRun, RequestContext, begin
from seam_api.core.operation_names import is_mutation
from seam_api.messages.es import MESSAGES as ES
from seam_api.operations import record
from seam_api.realtime import server as realtime_module
from seam_api.realtime.server import EventPacket, Realtime
from seam_api.runtime import engineio_writer
from seam_api.security.access import name_uri
from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    JWT_SECRET,
    AppFactory,
    Server,
    login,
    start_server,
)
from tests.mailbox import Inbox, SmtpSink, link_token, smtp_sink
from tests.server_process import served_here

DEADLINE = 10.0  # seconds an expected event may take before the test fails
USERS_READ = "GET /api/v1/users"
LIFECYCLE = re.compile(r"start(,processing)*,(success|error)")

Event = dict[str, Any]


# -- tabs ------------------------------------------------------------------------------------


class Tab:
    """One browser tab: a Socket.IO connection and everything it received."""

    def __init__(self, name: str, markers: set[str], **options: Any) -> None:
        self.name = name
        self.client = socketio.AsyncClient(**{"reconnection": False, **options})
        self.progress: list[Event] = []
        self.changed: list[Event] = []  # data:changed, markers left out
        self.markers: list[Event] = []
        self.refusals: list[str] = []
        self.disconnected = asyncio.Event()
        self._marker_ids = markers
        self._arrived = asyncio.Event()
        self.client.on("operation:progress", self._on_progress)
        self.client.on("data:changed", self._on_changed)
        self.client.on("connect", self._arrived.set)
        self.client.on("connect_error", self._on_refused)
        self.client.on("disconnect", self._on_disconnect)

    @property
    def id(self) -> str:
        sid = self.client.get_sid()
        assert sid is not None, f"{self.name} is not connected"
        return str(sid)

    def _on_progress(self, payload: Event) -> None:
        self.progress.append(payload)
        self._arrived.set()

    def _on_changed(self, payload: Event, event_id: str | None = None) -> None:
        assert event_id == payload["eventId"], "the packet's last argument is the eventId"
        marker = payload.get("initiatorSocketId") in self._marker_ids
        (self.markers if marker else self.changed).append(payload)
        self._arrived.set()

    def _on_refused(self, data: Any = None) -> None:
        self.refusals.append(data.get("message") if isinstance(data, dict) else str(data))
        self._arrived.set()

    def _on_disconnect(self, *_reason: Any) -> None:
        self.disconnected.set()
        self._arrived.set()

    async def wait_for(self, ready: Callable[[], bool], what: str) -> None:
        """Return once `ready()` holds; fail after DEADLINE with what did arrive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE
        while True:
            self._arrived.clear()
            if ready():
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"{self.name}: no {what} within {DEADLINE}s; "
                    f"progress={self.progress} changed={self.changed} refusals={self.refusals}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def finished(self, operation: str) -> list[Event]:
        """The progress of `operation` on this tab, once its `success` or `error` arrived."""
        await self.wait_for(
            lambda: any(
                e["operation"] == operation and e["status"] in ("success", "error")
                for e in self.progress
            ),
            f"end of {operation}",
        )
        return [e for e in self.progress if e["operation"] == operation]

    def changed_by(self, initiator: str | None, operation: str | None = None) -> list[Event]:
        return [
            e
            for e in self.changed
            if e["initiatorSocketId"] == initiator
            and (operation is None or e["operation"] == operation)
        ]

    def received(self) -> str:
        """Everything this tab received, as one JSON text (for 'never contains' checks)."""
        return json.dumps([self.progress, self.changed, self.markers])


def statuses(events: list[Event]) -> str:
    return ",".join(e["status"] for e in events)


@dataclass
class Account:
    user_id: int
    email: str
    password: str
    token: str


class Clients:
    """The HTTP client, the admin, the tabs, and the marker tab behind `setup` and `settle`.

    `setup` calls carry the marker tab's X-Socket-ID, so what a test prepares never shows up
    in the progress of the tabs it watches, and their data:changed are filed as markers.
    """

    def __init__(
        self, server: Server, http: httpx.AsyncClient, admin: Account, inbox: Inbox
    ) -> None:
        self.url = server.url
        self.inbox = inbox
        self.http = http
        self.admin = admin
        self._tabs: list[Tab] = []
        self._marker_ids: set[str] = set()
        self._marker_tab: Tab | None = None
        self._retiring: list[tuple[Account, Tab]] = []

    def tab(self, name: str, **options: Any) -> Tab:
        created = Tab(name, self._marker_ids, **options)
        self._tabs.append(created)
        return created

    async def open(
        self,
        name: str,
        token: str,
        *,
        headers: dict[str, str] | None = None,
        url: str | None = None,
        transports: list[str] | None = None,
        **options: Any,
    ) -> Tab:
        opened = self.tab(name, **options)
        await opened.client.connect(
            url or self.url,
            auth={"token": token},
            headers=headers or {},
            transports=transports,
            wait_timeout=DEADLINE,
        )
        return opened

    async def refusal(self, auth: dict[str, Any] | None, language: str | None = None) -> str:
        """The `connect_error` message a handshake gets; fails if it is accepted."""
        refused = self.tab("refused")
        headers = {"Accept-Language": language} if language else {}
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.client.connect(
                self.url, auth=auth, headers=headers, wait_timeout=DEADLINE
            )
        assert not refused.client.connected
        assert len(refused.refusals) == 1, refused.refusals
        return refused.refusals[0]

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = "admin",
        tab: Tab | str | None = None,
        json: Any = None,
        language: str | None = None,
    ) -> httpx.Response:
        """One API call as a client makes it: bearer token and, if given, X-Socket-ID."""
        headers: dict[str, str] = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {self.admin.token if token == 'admin' else token}"
        if tab is not None:
            headers["X-Socket-ID"] = tab if isinstance(tab, str) else tab.id
        if language is not None:
            headers["Accept-Language"] = language
        return await self.http.request(method, f"/api/v1{path}", headers=headers, json=json)

    async def setup(self, method: str, path: str, json: Any = None) -> Any:
        """An admin call that prepares a test; its events go to the marker tab only."""
        response = await self.call(method, path, tab=await self.marker_tab(), json=json)
        assert response.is_success, response.text
        return response.json()["data"]

    async def marker_tab(self) -> Tab:
        if self._marker_tab is None:
            self._marker_tab = await self.open("marker", self.admin.token)
            self._marker_ids.add(self._marker_tab.id)
        return self._marker_tab

    async def settle(self, *tabs: Tab) -> None:
        """Wait until every event made so far has reached `tabs` (see the module docstring)."""
        marker = await self.marker_tab()
        item = await self.setup("POST", "/sidebar", {"nameItem": f"marker-{unique()}"})
        for tab in tabs:
            await tab.wait_for(
                lambda tab=tab: any(
                    e["initiatorSocketId"] == marker.id and e["data"] == item for e in tab.markers
                ),
                "marker",
            )

    async def user(self, role_id: int, *, sign_in: bool = True) -> Account:
        """A new user of `role_id`, registered by the admin, signed in."""
        email = f"user-{unique()}@seam-api.dev"
        password = "password-123"
        created = await self.setup(
            "POST",
            "/auth/register",
            {"full_name": "Test User", "email": email, "password": password, "roleId": role_id},
        )
        token = await sign_in_as(self.http, email, password) if sign_in else ""
        return Account(created["idUser"], email, password, token)

    async def role(self, *permissions: str) -> int:
        """A new role holding `permissions` (nameUris)."""
        role = await self.setup("POST", "/roles", {"roleName": f"role-{unique()}"})
        for uri in permissions:
            found = await self.setup("GET", f"/permission/getByNameUri?nameUri={uri}")
            await self.setup(
                "POST",
                "/permission/assign",
                {"roleId": role["idRole"], "permissionId": found[0]["idPermission"]},
            )
        return int(role["idRole"])

    async def open_polling(self, name: str, role_id: int) -> tuple[Tab, Account]:
        """A polling-only tab of a new user, who is disabled when the test ends.

        The server then ends the connection itself. A client that closes a polling connection
        waits out its pending long-poll instead: python-engineio's server leaves it open until
        the ping timeout (about 45 s), which would hold up the test and the server's shutdown.
        """
        account = await self.user(role_id)
        tab = await self.open(name, account.token, transports=["polling"])
        self._retiring.append((account, tab))
        return tab, account

    async def close_tabs(self) -> None:
        """Close the tabs opened so far, except the marker tab (it lives as long as this)."""
        for account, tab in self._retiring:
            if tab.client.connected:
                await self.setup("PUT", f"/users/{account.user_id}/state", {"isActive": 0})
                await tab.wait_for(tab.disconnected.is_set, "the disconnect")
        self._retiring.clear()
        for tab in self._tabs:
            if tab is not self._marker_tab:
                await tab.client.shutdown()
        self._tabs = [self._marker_tab] if self._marker_tab else []

    async def close(self) -> None:
        await self.close_tabs()
        if self._marker_tab is not None:
            await self._marker_tab.client.shutdown()


def unique() -> str:
    return uuid.uuid4().hex[:10]


async def sign_in_as(http: httpx.AsyncClient, email: str, password: str) -> str:
    response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["token"])


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mailbox() -> Iterator[SmtpSink]:
    """Where the module's server sends mail (password reset and invitation links)."""
    with smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mailbox: SmtpSink) -> Iterator[Server]:
    """One real server on SQLite for the module, able to send mail."""
    running = start_server(tmp_path_factory.mktemp("server"), {"SEAM_SMTP_URL": mailbox.url})
    yield running
    running.stop()


@pytest.fixture(scope="module")
async def world(server: Server, mailbox: SmtpSink) -> AsyncIterator[Clients]:
    """The module's HTTP client, admin session and marker tab, shared by its tests."""
    async with httpx.AsyncClient(base_url=server.url, timeout=DEADLINE) as http:
        token = await sign_in_as(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        claims = jwt.decode(token, options={"verify_signature": False})
        admin = Account(int(claims["idUser"]), ADMIN_EMAIL, ADMIN_PASSWORD, token)
        shared = Clients(server, http, admin, mailbox.inbox)
        try:
            yield shared
        finally:
            await shared.close()


@pytest.fixture
async def clients(world: Clients) -> AsyncIterator[Clients]:
    """The shared clients; the tabs a test opens are closed after it."""
    try:
        yield world
    finally:
        await world.close_tabs()


@pytest.fixture(scope="module")
def admin(world: Clients) -> Account:
    return world.admin


@pytest.fixture(scope="module")
async def user_role(world: Clients) -> int:
    """The self-registration role `user`, which holds no permission."""
    roles = await world.setup("GET", "/roles")
    return int(next(r["idRole"] for r in roles if r["roleName"] == "user"))


@pytest.fixture(scope="module")
async def member(world: Clients, user_role: int) -> Account:
    """A second user, whose role holds no permission (so it may not read users)."""
    return await world.user(user_role)


# -- X-Socket-ID targeting (5.1) -------------------------------------------------------------


async def test_progress_goes_only_to_the_tab_named_by_x_socket_id(
    clients: Clients, admin: Account, member: Account
) -> None:
    tabs = [await clients.open(f"admin-{n}", admin.token) for n in range(3)]
    others = [await clients.open(f"member-{n}", member.token) for n in range(2)]

    await clients.call("GET", "/roles", tab=tabs[1])
    await tabs[1].finished("role:fetchAll")
    await clients.settle(*tabs, *others)

    assert statuses(tabs[1].progress) == "start,processing,success"
    assert [t.progress for t in (tabs[0], tabs[2], *others)] == [[], [], [], []]


async def test_progress_without_x_socket_id_reaches_every_tab_of_the_caller_only(
    clients: Clients, admin: Account, member: Account
) -> None:
    tabs = [await clients.open(f"admin-{n}", admin.token) for n in range(3)]
    others = [await clients.open(f"member-{n}", member.token) for n in range(2)]

    await clients.call("GET", "/roles")
    for tab in tabs:
        assert statuses(await tab.finished("role:fetchAll")) == "start,processing,success"
    await clients.settle(*others)

    assert [t.progress for t in others] == [[], []]


async def test_foreign_socket_id_is_never_targeted_and_the_callers_tabs_get_the_events(
    clients: Clients, admin: Account, member: Account
) -> None:
    tabs = [await clients.open(f"admin-{n}", admin.token) for n in range(2)]
    victim = await clients.open("member", member.token)

    await clients.call("GET", "/roles", tab=victim)
    for tab in tabs:
        assert statuses(await tab.finished("role:fetchAll")) == "start,processing,success"
    await clients.settle(victim)

    assert victim.progress == []


async def test_socket_id_of_no_connected_socket_falls_back_to_the_callers_tabs(
    clients: Clients, admin: Account
) -> None:
    tabs = [await clients.open(f"admin-{n}", admin.token) for n in range(2)]

    response = await clients.call("GET", "/roles", tab="no-such-socket")

    assert response.status_code == 200
    for tab in tabs:
        assert statuses(await tab.finished("role:fetchAll")) == "start,processing,success"


async def test_anonymous_request_reaches_no_socket_even_when_naming_one(
    clients: Clients, admin: Account
) -> None:
    tab = await clients.open("admin", admin.token)

    response = await clients.call(
        "POST",
        "/auth/login",
        token=None,
        tab=tab,
        json={"email": ADMIN_EMAIL, "password": "wrong-password"},
    )
    await clients.settle(tab)

    assert response.status_code == 401
    assert tab.progress == []


# -- the lifecycle (5.1) ---------------------------------------------------------------------


async def test_read_emits_start_processing_success_with_a_count_summary(
    clients: Clients, admin: Account
) -> None:
    tab = await clients.open("admin", admin.token)

    response = await clients.call("GET", "/users", tab=tab)
    events = await tab.finished("user:fetchAll")

    assert statuses(events) == "start,processing,success"
    assert events[-1]["message"] == response.json()["message"]
    assert events[-1]["data"] == {"count": len(response.json()["data"])}
    assert [e["data"] for e in events[:-1]] == [None, None]


async def test_mutation_emits_start_processing_success_with_the_entity(
    clients: Clients, admin: Account, user_role: int
) -> None:
    target = await clients.user(user_role, sign_in=False)
    tab = await clients.open("admin", admin.token)

    response = await clients.call(
        "PUT", f"/users/{target.user_id}", tab=tab, json={"full_name": "Renamed User"}
    )
    events = await tab.finished("user:edit")

    assert LIFECYCLE.fullmatch(statuses(events)) and events[-1]["status"] == "success"
    assert events[-1]["message"] == response.json()["message"]
    assert events[-1]["data"] == response.json()["data"]


async def test_progress_timestamps_are_iso_8601_and_in_order(
    clients: Clients, admin: Account
) -> None:
    tab = await clients.open("admin", admin.token)

    await clients.call("GET", "/users", tab=tab)
    events = await tab.finished("user:fetchAll")

    moments = [datetime.fromisoformat(e["timestamp"]) for e in events]
    assert all(moment.tzinfo is not None for moment in moments)
    assert moments == sorted(moments)


def test_a_timestamp_is_utc_to_the_millisecond_and_follows_the_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stamps = []
    # Within a millisecond, across one, across a second, and hours later.
    for now_ms in (1_764_400_000_123, 1_764_400_000_123, 1_764_400_000_999, 1_764_400_001_000):
        monkeypatch.setattr(realtime_module.time, "time_ns", lambda now=now_ms: now * 1_000_000)
        stamps.append(realtime_module._now_iso())
    monkeypatch.setattr(realtime_module.time, "time_ns", lambda: 1_764_460_799_999_000_000)
    stamps.append(realtime_module._now_iso())
    assert stamps == [
        "2025-11-29T07:06:40.123Z",
        "2025-11-29T07:06:40.123Z",
        "2025-11-29T07:06:40.999Z",
        "2025-11-29T07:06:41.000Z",
        "2025-11-29T23:59:59.999Z",
    ]


async def test_concurrent_requests_from_two_tabs_each_get_only_their_own_ordered_events(
    clients: Clients, admin: Account, member: Account, user_role: int
) -> None:
    target = await clients.user(user_role, sign_in=False)
    reading = await clients.open("reading", admin.token)
    writing = await clients.open("writing", admin.token, transports=["websocket"])
    member_tab = await clients.open("member", member.token)
    third_tab, third = await clients.open_polling("third", user_role)
    rounds = 5

    async def read() -> None:
        for _ in range(rounds):
            assert (await clients.call("GET", "/users", tab=reading)).status_code == 200

    async def write() -> None:
        for n in range(rounds):
            body = {"full_name": f"Concurrent {n}"}
            response = await clients.call("PUT", f"/users/{target.user_id}", tab=writing, json=body)
            assert response.status_code == 200

    async def member_reads() -> None:
        for _ in range(rounds):
            assert (await clients.call("GET", "/roles", token=member.token)).status_code == 200

    async def third_reads() -> None:
        for _ in range(rounds):
            response = await clients.call("GET", "/sidebar", token=third.token, tab=third_tab)
            assert response.status_code == 200

    await asyncio.gather(read(), write(), member_reads(), third_reads())
    await clients.settle(reading, writing, member_tab, third_tab)

    for tab, operation in (
        (reading, "user:fetchAll"),
        (writing, "user:edit"),
        (member_tab, "role:fetchAll"),
        (third_tab, "sidebar:fetchByRole"),
    ):
        assert {e["operation"] for e in tab.progress} == {operation}
        runs = statuses(tab.progress).replace(",start", "|start").split("|")
        assert len(runs) == rounds
        assert all(LIFECYCLE.fullmatch(run) and run.endswith("success") for run in runs)
    edits = [e["data"]["full_name"] for e in writing.progress if e["status"] == "success"]
    assert edits == [f"Concurrent {n}" for n in range(rounds)]


# Every route of the contract, by operation, and what it takes to call it once successfully.

ROUTES = {
    "auth:register": "POST /auth/register",
    "auth:login": "POST /auth/login",
    "auth:logout": "POST /auth/logout",
    "capabilities:fetchOne": "GET /auth/capabilities",
    "user:fetchAll": "GET /users",
    "user:import": "POST /users/import",
    "user:fetchOne": "GET /users/:id",
    "user:edit": "PUT /users/:id",
    "user:setState": "PUT /users/:id/state",
    "user:resetPassword": "PUT /users/:id/resetPassword",
    "user:delete": "DELETE /users/:id",
    "role:fetchAll": "GET /roles",
    "role:create": "POST /roles",
    "role:edit": "PUT /roles/:idRole",
    "role:delete": "DELETE /roles/:idRole",
    "permission:fetchAll": "GET /permission",
    "permission:create": "POST /permission/register",
    "permission:fetchByRole": "GET /permission/getByRoleId",
    "permission:fetchByUri": "GET /permission/getByNameUri",
    "permission:assign": "POST /permission/assign",
    "permission:unassign": "DELETE /permission/unassign",
    "permission:delete": "DELETE /permission/:id",
    "sidebar:fetchByRole": "GET /sidebar",
    "sidebar:fetchAll": "GET /sidebar/all",
    "sidebar:create": "POST /sidebar",
    "sidebar:edit": "PUT /sidebar/:idItem",
    "sidebar:delete": "DELETE /sidebar/:idItem",
    "sidebar:assign": "POST /sidebar/:idItem/role/:idRole",
    "sidebar:unassign": "DELETE /sidebar/:idItem/role/:idRole",
    "audit:fetchAll": "GET /audit",
    "audit:fetchOne": "GET /audit/:eventId",
    "audit:export": "GET /audit/export",
    "account:fetchOne": "GET /auth/me",
    "account:edit": "PUT /auth/me",
    "account:changePassword": "PUT /auth/password",
    "mfa:enrol": "POST /auth/mfa/totp",
    "mfa:confirm": "POST /auth/mfa/totp/confirm",
    "mfa:disable": "DELETE /auth/mfa/totp",
    "auth:loginMfa": "POST /auth/login/mfa",
    "auth:refresh": "POST /auth/refresh",
    "user:resetMfa": "DELETE /users/:id/mfa",
    "mfa:fetchByUser": "GET /users/:id/mfa",
    "session:fetchAll": "GET /auth/sessions",
    "session:revoke": "DELETE /auth/sessions/:idSession",
    "session:revokeOthers": "DELETE /auth/sessions",
    "session:fetchByUser": "GET /users/:id/sessions",
    "session:revokeByUser": "DELETE /users/:id/sessions",
    "apikey:create": "POST /auth/keys",
    "apikey:fetchAll": "GET /auth/keys",
    "apikey:revoke": "DELETE /auth/keys/:idKey",
    "apikey:fetchByUser": "GET /users/:id/keys",
    "apikey:revokeByUser": "DELETE /users/:id/keys/:idKey",
    "passwordOptions:fetchOne": "GET /auth/password/options",
    "auth:forgotPassword": "POST /auth/password/forgot",
    "auth:resetPassword": "POST /auth/password/reset",
    "user:invite": "POST /users/:id/invite",
}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Any = None
    token: str | None = "admin"
    # Whose tabs watch the call: the admin's, or the user the call is made by.
    caller: Account | None = None
    # The call ends the caller's own token, so its tabs close once they have heard it.
    closes_caller: bool = False


async def own_call(c: Clients, account: Account, method: str, path: str, json: Any = None) -> Any:
    """A call a user makes for themselves while a test is prepared (no tab named)."""
    response = await c.call(method, path, token=account.token, json=json)
    assert response.is_success, response.text
    return response.json()["data"]


async def with_mfa(c: Clients, user_role: int) -> tuple[Account, list[str]]:
    """A new user with a confirmed TOTP second factor, and their recovery codes."""
    account = await c.user(user_role)
    secret = (await own_call(c, account, "POST", "/auth/mfa/totp"))["secret"]
    confirmed = await own_call(
        c, account, "POST", "/auth/mfa/totp/confirm", {"code": pyotp.TOTP(secret).now()}
    )
    return account, confirmed["recoveryCodes"]


async def key_or_mail_call(c: Clients, operation: str, user_role: int) -> Call:
    """One call of an API-key or emailed-link operation (contract 9.5, 9.6)."""
    match operation:
        case "apikey:create":
            return Call("POST", "/auth/keys", {"name": f"key-{unique()}", "permissions": []})
        case "apikey:fetchAll":
            return Call("GET", "/auth/keys")
        case "apikey:revoke":
            created = await c.setup("POST", "/auth/keys", {"name": "doomed", "permissions": []})
            return Call("DELETE", f"/auth/keys/{created['idKey']}")
        case "apikey:fetchByUser" | "apikey:revokeByUser":
            owner = await c.user(user_role)
            body = {"name": "doomed", "permissions": []}
            created = await own_call(c, owner, "POST", "/auth/keys", body)
            if operation == "apikey:fetchByUser":
                return Call("GET", f"/users/{owner.user_id}/keys")
            return Call("DELETE", f"/users/{owner.user_id}/keys/{created['idKey']}")
        case "passwordOptions:fetchOne":
            return Call("GET", "/auth/password/options", token=None)
    user = await c.user(user_role, sign_in=False)
    match operation:
        case "auth:forgotPassword":
            return Call("POST", "/auth/password/forgot", {"email": user.email}, None)
        case "auth:resetPassword":
            sent = len(c.inbox.received)
            asked = await c.http.post("/api/v1/auth/password/forgot", json={"email": user.email})
            assert asked.status_code == 202, asked.text
            link = (await c.inbox.wait_for(sent + 1))[sent]
            body = {"token": link_token(link), "password": "a-new-password-1"}
            return Call("POST", "/auth/password/reset", body, None)
        case "user:invite":
            return Call("POST", f"/users/{user.user_id}/invite")
    raise AssertionError(f"no call for {operation}")


async def account_call(c: Clients, operation: str, user_role: int) -> Call:
    """One call of an own-account, second-factor or session operation (contract 9.1-9.4)."""
    match operation:
        case "account:fetchOne":
            return Call("GET", "/auth/me")
        case "account:edit":
            return Call("PUT", "/auth/me", {"full_name": "Admin Person"})
        case "session:fetchAll":
            return Call("GET", "/auth/sessions")
        case "mfa:confirm":
            user = await c.user(user_role)
            secret = (await own_call(c, user, "POST", "/auth/mfa/totp"))["secret"]
            code = {"code": pyotp.TOTP(secret).now()}
            return Call("POST", "/auth/mfa/totp/confirm", code, user.token, user)
        case "mfa:disable" | "user:resetMfa" | "auth:loginMfa":
            user, recovery = await with_mfa(c, user_role)
            if operation == "mfa:disable":
                return Call(
                    "DELETE", "/auth/mfa/totp", {"password": user.password}, user.token, user
                )
            if operation == "user:resetMfa":
                return Call("DELETE", f"/users/{user.user_id}/mfa")
            body = {"email": user.email, "password": user.password}
            mfa_token = (await c.http.post("/api/v1/auth/login", json=body)).json()["data"]
            second = {"mfaToken": mfa_token["mfaToken"], "code": recovery[0]}
            return Call("POST", "/auth/login/mfa", second, None)
        case "auth:refresh":
            user = await c.user(user_role, sign_in=False)
            body = {"email": user.email, "password": user.password}
            signed = (await c.http.post("/api/v1/auth/login", json=body)).json()["data"]
            return Call("POST", "/auth/refresh", {"refreshToken": signed["refreshToken"]}, None)
    user = await c.user(user_role)
    match operation:
        case "account:changePassword":
            body = {"currentPassword": user.password, "newPassword": "another-password-1"}
            return Call("PUT", "/auth/password", body, user.token, user, closes_caller=True)
        case "mfa:enrol":
            return Call("POST", "/auth/mfa/totp", None, user.token, user)
        case "session:revoke" | "session:revokeOthers":
            await sign_in_as(c.http, user.email, user.password)  # a second session
            sessions = await own_call(c, user, "GET", "/auth/sessions")
            other = next(s["idSession"] for s in sessions if not s["current"])
            if operation == "session:revoke":
                return Call("DELETE", f"/auth/sessions/{other}", None, user.token, user)
            return Call("DELETE", "/auth/sessions", None, user.token, user)
        case "session:fetchByUser":
            return Call("GET", f"/users/{user.user_id}/sessions")
        case "mfa:fetchByUser":
            return Call("GET", f"/users/{user.user_id}/mfa")
        case "session:revokeByUser":
            return Call("DELETE", f"/users/{user.user_id}/sessions")
    raise AssertionError(f"no call for {operation}")


async def route_call(c: Clients, operation: str, user_role: int) -> Call:
    """One call of `operation` that succeeds, after creating what it acts on."""
    if operation.startswith(("apikey:", "passwordOptions:")) or operation in (
        "auth:forgotPassword",
        "auth:resetPassword",
        "user:invite",
    ):
        return await key_or_mail_call(c, operation, user_role)
    if operation.startswith(("account:", "mfa:", "session:")) or operation in (
        "auth:loginMfa",
        "auth:refresh",
        "user:resetMfa",
    ):
        return await account_call(c, operation, user_role)
    new_permission = {"nameUri": f"GET /api/v1/x{unique()}", "description": "for a test"}
    match operation:
        case "auth:register":
            email = f"new-{unique()}@seam-api.dev"
            body = {"full_name": "New", "email": email, "password": "secret-1", "roleId": user_role}
            return Call("POST", "/auth/register", body)
        case "auth:login":
            return Call(
                "POST", "/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, None
            )
        case "auth:logout":
            token = await sign_in_as(c.http, ADMIN_EMAIL, ADMIN_PASSWORD)
            return Call("POST", "/auth/logout", token=token)
        case "user:fetchAll":
            return Call("GET", "/users?page=1&limit=5")
        case "capabilities:fetchOne":
            return Call("GET", "/auth/capabilities")
        case "user:import":
            row = {"full_name": "Imported", "email": f"imported-{unique()}@seam-api.dev"}
            return Call("POST", "/users/import", {"rows": [row]})
        case "sidebar:fetchAll":
            return Call("GET", "/sidebar/all")
        case "user:fetchOne" | "user:edit" | "user:setState" | "user:resetPassword" | "user:delete":
            user_id = (await c.user(user_role, sign_in=False)).user_id
            return {
                "user:fetchOne": Call("GET", f"/users/{user_id}"),
                "user:edit": Call("PUT", f"/users/{user_id}", {"full_name": "Edited"}),
                "user:setState": Call("PUT", f"/users/{user_id}/state", {"isActive": 0}),
                "user:resetPassword": Call("PUT", f"/users/{user_id}/resetPassword"),
                "user:delete": Call("DELETE", f"/users/{user_id}"),
            }[operation]
        case "role:fetchAll":
            return Call("GET", "/roles")
        case "role:create":
            return Call("POST", "/roles", {"roleName": f"role-{unique()}"})
        case "role:edit":
            return Call("PUT", f"/roles/{await c.role()}", {"description": "edited"})
        case "role:delete":
            return Call("DELETE", f"/roles/{await c.role()}")
        case "permission:fetchAll":
            return Call("GET", "/permission")
        case "permission:create":
            return Call("POST", "/permission/register", new_permission)
        case "permission:fetchByRole":
            return Call("GET", "/permission/getByRoleId?roleId=1")
        case "permission:fetchByUri":
            return Call("GET", f"/permission/getByNameUri?nameUri={USERS_READ}")
        case "permission:assign" | "permission:unassign" | "permission:delete":
            created = await c.setup("POST", "/permission/register", new_permission)
            assignment = {"roleId": await c.role(), "permissionId": created["idPermission"]}
            if operation == "permission:assign":
                return Call("POST", "/permission/assign", assignment)
            await c.setup("POST", "/permission/assign", assignment)
            if operation == "permission:unassign":
                return Call("DELETE", "/permission/unassign", assignment)
            return Call("DELETE", f"/permission/{created['idPermission']}")
        case "sidebar:fetchByRole":
            return Call("GET", "/sidebar")
        case "sidebar:create":
            return Call("POST", "/sidebar", {"nameItem": "New item", "route": "/new"})
        case "audit:fetchAll":
            return Call("GET", "/audit?limit=5")
        case "audit:fetchOne":
            newest = (await c.setup("GET", "/audit?limit=1"))[0]
            return Call("GET", f"/audit/{newest['eventId']}")
        case "audit:export":
            return Call("GET", "/audit/export?format=ndjson&entity=role")
    item_id = (await c.setup("POST", "/sidebar", {"nameItem": f"item-{unique()}"}))["idItem"]
    assignment_path = f"/sidebar/{item_id}/role/{await c.role()}"
    match operation:
        case "sidebar:edit":
            return Call("PUT", f"/sidebar/{item_id}", {"iconItem": "star"})
        case "sidebar:delete":
            return Call("DELETE", f"/sidebar/{item_id}")
        case "sidebar:assign":
            return Call("POST", assignment_path)
        case "sidebar:unassign":
            await c.setup("POST", assignment_path)
            return Call("DELETE", assignment_path)
    raise AssertionError(f"no call for {operation}")


def test_route_cases_cover_every_route_of_the_app() -> None:
    table = {
        name_uri(method, route.path)  # type: ignore[attr-defined]
        for router in ROUTERS
        for route in router.routes
        for method in route.methods  # type: ignore[attr-defined]
    }
    cases = {route.replace(" ", " /api/v1", 1) for route in ROUTES.values()}
    assert cases == table


@pytest.mark.parametrize("operation", list(ROUTES))
async def test_every_route_emits_its_lifecycle_to_the_requesting_tab_only(
    clients: Clients, admin: Account, member: Account, user_role: int, operation: str
) -> None:
    call = await route_call(clients, operation, user_role)
    caller = call.caller or admin
    tab = await clients.open("caller", caller.token)
    tab_id = tab.id  # kept: a call that ends the caller's token closes the tab
    sibling = await clients.open("caller-sibling", caller.token)
    other = await clients.open("member", member.token)

    response = await clients.call(call.method, call.path, token=call.token, tab=tab, json=call.json)
    assert response.is_success, response.text
    if call.token is not None:
        events = await tab.finished(operation)
        assert LIFECYCLE.fullmatch(statuses(events)) and events[-1]["status"] == "success"
        if operation != "audit:export":  # a file, not an envelope
            assert events[-1]["message"] == response.json()["message"]
    # The marker that settles a tab cannot reach one closed by the call: it was sent before.
    await clients.settle(*((other,) if call.closes_caller else (tab, sibling, other)))

    if call.token is None:
        assert tab.progress == []  # anonymous: no socket is provably the caller's
    assert sibling.progress == other.progress == []
    expected = 1 if is_mutation(operation) else 0
    # An anonymous caller's X-Socket-ID is never echoed: no socket is provably its own.
    initiator = tab_id if call.token is not None else None
    counts = [len(t.changed_by(initiator, operation)) for t in (tab, sibling, other)]
    assert counts == [expected] * 3


# -- errors (5.1: "a failing request emits error") --------------------------------------------


async def test_not_found_emits_error_with_the_http_message_and_no_data_changed(
    clients: Clients, admin: Account, member: Account
) -> None:
    tab = await clients.open("admin", admin.token)
    other = await clients.open("member", member.token)

    response = await clients.call("PUT", "/users/999999", tab=tab, json={"full_name": "Nobody"})
    events = await tab.finished("user:edit")
    await clients.settle(tab, other)

    assert response.status_code == 404
    assert LIFECYCLE.fullmatch(statuses(events)) and events[-1]["status"] == "error"
    assert events[-1]["message"] == response.json()["message"]
    assert events[-1]["data"] is None
    assert tab.changed == other.changed == []


async def test_conflict_emits_error_with_the_http_message_and_no_data_changed(
    clients: Clients, admin: Account, member: Account, user_role: int
) -> None:
    taken = await clients.user(user_role, sign_in=False)
    tab = await clients.open("admin", admin.token)
    other = await clients.open("member", member.token)

    response = await clients.call(
        "PUT", f"/users/{member.user_id}", tab=tab, json={"email": taken.email}
    )
    events = await tab.finished("user:edit")
    await clients.settle(tab, other)

    assert response.status_code == 409
    assert events[-1]["status"] == "error"
    assert events[-1]["message"] == response.json()["message"]
    assert tab.changed == other.changed == []


async def test_error_event_speaks_the_requests_language(clients: Clients, admin: Account) -> None:
    tab = await clients.open("admin", admin.token)

    response = await clients.call(
        "POST", "/roles", tab=tab, json={"roleName": "admin"}, language="es"
    )
    events = await tab.finished("role:create")

    assert response.status_code == 409
    assert response.json()["message"] == ES["errors.role_name_taken"]
    assert [e["message"] for e in events] == [
        ES["role:create.start"],
        ES["role:create.checking_name"],
        ES["errors.role_name_taken"],
    ]


# -- data:changed (5.2) --------------------------------------------------------------------


async def test_mutation_emits_data_changed_once_to_every_socket_of_every_user(
    clients: Clients, admin: Account, member: Account, user_role: int
) -> None:
    tab = await clients.open("admin", admin.token)
    everyone = [
        tab,
        await clients.open("admin-2", admin.token),
        await clients.open("member-1", member.token),
        await clients.open("member-2", member.token, transports=["websocket"]),
        (await clients.open_polling("third-user", user_role))[0],
    ]

    response = await clients.call("POST", "/roles", tab=tab, json={"roleName": f"r-{unique()}"})
    await clients.settle(*everyone)

    expected = {
        "operation": "role:create",
        "message": response.json()["message"],
        "data": response.json()["data"],
        "initiatorSocketId": tab.id,
        "eventId": tab.changed[0]["eventId"],  # one log entry, one id for every socket
    }
    assert expected["eventId"].isdigit()
    assert [t.changed for t in everyone] == [[expected]] * 5


async def test_reads_login_and_logout_never_emit_data_changed(
    clients: Clients, admin: Account, member: Account
) -> None:
    tab = await clients.open("admin", admin.token)
    other = await clients.open("member", member.token)
    spare_token = await sign_in_as(clients.http, ADMIN_EMAIL, ADMIN_PASSWORD)

    for path in (
        "/users",
        f"/users/{member.user_id}",
        "/roles",
        "/permission",
        "/permission/getByRoleId?roleId=1",
        f"/permission/getByNameUri?nameUri={USERS_READ}",
        "/sidebar",
    ):
        assert (await clients.call("GET", path, tab=tab)).status_code == 200
    login = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    assert (await clients.call("POST", "/auth/login", token=None, tab=tab, json=login)).is_success
    assert (await clients.call("POST", "/auth/logout", token=spare_token, tab=tab)).is_success
    await clients.settle(tab, other)

    assert tab.changed == other.changed == []


async def test_initiator_socket_id_is_the_x_socket_id(
    clients: Clients, admin: Account, member: Account
) -> None:
    tab = await clients.open("admin", admin.token)
    other = await clients.open("member", member.token)

    await clients.call("POST", "/sidebar", tab=tab, json={"nameItem": "With header"})
    await clients.settle(other)

    assert [e["initiatorSocketId"] for e in other.changed] == [tab.id]


async def test_initiator_socket_id_is_null_without_x_socket_id(
    clients: Clients, member: Account
) -> None:
    other = await clients.open("member", member.token)

    await clients.call("POST", "/sidebar", json={"nameItem": "Without header"})
    await clients.settle(other)

    assert [e["initiatorSocketId"] for e in other.changed] == [None]


@pytest.mark.parametrize("operation", ["user:edit", "auth:register"])
async def test_user_data_reaches_only_roles_that_may_read_users(
    clients: Clients, admin: Account, member: Account, user_role: int, operation: str
) -> None:
    reader = await clients.user(await clients.role(USERS_READ))
    target = await clients.user(user_role, sign_in=False)
    tab = await clients.open("admin", admin.token)
    reader_tab = await clients.open("reader", reader.token)
    member_tab = await clients.open("member", member.token)

    if operation == "user:edit":
        body = {"full_name": "Seen By Readers"}
        response = await clients.call("PUT", f"/users/{target.user_id}", tab=tab, json=body)
    else:
        body = {"full_name": "New", "email": f"n-{unique()}@seam-api.dev", "password": "secret-1"}
        response = await clients.call("POST", "/auth/register", tab=tab, json=body)
    assert response.is_success, response.text
    await clients.settle(tab, reader_tab, member_tab)

    seen = {
        "operation": operation,
        "message": response.json()["message"],
        "data": response.json()["data"],
        "initiatorSocketId": tab.id,
        "eventId": tab.changed[0]["eventId"],
    }
    assert tab.changed == reader_tab.changed == [seen]
    assert member_tab.changed == [{**seen, "data": None}]


async def test_a_role_losing_users_read_gets_the_next_user_event_without_data(
    clients: Clients, admin: Account, user_role: int
) -> None:
    reader_role = await clients.role(USERS_READ)
    reader = await clients.user(reader_role)
    target = await clients.user(user_role, sign_in=False)
    reader_tab = await clients.open("reader", reader.token)
    permission = (await clients.setup("GET", f"/permission/getByNameUri?nameUri={USERS_READ}"))[0]
    await clients.setup(
        "DELETE",
        "/permission/unassign",
        {"roleId": reader_role, "permissionId": permission["idPermission"]},
    )

    await clients.call("PUT", f"/users/{target.user_id}", json={"full_name": "Hidden Now"})
    await clients.settle(reader_tab)

    assert [(e["operation"], e["data"]) for e in reader_tab.changed] == [("user:edit", None)]


async def test_sockets_of_a_role_created_after_start_receive_user_events(
    clients: Clients, user_role: int
) -> None:
    await clients.call("GET", "/users")  # the server has computed its audiences once already
    late = await clients.user(await clients.role())
    target = await clients.user(user_role, sign_in=False)
    late_tab = await clients.open("late-role", late.token)

    await clients.call("PUT", f"/users/{target.user_id}", json={"full_name": "Late Edit"})
    await clients.settle(late_tab)

    assert [(e["operation"], e["data"]) for e in late_tab.changed] == [("user:edit", None)]


async def test_reset_password_events_never_carry_the_temporary_password(
    clients: Clients, admin: Account, member: Account, user_role: int
) -> None:
    target = await clients.user(user_role)
    tab = await clients.open("admin", admin.token)
    other = await clients.open("member", member.token)
    target_tab = await clients.open("target", target.token)

    response = await clients.call("PUT", f"/users/{target.user_id}/resetPassword", tab=tab)
    await tab.finished("user:resetPassword")
    await clients.settle(tab, other)

    password = response.json()["data"]["temporaryPassword"]
    assert len(tab.changed) == len(other.changed) == 1
    for received in (tab, other, target_tab):
        assert password not in received.received()


# -- the handshake (5) -----------------------------------------------------------------------

REFUSALS = {
    None: ("Token required to connect", "Invalid or expired token"),
    "es": ("Token requerido para conectarse", "Token inválido o expirado"),
    "es-MX,es;q=0.9,en;q=0.5": ("Token requerido para conectarse", "Token inválido o expirado"),
}


@pytest.mark.parametrize("language", list(REFUSALS))
@pytest.mark.parametrize("auth", [None, {}, {"token": ""}, {"token": 42}])
async def test_handshake_without_a_token_is_refused(
    clients: Clients, language: str | None, auth: dict[str, Any] | None
) -> None:
    assert await clients.refusal(auth, language) == REFUSALS[language][0]


def forged(token: str, *, secret: str = JWT_SECRET, lifetime: int = 3600) -> str:
    """`token`'s claims, re-signed with `secret` and expiring `lifetime` seconds from now."""
    claims = jwt.decode(token, options={"verify_signature": False})
    now = int(time.time())
    claims.update(iat=now + min(lifetime, 0) - 60, exp=now + lifetime)
    return jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.parametrize("language", list(REFUSALS))
@pytest.mark.parametrize(
    "make_token",
    [
        lambda token: "not-a-token",
        lambda token: token[:-4] + "AAAA",
        lambda token: forged(token, secret="another-secret-that-is-at-least-32-bytes!"),
        lambda token: forged(token, lifetime=-10),
    ],
    ids=["garbage", "tampered", "wrong-secret", "expired"],
)
async def test_handshake_with_an_invalid_token_is_refused(
    clients: Clients, admin: Account, language: str | None, make_token: Callable[[str], str]
) -> None:
    message = await clients.refusal({"token": make_token(admin.token)}, language)

    assert message == REFUSALS[language][1]


async def test_handshake_with_a_well_forged_token_is_accepted(
    clients: Clients, admin: Account
) -> None:
    """The control for the forged tokens above: only what they change makes them fail."""
    tab = await clients.open("forged", forged(admin.token))

    assert tab.client.connected


async def test_handshake_of_a_disabled_user_is_refused(clients: Clients, user_role: int) -> None:
    user = await clients.user(user_role)
    await clients.setup("PUT", f"/users/{user.user_id}/state", {"isActive": 0})

    assert await clients.refusal({"token": user.token}, "es") == "Token inválido o expirado"


async def test_handshake_with_a_token_revoked_by_logout_is_refused(
    clients: Clients, user_role: int
) -> None:
    user = await clients.user(user_role)
    assert (await clients.call("POST", "/auth/logout", token=user.token)).status_code == 200

    assert await clients.refusal({"token": user.token}) == "Invalid or expired token"


class Cable:
    """A TCP hop between clients and the server that a test can cut, like a network drop."""

    def __init__(self, target_url: str) -> None:
        host, port = target_url.removeprefix("http://").split(":")
        self._target = (host, int(port))
        self._links: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self._down = False
        self.url = ""

    async def __aenter__(self) -> Cable:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.cut()
        await self._server.wait_closed()

    def cut(self, *, stay_down: bool = False) -> None:
        """Drop every link; with `stay_down`, also refuse new ones until `restore()`."""
        self._down = stay_down
        for writer in self._links:
            writer.transport.abort()
        self._links.clear()

    def restore(self) -> None:
        self._down = False

    async def _relay(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        if self._down:
            client_out.transport.abort()
            return
        server_in, server_out = await asyncio.open_connection(*self._target)
        self._links += [client_out, server_out]
        await asyncio.gather(
            _pump(client_in, server_out), _pump(server_in, client_out), return_exceptions=True
        )
        for writer in (client_out, server_out):
            writer.transport.abort()


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    while data := await source.read(65536):
        sink.write(data)
        await sink.drain()


RECONNECTING = {
    "reconnection": True,
    "reconnection_delay": 0.1,
    "reconnection_delay_max": 0.2,
    "randomization_factor": 0,
}


async def test_reconnect_after_a_network_drop_passes_the_handshake_again(
    clients: Clients, user_role: int
) -> None:
    user = await clients.user(user_role)
    async with Cable(clients.url) as cable:
        tab = await clients.open(
            "tab", user.token, url=cable.url, transports=["websocket"], **RECONNECTING
        )
        first_id = tab.id

        cable.cut()
        await tab.wait_for(lambda: tab.disconnected.is_set(), "the drop")
        await tab.wait_for(lambda: tab.client.get_sid() not in (None, first_id), "the reconnect")

        await clients.call("GET", "/roles", token=user.token, tab=tab)
        assert statuses(await tab.finished("role:fetchAll")) == "start,processing,success"
        await tab.client.shutdown()


async def test_reconnect_with_a_token_revoked_meanwhile_is_refused(
    clients: Clients, user_role: int
) -> None:
    user = await clients.user(user_role)
    async with Cable(clients.url) as cable:
        tab = await clients.open(
            "tab", user.token, url=cable.url, transports=["websocket"], **RECONNECTING
        )
        cable.cut(stay_down=True)
        await tab.wait_for(lambda: tab.disconnected.is_set(), "the drop")
        assert (await clients.call("POST", "/auth/logout", token=user.token)).status_code == 200
        cable.restore()
        await tab.wait_for(lambda: bool(tab.refusals), "the refused reconnect")

        assert tab.refusals[0] == "Invalid or expired token"
        assert not tab.client.connected
        await tab.client.shutdown()


# -- robustness ------------------------------------------------------------------------------


async def test_a_tab_that_changes_its_own_password_hears_success_before_it_closes(
    clients: Clients,
) -> None:
    role_id = await clients.role("PUT /api/v1/users/:id")
    user = await clients.user(role_id)
    tab = await clients.open("own tab", user.token, transports=["websocket"])
    change = clients.call(
        "PUT", f"/users/{user.user_id}", token=user.token, tab=tab, json={"password": "new-pass-4"}
    )

    response, _ = await asyncio.wait_for(
        asyncio.gather(change, tab.disconnected.wait()), timeout=DEADLINE
    )

    assert response.status_code == 200, response.text
    heard = statuses([e for e in tab.progress if e["operation"] == "user:edit"])
    assert heard.startswith("start,") and heard.endswith(",success"), heard
    assert not tab.client.connected


async def test_disabled_user_loses_sockets_within_a_second(
    clients: Clients, user_role: int
) -> None:
    user = await clients.user(user_role)
    tabs = [
        await clients.open("websocket", user.token, transports=["websocket"]),
        await clients.open("polling", user.token, transports=["polling"]),
    ]
    disable = clients.call("PUT", f"/users/{user.user_id}/state", json={"isActive": 0})
    gone = asyncio.gather(*(tab.disconnected.wait() for tab in tabs))

    response, _ = await asyncio.wait_for(asyncio.gather(disable, gone), timeout=1.0)

    assert response.status_code == 200
    assert not any(tab.client.connected for tab in tabs)


async def test_logout_closes_the_sockets_opened_with_that_token_only(
    clients: Clients, user_role: int
) -> None:
    user = await clients.user(user_role)
    other_session = await sign_in_as(clients.http, user.email, user.password)
    signed_out = [
        await clients.open("websocket", user.token, transports=["websocket"]),
        await clients.open("polling", user.token, transports=["polling"]),
    ]
    stays = await clients.open("other session", other_session)
    logout = clients.call("POST", "/auth/logout", token=user.token, tab=signed_out[0])
    gone = asyncio.gather(*(tab.disconnected.wait() for tab in signed_out))

    response, _ = await asyncio.wait_for(asyncio.gather(logout, gone), timeout=1.0)
    await clients.call("GET", "/roles", token=other_session, tab=stays)

    assert response.status_code == 200
    # The tab that signed out heard the whole operation before its socket closed.
    heard = [e for e in signed_out[0].progress if e["operation"] == "auth:logout"]
    assert statuses(heard) == "start,processing,success"
    assert not any(tab.client.connected for tab in signed_out)
    assert stays.client.connected
    assert statuses(await stays.finished("role:fetchAll")) == "start,processing,success"


async def test_unknown_client_events_are_ignored_and_never_relayed(
    clients: Clients, admin: Account, member: Account
) -> None:
    tab = await clients.open("admin", admin.token)
    other = await clients.open("member", member.token)
    forged_event = {"operation": "user:edit", "status": "success", "message": "x", "data": None}

    await other.client.emit("no-such-event", {"anything": [1, 2, 3]})
    await other.client.emit("operation:progress", forged_event)
    await other.client.emit("data:changed", {**forged_event, "initiatorSocketId": None})
    await clients.settle(tab, other)

    assert other.client.connected
    assert tab.progress == tab.changed == other.progress == other.changed == []
    await clients.call("GET", "/roles", token=member.token, tab=other)
    assert statuses(await other.finished("role:fetchAll")) == "start,processing,success"


async def test_request_succeeds_when_its_tab_has_gone(clients: Clients, admin: Account) -> None:
    tab = await clients.open("closing", admin.token)
    stays = await clients.open("stays", admin.token)
    gone_id = tab.id
    await tab.client.disconnect()
    # The client returns before the server has handled its close: a round trip through the
    # server first, so the request below meets a socket that is gone, not one still closing.
    await clients.settle(stays)

    response = await clients.call("POST", "/sidebar", tab=gone_id, json={"nameItem": "Orphan"})
    await clients.settle(stays)

    assert response.status_code == 201
    # A socket that is no longer connected is not named as the initiator (see the security tests).
    assert [(e["operation"], e["initiatorSocketId"]) for e in stays.changed] == [
        ("sidebar:create", None)
    ]


# In-process: the delivery path itself failing or stalling must not reach the request.
# Progress is only produced for a user holding a socket, so each of these registers one for
# the admin (user 1) without opening it: emitting is replaced, nothing is sent.

ADMIN_ID = 1


async def _admin_holds_a_socket(realtime: Realtime) -> None:
    await realtime.owners.add("admin-tab", ADMIN_ID)


def _payload(data: Event | tuple[Event, str]) -> Event:
    """An emit's event payload: data:changed is sent as (payload, eventId)."""
    return data[0] if isinstance(data, tuple) else data


def _record_emits(realtime: Realtime, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Event]]:
    """Replace the server's emit with a recorder: what would have been sent, in order."""
    emitted: list[tuple[str, Event]] = []

    async def recording_emit(event: str, data: Event | tuple[Event, str], **_: Any) -> None:
        emitted.append((event, _payload(data)))

    monkeypatch.setattr(realtime.server, "emit", recording_emit)
    return emitted


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_failing_delivery_never_fails_a_request_and_later_events_still_go_out(
    app: Application,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    realtime = app.seam.realtime
    delivered: list[str] = []

    async def flaky_emit(event: str, data: Event | tuple[Event, str], **_: Any) -> None:
        payload = _payload(data)
        if payload.get("status") == "start":
            raise ConnectionResetError("the transport broke")
        delivered.append(payload.get("status", event))

    monkeypatch.setattr(realtime.server, "emit", flaky_emit)
    await _admin_holds_a_socket(realtime)
    response = await client.post("/api/v1/roles", headers=admin_headers, json={"roleName": "x1"})
    await realtime.drain()

    assert response.status_code == 201
    assert delivered[-1] == "data:changed" and delivered[0] == "processing"
    assert "success" in delivered


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_stalled_delivery_never_blocks_a_request(
    app: Application,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    realtime = app.seam.realtime
    release = asyncio.Event()
    delivered: list[Event] = []

    async def stalled_emit(event: str, data: Event | tuple[Event, str], **_: Any) -> None:
        await release.wait()
        delivered.append(_payload(data))

    monkeypatch.setattr(realtime.server, "emit", stalled_emit)
    await _admin_holds_a_socket(realtime)
    try:
        responses = await asyncio.wait_for(
            asyncio.gather(*(client.get("/api/v1/users", headers=admin_headers) for _ in range(3))),
            timeout=DEADLINE,
        )
        assert [r.status_code for r in responses] == [200] * 3
        assert delivered == []
    finally:
        release.set()
    await realtime.drain()
    assert len(delivered) == 9


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_unserialisable_event_data_never_fails_the_emitter(
    app: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    realtime = app.seam.realtime
    delivered = _record_emits(realtime, monkeypatch)
    await _admin_holds_a_socket(realtime)
    context = RequestContext(locale="en", user_id=ADMIN_ID, run=OperationRun("role:create"))
    begin(context)

    realtime.progress(context, "success", "Role created", object())
    async with app.seam.db.transaction() as conn:
        await record(app.seam, conn, entity="role", entity_id=None, changes={}, result=object())
    assert context.run is not None
    realtime.committed(context.run.recorded)
    await realtime.drain()

    assert [(event, payload["data"]) for event, payload in delivered] == [
        ("operation:progress", None),
        ("data:changed", None),
    ]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_no_progress_is_emitted_for_a_user_without_a_socket_on_a_single_instance(
    app: Application,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without Redis no other instance can hold the caller's socket: nothing to send."""
    realtime = app.seam.realtime
    emitted = _record_emits(realtime, monkeypatch)
    await client.get("/api/v1/users", headers=admin_headers)
    await realtime.drain()
    assert emitted == []

    await _admin_holds_a_socket(realtime)
    await client.get("/api/v1/users", headers=admin_headers)
    await realtime.drain()
    assert [event for event, _payload in emitted] == ["operation:progress"] * 3


# -- progress held for a tab, on a server in this process -------------------------------------


@dataclass
class Here:
    """An app served in this process as `seam-api serve` serves it, one admin tab on it."""

    application: Application
    tab: socketio.AsyncClient
    received: list[tuple[str, Any]]
    writes: list[bytes]  # every direct write of held progress

    @property
    def realtime(self) -> Realtime:
        return self.application.seam.realtime

    def context(self) -> RequestContext:
        return RequestContext(
            locale="en",
            user_id=ADMIN_ID,
            run=OperationRun("user:fetchAll"),
            socket_id=self.tab.get_sid(),
        )

    async def until_received(self, count: int) -> list[tuple[str, Any]]:
        for _ in range(500):
            if len(self.received) >= count:
                break
            await asyncio.sleep(0.01)
        return self.received


@pytest.fixture
async def here(make_app: AppFactory, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Here]:
    application = await make_app()
    options = connection_options(application.seam.settings)
    async with served_here(application.asgi, **options) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            token = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        tab = socketio.AsyncClient()
        received: list[tuple[str, Any]] = []
        tab.on("*", lambda event, *data: received.append((event, data[0])))
        await tab.connect(url, auth={"token": token}, transports=["websocket"])
        await application.seam.realtime.drain()
        received.clear()  # data:synced
        state = Here(application, tab, received, [])
        write_now = engineio_writer.write_now

        def recorded(socket: Any, frames: bytes) -> bool:
            done = write_now(socket, frames)
            if done:
                state.writes.append(frames)
            return done

        monkeypatch.setattr(engineio_writer, "write_now", recorded)
        try:
            yield state
        finally:
            await tab.disconnect()


def _statuses(received: list[tuple[str, Any]]) -> list[str]:
    return [data["status"] for event, data in received if event == "operation:progress"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.needs_overrides("one write per drained queue is a direct write (direct_writes)")
async def test_progress_queued_together_for_a_tab_goes_out_in_one_write_in_order(
    here: Here,
) -> None:
    context = here.context()
    for status in ("start", "processing", "success"):
        here.realtime.progress(context, status, status.title(), {"count": 1})
    await here.realtime.drain()

    assert _statuses(await here.until_received(3)) == ["start", "processing", "success"]
    assert len(here.writes) == 1 and here.writes[0].count(b'"operation:progress"') == 3
    # Each frame is what the library would have sent for the same emit.
    _, first = here.received[0]
    library = "4" + EventPacket(EVENT, data=["operation:progress", first]).encode()
    assert here.writes[0].startswith(engineio_writer.text_frame(library))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.needs_overrides("one write per drained queue is a direct write (direct_writes)")
async def test_held_progress_for_a_paused_connection_waits_for_it_in_order(here: Here) -> None:
    server = here.realtime.server
    eio_sid = server.manager.eio_sid_from_sid(here.tab.get_sid(), "/")
    connection = server.eio.sockets[eio_sid]._seam_websocket().asgi_send.__self__
    connection.pause_writing()
    context = here.context()
    here.realtime.progress(context, "start", "Start")
    here.realtime.progress(context, "success", "Done")
    await here.realtime.drain()
    await asyncio.sleep(0.1)
    assert here.received == [] and here.writes == []  # queued behind the paused transport

    connection.resume_writing()
    assert _statuses(await here.until_received(2)) == ["start", "success"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_held_progress_goes_out_before_the_data_changed_that_follows_it(
    here: Here,
) -> None:
    realtime, seam = here.realtime, here.application.seam
    context = here.context()
    context.run = OperationRun("role:create")
    begin(context)
    async with seam.db.transaction() as conn:
        await record(seam, conn, entity="role", entity_id=9, changes={}, result={})
    # Both queued before delivery runs: the progress is held when the broadcast comes up.
    realtime.progress(context, "success", "Role created", {"idRole": 9})
    assert context.run is not None
    realtime.committed(context.run.recorded)
    await realtime.drain()

    received = await here.until_received(2)
    assert [event for event, _ in received] == ["operation:progress", "data:changed"]
