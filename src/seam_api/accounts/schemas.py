"""The bodies and answers of your own account's routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from seam_api.core.types import NoNul, Password, needs_one_of
from seam_api.sidebar.schemas import SidebarItemOut
from seam_api.users.schemas import FullName, UserOut

# A TOTP code (6 digits) or a recovery code (`a1b2c-3d4e5`); checked by the service.
Code = Annotated[str, StringConstraints(min_length=1, max_length=32), NoNul]
# Only presence and size, as at login: a wrong current password must not learn which rule.
CurrentPassword = Annotated[str, StringConstraints(min_length=1, max_length=1024), NoNul]


class MeOut(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    user: UserOut
    permissions: list[str]
    sidebar_items: list[SidebarItemOut] = Field(serialization_alias="sidebarItems")
    mfa_enabled: bool = Field(serialization_alias="mfaEnabled")
    must_change_password: bool = Field(serialization_alias="mustChangePassword")
    # Beyond the contract's five: whether this token still waits for an enrolment.
    mfa_enrolment_required: bool = Field(serialization_alias="mfaEnrolmentRequired")


class ProfileUpdate(BaseModel):
    full_name: FullName


class PasswordChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    current_password: CurrentPassword = Field(alias="currentPassword")
    new_password: Password = Field(alias="newPassword")


class CodeForm(BaseModel):
    code: Code


class MfaDisableForm(BaseModel):
    """Either a current code (TOTP or recovery) or the account's password."""

    model_config = ConfigDict(json_schema_extra=needs_one_of("code", "password"))

    code: Code | None = None
    password: CurrentPassword | None = None

    @model_validator(mode="after")
    def _one_proof(self) -> MfaDisableForm:
        if self.code is None and self.password is None:
            raise PydanticCustomError(
                "fields_missing", "give at least one of {fields}", {"fields": "code, password"}
            )
        return self


class TotpEnrolment(BaseModel):
    """Shown once, to the account being enrolled; `qrSvg` draws `otpauthUri`."""

    model_config = ConfigDict(serialize_by_alias=True)

    secret: str
    otpauth_uri: str = Field(serialization_alias="otpauthUri")
    qr_svg: str = Field(serialization_alias="qrSvg")


class MfaStatus(BaseModel):
    """Whether a user has a second factor, for administrators: the user object's fields are
    fixed by the contract (reference §2), so this is a route of its own."""

    model_config = ConfigDict(serialize_by_alias=True)

    mfa_enabled: bool = Field(serialization_alias="mfaEnabled")


class RecoveryCodes(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    recovery_codes: list[str] = Field(serialization_alias="recoveryCodes")
