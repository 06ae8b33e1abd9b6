"""Exceptions raised for real (DNS, TCP, TLS, SMTP, IMAP, POP3), then classified."""

from __future__ import annotations

import datetime
import imaplib
import poplib
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from alerts.classifier import (
    Failure,
    classify,
    failure_from_exception,
    failures_from_recipients_refused,
)

LOCALHOST = "127.0.0.1"


def raised(call: Callable[[], Any]) -> BaseException:
    """Return the exception that ``call`` really raises."""
    try:
        call()
    except BaseException as error:  # noqa: BLE001 - we want whatever it is
        return error
    raise AssertionError("the call did not fail")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
    return port


# --- DNS and TCP ------------------------------------------------------------------


def test_unresolvable_name_is_host_unknown_on_the_profile() -> None:
    error = raised(lambda: socket.getaddrinfo("nonexistent.invalid", 25))
    assert isinstance(error, socket.gaierror)

    failure = failure_from_exception("smtp-connect", error)
    decision = classify(failure)

    assert failure.exception == "socket.gaierror"
    assert (decision.scope.value, decision.reason) == ("profile", "host_unknown")
    # EAI_AGAIN (no resolver reachable) is temporary; EAI_NONAME is not.
    expected = "transient" if error.errno == socket.EAI_AGAIN else "permanent"
    assert decision.persistence.value == expected


def test_refused_port_is_a_transient_profile_failure() -> None:
    port = closed_port()
    error = raised(lambda: socket.create_connection((LOCALHOST, port), timeout=2))
    assert isinstance(error, ConnectionRefusedError)

    decision = classify(failure_from_exception("imap-login", error))

    assert failure_from_exception("imap-login", error).exception == (
        "ConnectionRefusedError"
    )
    assert (decision.persistence.value, decision.scope.value, decision.reason) == (
        "transient",
        "profile",
        "connection_refused",
    )


def test_silent_server_times_out() -> None:
    with socket.create_server((LOCALHOST, 0)) as listener:
        port = listener.getsockname()[1]
        with socket.create_connection((LOCALHOST, port)) as client:
            client.settimeout(0.2)
            error = raised(lambda: client.recv(10))

    assert isinstance(error, TimeoutError)
    decision = classify(failure_from_exception("smtp-send", error))
    assert (decision.persistence.value, decision.scope.value, decision.reason) == (
        "transient",
        "profile",
        "timeout",
    )


