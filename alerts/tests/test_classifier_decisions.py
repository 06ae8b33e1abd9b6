"""Decisions on provider and server wording, scope principles and odd input."""

from __future__ import annotations

import pytest

from alerts.classifier import (
    CLASSIFIER_VERSION,
    Classification,
    Failure,
    Stage,
    classify,
    normalise_stage,
)

Expected = tuple[str, str, str]  # persistence, scope, reason


def decide(stage: str, text: str, exception: str | None = None) -> Expected:
    decision = classify(Failure(stage=stage, text=text, exception=exception))
    return decision.persistence.value, decision.scope.value, decision.reason


PROVIDERS: list[tuple[str, str, str, Expected]] = [
    # Gmail
    (
        "gmail",
        "smtp-send",
        "550-5.1.1 The email account that you tried to reach does not exist.",
        ("permanent", "email", "user_unknown"),
    ),
    (
        "gmail",
        "smtp-send",
        "550 5.7.1 Our system has detected that this message is likely unsolicited"
        " mail.",
        ("permanent", "email", "policy_rejected"),
    ),
    (
        "gmail",
        "smtp-send",
        "421-4.7.28 Our system has detected an unusual rate of unsolicited mail"
        " originating from your IP address.",
        ("transient", "profile", "blocked"),
    ),
    (
        "gmail",
        "smtp-send",
        "550 5.4.5 Daily user sending quota exceeded.",
        ("transient", "mailbox", "quota_exceeded"),
    ),
    (
        "gmail",
        "imap-login",
        "a1 NO [ALERT] Please log in via your web browser",
        ("permanent", "mailbox", "authentication_failed"),
    ),
    (
        "gmail",
        "imap-login",
        "a1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)",
        ("permanent", "mailbox", "authentication_failed"),
    ),
    (
        "gmail",
        "imap-login",
        "a1 NO [ALERT] Your account is not enabled for IMAP use.",
        ("permanent", "mailbox", "configuration"),
    ),
    (
        "gmail",
        "imap-connect",
        "* BYE [UNAVAILABLE] Temporary System Error",
        ("transient", "profile", "server_busy"),
    ),
    # Microsoft 365 / Exchange
    (
        "microsoft",
        "smtp-auth",
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is"
        " disabled for the Tenant.",
        ("permanent", "profile", "auth_mechanism"),
    ),
    (
        "microsoft",
        "smtp-auth",
        "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is"
        " disabled for the Mailbox.",
        ("permanent", "mailbox", "configuration"),
    ),
    (
        "microsoft",
        "smtp-send",
        "550 5.7.708 Service unavailable. Access denied, traffic not accepted from"
        " this IP.",
        ("permanent", "profile", "blocked"),
    ),
    (
        "microsoft",
        "smtp-send",
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP"
        " address lookup",
        ("permanent", "email", "user_unknown"),
    ),
    (
        "microsoft",
        "ews",
        "The remote server returned an error: (401) Unauthorized.",
        ("permanent", "mailbox", "authentication_failed"),
    ),
    (
        "microsoft",
        "ews",
        "ErrorImpersonateUserDenied: The account does not have permission to"
        " impersonate the requested user.",
        ("permanent", "profile", "authorization_failed"),
    ),
    (
        "microsoft",
        "imap-login",
        "a1 NO AUTHENTICATE failed. User is authenticated but not connected.",
        ("permanent", "mailbox", "authorization_failed"),
    ),
    # Yahoo
    (
        "yahoo",
        "smtp-send",
        "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to"
        " unexpected volume or user complaints",
        ("transient", "profile", "rate_limited"),
    ),
    (
        "yahoo",
        "smtp-send",
        "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because"
        " the ip is in Spamhaus's list",
        ("permanent", "profile", "blocked"),
    ),
    (
        "yahoo",
        "smtp-send",
        "554 delivery error: dd This user doesn't have a yahoo.com account",
        ("permanent", "email", "user_unknown"),
    ),
    # Postfix
    (
        "postfix",
        "smtp-send",
        "450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.9]",
        ("transient", "profile", "blocked"),
    ),
    (
        "postfix",
        "smtp-send",
        "553 5.7.1 <a@example.com>: Sender address rejected: not owned by user"
        " b@example.com",
        ("permanent", "mailbox", "sender_rejected"),
    ),
    (
        "postfix",
        "smtp-send",
        "550 5.1.1 <a@example.com>: Recipient address rejected: User unknown in"
        " virtual mailbox table",
        ("permanent", "email", "user_unknown"),
    ),
    # Exim
    (
        "exim",
        "smtp-send",
        "550 relay not permitted",
        ("permanent", "profile", "relay_denied"),
    ),
    (
        "exim",
        "dsn",
        "SMTP error from remote mail server after RCPT TO:<a@example.com>:\n"
        "550 Unrouteable address",
        ("permanent", "email", "user_unknown"),
    ),
    (
        "exim",
        "smtp-send",
        "550 Message size exceeds maximum permitted",
        ("permanent", "email", "message_too_large"),
    ),
    # Sendmail
    (
        "sendmail",
        "dsn",
        "Action: failed\nStatus: 5.1.2\nDiagnostic-Code: X-Postfix; Host or domain"
        " name not found.",
        ("permanent", "email", "host_unknown"),
    ),
    (
        "sendmail",
        "smtp-send",
        "550 5.7.1 <a@example.com>... Relaying denied. Proper authentication required.",
        ("permanent", "profile", "relay_denied"),
    ),
    # Dovecot
    (
        "dovecot",
        "imap-login",
        "* BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, but"
        " your client did it anyway. If anyone was listening, the password was"
        " exposed.",
        ("permanent", "profile", "tls_required"),
    ),
    (
        "dovecot",
        "imap-login",
        "a1 NO [UNAVAILABLE] Maximum number of connections from user+IP exceeded"
        " (mail_max_userip_connections=10)",
        ("transient", "mailbox", "server_busy"),
    ),
    (
        "dovecot",
        "imap-append",
        "a5 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)",
        ("permanent", "mailbox", "mailbox_full"),
    ),
    (
        "dovecot",
        "pop3-login",
        "-ERR [IN-USE] Couldn't open INBOX: Mailbox is locked",
        ("transient", "mailbox", "mailbox_in_use"),
    ),
    # Amazon SES
    (
        "ses",
        "smtp-send",
        "454 Throttling failure: Maximum sending rate exceeded.",
        ("transient", "profile", "quota_exceeded"),
    ),
    # Client libraries of other languages
    (
        "node",
        "smtp-connect",
        "Error: connect ECONNREFUSED 192.0.2.5:587",
        ("transient", "profile", "connection_refused"),
    ),
    (
        "node",
        "tls",
        "Error: self-signed certificate in certificate chain code:"
        " 'SELF_SIGNED_CERT_IN_CHAIN'",
        ("permanent", "profile", "certificate_invalid"),
    ),
    (
        "java",
        "smtp-connect",
        "javax.mail.MessagingException: Unknown SMTP host: smtp.example.com;"
        " nested exception is: java.net.UnknownHostException: smtp.example.com",
        ("permanent", "profile", "host_unknown"),
    ),
    (
        "dotnet",
        "smtp-send",
        "The SMTP server requires a secure connection or the client was not"
        " authenticated. The server response was: 5.7.0 Authentication Required.",
        ("permanent", "profile", "tls_required"),
    ),
    (
        "dotnet",
        "tls",
        "The remote certificate is invalid according to the validation procedure.",
        ("permanent", "profile", "certificate_invalid"),
    ),
]


