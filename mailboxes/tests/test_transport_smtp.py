"""SmtpTransport against scripted aiosmtpd servers and misbehaving servers."""

from __future__ import annotations

import time
from email.message import EmailMessage
from typing import Any

import pytest

from mailboxes.testservers import Certificates, SmtpReplies, SmtpServer
from mailboxes.transports import (
    Limits,
    OutgoingMessage,
    ServerEndpoint,
    SmtpTransport,
    TransportError,
    transport_for,
)

pytestmark = pytest.mark.mailserver

UNKNOWN_USER = (
    "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown"
)


def endpoint(
    server: SmtpServer, security: str = "none", **extra: Any
) -> ServerEndpoint:
    options: dict[str, Any] = {"timeout": 10}
    options.update(extra)
    return ServerEndpoint(
        server.host,
        server.port,
        security=security,  # type: ignore[arg-type]
        **options,
    )


def outgoing(*recipients: str, number: int = 1) -> OutgoingMessage:
    raw = (
        b"From: alerts@example.com\r\nTo: someone@example.com\r\n"
        b"Subject: test %d\r\nMessage-ID: <out-%d@example.com>\r\n\r\nHello\r\n"
        % (number, number)
    )
    return OutgoingMessage(
        "alerts@example.com", list(recipients), raw, f"<out-{number}@example.com>"
    )


def test_refused_recipient_is_reported_while_the_other_is_sent(
    smtp_server: Any,
) -> None:
    server = smtp_server(SmtpReplies(rcpt={"nobody@example.com": UNKNOWN_USER}))

    with SmtpTransport(endpoint(server)) as transport:
        result = transport.send(outgoing("someone@example.com", "nobody@example.com"))

    assert result.accepted == ["someone@example.com"]
    refusal = result.refused["nobody@example.com"]
    assert refusal.stage == "smtp-send"
    assert refusal.reply_code == 550
    assert refusal.status == "5.1.1"
    assert refusal.recipient == "nobody@example.com"
    assert "User unknown" in refusal.text
    failure = refusal.to_failure()
    assert (failure.reply_code, failure.status) == (550, "5.1.1")
    assert failure.exception == "smtplib.SMTPRecipientsRefused"
    [received] = server.messages
    assert received.recipients == ["someone@example.com"]
    assert b"Message-ID: <out-1@example.com>" in received.data


def test_all_recipients_refused_sends_nothing_and_raises_nothing(
    smtp_server: Any,
) -> None:
    server = smtp_server(SmtpReplies(rcpt={"nobody@example.com": UNKNOWN_USER}))

    with SmtpTransport(endpoint(server)) as transport:
        result = transport.send(outgoing("nobody@example.com"))

    assert result.accepted == []
    assert list(result.refused) == ["nobody@example.com"]
    assert server.messages == []


def test_one_connection_carries_several_messages(smtp_server: Any) -> None:
    server = smtp_server()

    with SmtpTransport(endpoint(server)) as transport:
        transport.send(outgoing("a@example.com", number=1))
        transport.send(outgoing("b@example.com", number=2))

    first, second = server.messages
    assert first.peer == second.peer


def test_sender_refused_fails_the_message_and_keeps_the_connection(
    smtp_server: Any,
) -> None:
    server = smtp_server(SmtpReplies(mail_from="553 5.7.1 Sender address rejected"))

    with SmtpTransport(endpoint(server)) as transport:
        with pytest.raises(TransportError) as caught:
            transport.send(outgoing("a@example.com"))
        server.replies.mail_from = None
        transport.send(outgoing("a@example.com", number=2))

    error = caught.value
    assert (error.stage, error.reply_code, error.status) == ("smtp-send", 553, "5.7.1")
    assert error.exception_name == "smtplib.SMTPSenderRefused"
    assert [m.recipients for m in server.messages] == [["a@example.com"]]


def test_refused_data_fails_the_message(smtp_server: Any) -> None:
    server = smtp_server(SmtpReplies(data="554 5.7.1 Message rejected as spam"))

    with pytest.raises(TransportError) as caught:
        with SmtpTransport(endpoint(server)) as transport:
            transport.send(outgoing("a@example.com"))

    assert caught.value.stage == "smtp-send"
    assert caught.value.reply_code == 554
    assert caught.value.exception_name == "smtplib.SMTPDataError"


def test_bad_credentials_fail_at_auth_with_535(smtp_server: Any) -> None:
    server = smtp_server(users={"alerts": "right"})

    with pytest.raises(TransportError) as caught:
        SmtpTransport(endpoint(server, username="alerts", password="wrong")).check()

    error = caught.value
    assert (error.stage, error.reply_code, error.status) == ("smtp-auth", 535, "5.7.8")
    assert error.exception_name == "smtplib.SMTPAuthenticationError"


def test_good_credentials_log_in_and_send(smtp_server: Any) -> None:
    server = smtp_server(users={"alerts": "right"})
    transport = transport_for(
        "smtp", endpoint(server, username="alerts", password="right")
    )

    transport.check()
    with transport:
        transport.send(outgoing("a@example.com"))

    assert len(server.messages) == 1


