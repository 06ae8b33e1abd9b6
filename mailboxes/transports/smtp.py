"""Send mail through an SMTP submission server (smtplib)."""

from __future__ import annotations

import logging
import smtplib
import socket
from types import TracebackType

from .base import (
    Limits,
    OutgoingMessage,
    ResponseTooLarge,
    SendResult,
    ServerEndpoint,
    TransportError,
    decode_reply,
    open_socket,
    parse_status,
    stage,
)

logger = logging.getLogger(__name__)

SMTP_ERRORS = (smtplib.SMTPException,)


class _BoundedSMTP(smtplib.SMTP):
    """SMTP client whose socket and reply sizes the endpoint bounds."""

    def __init__(self, endpoint: ServerEndpoint, limits: Limits) -> None:
        self._endpoint = endpoint
        self._limits = limits
        super().__init__(timeout=endpoint.timeout)
        # smtplib takes the TLS server name from the host given to __init__.
        self._host = endpoint.host

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return open_socket(
            self._endpoint, implicit_tls=self._endpoint.security == "tls"
        )

    def getreply(self) -> tuple[int, bytes]:
        """Return (code, text) of one reply, bounded in line size and count.

        Unlike smtplib's own, a timeout stays a TimeoutError, so the
        classifier can tell a silent server from one that hung up.
        """
        if self.sock is None:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        if self.file is None:
            self.file = self.sock.makefile("rb")
        max_line = self._limits.max_line_bytes
        code = -1
        lines: list[bytes] = []
        while True:
            try:
                line = self.file.readline(max_line + 1)
            except OSError:
                self.close()
                raise
            if not line:
                self.close()
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            if len(line) > max_line:
                self.close()
                raise ResponseTooLarge(f"SMTP server sent a line over {max_line} bytes")
            if len(lines) >= self._limits.max_reply_lines:
                self.close()
                raise ResponseTooLarge(
                    f"SMTP reply over {self._limits.max_reply_lines} lines"
                )
            lines.append(line[4:].strip(b" \t\r\n"))
            try:
                code = int(line[:3])
            except ValueError:
                code = -1
                break
            if line[3:4] != b"-":
                break
        return code, b"\n".join(lines)


class SmtpTransport:
    """Send messages over one SMTP connection, reused until close().

    Use it as a context manager, or call open() and close().
    """

    def __init__(self, endpoint: ServerEndpoint, limits: Limits | None = None):
        self.endpoint = endpoint
        self.limits = limits or Limits()
        self._conn: _BoundedSMTP | None = None

    def __enter__(self) -> SmtpTransport:
        self.open()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def check(self) -> None:
        """Connect, EHLO, STARTTLS and AUTH as configured, then QUIT."""
        self.open()
        self.close()

    def open(self) -> None:
        """Connect and log in, unless a connection is already open."""
        if self._conn is not None:
            return
        endpoint = self.endpoint
        conn = _BoundedSMTP(endpoint, self.limits)
        try:
            self._greet(conn)
            if endpoint.security == "starttls":
                with stage("tls", *SMTP_ERRORS):
                    conn.starttls(context=endpoint.ssl_context())
                self._ehlo(conn)
            if endpoint.username:
                with stage("smtp-auth", *SMTP_ERRORS):
                    conn.login(endpoint.username, endpoint.password)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def close(self) -> None:
        """Say QUIT and close the connection; never raise."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (OSError, ResponseTooLarge, *SMTP_ERRORS) as exc:
            logger.debug("SMTP quit failed: %s", exc)
        conn.close()

    def send(self, message: OutgoingMessage) -> SendResult:
        """Send one message; return who was accepted and who was refused.

        Refused recipients are TransportErrors in the result; a failure of
        the whole message (sender refused, DATA refused, lost connection)
        raises TransportError.
        """
        conn = self._usable_connection()
        raw = message.as_bytes()
        if len(raw) > self.limits.max_message_bytes:
            raise TransportError(
                "smtp-send",
                f"Message is {len(raw)} bytes, over the limit of "
                f"{self.limits.max_message_bytes} bytes",
                exception_name=f"{__name__}.MessageTooLarge",
            )

        try:
            with stage("smtp-send", *SMTP_ERRORS):
                try:
                    refused = conn.sendmail(message.sender, message.recipients, raw)
                except smtplib.SMTPRecipientsRefused as exc:
                    refused = exc.recipients
        except TransportError as exc:
            if not _session_survives(exc.exception):
                self.close()
            raise

        errors = {
            recipient: _refusal(recipient, code, text)
            for recipient, (code, text) in refused.items()
        }
        accepted = [r for r in message.recipients if r not in errors]
        logger.info(
            "sent %s: %s accepted, %s refused",
            message.message_id,
            len(accepted),
            len(errors),
        )
        return SendResult(accepted=accepted, refused=errors)

    def _usable_connection(self) -> _BoundedSMTP:
        # A reused connection may have been dropped by the server while idle;
        # a NOOP finds out before a message is half sent.
        if self._conn is not None:
            try:
                code, _text = self._conn.noop()
            except (OSError, ResponseTooLarge, *SMTP_ERRORS):
                code = -1
            if code != 250:
                logger.debug("SMTP connection went stale, reconnecting")
                self.close()
        self.open()
        assert self._conn is not None
        return self._conn

    def _greet(self, conn: _BoundedSMTP) -> None:
        with stage("smtp-connect", *SMTP_ERRORS):
            code, text = conn.connect(self.endpoint.host, self.endpoint.port)
        if code != 220:
            raise TransportError(
                "smtp-connect",
                decode_reply(text),
                reply_code=code if code > 0 else None,
                exception_name="smtplib.SMTPConnectError",
            )
        self._ehlo(conn)

    def _ehlo(self, conn: _BoundedSMTP) -> None:
        with stage("smtp-connect", *SMTP_ERRORS):
            code, text = conn.ehlo()
            if code in (500, 502):
                code, text = conn.helo()
        if not 200 <= code <= 299:
            raise TransportError(
                "smtp-connect",
                decode_reply(text),
                reply_code=code if code > 0 else None,
                exception_name="smtplib.SMTPHeloError",
            )


def _refusal(recipient: str, code: int, text: bytes) -> TransportError:
    reply = decode_reply(text)
    return TransportError(
        "smtp-send",
        reply,
        exception_name="smtplib.SMTPRecipientsRefused",
        reply_code=code,
        status=parse_status(reply),
        recipient=recipient,
    )


def _session_survives(exc: BaseException | None) -> bool:
    """Return whether the connection can carry the next message after ``exc``."""
    return isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError) and (
        exc.smtp_code != 421
    )
