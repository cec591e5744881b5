"""Reference §1 and 4: bad input is refused with 400 (or 413 for size), never a 500, and a refused
request writes nothing. Run on every backend: NUL bytes, lone surrogates and out-of-range
numbers are exactly what PostgreSQL and MariaDB turn into server errors when they get through.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from seam_api.app import Application
from seam_api.models import metadata
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, AppFactory, Server, bearer, login

API = "/api/v1"
MIB = 1024 * 1024
DEPTH = 10_000
HUGE = "1" + "0" * 400  # 10**400 as JSON and query text
HUGER = "1" + "0" * 5000  # beyond Python's default int parsing limit
JSON_HEADERS = {"content-type": "application/json"}

Request = tuple[str, str, Any]  # method, path, body (None: no body; str: raw JSON text)


async def send(
    http: httpx.AsyncClient, headers: dict[str, str], request: Request
) -> httpx.Response:
    method, path, body = request
    if isinstance(body, str):
        return await http.request(
            method, f"{API}{path}", content=body, headers={**headers, **JSON_HEADERS}
        )
    return await http.request(method, f"{API}{path}", json=body, headers=headers)


def assert_refused(answer: httpx.Response, status: int, request: object = None) -> None:
    """The error envelope with `status`, and nothing but the envelope's fields."""
    assert answer.status_code == status, (request, answer.status_code, answer.text)
    body = answer.json()
    assert body["success"] is False and isinstance(body["message"], str), body
    assert set(body) <= {"success", "message", "errors"}, body


async def assert_all_400(
    http: httpx.AsyncClient, headers: dict[str, str], requests: list[Request]
) -> None:
    for request in requests:
        assert_refused(await send(http, headers, request), 400, request)


async def table_rows(application: Application) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: what "wrote nothing" compares."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with application.seam.db.read() as conn:
        for table in metadata.sorted_tables:
            result = await conn.execute(select(table).order_by(*table.primary_key.columns))
            rows[table.name] = [tuple(row) for row in result]
    return rows


@pytest.fixture
async def member_id(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> int:
    body = {"full_name": "Input Tester", "email": "input@example.com", "password": "secret-12"}
    answer = await client.post(f"{API}/auth/register", headers=admin_headers, json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["data"]["idUser"])


# -- size ------------------------------------------------------------------------------------


def padded_role(size: int) -> bytes:
    """A valid role body of exactly `size` bytes (the padding is in the description)."""
    empty = json.dumps({"roleName": "padded", "description": ""}).encode()
    return json.dumps({"roleName": "padded", "description": "x" * (size - len(empty))}).encode()


async def chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """`body` as a chunked upload: no Content-Length for the server to trust."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_body_over_the_limit_is_413(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    before = await table_rows(app)
    answer = await client.post(
        f"{API}/roles", content=padded_role(MIB + 1), headers={**admin_headers, **JSON_HEADERS}
    )

    assert_refused(answer, 413)
    assert await table_rows(app) == before


async def test_a_chunked_body_over_the_limit_is_413(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    before = await table_rows(app)
    request = client.build_request(
        "POST",
        f"{API}/roles",
        content=chunks(padded_role(MIB + 1)),
        headers={**admin_headers, **JSON_HEADERS},
    )
    assert "content-length" not in request.headers

    assert_refused(await client.send(request), 413)
    assert await table_rows(app) == before


async def test_a_body_at_the_limit_is_not_refused_for_its_size(make_app: AppFactory) -> None:
    """The control: the limit is the configured size, not something smaller."""
    application = await make_app(max_body_bytes=4096)
    transport = httpx.ASGITransport(app=application.asgi, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://seam.test") as http:
        admin = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        headers = {**admin, **JSON_HEADERS}
        at_limit = await http.post(f"{API}/roles", content=padded_role(4096), headers=headers)
        over = await http.post(f"{API}/roles", content=padded_role(4097), headers=headers)

    assert at_limit.status_code == 400  # refused for its description's length, not its size
    assert over.status_code == 413


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_over_the_limit_is_413_on_the_wire(server: Server, chunked: bool) -> None:
    """Through uvicorn, where a chunked upload really has no Content-Length."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        admin = bearer(await login(http, ADMIN_EMAIL, ADMIN_PASSWORD))
        body = padded_role(MIB + 1)
        answer = await http.post(
            f"{API}/roles",
            content=chunks(body) if chunked else body,
            headers={**admin, **JSON_HEADERS},
        )
        roles = await http.get(f"{API}/roles", headers=admin)

    assert_refused(answer, 413)
    assert "padded" not in {role["roleName"] for role in roles.json()["data"]}


# -- shape and content -----------------------------------------------------------------------


async def test_deeply_nested_json_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await assert_all_400(
        client,
        admin_headers,
        [
            ("POST", "/roles", "[" * DEPTH + "]" * DEPTH),
            ("POST", "/roles", '{"a":' * DEPTH + "1" + "}" * DEPTH),
            (
                "POST",
                "/roles",
                '{"roleName": "deep", "description": ' + "[" * DEPTH + "]" * DEPTH + "}",
            ),
            (
                "POST",
                "/auth/login",
                '{"email": ' + "[" * DEPTH + "]" * DEPTH + ', "password": "x"}',
            ),
        ],
    )


async def test_malformed_json_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await assert_all_400(
        client,
        admin_headers,
        [
            ("POST", "/roles", '{"roleName": "cut'),
            ("POST", "/roles", "{'roleName': 'single quotes'}"),
            ("POST", "/roles", '{"roleName": NaN}'),
            ("POST", "/roles", '{"roleName": "lone surrogate \\ud800"}'),
            ("POST", "/roles", ""),
            ("POST", "/auth/login", "\x00"),
        ],
    )


async def test_nul_bytes_in_strings_are_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str], member_id: int
) -> None:
    nul = "a\x00b"
    await assert_all_400(
        client,
        admin_headers,
        [
            ("POST", "/auth/login", {"email": nul, "password": "secret-12"}),
            ("POST", "/auth/login", {"email": "input@example.com", "password": nul + "cdef"}),
            (
                "POST",
                "/auth/register",
                {"full_name": nul, "email": "n@example.com", "password": "secret-12"},
            ),
            (
                "POST",
                "/auth/register",
                {"full_name": "Nul", "email": "n@example.com", "password": nul + "cdef"},
            ),
            ("PUT", f"/users/{member_id}", {"full_name": "Nul " + nul}),
            ("POST", "/roles", {"roleName": nul}),
            ("POST", "/roles", {"roleName": "nul role", "description": nul}),
            ("POST", "/permission/register", {"nameUri": "GET /" + nul}),
            ("POST", "/sidebar", {"nameItem": nul}),
            ("POST", "/sidebar", {"nameItem": "Nul", "iconItem": nul, "route": nul}),
        ],
    )


