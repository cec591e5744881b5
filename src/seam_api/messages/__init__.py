"""One message catalogue, in English and Spanish; the request's locale picks.

Keys are dotted names; operations use `<operation>.<step>` (`user:edit.start`). Values may hold
`str.format` fields.
"""

from __future__ import annotations

from collections.abc import Mapping

from seam_api.core.context import current
from seam_api.messages.en import MESSAGES as EN
from seam_api.messages.es import MESSAGES as ES

CATALOGUES: dict[str, dict[str, str]] = {"en": EN, "es": ES}
_fallback_locale = "en"


def add(messages: Mapping[str, Mapping[str, str]]) -> None:
    """Add the messages of a resource kept outside this package (docs/extending.md), given for
    every locale with the same keys. A key already in the catalogue is refused: a resource
    must not change a built-in message by accident."""
    keys = {locale: set(texts) for locale, texts in messages.items()}
    if keys.keys() != CATALOGUES.keys() or any(k != keys["en"] for k in keys.values()):
        raise ValueError(f"give the same keys for each of the locales {sorted(CATALOGUES)}")
    if taken := keys["en"] & CATALOGUES["en"].keys():
        raise ValueError(f"messages defined already: {sorted(taken)}")
    for locale, texts in messages.items():
        CATALOGUES[locale].update(texts)


def set_default_locale(locale: str) -> None:
    """The locale used when a request names none (SEAM_LOCALE)."""
    global _fallback_locale
    _fallback_locale = locale


def default_locale() -> str:
    return _fallback_locale


def pick_locale(accept_language: str | None) -> str:
    """The supported language an `Accept-Language` header weighs highest, else the default.

    Reading of RFC 9110 §12.5.4: each range is cut to its primary subtag (`es-MX` -> `es`, as
    RFC 4647 lookup would); `q=0` marks it not acceptable; a missing or malformed weight (not a
    number from 0 to 1) counts as 1; equal weights keep header order; `*` and languages without
    a catalogue are skipped. Runs on every request and socket handshake, hence no regex.
    """
    best, best_quality = _fallback_locale, 0.0
    for part in (accept_language or "").split(","):
        language_range, _, weight = part.partition(";")
        locale = language_range.strip().partition("-")[0].lower()
        if locale in CATALOGUES:
            quality = _quality(weight)
            if quality > best_quality:
                best, best_quality = locale, quality
                if quality == 1.0:  # nothing later can outweigh it
                    break
    return best


def _quality(weight: str) -> float:
    """The q of a `q=0.5` weight; 1 when the weight is absent or malformed."""
    name, _, value = weight.partition("=")
    if name.strip().lower() != "q":
        return 1.0
    try:
        quality = float(value)
    except ValueError:
        return 1.0
    return quality if 0.0 <= quality <= 1.0 else 1.0


def t(key: str, locale: str | None = None, /, **fields: object) -> str:
    """The message for `key` in `locale` (default: the running request's)."""
    if locale is None:
        context = current()
        locale = context.locale if context else _fallback_locale
    text = CATALOGUES[locale].get(key) or EN[key]
    return text.format(**fields) if fields else text
