"""Input types shared by the schemas: bounded text without NUL bytes, database-sized ids.

NUL bytes are refused here because PostgreSQL cannot store them: letting one through would
turn bad input into a server error.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

MAX_ID = 2_147_483_647


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _lower(value: str) -> str:
    return value.lower()


def trimmed(min_length: int, max_length: int) -> StringConstraints:
    """Strip surrounding blanks, then bound the length: `Annotated[str, trimmed(2, 100), NoNul]`."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


NoNul = AfterValidator(_no_nul)

Id = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]
Email = Annotated[EmailStr, StringConstraints(max_length=255), AfterValidator(_lower)]
Password = Annotated[str, StringConstraints(min_length=6, max_length=100), NoNul]
