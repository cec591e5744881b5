"""The audit routes (contract 6): thin, like every router. `export` is declared before
`/{eventId}` so that the word is never read as an id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from seam_api.audit import service
from seam_api.audit.schemas import AuditEntry, AuditFilters
from seam_api.core.types import MAX_ID, NO_NUL_PATTERN
from seam_api.security.access import Permitted
from seam_api.web.envelope import Envelope, ok
from seam_api.web.params import API_PREFIX, Limit

router = APIRouter(prefix=f"{API_PREFIX}/audit", tags=["audit"])

MAX_EVENT_ID = 2**63 - 1


def audit_filters(
    actor_id: Annotated[int | None, Query(alias="actorId", ge=1, le=MAX_ID)] = None,
    actor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=255,
            pattern=NO_NUL_PATTERN,
            description="The actor's email (any case), beside or instead of `actorId`",
        ),
    ] = None,
    operation: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
    # Any name, not a fixed list: a resource added later records entities of its own.
    entity: Annotated[
        str | None, Query(min_length=1, max_length=20, description="user, role, sidebar, ...")
    ] = None,
    entity_id: Annotated[str | None, Query(alias="entityId", min_length=1, max_length=64)] = None,
    occurred_from: Annotated[
        datetime | None, Query(alias="from", description="ISO 8601; without a zone, UTC")
    ] = None,
    occurred_to: Annotated[
        datetime | None, Query(alias="to", description="ISO 8601; without a zone, UTC")
    ] = None,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_EVENT_ID, description="Older than this eventId (paging)")
    ] = None,
) -> AuditFilters:
    return AuditFilters(
        actor_id=actor_id,
        actor_email=actor.strip().lower() if actor else None,  # stored lower-cased
        operation=operation,
        entity=entity,
        entity_id=entity_id,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        before=before,
    )  # a `from` after `to` is a valid question whose answer is empty


Filters = Annotated[AuditFilters, Depends(audit_filters)]


@router.get(
    "",
    response_model=Envelope[list[AuditEntry]],
    summary="Read the audit trail, newest first; page with `before`",
    operation_id="listAuditEntries",
)
async def list_audit(
    request: Request, caller: Permitted, filters: Filters, limit: Limit = 50
) -> Response:
    seam = request.app.state.seam
    return ok(await service.list_newest(seam, role_id=caller.role_id, filters=filters, limit=limit))


@router.get(
    "/export",
    summary="Export the filtered audit trail as a CSV or NDJSON file, oldest first",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
    operation_id="exportAuditEntries",
)
async def export_audit(
    request: Request,
    caller: Permitted,
    filters: Filters,
    format: Literal["csv", "ndjson"] = "ndjson",
) -> StreamingResponse:
    chunks = await service.export(
        request.app.state.seam, role_id=caller.role_id, filters=filters, format=format
    )
    media_type = "text/csv" if format == "csv" else "application/x-ndjson"
    filename = f"seam-audit.{format}"
    return StreamingResponse(
        chunks,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/{eventId}",
    response_model=Envelope[AuditEntry],
    summary="View one audit entry",
    operation_id="getAuditEntry",
)
async def get_audit_entry(
    request: Request,
    caller: Permitted,
    eventId: Annotated[int, Path(ge=1, le=MAX_EVENT_ID, description="An audit entry's id")],
) -> Response:
    seam = request.app.state.seam
    return ok(await service.get(seam, role_id=caller.role_id, event_id=eventId))
