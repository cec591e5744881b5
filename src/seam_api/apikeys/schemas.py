"""The bodies and answers of the API key routes (contract 9.5)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from seam_api.core.types import NoNul, trimmed

KeyName = Annotated[str, trimmed(1, 100), NoNul]
NameUri = Annotated[str, StringConstraints(min_length=1, max_length=100), NoNul]
MAX_KEY_PERMISSIONS = 500


class KeyForm(BaseModel):
    """`POST /auth/keys`: a subset of the caller's permissions, optionally expiring."""

    model_config = ConfigDict(populate_by_name=True)

    name: KeyName
    permissions: list[NameUri] = Field(max_length=MAX_KEY_PERMISSIONS)
    expires_at: datetime | None = Field(None, alias="expiresAt")


class _KeyFields(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    id_key: int = Field(serialization_alias="idKey")
    name: str
    permissions: list[str]
    expires_at: str | None = Field(serialization_alias="expiresAt")
    created_at: str = Field(serialization_alias="createdAt")


class KeyOut(_KeyFields):
    """A key as its owner lists it: never the key itself."""

    last_used_at: str | None = Field(serialization_alias="lastUsedAt")


class CreatedKey(_KeyFields):
    """The answer of `POST /auth/keys`, the one time the key is shown."""

    key: str
