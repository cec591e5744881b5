"""The one gate for every override of a library's internals.

Everything under `runtime/` leans on code that uvicorn, python-engineio, python-socketio,
websockets or SQLAlchemy's aiosqlite adapter do not promise to keep. Each override is listed
once in `OVERRIDES`: the library versions it was checked against, the sha256 of the source of
every function or class it overrides or relies on, why it exists and the measured gain that
pays for it. At start-up
`decide()` checks each one against the installed libraries; one that does not match turns
itself off with one warning naming it, and the server keeps working on the library's own code,
only slower or heavier. `SEAM_LIBRARY_OVERRIDES=off` turns them all off (CI runs the real-time
suites that way too). tests/runtime/test_gate.py fails as soon as an installed library no
longer matches the table, so a library moving is noticed at once, not in production.

To update after a library upgrade: read the new code of each `leans_on` entry, check the
override still fits, then update the version and the digest here.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

log = logging.getLogger(__name__)

UVICORN = {"uvicorn": frozenset({"0.54.0"})}
ENGINEIO = {"python-engineio": frozenset({"4.15.1"})}
SOCKETIO = {"python-socketio": frozenset({"5.18.1"}), **ENGINEIO}
WEBSOCKETS = {"websockets": frozenset({"17.4"})}
SQLALCHEMY_AIOSQLITE = {"sqlalchemy": frozenset({"2.1.9"}), "aiosqlite": frozenset({"0.22.1"})}
_ADAPTER = "sqlalchemy.connectors.asyncio"
_SANSIO = "uvicorn.protocols.websockets.websockets_sansio_impl:WebSocketsSansIOProtocol"
_HTTPTOOLS = "uvicorn.protocols.http.httptools_impl:HttpToolsProtocol"


@dataclass(frozen=True, slots=True)
class Override:
    """One override of a library's internals, and what it must find to stay on."""

    name: str
    overrides: str
    why: str
    gain: str
    fallback: str
    tested: Mapping[str, frozenset[str]]
    # "module:Qualified.name" -> sha256 of its source at the tested versions.
    leans_on: Mapping[str, str] = field(default_factory=dict)


