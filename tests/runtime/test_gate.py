"""The gate in front of every library override: it fails here, in CI, as soon as an installed
library is not what an override was checked against, and it turns overrides off, each with one
warning, when they do not match or when SEAM_LIBRARY_OVERRIDES is off."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from seam_api.runtime import gate


@pytest.mark.parametrize("override", gate.OVERRIDES, ids=lambda override: override.name)
def test_each_override_matches_the_installed_libraries(override: gate.Override) -> None:
    # A failure here means: read the new library code named, check the override still fits,
    # then update the version and digest in runtime/gate.py.
    assert gate.mismatches(override) == []


def test_every_override_is_on_by_default_and_none_when_turned_off() -> None:
    assert gate.decide(True) == {override.name for override in gate.OVERRIDES}
    assert gate.decide(False) == frozenset()


def test_a_changed_library_function_turns_its_override_off_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    moved = [
        dataclasses.replace(override, leans_on={**override.leans_on, target: "0" * 64})
        if override.name == "lean_websocket"
        else override
        for override in gate.OVERRIDES
        for target in list(override.leans_on)[:1]
    ]
    monkeypatch.setattr(gate, "OVERRIDES", tuple(moved))
    gate._checked.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=gate.__name__):
            active = gate.decide(True)
            gate.decide(True)  # decided once per process: no second warning
    finally:
        gate._checked.cache_clear()
    assert "lean_websocket" not in active
    assert "socket_server" in active
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "library override lean_websocket is off" in warnings[0]
    assert "fallback: uvicorn's own websockets-sansio protocol" in warnings[0]


def test_another_library_version_turns_its_overrides_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gate, "version", lambda name: "0.0.1" if name == "uvicorn" else "x")
    override = next(o for o in gate.OVERRIDES if o.name == "bounded_http")
    assert gate.mismatches(override) == ["uvicorn 0.0.1 (checked: 0.54.0)"]


def test_a_missing_function_counts_as_changed() -> None:
    assert gate.source_digest("uvicorn.protocols.http.httptools_impl:Nothing.here") is None
