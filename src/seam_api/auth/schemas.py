"""The bodies and answers of the auth routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints

from seam_api.core.types import Email, Id, NoNul, Password
from seam_api.sidebar.schemas import SidebarItemOut
from seam_api.users.schemas import FullName, UserOut


class RegisterForm(BaseModel):
    """Without `password` (callers holding the register permission only) the account cannot
    sign in until its invitation (`POST /users/:id/invite`) is used."""

    model_config = ConfigDict(populate_by_name=True)

    full_name: FullName
    email: Email
    password: Password | None = None
    role_id: Id | None = Field(None, alias="roleId")


class LoginForm(BaseModel):
    """Only presence and size are checked: a login must not say which rule a guess broke."""

    email: Annotated[str, StringConstraints(min_length=1, max_length=255), NoNul]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024), NoNul]


def _unset(flag: bool | None) -> bool:
    return not flag


class Capabilities(BaseModel):
    """What the caller may do beyond its permissions, from the server's delegation rules, so
    a client offers only what will work: the roles it may give and whose accounts it may
    change (`assignableRoleIds`), and whether that includes `admin` accounts."""

    model_config = ConfigDict(serialize_by_alias=True)

    assignable_role_ids: list[int] = Field(serialization_alias="assignableRoleIds")
    may_manage_admins: bool = Field(serialization_alias="mayManageAdmins")


class LoginResult(BaseModel):
    """A sign-in; with either flag set, `token` reaches only the routes that clear it."""

    model_config = ConfigDict(serialize_by_alias=True)

    token: str
    expires_in: int = Field(serialization_alias="expiresIn")
    user: UserOut
    sidebar_items: list[SidebarItemOut] = Field(serialization_alias="sidebarItems")
    permissions: list[str]
    refresh_token: str = Field(serialization_alias="refreshToken")
    capabilities: Capabilities
    # Present only when true: otherwise the answer is the usual one.
    must_change_password: bool | None = Field(
        None, serialization_alias="mustChangePassword", exclude_if=_unset
    )
    mfa_enrolment_required: bool | None = Field(
        None, serialization_alias="mfaEnrolmentRequired", exclude_if=_unset
    )


class MfaChallenge(BaseModel):
    """The right password of an account with a second factor: the code comes next."""

    model_config = ConfigDict(serialize_by_alias=True)

    mfa_required: bool = Field(True, serialization_alias="mfaRequired")
    mfa_token: str = Field(serialization_alias="mfaToken")
    expires_in: int = Field(serialization_alias="expiresIn")


class LoginAnswer(RootModel[LoginResult | MfaChallenge]):
    """What POST /auth/login answers, named for the schema (its clients read one class)."""


class MfaLoginForm(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    mfa_token: Annotated[str, StringConstraints(min_length=1, max_length=2048), NoNul] = Field(
        alias="mfaToken"
    )
    code: Annotated[str, StringConstraints(min_length=1, max_length=32), NoNul]
