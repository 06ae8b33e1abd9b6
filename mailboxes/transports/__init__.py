"""Mail protocol transports (IMAP, POP3, SMTP) behind one small interface.

Plain Python, no Django: every failure is a TransportError that carries the
stage, reply code, enhanced status, server text and exception name the
classifier needs (``TransportError.to_failure()``).
"""

from __future__ import annotations

from typing import Literal, overload

from .base import (
    FetchedMessage,
    FetchResult,
    IncomingTransport,
    KnownMessageIds,
    Limits,
    OutgoingMessage,
    ResponseTooLarge,
    SendResult,
    ServerEndpoint,
    TransportError,
)
from .imap import ImapTransport
from .pop3 import Pop3Transport
from .smtp import SmtpTransport

__all__ = [
    "FetchResult",
    "FetchedMessage",
    "ImapTransport",
    "IncomingTransport",
    "KnownMessageIds",
    "Limits",
    "OutgoingMessage",
    "Pop3Transport",
    "ResponseTooLarge",
    "SendResult",
    "ServerEndpoint",
    "SmtpTransport",
    "TransportError",
    "transport_for",
]


@overload
def transport_for(
    kind: Literal["imap", "pop3"], endpoint: ServerEndpoint, limits: Limits | None = ...
) -> IncomingTransport: ...
@overload
def transport_for(
    kind: Literal["smtp"], endpoint: ServerEndpoint, limits: Limits | None = ...
) -> SmtpTransport: ...
@overload
def transport_for(
    kind: str, endpoint: ServerEndpoint, limits: Limits | None = ...
) -> IncomingTransport | SmtpTransport: ...


def transport_for(
    kind: str, endpoint: ServerEndpoint, limits: Limits | None = None
) -> IncomingTransport | SmtpTransport:
    """Return the transport of ``kind`` ("imap", "pop3" or "smtp")."""
    if kind == "imap":
        return ImapTransport(endpoint, limits)
    if kind == "pop3":
        return Pop3Transport(endpoint, limits)
    if kind == "smtp":
        return SmtpTransport(endpoint, limits)
    raise ValueError(f"unknown transport kind {kind!r}")
