"""The Socket.IO server: its handshake, and the one place that decides who receives an event.

Services never emit directly: they call `progress` / `changed`, which queue the event and return
at once. One delivery task drains the queue in order, so the events of a request arrive in the
order they were made, a slow or absent client never holds a request up, and a failing emit is
logged instead of failing the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import socketio
from pydantic_core import to_jsonable_python
from redis.asyncio import Redis
from redis.exceptions import RedisError

from seam_api.core.access import USERS_READ, PermissionCache
from seam_api.core.context import RequestContext, current
from seam_api.core.errors import AppError
from seam_api.core.fanout import DirectFanout, RedisFanout
from seam_api.core.sessions import SessionGuard
from seam_api.messages import pick_locale, t

log = logging.getLogger(__name__)

READ_SUFFIXES = (":fetchAll", ":fetchOne", ":fetchByRole", ":fetchByUri")
READ_OPERATIONS = frozenset({"auth:login", "auth:logout"})
# Operations whose data is a user: only roles that may read users receive it (contract 5.2).
USER_DATA_PREFIXES = ("user:", "auth:register")

QUEUE_LIMIT = 100_000
Closing = tuple[str, int | str]  # ("user", user id) or ("token", token id)
REMOTE_OWNER_TTL = 10.0


def is_mutation(operation: str) -> bool:
    """Contract 5.2: everything but the fetches, login and logout changes data."""
    return not operation.endswith(READ_SUFFIXES) and operation not in READ_OPERATIONS


_last_stamp: tuple[int, str] = (0, "")


def _now_iso() -> str:
    """The current UTC time to the millisecond; a busy server stamps several events per
    millisecond, so the last string is reused until the clock moves on."""
    global _last_stamp
    now_ms = time.time_ns() // 1_000_000
    if _last_stamp[0] != now_ms:
        moment = datetime.fromtimestamp(now_ms / 1000, UTC)
        _last_stamp = (now_ms, moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
    return _last_stamp[1]


class _CompactJson:
    """The `json` of outgoing packets: orjson, as compact text. Incoming packets keep the
    standard module (`loads`): they are few, and its number parsing is the library's."""

    loads = staticmethod(json.loads)

    @staticmethod
    def dumps(value: Any, **_options: Any) -> str:
        return orjson.dumps(value).decode()


class EventPacket(socketio.packet.Packet):  # type: ignore[misc]
    """Socket.IO packets encoded by orjson, without the recursive scan for binary data.

    Every payload this server emits went through `_jsonable` first, so none holds bytes and
    the scan (which walks each event's whole payload) would always answer no.
    """

    json = _CompactJson

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        return False


def _jsonable(data: Any) -> Any:
    """An event's data as JSON values. This runs in the request, and emitting must never fail
    it, so data that cannot be serialised is logged and sent as null."""
    try:
        return to_jsonable_python(data, by_alias=True)
    except ValueError:  # PydanticSerializationError and circular references
        log.exception("event data could not be serialised; sent as null")
        return None


class SocketOwners:
    """Which user holds a socket id, on this instance and (with Redis) on every other."""

    def __init__(self, redis: Redis | None, *, key: str) -> None:
        self._redis = redis
        self._key = key
        self.local: dict[str, int] = {}
        self.by_user: dict[int, set[str]] = {}
        self._remote: dict[str, tuple[int, float]] = {}

    async def add(self, sid: str, user_id: int) -> None:
        self.local[sid] = user_id
        self.by_user.setdefault(user_id, set()).add(sid)
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._redis.hset(self._key, sid, user_id)

    async def remove(self, sid: str) -> None:
        user_id = self.local.pop(sid, None)
        if user_id is not None:
            sids = self.by_user.get(user_id, set())
            sids.discard(sid)
            if not sids:
                self.by_user.pop(user_id, None)
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._redis.hdel(self._key, sid)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    async def owner(self, sid: str) -> int | None:
        if sid in self.local:
            return self.local[sid]
        if self._redis is None:
            return None
        cached = self._remote.get(sid)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        try:
            value = await self._redis.hget(self._key, sid)
        except (RedisError, OSError):
            return None
        if value is None:
            return None
        if len(self._remote) > 10_000:
            self._remote.clear()
        self._remote[sid] = (int(value), time.monotonic() + REMOTE_OWNER_TTL)
        return int(value)


