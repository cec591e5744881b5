"""Password hashing and token signing: the only place bcrypt and PyJWT are called.

bcrypt runs in the default thread pool: the library releases the GIL, so logins use every core
while the event loop keeps serving. `asyncio.to_thread` copies the request context along.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import bcrypt
import jwt

BCRYPT_COST = 12
# Verified against when no account matches, so a miss costs as long as a wrong password.
_DUMMY_HASH = bcrypt.hashpw(b"seam-api timing equaliser", bcrypt.gensalt(BCRYPT_COST))


# bcrypt reads at most 72 bytes; bcrypt 5 raises beyond that instead of ignoring the rest, and
# the contract allows 100 characters, so the input is cut where bcrypt always cut it.
BCRYPT_MAX_BYTES = 72


def _secret_bytes(password: str) -> bytes:
    return password.encode()[:BCRYPT_MAX_BYTES]


def _hash_sync(password: str) -> str:
    return bcrypt.hashpw(_secret_bytes(password), bcrypt.gensalt(BCRYPT_COST)).decode()


async def hash_password(password: str) -> str:
    """A bcrypt hash (cost 12), computed off the event loop."""
    return await asyncio.to_thread(_hash_sync, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password; with no hash, burn the same time against a dummy and say no."""
    candidate = _secret_bytes(password)
    if password_hash is None:
        await asyncio.to_thread(bcrypt.checkpw, candidate, _DUMMY_HASH)
        return False
    return await asyncio.to_thread(bcrypt.checkpw, candidate, password_hash.encode())


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


class TokenSigner:
    """Signs and verifies the contract's JWTs with one pinned algorithm."""

    def __init__(self, secret: str, algorithm: str, lifetime_seconds: int) -> None:
        self._secret = secret
        self._algorithm = algorithm
        self.lifetime = lifetime_seconds

    def sign(self, *, user_id: int, email: str, role_id: int, role_name: str, version: int) -> str:
        now = int(time.time())
        claims = {
            "idUser": user_id,
            "email": email,
            "roleId": role_id,
            "roleName": role_name,
            "iat": now,
            "exp": now + self.lifetime,
            "jti": str(uuid.uuid4()),
            "ver": version,
        }
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

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
            )
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            return None
