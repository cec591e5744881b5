"""Optional (`--profile DIR`): py-spy attached to a server during a phase, summarised."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


def _py_spy() -> str:
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise RuntimeError("py-spy not found (pip install py-spy)")
    return found


class Recording:
    """`py-spy record` on a pid from `start()` until `stop()`, as collapsed stacks."""

    def __init__(self, pid: int, output: Path) -> None:
        self.output = output
        self._process = subprocess.Popen(
            [
                _py_spy(),
                "record",
                "--pid",
                str(pid),
                "--format",
                "raw",
                "--nolineno",
                "--nonblocking",
                "--rate",
                "200",
                "--output",
                str(output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(5)


@dataclass(frozen=True)
class Hot:
    function: str
    self_pct: float
    total_pct: float


def _short(frame: str) -> str:
    """`name (path/to/site-packages/pkg/mod.py)` -> `name (pkg/mod.py)`."""
    for cut in ("site-packages/", "/src/", "lib/python3."):
        if cut in frame:
            head, _, tail = frame.partition("(")
            path = tail.rstrip(")")
            path = path.split(cut, 1)[1]
            if cut == "lib/python3.":
                path = "stdlib/" + path.split("/", 1)[-1]
            return f"{head}({path})"
    return frame


def hottest(raw: Path, top: int = 10) -> tuple[int, list[Hot]]:
    """Top functions by own (leaf) samples, with their inclusive share; all samples count."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";") if "(" in frame]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    rows = [
        Hot(function=name, self_pct=100 * n / samples, total_pct=100 * inclusive[name] / samples)
        for name, n in own.most_common(top)
    ]
    return samples, rows


def markdown(title: str, raw: Path, top: int = 10) -> str:
    if not raw.exists():
        return f"### {title}\n\n(no profile written)\n"
    samples, rows = hottest(raw, top)
    lines = [
        f"### {title} ({samples} samples of busy threads; file {raw})",
        "",
        "| # | function (file) | self % | inclusive % |",
        "|---|---|---:|---:|",
    ]
    lines += [
        f"| {i} | `{row.function}`{_gloss(row.function)} | {row.self_pct:.1f} "
        f"| {row.total_pct:.1f} |"
        for i, row in enumerate(rows, 1)
    ]
    return "\n".join(lines) + "\n"


def _gloss(function: str) -> str:
    """The loop's own frame as a leaf means time in C code under it (I/O, callbacks)."""
    if function.startswith(("Runner.run ", "run ", "run_until_complete ")):
        return " — as leaf: C code under the loop (I/O, callbacks)"
    return ""
