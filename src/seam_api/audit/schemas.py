"""The audit entry as the API shows it (contract 6), and the filters of its routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEntry(BaseModel):
    """One entry of the trail: who did what, to which entity, from where, and when."""

    model_config = ConfigDict(serialize_by_alias=True)

    event_id: str = Field(serialization_alias="eventId")
    operation: str
    message: str
    actor_id: int | None = Field(serialization_alias="actorId")
    actor_email: str | None = Field(serialization_alias="actorEmail")
    # The API key the actor used (its idKey), or null for a signed-in session.
    actor_key_id: int | None = Field(serialization_alias="actorKeyId")
    ip: str | None
    user_agent: str | None = Field(serialization_alias="userAgent")
    entity: str
    entity_id: str | None = Field(serialization_alias="entityId")
    changes: dict[str, list[Any]]
    occurred_at: str = Field(serialization_alias="occurredAt")
    # The request's `X-Request-ID`, to find its log lines.
    request_id: str | None = Field(serialization_alias="requestId")


class AuditFilters(BaseModel):
    """What `GET /audit` and its export narrow by; every filter is optional."""

    actor_id: int | None = None
    actor_email: str | None = None
    operation: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    before: int | None = None


def epoch_ms(moment: datetime) -> int:
    """A filter's time as stored; a time without a zone is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def iso(epoch_milliseconds: int) -> str:
    moment = datetime.fromtimestamp(epoch_milliseconds / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
