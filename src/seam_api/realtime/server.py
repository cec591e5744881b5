"""The Socket.IO server: its handshake, and the one place that decides who receives an event.

Services never emit directly. `progress` queues an `operation:progress` and returns at once;
`data:changed` comes from the event log (realtime/eventlog.py): a follower hands every committed
broadcast, in id order, to the same queue, straight from memory for this instance's own commits
and from the database for the others' (woken by the bus, or by polling while Redis is away).
One delivery task drains the queue in order, so the events of a request arrive in the order
they were made, a slow or absent client never holds a request up, and a failing emit is logged
instead of failing the request. The same task lets new sockets in, after sending them what they
missed (contract 5.4), so each socket gets every broadcast once and in order. Progress for a
socket held here is gathered while the queue has more progress in it, and each socket's share is
written at once: a dashboard's tab named by many concurrent requests gets one write, not one
per event (bench/README.md, "Reads with the tab").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import socketio
from engineio.packet import MESSAGE as ENGINE_MESSAGE
from engineio.packet import Packet as EnginePacket
from pydantic_core import to_jsonable_python
from redis.asyncio import Redis
from redis.exceptions import RedisError

from seam_api.core.context import Closing, OperationRun, RequestContext, current
from seam_api.core.errors import AppError, ServiceUnavailable
from seam_api.core.outages import REDIS, SocketIORedisLog
from seam_api.messages import pick_locale, t
from seam_api.ops.metrics import (
    EVENT_LAG,
    EVENT_QUEUE_DEPTH,
    EVENT_REPLAYS,
    EVENTS_DELIVERED,
    EVENTS_EMITTED,
)
from seam_api.realtime.eventlog import EventLog, LoggedEvent, Touched, now_ms
from seam_api.realtime.guard import ASGI, SocketGuard
from seam_api.runtime import engineio_writer
from seam_api.runtime.fanout import DirectFanout, RedisFanout
from seam_api.runtime.sio_server import PlainSocketServer, SeamSocketServer
from seam_api.security.access import RESTRICTION_MESSAGES, USERS_READ, PermissionCache
from seam_api.security.sessions import NO_EXPIRY, Caller, SessionGuard, session_key

log = logging.getLogger(__name__)

# Progress beyond this many queued events is dropped (it is live feedback only); broadcasts wait
# in the log instead, and closes are never dropped.
QUEUE_LIMIT = 100_000
POLL_SECONDS = 1.0  # how often the log is read without a wake-up (Redis away, lost notices)
FETCH_BATCH = 1000
JOIN_TIMEOUT = 10.0
LIVE_ROOM = "live"  # sockets that receive data:changed; joined after their replay
# Sockets that get users' data redacted whatever their role: API keys not granted USERS_READ.
REDACTED_ROOM = "role:none"
MAX_CURSOR_DIGITS = 19

# Metric children bound once: a labelled lookup per event would cost more than the increment.
_PROGRESS_EMITTED = EVENTS_EMITTED.labels("operation:progress")
_PROGRESS_DELIVERED = EVENTS_DELIVERED.labels("operation:progress")
_CHANGED_EMITTED = EVENTS_EMITTED.labels("data:changed")
_CHANGED_DELIVERED = EVENTS_DELIVERED.labels("data:changed")
_RECOVERED = EVENT_REPLAYS.labels("recovered")
_RESYNC = EVENT_REPLAYS.labels("resync")
REMOTE_OWNER_TTL = 10.0
# Operation name -> the permission its data needs (None: every reader's); see operations.py.
DataNeeds = Callable[[str], str | None]


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

    Every payload this server emits went through `jsonable` first, so none holds bytes and
    the scan (which walks each event's whole payload) would always answer no.
    """

    json = _CompactJson

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        return False


def jsonable(data: Any) -> Any:
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
            try:
                await self._redis.hset(self._key, sid, user_id)
                REDIS.up()
            except (RedisError, OSError) as error:
                REDIS.down("socket owners", error)

    async def remove(self, sid: str) -> None:
        user_id = self.local.pop(sid, None)
        if user_id is not None:
            sids = self.by_user.get(user_id, set())
            sids.discard(sid)
            if not sids:
                self.by_user.pop(user_id, None)
        if self._redis is not None:
            try:
                await self._redis.hdel(self._key, sid)
            except (RedisError, OSError) as error:
                REDIS.down("socket owners", error)

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
        except (RedisError, OSError) as error:
            REDIS.down("socket owners", error)
            return None
        if value is None:
            return None
        if len(self._remote) > 10_000:
            self._remote.clear()
        self._remote[sid] = (int(value), time.monotonic() + REMOTE_OWNER_TTL)
        return int(value)