OVERRIDES: tuple[Override, ...] = (
    Override(
        name="engineio_poll",
        overrides="engineio AsyncSocket.poll (runtime/engineio_writer.py), on Python 3.11 only",
        why="3.11's wait_for makes a task and a timer per packet; direct writes need it on 3.11",
        gain="with direct writes: CPU per data:changed to 1,000 sockets 42.5 -> 18.0 ms",
        fallback="the library's poll; direct writes stay off on Python 3.11",
        tested=ENGINEIO,
        leans_on={
            # The library's own poll, as engineio_writer kept it before any install.
            "seam_api.runtime.engineio_writer:library_poll": (
                "826f58a9f3606db208e5d1266f075ad655b6eeda47b0a5616748624899ca5954"
            ),
        },
    ),
    Override(
        name="direct_writes",
        overrides="engineio's ASGI websocket driver and uvicorn's transport "
        "(runtime/engineio_writer.py, runtime/fanout.py)",
        why="a broadcast is framed once and written to each idle websocket, not queued 1,000x",
        gain="CPU per data:changed to 1,000 sockets 42.5 -> 18.0 ms (Node: 14.5)",
        fallback="every packet is queued for the socket's own writer task",
        tested={**ENGINEIO, **UVICORN, **WEBSOCKETS},
        leans_on={
            "engineio.async_socket:AsyncSocket._websocket_handler": (
                "27f120df4d717a24478b7b0f7389ce19eea8a881dd07e2c81fb1cf2493e006a5"
            ),
            "engineio.async_drivers.asgi:WebSocket": (
                "ce9c81653992cd625165532bb32b038bf998b31d4838a830cfc4526bb724699e"
            ),
            f"{_SANSIO}.send": "d4919ed760ce9f7be8574989b91ed67448f210ff9cc114f38d286487ec1ddfc8",
            f"{_SANSIO}.pause_writing": (
                "4830f7e0d81f877d9d664cf64b692d1c18946e68b3bc261d9a62ae64c72c0023"
            ),
            f"{_SANSIO}.resume_writing": (
                "ef79384e5fff077c02bde6132f87b99d1b4117d7161ade9146513216492cc4db"
            ),
        },
    ),
    Override(
        name="task_free_fanout",
        overrides="socketio AsyncManager.emit (runtime/fanout.py)",
        why="the library makes one task per recipient of every broadcast",
        gain="part of the 42.5 -> 18.0 ms CPU per broadcast to 1,000 sockets",
        fallback="the library's managers, one task per recipient",
        tested=SOCKETIO,
        leans_on={
            "socketio.async_manager:AsyncManager.emit": (
                "01ccd5b82b4f955e4f2e4d07b5fbf09cacef868e9f61bc2abe56d92118a5f3ac"
            ),
            # RedisFanout.close() ends the listener (`thread`) and the clients these make.
            "socketio.async_pubsub_manager:AsyncPubSubManager.initialize": (
                "e8a2b026ecea320f34e220b583b2d426aa7ebd007b2eab961fd20ba60034cecb"
            ),
            "socketio.async_redis_manager:AsyncRedisManager._redis_connect": (
                "da4530c936323c252b3525c979986934b83a23d0e2a929e5ce89bb6cd3cfff95"
            ),
        },
    ),
    Override(
        name="socket_server",
        overrides="socketio AsyncServer private methods (runtime/sio_server.py)",
        why="the CONNECT reply's pid (stock clients' state recovery), a CONNECT deadline, "
        "malformed packets answered at once, a bounded and lean queue per socket, polling "
        "sessions that stop polling closed",
        gain="socket.io-client reports recovered === true after a reconnect; ~3 KiB per socket",
        fallback="the library's server: clients reconnect without recovery, get data:synced and "
        "reload; realtime/guard.py keeps the queue bound, the poll sweep, the CONNECT deadline "
        "and bad-packet closes from outside the libraries",
        tested=SOCKETIO,
        leans_on={
            "socketio.async_server:AsyncServer._send_packet": (
                "a00022b42c1c29e908fd601c32aa1854aeaf2f131b3acc12461f6030e1ab9e9b"
            ),
            "socketio.async_server:AsyncServer._handle_eio_connect": (
                "76704886d944a7e648d24c37acb921c9866a58a6c1086f2cd9917ec0386e3517"
            ),
            "socketio.async_server:AsyncServer._handle_eio_message": (
                "bef50fc0e1635921c922995dba721d05d1c5ccc95d6a6b7647a1db75c4e6032e"
            ),
            "socketio.async_server:AsyncServer._handle_connect": (
                "c97c480cf777de36bd6348c6335ac61b324e6ed16372660100d10223faf79a74"
            ),
            "socketio.async_server:AsyncServer._handle_eio_disconnect": (
                "9344593148b66fd9b4e7614e7a1427f641c74c8cbf1d85263c0ca70d8bfeace5"
            ),
            "socketio.async_server:AsyncServer._engineio_server_class": (
                "199c42bf149247e0325bd5fb6c8bcc6c3703c5576704530fa92b383e0f777dd4"
            ),
            "engineio.async_server:AsyncServer.create_queue": (
                "5ff5673a0c0176813f16592f7a50a08b19fa1c017e36789f5662cfac366f58e2"
            ),
            # The slow-client bounds: what the queue bound and the poll sweeper wrap or call.
            "engineio.async_server:AsyncServer.send_packet": (
                "c54317440865030d979f95bfb1c98e8663057abaa9c004f1aecae4dd22783841"
            ),
            "engineio.async_server:AsyncServer.handle_request": (
                "1a8c878e35166cfe868d2cef40cdeb33af620541363a705c4dd2eea76c0f27af"
            ),
            "engineio.async_server:AsyncServer.shutdown": (
                "3f734c62c291d56aa1e715a571aaee561fdacef3b38e293a5498296bf73a82d5"
            ),
            # close(wait=False) queues the CLOSE packet and returns: `close_now` relies on it.
            "engineio.async_socket:AsyncSocket.close": (
                "faa2e93902543244d2a1b772cdf4074d1615532e98fa6ca896739ca54ad64e76"
            ),
        },
    ),
    Override(
        name="lean_websocket",
        overrides="uvicorn's websockets-sansio protocol (runtime/ws_protocol.py)",
        why="an idle tab holds its handshake and a 3 KiB queue for hours",
        gain="with the other trims, memory per idle socket 42.1 -> 27.5 KiB (Node 24.9)",
        fallback="uvicorn's own websockets-sansio protocol, about 7 KiB more per socket",
        tested=UVICORN,
        leans_on={
            f"{_SANSIO}.__init__": (
                "631dcd744eab875ffd404bbda22f9dd0db25b90e2585748710bce88357dce74b"
            ),
            f"{_SANSIO}.handle_connect": (
                "fc648c2161ff8e135e839d563d00499e26c6a00083466ce95aa27428d37af30a"
            ),
            f"{_SANSIO}.start_keepalive": (
                "6d83bdbc3db82b86e4e1d11a16cd605bc564b8ed1976a2c5c37be8fb981e1bf3"
            ),
            f"{_SANSIO}.receive": (
                "1dc0e715390021a105cfe6abb35a730af9c5be3d71043329a39bbc1c5afe66bc"
            ),
        },
    ),
    Override(
        name="sqlite_inline",
        overrides="aiosqlite's connection under SQLAlchemy's adapter, for SQLite writes "
        "(runtime/sqlite_inline.py)",
        why="aiosqlite hands every call to its thread: 22 hand-offs for an edit's 5 statements",
        gain="serial PUT /users/:id p50 on SQLite 5.1 -> 3.3 ms (same run, loaded host)",
        fallback="writes go through aiosqlite's thread like reads",
        tested=SQLALCHEMY_AIOSQLITE,
        leans_on={
            # Calls cursor/commit/rollback/close/create_function and reads `_connection`.
            "sqlalchemy.dialects.sqlite.aiosqlite:AsyncAdapt_aiosqlite_connection": (
                "6846c93240f1c54e62903188f5681ae9ed6fa5fd574d54a13563f2c1e1399565"
            ),
            # Takes `async_creator_fn` and wraps what it returns.
            "sqlalchemy.dialects.sqlite.aiosqlite:AsyncAdapt_aiosqlite_dbapi.connect": (
                "be30444ccc66c896df50e92da94abbe6ae145bbb80e66219ce2dbdf243e88c67"
            ),
            # Which cursor methods it awaits, and when.
            f"{_ADAPTER}:AsyncAdapt_dbapi_cursor": (
                "f8e13406d2c77f54aee7827c8b4a2ae4668826a607405b0ed77441df75713afd"
            ),
            f"{_ADAPTER}:AsyncAdapt_dbapi_connection": (
                "fd5f3f964e1ffcd2465e69b35aafeded77c0e9c4b06ecb09545c109d6ed9bea1"
            ),
        },
    ),
    Override(
        name="bounded_http",
        overrides="uvicorn's httptools protocol (runtime/http_protocol.py)",
        why="httptools bounds neither the size nor the time of a request head",
        gain="the fast parser with bounds (431/400/408) instead of h11's slower one",
        fallback="uvicorn's h11 protocol, which bounds the head's size but not its time",
        tested=UVICORN,
        leans_on={
            f"{_HTTPTOOLS}.connection_made": (
                "6efb565ff3d36b916c29bd42330a2b99b601b48932389e396e5ac53dbef6b91c"
            ),
            f"{_HTTPTOOLS}.data_received": (
                "010a7ae59a5d3b1a5e7326ce246878568629d126a076d8af5ba10cab040fae43"
            ),
            f"{_HTTPTOOLS}.on_header": (
                "65d62c044f61fdbd354dcb3401aa590789259bfbdbc1c07512150ec924258cd6"
            ),
            f"{_HTTPTOOLS}.on_headers_complete": (
                "1ea8589acfad92d8ff9182775f337d98fc469e0fa39642a83195fca920f5ca96"
            ),
            f"{_HTTPTOOLS}.on_message_complete": (
                "1fbad42dc31fc01fd4106a9885b2a2e0f6ce8d38241a3df0f615c6a8663493e0"
            ),
            f"{_HTTPTOOLS}.connection_lost": (
                "c91a4c9bf2e29c554a97418b5f3064e97f6e0ceaba3b90fc35a3460076c705ab"
            ),
            f"{_HTTPTOOLS}.handle_websocket_upgrade": (
                "179c4f769386ab8909f529350d350eba701170fdc37373a9046658c007221ff4"
            ),
        },
    ),
)


