"""Shared types of the mail transports: endpoints, limits, results and errors.

Nothing here imports Django; the transports run in workers, in Test & Enable
and in the demo alike.
"""

from __future__ import annotations

import abc
import logging
import re
import socket
import ssl
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any, Literal

from alerts.classifier.types import Failure, Stage

logger = logging.getLogger(__name__)

Security = Literal["none", "starttls", "tls"]
SECURITIES: tuple[str, ...] = ("none", "starttls", "tls")

# The classifier's stages; the transports use the dns..pop3-fetch subset.
STAGES: frozenset[str] = frozenset(stage.value for stage in Stage)

_STATUS_RE = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})(?!\d)")


@dataclass(frozen=True)
class ServerEndpoint:
    """Describe how to reach and log in to one mail server."""

    host: str
    port: int
    security: Security = "tls"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0
    verify_certificates: bool = True
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if self.security not in SECURITIES:
            raise ValueError(f"unknown security {self.security!r}")
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} is out of range")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")

    def ssl_context(self) -> ssl.SSLContext:
        """Return the client TLS context this endpoint asks for."""
        if not self.verify_certificates:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return ssl.create_default_context(cafile=self.ca_file)


@dataclass(frozen=True)
class Limits:
    """Bound what a server may make a transport read."""

    max_line_bytes: int = 1_000_000
    max_message_bytes: int = 25 * 1024 * 1024
    max_reply_lines: int = 1000


class ResponseTooLarge(Exception):
    """Raised when a server sends a line or a message over the limits."""


class TransportError(Exception):
    """Describe one failed step of a mail protocol session.

    ``exception_name`` is the module-qualified class name of the original
    exception ("socket.gaierror", "smtplib.SMTPAuthenticationError"), which
    the classifier reads; ``text`` is the server's reply text when there is
    one, else the exception's text.
    """

    def __init__(
        self,
        stage: str,
        text: str,
        *,
        exception: BaseException | None = None,
        exception_name: str | None = None,
        reply_code: int | None = None,
        status: str | None = None,
        recipient: str | None = None,
    ) -> None:
        super().__init__(text)
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}")
        self.stage = stage
        self.text = text
        self.exception = exception
        if exception_name is None and exception is not None:
            exception_name = exception_name_of(exception)
        self.exception_name = exception_name
        self.reply_code = reply_code
        self.status = status if status is not None else parse_status(text)
        self.recipient = recipient

    def __str__(self) -> str:
        where = f" ({self.recipient})" if self.recipient else ""
        code = f" {self.reply_code}" if self.reply_code is not None else ""
        return f"{self.stage}{where}:{code} {self.text}"

    def __repr__(self) -> str:
        return (
            f"TransportError(stage={self.stage!r}, text={self.text!r}, "
            f"exception_name={self.exception_name!r}, "
            f"reply_code={self.reply_code!r}, status={self.status!r}, "
            f"recipient={self.recipient!r})"
        )

    def to_failure(self) -> Failure:
        """Return the classifier's view of this error."""
        return Failure(
            stage=self.stage,
            text=self.text,
            reply_code=self.reply_code,
            status=self.status,
            exception=self.exception_name,
        )

    @classmethod
    def from_exception(cls, stage: str, exc: BaseException) -> TransportError:
        """Return a TransportError for ``exc`` raised during ``stage``."""
        reply_code: int | None = None
        smtp_code = getattr(exc, "smtp_code", None)
        if isinstance(smtp_code, int) and smtp_code > 0:
            reply_code = smtp_code
            text = decode_reply(getattr(exc, "smtp_error", b""))
        elif exc.args and isinstance(exc.args[0], bytes):
            text = decode_reply(exc.args[0])
        else:
            text = str(exc) or exception_name_of(exc)
        return cls(stage, text, exception=exc, reply_code=reply_code)


def exception_name_of(exc: BaseException) -> str:
    """Return the module-qualified class name of ``exc``."""
    kind = type(exc)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def parse_status(text: str) -> str | None:
    """Return the enhanced status code (RFC 3463) that starts ``text``."""
    match = _STATUS_RE.match(text)
    return match.group(1) if match else None


