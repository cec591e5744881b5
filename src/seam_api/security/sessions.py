"""Who a token belongs to, and whether it still counts: revocation without a query per request.

Two caches, each invalidated on change (locally and, with Redis, on every instance through the
bus): the account state by user id (role, active flag, token version) and the set of revoked
token ids. Raising an account's token version revokes every token issued before; logout revokes
one token by id; ending a session revokes `session:<id>`, which every token of it names. An API
key (security/keys.py) is checked against the same account state, so disabling or deleting its
owner ends it at once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from seam_api.security.credentials import TokenClaims, TokenSigner
from seam_api.security.keys import KeyGuard, KeyRecord, is_key


@dataclass(frozen=True, slots=True)
class AccountState:
    """The parts of a user that decide whether their tokens are honoured."""

    user_id: int
    role_id: int
    is_active: bool
    token_version: int
    mfa_enabled: bool = False


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated request's user, with the token that proved it."""

    user_id: int
    role_id: int
    email: str
    token_id: str
    token_expires_at: int
    session_id: int | None = None
    # "password" (a temporary password to change) or "mfa" (a second factor to enrol).
    restriction: str | None = None
    # Set when the caller is an API key: its id, and the permissions it was granted (lower-cased),
    # which bound what the owner's role allows.
    key_id: int | None = None
    key_permissions: frozenset[str] | None = None

    def key_allows(self, permission: str) -> bool:
        """False only for a key that was not granted `permission`."""
        return self.key_permissions is None or permission.lower() in self.key_permissions


def session_key(session_id: int) -> str:
    """The revocation-list entry that ends every token of a session."""
    return f"session:{session_id}"


# Sockets and revocations name a key's "token" by this id, so closing works as for a JWT.
KEY_TOKEN_PREFIX = "key:"
# A key without expiry counts as expiring at the end of 32-bit time, for the fields that want one.
NO_EXPIRY = 2**31 - 1

VERIFIED_TOKENS_KEPT = 10_000

AccountLoader = Callable[[int], Awaitable[AccountState | None]]
RevokedLoader = Callable[[int], Awaitable[dict[str, int]]]


class SessionGuard:
    """Checks tokens against current account state and the revocation list, from memory."""

    def __init__(
        self,
        signer: TokenSigner,
        load_account: AccountLoader,
        load_revoked: RevokedLoader,
        keys: KeyGuard | None = None,
    ) -> None:
        self.signer = signer
        self.keys = keys
        self._load_account = load_account
        self._load_revoked = load_revoked
        self._accounts: dict[int, AccountState | None] = {}
        # Raised by every forget: a load that started before it must not cache what it read.
        self._generation = 0
        self._revoked: dict[str, int] = {}
        # Signature checks are the costliest part of a warm request: each token string is
        # verified once, then only its expiry is re-checked.
        self._verified: dict[str, TokenClaims] = {}

    async def warm(self) -> None:
        """Load the tokens revoked and not yet expired (at start, and after a bus outage).

        Merged, not replaced: a revocation heard while the query ran must stay."""
        self._revoked.update(await self._load_revoked(int(time.time())))

    async def authenticate(self, token: str) -> Caller | None:
        """The caller a token (or API key) proves, or None for a bad, expired, revoked or stale
        one, or one whose account is disabled or gone."""
        if self.keys is not None and is_key(token):
            return await self._authenticate_key(token)
        claims = self._verified.get(token)
        if claims is None:
            claims = self.signer.verify(token)
            if claims is None:
                return None
            if len(self._verified) >= VERIFIED_TOKENS_KEPT:
                self._verified.clear()
            self._verified[token] = claims
        elif claims.expires_at <= time.time():
            del self._verified[token]
            return None
        if claims.token_id in self._revoked:
            return None
        if claims.session_id is not None and session_key(claims.session_id) in self._revoked:
            return None
        account = await self.account(claims.user_id)
        if account is None or not account.is_active or account.token_version != claims.version:
            return None
        return _caller(claims, account)

    async def _authenticate_key(self, token: str) -> Caller | None:
        assert self.keys is not None
        record = await self.keys.find(token)
        if record is None:
            return None
        account = await self.account(record.user_id)
        if account is None or not account.is_active:
            return None
        return _key_caller(record, account)

    async def account(self, user_id: int) -> AccountState | None:
        if user_id in self._accounts:
            return self._accounts[user_id]
        generation = self._generation
        account = await self._load_account(user_id)
        if generation == self._generation:
            self._accounts[user_id] = account
        return account

    def forget_account(self, user_id: int) -> None:
        """Drop a cached account so the next request reads its new state."""
        self._generation += 1
        self._accounts.pop(user_id, None)

    def forget_all(self) -> None:
        self._generation += 1
        self._accounts.clear()

    def mark_revoked(self, token_id: str, expires_at: int) -> None:
        now = int(time.time())
        if len(self._revoked) > 1024:  # keep the set to the tokens that could still be used
            self._revoked = {jti: exp for jti, exp in self._revoked.items() if exp > now}
        self._revoked[token_id] = expires_at


def _caller(claims: TokenClaims, account: AccountState) -> Caller:
    restriction = claims.restriction
    if restriction == "mfa" and account.mfa_enabled:
        restriction = None  # enrolled since the token was signed
    return Caller(
        user_id=account.user_id,
        role_id=account.role_id,
        email=claims.email,
        token_id=claims.token_id,
        token_expires_at=claims.expires_at,
        session_id=claims.session_id,
        restriction=restriction,
    )


def _key_caller(record: KeyRecord, account: AccountState) -> Caller:
    expires_at = NO_EXPIRY if record.expires_at is None else -(-record.expires_at // 1000)
    return Caller(
        user_id=account.user_id,
        role_id=account.role_id,
        email=record.owner_email,
        token_id=f"{KEY_TOKEN_PREFIX}{record.key_id}",
        token_expires_at=expires_at,
        key_id=record.key_id,
        key_permissions=record.permissions,
    )
