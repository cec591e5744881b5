"""The contract's permission shape and the permission bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from seam_api.core.types import Id, NoNul, trimmed

NameUri = Annotated[str, trimmed(2, 100), NoNul]


class PermissionOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    id_permission: int = Field(serialization_alias="idPermission")
    name_uri: str = Field(serialization_alias="nameUri")
    description: str | None


class PermissionCreate(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name_uri: NameUri = Field(alias="nameUri")
    description: Annotated[str, trimmed(0, 255), NoNul] | None = None


class Assignment(BaseModel):
    """A role and a permission, for assign and unassign."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    role_id: Id = Field(alias="roleId")
    permission_id: Id = Field(alias="permissionId")
