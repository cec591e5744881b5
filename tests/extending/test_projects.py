"""A developer's own resource (tests/extending/projects, written as docs/extending.md says)
gets what the built-in ones get, with no change to the core: route permissions seeded for the
admin and checked, `operation:progress` for the caller's tab, `data:changed` filtered per
reader live and on replay, the audit trail, the OpenAPI schema and the fast read lane.

The app is served in this process (real uvicorn, real Socket.IO clients) on every backend.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import socketio
from starlette.types import Receive, Scope, Send

from seam_api.app import Application, create_app
from seam_api.bootstrap import BootstrapReport, bootstrap
from seam_api.cli import connection_options
from tests import conftest
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Databases, bearer, login
from tests.extending.projects.models import projects
from tests.extending.projects.router import router as projects_router
from tests.extending.projects.service import PROJECTS_READ
from tests.helpers import API, create_role, data, failure, grant, member, role_id_named, unique
from tests.server_process import served_here

DEADLINE = 10.0  # seconds an expected event may take before the test fails
PROJECT_ROUTES = {
    "GET /api/v1/projects",
    "GET /api/v1/projects/:idProject",
    "POST /api/v1/projects",
    "PUT /api/v1/projects/:idProject",
    "DELETE /api/v1/projects/:idProject",
}

Event = dict[str, Any]


class Tab:
    """One Socket.IO connection and every event it received, in order."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Event]] = []
        self._arrived = asyncio.Event()
        self.client.on("*", self._on_event)

    def _on_event(self, event: str, payload: Event, *_event_id: str) -> None:
        self.events.append((event, payload))
        self._arrived.set()

    @property
    def id(self) -> str:
        return str(self.client.get_sid())

    def received(self, event: str, operation: str | None = None) -> list[Event]:
        return [
            payload
            for name, payload in self.events
            if name == event and operation in (None, payload.get("operation"))
        ]

    async def until(self, ready: Callable[[], bool], what: str) -> None:
        """Return once `ready()` holds; fail after DEADLINE, saying what did arrive."""
        try:
            async with asyncio.timeout(DEADLINE):
                while True:
                    self._arrived.clear()
                    if ready():
                        return
                    await self._arrived.wait()
        except TimeoutError:
            raise AssertionError(f"no {what} within {DEADLINE}s; got {self.events}") from None

    async def changed(self, operation: str) -> Event:
        """The first `data:changed` of `operation`, once it arrived."""
        await self.until(lambda: bool(self.received("data:changed", operation)), operation)
        return self.received("data:changed", operation)[0]


@dataclass
class World:
    """The app with the projects resource, served here, and an admin signed in to it."""

    application: Application
    report: BootstrapReport
    url: str
    http: httpx.AsyncClient
    admin: dict[str, str]
    tabs: list[Tab] = field(default_factory=list)

    async def tab(self, headers: dict[str, str], **auth: str) -> Tab:
        """A connected tab of the user `headers` sign in; `auth` adds to the token."""
        opened = Tab()
        self.tabs.append(opened)
        token = headers["Authorization"].removeprefix("Bearer ")
        await opened.client.connect(
            self.url,
            auth={"token": token, **auth},
            transports=["websocket"],
            wait_timeout=DEADLINE,
        )
        return opened

    async def reader_and_other(self) -> tuple[dict[str, str], dict[str, str]]:
        """Headers of a user whose role holds `GET /api/v1/projects`, and of an outsider."""
        reading = await create_role(self.http, self.admin)
        await grant(self.http, self.admin, role_id=reading, name_uri=PROJECTS_READ)
        reader = await member(self.http, self.admin, role_id=reading)
        return reader.headers, await self.outsider()

    async def outsider(self) -> dict[str, str]:
        """Headers of a user whose role holds no permission."""
        role_id = await create_role(self.http, self.admin)
        return (await member(self.http, self.admin, role_id=role_id)).headers

    async def create_project(self, tab: Tab | None = None, **fields: str) -> Event:
        headers = {**self.admin, **({"X-Socket-ID": tab.id} if tab else {})}
        body = {"name": unique("project"), "description": "Ships in spring", **fields}
        return dict(data(await self.http.post(f"{API}/projects", headers=headers, json=body), 201))