class Realtime:
    """The Socket.IO server and the event queue in front of it."""

    def __init__(
        self,
        *,
        sessions: SessionGuard,
        permissions: PermissionCache,
        redis_url: str | None,
        redis_names: Callable[[str], str],
        cors_origin: str,
        max_message_bytes: int,
    ) -> None:
        manager = (
            RedisFanout(redis_url, channel=redis_names("socketio")) if redis_url else DirectFanout()
        )
        self._single_instance = redis_url is None
        origins: str | list[str] = (
            "*" if cors_origin == "*" else [o.strip() for o in cors_origin.split(",")]
        )
        self.server = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=manager,
            serializer=EventPacket,
            cors_allowed_origins=origins,
            max_http_buffer_size=max_message_bytes,
        )
        self.sessions = sessions
        self.permissions = permissions
        self.owners = SocketOwners(
            Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
            if redis_url
            else None,
            key=redis_names("socket-owners"),
        )
        # The token each local socket connected with, to re-check it when notices were missed
        # and to close the sockets of a token that logged out.
        self._tokens: dict[str, tuple[str, str]] = {}
        self._queue: asyncio.Queue[tuple[str, dict[str, Any], Any]] = asyncio.Queue(QUEUE_LIMIT)
        self._worker: asyncio.Task[None] | None = None
        self.server.on("connect", self._on_connect)
        self.server.on("disconnect", self._on_disconnect)

    # -- the handshake -------------------------------------------------------------------

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        """Contract 5: a valid token of an active account joins `user:{idUser}`."""
        if self.server.manager.is_connected(sid, "/"):
            return  # a client *event* named "connect", not a handshake
        locale = pick_locale(environ.get("HTTP_ACCEPT_LANGUAGE"))
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError(t("socket.token_required", locale))
        try:
            caller = await self.sessions.authenticate(token)
        except AppError:
            caller = None
        if caller is None:
            raise socketio.exceptions.ConnectionRefusedError(t("socket.token_invalid", locale))
        await self.server.save_session(sid, {"user_id": caller.user_id, "role_id": caller.role_id})
        await self.server.enter_room(sid, f"user:{caller.user_id}")
        # Role rooms let data:changed tell readers of user data from the others (contract 5.2).
        await self.server.enter_room(sid, f"role:{caller.role_id}")
        await self.owners.add(sid, caller.user_id)
        self._tokens[sid] = (token, caller.token_id)

    async def _on_disconnect(self, sid: str, *_reason: Any) -> None:
        if self.server.manager.is_connected(sid, "/"):
            return  # a client *event* named "disconnect": the socket is still here
        self._tokens.pop(sid, None)
        await self.owners.remove(sid)

    def disconnect_user(self, user_id: int) -> None:
        """Close every socket this instance holds for the user (their tokens were revoked)."""
        self._close(("user", user_id))

    def disconnect_token(self, token_id: str) -> None:
        """Close the sockets this instance holds that connected with a revoked token."""
        self._close(("token", token_id))

    def _close(self, sockets: Closing) -> None:
        """Close in event order: after the running operation's `success` if one runs here,
        so a tab that revoked its own session (logout, a new password) hears it first."""
        context = current()
        if context is not None and context.operation is not None:
            if context.closing is None:
                context.closing = []
            context.closing.append(sockets)
        else:
            self._enqueue("close", {"operation": "revocation"}, sockets)

    def operation_reported(self, context: RequestContext) -> None:
        """The operation queued its `success`: the sockets it revoked may close now."""
        if context.closing:
            for sockets in context.closing:
                self._enqueue("close", {"operation": context.operation}, sockets)
            context.closing = None

    async def _close_sockets(self, sockets: Closing) -> None:
        kind, key = sockets
        if kind == "user":
            sids = list(self.owners.by_user.get(int(key), ()))
        else:
            sids = [sid for sid, (_token, token_id) in self._tokens.items() if token_id == key]
        for sid in sids:
            await self.server.disconnect(sid)

    async def recheck_sockets(self) -> None:
        """Close every local socket whose token no longer counts (after missed notices).

        A database error propagates: the bus then retries the whole resync."""
        for sid, (token, _token_id) in list(self._tokens.items()):
            if await self.sessions.authenticate(token) is None:
                await self.server.disconnect(sid)

    # -- emitting --------------------------------------------------------------------------

    def progress(
        self, context: RequestContext, status: str, message: str, data: Any = None
    ) -> None:
        """Queue an `operation:progress` for the requester (contract 5.1)."""
        if context.user_id is None:
            return  # anonymous: no socket can be proven to be the caller's
        if self._single_instance and context.user_id not in self.owners.by_user:
            return  # nobody to tell: the caller holds no socket, and no other instance exists
        payload = {
            "operation": context.operation,
            "status": status,
            "message": message,
            "data": _jsonable(data),
            "timestamp": _now_iso(),
        }
        self._enqueue("progress", payload, (context.socket_id, context.user_id))

    def changed(self, context: RequestContext, message: str, data: Any) -> None:
        """Queue a `data:changed` for every client (contract 5.2)."""
        operation = context.operation or ""
        payload = {
            "operation": operation,
            "message": message,
            "data": _jsonable(data),
            "initiatorSocketId": context.socket_id,
        }
        self._enqueue("changed", payload, operation.startswith(USER_DATA_PREFIXES))

    def _enqueue(self, kind: str, payload: dict[str, Any], target: Any) -> None:
        try:
            self._queue.put_nowait((kind, payload, target))
        except asyncio.QueueFull:
            log.warning("event queue full; dropped %s for %s", kind, payload["operation"])

    async def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._deliver_forever(), name="seam-events")

    async def stop(self) -> None:
        if self._worker is not None:
            await self.drain()
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        await self.owners.close()

    async def drain(self) -> None:
        """Wait until every queued event has been handed to Socket.IO."""
        await self._queue.join()

    async def _deliver_forever(self) -> None:
        while True:
            kind, payload, target = await self._queue.get()
            try:
                if kind == "progress":
                    await self._deliver_progress(payload, *target)
                elif kind == "changed":
                    await self._deliver_changed(payload, user_data=target)
                else:
                    await self._close_sockets(target)
            except Exception:
                log.exception("delivering %s for %s failed", kind, payload["operation"])
            finally:
                self._queue.task_done()

    async def _deliver_progress(
        self, payload: dict[str, Any], socket_id: str | None, user_id: int
    ) -> None:
        if socket_id and await self.owners.owner(socket_id) == user_id:
            # A socket held here needs no round trip through Redis.
            local = socket_id in self.owners.local
            await self.server.emit("operation:progress", payload, to=socket_id, ignore_queue=local)
        else:
            await self.server.emit("operation:progress", payload, to=f"user:{user_id}")

    async def _deliver_changed(self, payload: dict[str, Any], *, user_data: bool) -> None:
        if not user_data or payload["data"] is None:
            await self.server.emit("data:changed", payload, to=None)
            return
        readers, others = await self.permissions.split_roles(USERS_READ)
        if readers:
            await self.server.emit("data:changed", payload, to=[f"role:{r}" for r in readers])
        if others:
            redacted = {**payload, "data": None}
            await self.server.emit("data:changed", redacted, to=[f"role:{r}" for r in others])
