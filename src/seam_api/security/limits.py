"""Login and self-registration limits (429 with Retry-After), counted before the work they guard.

A login attempt is counted before its password is checked, atomically: the counts are checked
and raised in one step (synchronous code in process, one Lua script in Redis), so attempts sent
at once cannot all pass a check made before any of them was counted. Three fixed windows:

- per account and client address (`per_account`): what one address may guess at one account;
- per client address (`per_address`): what one address may guess across accounts;
- per account from addresses it has never signed in from (`per_account` x
  `UNKNOWN_ADDRESS_FACTOR`): what many addresses together may guess at one account.

A correct login from an address gives its own attempt back, clears that address's count for
the account and marks the address as known to the account for `KNOWN_ADDRESS_SECONDS`; known
addresses are not subject to the third limit, so failures sent from elsewhere never lock the
owner out of an address they have used before.

Counts live in process, or in Redis when it is configured so that every instance shares them.
If Redis fails, counting falls back to this process rather than failing logins or letting
attempts through uncounted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from seam_api.core.errors import TooManyRequests
from seam_api.core.outages import REDIS

UNKNOWN_ADDRESS_FACTOR = 10
# Emailed links (password reset): per account, few enough that nobody can flood an inbox.
MAIL_PER_ACCOUNT = 3
KNOWN_ADDRESS_SECONDS = 30 * 86400
_KEPT_IN_MEMORY = 100_000

# KEYS: the counters; ARGV[1]: the window; ARGV[2..]: each counter's limit. Returns 0 when the
# attempt was counted, else the seconds until the first full counter's window ends.
_ADMIT_SCRIPT = """
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then
    local left = redis.call('TTL', key)
    if left < 1 then return 1 end
    return left
  end
end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 0
"""
# Gives attempts back; a counter whose window has ended stays gone (DECR would recreate it
# without an expiry).
_GIVE_BACK_SCRIPT = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
"""


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """An admitted attempt: the counters it raised, to give back if it succeeds."""

    account: str
    address: str | None
    counters: tuple[str, ...]


