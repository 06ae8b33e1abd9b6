"""The table of figures: rows, printing, and bench/RESULTS.md."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


@dataclass
class Row:
    """One measured figure beside its peer.

    ``ratio`` is how many times better ours is: peer/ours for times,
    ours/peer for rates. ``passed`` is None when the row has no target.
    """

    measure: str
    unit: str
    ours: float | None
    peer_name: str = ""
    peer: float | None = None
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None
    note: str = ""


@dataclass
class Table:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        print(format_row(row), flush=True)
        return row


def median_ms(call: Callable[[], object], runs: int, warmup: int = 2) -> float:
    """Return the median wall time of a call in milliseconds."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def figure(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def verdict(row: Row) -> str:
    if row.passed is None:
        return ""
    return "pass" if row.passed else "MISS"


def format_row(row: Row) -> str:
    ratio = f"{row.ratio:.1f}x" if row.ratio is not None else "—"
    return (
        f"{row.measure:<52} {figure(row.ours):>9} {row.unit:<10} "
        f"{figure(row.peer):>9}  {ratio:>8}  {row.target:<22} {verdict(row)}"
    )


def machine() -> str:
    """Describe this machine: cores, memory, CPU, PostgreSQL and Redis."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    postgres = _output(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"]
    )
    redis = _output(["redis-server", "--version"]).split(" ")[2:3]
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.1f} GiB memory, "
        f"{platform.system()} {platform.release()}, Python "
        f"{platform.python_version()}, PostgreSQL {postgres or '?'}, "
        f"Redis {redis[0].removeprefix('v=') if redis else '?'}"
    )


def _output(command: list[str]) -> str:
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except OSError:
        return ""


HEADER = (
    "| measure | ours | unit | peer | peer figure | ratio | target | result | "
    "notes |\n|---|---:|---|---|---:|---:|---|---|---|"
)


def markdown(table: Table, elapsed: float, preamble: str, epilogue: str = "") -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Run on {datetime.date.today().isoformat()} by `make bench` "
        f"({elapsed / 60:.1f} minutes in all).",
        "",
        f"Machine: {machine()}.",
        "",
        preamble.strip(),
        "",
        HEADER,
    ]
    for row in table.rows:
        ratio = f"{row.ratio:.1f}x" if row.ratio is not None else "—"
        cells = [
            row.measure,
            figure(row.ours),
            row.unit,
            row.peer_name or "—",
            figure(row.peer),
            ratio,
            row.target or "—",
            verdict(row) or "—",
            row.note,
        ]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    if table.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {note}" for note in table.notes]
    if epilogue:
        lines += ["", epilogue.strip()]
    return "\n".join(lines) + "\n"


def write(table: Table, elapsed: float, preamble: str, epilogue: str = "") -> None:
    text = markdown(table, elapsed, preamble, epilogue)
    RESULTS.write_text(text, encoding="utf-8")
    print(f"wrote {RESULTS}")
