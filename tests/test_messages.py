"""The message catalogues and the choice of language from `Accept-Language` (RFC 9110 §12.5.4)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from seam_api.messages import CATALOGUES, add, default_locale, pick_locale, set_default_locale


def test_every_english_message_has_a_spanish_text() -> None:
    assert CATALOGUES["es"].keys() == CATALOGUES["en"].keys()


@pytest.mark.parametrize(
    "messages",
    [
        {"en": {"planet:create.start": "Creating..."}},
        {"en": {"planet:create.start": "Creating..."}, "es": {"planet:edit.start": "..."}},
        {"en": {"user:edit.start": "Editing..."}, "es": {"user:edit.start": "Editando..."}},
    ],
    ids=["a locale missing", "keys that differ", "a built-in key"],
)
def test_added_messages_must_cover_every_locale_and_change_no_built_in_one(
    messages: dict[str, dict[str, str]],
) -> None:
    before = {locale: dict(texts) for locale, texts in CATALOGUES.items()}
    with pytest.raises(ValueError):
        add(messages)
    assert before == CATALOGUES


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("es", "es"),
        ("es-ES,es;q=0.9", "es"),
        ("ES-mx", "es"),
        ("fr, es;q=0.5, en;q=0.4", "es"),
        (" en ;q=0.5 , es ; q=0.6", "es"),
    ],
)
def test_the_supported_language_is_picked_by_its_primary_subtag(header: str, locale: str) -> None:
    assert pick_locale(header) == locale


def test_the_highest_weight_wins_over_header_order() -> None:
    assert pick_locale("en;q=0.1, es;q=0.9") == "es"
    assert pick_locale("en;q=0.8, es") == "es"
    assert pick_locale("es;q=0.3, en;q=0.7") == "en"


def test_equal_weights_keep_header_order() -> None:
    assert pick_locale("es;q=0.5, en;q=0.5") == "es"
    assert pick_locale("en, es") == "en"


def test_a_weight_of_zero_means_not_acceptable() -> None:
    assert pick_locale("es;q=0, en;q=0.001") == "en"
    assert pick_locale("en;q=0.000, es;q=0.2") == "es"


def test_a_malformed_weight_counts_as_one() -> None:
    assert pick_locale("en;q=0.9, es;q=high") == "es"
    assert pick_locale("en;q=0.9, es;q=") == "es"
    assert pick_locale("en;q=0.9, es;q=1.5") == "es"
    assert pick_locale("en;q=0.9, es;q=nan") == "es"


@pytest.fixture
def spanish_by_default() -> Iterator[None]:
    """A default other than `en`, so falling back is told apart from picking English."""
    previous = default_locale()
    set_default_locale("es")
    yield
    set_default_locale(previous)


@pytest.mark.usefixtures("spanish_by_default")
@pytest.mark.parametrize(
    "header", [None, "", "fr, de;q=0.9", "*", "*;q=0.9", "en;q=0", "english", "enm", ",;="]
)
def test_without_an_acceptable_supported_language_the_default_is_used(
    header: str | None,
) -> None:
    assert pick_locale(header) == "es"
