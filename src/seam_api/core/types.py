"""Input types shared by the schemas: bounded text without NUL bytes, database-sized ids.

Each type's JSON schema says exactly what its validation accepts, so a client generated from
/openapi.json (or a fuzzer) never sends a "valid" value that gets a 400:

- NUL bytes are refused because PostgreSQL cannot store them (a 500 otherwise); the schema
  carries a pattern that excludes them.
- Trimmed text is bounded before trimming (maxLength counts what is sent) and must keep its
  minimum length after trimming, which the pattern states: blanks alone are not a name.
- An integer may come as `1.0`: JSON Schema calls that an integer, so it is accepted; `"1"`
  and `true` are not integers and are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import (
    AfterValidator,
    BeforeValidator,
    EmailStr,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

MAX_ID = 2_147_483_647
# The longest address email-validator accepts (RFC 5321's path limit less the brackets).
MAX_EMAIL_LENGTH = 254

_NOT_NUL = r"[^\x00]"
_NOT_BLANK = r"[^\s\x00]"
NO_NUL_PATTERN = rf"^{_NOT_NUL}*$"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("string_nul", "must not contain NUL characters")
    return value


class _NoNul:
    """Refuse NUL characters, and say so in the JSON schema."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(_no_nul, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("pattern", NO_NUL_PATTERN)
        return json_schema


NoNul = _NoNul()


@dataclass(frozen=True, slots=True)
class trimmed:
    """Blanks around the text are dropped: `Annotated[str, trimmed(2, 100), NoNul]`.

    At most `max_length` characters are accepted as sent, and at least `min_length` must
    remain once trimmed.
    """

    min_length: int
    max_length: int

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            self._trim, core_schema.str_schema(max_length=self.max_length)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.pattern
        if self.min_length:
            json_schema["minLength"] = self.min_length
        return json_schema

    @property
    def pattern(self) -> str:
        """No NUL anywhere, and `min_length` characters from the first non-blank to the last."""
        if self.min_length == 0:
            return NO_NUL_PATTERN
        if self.min_length == 1:
            return rf"^{_NOT_NUL}*{_NOT_BLANK}{_NOT_NUL}*$"
        middle = rf"{_NOT_NUL}{{{self.min_length - 2},}}"
        return rf"^{_NOT_NUL}*{_NOT_BLANK}{middle}{_NOT_BLANK}{_NOT_NUL}*$"

    def _trim(self, value: str) -> str:
        value = _no_nul(value).strip()
        if len(value) < self.min_length:
            raise PydanticCustomError(
                "string_too_short",
                "String should have at least {min_length} characters",
                {"min_length": self.min_length},
            )
        return value


def _integral_float(value: Any) -> Any:
    """`1.0` is the integer 1 (JSON Schema agrees); `1.5` is left for the int check to refuse."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def needs_one_of(
    *names: str, nullable: tuple[str, ...] = (), never_null: tuple[str, ...] = ()
) -> Callable[[dict[str, Any]], None]:
    """The JSON schema of a body that must carry at least one of `names` with a value (a
    null counts only for the `nullable` ones); `never_null` fields refuse null outright.

    For `model_config = ConfigDict(json_schema_extra=needs_one_of(...))`: pydantic writes a
    field's schema from its type, and the rule "at least one" lives in a model validator."""

    def extra(schema: dict[str, Any]) -> None:
        properties = schema["properties"]
        for name in never_null:
            properties[name] = _without_null(properties[name])
        schema["anyOf"] = [
            {"required": [name]}
            if name in nullable
            else {"required": [name], "properties": {name: _without_null(properties[name])}}
            for name in names
        ]

    return extra


def _without_null(field_schema: dict[str, Any]) -> dict[str, Any]:
    branches = [branch for branch in field_schema.get("anyOf", ()) if branch.get("type") != "null"]
    return dict(branches[0]) if len(branches) == 1 else field_schema


def _lower(value: str) -> str:
    return value.lower()


def _any_case(word: str) -> str:
    """`test` -> `[tT][eE][sS][tT]`: JSON Schema patterns have no case-insensitive flag."""
    return "".join(f"[{letter}{letter.upper()}]" for letter in word)


# email-validator refuses the special-use domains (`.test`, `.localhost`, ...) that the
# `email` format allows: the schema says so, with a pattern they must not match.
_SPECIAL_USE_DOMAIN = "[@.](" + "|".join(map(_any_case, SPECIAL_USE_DOMAIN_NAMES)) + r")\.?$"


IntegralFloat = BeforeValidator(_integral_float)

Id = Annotated[int, Field(ge=1, le=MAX_ID, strict=True), IntegralFloat]
Email = Annotated[
    EmailStr,
    StringConstraints(max_length=MAX_EMAIL_LENGTH),
    Field(json_schema_extra={"not": {"pattern": _SPECIAL_USE_DOMAIN}}),
    AfterValidator(_lower),
]
Password = Annotated[str, StringConstraints(min_length=6, max_length=100), NoNul]


def _blank_is_none(value: str | None) -> str | None:
    """A search of blanks alone searches for nothing: the unfiltered list."""
    return (value.strip() or None) if value is not None else None


SearchTerm = Annotated[str | None, AfterValidator(_blank_is_none)]
