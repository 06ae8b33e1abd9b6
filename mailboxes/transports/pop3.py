"""Read new mail from a POP3 maildrop (poplib), remembering UIDL values."""

from __future__ import annotations

import logging
import poplib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesHeaderParser
from typing import Any

from .base import (
    FetchedMessage,
    FetchResult,
    IncomingTransport,
    KnownMessageIds,
    Limits,
    ResponseTooLarge,
    ServerEndpoint,
    TransportError,
    decode_reply,
    open_socket,
    stage,
)

logger = logging.getLogger(__name__)

POP3_ERRORS = (poplib.error_proto,)


class _BoundedPOP3(poplib.POP3):
    """POP3 client whose socket, line and message sizes the endpoint bounds."""

    def __init__(self, endpoint: ServerEndpoint, limits: Limits) -> None:
        self._endpoint = endpoint
        self._limits = limits
        try:
            super().__init__(endpoint.host, endpoint.port, endpoint.timeout)
        except BaseException:
            if getattr(self, "sock", None) is not None:
                self.sock.close()
            raise

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return open_socket(
            self._endpoint, implicit_tls=self._endpoint.security == "tls"
        )

    def _getline(self) -> tuple[bytes, int]:
        limit = self._limits.max_line_bytes
        line: bytes = self.file.readline(limit + 1)
        if len(line) > limit:
            raise ResponseTooLarge(f"POP3 server sent a line over {limit} bytes")
        if not line:
            raise poplib.error_proto("-ERR connection closed by server")
        octets = len(line)
        if line.endswith(b"\r\n"):
            return line[:-2], octets
        if line.startswith(b"\r"):
            return line[1:-1], octets
        return line[:-1], octets

    def _getlongresp(self) -> tuple[bytes, list[bytes], int]:
        # Same reading as poplib's, with a cap on the total so a server that
        # never sends the final "." cannot make the message grow without end.
        limit = self._limits.max_message_bytes
        resp, _size = self._getline()
        if not resp.startswith(b"+"):
            raise poplib.error_proto(resp)
        lines: list[bytes] = []
        octets = 0
        line, size = self._getline()
        while line != b".":
            if line.startswith(b".."):
                size -= 1
                line = line[1:]
            octets += size
            if octets > limit:
                raise ResponseTooLarge(
                    f"POP3 server sent a response over {limit} bytes"
                )
            lines.append(line)
            line, size = self._getline()
        return resp, lines, octets


class Pop3Transport(IncomingTransport):
    """Fetch the messages whose UIDL value was never fetched before.

    State: {"seen_uids": [...]}, pruned to the uids still on the server, so it
    stays as small as the maildrop.
    """

    def check(self) -> None:
        """Connect, log in and STAT the maildrop; raise TransportError."""
        with self._session() as conn, stage("pop3-fetch", ValueError, *POP3_ERRORS):
            conn.stat()

    def fetch_new(
        self,
        state: dict[str, Any],
        *,
        limit: int = 50,
        known: KnownMessageIds | None = None,
    ) -> FetchResult:
        """Return at most ``limit`` messages with an unseen UIDL value.

        POP3 uids do not change, so ``known`` is not needed and is ignored.
        """
        seen = set(state.get("seen_uids", []))
        with self._session() as conn, stage("pop3-fetch", ValueError, *POP3_ERRORS):
            listing = _listing(conn)
            new = [(number, uid) for number, uid, _size in listing if uid not in seen]
            sizes = {number: size for number, _uid, size in listing}
            result = FetchResult(messages=[], state={}, more=len(new) > limit)
            for number, uid in new[:limit]:
                self._fetch_one(conn, number, uid, sizes[number], result)
                seen.add(uid)

        on_server = [uid for _number, uid, _size in listing]
        result.state = {"seen_uids": [uid for uid in on_server if uid in seen]}
        return result

    def _fetch_one(
        self,
        conn: _BoundedPOP3,
        number: int,
        uid: str,
        size: int,
        result: FetchResult,
    ) -> None:
        if size > self.limits.max_message_bytes:
            result.skipped.append(
                TransportError(
                    "pop3-fetch",
                    f"Message {uid} is {size} bytes, over the limit of "
                    f"{self.limits.max_message_bytes} bytes",
                    exception_name=f"{__name__}.MessageTooLarge",
                )
            )
            return
        _resp, lines, _octets = conn.retr(number)
        raw = b"\r\n".join(lines) + b"\r\n"
        message_id = BytesHeaderParser().parsebytes(raw).get("Message-ID")
        result.messages.append(
            FetchedMessage(uid, raw, str(message_id).strip() if message_id else None)
        )

    @contextmanager
    def _session(self) -> Iterator[_BoundedPOP3]:
        endpoint = self.endpoint
        with stage("pop3-connect", *POP3_ERRORS):
            conn = _BoundedPOP3(endpoint, self.limits)
        try:
            if endpoint.security == "starttls":
                with stage("tls", *POP3_ERRORS):
                    conn.stls(endpoint.ssl_context())
            with stage("pop3-login", *POP3_ERRORS):
                conn.user(endpoint.username)
                conn.pass_(endpoint.password)
            yield conn
        finally:
            _quit(conn)


def _listing(conn: _BoundedPOP3) -> list[tuple[int, str, int]]:
    """Return (number, UIDL value, size) for each message on the server."""
    _resp, uid_lines, _octets = conn.uidl()
    _resp, size_lines, _octets = conn.list()
    sizes: dict[int, int] = {}
    for line in size_lines:
        number, size = line.split()[:2]
        sizes[int(number)] = int(size)
    listing = []
    for line in uid_lines:
        number, uid = line.split()[:2]
        listing.append((int(number), decode_reply(uid), sizes.get(int(number), 0)))
    return listing


def _quit(conn: _BoundedPOP3) -> None:
    try:
        conn.quit()
    except (OSError, EOFError, ResponseTooLarge, *POP3_ERRORS) as exc:
        logger.debug("POP3 quit failed: %s", exc)
        try:
            conn.close()
        except OSError:
            pass
