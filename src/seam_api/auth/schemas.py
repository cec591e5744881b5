"""The bodies and answers of the auth routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from seam_api.core.types import Email, Id, NoNul, Password
from seam_api.sidebar.schemas import SidebarItemOut
from seam_api.users.schemas import FullName, UserOut


class RegisterForm(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    full_name: FullName
    email: Email
    password: Password
    role_id: Id | None = Field(None, alias="roleId")


class LoginForm(BaseModel):
    """Only presence and size are checked: a login must not say which rule a guess broke."""

    email: Annotated[str, StringConstraints(min_length=1, max_length=255), NoNul]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024), NoNul]


class Capabilities(BaseModel):
    """What the caller may do beyond its permissions, from the server's delegation rules, so
    a client offers only what will work: the roles it may give and whose accounts it may
    change (`assignableRoleIds`), and whether that includes `admin` accounts."""

    model_config = ConfigDict(serialize_by_alias=True)

    assignable_role_ids: list[int] = Field(serialization_alias="assignableRoleIds")
    may_manage_admins: bool = Field(serialization_alias="mayManageAdmins")


class LoginResult(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    token: str
    expires_in: int = Field(serialization_alias="expiresIn")
    user: UserOut
    sidebar_items: list[SidebarItemOut] = Field(serialization_alias="sidebarItems")
    permissions: list[str]
    capabilities: Capabilities
