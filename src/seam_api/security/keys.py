"""API keys for programs (contract 9.5): making them, hashing them, and checking them from memory.

A key is `seam_` and 43 URL-safe characters (32 random bytes). Only a keyed hash of it is stored:
HMAC-SHA256 under a key derived from the server secret. A slow password hash (Argon2) exists
to make guessing a low-entropy password expensive; a 256-bit random key cannot be guessed, so
slowness would only cost every request without protecting anything. The HMAC (rather than a
bare SHA-256) means a copy of the table alone does not even let one check a candidate key.
Rotating SEAM_JWT_SECRET therefore retires every key.

`KeyGuard` answers "which key is this" from a cache filled on first use and dropped on any
revocation or account change (locally and, with Redis, on every instance through the bus), so
a known key costs no query per request. Uses are remembered in memory and written every
`FLUSH_SECONDS` as one batch: `lastUsedAt` without a write per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

KEY_PREFIX = "seam_"
_KEY_BYTES = 32
KEY_LENGTH = len(KEY_PREFIX) + 43  # token_urlsafe(32) is 43 characters
_URLSAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
FLUSH_SECONDS = 5.0
KEYS_KEPT = 10_000


class SecretHasher:
    """HMAC-SHA256 of long random secrets (API keys, emailed tokens), one derived key per use,
    so a hash made for one purpose is never accepted for another."""

    def __init__(self, server_secret: str, purpose: str) -> None:
        self._key = hashlib.sha256(f"seam-{purpose}:".encode() + server_secret.encode()).digest()

    def digest(self, secret: str) -> str:
        return hmac.new(self._key, secret.encode(), hashlib.sha256).hexdigest()


def new_key() -> str:
    """A fresh key, shown to its creator once."""
    return KEY_PREFIX + secrets.token_urlsafe(_KEY_BYTES)


def is_key(token: str) -> bool:
    """Whether a bearer token is meant as an API key (JWTs start with `eyJ`)."""
    return token.startswith(KEY_PREFIX)


def _well_formed(token: str) -> bool:
    return len(token) == KEY_LENGTH and _URLSAFE.issuperset(token[len(KEY_PREFIX) :])


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A stored key as the guard needs it: whose, what it was granted, until when."""

    key_id: int
    user_id: int
    owner_email: str
    permissions: frozenset[str]  # lower-cased nameUris
    expires_at: int | None  # epoch milliseconds


KeyLoader = Callable[[str], Awaitable[KeyRecord | None]]
UsageSaver = Callable[[dict[int, int]], Awaitable[None]]


class KeyGuard:
    """Finds the record of a presented key, from memory after its first use."""

    def __init__(self, server_secret: str, load: KeyLoader, save_usage: UsageSaver) -> None:
        self.hasher = SecretHasher(server_secret, "api-key")
        self._load = load
        self._save_usage = save_usage
        self._by_hash: dict[str, KeyRecord] = {}
        self._generation = 0  # raised by every forget: a load it overtook is not kept
        self._used: dict[int, int] = {}  # key id -> last use (ms), not yet written
        self._flusher: asyncio.Task[None] | None = None

    async def find(self, token: str) -> KeyRecord | None:
        """The record of a well-formed, existing, unexpired key; None for anything else."""
        if not _well_formed(token):
            return None
        digest = self.hasher.digest(token)
        record = self._by_hash.get(digest)
        if record is None:
            generation = self._generation
            record = await self._load(digest)
            if record is None:
                return None
            if generation == self._generation:
                if len(self._by_hash) >= KEYS_KEPT:
                    self._by_hash.clear()
                self._by_hash[digest] = record
        now = time.time_ns() // 1_000_000
        if record.expires_at is not None and record.expires_at <= now:
            return None
        self._used[record.key_id] = now
        return record

    def last_used(self, key_id: int) -> int | None:
        """A use seen here and not yet written, for answers that must not lag the batch."""
        return self._used.get(key_id)

    def forget(self, key_id: int) -> None:
        """A key was revoked: the next use reads the table (and finds nothing)."""
        self._generation += 1
        self._by_hash = {h: r for h, r in self._by_hash.items() if r.key_id != key_id}
        self._used.pop(key_id, None)

    def forget_user(self, user_id: int) -> None:
        """The owner changed (email, state, deletion): reload their keys on next use."""
        self._generation += 1
        self._by_hash = {h: r for h, r in self._by_hash.items() if r.user_id != user_id}

    def forget_all(self) -> None:
        self._generation += 1
        self._by_hash.clear()

    async def flush(self) -> None:
        """Write the uses seen since the last flush, in one batch; kept for the next try if
        the database is away."""
        if not self._used:
            return
        used, self._used = self._used, {}
        try:
            await self._save_usage(used)
        except Exception as error:
            log.warning("saving API key use failed: %s", type(error).__name__)
            for key_id, moment in used.items():
                self._used[key_id] = max(moment, self._used.get(key_id, 0))

    def start(self) -> None:
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_forever(), name="seam-key-usage")

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.flush()

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self.flush()
