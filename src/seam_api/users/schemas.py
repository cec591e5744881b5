"""The contract's user shapes (section 2) and the bodies of the user routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from seam_api.core.types import (
    Email,
    Id,
    IntegralFloat,
    NoNul,
    Password,
    SearchTerm,
    needs_one_of,
    trimmed,
)

FullName = Annotated[str, trimmed(2, 100), NoNul]


class UserOut(BaseModel):
    """A user as every response and event shows it; the password hash is not a field."""

    model_config = ConfigDict(serialize_by_alias=True)

    id_user: int = Field(serialization_alias="idUser")
    full_name: str
    email: str
    role_id: int = Field(serialization_alias="roleId")
    role_name: str = Field(serialization_alias="roleName")
    role_description: str | None = Field(serialization_alias="roleDescription")
    is_active: int = Field(serialization_alias="isActive")


class UserUpdate(BaseModel):
    """`PUT /users/:id`: any of the four fields; a password or role change ends old sessions."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra=needs_one_of("full_name", "email", "roleId", "password"),
    )

    full_name: FullName | None = None
    email: Email | None = None
    role_id: Id | None = Field(None, alias="roleId")
    password: Password | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UserUpdate:
        if not self.model_fields_set or all(
            getattr(self, name) is None for name in self.model_fields_set
        ):
            raise PydanticCustomError(
                "fields_missing",
                "give at least one of {fields}",
                {"fields": "full_name, email, roleId, password"},
            )
        return self


class UserStateUpdate(BaseModel):
    """`PUT /users/:id/state`."""

    model_config = ConfigDict(populate_by_name=True)

    is_active: Annotated[int, Field(ge=0, le=1, strict=True), IntegralFloat] = Field(
        alias="isActive"
    )


class TemporaryPassword(BaseModel):
    """The answer of a password reset: shown to the admin once, never sent as an event."""

    model_config = ConfigDict(serialize_by_alias=True)

    temporary_password: str = Field(serialization_alias="temporaryPassword")


UserSort = Literal[
    "idUser", "-idUser", "full_name", "-full_name", "email", "-email", "roleName", "-roleName"
]


class UserFilters(BaseModel):
    """What `GET /users` narrows and orders by (contract 10); all off, it is the plain list."""

    search: SearchTerm = None
    role_id: int | None = None
    is_active: int | None = None
    sort: UserSort = "idUser"

    @property
    def plain(self) -> bool:
        """The list as it was before filters: the one the read cache keeps."""
        return self == UserFilters()


MAX_IMPORT_ROWS = 1000


class ImportRow(BaseModel):
    """One row of an import, validated like a registration (no password: one is made)."""

    model_config = ConfigDict(populate_by_name=True)  # other columns (an export's) are ignored

    full_name: FullName
    email: Email
    role_id: Id | None = Field(None, alias="roleId")


class UserImport(BaseModel):
    """`POST /users/import`: rows as a CSV gives them, each checked on its own so that a
    preview (`dryRun`) can name every bad row at once."""

    model_config = ConfigDict(populate_by_name=True)

    rows: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_IMPORT_ROWS,
        # Each row is checked on its own (not here), but its schema says what a good row is.
        json_schema_extra={"items": ImportRow.model_json_schema(by_alias=True)},
    )
    dry_run: bool = Field(False, alias="dryRun")
    # Invitations instead of temporary passwords (needs mail): no password to hash, so a large
    # import takes seconds, and nobody has to pass passwords on.
    invite: bool = False


class RowProblem(BaseModel):
    """What is wrong with one row: its number (from 1), the field and the message."""

    model_config = ConfigDict(serialize_by_alias=True)

    row: int
    field: str
    message: str


class ImportedUser(UserOut):
    """A created account and its temporary password, shown this once (null when invited)."""

    temporary_password: str | None = Field(serialization_alias="temporaryPassword")


class ImportResult(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    dry_run: bool = Field(serialization_alias="dryRun")
    total: int
    errors: list[RowProblem]
    created: list[ImportedUser]
