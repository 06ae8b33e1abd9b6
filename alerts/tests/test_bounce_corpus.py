"""Acceptance test of the bounce reader on the real corpus.

Reads ../shared/corpus/bounces (417 real bounces with Sisimai's reference
answers) and prints the figures and every disagreement. The reference is one
mature parser's answers, not ground truth: known disagreements where we judge
the reference wrong are listed in REFERENCE_DISPUTED with the reason.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

import pytest

from alerts.bounces import BounceReport, read_bounce_file
from alerts.bounces.sisimai_map import agrees

CORPUS = Path(__file__).resolve().parents[2].parent / "shared/corpus/bounces"

pytestmark = pytest.mark.skipif(
    not (CORPUS / "expected.csv").exists(),
    reason=f"bounce corpus not found at {CORPUS} (../shared/corpus/bounces)",
)

# Messages in not-bounces/ that we read as bounces on purpose.
REFERENCE_DISPUTED = {
    # From postmaster, Return-Path <>, "Your message was rejected ... reject
    # reason: Mailbox full, target mail address: ...": a bounce by any reading.
    "rb-issue-368-bug.eml",
}


def _invented(status: str) -> bool:
    """Tell Sisimai's invented codes (X.0.9xx, X.9.x) for code-less bounces."""
    return not status or bool(re.match(r"^\d\.0\.9\d\d$|^\d\.9\.", status))


def _expected() -> dict[str, list[dict[str, str]]]:
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    with open(CORPUS / "expected.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            rows[row["file"]].append(row)
    for items in rows.values():
        items.sort(key=lambda r: int(r["recipient_index"]))
    return rows


@pytest.fixture(scope="module")
def reports() -> dict[str, BounceReport]:
    return {
        p.name: read_bounce_file(p) for p in sorted((CORPUS / "messages").iterdir())
    }


def test_every_message_parses_without_error(reports: dict[str, BounceReport]) -> None:
    errors = {name: r.error for name, r in reports.items() if r.error}

    assert len(reports) >= 400
    assert errors == {}


def test_non_bounces_are_recognised() -> None:
    wrong = []
    for path in sorted((CORPUS / "not-bounces").iterdir()):
        report = read_bounce_file(path)
        if report.is_bounce and path.name not in REFERENCE_DISPUTED:
            wrong.append(path.name)
    print(f"not-bounces read as bounces (outside the disputed list): {wrong}")

    assert wrong == []


def test_status_reason_and_recipients_agree(reports: dict[str, BounceReport]) -> None:
    status_ok = status_n = reason_ok = reason_n = count_ok = 0
    disagreements = []
    expected = _expected()
    for name, rows in expected.items():
        report = reports[name]
        if len(report.recipients) == len(rows):
            count_ok += 1
        else:
            got = [r.recipient for r in report.recipients]
            disagreements.append(f"{name}: {len(got)} recipients vs {len(rows)} {got}")
        for index, row in enumerate(rows):
            got = report.recipients[index] if index < len(report.recipients) else None
            if not _invented(row["status"]):
                status_n += 1
                if got is not None and got.status == row["status"]:
                    status_ok += 1
                else:
                    disagreements.append(
                        f"{name}#{index + 1}: status {got and got.status} "
                        f"vs {row['status']}"
                    )
            reason_n += 1
            if got is not None and agrees(row["reason"], got.reason):
                reason_ok += 1
            else:
                disagreements.append(
                    f"{name}#{index + 1}: reason {got and got.reason} vs "
                    f"{row['reason']} ({got and got.diagnostic[:100]!r})"
                )
    print(f"\nstatus agrees on {status_ok}/{status_n} = {status_ok / status_n:.1%}")
    print(f"reason agrees on {reason_ok}/{reason_n} = {reason_ok / reason_n:.1%}")
    print(
        f"recipient count agrees on {count_ok}/{len(expected)} messages = "
        f"{count_ok / len(expected):.1%}"
    )
    print("\n".join(disagreements))

    assert status_ok / status_n >= 0.95
    assert reason_ok / reason_n >= 0.90
    assert count_ok / len(expected) >= 0.98
