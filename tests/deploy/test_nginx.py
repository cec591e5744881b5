"""The nginx recipe in deploy/ in front of two instances (PostgreSQL and Redis), driven by the
official JavaScript client over websocket and long-polling.

nginx runs as the test user from a temporary prefix (its own pid file, logs and temp paths).
Without nginx, node or the client library the tests skip with the reason; under CI=true they
fail (.ci/run installs nginx).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    IN_CI,
    SHARED_REDIS,
    Databases,
    free_port,
    login,
)
from tests.scaleout.conftest import (
    Instance,
    fresh_shared_redis,
    instance_env,
    start_instances,
    stop_instances,
    unique,
)

pytestmark = SHARED_REDIS  # tests/conftest.py: one worker for the shared Redis

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "deploy" / "nginx.conf"
E2E = ROOT / "tests" / "e2e"
RECIPE_UPSTREAMS = "    server 10.0.0.11:3000;\n    server 10.0.0.12:3000;\n"
RECIPE_LISTEN = "    listen 80;\n"
# Distinct client addresses (all on the loopback interface): the balancer hashes on them.
CLIENTS = [f"127.0.0.{n}" for n in range(11, 31)]


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}; CI requires it")
    pytest.skip(reason)


def _nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)),
        None,
    )
    if found is None:
        _missing("nginx is not installed (apt-get install nginx)")
    assert found is not None
    return found


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        _missing("node is not installed")
    assert node is not None
    if not (E2E / "node_modules" / "socket.io-client").is_dir():
        _missing("socket.io-client is not installed: run `npm ci` in tests/e2e")
    return node


@dataclass
class Balancer:
    url: str
    process: subprocess.Popen[bytes]
    prefix: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def _configure(prefix: Path, upstreams: list[str], port: int) -> Path:
    """The recipe with this test's upstreams and port, inside a main config of its own."""
    recipe = RECIPE.read_text()
    assert RECIPE_UPSTREAMS in recipe and RECIPE_LISTEN in recipe, "the recipe changed shape"
    servers = "".join(f"    server {upstream};\n" for upstream in upstreams)
    site = recipe.replace(RECIPE_UPSTREAMS, servers).replace(
        RECIPE_LISTEN, f"    listen 127.0.0.1:{port};\n"
    )
    (prefix / "seam.conf").write_text(site)
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, nginx would hand its workers to `nobody`; keep them the test user.
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = prefix / "nginx.conf"
    main.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} info;\n"
        "events { worker_connections 512; }\n"
        f"http {{\n    access_log {prefix / 'access.log'};\n{temp}\n"
        f"    include {prefix / 'seam.conf'};\n}}\n"
    )
    return main


def start_balancer(prefix: Path, upstreams: list[str]) -> Balancer:
    nginx = _nginx_binary()
    port = free_port()
    main = _configure(prefix, upstreams, port)
    command = [nginx, "-p", str(prefix), "-c", str(main), "-e", str(prefix / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    balancer = Balancer(url=f"http://127.0.0.1:{port}", process=process, prefix=prefix)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{balancer.url}/healthz", timeout=1).status_code == 200:
                return balancer
        except httpx.HTTPError:
            time.sleep(0.1)
    balancer.stop()
    raise RuntimeError(f"nginx did not answer:\n{(prefix / 'error.log').read_text()}")


@dataclass
class Deployment:
    balancer: Balancer
    instances: list[Instance]
    token: str


@pytest.fixture(scope="module")
async def deployment(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deployment]:
    _nginx_binary()
    redis_url = await fresh_shared_redis()
    env = {
        **instance_env(await databases.create("postgresql"), redis_url),
        "SEAM_TRUSTED_PROXIES": "127.0.0.1",
        "SEAM_LOG_FORMAT": "json",
    }
    tmp = tmp_path_factory.mktemp("deploy")
    instances = await start_instances(tmp, env, 2)
    prefix = tmp / "nginx"
    prefix.mkdir()
    try:
        upstreams = [instance.url.removeprefix("http://") for instance in instances]
        balancer = await asyncio.to_thread(start_balancer, prefix, upstreams)
    except BaseException:
        await stop_instances(instances)
        raise
    try:
        async with httpx.AsyncClient(base_url=balancer.url, timeout=30) as http:
            token = await login(http, ADMIN_EMAIL, ADMIN_PASSWORD)
        yield Deployment(balancer, instances, token)
    finally:
        balancer.stop()
        await stop_instances(instances)


@pytest.fixture
def node() -> Iterator[str]:
    yield _node()


def client_from(address: str, base_url: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30)


async def test_the_client_guide_runs_through_the_balancer(
    deployment: Deployment, node: str
) -> None:
    """Tab A upgrades from polling to websocket, tab B stays on polling: each polling request
    of a session must reach its instance, which the sticky hash ensures."""
    finished = await asyncio.to_thread(
        subprocess.run,
        [node, str(E2E / "client_guide.mjs"), deployment.balancer.url, ADMIN_EMAIL, ADMIN_PASSWORD],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert finished.returncode == 0, finished.stderr
    report = json.loads(finished.stdout)
    assert [report["tabs"][tab]["transport"] for tab in ("A", "B")] == ["websocket", "polling"]
    assert [call["status"] for call in report["calls"]] == [200, 200]
    assert [e["operation"] for e in report["tabs"]["B"]["refreshed"]] == ["user:edit"]


async def test_changes_made_on_either_instance_reach_websocket_and_polling_sockets(
    deployment: Deployment, node: str
) -> None:
    listener = await asyncio.create_subprocess_exec(
        node,
        str(E2E / "listen_changes.mjs"),
        deployment.balancer.url,
        deployment.token,
        str(len(CLIENTS)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert listener.stdout is not None
    ready = await asyncio.wait_for(listener.stdout.readline(), 30)
    assert json.loads(ready) == {"ready": True}
    names = []
    headers = {"Authorization": f"Bearer {deployment.token}"}
    for address in CLIENTS:  # each address hashes to one instance; together they reach both
        async with client_from(address, deployment.balancer.url) as http:
            name = unique("via-nginx")
            response = await http.post("/api/v1/roles", headers=headers, json={"roleName": name})
            assert response.status_code == 201, response.text
            names.append(name)
    output, errors = await asyncio.wait_for(listener.communicate(), 60)
    report = json.loads(output.decode().strip().splitlines()[-1])
    transports = [tab["transport"] for tab in report["tabs"]]
    assert transports == ["websocket", "polling"], errors.decode()
    for tab in report["tabs"]:
        assert tab["errors"] == []
        assert sorted(tab["roles"]) == sorted(names), tab["transport"]


def _access_lines(instance: Instance) -> list[dict[str, object]]:
    lines = instance.server.log.read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    return [entry for entry in entries if entry.get("logger") == "seam_api.access"]


async def test_both_instances_serve_and_see_the_client_address(deployment: Deployment) -> None:
    marker = unique("probe")
    for address in CLIENTS:
        async with client_from(address, deployment.balancer.url) as http:
            assert (await http.get(f"/healthz?{marker}")).status_code == 200
    await asyncio.sleep(0.2)  # the access line is written after the answer
    served = [
        {entry["client"] for entry in _access_lines(instance) if entry["path"] == "/healthz"}
        for instance in deployment.instances
    ]
    assert all(served), "one instance got no request: the balancer did not spread them"
    assert set.union(*served) >= set(CLIENTS)  # X-Forwarded-For, believed from nginx
    assert not set.intersection(*served) & set(CLIENTS)  # each client sticks to one instance