@pytest.fixture
async def world(databases: Databases, backend: str) -> AsyncIterator[World]:
    """A database as a fresh start leaves it, the projects table created on it (the test
    package's migration is not in the shipped chain), then the bootstrap an upgrade runs."""
    settings = conftest.test_settings(await databases.create_ready(backend))
    application = create_app(settings, resources=(projects_router,))
    async with application.seam.db.engine.begin() as conn:
        await conn.run_sync(projects.create)
    report = await bootstrap(application.seam, application.routes)
    await application.seam.start()
    try:
        async with (
            served_here(application.asgi, **connection_options(settings)) as url,
            httpx.AsyncClient(base_url=url, timeout=DEADLINE) as http,
        ):
            admin = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
            world = World(application, report, url, http, admin)
            try:
                yield world
            finally:
                for tab in world.tabs:
                    await tab.client.disconnect()
    finally:
        await application.seam.stop()


# -- (a) route permissions --------------------------------------------------------------------


async def test_the_bootstrap_gives_admin_every_project_route(world: World) -> None:
    assert world.report.permissions_created == len(PROJECT_ROUTES)
    admin_role = await role_id_named(world.http, world.admin, "admin")
    response = await world.http.get(
        f"{API}/permission/getByRoleId", headers=world.admin, params={"roleId": admin_role}
    )
    assert {permission["nameUri"] for permission in data(response)} >= PROJECT_ROUTES

    project = await world.create_project(name="Apollo")
    path = f"{API}/projects/{project['idProject']}"
    assert data(await world.http.get(f"{API}/projects", headers=world.admin)) == [project]
    assert data(await world.http.get(path, headers=world.admin)) == project
    body = {"name": "Artemis", "description": None}
    edited = data(await world.http.put(path, headers=world.admin, json=body))
    assert edited == {"idProject": project["idProject"], "name": "Artemis", "description": None}
    assert data(await world.http.delete(path, headers=world.admin)) is None
    failure(await world.http.get(path, headers=world.admin), 404)


async def test_a_role_without_the_project_permissions_is_refused_on_each_route(
    world: World,
) -> None:
    project = await world.create_project()
    path = f"{API}/projects/{project['idProject']}"
    outsider = await world.outsider()
    body = {"name": "Taken over"}
    for method, url, json in (
        ("GET", f"{API}/projects", None),
        ("GET", path, None),
        ("POST", f"{API}/projects", body),
        ("PUT", path, body),
        ("DELETE", path, None),
    ):
        response = await world.http.request(method, url, headers=outsider, json=json)
        failure(response, 403)
    assert data(await world.http.get(path, headers=world.admin)) == project


# -- (b) operation:progress -------------------------------------------------------------------


async def test_the_callers_tab_sees_the_project_operation_start_step_and_succeed(
    world: World,
) -> None:
    caller = await world.tab(world.admin)
    other_tab = await world.tab(world.admin)
    project = await world.create_project(caller)

    await caller.until(
        lambda: any(e["status"] == "success" for e in caller.received("operation:progress")),
        "success",
    )
    progress = caller.received("operation:progress", "project:create")
    assert [(e["status"], e["message"]) for e in progress] == [
        ("start", "Creating project..."),
        ("processing", "Saving the project..."),
        ("success", "Project created successfully"),
    ]
    assert progress[-1]["data"] == project
    # Delivery keeps each socket's order: once the change reached the other tab, any
    # progress meant for it would have arrived before.
    await other_tab.changed("project:create")
    assert other_tab.received("operation:progress") == []


# -- (c) data:changed per reader --------------------------------------------------------------


async def test_project_data_reaches_only_sockets_whose_role_reads_projects(world: World) -> None:
    reader_headers, other_headers = await world.reader_and_other()
    reader, other = await world.tab(reader_headers), await world.tab(other_headers)
    caller = await world.tab(world.admin)
    project = await world.create_project(caller)

    seen_by_reader = await reader.changed("project:create")
    seen_by_other = await other.changed("project:create")
    assert seen_by_reader["data"] == project
    assert seen_by_other["data"] is None
    for seen in (seen_by_reader, seen_by_other):
        assert seen["initiatorSocketId"] == caller.id
        assert seen["message"] == "Project created successfully"
    assert seen_by_reader["eventId"] == seen_by_other["eventId"]


# -- (d) the audit trail ----------------------------------------------------------------------


async def test_the_audit_trail_records_who_changed_which_project_and_how(world: World) -> None:
    project = await world.create_project(name="Gemini", description="Two seats")
    project_id = project["idProject"]
    body = {"name": "Gemini", "description": "Three seats"}
    data(await world.http.put(f"{API}/projects/{project_id}", headers=world.admin, json=body))

    filters = {"entity": "project", "entityId": str(project_id)}
    entries = data(await world.http.get(f"{API}/audit", headers=world.admin, params=filters))
    assert [entry["operation"] for entry in entries] == ["project:edit", "project:create"]
    edited, created = entries
    assert created["changes"] == {"name": [None, "Gemini"], "description": [None, "Two seats"]}
    assert edited["changes"] == {"description": ["Two seats", "Three seats"]}
    for entry in entries:
        assert entry["entity"] == "project" and entry["entityId"] == str(project_id)
        assert entry["actorEmail"] == ADMIN_EMAIL


