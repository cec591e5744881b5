"""HTTP load with `wrk` (installed from Debian when missing), percentiles from its Lua hook."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
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

    @property
    def rate(self) -> float:
        return (self.requests - self.errors) / self.seconds


def ensure_wrk() -> str:
    """The path of `wrk`, installing the Debian package first when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing it with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is still missing after apt-get install")
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
    errors = sum(int(values[key]) for key in ("connect", "read", "write", "status", "timeout"))
    return WrkResult(
        requests=int(values["requests"]),
        seconds=int(values["duration_us"]) / 1e6,
        p50_ms=float(values["p50_us"]) / 1000,
        p99_ms=float(values["p99_us"]) / 1000,
        max_ms=float(values["max_us"]) / 1000,
        errors=errors,
    )
