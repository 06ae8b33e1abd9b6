"""Every knowledge table of the classifier, exercised through classify()."""

from __future__ import annotations

import pytest

from alerts.classifier import Failure, Persistence, Reason, Scope, classify
from alerts.classifier.enhanced import DETAILS, VENDOR_DETAILS, lookup
from alerts.classifier.http_codes import HTTP_STATUSES
from alerts.classifier.imap_codes import IMAP_CODES
from alerts.classifier.pop3_codes import POP3_CODES
from alerts.classifier.smtp_codes import REPLY_CODES
from alerts.classifier.wording import RULES, match, words

P, T = Persistence.PERMANENT, Persistence.TRANSIENT
EMAIL, MAILBOX, PROFILE = Scope.EMAIL, Scope.MAILBOX, Scope.PROFILE

# The IANA "Enumerated Status Codes" registry (RFC 3463, RFC 5248 and the
# RFCs that added codes since), as subject.detail.
IANA_REGISTRY = (
    ["0.0"]
    + [f"1.{n}" for n in range(0, 11)]
    + [f"2.{n}" for n in range(0, 5)]
    + [f"3.{n}" for n in range(0, 7)]
    + [f"4.{n}" for n in range(0, 8)]
    + [f"5.{n}" for n in range(0, 7)]
    + [f"6.{n}" for n in range(0, 11)]
    + [f"7.{n}" for n in range(0, 31)]
)

NEUTRAL = "x"  # a text with no wording a rule could recognise


def decide(stage: str, text: str, **given: object) -> tuple[str, str, str]:
    decision = classify(Failure(stage=stage, text=text, **given))  # type: ignore[arg-type]
    return decision.persistence.value, decision.scope.value, decision.reason


# --- enhanced status codes ------------------------------------------------------


def test_the_whole_iana_registry_is_in_the_table() -> None:
    assert sorted(IANA_REGISTRY) == sorted(DETAILS)


@pytest.mark.parametrize("key", sorted(DETAILS))
def test_every_registered_detail_decides_reason_and_class(key: str) -> None:
    entry = DETAILS[key]
    for klass, persistence in (("4", T), ("5", P)):
        decision = classify(Failure(stage="smtp-send", status=f"{klass}.{key}"))

        expected = entry.persistence or persistence
        assert decision.persistence is expected
        assert decision.status == f"{klass}.{key}"
        if entry.reason not in (Reason.UNKNOWN, Reason.NOTICE):
            assert decision.reason == entry.reason.value
        if entry.scope is not None:
            assert decision.scope is entry.scope
        assert f"detail {key.split('.')[1]} means {entry.meaning}" in (
            decision.explanation
        )


@pytest.mark.parametrize(
    ("status", "persistence", "scope", "reason"),
    [
        ("5.1.1", P, EMAIL, "user_unknown"),
        ("5.1.10", P, EMAIL, "host_unknown"),
        ("4.2.2", T, EMAIL, "mailbox_full"),
        ("5.2.2", T, EMAIL, "mailbox_full"),
        ("5.2.3", P, EMAIL, "message_too_large"),
        ("5.3.4", P, EMAIL, "message_too_large"),
        ("4.4.7", T, EMAIL, "expired"),
        ("5.7.1", P, EMAIL, "policy_rejected"),
        ("5.7.8", P, MAILBOX, "authentication_failed"),
        ("5.7.10", P, PROFILE, "tls_required"),
        ("5.7.13", P, EMAIL, "mailbox_disabled"),
        ("5.7.23", P, PROFILE, "sender_authentication"),
        ("5.7.25", P, PROFILE, "blocked"),
        ("5.7.26", P, PROFILE, "sender_authentication"),
        ("4.7.28", T, PROFILE, "rate_limited"),
        ("5.7.29", P, PROFILE, "sender_authentication"),
        ("5.7.30", P, EMAIL, "tls_required"),
        ("5.7.57", P, PROFILE, "authentication_failed"),
        ("5.7.60", P, MAILBOX, "sender_rejected"),
        ("5.7.64", P, PROFILE, "relay_denied"),
        ("5.7.606", P, PROFILE, "blocked"),
        ("5.7.708", P, PROFILE, "blocked"),
        ("5.1.90", P, MAILBOX, "quota_exceeded"),
    ],
)
def test_status_codes_in_send_replies(
    status: str, persistence: Persistence, scope: Scope, reason: str
) -> None:
    reply = "452" if status.startswith("4") else "550"

    assert decide("smtp-send", f"{reply} {status} {NEUTRAL}") == (
        persistence.value,
        scope.value,
        reason,
    )


def test_status_explanation_spells_out_class_subject_and_detail() -> None:
    decision = classify(Failure(stage="smtp-send", text="550 5.1.1 no"))

    assert decision.explanation.startswith(
        "5.1.1: class 5 means permanent failure; subject 1 (addressing), detail 1"
        " means the destination mailbox does not exist"
    )
    assert decision.action.startswith("Sender of the email:")


def test_vendor_ranges_are_looked_up() -> None:
    assert lookup("5.7.640") == VENDOR_DETAILS["7.606"]
    assert lookup("5.7.701") == VENDOR_DETAILS["7.750"]
    assert lookup("5.9.9") is None
    assert lookup("nonsense") is None


@pytest.mark.parametrize(
    "text",
    [
        "connect to 10.5.1.1 failed",  # an IP address is not a status
        "python 2.7.18 raised",  # neither is a version
        "sent 5.1.1.4 items",
    ],
)
def test_dotted_numbers_that_are_not_statuses_are_ignored(text: str) -> None:
    assert classify(Failure(stage="smtp-send", text=text)).status is None


