"""The fast lane for plain authorized requests answers exactly as FastAPI would, and hands
FastAPI everything it cannot answer the same way, a body it read included."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from seam_api.app import ROUTERS, Application, cors_options, route_table
from seam_api.core.errors import Conflict
from seam_api.security.access import Authenticated, Permitted, optional_caller
from seam_api.web.fast_lane import FastLane, lane_for
from seam_api.web.forwarded import ClientAddresses
from seam_api.web.middleware import RequestContextMiddleware
from seam_api.web.params import PathId
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppFactory, bearer, login
from tests.helpers import API, create_role, failure, member

ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

# Headers that differ between any two answers, whichever path made them.
PER_ANSWER = {"date", "x-request-id"}


class Recording:
    """The FastAPI app behind the lane, noting each request that reaches it."""

    def __init__(self, application: Application) -> None:
        self.api = application.api
        self.reached: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.reached.append(f"{scope['method']} {scope['path']}?{scope['query_string'].decode()}")
        await self.api(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)


def _client(asgi: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=asgi, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://seam.test")


def _stack(application: Application, inner: Any) -> RequestContextMiddleware:
    settings = application.seam.settings
    return RequestContextMiddleware(
        inner, max_body_bytes=settings.max_body_bytes, addresses=ClientAddresses(())
    )


class Paths:
    """Two clients of one app: through the lane (`fast`), and FastAPI alone (`full`)."""

    def __init__(self, application: Application, cors_origin: str) -> None:
        self.behind_lane = Recording(application)
        lane = FastLane(self.behind_lane, application.routes, cors_options(cors_origin))  # type: ignore[arg-type]
        self.fast_app = _stack(application, lane)
        self.fast = _client(self.fast_app)
        self.full = _client(_stack(application, application.api))


@pytest.fixture
async def paths(make_app: AppFactory, request: pytest.FixtureRequest) -> AsyncIterator[Paths]:
    cors_origin = getattr(request, "param", "*")
    application = await make_app(cors_origin=cors_origin)
    both = Paths(application, cors_origin)
    async with both.fast, both.full:
        yield both


async def _admin(http: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))


async def _same_answer(paths: Paths, url: str, headers: dict[str, str]) -> httpx.Response:
    fast = await paths.fast.get(url, headers=headers)
    full = await paths.full.get(url, headers=headers)
    assert (fast.status_code, fast.content) == (full.status_code, full.content), url

    def kept(response: httpx.Response) -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in response.headers.multi_items() if k not in PER_ANSWER)

    assert kept(fast) == kept(full), url
    return fast


EVERY_LANE = [
    f"{API}/users",
    f"{API}/users?page=1&limit=5",
    f"{API}/users?limit=200",
    f"{API}/users?page=3&limit=1",
    f"{API}/users?limit=007",
    f"{API}/roles",
    f"{API}/permission",
    f"{API}/sidebar",
    f"{API}/auth/sessions",
    f"{API}/auth/keys",
    f"{API}/auth/password/options",
    f"{API}/auth/capabilities",
    f"{API}/sidebar/all",
    f"{API}/users/1",
    f"{API}/users/001",
    f"{API}/audit/1",
    f"{API}/audit",  # its filters' dependency, called with every filter off
    f"{API}/audit?limit=5",
    f"{API}/users/99999",  # the endpoint's own 404, through the app's handler
    f"{API}/permission/getByRoleId?roleId=1",
    f"{API}/permission/getByNameUri?nameUri=GET%20%2Fapi%2Fv1%2Fusers",
    f"{API}/permission/getByNameUri?nameUri=get+/API/v1/users",  # `+`: a space, as Starlette says
    f"{API}/permission/getByNameUri?nameUri=%E2%82%AC",  # UTF-8, decoded
    f"{API}/permission/getByNameUri?nameUri=%FF",  # not UTF-8: replaced, as Starlette does
]


def test_the_lane_takes_every_plain_route_and_no_other() -> None:
    routes = route_table(ROUTERS)
    left_to_fastapi = {
        f"{method} {route.path}"
        for route in routes
        if isinstance(route, APIRoute) and not lane_for(route)
        for method in route.methods
    }
    assert left_to_fastapi == {
        f"POST {API}/auth/register",  # its guard also reads who may register whom
        f"POST {API}/auth/logout",  # guards that lift a restriction (signed_in)
        f"GET {API}/auth/me",
        f"PUT {API}/auth/password",
        f"POST {API}/auth/mfa/totp",
        f"POST {API}/auth/mfa/totp/confirm",
        f"DELETE {API}/auth/mfa/totp",
        f"GET {API}/audit/export",  # its format is an option that is never off
    }


@ON_SQLITE
async def test_a_plain_read_is_answered_by_the_lane_as_fastapi_answers_it(paths: Paths) -> None:
    admin = await _admin(paths.full)
    await member(paths.full, admin)
    for url in EVERY_LANE:
        await _same_answer(paths, url, admin)
    assert paths.behind_lane.reached == []  # none of them needed FastAPI


@ON_SQLITE
async def test_cross_origin_reads_carry_the_same_cors_headers(paths: Paths) -> None:
    admin = await _admin(paths.full)
    answer = await _same_answer(paths, f"{API}/users", {**admin, "Origin": "http://ui.test"})
    assert answer.headers["access-control-allow-origin"] == "*"
    assert paths.behind_lane.reached == []


@ON_SQLITE
@pytest.mark.parametrize("paths", ["http://ui.test"], indirect=True)
async def test_a_listed_and_an_unlisted_origin_get_fastapis_cors_headers(paths: Paths) -> None:
    admin = await _admin(paths.full)
    listed = await _same_answer(paths, f"{API}/roles", {**admin, "Origin": "http://ui.test"})
    assert listed.headers["access-control-allow-origin"] == "http://ui.test"
    unlisted = await _same_answer(paths, f"{API}/roles", {**admin, "Origin": "http://evil.test"})
    assert "access-control-allow-origin" not in unlisted.headers


@ON_SQLITE
async def test_what_the_lane_cannot_answer_the_same_way_goes_to_fastapi(paths: Paths) -> None:
    admin = await _admin(paths.full)
    refused = [
        (f"{API}/users", {}, 401),  # no token
        (f"{API}/users", {"Authorization": "Bearer not-a-token"}, 401),
        (f"{API}/users?limit=0", admin, 400),
        (f"{API}/users?limit=201", admin, 400),
        (f"{API}/users?limit=x", admin, 400),
        (f"{API}/users?limit=-1", admin, 400),
        (f"{API}/users?limit=%205", admin, 200),  # pydantic's reading, not the lane's
        (f"{API}/users?limit=5&limit=6", admin, 200),  # which one wins is FastAPI's to say
        (f"{API}/users?limit=9999999999", admin, 400),
        (f"{API}/users?other=1", admin, 200),
        (f"{API}/users?search=a", admin, 200),  # an option the lane leaves off
        (f"{API}/users?withTotal=false", admin, 200),
        (f"{API}/roles?sort=-idRole", admin, 200),
        (f"{API}/users/1", {}, 401),
        (f"{API}/users/0", admin, 400),
        (f"{API}/users/x", admin, 400),
        (f"{API}/users/%C2%B2", admin, 400),  # a digit to str.isdigit, not to int()
        (f"{API}/users/9999999999", admin, 400),
        (f"{API}/users/1?other=1", admin, 200),
        (f"{API}/users/1/", admin, 307),  # the redirect to the path without the slash
        (f"{API}/audit/export", admin, 200),
        (f"{API}/audit?entity=user", admin, 200),  # a filter: FastAPI reads it
        (f"{API}/audit?before=5&limit=5", admin, 200),
        (f"{API}/permission/getByRoleId", admin, 400),  # a required parameter, missing
        (f"{API}/permission/getByNameUri", admin, 400),
        (f"{API}/permission/getByNameUri?nameUri=", admin, 400),  # under min_length
        (f"{API}/permission/getByNameUri?nameUri={'x' * 101}", admin, 400),
        (f"{API}/permission/getByNameUri?nameUri=a&nameUri=b", admin, 404),  # FastAPI picks
        (f"{API}/permission/getByNameUri?name%55ri=a", admin, 404),  # an escaped name
    ]
    for url, headers, status in refused:
        answer = await _same_answer(paths, url, headers)
        assert answer.status_code == status, url
    assert len(paths.behind_lane.reached) == len(refused)


@ON_SQLITE
async def test_a_role_without_the_routes_permission_is_refused_by_fastapi(paths: Paths) -> None:
    admin = await _admin(paths.full)
    outsider = await member(paths.full, admin, role_id=await create_role(paths.full, admin))
    answer = await _same_answer(paths, f"{API}/users", outsider.headers)
    assert failure(answer, 403)
    assert paths.behind_lane.reached == [f"GET {API}/users?"]


def _route(path: str, endpoint: Any, method: str = "GET") -> APIRoute:
    router = APIRouter()
    router.add_api_route(path, endpoint, methods=[method])
    route = router.routes[0]
    assert isinstance(route, APIRoute)
    return route


class Form(BaseModel):
    n: int


BodyParam = Annotated[dict[str, int], Body()]
Embedded = Annotated[Form, Body(embed=True)]
OptionalCaller = Annotated[Any, Depends(optional_caller)]


def _filters(q: str | None = None, flag: bool = False) -> tuple[str | None, bool]:
    return q, flag


def _reads_a_header(x_thing: Annotated[str | None, Header()] = None) -> str | None:
    return x_thing


def _yields(q: str | None = None) -> Iterator[str | None]:
    yield q


Filters = Annotated[tuple[str | None, bool], Depends(_filters)]
Yields = Annotated[str | None, Depends(_yields)]
Reads = Annotated[str | None, Depends(_reads_a_header)]


def test_a_route_is_left_to_fastapi_when_it_needs_more_than_the_request() -> None:
    async def plain(
        request: Request, _caller: Authenticated, n: int = Query(1, ge=1, le=9)
    ) -> Response: ...
    async def with_options(
        request: Request, _caller: Permitted, q: str | None = None, total: bool = False
    ) -> Response: ...
    async def with_path(request: Request, _caller: Permitted, id: int) -> Response: ...
    async def bounded_path(
        request: Request, _caller: Permitted, a: PathId, b: PathId
    ) -> Response: ...
    async def with_model(request: Request, _caller: Permitted, form: Form) -> Response: ...
    async def with_body(request: Request, _caller: Permitted, b: BodyParam) -> Response: ...
    async def embedded(request: Request, _caller: Permitted, form: Embedded) -> Response: ...
    async def two_bodies(
        request: Request, _caller: Permitted, form: Form, other: Form
    ) -> Response: ...
    async def with_text(request: Request, _caller: Permitted, q: str = "") -> Response: ...
    async def unbounded(
        request: Request, _caller: Permitted, n: int = Query(1, ge=1)
    ) -> Response: ...
    async def other_guard(request: Request, _c: OptionalCaller) -> Response: ...
    async def with_filters(request: Request, _caller: Permitted, f: Filters) -> Response: ...
    async def with_header(request: Request, _caller: Permitted, f: Reads) -> Response: ...
    async def with_yield(request: Request, _caller: Permitted, f: Yields) -> Response: ...
    async def no_request(_caller: Permitted) -> Response: ...
    async def serialised(request: Request, _caller: Permitted) -> dict[str, int]: ...

    assert lane_for(_route("/x", plain)) is not None
    assert lane_for(_route("/x", with_options)) is not None  # options off by default
    assert lane_for(_route("/x", plain, method="DELETE")) is not None
    assert lane_for(_route("/x/{a}/y/{b}", bounded_path, method="POST")) is not None
    assert lane_for(_route("/x", with_model, method="PUT")) is not None
    assert lane_for(_route("/x", with_filters)) is not None  # options only: their defaults
    left = [
        ("/x/{id}", with_path, "GET"),  # an unbounded int
        ("/x", with_model, "GET"),  # a GET reading a body
        ("/x", with_body, "PUT"),  # a body that is not a model
        ("/x", embedded, "PUT"),
        ("/x", two_bodies, "PUT"),
        ("/x", with_text, "GET"),
        ("/x", unbounded, "GET"),
        ("/x", other_guard, "GET"),
        ("/x", with_header, "GET"),  # a dependency that reads more than options
        ("/x", with_yield, "GET"),  # one FastAPI enters and leaves around the call
        ("/x", no_request, "GET"),
        ("/x", serialised, "GET"),  # FastAPI would serialise what it returns
    ]
    for path, endpoint, method in left:
        assert lane_for(_route(path, endpoint, method)) is None, endpoint.__name__


@ON_SQLITE
@pytest.mark.parametrize(
    ("error", "status"),
    [
        (RuntimeError("the database went away: postgresql://secret@db"), 500),
        (Conflict("errors.conflict"), 409),
    ],
)
async def test_a_failing_read_gets_the_apps_own_error_answer(
    paths: Paths, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int
) -> None:
    admin = await _admin(paths.full)

    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise error

    monkeypatch.setattr("seam_api.users.service.list_page", broken)
    for origin in ({}, {"Origin": "http://ui.test"}):
        answer = await _same_answer(paths, f"{API}/users", {**admin, **origin})
        assert "secret" not in failure(answer, status)["message"]
    assert paths.behind_lane.reached == []


@ON_SQLITE
async def test_a_guard_that_fails_is_answered_by_fastapi(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await _admin(paths.full)

    async def broken(_token: str) -> None:
        raise RuntimeError("the session store went away")

    monkeypatch.setattr(paths.behind_lane.api.state.seam.sessions, "authenticate", broken)
    answer = await _same_answer(paths, f"{API}/users", admin)
    assert failure(answer, 500)
    assert paths.behind_lane.reached == [f"GET {API}/users?"]


async def _same_write(
    paths: Paths, method: str, url: str, headers: dict[str, str], **body: Any
) -> httpx.Response:
    """The same request by FastAPI, then through the lane: for a write that does the same
    again (an edit to the same values), the two answers match."""
    full = await paths.full.request(method, url, headers=headers, **body)
    fast = await paths.fast.request(method, url, headers=headers, **body)
    assert (fast.status_code, fast.content) == (full.status_code, full.content), url

    def kept(response: httpx.Response) -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in response.headers.multi_items() if k not in PER_ANSWER)

    assert kept(fast) == kept(full), url
    return fast


@ON_SQLITE
async def test_a_plain_write_is_answered_by_the_lane_as_fastapi_answers_it(paths: Paths) -> None:
    admin = await _admin(paths.full)
    user = await member(paths.full, admin)
    role = await create_role(paths.full, admin)
    writes: list[tuple[str, str, Any]] = [
        ("PUT", f"{API}/users/{user.id}", {"full_name": "Same Name"}),
        ("PUT", f"{API}/users/{user.id}", {"full_name": "Same Name", "roleId": user.role_id}),
        ("PUT", f"{API}/users/{user.id}/state", {"isActive": 1}),
        ("PUT", f"{API}/roles/{role}", {"description": "The same"}),
        ("DELETE", f"{API}/users/{user.id}/sessions", None),
    ]
    for method, url, body in writes:
        answer = await _same_write(paths, method, url, admin, json=body)
        assert answer.status_code == 200, url
    assert paths.behind_lane.reached == []
    renamed = await paths.full.get(f"{API}/users/{user.id}", headers=admin)
    assert renamed.json()["data"]["full_name"] == "Same Name"


@ON_SQLITE
async def test_a_write_the_lane_cannot_answer_the_same_way_goes_to_fastapi_body_and_all(
    paths: Paths,
) -> None:
    admin = await _admin(paths.full)
    user = await member(paths.full, admin)
    url = f"{API}/users/{user.id}"
    json_type = {"Content-Type": "application/json"}

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"full_name": '
        yield b'"Chunked"}'

    refused: list[tuple[dict[str, str], dict[str, Any], int]] = [
        ({}, {"json": {"full_name": "No Token"}}, 401),
        ({**admin, **json_type}, {"content": b'{"full_name": '}, 400),  # not JSON
        ({**admin, **json_type}, {"content": b""}, 400),  # no body
        ({**admin, **json_type}, {"content": b"{}"}, 400),  # nothing to change
        ({**admin, **json_type}, {"content": b'{"email": "nobody"}'}, 400),
        ({**admin, **json_type}, {"content": b'{"full_name": NaN}'}, 400),
        # JSON to FastAPI, not to the lane: a BOM, another JSON type; without a type, none
        ({**admin, **json_type}, {"content": b'\xef\xbb\xbf{"full_name": "Bom"}'}, 200),
        (
            {**admin, "Content-Type": "application/merge-patch+json"},
            {"content": b'{"full_name": "Merge Patch"}'},
            200,
        ),
        (admin, {"content": b'{"full_name": "Untyped"}'}, 400),
        ({**admin, "Content-Type": "text/plain"}, {"content": b'{"full_name": "Text"}'}, 400),
        ({**admin, **json_type}, {"content": chunks()}, 200),  # no Content-Length
    ]
    for headers, body, status in refused:
        if "content" in body and not isinstance(body["content"], bytes):
            answer = await paths.fast.put(url, headers=headers, **body)  # a stream goes once
        else:
            answer = await _same_write(paths, "PUT", url, headers, **body)
        assert answer.status_code == status, body
    assert len(paths.behind_lane.reached) == len(refused)
    after = await paths.full.get(url, headers=admin)
    assert after.json()["data"]["full_name"] == "Chunked"  # what FastAPI was handed, whole


@ON_SQLITE
async def test_a_write_refused_by_its_guard_is_answered_by_fastapi(paths: Paths) -> None:
    admin = await _admin(paths.full)
    outsider = await member(paths.full, admin, role_id=await create_role(paths.full, admin))
    url = f"{API}/roles/{outsider.role_id}"
    answer = await _same_write(paths, "PUT", url, outsider.headers, json={"description": "x"})
    assert failure(answer, 403)
    assert paths.behind_lane.reached == [f"PUT {url}?"]


@ON_SQLITE
async def test_a_body_cut_short_by_a_disconnect_changes_nothing(paths: Paths) -> None:
    admin = await _admin(paths.full)
    user = await member(paths.full, admin)
    url = f"{API}/users/{user.id}"
    # What arrived is valid JSON, but the client left before the rest of its body.
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"full_name": "Cut Short"}', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(_message: dict[str, Any]) -> None:
        return None

    headers = [
        (b"host", b"seam.test"),
        (b"authorization", admin["Authorization"].encode()),
        (b"content-type", b"application/json"),
        (b"content-length", b"60"),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("seam.test", 80),
    }
    with contextlib.suppress(Exception):  # FastAPI's own answer to a client that left
        await paths.fast_app(scope, receive, send)
    assert paths.behind_lane.reached == [f"PUT {url}?"]
    after = await paths.full.get(url, headers=admin)
    assert after.json()["data"]["full_name"] != "Cut Short"


async def test_a_path_parameter_routes_query_is_read_as_fastapi_reads_it() -> None:
    api = FastAPI()

    @api.get("/x/{a}")
    async def endpoint(
        request: Request, a: PathId, n: Annotated[int, Query(ge=1, le=9)]
    ) -> Response:
        return Response(f"{a} {n}")

    reached: list[str] = []

    class Behind:
        exception_handlers = api.exception_handlers

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            reached.append(f"{scope['path']}?{scope['query_string'].decode()}")
            await api(scope, receive, send)

    lane = FastLane(Behind(), api.routes, cors_options("*"))  # type: ignore[arg-type]
    async with _client(lane) as http:
        assert (await http.get("/x/3?n=2")).text == "3 2"
        assert reached == []
        assert (await http.get("/x/3")).status_code == 422  # `n` is required: FastAPI says so
        assert (await http.get("/x/3?n=2&m=1")).text == "3 2"  # an unknown name: FastAPI's
    assert reached == ["/x/3?", "/x/3?n=2&m=1"]
