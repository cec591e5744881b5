"""The shapes of sessions and token pairs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

from seam_api.core.types import NoNul

# Epoch seconds in the database, ISO 8601 on the wire.
Moment = Annotated[
    int,
    PlainSerializer(
        lambda seconds: datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z"),
        return_type=str,
    ),
]


class SessionOut(BaseModel):
    """A session as its owner's administrators see it."""

    model_config = ConfigDict(serialize_by_alias=True)

    id_session: int = Field(serialization_alias="idSession")
    created_at: Moment = Field(serialization_alias="createdAt")
    last_seen_at: Moment = Field(serialization_alias="lastSeenAt")
    ip: str | None
    user_agent: str | None = Field(serialization_alias="userAgent")


class OwnSessionOut(SessionOut):
    """A session as its owner sees it: `current` marks the one asking."""

    current: bool


class RefreshForm(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul] = Field(
        alias="refreshToken"
    )


class TokenPair(BaseModel):
    """What a refresh and a password change answer."""

    model_config = ConfigDict(serialize_by_alias=True)

    token: str
    expires_in: int = Field(serialization_alias="expiresIn")
    refresh_token: str = Field(serialization_alias="refreshToken")