@pytest.mark.parametrize(
    ("stage", "text", "expected"),
    [case[1:] for case in PROVIDERS],
    ids=[f"{case[0]}-{number}" for number, case in enumerate(PROVIDERS)],
)
def test_provider_and_server_wording(stage: str, text: str, expected: Expected) -> None:
    assert decide(stage, text) == expected


# --- scope principles -------------------------------------------------------------


def test_relay_denied_at_our_server_is_profile_but_in_a_bounce_is_email() -> None:
    text = "554 5.7.1 <a@example.com>: Relay access denied"

    assert decide("smtp-send", text)[1] == "profile"
    assert decide("dsn", text)[1] == "email"


def test_a_block_list_is_profile_scope_even_in_a_bounce() -> None:
    text = "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using"
    assert decide("dsn", f"{text} b.barracudacentral.org")[1] == "profile"


def test_network_failure_of_our_connection_is_profile_at_any_stage() -> None:
    for stage in ("smtp-send", "imap-login", "pop3-fetch", "ews"):
        assert decide(stage, "[Errno 111] Connection refused") == (
            "transient",
            "profile",
            "connection_refused",
        )


def test_a_remote_server_reporting_an_unknown_domain_is_email_scope() -> None:
    assert decide("smtp-send", "550 5.1.2 Host unknown") == (
        "permanent",
        "email",
        "host_unknown",
    )


def test_mailbox_full_is_transient_for_a_recipient_and_permanent_for_ours() -> None:
    assert decide("smtp-send", "552 Mailbox full")[:2] == ("transient", "email")
    assert decide("imap-append", "a1 NO Mailbox full")[:2] == ("permanent", "mailbox")


