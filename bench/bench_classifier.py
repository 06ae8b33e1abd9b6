"""Print how many failures per second the classifier decides on one core.

Run from the project root: python bench/bench_classifier.py [seconds]

The mix is the shared error corpus (when present) plus the classifier's own
cases: one example per wording rule and a set of bare codes and exceptions.
Three figures are printed:

- stream: a realistic stream where each failure recurs (retries every few
  minutes), so classify() answers repeats from its memory of recent decisions;
- first sight: every failure is new (memory cleared before each one);
- decide only: the reading and deciding without classify()'s memory at all.

Both of the last two keep the classifier's memos of decisions per set of facts
(and of code lookups and sentences): a new text mostly reads as facts seen
before. The "cold" rows clear those memos too before every failure, the worst
case; the per-stage rows split the cost of one new failure.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alerts.classifier import Failure, classify, clear_cache  # noqa: E402
from alerts.classifier.decide import decide, read_facts  # noqa: E402
from alerts.classifier.wording import RULES, match, words  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "errors.jsonl"
TARGET = 50_000

OWN_CASES = [
    Failure("smtp-send", "550 5.1.1 <a@example.com>: Recipient address rejected"),
    Failure("smtp-send", "452 4.2.2 Mailbox full"),
    Failure("smtp-send", "", reply_code=421),
    Failure("smtp-send", "", status="5.7.23"),
    Failure("smtp-auth", "(535, b'5.7.8 Username and Password not accepted.')"),
    Failure("imap-login", "a1 NO [AUTHENTICATIONFAILED] Authentication failed."),
    Failure("imap-fetch", "a2 NO [UNAVAILABLE] Internal error occurred."),
    Failure("pop3-login", "-ERR [IN-USE] Mailbox is locked"),
    Failure("pop3-login", "-ERR [AUTH] Authentication failed."),
    Failure("dns", "[Errno -2] Name or service not known", exception="gaierror"),
    Failure(
        "tcp", "[Errno 111] Connection refused", exception="ConnectionRefusedError"
    ),
    Failure("tls", "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
    Failure("ews", "The remote server returned an error: (401) Unauthorized."),
    Failure("other", "something nobody has ever seen"),
]


def failures() -> list[Failure]:
    """Return the benchmark mix."""
    mix = list(OWN_CASES)
    mix += [Failure("other", rule.example) for rule in RULES]
    if CORPUS.exists():
        with CORPUS.open(encoding="utf-8") as stream:
            for line in stream:
                record = json.loads(line)
                mix.append(Failure(record["stage"], record["text"]))
    return mix


def rate(
    step: Callable[[Failure], object], mix: list[Failure], seconds: float
) -> float:
    """Return decisions per CPU second of ``step`` over the mix."""
    done = 0
    started = time.process_time()
    while time.process_time() - started < seconds:
        for failure in mix:
            step(failure)
        done += len(mix)
    return done / (time.process_time() - started)


def first_sight(failure: Failure) -> object:
    clear_cache()
    return classify(failure)


def decide_only(failure: Failure) -> object:
    return decide(read_facts(failure)[0])


def first_sight_cold(failure: Failure) -> object:
    clear_cache(memos=True)
    return classify(failure)


def decide_only_cold(failure: Failure) -> object:
    clear_cache(memos=True)
    return decide(read_facts(failure)[0])


def stages(mix: list[Failure], seconds: float) -> None:
    """Print microseconds per failure of each stage of a first sight."""
    facts = {id(failure): read_facts(failure)[0] for failure in mix}
    lowered = {id(failure): read_facts(failure)[1] for failure in mix}
    tokens = {key: words(text) for key, text in lowered.items()}
    steps: dict[str, Callable[[Failure], object]] = {
        "read_facts (all)": read_facts,
        "  words": lambda failure: words(lowered[id(failure)]),
        "  wording match": lambda failure: match(
            lowered[id(failure)], tokens[id(failure)], facts[id(failure)].family
        ),
        "decide (memo warm)": lambda failure: decide(facts[id(failure)]),
        "decide (memo cold)": lambda failure: (
            clear_cache(memos=True),
            decide(facts[id(failure)]),
        ),
    }
    for name, step in steps.items():
        per_second = rate(step, mix, seconds / 2)
        print(f"  stage {name:<22} {1e6 / per_second:6.2f} us")


def main() -> int:
    """Measure and print the three rates."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    mix = failures()
    print(
        f"mix: {len(mix)} failures ({'with' if CORPUS.exists() else 'without'} corpus)"
    )
    stream = rate(classify, mix, seconds)
    print(f"stream (repeats remembered): {stream:,.0f} classifications/s on one core")
    print(f"first sight (all new):       {rate(first_sight, mix, seconds):,.0f}/s")
    print(f"decide only (no memory):     {rate(decide_only, mix, seconds):,.0f}/s")
    verdict = "meets" if stream >= TARGET else "misses"
    print(f"target {TARGET:,}/s: the stream {verdict} it")
    cold = rate(first_sight_cold, mix, seconds)
    print(f"first sight, memos cold:     {cold:,.0f}/s")
    cold = rate(decide_only_cold, mix, seconds)
    print(f"decide only, memos cold:     {cold:,.0f}/s")
    stages(mix, seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
