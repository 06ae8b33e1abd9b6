"""Acceptance: the classifier against the real error corpus (issue 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alerts.classifier import Failure, classify

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
ERRORS = CORPUS / "errors.jsonl"
REQUIRED = 0.97


def _lines() -> list[dict[str, str]]:
    if not ERRORS.exists():
        pytest.skip(f"the shared corpus is absent ({ERRORS})")
    with ERRORS.open(encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def test_corpus_persistence_and_scope_agree_at_least_97_percent() -> None:
    lines = _lines()
    misses = []
    for line in lines:
        decision = classify(Failure(stage=line["stage"], text=line["text"]))
        got = (decision.persistence.value, decision.scope.value)
        if got != (line["persistence"], line["scope"]):
            misses.append(
                f"{line['id']}: expected {line['persistence']}/{line['scope']},"
                f" got {got[0]}/{got[1]} ({decision.reason})"
            )
    right = len(lines) - len(misses)
    print(f"\ncorpus: {right}/{len(lines)} = {right / len(lines):.1%} right")
    for miss in misses:
        print("  miss", miss)

    assert right / len(lines) >= REQUIRED, "\n".join(misses)


def test_corpus_level_follows_persistence() -> None:
    for line in _lines():
        decision = classify(Failure(stage=line["stage"], text=line["text"]))
        expected = "error" if decision.persistence.value == "permanent" else "warning"

        assert decision.level.value == expected, line["id"]