class _MemoryCounters:
    """Fixed windows in a dict; every method is synchronous, hence atomic on the event loop."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._known: dict[str, float] = {}

    def admit(self, counters: Sequence[tuple[str, int]], window: int) -> int:
        now = time.monotonic()
        for key, limit in counters:
            ends, count = self._windows.get(key, (0.0, 0))
            if ends > now and count >= limit:
                return int(ends - now) + 1
        if len(self._windows) > _KEPT_IN_MEMORY:
            self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
        for key, _limit in counters:
            ends, count = self._windows.get(key, (0.0, 0))
            if ends <= now:
                ends, count = now + window, 0
            self._windows[key] = (ends, count + 1)
        return 0

    def give_back(self, keys: Sequence[str]) -> None:
        for key in keys:
            ends, count = self._windows.get(key, (0.0, 0))
            if count > 0:
                self._windows[key] = (ends, count - 1)

    def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    def is_known(self, key: str) -> bool:
        return self._known.get(key, 0.0) > time.monotonic()

    def remember(self, key: str) -> None:
        now = time.monotonic()
        if len(self._known) > _KEPT_IN_MEMORY:
            self._known = {k: ends for k, ends in self._known.items() if ends > now}
        self._known[key] = now + KNOWN_ADDRESS_SECONDS


class LoginLimiter:
    """Admits login and registration attempts, or raises 429 with how long to wait."""

    def __init__(
        self,
        *,
        per_account: int,
        per_address: int,
        registrations_per_address: int,
        window: int,
        redis_url: str | None,
        key_prefix: str,
    ) -> None:
        self._per_account = per_account
        self._per_address = per_address
        self._registrations = registrations_per_address
        self._prefix = key_prefix
        self._window = window
        self._memory = _MemoryCounters()
        self._redis = (
            Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
            if redis_url
            else None
        )
        self._admit_script = self._redis.register_script(_ADMIT_SCRIPT) if self._redis else None
        self._give_back_script = (
            self._redis.register_script(_GIVE_BACK_SCRIPT) if self._redis else None
        )

    async def admit_login(self, account: str, address: str | None) -> LoginAttempt:
        """Count a login attempt on `account` (a key naming the account as the database
        resolves it) before its password is checked; 429 if a limit is used up."""
        counters = [(f"{self._prefix}:pair:{account}:{address or '-'}", self._per_account)]
        if address:
            counters.append((f"{self._prefix}:address:{address}", self._per_address))
        if not await self._is_known(account, address):
            counters.append(
                (f"{self._prefix}:account:{account}", self._per_account * UNKNOWN_ADDRESS_FACTOR)
            )
        retry_after = await self._admit(counters)
        if retry_after:
            raise TooManyRequests("errors.too_many_logins", retry_after=retry_after)
        return LoginAttempt(account, address, tuple(key for key, _limit in counters))

    async def succeeded(self, attempt: LoginAttempt) -> None:
        """The password was right: the attempt is given back, this address's count for the
        account starts again and the address becomes known to the account."""
        pair, *others = attempt.counters
        await self._settle(
            give_back=others, reset=pair, known=self._known_key(attempt.account, attempt.address)
        )

    async def not_checked(self, attempt: LoginAttempt) -> None:
        """The password could not be checked (the server was busy): the attempt is given back."""
        await self._settle(give_back=attempt.counters, reset=None, known=None)

    async def _settle(
        self, *, give_back: Sequence[str], reset: str | None, known: str | None
    ) -> None:
        self._memory.give_back(give_back)
        if reset is not None:
            self._memory.reset(reset)
        if known is not None:
            self._memory.remember(known)
        if self._redis is None or self._give_back_script is None:
            return
        try:
            await self._give_back_script(keys=list(give_back))
            if reset is not None:
                await self._redis.delete(reset)
            if known is not None:
                await self._redis.set(known, 1, ex=KNOWN_ADDRESS_SECONDS)
        except (RedisError, OSError) as error:  # counted in process meanwhile
            REDIS.down("login limits", error)

    async def admit_registration(self, address: str | None) -> None:
        """Count a self-registration from `address` before its password is hashed."""
        key = f"{self._prefix}:register:{address or '-'}"
        retry_after = await self._admit([(key, self._registrations)])
        if retry_after:
            raise TooManyRequests("errors.too_many_registrations", retry_after=retry_after)

    async def admit_mail(self, account: str | None, address: str | None) -> None:
        """Count a request that may send an email to `account` (a key that does not depend on
        whether the account exists, so the limit reveals nothing), or that uses an emailed link
        (`account` None), from `address`; 429 past the limits of either."""
        counters = [(f"{self._prefix}:mail:address:{address or '-'}", self._registrations)]
        if account is not None:
            counters.append((f"{self._prefix}:mail:account:{account}", MAIL_PER_ACCOUNT))
        retry_after = await self._admit(counters)
        if retry_after:
            raise TooManyRequests("errors.too_many_mail_requests", retry_after=retry_after)

    def _known_key(self, account: str, address: str | None) -> str:
        return f"{self._prefix}:known:{account}:{address or '-'}"

    async def _is_known(self, account: str, address: str | None) -> bool:
        key = self._known_key(account, address)
        if self._redis is not None:
            try:
                return bool(await self._redis.exists(key))
            except (RedisError, OSError) as error:  # counted in process meanwhile
                REDIS.down("login limits", error)
        return self._memory.is_known(key)

    async def _admit(self, counters: Sequence[tuple[str, int]]) -> int:
        if self._admit_script is not None:
            try:
                keys = [key for key, _limit in counters]
                limits = [limit for _key, limit in counters]
                return int(await self._admit_script(keys=keys, args=[self._window, *limits]))
            except (RedisError, OSError) as error:  # counted in process meanwhile
                REDIS.down("login limits", error)
        return self._memory.admit(counters, self._window)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
