"""Password hashing and token signing: the only place argon2, bcrypt and PyJWT are called.

New hashes are Argon2id (RFC 9106's low-memory profile: 64 MiB, 3 passes), over every byte of
the password. bcrypt hashes (ours before, and the Node original's) still verify, and login
re-hashes them: bcrypt reads only the first 72 bytes, so on those accounts the rest of a long
password counted for nothing until then.

Hashing runs in the default thread pool (both libraries release the GIL), with a bound on how
many hashes are in flight: beyond it a request is refused at once (429) rather than queued, so
a flood of guesses cannot make every real login wait behind it. `asyncio.to_thread` copies the
request context along.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import bcrypt
import jwt
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from seam_api.core.errors import TooManyRequests

# Only the test suite may ask for cheap hashes (still Argon2id, at 1 pass over 1 MiB): its
# thousands of logins would otherwise spend minutes hashing. pytest sets PYTEST_VERSION in the
# environment of its run and of the servers it starts; anywhere else the request is refused.
TEST_HASHING = "SEAM_TEST_CHEAP_HASHING"


def _password_hasher() -> PasswordHasher:
    if os.environ.get(TEST_HASHING) == "1":
        if "PYTEST_VERSION" not in os.environ:
            raise RuntimeError(f"{TEST_HASHING} is for the test suite only")
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)


PASSWORD_HASHER = _password_hasher()
# Verified against when no account matches, so a miss costs as long as a wrong password.
_DUMMY_HASH = PASSWORD_HASHER.hash("seam-api timing equaliser")
_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
# bcrypt hashed only the first 72 bytes (bcrypt 5 raises beyond them): verifying an old hash
# must cut the input where hashing it did.
BCRYPT_MAX_BYTES = 72
# Twice the cores: enough to keep every core hashing, at most 64 MiB of Argon2 memory each.
MAX_HASHES_IN_FLIGHT = 2 * (os.cpu_count() or 1)

T = TypeVar("T")


class _HashSlots:
    """Counts the hashes in flight; a plain counter, since the event loop is the only caller."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self._waiting: list[asyncio.Future[None]] = []  # bulk jobs waiting for a free slot

    @contextmanager
    def take(self) -> Iterator[None]:
        if self.in_flight >= self.limit:
            raise TooManyRequests("errors.busy", retry_after=1)
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            waiting, self._waiting = self._waiting, []
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_result(None)

    async def room_for_bulk(self) -> None:
        """Wait until a slot is free with half of them left for sign-ins: a bulk job (an
        import) queues for its hashes instead of being refused, and never takes them all."""
        while self.in_flight >= max(1, self.limit // 2):
            # A future of the running loop, made per wait: the slots outlive any one loop.
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            await waiter


hash_slots = _HashSlots(MAX_HASHES_IN_FLIGHT)


async def _off_loop(work: Callable[..., T], *args: Any) -> T:
    with hash_slots.take():
        return await asyncio.to_thread(work, *args)


async def hash_password(password: str) -> str:
    """An Argon2id hash of the whole password, computed off the event loop."""
    return await _off_loop(PASSWORD_HASHER.hash, password)


def _verify_sync(password: str, password_hash: str) -> bool:
    if password_hash.startswith(_BCRYPT_PREFIXES):
        candidate = password.encode()[:BCRYPT_MAX_BYTES]
        return bcrypt.checkpw(candidate, password_hash.encode())
    try:
        return PASSWORD_HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_passwords(passwords: list[str]) -> list[str]:
    """Hashes for a bulk job, in order: at most half the slots at a time, waiting for them."""

    async def one(password: str) -> str:
        await hash_slots.room_for_bulk()
        return await _off_loop(PASSWORD_HASHER.hash, password)

    return list(await asyncio.gather(*(one(password) for password in passwords)))


async def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password; with no hash, burn the same time against a dummy and say no."""
    if password_hash is None:
        await _off_loop(_verify_sync, password, _DUMMY_HASH)
        return False
    return await _off_loop(_verify_sync, password, password_hash)


def needs_rehash(password_hash: str) -> bool:
    """True for a bcrypt hash, or an Argon2 one made with other parameters than today's."""
    if password_hash.startswith(_BCRYPT_PREFIXES):
        return True
    try:
        return PASSWORD_HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False


def temporary_password() -> str:
    """A random password for resets, shown to the admin once."""
    return secrets.token_urlsafe(12)


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says; the account's current state is checked separately."""

    user_id: int
    email: str
    role_id: int
    role_name: str
    token_id: str
    version: int
    issued_at: int
    expires_at: int
    # The sign-in it belongs to (None for tokens signed before sessions existed).
    session_id: int | None = None
    # "password" or "mfa": the token reaches only the routes that lift it (security/access.py).
    restriction: str | None = None


# An MFA token proves a password, nothing more: it lacks `idUser`, so `verify` refuses it as a
# bearer token, and `verify_mfa` refuses anything but it.
MFA_TOKEN_TYPE = "mfa"


class TokenSigner:
    """Signs and verifies the contract's JWTs with one pinned algorithm."""

    def __init__(self, secret: str, algorithm: str, lifetime_seconds: int) -> None:
        self._secret = secret
        self._algorithm = algorithm
        self.lifetime = lifetime_seconds

    def sign(
        self,
        *,
        user_id: int,
        email: str,
        role_id: int,
        role_name: str,
        version: int,
        session_id: int | None = None,
        restriction: str | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "idUser": user_id,
            "email": email,
            "roleId": role_id,
            "roleName": role_name,
            "iat": now,
            "exp": now + self.lifetime,
            "jti": str(uuid.uuid4()),
            "ver": version,
        }
        if session_id is not None:
            claims["sid"] = session_id
        if restriction is not None:
            claims["rst"] = restriction
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

    def sign_mfa(self, *, user_id: int, lifetime: int) -> tuple[str, str]:
        """A token for the second step of a sign-in, and its id (each is usable once)."""
        now = int(time.time())
        token_id = str(uuid.uuid4())
        claims = {
            "sub": str(user_id),
            "typ": MFA_TOKEN_TYPE,
            "iat": now,
            "exp": now + lifetime,
            "jti": token_id,
        }
        return jwt.encode(claims, self._secret, algorithm=self._algorithm), token_id

    def verify_mfa(self, token: str) -> tuple[int, str, int] | None:
        """(user id, token id, expiry) of a well-signed, unexpired MFA token; None otherwise."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                options={"require": ["exp", "iat", "jti", "sub"]},
            )
            if claims.get("typ") != MFA_TOKEN_TYPE:
                return None
            return int(claims["sub"]), str(claims["jti"]), int(claims["exp"])
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            return None

    def verify(self, token: str) -> TokenClaims | None:
        """The claims of a well-signed, unexpired token; None for anything else."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                options={"require": ["exp", "iat", "jti", "idUser"]},
            )
            return TokenClaims(
                user_id=int(claims["idUser"]),
                email=str(claims["email"]),
                role_id=int(claims["roleId"]),
                role_name=str(claims["roleName"]),
                token_id=str(claims["jti"]),
                version=int(claims.get("ver", 0)),
                issued_at=int(claims["iat"]),
                expires_at=int(claims["exp"]),
                session_id=int(claims["sid"]) if "sid" in claims else None,
                restriction=str(claims["rst"]) if "rst" in claims else None,
            )
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            return None
