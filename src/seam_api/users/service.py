"""The user operations: listing, editing, state, password reset and deletion.

Writes that end a user's sessions (password, role, disabling, reset, delete) raise the token
version in the same transaction as the change, then tell every instance after the commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from seam_api import delegation
from seam_api.core.cache import SerialisedList
from seam_api.core.context import current
from seam_api.core.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from seam_api.messages import t
from seam_api.operations import operation, record, step, unchanged
from seam_api.ports import Parts
from seam_api.realtime.eventlog import changes_between
from seam_api.roles import service as roles_service
from seam_api.roles.schemas import RoleOut
from seam_api.security.access import USERS_READ
from seam_api.security.credentials import hash_password, hash_passwords, temporary_password
from seam_api.users import repository
from seam_api.users.schemas import (
    ImportedUser,
    ImportResult,
    ImportRow,
    RowProblem,
    TemporaryPassword,
    UserFilters,
    UserOut,
    UserStateUpdate,
    UserUpdate,
)

# The fields an audit entry compares (contract names); the password only by name.
AUDITED_FIELDS = ("full_name", "email", "roleId", "isActive")


def _user(row: Any) -> UserOut:
    return UserOut.model_validate(dict(row))


def _audited(row: Any) -> dict[str, Any]:
    return _user(row).model_dump(by_alias=True)


def user_changes(before: Any, after: Any, *, password: bool = False) -> dict[str, list[Any]]:
    """An audit entry's `changes` between two user rows (either may be None)."""
    return changes_between(
        None if before is None else _audited(before),
        None if after is None else _audited(after),
        fields=AUDITED_FIELDS,
        secrets=("password",) if password else (),
    )


@dataclass(frozen=True, slots=True)
class UserPage:
    """One page of users (a cached page keeps its ready JSON), and how many match when the
    caller asked (`withTotal`)."""

    users: list[UserOut]
    total: int | None


def _saved_row(current: Any, saved: Any, role: RoleOut | None) -> dict[str, Any]:
    """The user as saved, without reading it back: its own columns as the update returned
    them, its role's name and description from the role it now holds (`role`, when the edit
    gave it a new one, else the one `current` was read with)."""
    if saved is None:  # deleted by another writer since `current` was read
        raise NotFound("errors.user_not_found")
    row = {**current, **saved}
    if role is not None:
        row["role_name"] = role.role_name
        row["role_description"] = role.description
    return row


def _page_summary(result: UserPage) -> dict[str, int]:
    """A list's length, as for every list, and its total when the caller asked for it."""
    summary = {"count": len(result.users)}
    if result.total is not None:
        summary["total"] = result.total
    return summary


@operation("user:fetchAll", summary=_page_summary)
async def list_page(
    seam: Parts, *, page: int, limit: int, filters: UserFilters, with_total: bool = False
) -> UserPage:
    """The plain list is served from the read cache; a filtered one is rare and varied enough
    that caching it would only crowd the plain pages out."""
    step(seam, "querying")
    offset = (page - 1) * limit

    async def load() -> SerialisedList[UserOut]:
        async with seam.db.read() as conn:
            rows = await repository.list_page(conn, offset=offset, limit=limit, filters=filters)
        return SerialisedList(_user(row) for row in rows)

    users: list[UserOut] = await seam.reads.get_or_load_if(
        filters.plain, ("users", page, limit), load
    )
    total = None
    if with_total:
        async with seam.db.read() as conn:
            total = await repository.count(conn, filters=filters)
    return UserPage(users=users, total=total)


@operation("user:fetchOne")
async def get(seam: Parts, *, user_id: int) -> UserOut:
    step(seam, "querying")

    async def load() -> UserOut:
        async with seam.db.read() as conn:
            row = await repository.get(conn, user_id=user_id)
        if row is None:
            raise NotFound("errors.user_not_found")
        return _user(row)

    user: UserOut = await seam.reads.get_or_load(("user", user_id), load)
    return user


@operation("user:edit", data_needs=USERS_READ)
async def update(seam: Parts, *, user_id: int, changes: UserUpdate) -> UserOut:
    values: dict[str, Any] = changes.model_dump(exclude_none=True, exclude={"password"})
    if changes.password is not None:
        step(seam, "hashing")  # before the transaction: Argon2id must not hold the write lock
        values["password_hash"] = await hash_password(changes.password)
    async with seam.db.transaction() as conn:
        await delegation.check_user_change(
            seam, user_id=user_id, new_role_id=changes.role_id, within=conn
        )
        step(seam, "loading")
        if (
            changes.email is None
            and changes.role_id is None
            and repository.updates_after_reading(conn)
        ):
            # Nothing to check against the row as it is: read and write it in one statement.
            step(seam, "saving")
            revoke = changes.password is not None
            both = await repository.update_after_reading(
                conn, user_id=user_id, values=values, revoke_sessions=revoke
            )
            if both is None:
                raise NotFound("errors.user_not_found")
            current, saved = both
            role: RoleOut | None = None
        else:
            current, saved, role, revoke = await _read_and_update(
                seam, conn, user_id=user_id, changes=changes, values=values
            )
        row = _saved_row(current, saved, role)
        user = _user(row)
        audit = user_changes(current, row, password=changes.password is not None)
        await record(seam, conn, entity="user", entity_id=user_id, changes=audit, result=user)
    if revoke or user.email != current["email"]:
        # A new email only refreshes the caches (an API key's record names its owner's email).
        await seam.account_changed(user_id, revoked=revoke)
    return user


