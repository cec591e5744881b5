"""The contract's permission shape and the permission bodies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from seam_api.core.types import Id, NoNul, SearchTerm, trimmed

NAME_URI_MAX = 100


def _key_fits(value: str) -> str:
    """The lower-cased key is stored too, and may be longer (`İ` lower-cases to two
    characters): both must fit their columns."""
    if len(value.lower()) > NAME_URI_MAX:
        raise PydanticCustomError(
            "name_uri_key_length",
            "nameUri must be at most {max_length} characters once lower-cased",
            {"max_length": NAME_URI_MAX},
        )
    return value


NameUri = Annotated[str, trimmed(2, NAME_URI_MAX), NoNul, AfterValidator(_key_fits)]


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


PermissionSort = Literal[
    "idPermission", "-idPermission", "nameUri", "-nameUri", "description", "-description"
]


class PermissionFilters(BaseModel):
    """What `GET /permission` narrows and orders by (contract 10)."""

    search: SearchTerm = None
    sort: PermissionSort = "idPermission"
