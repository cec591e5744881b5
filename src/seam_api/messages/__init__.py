"""One message catalogue, in English and Spanish; the request's locale picks.

Keys are dotted names; operations use `<operation>.<step>` (`user:edit.start`). Values may hold
`str.format` fields.
"""

from __future__ import annotations

from seam_api.core.context import current
from seam_api.messages.en import MESSAGES as EN
from seam_api.messages.es import MESSAGES as ES

CATALOGUES: dict[str, dict[str, str]] = {"en": EN, "es": ES}
_fallback_locale = "en"


def set_default_locale(locale: str) -> None:
    """The locale used when a request names none (SEAM_LOCALE)."""
    global _fallback_locale
    _fallback_locale = locale


def default_locale() -> str:
    return _fallback_locale


def pick_locale(accept_language: str | None) -> str:
    """The first supported language of an `Accept-Language` header, else the default."""
    if accept_language:
        for part in accept_language.split(","):
            tag = part.split(";", 1)[0].strip().lower()[:2]
            if tag in CATALOGUES:
                return tag
    return _fallback_locale


def t(key: str, locale: str | None = None, /, **fields: object) -> str:
    """The message for `key` in `locale` (default: the running request's)."""
    if locale is None:
        context = current()
        locale = context.locale if context else _fallback_locale
    text = CATALOGUES[locale].get(key) or EN[key]
    return text.format(**fields) if fields else text
