"""The audit operations: a page of the trail, one entry, and a streamed export.

The export reads the log a page at a time by id and yields each page as it is encoded, so a
year of entries never sits in memory at once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any, Literal

import orjson

from seam_api.audit import repository
from seam_api.audit.schemas import AuditEntry, AuditFilters, iso
from seam_api.core.errors import NotFound
from seam_api.messages import CATALOGUES, t
from seam_api.operations import operation, step
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


def entry(row: Any) -> AuditEntry:
    return AuditEntry(
        event_id=str(row["event_id"]),
        operation=row["operation"],
        message=_message(row["operation"], row["message"]),
        actor_id=row["actor_id"],
        actor_email=row["actor_email"],
        actor_key_id=row["actor_key_id"],
        ip=row["ip"],
        user_agent=row["user_agent"],
        entity=row["entity"],
        entity_id=row["entity_id"],
        changes=orjson.loads(row["changes"]),
        occurred_at=iso(row["occurred_at"]),
        request_id=row["request_id"],
    )


@operation("audit:fetchAll")
async def list_newest(seam: Parts, *, filters: AuditFilters, limit: int) -> list[AuditEntry]:
    step(seam, "querying")
    async with seam.db.read() as conn:
        rows = await repository.list_newest(conn, filters=filters, limit=limit)
    return [entry(row) for row in rows]


@operation("audit:fetchOne")
async def get(seam: Parts, *, event_id: int) -> AuditEntry:
    step(seam, "querying")
    async with seam.db.read() as conn:
        row = await repository.get(conn, event_id=event_id)
    if row is None:
        raise NotFound("errors.audit_entry_not_found")
    return entry(row)


@operation("audit:export", summary=lambda _: None)
async def export(
    seam: Parts, *, filters: AuditFilters, format: ExportFormat
) -> AsyncIterator[bytes]:
    """The export's body, chunk by chunk; the operation succeeds once streaming starts."""
    step(seam, "streaming")
    return _chunks(seam, filters, format)


async def _chunks(seam: Parts, filters: AuditFilters, format: ExportFormat) -> AsyncIterator[bytes]:
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
        entries = [entry(row).model_dump(by_alias=True) for row in rows]
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