def decode_reply(data: bytes | str) -> str:
    """Return server reply bytes as text, never failing on bad bytes."""
    if isinstance(data, str):
        return data.strip()
    return data.decode("utf-8", errors="replace").strip()


@contextmanager
def stage(name: str, *errors: type[BaseException]) -> Iterator[None]:
    """Turn the protocol and network errors raised inside into TransportErrors.

    Errors that are already TransportErrors pass through untouched, so the
    connection helpers can report "dns", "tcp" and "tls" from deep inside a
    library's constructor.
    """
    caught: tuple[type[BaseException], ...] = (
        OSError,
        EOFError,
        ResponseTooLarge,
        *errors,
    )
    try:
        yield
    except TransportError:
        raise
    except caught as exc:
        raise TransportError.from_exception(name, exc) from exc


def open_socket(endpoint: ServerEndpoint, *, implicit_tls: bool) -> socket.socket:
    """Return a socket connected to ``endpoint``, wrapped in TLS if asked.

    Raise TransportError with stage "dns", "tcp" or "tls" so the step that
    failed is never guessed from an error message.
    """
    try:
        addresses = socket.getaddrinfo(
            endpoint.host, endpoint.port, type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise TransportError.from_exception("dns", exc) from exc

    sock = None
    last_error: OSError | None = None
    for family, kind, proto, _name, address in addresses:
        candidate = socket.socket(family, kind, proto)
        candidate.settimeout(endpoint.timeout)
        try:
            candidate.connect(address)
        except OSError as exc:
            candidate.close()
            last_error = exc
            continue
        sock = candidate
        break
    if sock is None:
        assert last_error is not None
        raise TransportError.from_exception("tcp", last_error) from last_error

    logger.debug("connected to %s:%s", endpoint.host, endpoint.port)
    if implicit_tls:
        return wrap_tls(sock, endpoint)
    return sock


def wrap_tls(sock: socket.socket, endpoint: ServerEndpoint) -> ssl.SSLSocket:
    """Return ``sock`` after a TLS handshake; raise a "tls" TransportError."""
    try:
        return endpoint.ssl_context().wrap_socket(sock, server_hostname=endpoint.host)
    except (ssl.SSLError, OSError) as exc:
        sock.close()
        raise TransportError.from_exception("tls", exc) from exc


@dataclass(frozen=True)
class FetchedMessage:
    """Hold one message read from an incoming mailbox."""

    uid: str
    raw: bytes
    message_id: str | None = None


@dataclass
class FetchResult:
    """Hold one bounded batch of new messages and the state after it.

    ``skipped`` lists messages that were passed over (too large) as
    TransportErrors, so the caller can record them; ``more`` says that
    another batch is waiting; ``reset`` says the folder was seen as new
    (IMAP UIDVALIDITY changed), so the caller must dedupe what it stores.
    """

    messages: list[FetchedMessage]
    state: dict[str, Any]
    skipped: list[TransportError] = field(default_factory=list)
    more: bool = False
    reset: bool = False


KnownMessageIds = Callable[[Collection[str]], Collection[str]]


class IncomingTransport(abc.ABC):
    """Read new mail from one mailbox."""

    def __init__(self, endpoint: ServerEndpoint, limits: Limits | None = None):
        self.endpoint = endpoint
        self.limits = limits or Limits()

    @abc.abstractmethod
    def check(self) -> None:
        """Connect, log in and open the mailbox; raise TransportError."""

    @abc.abstractmethod
    def fetch_new(
        self,
        state: dict[str, Any],
        *,
        limit: int = 50,
        known: KnownMessageIds | None = None,
    ) -> FetchResult:
        """Return at most ``limit`` messages not fetched under ``state``."""


@dataclass(frozen=True)
class OutgoingMessage:
    """Hold one message to send and its envelope."""

    sender: str
    recipients: list[str]
    raw: bytes | EmailMessage
    message_id: str | None = None

    def as_bytes(self) -> bytes:
        """Return the message as bytes with CRLF line ends."""
        if isinstance(self.raw, bytes):
            return self.raw
        return self.raw.as_bytes(policy=policy.SMTP)


@dataclass
class SendResult:
    """Hold the recipients a server accepted and those it refused."""

    accepted: list[str]
    refused: dict[str, TransportError] = field(default_factory=dict)
