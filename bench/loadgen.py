"""HTTP load with `wrk` (the Debian package; the bench installs nothing), percentiles from its
Lua hook."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# wrk calls `done` once at the end with its merged latency histogram (microseconds).
DONE_HOOK = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d p50_us=%.0f p99_us=%.0f max_us=%.0f "
    .. "connect=%d read=%d write=%d status=%d timeout=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

_RESULT = re.compile(r"WRK_RESULT (.*)")


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors plus non-2xx/3xx answers
    error_kinds: dict[str, int] = field(default_factory=dict)  # those of `errors` not 0

    @property
    def rate(self) -> float:
        return (self.requests - self.errors) / self.seconds


WRK_MISSING = "wrk is not installed (Debian: `apt-get install wrk`)"


def wrk_missing() -> str | None:
    """Why the wrk phases cannot run, or None when they can."""
    return None if shutil.which("wrk") else WRK_MISSING


def ensure_wrk() -> str:
    """The path of `wrk`; the bench does not install it (see `wrk_missing`)."""
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError(WRK_MISSING)
    return found


def get_script(workdir: Path, name: str) -> Path:
    path = workdir / f"{name}.lua"
    path.write_text(DONE_HOOK)
    return path


def post_json_script(workdir: Path, name: str, body: dict[str, object]) -> Path:
    payload = json.dumps(body)
    if "]]" in payload:
        raise ValueError("body cannot be embedded in a Lua long string")
    path = workdir / f"{name}.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [[{payload}]]\n"
        'wrk.headers["Content-Type"] = "application/json"\n' + DONE_HOOK
    )
    return path


def run_wrk(
    url: str,
    script: Path,
    *,
    connections: int,
    seconds: int,
    headers: dict[str, str] | None = None,
    threads: int = 1,
    timeout_s: int = 10,
) -> WrkResult:
    command = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(script),
    ]
    for key, value in (headers or {}).items():
        command += ["-H", f"{key}: {value}"]
    command.append(url)
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    match = _RESULT.search(done.stdout)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    values = dict(item.split("=", 1) for item in match.group(1).split())
    kinds = {key: int(values[key]) for key in ("connect", "read", "write", "status", "timeout")}
    return WrkResult(
        requests=int(values["requests"]),
        seconds=int(values["duration_us"]) / 1e6,
        p50_ms=float(values["p50_us"]) / 1000,
        p99_ms=float(values["p99_us"]) / 1000,
        max_ms=float(values["max_us"]) / 1000,
        errors=sum(kinds.values()),
        error_kinds={key: count for key, count in kinds.items() if count},
    )


# -- scripts for the routes phase: every request's body or path made by wrk's LuaJIT ------

# `@N@` in a body or path is replaced by a text unique to the request: wrk's process id (the
# warm-up's leftovers must not collide with the measured run's) and a counter.
_COUNTER = """
wrk.headers["Content-Type"] = "application/json"
local stat = io.open("/proc/self/stat")
local prefix = stat:read("*n") .. "-"
stat:close()
local n = 0
local function numbered(text)
  n = n + 1
  return (string.gsub(text, "@N@", prefix .. n))
end
"""


def _lua(value: str | None) -> str:
    """A Lua string literal (JSON's escapes of ASCII text are Lua's), or nil."""
    return "nil" if value is None else json.dumps(value, ensure_ascii=True)


def _write(workdir: Path, name: str, body: str) -> Path:
    path = workdir / f"{name}.lua"
    path.write_text(body + DONE_HOOK)
    return path


def numbered_script(workdir: Path, name: str, method: str, path: str, body: str) -> Path:
    """`method path` with `body`, whose `@N@` is new in every request."""
    return _write(
        workdir,
        name,
        _COUNTER + f"request = function()\n  return wrk.format({_lua(method)}, {_lua(path)}, nil, "
        f"numbered({_lua(body)}))\nend\n",
    )


def create_delete_script(
    workdir: Path, name: str, create: str, body: str, id_pattern: str, delete_prefix: str
) -> Path:
    """POST `create` with `body` (`@N@` numbered), and DELETE `delete_prefix<id>` of each
    created id (`id_pattern`, a Lua pattern with one capture, read from the answer): every
    entity made is deleted by the next request a connection sends, so the table stays small."""
    return _write(
        workdir,
        name,
        _COUNTER
        + f"""local ids = {{}}
request = function()
  local id = table.remove(ids)
  if id then
    return wrk.format("DELETE", {_lua(delete_prefix)} .. id, nil, nil)
  end
  return wrk.format("POST", {_lua(create)}, nil, numbered({_lua(body)}))
end
response = function(status, headers, body)
  if status < 300 then
    local id = string.match(body, {_lua(id_pattern)})
    if id then table.insert(ids, id) end
  end
end
""",
    )


Request = tuple[str, str, str | None]  # method, path, body


def ring_script(workdir: Path, name: str, on: list[Request], off: list[Request]) -> Path:
    """Request i sends `on[i % R]` in even rounds of R requests and `off[i % R]` in odd ones:
    what round k makes, round k + 1 undoes. R is far above the connections, so the request
    that undoes an entry is sent long after the one that made it was answered."""
    if len(on) != len(off):
        raise ValueError("one `off` per `on`")

    def table(requests: list[Request]) -> str:
        rows = ", ".join(f"{{{_lua(m)}, {_lua(p)}, {_lua(b)}}}" for m, p, b in requests)
        return "{" + rows + "}"

    return _write(
        workdir,
        name,
        f"""wrk.headers["Content-Type"] = "application/json"
local on, off = {table(on)}, {table(off)}
local size, i = #on, 0
request = function()
  local slot = i % size + 1
  local list = (math.floor(i / size) % 2 == 0) and on or off
  i = i + 1
  local r = list[slot]
  return wrk.format(r[1], r[2], nil, r[3])
end
""",
    )


def login_logout_script(
    workdir: Path, name: str, login: str, body: str, token_pattern: str, logout: str
) -> Path:
    """POST `login`, and POST `logout` with each token received (`token_pattern`, a Lua
    pattern with one capture) as the next request a connection sends."""
    return _write(
        workdir,
        name,
        f"""wrk.headers["Content-Type"] = "application/json"
local tokens = {{}}
request = function()
  local token = table.remove(tokens)
  if token then
    local headers = {{}}
    for key, value in pairs(wrk.headers) do headers[key] = value end
    headers["Authorization"] = "Bearer " .. token
    return wrk.format("POST", {_lua(logout)}, headers, nil)
  end
  return wrk.format("POST", {_lua(login)}, nil, {_lua(body)})
end
response = function(status, headers, body)
  local token = status < 300 and string.match(body, {_lua(token_pattern)})
  if token then table.insert(tokens, token) end
end
""",
    )