def test_421_greeting_is_a_connect_failure(raw_server: Any) -> None:
    server = raw_server("greeting", prefix=b"421 4.3.2 Service shutting down\r\n")

    with pytest.raises(TransportError) as caught:
        SmtpTransport(endpoint(server)).check()

    error = caught.value
    assert (error.stage, error.reply_code, error.status) == (
        "smtp-connect",
        421,
        "4.3.2",
    )


def test_421_reply_to_ehlo_is_a_connect_failure(smtp_server: Any) -> None:
    server = smtp_server(SmtpReplies(ehlo="421 4.7.0 Too many connections"))

    with pytest.raises(TransportError) as caught:
        SmtpTransport(endpoint(server)).check()

    assert (caught.value.stage, caught.value.reply_code) == ("smtp-connect", 421)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_sends_over_tls_verified_with_own_ca(
    smtp_server: Any, mail_certificates: Certificates, security: str
) -> None:
    server = smtp_server(
        security=security,
        certificates=mail_certificates,
        users={"alerts": "right"},
        auth_require_tls=True,
    )
    secured = endpoint(
        server,
        security,
        username="alerts",
        password="right",
        ca_file=str(mail_certificates.ca_file),
    )

    with SmtpTransport(secured) as transport:
        transport.send(outgoing("a@example.com"))

    assert len(server.messages) == 1


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_certificate_that_does_not_verify_is_a_tls_failure(
    smtp_server: Any, mail_certificates: Certificates, security: str
) -> None:
    server = smtp_server(
        security=security, certificates=mail_certificates, trusted=False
    )
    secured = endpoint(server, security, ca_file=str(mail_certificates.ca_file))

    with pytest.raises(TransportError) as caught:
        SmtpTransport(secured).check()

    assert caught.value.stage == "tls"
    assert caught.value.exception_name == "ssl.SSLCertVerificationError"


def test_starttls_asked_of_a_server_without_it_is_a_tls_failure(
    smtp_server: Any,
) -> None:
    server = smtp_server()

    with pytest.raises(TransportError) as caught:
        SmtpTransport(endpoint(server, "starttls")).check()

    assert caught.value.stage == "tls"
    assert caught.value.exception_name == "smtplib.SMTPNotSupportedError"


def test_email_message_objects_are_sent(smtp_server: Any) -> None:
    server = smtp_server()
    email = EmailMessage()
    email["From"] = "alerts@example.com"
    email["To"] = "a@example.com"
    email["Subject"] = "Grüße"
    email.set_content("Body line\n")

    with SmtpTransport(endpoint(server)) as transport:
        transport.send(OutgoingMessage("alerts@example.com", ["a@example.com"], email))

    assert b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=" in server.messages[0].data


def test_message_over_size_limit_is_not_sent(smtp_server: Any) -> None:
    server = smtp_server()
    transport = SmtpTransport(endpoint(server), Limits(max_message_bytes=100))

    with transport, pytest.raises(TransportError) as caught:
        transport.send(outgoing("a@example.com"))

    assert caught.value.stage == "smtp-send"
    assert server.messages == []


def test_name_that_does_not_resolve_is_a_dns_failure() -> None:
    with pytest.raises(TransportError) as caught:
        SmtpTransport(ServerEndpoint("nohost.invalid", 587)).check()

    assert caught.value.stage == "dns"
    assert caught.value.exception_name == "socket.gaierror"


def test_refused_port_is_a_tcp_failure(refused_port: int) -> None:
    closed = ServerEndpoint("127.0.0.1", refused_port, security="none")

    with pytest.raises(TransportError) as caught:
        SmtpTransport(closed).check()

    assert caught.value.stage == "tcp"
    assert caught.value.exception_name == "ConnectionRefusedError"


def test_silent_server_times_out_within_endpoint_timeout(raw_server: Any) -> None:
    server = raw_server("silent")

    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        SmtpTransport(endpoint(server, timeout=0.5)).check()

    assert time.monotonic() - started < 3
    assert caught.value.stage == "smtp-connect"
    assert caught.value.exception_name == "TimeoutError"


def test_silent_implicit_tls_server_times_out_in_handshake(raw_server: Any) -> None:
    server = raw_server("silent")

    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        SmtpTransport(endpoint(server, "tls", timeout=0.5)).check()

    assert time.monotonic() - started < 3
    assert caught.value.stage == "tls"
    assert caught.value.exception_name == "TimeoutError"


def test_endless_line_fails_cleanly(raw_server: Any) -> None:
    server = raw_server("endless", prefix=b"220 ")

    with pytest.raises(TransportError) as caught:
        SmtpTransport(endpoint(server), Limits(max_line_bytes=8192)).check()

    assert caught.value.stage == "smtp-connect"
    assert caught.value.exception_name == "mailboxes.transports.base.ResponseTooLarge"


def test_connection_dropped_while_idle_is_reopened(smtp_server: Any) -> None:
    first_server = smtp_server()
    transport = SmtpTransport(endpoint(first_server))

    with transport:
        transport.send(outgoing("a@example.com", number=1))
        first_server.stop()
        second_server = smtp_server(port=first_server.port)
        transport.send(outgoing("a@example.com", number=2))

    assert len(first_server.messages) == 1
    assert len(second_server.messages) == 1
