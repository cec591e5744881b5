"""The bodies of the emailed-link routes (contract 9.6)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from seam_api.core.types import Email, NoNul, Password

# A token is 43 URL-safe characters; the bound only keeps junk short.
LinkToken = Annotated[str, StringConstraints(min_length=1, max_length=200), NoNul]


class ForgotForm(BaseModel):
    """`POST /auth/password/forgot`."""

    email: Email


class ResetForm(BaseModel):
    """`POST /auth/password/reset`: the token from the emailed link and the new password."""

    token: LinkToken
    password: Password


class PasswordOptions(BaseModel):
    """`GET /auth/password/options`: what the sign-in page may offer (public)."""

    model_config = ConfigDict(serialize_by_alias=True)

    reset_by_email: bool = Field(serialization_alias="resetByEmail")