async def _read_and_update(
    seam: Parts, conn: AsyncConnection, *, user_id: int, changes: UserUpdate, values: dict[str, Any]
) -> tuple[Any, Any, RoleOut | None, bool]:
    """An edit that checks the row as it is (a new email, a new role): read, check, write."""
    current = await repository.get(conn, user_id=user_id, lock=True)
    if current is None:
        raise NotFound("errors.user_not_found")
    if changes.email is not None and changes.email != current["email"]:
        step(seam, "checking_email")
        if await repository.email_taken(conn, email=changes.email, except_user_id=user_id):
            raise Conflict("errors.email_taken")
    role_changed = changes.role_id is not None and changes.role_id != current["role_id"]
    role = None
    if role_changed:
        role = await roles_service.get_by_id(conn, role_id=values["role_id"])
        if role is None:
            raise Invalid("errors.role_unknown")
    revoke = role_changed or changes.password is not None
    step(seam, "saving")
    saved = await repository.update_and_get(
        conn, user_id=user_id, values=values, revoke_sessions=revoke
    )
    return current, saved, role, revoke


@operation("user:setState", data_needs=USERS_READ)
async def set_state(seam: Parts, *, user_id: int, state: UserStateUpdate) -> UserOut:
    async with seam.db.transaction() as conn:
        await delegation.check_user_change(seam, user_id=user_id, within=conn)
        step(seam, "loading")
        current = await repository.get(conn, user_id=user_id, lock=True)
        if current is None:
            raise NotFound("errors.user_not_found")
        disabling = state.is_active == 0 and current["is_active"] != 0
        step(seam, "saving")
        saved = await repository.update_and_get(
            conn, user_id=user_id, values={"is_active": state.is_active}, revoke_sessions=disabling
        )
        row = _saved_row(current, saved, None)
        user = _user(row)
        changes = user_changes(current, row)
        await record(seam, conn, entity="user", entity_id=user_id, changes=changes, result=user)
    await seam.account_changed(user_id, revoked=disabling)
    return user


def _reset_summary(_result: TemporaryPassword) -> None:
    """The temporary password is for the HTTP answer only, never for an event."""
    return None


@operation("user:resetPassword", summary=_reset_summary, data_needs=USERS_READ)
async def reset_password(seam: Parts, *, user_id: int) -> TemporaryPassword:
    await delegation.check_user_change(seam, user_id=user_id)
    async with seam.db.read() as conn:
        if await repository.get_account(conn, user_id=user_id) is None:
            raise NotFound("errors.user_not_found")
    step(seam, "generating")
    password = temporary_password()
    step(seam, "hashing")
    password_hash = await hash_password(password)
    result = TemporaryPassword(temporary_password=password)
    async with seam.db.transaction() as conn:
        step(seam, "saving")
        if not await repository.update_fields(
            conn,
            user_id=user_id,
            # The next sign-in may only change it (SEAM_FORCE_PASSWORD_CHANGE).
            values={"password_hash": password_hash, "must_change_password": 1},
            revoke_sessions=True,
        ):
            raise NotFound("errors.user_not_found")  # deleted while the hash was made
        changes = changes_between(None, None, fields=(), secrets=("password",))
        await record(seam, conn, entity="user", entity_id=user_id, changes=changes, result=result)
    await seam.account_changed(user_id, revoked=True)
    return result


@operation("user:delete", data_needs=USERS_READ)
async def delete(seam: Parts, *, user_id: int) -> dict[str, int]:
    """Returns the deleted id, which is what the `data:changed` event carries."""
    await delegation.check_user_change(seam, user_id=user_id)
    async with seam.db.transaction() as conn:
        step(seam, "deleting")
        current = await repository.get(conn, user_id=user_id, lock=True)
        if current is None or not await repository.delete_one(conn, user_id=user_id):
            raise NotFound("errors.user_not_found")
        result = {"idUser": user_id}
        changes = user_changes(current, None)
        await record(seam, conn, entity="user", entity_id=user_id, changes=changes, result=result)
    await seam.account_changed(user_id, revoked=True)
    return result


def _import_summary(result: ImportResult) -> dict[str, Any]:
    """Counts and ids for the events: the temporary passwords are for the HTTP answer only."""
    return {"count": len(result.created), "idUsers": [user.id_user for user in result.created]}