# --- SMTP reply codes -----------------------------------------------------------


@pytest.mark.parametrize("code", sorted(REPLY_CODES))
def test_every_reply_code_gives_its_class(code: int) -> None:
    entry = REPLY_CODES[code]
    decision = classify(Failure(stage="smtp-send", reply_code=code))

    assert decision.persistence is (entry.persistence or (T if code < 500 else P))
    assert decision.reply_code == code
    if entry.reason is not Reason.UNKNOWN:
        assert decision.reason == entry.reason.value
    if entry.scope is not None:
        assert decision.scope is entry.scope


@pytest.mark.parametrize(
    ("stage", "text", "expected"),
    [
        (
            "smtp-send",
            "421 mx.example.com closing",
            ("transient", "profile", "server_busy"),
        ),
        ("smtp-send", "451 local error", ("transient", "email", "server_error")),
        ("smtp-auth", "535 no", ("permanent", "mailbox", "authentication_failed")),
        ("smtp-send", "530 go away", ("permanent", "profile", "authentication_failed")),
        ("smtp-send", "552 too much", ("permanent", "email", "message_too_large")),
        ("smtp-send", "500 what", ("permanent", "profile", "protocol_error")),
        ("smtp-send", "554 no", ("permanent", "email", "policy_rejected")),
        ("smtp-send", "550 no", ("permanent", "email", "unknown")),
    ],
)
def test_reply_codes_without_status(
    stage: str, text: str, expected: tuple[str, str, str]
) -> None:
    assert decide(stage, text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("(550, b'5.1.1 <a@example.com>: nope')", 550),
        ('Expected response code 250 but got code "552", with message "x"', 552),
        ("Server terminates connection. response=421-4.7.0 Try", 421),
        ("said: 554 5.7.1 no", 554),
        ("<message>454 Throttling failure</message>", 454),
        ("connect to smtp.example.com port 587 failed", None),
        ("delay=150, delays=0.05/0.01/150/0", None),
        ("[Errno 101] Network is unreachable", None),
        ('File "socket.py", line 553, in create_connection', None),
    ],
)
def test_reply_code_is_read_only_where_it_is_one(text: str, code: int | None) -> None:
    assert classify(Failure(stage="smtp-send", text=text)).reply_code == code


def test_given_codes_win_over_text_and_are_marked_given() -> None:
    decision = classify(
        Failure(stage="smtp-send", text="550 5.1.1 x", reply_code=452, status="4.2.2")
    )

    assert (decision.reply_code, decision.status) == (452, "4.2.2")
    assert decision.facts["status_source"] == "given"
    assert decision.facts["reply_code_source"] == "given"


def test_a_missing_status_is_inferred_and_marked() -> None:
    decision = classify(Failure(stage="smtp-send", text="550 User unknown"))

    assert decision.status == "5.1.1"
    assert decision.facts["status_inferred"] is True


# --- IMAP and POP3 response codes -------------------------------------------------


@pytest.mark.parametrize("code", sorted(IMAP_CODES))
def test_every_imap_response_code(code: str) -> None:
    entry = IMAP_CODES[code]
    decision = classify(Failure(stage="imap-fetch", text=f"a1 NO [{code}] {NEUTRAL}"))

    assert decision.persistence is entry.persistence
    if entry.reason not in (Reason.UNKNOWN, Reason.NOTICE):
        assert decision.reason == entry.reason.value
        assert f"[{code}]" in decision.facts["response_code"]
    if entry.scope is not None:
        assert decision.scope is entry.scope


@pytest.mark.parametrize("code", sorted(POP3_CODES))
def test_every_pop3_response_code(code: str) -> None:
    entry = POP3_CODES[code]
    decision = classify(Failure(stage="pop3-login", text=f"-ERR [{code}] {NEUTRAL}"))

    assert decision.persistence is entry.persistence
    assert decision.reason == entry.reason.value
    assert decision.scope is entry.scope


@pytest.mark.parametrize(
    ("stage", "text", "expected"),
    [
        ("imap-login", "a1 NO x", ("permanent", "mailbox", "authentication_failed")),
        ("imap-fetch", "a2 NO x", ("transient", "mailbox", "unknown")),
        ("imap-fetch", "a3 BAD x", ("permanent", "mailbox", "protocol_error")),
        ("imap-connect", "* BYE x", ("transient", "profile", "connection_lost")),
        ("pop3-login", "-ERR x", ("permanent", "mailbox", "authentication_failed")),
        ("pop3-fetch", "-ERR x", ("transient", "mailbox", "unknown")),
    ],
)
def test_answers_without_response_code(
    stage: str, text: str, expected: tuple[str, str, str]
) -> None:
    assert decide(stage, text) == expected


# --- HTTP statuses behind EWS and Graph ---------------------------------------------


@pytest.mark.parametrize("status", sorted(HTTP_STATUSES))
def test_every_http_status(status: int) -> None:
    entry = HTTP_STATUSES[status]
    decision = classify(Failure(stage="ews", text=f"returned status code {status}"))

    assert decision.persistence is entry.persistence
    assert decision.reason == entry.reason.value
    assert decision.facts["http_status"] == status


def test_http_status_in_parentheses() -> None:
    assert decide("ews", "The remote server returned an error: (503) x") == (
        "transient",
        "profile",
        "server_busy",
    )


# --- wording --------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_every_wording_rule_recognises_its_own_example(rule: object) -> None:
    lowered = rule.example.lower()  # type: ignore[attr-defined]

    found = match(lowered, words(lowered), "other")

    assert found is rule


def test_rule_names_are_unique() -> None:
    names = [rule.name for rule in RULES]

    assert len(names) == len(set(names))
