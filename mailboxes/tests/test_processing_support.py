"""Shared builders of the processing tests (no tests here): profiles pointed
at real servers and messages to deliver."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from mailboxes.models import Mailbox
from serverprofiles.models import ServerProfile
from tests.factories import make_mailbox, make_profile


def profile_for(
    *,
    incoming_port: int = 1,
    outgoing_port: int = 1,
    protocol: str = "imap",
    **kw: Any,
) -> ServerProfile:
    """Return a profile for servers on 127.0.0.1 without TLS and short timeouts."""
    fields: dict[str, Any] = {
        "incoming_protocol": protocol,
        "incoming_host": "127.0.0.1",
        "incoming_port": incoming_port,
        "incoming_security": "none",
        "outgoing_host": "127.0.0.1",
        "outgoing_port": outgoing_port,
        "outgoing_security": "none",
        "timeout_seconds": 3,
        "polling_interval_seconds": 60,
    }
    fields.update(kw)
    return make_profile(**fields)


def mailbox_for(
    profile: ServerProfile, user: tuple[str, str] | None = None, **kw: Any
) -> Mailbox:
    """Return a mailbox of the profile logging in as the given Dovecot user."""
    fields: dict[str, Any] = {}
    if user is not None:
        fields.update(username=user[0], password=user[1])
    fields.update(kw)
    return make_mailbox(profile=profile, **fields)


def message(subject: str, message_id: str | None = None) -> bytes:
    """Return a small message as bytes."""
    built = EmailMessage()
    built["From"] = "Someone <someone@example.org>"
    built["To"] = "box@example.com"
    built["Subject"] = subject
    built["Message-ID"] = message_id or make_msgid(domain="example.org")
    built.set_content(f"Body of {subject}\n")
    return built.as_bytes()


def dsn(original_message_id: str, recipient: str, status: str, text: str) -> bytes:
    """Return a delivery status notification (RFC 3464) about one recipient."""
    action = "delayed" if status.startswith("4") else "failed"
    boundary = "dsn-boundary-1"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        "To: box@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid(domain='mx.example.net')}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        f' boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain\r\n"
        "\r\n"
        "Your message could not be delivered to one or more recipients.\r\n"
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        "Remote-MTA: dns; mx.remote.example\r\n"
        f"Diagnostic-Code: smtp; {text}\r\n"
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        "From: box@example.com\r\n"
        f"To: {recipient}\r\n"
        "Subject: Hello\r\n"
        f"Message-ID: {original_message_id}\r\n"
        "\r\n"
        f"--{boundary}--\r\n"
    ).encode()
