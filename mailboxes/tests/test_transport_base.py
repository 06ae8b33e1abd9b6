"""Endpoints, errors and the factory of the transports package."""

from __future__ import annotations

import smtplib
import socket

import pytest

from alerts.classifier.types import Failure
from mailboxes.transports import (
    ImapTransport,
    Pop3Transport,
    ServerEndpoint,
    SmtpTransport,
    TransportError,
    transport_for,
)
from mailboxes.transports.base import parse_status


def test_endpoint_repr_never_shows_the_password() -> None:
    endpoint = ServerEndpoint("mail.example.com", 993, username="u", password="hunter2")

    assert "hunter2" not in repr(endpoint)
    assert "hunter2" not in str(endpoint)


@pytest.mark.parametrize(
    "options",
    [{"security": "ssl"}, {"port": 0}, {"port": 70000}, {"timeout": 0}],
)
def test_endpoint_rejects_bad_settings(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ServerEndpoint("mail.example.com", **{"port": 25, **options})  # type: ignore[arg-type]


def test_error_of_smtp_reply_keeps_code_status_and_text() -> None:
    exc = smtplib.SMTPAuthenticationError(
        535, b"5.7.8 Authentication credentials invalid"
    )

    error = TransportError.from_exception("smtp-auth", exc)

    assert error.to_failure() == Failure(
        stage="smtp-auth",
        text="5.7.8 Authentication credentials invalid",
        reply_code=535,
        status="5.7.8",
        exception="smtplib.SMTPAuthenticationError",
    )
    assert error.exception is exc


def test_error_names_builtin_and_module_exceptions() -> None:
    dns = TransportError.from_exception("dns", socket.gaierror(-2, "Name unknown"))
    tcp = TransportError.from_exception("tcp", ConnectionRefusedError(111, "refused"))

    assert dns.exception_name == "socket.gaierror"
    assert tcp.exception_name == "ConnectionRefusedError"
    assert "refused" in tcp.text


def test_error_rejects_unknown_stage() -> None:
    with pytest.raises(ValueError):
        TransportError("smtp-sned", "typo")


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("5.1.1 <a@b>: User unknown", "5.1.1"),
        ("4.7.0 Try later", "4.7.0"),
        ("Requested action aborted", None),
        ("5.1.10 too many digits in the last part", "5.1.10"),
        ("550 5.1.1 reply code first", None),
    ],
)
def test_parse_status_reads_only_a_leading_enhanced_code(
    text: str, status: str | None
) -> None:
    assert parse_status(text) == status


def test_transport_for_returns_each_protocol() -> None:
    endpoint = ServerEndpoint("mail.example.com", 993)

    assert isinstance(transport_for("imap", endpoint), ImapTransport)
    assert isinstance(transport_for("pop3", endpoint), Pop3Transport)
    assert isinstance(transport_for("smtp", endpoint), SmtpTransport)
    with pytest.raises(ValueError):
        transport_for("ews", endpoint)
