"""Print how many corpus messages per second the bounce reader reads.

Run from the project root: python bench/bench_bounces.py [folder]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alerts.bounces import read_bounce  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared/corpus/bounces"


def main() -> int:
    """Read every message of the corpus a few times and print the rate."""
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    files = sorted(root.glob("**/*.eml"))
    if not files:
        print(f"no .eml files under {root}")
        return 1
    messages = [path.read_bytes() for path in files]
    rounds = 3
    started = time.perf_counter()
    for _ in range(rounds):
        for data in messages:
            read_bounce(data)
    elapsed = time.perf_counter() - started
    count = rounds * len(messages)
    size = sum(len(m) for m in messages) * rounds / 1e6
    print(
        f"{count} messages ({size:.1f} MB) in {elapsed:.2f} s: "
        f"{count / elapsed:.0f} messages/s on one core"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
