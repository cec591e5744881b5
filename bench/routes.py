"""The routes phase (p): every route of the contract's sections 4 and 6 under wrk, each beside
PocketBase's nearest equivalent measured right after it on the same machine.

Reads run first, on the seeded tables (60 users, the bootstrap's 2 roles, 5 menu items of the
admin's); the mutations follow, each shaped so that the tables stay as they were: an edit
rewrites one row with a value new in every request, a create is deleted by the next request
of its connection, an assignment is undone a round later (`loadgen.ring_script`). Reads use
50 connections, mutations 20, and the routes that hash a password as many as the server
hashes at once (beyond that it answers 429).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from bench import loadgen, pocketbase, servers
from bench.serving import Server
from seam_api.security.credentials import MAX_HASHES_IN_FLIGHT

READ_CONNECTIONS = 50
EDIT_CONNECTIONS = 20
HASH_CONNECTIONS = MAX_HASHES_IN_FLIGHT
WARM_UP_SECONDS = 1
HASH_SETTLE = 3.0  # longer than a hash takes with every slot busy on 2 cores
MENU_ITEMS = 5
RING = 100  # entries an assignment ring cycles through (far above the connections)
API = "/api/v1"
PB_MEMBERS = "/api/collections/members/records"
PB_ROLES = "/api/collections/roles/records"


@dataclass(frozen=True)
class Load:
    """One wrk run: a path on a server, the script that shapes its requests, the connections."""

    path: str
    script: Path
    connections: int
    # Seconds to wait after the warm-up: a password hash outlives the connection that asked
    # for it, and the measured run would otherwise meet the warm-up's hashes with 429s.
    settle: float = 0.0
    # Called after each wrk run: puts back what a run left half done (an assignment ring).
    reset: Callable[[], None] | None = None


@dataclass
class Measured:
    result: loadgen.WrkResult
    cpu_us: float  # server CPU per answered request, microseconds

    def as_json(self) -> dict[str, Any]:
        return {
            "req_s": round(self.result.rate, 1),
            "p50_ms": self.result.p50_ms,
            "p99_ms": self.result.p99_ms,
            "errors": self.result.errors,
            "requests": self.result.requests,
            "cpu_us_per_req": round(self.cpu_us, 1),
        }


@dataclass
class RouteRow:
    route: str
    backend: str
    connections: int
    seam: Measured
    reference: str | None = None  # PocketBase's equivalent, as a request line
    pocketbase: Measured | None = None

    @property
    def ratio(self) -> float | None:
        if self.pocketbase is None or not self.pocketbase.result.rate:
            return None
        return self.seam.result.rate / self.pocketbase.result.rate

    def as_json(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "backend": self.backend,
            "connections": self.connections,
            "seam": self.seam.as_json(),
            "pocketbase_equivalent": self.reference,
            "pocketbase": None if self.pocketbase is None else self.pocketbase.as_json(),
            "ratio_req_s": None if self.ratio is None else round(self.ratio, 3),
        }


def run_load(server: Server, load: Load, headers: dict[str, str], seconds: int) -> Measured:
    """A warm-up second, then `seconds` of wrk, and the server's CPU over the measured part."""
    url = f"{server.url}{load.path}"
    loadgen.run_wrk(
        url, load.script, connections=load.connections, seconds=WARM_UP_SECONDS, headers=headers
    )
    if load.reset is not None:
        load.reset()
    time.sleep(load.settle)
    before = servers.cpu_seconds(server)
    result = loadgen.run_wrk(
        url, load.script, connections=load.connections, seconds=seconds, headers=headers
    )
    cpu = servers.cpu_seconds(server) - before
    if load.reset is not None:
        load.reset()
    answered = max(result.requests - result.errors, 1)
    return Measured(result, 1e6 * cpu / answered)


@dataclass
class Case:
    """A route of SEAM API and, where PocketBase has one, its nearest equivalent."""

    route: str
    seam: Callable[[], Load]
    reference: tuple[str, Callable[[], Load]] | None = None


