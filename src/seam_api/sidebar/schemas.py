"""The contract's sidebar item shape, its bodies, and the assignment answer."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from seam_api.core.types import NoNul, needs_one_of, trimmed

ItemName = Annotated[str, trimmed(1, 100), NoNul]
Icon = Annotated[str, trimmed(0, 50), NoNul]
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")
# Browsers drop these anywhere in a URL before reading its scheme: `java\tscript:` runs.
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f]")


def _safe_route(value: str) -> str:
    """A menu route is a path or an http(s) address: a front end renders it as a link, and a
    `javascript:` or `data:` one would run in the admin's page."""
    scheme = _SCHEME.match(_IGNORED_IN_URLS.sub("", value).lower())
    if scheme and scheme.group(1) not in ("http", "https"):
        raise PydanticCustomError("route_scheme", "Route must be a path or an http(s) address")
    return value


ItemRoute = Annotated[str, trimmed(0, 100), NoNul, AfterValidator(_safe_route)]


class SidebarItemOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    id_item: int = Field(serialization_alias="idItem")
    name_item: str = Field(serialization_alias="nameItem")
    icon_item: str | None = Field(serialization_alias="iconItem")
    route: str | None


class SidebarItemCreate(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name_item: ItemName = Field(alias="nameItem")
    icon_item: Icon | None = Field(None, alias="iconItem")
    route: ItemRoute | None = None


class SidebarItemUpdate(BaseModel):
    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra=needs_one_of(
            "nameItem",
            "iconItem",
            "route",
            nullable=("iconItem", "route"),
            never_null=("nameItem",),
        ),
    )

    name_item: ItemName | None = Field(None, alias="nameItem")
    icon_item: Icon | None = Field(None, alias="iconItem")
    route: ItemRoute | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> SidebarItemUpdate:
        if not self.model_fields_set:
            raise PydanticCustomError(
                "fields_missing",
                "give at least one of {fields}",
                {"fields": "nameItem, iconItem, route"},
            )
        if "name_item" in self.model_fields_set and self.name_item is None:
            raise PydanticCustomError(
                "null_not_allowed", "{field} cannot be null", {"field": "nameItem"}
            )
        return self


class SidebarAssignmentOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    id_role: int = Field(serialization_alias="idRole")
    id_item: int = Field(serialization_alias="idItem")
    role_name: str = Field(serialization_alias="roleName")
    name_item: str = Field(serialization_alias="nameItem")


class RoleRef(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    id_role: int = Field(serialization_alias="idRole")
    role_name: str = Field(serialization_alias="roleName")


class SidebarItemWithRoles(SidebarItemOut):
    """`GET /sidebar/all`: an item and every role that sees it."""

    roles: list[RoleRef]
