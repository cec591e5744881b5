"""The API key operations: create (shown once), list your own, revoke; and an administrator's
list and revocation of a user's keys.

A key is granted a subset of what its creator's role holds when it is made; what it may do at
each request is that subset intersected with the owner's role at that moment (security/access.py),
so a later demotion shrinks it at once. Revoking tells every instance after the commit: the
cached record goes and the key's sockets close.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api import delegation
from seam_api.apikeys import repository
from seam_api.apikeys.schemas import CreatedKey, KeyForm, KeyOut
from seam_api.audit.schemas import epoch_ms, iso
from seam_api.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from seam_api.messages import t
from seam_api.operations import operation, record, step
from seam_api.permissions import service as permissions_service
from seam_api.ports import Parts
from seam_api.realtime.eventlog import changes_between, now_ms
from seam_api.security.access import USERS_READ
from seam_api.security.keys import new_key
from seam_api.security.sessions import Caller
from seam_api.users import repository as users_repository

_AUDITED = ("name", "permissions", "expiresAt")
# Keys one account may hold: enough for any set of programs, and a bound on what a stolen
# session could fill the table with.
MAX_KEYS_PER_USER = 100


def _id_only(result: Any) -> dict[str, int]:
    """Events name the key by id only: its name and scope are its owner's business."""
    return {"idKey": result["idKey"] if isinstance(result, dict) else result.id_key}


def _audited(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    expires_at = row["expires_at"]
    return {
        "name": row["name"],
        "permissions": row["permissions"],
        "expiresAt": None if expires_at is None else iso(expires_at),
    }


def _expiry(moment: datetime | None) -> int | None:
    """An expiry in epoch milliseconds; one not in the future is a 400."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    expires_at = epoch_ms(moment)
    if expires_at <= now_ms():
        raise Invalid(
            "errors.validation", errors=[FieldError("expiresAt", t("errors.key_expiry_past"))]
        )
    return expires_at


@operation("apikey:create", data_needs=USERS_READ, summary=_id_only)
async def create(seam: Parts, *, caller: Caller, form: KeyForm) -> CreatedKey:
    expires_at = _expiry(form.expires_at)
    step(seam, "checking")
    async with seam.db.read() as conn:
        held = await permissions_service.name_uris_for_role(conn, role_id=caller.role_id)
    canonical = {uri.lower(): uri for uri in held}
    granted: list[str] = []
    for wanted in form.permissions:
        uri = canonical.get(wanted.lower())
        if uri is None:
            raise Forbidden("errors.key_permission", permission=wanted)
        if uri not in granted:
            granted.append(uri)
    key = new_key()
    created_at = now_ms()
    async with seam.db.transaction() as conn:
        step(seam, "saving")
        if await repository.count_for_user(conn, user_id=caller.user_id) >= MAX_KEYS_PER_USER:
            raise Conflict("errors.key_limit", limit=MAX_KEYS_PER_USER)
        key_id = await repository.create(
            conn,
            user_id=caller.user_id,
            name=form.name,
            key_hash=seam.keys.hasher.digest(key),
            permissions=granted,
            created_at=created_at,
            expires_at=expires_at,
        )
        result = CreatedKey(
            id_key=key_id,
            name=form.name,
            permissions=granted,
            expires_at=None if expires_at is None else iso(expires_at),
            created_at=iso(created_at),
            key=key,
        )
        after = {"name": form.name, "permissions": granted, "expires_at": expires_at}
        changes = changes_between(None, _audited(after), fields=_AUDITED, secrets=("key",))
        await record(seam, conn, entity="apikey", entity_id=key_id, changes=changes, result=result)
    return result


@operation("apikey:fetchAll")
async def list_own(seam: Parts, *, caller: Caller) -> list[KeyOut]:
    step(seam, "querying")
    async with seam.db.read() as conn:
        rows = await repository.list_for_user(conn, user_id=caller.user_id)
    return [_key(seam, row) for row in rows]


def _key(seam: Parts, row: Any) -> KeyOut:
    # A use this instance saw but has not written yet counts: the batch must not make it lag.
    stored, pending = row["last_used_at"], seam.keys.last_used(row["id_key"])
    last_used = max(filter(None, (stored, pending)), default=None)
    return KeyOut(
        id_key=row["id_key"],
        name=row["name"],
        permissions=orjson.loads(row["permissions"]),
        expires_at=None if row["expires_at"] is None else iso(row["expires_at"]),
        created_at=iso(row["created_at"]),
        last_used_at=None if last_used is None else iso(last_used),
    )


async def _revoke(
    seam: Parts, conn: AsyncConnection, *, key_id: int, user_id: int
) -> dict[str, int]:
    """Delete `user_id`'s key `key_id` and record it, inside the caller's transaction; a key of
    anyone else is a 404, as if it did not exist. The entry names the owner (`idUser`): an
    administrator's revocation has someone else as its actor."""
    step(seam, "revoking")
    row = await repository.get_for_user(conn, key_id=key_id, user_id=user_id)
    if row is None or not await repository.delete_for_user(conn, key_id=key_id, user_id=user_id):
        raise NotFound("errors.key_not_found")
    before = {**row, "permissions": orjson.loads(row["permissions"])}
    described = {**(_audited(before) or {}), "idUser": user_id}
    changes = changes_between(described, None, fields=(*_AUDITED, "idUser"))
    result = {"idKey": key_id}
    await record(seam, conn, entity="apikey", entity_id=key_id, changes=changes, result=result)
    return result


@operation("apikey:revoke", data_needs=USERS_READ, summary=_id_only)
async def revoke(seam: Parts, *, caller: Caller, key_id: int) -> dict[str, int]:
    async with seam.db.transaction() as conn:
        result = await _revoke(seam, conn, key_id=key_id, user_id=caller.user_id)
    await seam.key_revoked(key_id)
    return result


@operation("apikey:fetchByUser")
async def list_of_user(seam: Parts, *, user_id: int) -> list[KeyOut]:
    """An administrator's view of a user's keys: as their owner lists them, never the key."""
    step(seam, "querying")
    async with seam.db.read() as conn:
        if await users_repository.get_account(conn, user_id=user_id) is None:
            raise NotFound("errors.user_not_found")
        rows = await repository.list_for_user(conn, user_id=user_id)
    return [_key(seam, row) for row in rows]


@operation("apikey:revokeByUser", data_needs=USERS_READ, summary=_id_only)
async def revoke_of_user(seam: Parts, *, user_id: int, key_id: int) -> dict[str, int]:
    """An administrator revokes a user's key, under the rules that bound changing that user
    (delegation.py); its sockets close on every instance as when its owner revokes it."""
    await delegation.check_user_change(seam, user_id=user_id)
    async with seam.db.transaction() as conn:
        if await users_repository.get_account(conn, user_id=user_id) is None:
            raise NotFound("errors.user_not_found")
        result = await _revoke(seam, conn, key_id=key_id, user_id=user_id)
    await seam.key_revoked(key_id)
    return result