class Reference:
    """PocketBase's side: a started and seeded server and the loads that mirror SEAM API's."""

    def __init__(self, server: Server, seeded: pocketbase.Seeded, workdir: Path) -> None:
        self.server = server
        self.seeded = seeded
        self.headers = {"Authorization": seeded.token}
        self.workdir = workdir
        member = seeded.member_ids[0]
        get = loadgen.get_script(workdir, "pb-get")
        self.one = (
            f"GET {PB_MEMBERS}/:id?expand=role",
            lambda: Load(f"{PB_MEMBERS}/{member}?expand=role", get, READ_CONNECTIONS),
        )
        self.fifty = (
            f"GET {PB_MEMBERS}?perPage=50&skipTotal=1&expand=role",
            lambda: Load(f"{PB_MEMBERS}?perPage=50&skipTotal=1&expand=role", get, READ_CONNECTIONS),
        )
        self.small = (
            f"GET {PB_ROLES}?skipTotal=1 (2 rows)",
            lambda: Load(f"{PB_ROLES}?skipTotal=1", get, READ_CONNECTIONS),
        )
        self.patch = (
            f"PATCH {PB_MEMBERS}/:id?expand=role full_name",
            lambda: Load(
                f"{PB_MEMBERS}/{member}",
                loadgen.numbered_script(
                    workdir,
                    "pb-patch",
                    "PATCH",
                    f"{PB_MEMBERS}/{member}?expand=role",
                    '{"full_name":"Bench Edit @N@"}',
                ),
                EDIT_CONNECTIONS,
            ),
        )
        self.create_delete = (
            f"POST + DELETE {PB_ROLES}",
            lambda: Load(
                PB_ROLES,
                loadgen.create_delete_script(
                    workdir,
                    "pb-roles",
                    PB_ROLES,
                    '{"roleName":"bench-' + uuid.uuid4().hex[:8] + '-@N@"}',
                    '"id":"(%w+)"',
                    f"{PB_ROLES}/",
                ),
                EDIT_CONNECTIONS,
            ),
        )
        identity, password = seeded.password
        self.login = (
            "POST /api/collections/users/auth-with-password (bcrypt)",
            lambda: Load(
                "/api/collections/users/auth-with-password",
                loadgen.post_json_script(
                    workdir, "pb-login", {"identity": identity, "password": password}
                ),
                HASH_CONNECTIONS,
                settle=HASH_SETTLE,
            ),
        )


class Seam:
    """SEAM API's side: the admin's token and what the cases read and change."""

    def __init__(self, server: Server, token: str, user_ids: list[int], workdir: Path) -> None:
        self.server = server
        self.headers = {"Authorization": f"Bearer {token}"}
        self.user_ids = user_ids
        self.workdir = workdir
        self.run = uuid.uuid4().hex[:8]
        self.http = httpx.Client(base_url=f"{server.url}{API}", headers=self.headers, timeout=30)
        me = self._call("GET", "/users", params={"limit": 200})
        self.admin_role = next(u["roleId"] for u in me if u["email"] == servers.ADMIN_EMAIL)
        for number in range(MENU_ITEMS):
            item = self._call("POST", "/sidebar", json={"nameItem": f"Menu {number}"})
            self._call("POST", f"/sidebar/{item['idItem']}/role/{self.admin_role}")
        self.event_id = self._call("GET", "/audit", params={"limit": 1})[0]["eventId"]

    def _call(self, method: str, path: str, **options: Any) -> Any:
        answer = self.http.request(method, path, **options)
        if answer.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json()["data"]

    def get(self, path: str) -> Callable[[], Load]:
        script = loadgen.get_script(self.workdir, "seam-get")
        return lambda: Load(f"{API}{path}", script, READ_CONNECTIONS)

    def numbered(self, method: str, path: str, body: str, connections: int) -> Callable[[], Load]:
        def load() -> Load:
            name = f"seam-{uuid.uuid4().hex[:6]}"
            script = loadgen.numbered_script(self.workdir, name, method, f"{API}{path}", body)
            return Load(f"{API}{path}", script, connections)

        return load

    def create_delete(
        self, create: str, body: str, id_field: str, delete_prefix: str, connections: int
    ) -> Callable[[], Load]:
        def load() -> Load:
            name = f"seam-{uuid.uuid4().hex[:6]}"
            script = loadgen.create_delete_script(
                self.workdir,
                name,
                f"{API}{create}",
                body.replace("@RUN@", self.run),
                f'"{id_field}":(%d+)',
                f"{API}{delete_prefix}",
            )
            return Load(f"{API}{create}", script, connections)

        return load

    def ring(
        self, name: str, make: Callable[[], tuple[list[Any], list[Any]]]
    ) -> Callable[[], Load]:
        def load() -> Load:
            on, off = make()
            script = loadgen.ring_script(self.workdir, f"seam-{name}", on, off)

            def undo() -> None:
                """Each run starts the ring afresh: what the last one left assigned goes."""
                json_body = {"Content-Type": "application/json"}
                for method, path, body in off:
                    headers = json_body if body else None
                    self.http.request(method, path.removeprefix(API), content=body, headers=headers)

            return Load(on[0][1], script, EDIT_CONNECTIONS, reset=undo)

        return load

    def permission_ring(self) -> tuple[list[Any], list[Any]]:
        role = self._call("POST", "/roles", json={"roleName": f"ring-{self.run}"})["idRole"]
        body = '{"roleId":%d,"permissionId":%d}'
        on, off = [], []
        for number in range(RING):
            form = {"nameUri": f"GET /ring/{self.run}/{number}", "description": "ring"}
            permission = self._call("POST", "/permission/register", json=form)["idPermission"]
            on.append(("POST", f"{API}/permission/assign", body % (role, permission)))
            off.append(("DELETE", f"{API}/permission/unassign", body % (role, permission)))
        return on, off

    def menu_ring(self) -> tuple[list[Any], list[Any]]:
        role = self._call("POST", "/roles", json={"roleName": f"menu-{self.run}"})["idRole"]
        on, off = [], []
        for number in range(RING):
            item = self._call("POST", "/sidebar", json={"nameItem": f"Ring {number}"})["idItem"]
            on.append(("POST", f"{API}/sidebar/{item}/role/{role}", None))
            off.append(("DELETE", f"{API}/sidebar/{item}/role/{role}", None))
        return on, off

    def new_role(self) -> int:
        return int(self._call("POST", "/roles", json={"roleName": f"edit-{self.run}"})["idRole"])

    def new_item(self) -> int:
        return int(self._call("POST", "/sidebar", json={"nameItem": f"Edit {self.run}"})["idItem"])