async def test_nul_bytes_in_query_and_path_parameters_are_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await assert_all_400(
        client,
        admin_headers,
        [
            ("GET", "/permission/getByNameUri?nameUri=GET%20%2Fapi%00", None),
            ("GET", "/permission/getByRoleId?roleId=1%00", None),
            ("GET", "/users?page=1%00", None),
            ("GET", "/users/1%00", None),
            ("DELETE", "/sidebar/1%00/role/1", None),
        ],
    )


async def test_huge_numbers_are_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str], member_id: int
) -> None:
    await assert_all_400(
        client,
        admin_headers,
        [
            ("PUT", f"/users/{member_id}/state", f'{{"isActive": {HUGE}}}'),
            ("PUT", f"/users/{member_id}/state", f'{{"isActive": {HUGER}}}'),
            ("PUT", f"/users/{member_id}/state", '{"isActive": 1e400}'),
            ("PUT", f"/users/{member_id}", f'{{"roleId": {HUGE}}}'),
            ("POST", "/permission/assign", f'{{"roleId": {HUGE}, "permissionId": 1}}'),
            ("POST", "/permission/assign", f'{{"roleId": 1, "permissionId": -{HUGE}}}'),
            ("GET", f"/users?limit={HUGE}", None),
            ("GET", f"/users?page={HUGER}", None),
            ("GET", f"/users/{HUGE}", None),
            ("GET", f"/permission/getByRoleId?roleId={HUGE}", None),
            ("POST", f"/sidebar/{HUGE}/role/1", None),
            ("GET", "/users/2147483648", None),
        ],
    )


async def test_wrong_types_are_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str], member_id: int
) -> None:
    await assert_all_400(
        client,
        admin_headers,
        [
            ("POST", "/auth/login", {"email": ["input@example.com"], "password": "secret-12"}),
            ("POST", "/auth/login", {"email": "input@example.com", "password": 123456}),
            ("POST", "/roles", {"roleName": 12}),
            ("POST", "/roles", {"roleName": {"name": "x"}}),
            ("POST", "/roles", {"roleName": None}),
            ("POST", "/roles", ["roleName"]),
            ("POST", "/roles", "just a string"),
            ("PUT", f"/users/{member_id}/state", {"isActive": "1"}),
            ("PUT", f"/users/{member_id}/state", {"isActive": True}),
            ("PUT", f"/users/{member_id}/state", {"isActive": 0.5}),
            ("PUT", f"/users/{member_id}", {"roleId": "2"}),
            ("PUT", f"/users/{member_id}", {"email": 5}),
            ("POST", "/permission/assign", {"roleId": [1], "permissionId": 1}),
            ("PUT", "/sidebar/1", {"nameItem": None}),
            ("GET", "/users?page=first", None),
            ("GET", "/users/abc", None),
            ("GET", "/users/-1", None),
            ("GET", "/users/0", None),
            ("GET", "/users/1.5", None),
        ],
    )


# -- nothing written -------------------------------------------------------------------------


