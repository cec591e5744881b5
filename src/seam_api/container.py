"""The app's long-lived parts in one object, built once per app and handed to every service.

It also owns the cross-instance notices: a service that changes what a role may do or whether
a user's tokens count calls one of the `*_changed` methods after its transaction commits, and
every instance (with Redis) drops the stale cache entries and closes revoked sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson

from seam_api.accounts import repository as accounts_repository
from seam_api.apikeys import repository as apikeys_repository
from seam_api.auth import repository as auth_repository
from seam_api.core.cache import ReadCache
from seam_api.core.db import Database
from seam_api.core.errors import ServiceUnavailable
from seam_api.mail.sender import Mailer, SmtpServer
from seam_api.permissions import repository as permissions_repository
from seam_api.realtime.bus import Bus
from seam_api.realtime.eventlog import EventLog, Touched, now_ms
from seam_api.realtime.server import DataNeeds, Realtime
from seam_api.roles import repository as roles_repository
from seam_api.roles.constants import ADMIN_ROLE
from seam_api.runtime import sqlite_inline
from seam_api.security.access import PermissionCache
from seam_api.security.credentials import TokenSigner
from seam_api.security.keys import KeyGuard, KeyRecord
from seam_api.security.limits import LoginLimiter
from seam_api.security.secrets_box import CodeHasher, SecretsBox
from seam_api.security.sessions import KEY_TOKEN_PREFIX, AccountState, SessionGuard
from seam_api.settings import Settings
from seam_api.users import repository as users_repository

log = logging.getLogger(__name__)

PRUNE_EVERY = 600.0  # seconds between retention passes
ACCESS_ENTITIES = frozenset({"role", "permission"})  # entries that change what roles may do
TOKEN_REVOCATIONS = frozenset({"auth:logout"})  # entries that revoke one token of an account


class Seam:
    """Settings, database, caches, the bus and the real-time server of one app."""

    def __init__(
        self,
        settings: Settings,
        *,
        data_needs: DataNeeds,
        overrides: frozenset[str] = frozenset(),
    ) -> None:
        """`data_needs` names the permission an operation's `data:changed` data needs."""
        self.settings = settings
        inline = "sqlite_inline" in overrides
        self.db = Database(
            settings.database_url, sqlite_writer=sqlite_inline.connector if inline else None
        )
        self.events = EventLog(self.db, record_addresses=settings.audit_ip)
        self.signer = TokenSigner(
            settings.signing_secret, settings.jwt_algorithm, settings.jwt_expires_in
        )
        self.keys = KeyGuard(settings.signing_secret, self._load_key, self._save_key_uses)
        self.sessions = SessionGuard(
            self.signer, self._load_account, self._load_revoked, keys=self.keys
        )
        # None without SEAM_SMTP_URL: the mail routes then answer 503.
        self.mail = (
            Mailer(
                SmtpServer.from_url(settings.smtp_url),
                sender=settings.mail_from,
                timeout=settings.smtp_timeout,
            )
            if settings.smtp_url
            else None
        )
        self.secrets_box = SecretsBox(settings.signing_secret)
        self.code_hasher = CodeHasher(settings.signing_secret)
        self.permissions = PermissionCache(
            self._load_role_permissions, self._load_role_ids, self._load_admin_role
        )
        self.reads = ReadCache()
        self.bus = Bus(settings.redis_url, channel=settings.redis_name("bus"))
        self.limiter = LoginLimiter(
            per_account=settings.login_max_failures_per_account,
            per_address=settings.login_max_failures_per_address,
            registrations_per_address=settings.registrations_per_address,
            window=settings.login_failure_window,
            redis_url=settings.redis_url,
            key_prefix=settings.redis_name("login"),
        )
        self.realtime = Realtime(
            sessions=self.sessions,
            permissions=self.permissions,
            data_needs=data_needs,
            log=self.events,
            redis_url=settings.redis_url,
            redis_names=settings.redis_name,
            cors_origin=settings.cors_origin,
            max_message_bytes=settings.max_socket_message_bytes,
            pid_secret=settings.signing_secret,
            replay_max=settings.event_replay_max,
            replay_window=settings.event_replay_window,
            max_sockets_per_user=settings.max_sockets_per_user,
            overrides=overrides,
            socket_queue_max=settings.socket_queue_max,
            follow_log=self.follow_log,
        )
        self._pruner: asyncio.Task[None] | None = None
        self.bus.on_notice(self._on_notice)
        self.bus.on_resync(self._resync)

    async def start(self) -> None:
        await self.sessions.warm()
        await self.bus.start()
        await self.realtime.start()
        self.keys.start()
        if self.settings.audit_retention and self._pruner is None:
            self._pruner = asyncio.create_task(self._prune_forever(), name="seam-prune")

    async def stop(self) -> None:
        if self._pruner is not None:
            self._pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pruner
            self._pruner = None
        if self.mail is not None:
            await self.mail.stop()
        await self.keys.stop()
        await self.realtime.stop()
        await self.bus.stop()
        await self.limiter.close()
        await self.db.dispose()

    # -- notices ---------------------------------------------------------------------------

    async def data_changed(self) -> None:
        """A mutation committed: cached reads are stale on every instance."""
        await self.bus.publish({"kind": "data"})

    async def permissions_changed(self, operation: str, entity_id: int) -> None:
        """A role gained or lost permissions, or roles came, went or were renamed: `operation`
        on `entity_id` (a role's id, a deleted permission's), as its log entry names them."""
        notice = {"kind": "permissions", "operation": operation, "entity_id": str(entity_id)}
        await self.bus.publish(notice)

    async def account_changed(self, user_id: int, *, revoked: bool) -> None:
        """A user's role, state or token version changed; `revoked` also closes their sockets."""
        await self.bus.publish({"kind": "account", "user_id": user_id, "revoked": revoked})

    async def token_revoked(self, token_id: str, expires_at: int) -> None:
        await self.bus.publish({"kind": "token", "token_id": token_id, "expires_at": expires_at})

    async def key_revoked(self, key_id: int) -> None:
        """An API key was revoked: drop it from every cache and close its sockets."""
        await self.bus.publish({"kind": "apikey", "key_id": key_id})

    async def _on_notice(self, notice: dict[str, Any]) -> None:
        kind = notice.get("kind")
        if kind == "data":
            self.reads.clear()
            if notice.get("remote"):
                self.realtime.log_advanced()
        elif kind == "permissions":
            entity_id = notice.get("entity_id")
            self.permissions.changed(
                str(notice.get("operation")), None if entity_id is None else str(entity_id)
            )
        elif kind == "account":
            self.sessions.forget_account(int(notice["user_id"]))
            self.keys.forget_user(int(notice["user_id"]))
            if notice.get("revoked"):
                self.realtime.disconnect_user(int(notice["user_id"]))
        elif kind == "token":
            self.sessions.mark_revoked(str(notice["token_id"]), int(notice["expires_at"]))
            self.realtime.disconnect_token(str(notice["token_id"]))
        elif kind == "apikey":
            self.keys.forget(int(notice["key_id"]))
            self.realtime.disconnect_token(f"{KEY_TOKEN_PREFIX}{int(notice['key_id'])}")

    async def follow_log(self, touched: list[Touched]) -> None:
        """What was committed (here or on another instance), as the event log's follower reads
        it: the invalidations and revocations its bus notices would bring. Redis carries those
        notices at once; the log makes them certain within a poll (a second) while Redis is
        away, so no instance keeps a disabled user's sockets or serves a stale list."""
        if any(entry.broadcast for entry in touched):
            self.reads.clear()
        for entry in touched:
            if entry.entity in ACCESS_ENTITIES:
                self.permissions.changed(entry.operation, entry.entity_id)
        if any(entry.operation in TOKEN_REVOCATIONS for entry in touched):
            await self.sessions.warm()  # the revoked token's id is in the database, not the log
        accounts = {
            int(entry.entity_id)
            for entry in touched
            if entry.entity_id is not None
            and entry.entity_id.isdigit()
            and (entry.entity == "user" or entry.operation in TOKEN_REVOCATIONS)
        }
        for user_id in accounts:
            self.sessions.forget_account(user_id)
            await self.realtime.recheck_user(user_id)

    async def _resync(self) -> None:
        """After a bus outage: notices may have been missed, so trust nothing cached, and
        close the sockets of users disabled or signed out meanwhile."""
        self.reads.clear()
        self.permissions.clear()
        self.sessions.forget_all()
        self.keys.forget_all()
        await self.sessions.warm()
        await self.realtime.recheck_sockets()

    async def _prune_forever(self) -> None:
        """Retention (SEAM_AUDIT_RETENTION): old entries go in short batches, every instance
        trying now and then; deleting what another instance already deleted is harmless."""
        while True:
            try:
                cutoff = now_ms() - self.settings.audit_retention * 1000
                removed = await self.events.prune(older_than_ms=cutoff)
                if removed:
                    log.info("pruned %d audit entries past retention", removed)
            except ServiceUnavailable:
                pass  # the database outage is logged as such; the next pass tries again
            except Exception as error:
                log.warning("pruning the event log failed: %s", type(error).__name__)
            await asyncio.sleep(PRUNE_EVERY)

    # -- what /metrics reports -------------------------------------------------------------

    def sockets_connected(self) -> int:
        return len(self.realtime.owners.local)

    def pool_connections(self) -> tuple[int, int]:
        pool = self.db.engine.pool
        return (
            int(getattr(pool, "checkedout", lambda: 0)()),
            int(getattr(pool, "checkedin", lambda: 0)()),
        )

    # -- cache loaders ---------------------------------------------------------------------

    async def _load_account(self, user_id: int) -> AccountState | None:
        async with self.db.read() as conn:
            row = await users_repository.get_account(conn, user_id=user_id)
            if row is None:
                return None
            mfa_enabled = await accounts_repository.mfa_enabled(conn, user_id=user_id)
        return AccountState(
            user_id=row["id_user"],
            role_id=row["role_id"],
            is_active=bool(row["is_active"]),
            token_version=row["token_version"],
            mfa_enabled=mfa_enabled,
        )

    async def _load_revoked(self, now: int) -> dict[str, int]:
        async with self.db.read() as conn:
            return await auth_repository.revoked_after(conn, now=now)

    async def _load_key(self, key_hash: str) -> KeyRecord | None:
        async with self.db.read() as conn:
            row = await apikeys_repository.get_by_hash(conn, key_hash=key_hash)
        if row is None:
            return None
        return KeyRecord(
            key_id=row["id_key"],
            user_id=row["user_id"],
            owner_email=row["email"],
            permissions=frozenset(uri.lower() for uri in orjson.loads(row["permissions"])),
            expires_at=row["expires_at"],
        )

    async def _save_key_uses(self, used: dict[int, int]) -> None:
        async with self.db.transaction() as conn:
            await apikeys_repository.record_uses(conn, used=used)

    async def _load_role_permissions(self, role_id: int) -> list[tuple[int, str]]:
        async with self.db.read() as conn:
            rows = await permissions_repository.list_for_role(conn, role_id=role_id)
        return [(int(row["id_permission"]), str(row["name_uri"])) for row in rows]

    async def _load_role_ids(self) -> list[int]:
        async with self.db.read() as conn:
            return await roles_repository.all_ids(conn)

    async def _load_admin_role(self) -> int | None:
        async with self.db.read() as conn:
            role = await roles_repository.get_by_name(conn, role_name=ADMIN_ROLE)
        return None if role is None else int(role["id_role"])