def cases(seam: Seam, pb: Reference | None) -> list[Case]:
    """Every route of sections 4 and 6, reads first, in the contract's order within each."""
    one, fifty, small = (None, None, None) if pb is None else (pb.one, pb.fifty, pb.small)
    patch = pb and pb.patch
    user, state_user, reset_user = seam.user_ids[0], seam.user_ids[1], seam.user_ids[2]
    uri = "GET%20%2Fapi%2Fv1%2Fusers"
    edit_role: list[int] = []
    edit_item: list[int] = []

    def role_id() -> int:
        if not edit_role:
            edit_role.append(seam.new_role())
        return edit_role[0]

    def item_id() -> int:
        if not edit_item:
            edit_item.append(seam.new_item())
        return edit_item[0]

    def later(make: Callable[[], Callable[[], Load]]) -> Callable[[], Load]:
        return lambda: make()()

    login_body = {"email": servers.ADMIN_EMAIL, "password": servers.ADMIN_PASSWORD}
    return [
        Case("GET /users?limit=50", seam.get("/users?limit=50"), fifty),
        Case("GET /users/:id", seam.get(f"/users/{user}"), one),
        Case("GET /roles", seam.get("/roles"), small),
        Case("GET /permission", seam.get("/permission"), small),
        Case(
            "GET /permission/getByRoleId",
            seam.get(f"/permission/getByRoleId?roleId={seam.admin_role}"),
            small,
        ),
        Case(
            "GET /permission/getByNameUri",
            seam.get(f"/permission/getByNameUri?nameUri={uri}"),
            small,
        ),
        Case(f"GET /sidebar ({MENU_ITEMS} items)", seam.get("/sidebar"), small),
        Case("GET /audit?limit=50", seam.get("/audit?limit=50"), fifty),
        Case("GET /audit/:eventId", seam.get(f"/audit/{seam.event_id}"), one),
        Case("GET /audit/export (ndjson, whole trail)", seam.get("/audit/export"), None),
        Case(
            "PUT /users/:id full_name",
            seam.numbered(
                "PUT", f"/users/{user}", '{"full_name":"Bench Edit @N@"}', EDIT_CONNECTIONS
            ),
            patch,
        ),
        Case(
            "PUT /users/:id/state",
            seam.numbered("PUT", f"/users/{state_user}/state", '{"isActive":1}', EDIT_CONNECTIONS),
            patch,
        ),
        Case(
            "POST /roles + DELETE /roles/:idRole",
            seam.create_delete(
                "/roles", '{"roleName":"r-@RUN@-@N@"}', "idRole", "/roles/", EDIT_CONNECTIONS
            ),
            pb and pb.create_delete,
        ),
        Case(
            "PUT /roles/:idRole description",
            later(
                lambda: seam.numbered(
                    "PUT", f"/roles/{role_id()}", '{"description":"Bench @N@"}', EDIT_CONNECTIONS
                )
            ),
            patch,
        ),
        Case(
            "POST /permission/register + DELETE /permission/:id",
            seam.create_delete(
                "/permission/register",
                '{"nameUri":"GET /bench/@RUN@/@N@","description":"bench"}',
                "idPermission",
                "/permission/",
                EDIT_CONNECTIONS,
            ),
            pb and pb.create_delete,
        ),
        Case(
            "POST /permission/assign + DELETE /permission/unassign",
            seam.ring("permission-ring", seam.permission_ring),
        ),
        Case(
            "POST /sidebar + DELETE /sidebar/:idItem",
            seam.create_delete(
                "/sidebar",
                '{"nameItem":"Bench @N@","iconItem":"star","route":"/bench"}',
                "idItem",
                "/sidebar/",
                EDIT_CONNECTIONS,
            ),
            pb and pb.create_delete,
        ),
        Case(
            "PUT /sidebar/:idItem nameItem",
            later(
                lambda: seam.numbered(
                    "PUT", f"/sidebar/{item_id()}", '{"nameItem":"Bench @N@"}', EDIT_CONNECTIONS
                )
            ),
            patch,
        ),
        Case(
            "POST + DELETE /sidebar/:idItem/role/:idRole",
            seam.ring("menu-ring", seam.menu_ring),
        ),
        Case(
            "POST /auth/login",
            lambda: Load(
                f"{API}/auth/login",
                loadgen.post_json_script(seam.workdir, "seam-login", login_body),
                HASH_CONNECTIONS,
                settle=HASH_SETTLE,
            ),
            pb and pb.login,
        ),
        Case(
            "POST /auth/login + POST /auth/logout",
            lambda: Load(
                f"{API}/auth/login",
                loadgen.login_logout_script(
                    seam.workdir,
                    "seam-logout",
                    f"{API}/auth/login",
                    json.dumps(login_body),
                    '"token":"([^"]+)"',
                    f"{API}/auth/logout",
                ),
                HASH_CONNECTIONS,
                settle=HASH_SETTLE,
            ),
        ),
        Case(
            "POST /auth/register + DELETE /users/:id",
            hashing(
                seam.create_delete(
                    "/auth/register",
                    '{"full_name":"Bench Reg @N@","email":"reg-@RUN@-@N@@seam.bench",'
                    '"password":"bench-password"}',
                    "idUser",
                    "/users/",
                    HASH_CONNECTIONS,
                )
            ),
        ),
        Case(
            "PUT /users/:id/resetPassword",
            hashing(
                seam.numbered("PUT", f"/users/{reset_user}/resetPassword", "", HASH_CONNECTIONS)
            ),
        ),
    ]