def source_digest(target: str) -> str | None:
    """sha256 of the source of "module:Qualified.name", or None if it is not there."""
    module_name, _, qualified = target.partition(":")
    try:
        found: object = importlib.import_module(module_name)
        for part in qualified.split("."):
            found = getattr(found, part)
        return hashlib.sha256(inspect.getsource(found).encode()).hexdigest()  # type: ignore[arg-type]
    except (ImportError, AttributeError, OSError, TypeError):
        return None


def mismatches(override: Override) -> list[str]:
    """What differs from what the override was checked against; empty when it may run."""
    found: list[str] = []
    for distribution, versions in override.tested.items():
        try:
            installed = version(distribution)
        except PackageNotFoundError:
            installed = "missing"
        if installed not in versions:
            found.append(f"{distribution} {installed} (checked: {', '.join(sorted(versions))})")
    found.extend(
        f"{target} changed"
        for target, digest in override.leans_on.items()
        if source_digest(target) != digest
    )
    return found


@functools.cache
def _checked() -> frozenset[str]:
    """The overrides that match the installed libraries, each mismatch warned about once."""
    matching = set()
    for override in OVERRIDES:
        problems = mismatches(override)
        if problems:
            log.warning(
                "library override %s is off (%s): %s; fallback: %s",
                override.name,
                override.overrides,
                "; ".join(problems),
                override.fallback,
            )
        else:
            matching.add(override.name)
    return frozenset(matching)


def decide(enabled: bool) -> frozenset[str]:
    """The names of the overrides to use: none when SEAM_LIBRARY_OVERRIDES is off, else those
    that match the installed libraries."""
    if not enabled:
        return frozenset()
    return _checked()
