"""The contract's role shape and the role bodies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from seam_api.core.types import NoNul, SearchTerm, needs_one_of, trimmed

RoleName = Annotated[str, trimmed(2, 50), NoNul]
Description = Annotated[str, trimmed(0, 255), NoNul]


class RoleOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    id_role: int = Field(serialization_alias="idRole")
    role_name: str = Field(serialization_alias="roleName")
    description: str | None
    # 1: the role's users must enrol a second factor before doing anything else.
    require_mfa: int = Field(serialization_alias="requireMfa")


class RoleCreate(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    role_name: RoleName = Field(alias="roleName")
    description: Description | None = None


class RoleUpdate(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra=needs_one_of("roleName", "description", "requireMfa"),
    )

    role_name: RoleName | None = Field(None, alias="roleName")
    description: Description | None = None
    require_mfa: Literal[0, 1] | None = Field(None, alias="requireMfa")

    @model_validator(mode="after")
    def _something_to_change(self) -> RoleUpdate:
        if self.role_name is None and self.description is None and self.require_mfa is None:
            raise PydanticCustomError(
                "fields_missing",
                "give at least one of {fields}",
                {"fields": "roleName, description, requireMfa"},
            )
        return self


RoleSort = Literal["idRole", "-idRole", "roleName", "-roleName", "description", "-description"]


class RoleFilters(BaseModel):
    """What `GET /roles` narrows and orders by (contract 10)."""

    search: SearchTerm = None
    sort: RoleSort = "idRole"