def hashing(make: Callable[[], Load]) -> Callable[[], Load]:
    """A load on a route that hashes a password: it waits for the warm-up's hashes to end."""
    return lambda: replace(make(), settle=HASH_SETTLE)


def measure(
    seam: Seam, pb: Reference | None, backend: str, seconds: int, wanted: Callable[[str], bool]
) -> list[RouteRow]:
    """Each wanted case on SEAM API, then its PocketBase equivalent right after."""
    rows = []
    for case in cases(seam, pb):
        if not wanted(case.route):
            continue
        load = case.seam()
        row = RouteRow(
            case.route,
            backend,
            load.connections,
            run_load(seam.server, load, seam.headers, seconds),
        )
        if case.reference is not None and pb is not None:
            row.reference, make = case.reference
            row.pocketbase = run_load(pb.server, make(), pb.headers, seconds)
        rows.append(row)
        ratio = "" if row.ratio is None else f", {row.ratio:.2f}x PocketBase"
        print(f"  {backend} {row.route}: {row.seam.result.rate:,.0f} req/s{ratio}", flush=True)
    return rows


SERIAL_EDIT = "PUT /users/:id full_name, 1 connection"


def serial_edit(seam: Seam, pb: Reference | None, backend: str, seconds: int) -> RouteRow:
    """One connection editing one user: the latency of an edit when nothing queues."""
    user = seam.user_ids[0]
    body = '{"full_name":"Bench Serial @N@"}'
    load = Load(
        f"{API}/users/{user}",
        loadgen.numbered_script(seam.workdir, "seam-serial", "PUT", f"{API}/users/{user}", body),
        1,
    )
    row = RouteRow(SERIAL_EDIT, backend, 1, run_load(seam.server, load, seam.headers, seconds))
    if pb is not None:
        label, make = pb.patch
        row.reference = f"{label}, 1 connection"
        row.pocketbase = run_load(pb.server, replace(make(), connections=1), pb.headers, seconds)
    return row