# What the delivery task takes from its queue, in order: one class per kind of work.


@dataclass(frozen=True, slots=True)
class _Progress:
    payload: dict[str, Any]
    socket_id: str | None  # the request's X-Socket-ID, checked at delivery
    user_id: int


@dataclass(frozen=True, slots=True)
class _Changed:
    event: LoggedEvent


@dataclass(frozen=True, slots=True)
class _Advance:
    """Every log entry up to `event_id` has been handed on (some carry no broadcast)."""

    event_id: int


@dataclass(frozen=True, slots=True)
class _Close:
    sockets: Closing
    operation: str | None  # the operation that revoked them, for the log line of a failure


@dataclass(slots=True)
class _Join:
    """A socket waiting to receive broadcasts, with what it missed while away."""

    sid: str
    role_id: int | None  # None: an API key that may not read users, whatever its owner's role
    cursor: int | None  # None: a first connect, answered with data:synced
    reason: str | None  # why its cursor cannot be replayed (data:resync)
    missed: list[LoggedEvent] | None  # read from the log: every broadcast in (cursor, covered]
    covered: int
    done: asyncio.Future[bool]  # True once it recovered


class Realtime:
    """The Socket.IO server, the log follower and the event queue in front of them."""

    def __init__(
        self,
        *,
        sessions: SessionGuard,
        permissions: PermissionCache,
        data_needs: DataNeeds,
        log: EventLog,
        redis_url: str | None,
        redis_names: Callable[[str], str],
        cors_origin: str,
        max_message_bytes: int,
        pid_secret: str,
        replay_max: int,
        replay_window: int,
        max_sockets_per_user: int,
        overrides: frozenset[str] = frozenset(),
        socket_queue_max: int,
        follow_log: Callable[[list[Touched]], Awaitable[None]],
    ) -> None:
        """`overrides` names the library overrides runtime/gate.py let through."""
        fanout = "task_free_fanout" in overrides
        manager: socketio.AsyncManager
        if redis_url:
            redis_manager = RedisFanout if fanout else socketio.AsyncRedisManager
            manager = redis_manager(
                redis_url, channel=redis_names("socketio"), logger=SocketIORedisLog()
            )
        else:
            manager = DirectFanout() if fanout else socketio.AsyncManager()
        self._single_instance = redis_url is None
        origins: str | list[str] = (
            "*" if cors_origin == "*" else [o.strip() for o in cors_origin.split(",")]
        )
        server_class = SeamSocketServer if "socket_server" in overrides else PlainSocketServer
        self.server = server_class(
            async_mode="asgi",
            client_manager=manager,
            serializer=EventPacket,
            cors_allowed_origins=origins,
            max_http_buffer_size=max_message_bytes,
        )
        if "direct_writes" in overrides:
            engineio_writer.enable_direct_writes(self.server.eio)
        # Slow and hostile clients (5.5): bounded in the queue itself by the override, else
        # from outside the library, where delivery asks before each emit.
        self.guard: SocketGuard | None = None
        if "socket_server" in overrides:
            self.server.eio.max_queued = socket_queue_max
        else:
            self.guard = SocketGuard(self.server, max_queued=socket_queue_max)
        self.sessions = sessions
        self.permissions = permissions
        self._data_needs = data_needs
        self.log = log
        self.owners = SocketOwners(
            Redis.from_url(
                redis_url, socket_connect_timeout=1, socket_timeout=1, max_connections=20
            )
            if redis_url
            else None,
            key=redis_names("socket-owners"),
        )
        self.max_sockets_per_user = max_sockets_per_user
        self._follow_log = follow_log  # the caches' and revocations' share of each entry read
        self._pid_key = hashlib.sha256(b"seam-socket-pid:" + pid_secret.encode()).digest()
        self._replay_max = replay_max
        self._replay_window_ms = replay_window * 1000
        # The token each local socket connected with, to re-check it when notices were missed
        # and to close the sockets of a token that logged out or a session that ended.
        self._tokens: dict[str, tuple[str, str, str]] = {}
        self._queue: asyncio.Queue[_Progress | _Changed | _Advance | _Join | _Close] = (
            asyncio.Queue()
        )
        self._worker: asyncio.Task[None] | None = None
        # Progress for this instance's sockets, by engine.io sid, held until the queue is drained
        # or something other than progress comes next: then written one write per socket.
        self._held: dict[str, list[str]] = {}
        # Following the log: every id up to `_position` has been handed to the queue.
        self._position = 0
        self._local: dict[int, LoggedEvent | None] = {}  # committed here, not yet handed on
        self._unread = True  # the log may hold what another instance committed
        self._wake = asyncio.Event()
        self._follower: asyncio.Task[None] | None = None
        # The delivery task's view: what it has sent, and the latest broadcasts for replay.
        self._delivered = 0
        self._recent: deque[LoggedEvent] = deque(maxlen=replay_max)
        self._recent_floor = 0  # `_recent` holds every broadcast after this id
        self._deferred: list[_Join] = []
        EVENT_QUEUE_DEPTH.set_function(self._queue.qsize)
        self.server.on("connect", self._on_connect)
        self.server.on("disconnect", self._on_disconnect)

    # -- the handshake -------------------------------------------------------------------

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        """Contract 5: a valid token of an active account joins `user:{idUser}` (an API key's
        socket does not); then 5.4:
        the socket gets what it missed (or `data:synced`) before the CONNECT reply."""
        if self.server.manager.is_connected(sid, "/"):
            return  # a client *event* named "connect", not a handshake
        locale = pick_locale(environ.get("HTTP_ACCEPT_LANGUAGE"))
        auth = auth if isinstance(auth, dict) else {}
        token = auth.get("token")
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError(t("socket.token_required", locale))
        caller = await self._authenticate(token)
        if caller is None:
            raise socketio.exceptions.ConnectionRefusedError(t("socket.token_invalid", locale))
        if caller.restriction is not None:
            message = RESTRICTION_MESSAGES.get(caller.restriction, "socket.token_invalid")
            raise socketio.exceptions.ConnectionRefusedError(t(message, locale))
        if len(self.owners.by_user.get(caller.user_id, ())) >= self.max_sockets_per_user:
            raise socketio.exceptions.ConnectionRefusedError(t("socket.too_many", locale))
        await self.server.save_session(sid, {"user_id": caller.user_id, "role_id": caller.role_id})
        if caller.key_id is None:
            # Progress of the owner's calls that name no socket goes to this room, with data
            # (a user's record) that a key may not be granted: a key's socket stays out.
            await self.server.enter_room(sid, f"user:{caller.user_id}")
        await self.owners.add(sid, caller.user_id)
        session = session_key(caller.session_id) if caller.session_id is not None else ""
        self._tokens[sid] = (token, caller.token_id, session)
        # Registered first, checked again: a revocation that landed while the first check
        # awaited finds this socket now, and one that landed before fails this check.
        recovered = False
        try:
            if await self._authenticate(token) is None:
                raise socketio.exceptions.ConnectionRefusedError(t("socket.token_invalid", locale))
            pid = auth.get("pid")
            pid = pid if isinstance(pid, str) and self._pid_is_valid(pid, caller.user_id) else None
            role_id = caller.role_id if caller.key_allows(USERS_READ) else None
            join = await self._prepare_join(sid, role_id, auth, pid)
            self._queue.put_nowait(join)
            async with asyncio.timeout(JOIN_TIMEOUT):
                recovered = await join.done
        except BaseException:
            await self._forget(sid)
            raise
        self.server.pids[sid] = pid if recovered and pid else self._new_pid(caller.user_id)
        if caller.key_id is not None and caller.token_expires_at < NO_EXPIRY:
            # An API key's sockets close when it expires (contract 9.5), on this instance.
            delay = max(0.0, caller.token_expires_at - time.time())
            # Outside the handshake's context: the close is queued, not held for an operation.
            asyncio.get_running_loop().call_later(
                delay, self.disconnect_token, caller.token_id, context=contextvars.Context()
            )

    async def _authenticate(self, token: str) -> Caller | None:
        try:
            return await self.sessions.authenticate(token)
        except AppError:
            return None

    async def _prepare_join(
        self, sid: str, role_id: int | None, auth: dict[str, Any], pid: str | None
    ) -> _Join:
        """Read from the log what the socket missed, unless the recent broadcasts in memory
        cover it; the delivery task sends it in order with the live ones."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        join = _Join(sid, role_id, None, None, None, 0, done)
        if "offset" in auth and pid is None:
            join.reason = "unknown_session"  # a recovery whose session is not this user's
            return join
        raw = auth.get("offset") if pid is not None else auth.get("since")
        if raw is None:
            return join
        cursor = _as_cursor(raw)
        if cursor is None:
            join.reason = "unknown_cursor"
            return join
        join.cursor = cursor
        if self._recent_floor <= cursor <= self._delivered:
            return join
        missed = await self.log.missed(
            cursor, limit=self._replay_max, window_ms=self._replay_window_ms
        )
        if isinstance(missed, str):
            join.reason = missed
        else:
            join.missed, join.covered = missed
        if cursor > self._delivered:
            self._read_log_now()  # the client has seen further than this instance has sent
        return join

    def _new_pid(self, user_id: int) -> str:
        """A private session id that only this deployment could have made for this user, so
        a recovery can be trusted across instances and restarts without stored sessions."""
        nonce = secrets.token_urlsafe(12)
        return f"{nonce}.{self._pid_mac(user_id, nonce)}"

    def _pid_is_valid(self, pid: str, user_id: int) -> bool:
        nonce, _, mac = pid.partition(".")
        return bool(nonce) and hmac.compare_digest(mac, self._pid_mac(user_id, nonce))

    def _pid_mac(self, user_id: int, nonce: str) -> str:
        digest = hmac.new(self._pid_key, f"{user_id}.{nonce}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:15]).decode()

    async def _on_disconnect(self, sid: str, *_reason: Any) -> None:
        if self.server.manager.is_connected(sid, "/"):
            return  # a client *event* named "disconnect": the socket is still here
        await self._forget(sid)

    async def _forget(self, sid: str) -> None:
        self._tokens.pop(sid, None)
        self.server.pids.pop(sid, None)
        await self.owners.remove(sid)

    def disconnect_user(self, user_id: int) -> None:
        """Close every socket this instance holds for the user (their tokens were revoked)."""
        self._close(Closing("user", user_id))

    def disconnect_token(self, token_id: str) -> None:
        """Close the sockets this instance holds that connected with a revoked token."""
        self._close(Closing("token", token_id))

    def _close(self, sockets: Closing) -> None:
        """Close in event order: after the running operation's `success` if one runs here,
        so a tab that revoked its own session (logout, a new password) hears it first."""
        context = current()
        run = None if context is None else context.run
        if run is not None:
            if run.closing is None:
                run.closing = []
            run.closing.append(sockets)
        else:
            self._queue.put_nowait(_Close(sockets, None))

    def operation_reported(self, run: OperationRun) -> None:
        """The operation queued its `success`: the sockets it revoked may close now."""
        if run.closing:
            for sockets in run.closing:
                self._queue.put_nowait(_Close(sockets, run.name))
            run.closing = None

    async def _close_sockets(self, sockets: Closing) -> None:
        kind, key = sockets.kind, sockets.key
        if kind == "user":
            sids = list(self.owners.by_user.get(int(key), ()))
        else:
            sids = [
                sid
                for sid, (_, token_id, session) in self._tokens.items()
                if key in (token_id, session)
            ]
        for sid in sids:
            await self.server.disconnect(sid)

    async def recheck_user(self, user_id: int) -> None:
        """Close this user's local sockets whose token no longer counts (the log says the
        account changed). A database error propagates: the follower reads the entry again."""
        for sid in list(self.owners.by_user.get(user_id, ())):
            held = self._tokens.get(sid)
            if held is not None and not await self._still_valid(held[0]):
                await self.server.disconnect(sid)

    async def _still_valid(self, token: str) -> bool:
        try:
            return await self.sessions.authenticate(token) is not None
        except ServiceUnavailable:
            raise
        except AppError:
            return False

    async def recheck_sockets(self) -> None:
        """Close every local socket whose token no longer counts (after missed notices).

        A database error propagates: the bus then retries the whole resync."""
        self._read_log_now()
        for sid, (token, _token_id, _session) in list(self._tokens.items()):
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
        if self._queue.qsize() >= QUEUE_LIMIT:
            log.warning("event queue full; dropped progress of %s", context.operation)
            return
        payload = {
            "operation": context.operation,
            "status": status,
            "message": message,
            "data": jsonable(data),
            "timestamp": _now_iso(),
        }
        self._queue.put_nowait(_Progress(payload, context.socket_id, context.user_id))
        _PROGRESS_EMITTED.inc()

    async def initiator(self, context: RequestContext) -> str | None:
        """The request's `X-Socket-ID` when it names a connected socket of the caller: echoing
        anything else would let a caller write into every client's event, or make another
        tab skip its refresh."""
        socket_id = context.socket_id
        owned = socket_id and context.user_id is not None
        if owned and await self.owners.owner(socket_id or "") == context.user_id:
            return socket_id
        return None

    @property
    def log_position(self) -> int:
        """Every log entry up to this id has been handed to delivery: what this instance knows
        of the log (its own commits at once, other instances' as the follower reads them)."""
        return self._position

    def committed(self, event: LoggedEvent | int) -> None:
        """An entry of the log committed here (an audit-only one as its bare id): hand it on
        now if it is the next, so the initiator hears `success` then `data:changed`."""
        event_id = event if isinstance(event, int) else event.event_id
        if event_id <= self._position:
            return
        self._local[event_id] = None if isinstance(event, int) else event
        if not isinstance(event, int):
            _CHANGED_EMITTED.inc()
        self._hand_on_local()
        if self._local:
            self._wake.set()  # a gap: another writer's entry sits in between

    def log_advanced(self) -> None:
        """Another instance committed to the log (a bus notice)."""
        self._read_log_now()

    def _read_log_now(self) -> None:
        self._unread = True
        self._wake.set()

    def _hand_on_local(self) -> None:
        while self._position + 1 in self._local:
            self._position += 1
            event = self._local.pop(self._position)
            if event is not None:
                self._queue.put_nowait(_Changed(event))
        if self._position and self._local:
            for stale in [key for key in self._local if key <= self._position]:
                del self._local[stale]

    async def _follow_forever(self) -> None:
        """Read the log whenever this instance may be behind it, and every POLL_SECONDS."""
        while True:
            woken = False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    woken = await self._wake.wait()
            self._wake.clear()
            if woken and not self._local and not self._unread:
                continue
            self._unread = False
            try:
                await self._read_log()
            except Exception as error:  # the database is away: the next poll tries again
                self._unread = True
                if not isinstance(error, ServiceUnavailable):  # outages are logged as such
                    log.warning("reading the event log failed: %s", type(error).__name__)

    async def _read_log(self) -> None:
        while True:
            events, last, touched = await self.log.after(self._position, limit=FETCH_BATCH)
            if last <= self._position:
                return
            # Before the events go out: a client that reloads on data:changed reads fresh data
            # here. If it fails, the position stays and the next read applies it again.
            await self._follow_log(touched)
            if self._queue.qsize() >= QUEUE_LIMIT:  # the log keeps them meanwhile
                await self._queue.join()
            for event in events:
                if event.event_id > self._position:
                    self._queue.put_nowait(_Changed(event))
            self._position = last
            self._queue.put_nowait(_Advance(last))
            self._hand_on_local()

    def asgi(self, app: ASGI) -> ASGI:
        """`app`, the Socket.IO ASGI app, with the guard watching its traffic when the guard
        keeps the bounds."""
        return self.guard.around(app) if self.guard is not None else app

    async def start(self) -> None:
        if self._worker is None:
            self._position = self._delivered = self._recent_floor = await self.log.latest()
            self._worker = asyncio.create_task(self._deliver_forever(), name="seam-events")
            self._follower = asyncio.create_task(self._follow_forever(), name="seam-log")

    async def stop(self) -> None:
        if self._worker is not None:
            await self.drain()
            for task in (self._follower, self._worker):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            self._worker = self._follower = None
        if self.guard is not None:
            await self.guard.stop()
        await self.server.eio.shutdown()
        if isinstance(self.server.manager, RedisFanout):
            await self.server.manager.close()
        await self.owners.close()

    async def drain(self) -> None:
        """Wait until every event committed here so far has been handed to Socket.IO."""
        for _ in range(300):
            if not self._local:
                break
            self._wake.set()
            await asyncio.sleep(0.01)
        await self._queue.join()

    # -- the delivery task -----------------------------------------------------------------

    async def _deliver_forever(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                if self._held and not isinstance(item, _Progress):
                    await self._write_held()  # held progress goes out before anything else
                match item:
                    case _Progress(payload, socket_id, user_id):
                        await self._deliver_progress(payload, socket_id, user_id)
                    case _Changed(event):
                        await self._deliver_changed(event)
                    case _Advance(event_id):
                        self._advance(event_id)
                    case _Join():
                        await self._join(item)
                    case _Close(sockets):
                        await self._close_sockets(sockets)
            except Exception:
                log.exception("delivering %s failed", _describe(item))
            finally:
                if self._held and self._queue.empty():
                    await self._write_held()
                self._queue.task_done()

    async def _deliver_progress(
        self, payload: dict[str, Any], socket_id: str | None, user_id: int
    ) -> None:
        if socket_id and await self.owners.owner(socket_id) == user_id:
            eio_sid = self.server.manager.eio_sid_from_sid(socket_id, "/")
            if eio_sid is not None:  # held here: no round trip through Redis
                packet = orjson.dumps(["operation:progress", payload])
                self._held.setdefault(eio_sid, []).append("42" + packet.decode())
            else:
                await self._emit("operation:progress", payload, socket_id, progress=True)
        else:
            await self._emit("operation:progress", payload, f"user:{user_id}", progress=True)
        _PROGRESS_DELIVERED.inc()

    async def _emit(
        self, event: str, data: Any, to: str | list[str], *, progress: bool, local: bool = False
    ) -> None:
        """Emit, less the recipients the guard holds back (5.5) when the override does not
        bound the queues; `local`: to this instance's sockets only."""
        skip = await self.guard.admit(to, progress=progress) if self.guard else None
        await self.server.emit(event, data, to=to, skip_sid=skip, ignore_queue=local)

    async def _write_held(self) -> None:
        """Each socket's held progress in one write when nothing can be ahead of it (as
        `emit` would write them one by one); otherwise queued for its writer, in order. With a
        dashboard's tab named in many concurrent requests, one write carries several events."""
        held, self._held = self._held, {}
        eio = self.server.eio
        for eio_sid, texts in held.items():
            socket = eio.sockets.get(eio_sid)
            if socket is None:
                continue  # closed meanwhile: its events would have been lost anyway
            if self.guard and not await self.guard.take(eio_sid, progress=True, count=len(texts)):
                continue
            try:
                frames = b"".join(engineio_writer.text_frame(text) for text in texts)
                if not engineio_writer.write_now(socket, frames):
                    for text in texts:
                        await eio.send_packet(eio_sid, EnginePacket(ENGINE_MESSAGE, text[1:]))
            except Exception:  # never raises: one socket must not stop the others, or delivery
                log.debug("dropped progress for closing socket %s", eio_sid, exc_info=True)

    async def _deliver_changed(self, event: LoggedEvent) -> None:
        """To this instance's live sockets only: every instance delivers the log itself."""
        if len(self._recent) == self._recent.maxlen:
            self._recent_floor = self._recent[0].event_id
        self._recent.append(event)
        self._advance(event.event_id)
        _CHANGED_DELIVERED.inc()
        EVENT_LAG.observe(max(0, now_ms() - event.occurred_at) / 1000)
        arguments = (event.payload, event.payload["eventId"])
        needed = self._permission_for_data(event)
        if needed is None:
            await self._emit("data:changed", arguments, LIVE_ROOM, progress=False, local=True)
            return
        readers, others = await self.permissions.split_roles(needed)
        if readers:
            rooms = [f"role:{r}" for r in readers]
            await self._emit("data:changed", arguments, rooms, progress=False, local=True)
        redacted = ({**event.payload, "data": None}, event.payload["eventId"])
        rooms = [REDACTED_ROOM, *(f"role:{r}" for r in others)]
        await self._emit("data:changed", redacted, rooms, progress=False, local=True)

    def _permission_for_data(self, event: LoggedEvent) -> str | None:
        """What a socket's role must hold to see this event's data; None: every socket may."""
        if event.payload["data"] is None:
            return None
        return self._data_needs(str(event.payload["operation"]))

    async def _role_may_see(self, role_id: int | None, permission: str) -> bool:
        """As live delivery decides: a socket without a role (REDACTED_ROOM) sees no such data."""
        return role_id is not None and await self.permissions.holds(role_id, permission)

    def _advance(self, event_id: int) -> None:
        self._delivered = max(self._delivered, event_id)
        if self._deferred:
            ready = [j for j in self._deferred if (j.cursor or 0) <= self._delivered]
            self._deferred = [j for j in self._deferred if (j.cursor or 0) > self._delivered]
            for join in ready:
                self._queue.put_nowait(join)

    async def _join(self, join: _Join) -> None:
        """Send what the socket missed, in order, then let it into the live rooms. Everything
        up to `_delivered` went to the live rooms already, everything after will: so the
        socket gets each broadcast exactly once."""
        if join.done.done():
            return  # its handshake gave up
        if join.reason is None and join.cursor is not None and join.cursor > self._delivered:
            self._deferred.append(join)  # wait until this instance has sent up to the cursor
            return
        recovered = False
        try:
            if join.reason is None and join.cursor is not None:
                missed = self._missed(join)
                if isinstance(missed, str):
                    join.reason = missed
                else:
                    for event in missed:
                        payload = event.payload
                        needed = self._permission_for_data(event)
                        if needed and not await self._role_may_see(join.role_id, needed):
                            payload = {**payload, "data": None}
                        await self._send(join.sid, "data:changed", payload, payload["eventId"])
                    recovered = True
            if not recovered:
                if join.reason is not None:
                    await self._send(join.sid, "data:resync", {"reason": join.reason})
                latest = str(self._delivered)
                await self._send(join.sid, "data:synced", {"eventId": latest}, latest)
            await self.server.enter_room(join.sid, LIVE_ROOM)
            role_room = REDACTED_ROOM if join.role_id is None else f"role:{join.role_id}"
            await self.server.enter_room(join.sid, role_room)
        except Exception as error:
            if not join.done.done():
                join.done.set_exception(error)
            return
        if not join.done.done():
            join.done.set_result(recovered)
        if join.cursor is not None or join.reason is not None:
            (_RECOVERED if recovered else _RESYNC).inc()

    def _missed(self, join: _Join) -> list[LoggedEvent] | str:
        cursor = join.cursor or 0
        recent = [e for e in self._recent if e.event_id > cursor]
        if cursor < self._recent_floor:
            if join.missed is None or join.covered < self._recent_floor:
                return "too_many"
            older = [e for e in join.missed if e.event_id <= self._delivered]
            recent = older + [e for e in self._recent if e.event_id > join.covered]
        if len(recent) > self._replay_max:
            return "too_many"
        if recent and recent[0].occurred_at < now_ms() - self._replay_window_ms:
            return "too_old"
        return recent

    async def _send(self, sid: str, event: str, *arguments: Any) -> None:
        await self._emit(event, arguments, sid, progress=False, local=True)


def _describe(item: _Progress | _Changed | _Advance | _Join | _Close) -> str:
    """An item as a failure's log line names it: its kind and operation, never its data."""
    match item:
        case _Progress(payload):
            return f"progress of {payload['operation']}"
        case _Changed(event):
            return f"data:changed {event.event_id} of {event.payload['operation']}"
        case _Close(_sockets, operation):
            return f"the close of sockets revoked by {operation or 'a revocation'}"
    return type(item).__name__.strip("_").lower()


def _as_cursor(value: Any) -> int | None:
    """An event id from a client: a decimal string (or integer), else None."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    valid = isinstance(text, str) and text.isascii() and text.isdigit()
    return int(text) if valid and len(text) <= MAX_CURSOR_DIGITS else None