def test_dsn_action_decides_persistence() -> None:
    delayed = "Action: delayed\nStatus: 4.4.1\nDiagnostic-Code: smtp; 550 5.4.1 x"
    failed = "Action: failed\nStatus: 5.4.1\nDiagnostic-Code: smtp; 451 4.4.1 x"

    assert decide("dsn", delayed)[0] == "transient"
    assert decide("dsn", failed)[0] == "permanent"


@pytest.mark.parametrize(
    ("stage", "scope"),
    [
        ("smtp-send", "email"),
        ("dsn", "email"),
        ("smtp-auth", "mailbox"),
        ("imap-login", "mailbox"),
        ("pop3-login", "mailbox"),
        ("imap-fetch", "mailbox"),
        ("pop3-fetch", "mailbox"),
        ("tcp", "profile"),
        ("dns", "profile"),
        ("tls", "profile"),
        ("smtp-connect", "profile"),
        ("imap-connect", "profile"),
        ("pop3-connect", "profile"),
    ],
)
def test_unknown_text_is_transient_warning_with_the_stages_scope(
    stage: str, scope: str
) -> None:
    decision = classify(Failure(stage=stage, text="zzz qqq"))

    assert (decision.persistence.value, decision.scope.value) == ("transient", scope)
    assert (decision.level.value, decision.reason) == ("warning", "unknown")


def test_exception_names_work_with_and_without_module() -> None:
    for name in ("socket.gaierror", "gaierror"):
        assert decide("smtp-connect", "", exception=name) == (
            "permanent",
            "profile",
            "host_unknown",
        )
    for name in ("ssl.SSLCertVerificationError", "SSLCertVerificationError"):
        assert decide("imap-connect", "", exception=name)[2] == "certificate_invalid"
    for name in ("smtplib.SMTPAuthenticationError", "SMTPAuthenticationError"):
        assert decide("smtp-auth", "535 no", exception=name)[:2] == (
            "permanent",
            "mailbox",
        )
    assert decide("imap-fetch", "", exception="imaplib.IMAP4.abort")[2] == (
        "connection_lost"
    )


# --- odd input --------------------------------------------------------------------


def test_stage_names_are_normalised_and_unknown_ones_become_other() -> None:
    assert normalise_stage(" SMTP_SEND ") is Stage.SMTP_SEND
    assert normalise_stage("carrier-pigeon") is Stage.OTHER
    assert normalise_stage(None) is Stage.OTHER
    assert classify(Failure(stage="carrier-pigeon", text="x")).facts["stage"] == "other"


@pytest.mark.parametrize(
    "failure",
    [
        Failure(stage=None, text=None),  # type: ignore[arg-type]
        Failure(stage=5, text=b"550 5.1.1 bytes"),  # type: ignore[arg-type]
        Failure(stage="smtp-send", text="x", reply_code="abc", status="5.x"),  # type: ignore[arg-type]
        Failure(stage="smtp-send", text=["a"], exception=3),  # type: ignore[arg-type]
    ],
)
def test_malformed_failures_get_an_answer(failure: Failure) -> None:
    decision = classify(failure)

    assert isinstance(decision, Classification)
    assert decision.classifier_version == CLASSIFIER_VERSION


def test_huge_text_is_cut_to_its_first_kilobytes() -> None:
    text = "550 5.1.1 user unknown " + "A" * 5_000_000 + " 421 4.7.0 busy"

    decision = classify(Failure(stage="smtp-send", text=text))

    assert decision.reason == "user_unknown"
    assert decision.facts["text_truncated"] is True


def test_text_is_never_interpreted() -> None:
    text = "{__import__('os').system('false')} %s %(x)s {0} <script>550 5.1.1</script>"

    decision = classify(Failure(stage="smtp-send", text=text))

    assert decision.status == "5.1.1"
    assert "__import__" not in decision.explanation


def test_each_caller_gets_its_own_facts() -> None:
    failure = Failure(stage="smtp-send", text="550 5.1.1 nobody here")
    first = classify(failure)
    first.facts["mutated"] = True

    assert "mutated" not in classify(failure).facts


def test_as_dict_is_json_ready() -> None:
    data = classify(Failure(stage="smtp-send", text="550 5.1.1 x")).as_dict()

    assert data["persistence"] == "permanent"
    assert data["scope"] == "email"
    assert data["level"] == "error"
    assert data["classifier_version"] == CLASSIFIER_VERSION


def test_a_session_reply_code_in_a_bounce_concerns_the_email() -> None:
    text = "host mx.example.net[192.0.2.7] said: 421 Service not available"

    assert decide("smtp-send", text)[1] == "profile"
    assert decide("dsn", text)[1] == "email"


def test_the_classifier_package_does_not_import_django() -> None:
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "classifier"
    for source in package.glob("*.py"):
        text = source.read_text(encoding="utf-8")

        assert "import django" not in text and "from django" not in text, source.name