# Stores an import's invitation links in its transaction; what it returns mails them.
Invitations = Callable[[Parts, AsyncConnection, list[Any]], Awaitable[Callable[[], None]]]


@operation("user:import", summary=_import_summary, data_needs=USERS_READ)
async def import_users(
    seam: Parts,
    *,
    rows: list[ImportRow | None],
    problems: list[RowProblem],
    dry_run: bool,
    invitations: Invitations | None = None,
) -> ImportResult:
    """Create every row's account, or none: a bad row (the caller's `problems` from parsing,
    or a role or email this finds) stops the whole import. `dry_run` only reports. With
    `invitations` the accounts get no password but an emailed link (passwords/service.py)."""
    step(seam, "checking")
    found = [(problem, "errors.import_invalid") for problem in problems]
    found += await _import_problems(seam, rows)
    found.sort(key=lambda pair: pair[0].row)
    if found and not dry_run:
        _refuse_import(found)
    errors = [problem for problem, _key in found]
    result = ImportResult(dry_run=dry_run, total=len(rows), errors=errors, created=[])
    if dry_run:
        unchanged()
        return result
    valid = [row for row in rows if row is not None]
    passwords: list[str | None] = [None] * len(valid)
    hashes: list[str | None] = [None] * len(valid)
    if invitations is None:
        step(seam, "hashing")  # before the transaction: hashing must not hold a write lock
        passwords = [temporary_password() for _ in valid]
        hashes = list(await hash_passwords([p for p in passwords if p is not None]))
    default_role = await _default_role_id(seam)
    send_invitations = None
    async with seam.db.transaction() as conn:
        step(seam, "saving")
        for row, password, password_hash in zip(valid, passwords, hashes, strict=True):
            user_id = await repository.create(
                conn,
                full_name=row.full_name,
                email=row.email,
                password_hash=password_hash,
                role_id=row.role_id or default_role,
            )
            created = _user(await repository.get(conn, user_id=user_id))
            result.created.append(
                ImportedUser(**created.model_dump(by_alias=False), temporary_password=password)
            )
        ids = [user.id_user for user in result.created]
        if invitations is not None:
            accounts = [user.model_dump(by_alias=False) for user in result.created]
            send_invitations = await invitations(seam, conn, accounts)
        changes = {"idUser": [None, ids]}
        await record(seam, conn, entity="user", entity_id=None, changes=changes, result=result)
    if send_invitations is not None:
        send_invitations()
    for user_id in ids:
        await seam.account_changed(user_id, revoked=False)
    return result


async def _default_role_id(seam: Parts) -> int:
    async with seam.db.read() as conn:
        role = await roles_service.get_by_name(conn, role_name=seam.settings.default_role)
    if role is None:
        raise Conflict("errors.default_role_missing")
    return role.id_role


def _refuse_import(found: list[tuple[RowProblem, str]]) -> None:
    """The status says the worst kind of problem, as for a single registration: a bad row is
    400, an unknown role 400, a role beyond reach 403, a taken or repeated email 409; the
    `errors` list every problem by `rows.<row>.<field>`."""
    errors = [FieldError(f"rows.{p.row}.{p.field}", p.message) for p, _key in found]
    keys = {key for _problem, key in found}
    if "errors.import_invalid" in keys:
        raise Invalid("errors.import_invalid", errors=errors, count=len(errors))
    if "errors.role_unknown" in keys:
        raise Invalid("errors.role_unknown", errors=errors)
    if "errors.delegation_role" in keys:
        raise Forbidden("errors.delegation_role", errors=errors)
    raise Conflict("errors.import_conflict", errors=errors, count=len(errors))


async def _import_problems(
    seam: Parts, rows: list[ImportRow | None]
) -> list[tuple[RowProblem, str]]:
    """Roles that do not exist or are beyond the caller's reach, and emails that are taken
    or appear twice in the file; each with its message's key."""
    context = current()
    problems: list[tuple[RowProblem, str]] = []
    reachable = None
    if context is not None and context.role_id is not None:
        reachable = set(await delegation.reachable_role_ids(seam, role_id=context.role_id))
    valid = [row for row in rows if row is not None]
    async with seam.db.read() as conn:
        taken = await repository.emails_taken(conn, emails=[row.email for row in valid])
        role_ids = {row.role_id for row in valid if row.role_id is not None}
        known = {id_ for id_ in role_ids if await roles_service.exists(conn, role_id=id_)}
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        if row is None:
            continue
        found: list[tuple[str, str]] = []
        if row.role_id is not None and row.role_id not in known:
            found.append(("roleId", "errors.role_unknown"))
        elif row.role_id is not None and reachable is not None and row.role_id not in reachable:
            found.append(("roleId", "errors.delegation_role"))
        if row.email in taken:
            found.append(("email", "errors.email_taken"))
        elif row.email in seen:
            found.append(("email", "errors.import_email_repeated"))
        seen.add(row.email)
        problems.extend((RowProblem(row=number, field=f, message=t(key)), key) for f, key in found)
    return problems