async def test_the_audit_shows_project_values_only_to_roles_that_read_projects(
    world: World,
) -> None:
    # One rule with data:changed: the data_needs an operation declares hides its entries'
    # values from an audit reader whose role does not hold it.
    audit_routes = ("GET /api/v1/audit", "GET /api/v1/audit/export")
    reading = await create_role(world.http, world.admin)
    not_reading = await create_role(world.http, world.admin)
    for role_id in (reading, not_reading):
        for name_uri in audit_routes:
            await grant(world.http, world.admin, role_id=role_id, name_uri=name_uri)
    await grant(world.http, world.admin, role_id=reading, name_uri=PROJECTS_READ)
    reader = await member(world.http, world.admin, role_id=reading)
    auditor = await member(world.http, world.admin, role_id=not_reading)
    project = await world.create_project(name="Apollo", description="Secret plans")
    filters = {"entity": "project", "entityId": str(project["idProject"])}

    async def seen(headers: dict[str, str]) -> tuple[dict[str, Any], str]:
        listed = data(await world.http.get(f"{API}/audit", headers=headers, params=filters))
        export = await world.http.get(f"{API}/audit/export", headers=headers, params=filters)
        return listed[0], export.text

    to_reader, reader_export = await seen(reader.headers)
    to_auditor, auditor_export = await seen(auditor.headers)
    assert to_reader["changes"]["description"] == [None, "Secret plans"]
    assert "Secret plans" in reader_export
    assert to_auditor["changes"] == {"name": [None, None], "description": [None, None]}
    assert to_auditor["ip"] is None and "Secret plans" not in auditor_export


# -- (e) replay -------------------------------------------------------------------------------


async def test_a_socket_coming_back_gets_the_missed_project_change_filtered_alike(
    world: World,
) -> None:
    reader_headers, other_headers = await world.reader_and_other()
    watcher = await world.tab(world.admin)
    await watcher.until(lambda: bool(watcher.received("data:synced")), "data:synced")
    since = watcher.received("data:synced")[0]["eventId"]
    project = await world.create_project(watcher)
    await watcher.changed("project:create")

    reader = await world.tab(reader_headers, since=since)
    other = await world.tab(other_headers, since=since)
    assert (await reader.changed("project:create"))["data"] == project
    assert (await other.changed("project:create"))["data"] is None
    for tab in (reader, other):
        replayed = [event for event, _ in tab.events]
        assert replayed == ["data:changed"], replayed  # no resync: it recovered


# -- (f) OpenAPI and the fast read lane -------------------------------------------------------


async def test_openapi_documents_the_project_routes_with_the_envelope(world: World) -> None:
    schema = (await world.http.get("/openapi.json")).json()
    answers = {
        ("/api/v1/projects", "get", "200"): "ProjectListEnvelope",
        ("/api/v1/projects", "post", "201"): "ProjectEnvelope",
        ("/api/v1/projects/{idProject}", "get", "200"): "ProjectEnvelope",
        ("/api/v1/projects/{idProject}", "put", "200"): "ProjectEnvelope",
        ("/api/v1/projects/{idProject}", "delete", "200"): "EmptyEnvelope",
    }
    for (path, method, status), envelope in answers.items():
        operation = schema["paths"][path][method]
        content = operation["responses"][status]["content"]["application/json"]
        assert content["schema"] == {"$ref": f"#/components/schemas/{envelope}"}, path
        error = operation["responses"]["4XX"]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/ErrorEnvelope"}
        assert operation["security"] == [{"bearerAuth": []}]
        assert "X-Socket-ID" in {parameter["name"] for parameter in operation["parameters"]}
    project = schema["components"]["schemas"]["Project"]
    assert set(project["properties"]) == {"idProject", "name", "description"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_projects_create_and_list_are_answered_by_the_fast_lane(world: World) -> None:
    api = world.application.api
    behind_lane = api.build_middleware_stack()
    reached: list[str] = []

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(f"{scope['method']} {scope['path']}")
        await behind_lane(scope, receive, send)

    api.middleware_stack = recording
    project = await world.create_project()
    assert data(await world.http.get(f"{API}/projects", headers=world.admin)) == [project]
    assert reached == []  # neither the create nor the list needed FastAPI
