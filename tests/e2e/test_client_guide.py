"""The seed's client guide, run by Node's `socket.io-client` against a real server.

`client_guide.mjs` does what the guide tells a front end to do (log in, two tabs, `apiFetch`
with X-Socket-ID, a loader fed by operation:progress, a refresh on data:changed unless the tab
started the change) and prints what each tab saw; these tests read that report.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, IN_CI, Server

E2E = Path(__file__).parent
SCRIPT = E2E / "client_guide.mjs"
LIFECYCLE = re.compile(r"start(,processing)*,success")

Report = dict[str, Any]


def _missing(reason: str) -> None:
    """Skip with the reason on a developer machine; fail under CI."""
    if IN_CI:
        pytest.fail(f"{reason}; CI requires it")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def report(server: Server) -> Report:
    node = shutil.which("node")
    if node is None:
        _missing("node is not installed")
    if not (E2E / "node_modules" / "socket.io-client").is_dir():
        _missing("socket.io-client is not installed: run `npm ci` in tests/e2e")
    finished = subprocess.run(
        [str(node), str(SCRIPT), server.url, ADMIN_EMAIL, ADMIN_PASSWORD],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return dict(json.loads(finished.stdout))


def _loader(report: Report, tab: str, operation: str) -> list[dict[str, Any]]:
    return [e for e in report["tabs"][tab]["loader"] if e["operation"] == operation]


def test_every_call_of_the_guide_succeeds(report: Report) -> None:
    assert [(c["method"], c["path"], c["status"]) for c in report["calls"]] == [
        ("GET", "/users", 200),
        ("PUT", report["calls"][1]["path"], 200),
    ]


@pytest.mark.parametrize("operation", ["user:fetchAll", "user:edit"])
def test_tab_a_loader_goes_start_processing_success(report: Report, operation: str) -> None:
    events = _loader(report, "A", operation)

    assert LIFECYCLE.fullmatch(",".join(e["status"] for e in events))
    assert (
        events[-1]["message"]
        == report["calls"][0 if operation == "user:fetchAll" else 1]["message"]
    )


def test_tab_a_loader_sees_only_its_two_calls_in_order(report: Report) -> None:
    operations = [e["operation"] for e in report["tabs"]["A"]["loader"]]

    assert operations == sorted(operations, key=["user:fetchAll", "user:edit"].index)


def test_tab_b_loader_sees_nothing_of_tab_a_calls(report: Report) -> None:
    assert report["tabs"]["B"]["loader"] == []


def test_tab_a_skips_its_own_data_changed(report: Report) -> None:
    tab = report["tabs"]["A"]

    assert [e["operation"] for e in tab["skipped"]] == ["user:edit"]
    assert tab["skipped"][0]["initiatorSocketId"] == tab["id"]
    assert tab["refreshed"] == []


def test_tab_b_refreshes_once_for_the_mutation(report: Report) -> None:
    tab = report["tabs"]["B"]

    assert [(e["operation"], e["hasData"]) for e in tab["refreshed"]] == [("user:edit", True)]
    assert tab["refreshed"][0]["initiatorSocketId"] == report["tabs"]["A"]["id"]
    assert tab["skipped"] == []


def test_tabs_use_websocket_and_polling(report: Report) -> None:
    assert [report["tabs"][t]["transport"] for t in ("A", "B")] == ["websocket", "polling"]
    assert report["tabs"]["A"]["connectErrors"] == report["tabs"]["B"]["connectErrors"] == []


def test_refused_handshakes_reach_connect_error_in_the_clients_language(report: Report) -> None:
    assert report["refusals"] == {
        "noToken": "Token required to connect",
        "badToken": "Invalid or expired token",
        "noTokenEs": "Token requerido para conectarse",
        "badTokenEs": "Token inválido o expirado",
    }