# --- TLS --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Return (certificate, key) paths of a fresh self-signed localhost pair."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(self_signed: tuple[Path, Path]) -> Iterator[int]:
    """Serve TLS handshakes with the self-signed pair; yield the port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed)
    listener = socket.create_server((LOCALHOST, 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                with context.wrap_socket(connection, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    listener.close()


def _handshake(port: int, context: ssl.SSLContext, name: str = "localhost") -> None:
    with socket.create_connection((LOCALHOST, port), timeout=5) as sock:
        with context.wrap_socket(sock, server_hostname=name):
            pass


def test_self_signed_certificate_does_not_verify(tls_server: int) -> None:
    error = raised(lambda: _handshake(tls_server, ssl.create_default_context()))
    assert isinstance(error, ssl.SSLCertVerificationError)

    failure = failure_from_exception("tls", error)
    decision = classify(failure)

    assert failure.exception == "ssl.SSLCertVerificationError"
    assert "CERTIFICATE_VERIFY_FAILED" in failure.text
    assert (decision.persistence.value, decision.scope.value, decision.reason) == (
        "permanent",
        "profile",
        "certificate_invalid",
    )


def test_wrong_host_name_does_not_verify(
    tls_server: int, self_signed: tuple[Path, Path]
) -> None:
    context = ssl.create_default_context(cafile=str(self_signed[0]))

    error = raised(lambda: _handshake(tls_server, context, name="other.example"))

    decision = classify(failure_from_exception("imap-connect", error))
    assert (decision.persistence.value, decision.reason) == (
        "permanent",
        "certificate_invalid",
    )


def test_tls_against_a_plain_port_fails_tls() -> None:
    with socket.create_server((LOCALHOST, 0)) as listener:
        port = listener.getsockname()[1]

        def answer_in_plain_text() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.sendall(b"220 mx.example.com ESMTP ready\r\n" * 20)
                connection.recv(1024)

        thread = threading.Thread(target=answer_in_plain_text, daemon=True)
        thread.start()
        error = raised(lambda: _handshake(port, ssl.create_default_context()))
        thread.join(timeout=2)

    assert isinstance(error, ssl.SSLError)
    decision = classify(failure_from_exception("smtp-connect", error))
    assert (decision.scope.value, decision.reason) == ("profile", "tls_failed")


# --- SMTP (aiosmtpd) --------------------------------------------------------------


def test_recipients_refused_picks_the_worst_and_splits_per_recipient(
    smtp_server: Callable[..., Any],
) -> None:
    from mailboxes.testservers import SmtpReplies

    server = smtp_server(
        SmtpReplies(
            rcpt={
                "later@example.com": "450 4.2.0 <later@example.com>: Recipient"
                " address rejected: Greylisted",
                "nobody@example.com": "550 5.1.1 <nobody@example.com>: Recipient"
                " address rejected: User unknown",
            }
        )
    )
    recipients = ["later@example.com", "nobody@example.com"]

    def send() -> None:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.sendmail("me@example.com", recipients, "Subject: x\r\n\r\nx")

    error = raised(send)
    assert isinstance(error, smtplib.SMTPRecipientsRefused)

    failure = failure_from_exception("smtp-send", error)
    each = failures_from_recipients_refused("smtp-send", error)
    decision = classify(failure)

    assert failure.exception == "smtplib.SMTPRecipientsRefused"
    assert (failure.reply_code, failure.status) == (550, "5.1.1")
    assert (decision.persistence.value, decision.scope.value, decision.reason) == (
        "permanent",
        "email",
        "user_unknown",
    )
    assert sorted(each) == recipients
    assert classify(each["later@example.com"]).reason == "greylisted"
    assert classify(each["later@example.com"]).persistence.value == "transient"


def test_refused_data_keeps_its_reply(smtp_server: Callable[..., Any]) -> None:
    from mailboxes.testservers import SmtpReplies

    server = smtp_server(SmtpReplies(data="552 5.3.4 Error: message file too big"))

    def send() -> None:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.sendmail("me@example.com", ["a@example.com"], "Subject: x\r\n\r\nx")

    error = raised(send)
    assert isinstance(error, smtplib.SMTPDataError)

    decision = classify(failure_from_exception("smtp-send", error))
    assert (decision.persistence.value, decision.scope.value, decision.reason) == (
        "permanent",
        "email",
        "message_too_large",
    )


def test_wrong_smtp_password_is_a_mailbox_failure(
    smtp_server: Callable[..., Any],
) -> None:
    server = smtp_server(users={"owner": "right"})

    def login() -> None:
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.login("owner", "wrong")

    error = raised(login)
    assert isinstance(error, smtplib.SMTPAuthenticationError)

    decision = classify(failure_from_exception("smtp-auth", error))
    assert (decision.persistence.value, decision.scope.value, decision.reason) == (
        "permanent",
        "mailbox",
        "authentication_failed",
    )


def test_session_that_never_connected_is_a_lost_connection() -> None:
    error = raised(lambda: smtplib.SMTP().noop())
    assert isinstance(error, smtplib.SMTPServerDisconnected)

    decision = classify(failure_from_exception("smtp-send", error))
    assert (decision.persistence.value, decision.scope.value) == (
        "transient",
        "profile",
    )


# --- IMAP and POP3 (Dovecot) --------------------------------------------------------


def test_wrong_imap_password(dovecot: Any) -> None:
    name = next(iter(dovecot.users))

    def login() -> None:
        client = imaplib.IMAP4(dovecot.host, dovecot.imap, timeout=5)
        try:
            client.login(name, "wrong password")
        finally:
            client.shutdown()

    error = raised(login)
    assert isinstance(error, imaplib.IMAP4.error)

    failure = failure_from_exception("imap-login", error)
    decision = classify(failure)

    assert failure.exception == "imaplib.IMAP4.error"
    assert (decision.persistence.value, decision.scope.value, decision.reason) == (
        "permanent",
        "mailbox",
        "authentication_failed",
    )


def test_wrong_pop3_password(dovecot: Any) -> None:
    name = next(iter(dovecot.users))

    def login() -> None:
        client = poplib.POP3(dovecot.host, dovecot.pop3, timeout=5)
        try:
            client.user(name)
            client.pass_("wrong password")
        finally:
            client.close()

    error = raised(login)
    assert isinstance(error, poplib.error_proto)

    failure = failure_from_exception("pop3-login", error)
    decision = classify(failure)

    assert failure.exception == "poplib.error_proto"
    assert (decision.persistence.value, decision.scope.value, decision.reason) == (
        "permanent",
        "mailbox",
        "authentication_failed",
    )


def test_explicit_text_replaces_the_exception_text() -> None:
    failure = failure_from_exception("dns", OSError("x"), text="extra context")

    assert failure.text == "extra context"
    assert classify(Failure(stage="dns", text="")).reason == "unknown"
