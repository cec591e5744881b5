"""The audit operations: a page of the trail, one entry, and a streamed export.

The export reads the log a page at a time by id and yields each page as it is encoded, so a
year of entries never sits in memory at once.

An entry is redacted for a caller whose role does not hold what its operation's data needs
(`data_needs`, operations.py), the same rule that nulls the data of that operation's
`data:changed` (contract 5.2): its `changes` keep each field's name with null values, and `ip`
and `userAgent` are null. Otherwise an audit-only role would read the names, emails, roles and
sign-in addresses that the users' own routes deny it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any, Literal

import orjson

from seam_api.audit import repository
from seam_api.audit.schemas import AuditEntry, AuditFilters, iso
from seam_api.core.cache import SerialisedList
from seam_api.core.errors import NotFound
from seam_api.messages import CATALOGUES, t
from seam_api.operations import data_permission, operation, step
from seam_api.ports import Parts

EXPORT_PAGE = 1000
ExportFormat = Literal["csv", "ndjson"]
CSV_COLUMNS = (
    "eventId",
    "occurredAt",
    "operation",
    "message",
    "actorId",
    "actorEmail",
    "actorKeyId",
    "ip",
    "userAgent",
    "entity",
    "entityId",
    "changes",
    "requestId",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection); such
# values are written with a leading apostrophe, which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _message(operation: str, stored: str) -> str:
    """An entry is written in its writer's language; each reader gets the message in its own
    (Accept-Language). An operation without a catalogue text keeps the stored one."""
    for key in (f"{operation}.audit", f"{operation}.success"):
        if key in CATALOGUES["en"]:
            return t(key)
    return stored


def entry(row: Any, *, redacted: bool = False) -> AuditEntry:
    changes = orjson.loads(row["changes"])
    if redacted:
        changes = {field: [None, None] for field in changes}
    return AuditEntry(
        event_id=str(row["event_id"]),
        operation=row["operation"],
        message=_message(row["operation"], row["message"]),
        actor_id=row["actor_id"],
        actor_email=row["actor_email"],
        actor_key_id=row["actor_key_id"],
        ip=None if redacted else row["ip"],
        user_agent=None if redacted else row["user_agent"],
        entity=row["entity"],
        entity_id=row["entity_id"],
        changes=changes,
        occurred_at=iso(row["occurred_at"]),
        request_id=row["request_id"],
    )


class _Reader:
    """One caller's view of the trail: whether its role holds what each entry's data needs,
    asked once per permission."""

    def __init__(self, seam: Parts, role_id: int) -> None:
        self._seam = seam
        self._role_id = role_id
        self._holds: dict[str, bool] = {}

    async def redacts(self, row: Any) -> bool:
        needed = data_permission(row["operation"])
        if needed is None:
            return False
        if needed not in self._holds:
            self._holds[needed] = await self._seam.permissions.holds(self._role_id, needed)
        return not self._holds[needed]

    async def entry(self, row: Any) -> AuditEntry:
        return entry(row, redacted=await self.redacts(row))


_NO_FILTERS = AuditFilters()


@operation("audit:fetchAll")
async def list_newest(
    seam: Parts, *, role_id: int, filters: AuditFilters, limit: int
) -> list[AuditEntry]:
    step(seam, "querying")

    async def load() -> SerialisedList[AuditEntry]:
        async with seam.db.read() as conn:
            rows = await repository.list_newest(conn, filters=filters, limit=limit)
        reader = _Reader(seam, role_id)
        return SerialisedList([await reader.entry(row) for row in rows])

    # The newest page, as the console's audit page and a dashboard poll it: kept while the log
    # stands still here (its position is in the key), and dropped with every other cached read
    # when a role's permissions, and so what it may see, change.
    key = ("audit", limit, role_id, seam.realtime.log_position)
    entries: list[AuditEntry] = await seam.reads.get_or_load_if(filters == _NO_FILTERS, key, load)
    return entries


@operation("audit:fetchOne")
async def get(seam: Parts, *, role_id: int, event_id: int) -> AuditEntry:
    step(seam, "querying")

    async def load() -> AuditEntry:
        async with seam.db.read() as conn:
            row = await repository.get(conn, event_id=event_id)
        if row is None:
            raise NotFound("errors.audit_entry_not_found")  # not cached: it may come yet
        return await _Reader(seam, role_id).entry(row)

    # An entry never changes; what the role may see of it does, and that drops every cached read.
    found: AuditEntry = await seam.reads.get_or_load(("audit-entry", event_id, role_id), load)
    return found


@operation("audit:export", summary=lambda _: None)
async def export(
    seam: Parts, *, role_id: int, filters: AuditFilters, format: ExportFormat
) -> AsyncIterator[bytes]:
    """The export's body, chunk by chunk; the operation succeeds once streaming starts."""
    step(seam, "streaming")
    return _chunks(seam, filters, format, _Reader(seam, role_id))


async def _chunks(
    seam: Parts, filters: AuditFilters, format: ExportFormat, reader: _Reader
) -> AsyncIterator[bytes]:
    if format == "csv":
        yield _csv_rows([CSV_COLUMNS])
    after = 0
    while True:
        async with seam.db.read() as conn:
            rows = await repository.list_oldest_after(
                conn, filters=filters, after=after, limit=EXPORT_PAGE
            )
        if not rows:
            return
        after = int(rows[-1]["event_id"])
        entries = [(await reader.entry(row)).model_dump(by_alias=True) for row in rows]
        if format == "ndjson":
            yield b"".join(orjson.dumps(item) + b"\n" for item in entries)
        else:
            yield _csv_rows([_csv_values(item) for item in entries])


def _csv_values(item: dict[str, Any]) -> list[str]:
    values = []
    for column in CSV_COLUMNS:
        value = item[column]
        if value is None:
            text = ""
        elif isinstance(value, dict):
            text = orjson.dumps(value).decode()
        else:
            text = str(value)
        values.append("'" + text if text.startswith(FORMULA_STARTS) else text)
    return values


def _csv_rows(rows: Any) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()
