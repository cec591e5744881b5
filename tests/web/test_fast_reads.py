"""The fast lane for plain authorized GETs answers exactly as FastAPI would, and hands FastAPI
everything it cannot answer the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send

from seam_api.app import ROUTERS, Application, cors_options, route_table
from seam_api.core.errors import Conflict
from seam_api.security.access import Authenticated, Permitted, optional_caller
from seam_api.web.fast_reads import FastReads, lane_for
from seam_api.web.forwarded import ClientAddresses
from seam_api.web.middleware import RequestContextMiddleware
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
        lane = FastReads(self.behind_lane, application.routes, cors_options(cors_origin))  # type: ignore[arg-type]
        self.fast = _client(_stack(application, lane))
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
    f"{API}/users/99999",  # the endpoint's own 404, through the app's handler
    f"{API}/permission/getByRoleId?roleId=1",
    f"{API}/permission/getByNameUri?nameUri=GET%20%2Fapi%2Fv1%2Fusers",
    f"{API}/permission/getByNameUri?nameUri=get+/API/v1/users",  # `+`: a space, as Starlette says
    f"{API}/permission/getByNameUri?nameUri=%E2%82%AC",  # UTF-8, decoded
    f"{API}/permission/getByNameUri?nameUri=%FF",  # not UTF-8: replaced, as Starlette does
]


def test_the_lane_takes_the_plain_list_routes_and_no_other() -> None:
    routes = route_table(ROUTERS)
    lanes = {route.path for route in routes if isinstance(route, APIRoute) and lane_for(route)}
    assert lanes == {
        f"{API}/users",
        f"{API}/roles",
        f"{API}/permission",
        f"{API}/sidebar",
        f"{API}/auth/sessions",
        f"{API}/auth/keys",
        f"{API}/auth/password/options",
        f"{API}/auth/capabilities",
        f"{API}/sidebar/all",
        f"{API}/users/{{id}}",
        f"{API}/audit/{{eventId}}",
        f"{API}/permission/getByRoleId",
        f"{API}/permission/getByNameUri",
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


BodyParam = Annotated[dict[str, int], Body()]
OptionalCaller = Annotated[Any, Depends(optional_caller)]


def test_a_route_is_left_to_fastapi_when_it_needs_more_than_the_request() -> None:
    async def plain(
        request: Request, _caller: Authenticated, n: int = Query(1, ge=1, le=9)
    ) -> None: ...
    async def with_options(
        request: Request, _caller: Permitted, q: str | None = None, total: bool = False
    ) -> None: ...
    async def with_path(request: Request, _caller: Permitted, id: int) -> None: ...
    async def with_body(request: Request, _caller: Permitted, b: BodyParam) -> None: ...
    async def with_text(request: Request, _caller: Permitted, q: str = "") -> None: ...
    async def unbounded(request: Request, _caller: Permitted, n: int = Query(1, ge=1)) -> None: ...
    async def other_guard(request: Request, _c: OptionalCaller) -> None: ...
    async def no_request(_caller: Permitted) -> None: ...

    assert lane_for(_route("/x", plain)) is not None
    assert lane_for(_route("/x", with_options)) is not None  # options off by default
    assert lane_for(_route("/x", plain, method="DELETE")) is None
    for endpoint in (with_path, with_body, with_text, unbounded, other_guard, no_request):
        path = "/x/{id}" if endpoint is with_path else "/x"
        assert lane_for(_route(path, endpoint)) is None, endpoint.__name__


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
