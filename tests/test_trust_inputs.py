"""Bad input: the classifier and the bounce reader answer anything, raise
nothing and never fall back to their catch-all.

Both wrap their work in a last-resort ``except Exception`` so that an alert is
never lost to a bug. These tests go past that net: the classifier's inner
steps are called directly, and a bounce report must carry no ``error`` (the
mark the reader's net leaves). alerts/tests/test_bounce_reader.py already
feeds random bytes and noise spliced into one DSN; here the inputs are
structured mail and mutants of the real corpus.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.bounces import BounceReport, read_bounce
from alerts.classifier import (
    REASON_LABELS,
    Failure,
    Level,
    Persistence,
    Scope,
    Stage,
    classify,
    clear_cache,
)
from alerts.classifier.decide import decide, read_facts
from tests.trust_helpers import tally

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "bounces" / "messages"
STATUS_RE = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")
MUTANTS = 2000
SLOWEST_SECONDS = 2.0

tried: dict[str, int] = {}

# -- the classifier ----------------------------------------------------------------

FRAGMENTS = [
    "550 5.1.1 <user@example.com>: Recipient address rejected",
    "421 4.7.0 Try again later",
    "5.7.1",
    "4.4.7",
    "9.9.9",
    "999",
    "-ERR [AUTH] Authentication failed",
    "* BYE",
    "NO [AUTHENTICATIONFAILED]",
    "Connection refused",
    "[Errno 111]",
    "HTTP 503",
    "Diagnostic-Code: smtp; 552",
    "Status: 5.0.0",
    "over quota",
    "\x00",
    "\r\n.\r\n",
    "<script>alert(1)</script>",
    "é" * 50,
    "5" * 400,
]

texts = st.one_of(
    st.text(max_size=600),
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=20), max_size=12).map(
        " ".join
    ),
    st.text(max_size=60).map(lambda tail: "x" * 70_000 + tail),
)
stages = st.one_of(
    st.sampled_from([stage.value for stage in Stage]),
    st.text(max_size=30),
    st.sampled_from(["SMTP_SEND", " imap-login ", "smtp-", ""]),
)
codes = st.one_of(st.none(), st.integers(min_value=-(10**9), max_value=10**9))
statuses = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.from_regex(r"[0-9]{1,3}\.[0-9]{1,4}\.[0-9]{1,4}", fullmatch=True),
)
exceptions = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.sampled_from(
        [
            "socket.timeout",
            "TimeoutError",
            "ssl.SSLCertVerificationError",
            "smtplib.SMTPRecipientsRefused",
            "ConnectionResetError",
            "socket.gaierror",
            "imaplib.IMAP4.error",
            "builtins.",
            ".",
        ]
    ),
)


def _check(classification: object) -> None:
    assert classification.persistence in set(Persistence)  # type: ignore[attr-defined]
    assert classification.scope in set(Scope)  # type: ignore[attr-defined]
    assert classification.level in set(Level)  # type: ignore[attr-defined]
    assert classification.reason in REASON_LABELS  # type: ignore[attr-defined]
    assert isinstance(classification.explanation, str)  # type: ignore[attr-defined]
    assert classification.explanation  # type: ignore[attr-defined]
    assert isinstance(classification.action, str)  # type: ignore[attr-defined]
    status = classification.status  # type: ignore[attr-defined]
    assert status is None or STATUS_RE.fullmatch(status), status
    code = classification.reply_code  # type: ignore[attr-defined]
    assert code is None or 200 <= code <= 599, code


@settings(max_examples=1000, deadline=None)
@given(
    stage=stages, text=texts, reply_code=codes, status=statuses, exception=exceptions
)
def test_classifier_answers_any_failure_without_its_safety_net(
    stage: str,
    text: str,
    reply_code: int | None,
    status: str | None,
    exception: str | None,
) -> None:
    failure = Failure(
        stage=stage,
        text=text,
        reply_code=reply_code,
        status=status,
        exception=exception,
    )
    tried["classifier"] = tried.get("classifier", 0) + 1

    facts, _lowered = read_facts(failure)
    _check(decide(facts))
    _check(classify(failure))


@settings(max_examples=300, deadline=None)
@given(
    stage=st.one_of(st.none(), st.integers(), st.binary(max_size=10), stages),
    text=st.one_of(st.none(), st.integers(), st.binary(max_size=300), texts),
    reply_code=st.one_of(codes, st.text(max_size=5), st.booleans(), st.floats()),
    status=st.one_of(statuses, st.integers(), st.binary(max_size=10)),
    exception=st.one_of(exceptions, st.integers(), st.binary(max_size=10)),
)
def test_classifier_answers_values_of_the_wrong_type(
    stage: object, text: object, reply_code: object, status: object, exception: object
) -> None:
    # Outside the typed contract, yet the API and the bounce reader hand over
    # what they were given: still an answer, and without the safety net.
    failure = Failure(
        stage=stage,  # type: ignore[arg-type]
        text=text,  # type: ignore[arg-type]
        reply_code=reply_code,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        exception=exception,  # type: ignore[arg-type]
    )
    tried["classifier-wrong-types"] = tried.get("classifier-wrong-types", 0) + 1

    facts, _lowered = read_facts(failure)
    _check(decide(facts))
    _check(classify(failure))


def test_classifier_cache_gives_each_caller_its_own_answer() -> None:
    clear_cache()
    failure = Failure(stage="smtp-send", text="550 5.1.1 no such user", reply_code=550)

    first = classify(failure)
    first.facts["spoiled"] = True
    second = classify(failure)

    assert "spoiled" not in second.facts
    assert second.reason == first.reason


def test_report_classifier_inputs() -> None:
    tally(
        "classifier property tests",
        tried.get("classifier", 0) + tried.get("classifier-wrong-types", 0),
        "every input answered with valid values, no fallback taken",
    )


# -- the bounce reader ------------------------------------------------------------

header_names = st.sampled_from(
    [
        "From",
        "To",
        "Subject",
        "Content-Type",
        "Content-Transfer-Encoding",
        "MIME-Version",
        "Message-ID",
        "In-Reply-To",
        "References",
        "X-Failed-Recipients",
        "Auto-Submitted",
        "Return-Path",
    ]
)
header_values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            'multipart/report; report-type=delivery-status; boundary="b1"',
            "multipart/report; report-type=feedback-report; boundary=b1",
            "multipart/mixed; boundary=",
            'multipart/alternative; boundary="' + "b" * 300 + '"',
            "message/delivery-status",
            "text/plain; charset=x-unknown-8",
            "text/plain; charset=utf-7",
            "base64",
            "quoted-printable",
            "=?utf-8?b?////?=",
            "=?bogus?q?=ZZ?=",
            "auto-replied",
            "MAILER-DAEMON@example.com",
        ]
    ),
)
dsn_lines = st.sampled_from(
    [
        "Reporting-MTA: dns; mx.example.com",
        "Final-Recipient: rfc822; user@example.com",
        "Final-Recipient: rfc822;",
        "Original-Recipient: utf-8; =?utf-8?q?x?=",
        "Action: failed",
        "Action: delayed",
        "Action: ",
        "Status: 5.1.1",
        "Status: 9.99.999999999999",
        "Status: x",
        "Diagnostic-Code: smtp; 550 5.1.1 unknown user",
        "Diagnostic-Code: smtp;",
        "Diagnostic-Code: x-unix; " + "9" * 200,
        "Remote-MTA: dns; [127.0.0.1]",
        "Last-Attempt-Date: Thu, 31 Feb 2099 99:99:99 +9999",
        "Will-Retry-Until: never",
        "--b1",
        "--b1--",
        "Content-Type: message/delivery-status",
        "Content-Type: text/rfc822-headers",
        "Content-Type: message/rfc822",
        "Content-Type: message/global-delivery-status",
        "Content-Transfer-Encoding: base64",
        "",
        "   folded continuation",
        "\x00\x01\x02",
    ]
)
body_lines = st.one_of(dsn_lines, st.text(max_size=80))


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(st.tuples(header_names, header_values), max_size=10))
    lines = [f"{name}: {value}" for name, value in headers]
    lines.append("")
    lines += draw(st.lists(body_lines, max_size=40))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    encoding = draw(st.sampled_from(["utf-8", "latin-1"]))
    return newline.join(lines).encode(encoding, "replace")


def _check_report(report: BounceReport) -> None:
    assert report.error is None, report.error
    assert report.kind in ("dsn", "non-standard", "arf", "auto-reply", "not-bounce")
    for recipient in report.recipients:
        assert recipient.status is None or STATUS_RE.fullmatch(recipient.status), (
            recipient.status
        )
        code = recipient.reply_code
        assert code is None or 200 <= code <= 599, code
    report.as_dict()


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(messages())
def test_bounce_reader_reads_structured_junk_without_its_safety_net(
    data: bytes,
) -> None:
    tried["bounce-structured"] = tried.get("bounce-structured", 0) + 1

    _check_report(read_bounce(data))


# -- corpus mutants ----------------------------------------------------------------


def _mutate(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """Return one damaged copy of a message and the kind of damage."""
    kind = rng.choice(
        ["flip", "truncate", "boundary", "duplicate-header", "splice", "newline"]
    )
    buf = bytearray(data)
    if kind == "flip":
        for _ in range(rng.randint(1, 40)):
            position = rng.randrange(len(buf))
            buf[position] = rng.randrange(256)
    elif kind == "truncate":
        del buf[rng.randrange(len(buf)) :]
    elif kind == "boundary":
        boundaries = re.findall(rb'boundary="?([^";\r\n]+)', data, re.IGNORECASE)
        if boundaries:
            boundary = rng.choice(boundaries)
            damaged = rng.choice(
                [b"", boundary[:-1], boundary + b"x", b"-" * 80, b'"' + boundary]
            )
            count = rng.choice([1, 0])  # the first only, or every one
            return kind, data.replace(boundary, damaged, count or -1)
        del buf[rng.randrange(len(buf)) :]
    elif kind == "duplicate-header":
        head = data.split(b"\n\n", 1)[0].split(b"\n")
        line = rng.choice(head) + b"\n"
        position = rng.choice([0, len(head[0]) + 1])
        buf[position:position] = line * rng.randint(2, 200)
    elif kind == "splice":
        start = rng.randrange(len(buf))
        piece = bytes(buf[start : start + rng.randint(1, 2000)])
        position = rng.randrange(len(buf))
        buf[position:position] = piece * rng.randint(1, 5)
    else:
        return kind, data.replace(b"\n", rng.choice([b"\r", b"\r\r\n", b"\x00\n"]))
    return kind, bytes(buf)


def test_bounce_reader_survives_mutants_of_the_real_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"the bounce corpus is absent ({CORPUS})")
    originals = [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))]
    originals = [data for data in originals if data]
    rng = random.Random(20240610)
    kinds: dict[str, int] = {}
    slowest = 0.0
    errors: list[str] = []

    for number in range(MUTANTS):
        kind, mutant = _mutate(rng, rng.choice(originals))
        kinds[kind] = kinds.get(kind, 0) + 1
        started = time.perf_counter()
        report = read_bounce(mutant)
        slowest = max(slowest, time.perf_counter() - started)
        if report.error is not None:
            errors.append(f"mutant {number} ({kind}): {report.error}")
            continue
        _check_report(report)

    tally(
        "bounce corpus mutants",
        MUTANTS,
        f"{len(errors)} fell to the catch-all; slowest {slowest * 1000:.0f} ms; "
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())),
    )
    assert not errors, "\n".join(errors[:20])
    assert slowest < SLOWEST_SECONDS


def test_report_bounce_inputs() -> None:
    tally(
        "bounce reader property tests (structured mail)",
        tried.get("bounce-structured", 0),
        "every input answered, no fallback taken",
    )