async def test_a_refused_request_writes_nothing(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str], member_id: int
) -> None:
    """Valid fields beside an invalid one, and refusals found inside the service, change no row."""
    taken = {"full_name": "Taken", "email": "taken@example.com", "password": "secret-12"}
    answer = await client.post(f"{API}/auth/register", headers=admin_headers, json=taken)
    assert answer.status_code == 201, answer.text
    before = await table_rows(app)
    refusals: list[tuple[Request, int]] = [
        (("PUT", f"/users/{member_id}", {"full_name": "Renamed", "email": "not-an-email"}), 400),
        (("PUT", f"/users/{member_id}", {"full_name": "Renamed", "roleId": 999_999}), 400),
        (("PUT", f"/users/{member_id}", {"full_name": "Renamed", "email": taken["email"]}), 409),
        (("PUT", f"/users/{member_id}", {"full_name": "Renamed", "password": "short"}), 400),
        (("PUT", f"/users/{member_id}/state", {"isActive": 2}), 400),
        (("POST", "/auth/register", {**taken, "email": "new@example.com", "roleId": 999_999}), 400),
        (("POST", "/auth/register", taken), 409),
        (("POST", "/roles", {"roleName": "r" * 51}), 400),
        (("POST", "/permission/assign", {"roleId": 1, "permissionId": 999_999}), 400),
        (("POST", "/sidebar", {"nameItem": "Menu", "iconItem": "i" * 51}), 400),
    ]

    for request, status in refusals:
        assert_refused(await send(client, admin_headers, request), status, request)

    assert await table_rows(app) == before


async def test_a_duplicate_caught_only_by_the_database_is_409_and_writes_nothing(
    app: Application, client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """SQLite's lower() folds ASCII only, so the service's case-insensitive check misses an
    exact non-ASCII duplicate and the unique index refuses it: still a 409, never a 500."""
    body = {"roleName": "Ärzte Ω"}
    assert (await client.post(f"{API}/roles", headers=admin_headers, json=body)).status_code == 201
    before = await table_rows(app)

    assert_refused(await client.post(f"{API}/roles", headers=admin_headers, json=body), 409)
    assert await table_rows(app) == before


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_password_over_72_bytes_registers_and_signs_in(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    password = "é" * 100  # 100 characters, 200 bytes
    body = {"full_name": "Long Password", "email": "long@example.com", "password": password}
    answer = await client.post(f"{API}/auth/register", headers=admin_headers, json=body)
    assert answer.status_code == 201, answer.text

    await login(client, "long@example.com", password)


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("email", [ADMIN_EMAIL, "nobody@example.com"])
async def test_a_login_with_a_password_over_72_bytes_is_401(
    client: httpx.AsyncClient, email: str
) -> None:
    answer = await client.post(f"{API}/auth/login", json={"email": email, "password": "x" * 100})

    assert_refused(answer, 401)


UNSTORABLE = ("%00", "%ED%A0%80", "%FF", "x" * 1001)  # NUL, a lone surrogate, not UTF-8, long


@pytest.mark.parametrize(
    "path",
    [
        "/audit?entityId={}",
        "/audit?operation={}",
        "/audit?entity={}",
        "/audit/export?entityId={}",
        "/audit/export?format=csv&operation={}",
        "/permission/getByNameUri?nameUri={}",
        "/roles?{}=1",  # a parameter no route reads
        "/users/{}",
    ],
)
async def test_text_a_database_cannot_store_is_400_in_any_url(
    client: httpx.AsyncClient, admin_headers: dict[str, str], path: str
) -> None:
    for text in UNSTORABLE:
        answer = await client.get(f"{API}{path.format(text)}", headers=admin_headers)
        assert_refused(answer, 400, (path, text[:10]))


async def test_text_a_database_cannot_store_is_400_in_any_json_body(
    client: httpx.AsyncClient, admin_headers: dict[str, str], member_id: int
) -> None:
    for text in ("a\\u0000b", "lone \\ud800", "lone \\udc00 low"):
        for method, path, template in (
            ("POST", "/roles", '{{"roleName": "r", "description": "{}"}}'),
            ("PUT", f"/users/{member_id}", '{{"full_name": "{}"}}'),
            ("POST", "/sidebar", '{{"nameItem": "n", "route": "{}"}}'),
            ("POST", "/auth/login", '{{"email": "{}@example.com", "password": "secret-12"}}'),
        ):
            answer = await send(client, admin_headers, (method, path, template.format(text)))
            assert_refused(answer, 400, (path, text))
    ignored = '{"roleName": "extra", "x\\u0000": "\\u0000"}'  # no schema reads it: not stored
    assert (await send(client, admin_headers, ("POST", "/roles", ignored))).status_code == 201
    emoji = '{"roleName": "ok \\ud83d\\ude00"}'  # a surrogate pair is a character
    paired = await send(client, admin_headers, ("POST", "/roles", emoji))
    assert paired.status_code == 201, paired.text
