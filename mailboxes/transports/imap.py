"""Read new mail from the INBOX of an IMAP server (imaplib)."""

from __future__ import annotations

import imaplib
import logging
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesHeaderParser
from typing import Any, NamedTuple, cast

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

IMAP_ERRORS = (imaplib.IMAP4.error,)
_UID_RE = re.compile(rb"\bUID (\d+)")
_SIZE_RE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_HEADER_FIELDS = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"


class _Summary(NamedTuple):
    size: int
    message_id: str | None


class _BoundedIMAP4(imaplib.IMAP4):
    """IMAP4 client whose socket, line and literal sizes the endpoint bounds."""

    def __init__(self, endpoint: ServerEndpoint, limits: Limits) -> None:
        self._endpoint = endpoint
        self._limits = limits
        super().__init__(endpoint.host, endpoint.port, timeout=endpoint.timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return open_socket(
            self._endpoint, implicit_tls=self._endpoint.security == "tls"
        )

    def readline(self) -> bytes:
        limit = self._limits.max_line_bytes
        line = cast(bytes, self.file.readline(limit + 1))
        if len(line) > limit:
            raise ResponseTooLarge(f"IMAP server sent a line over {limit} bytes")
        return line

    def read(self, size: int) -> bytes:
        limit = self._limits.max_message_bytes
        if size > limit:
            raise ResponseTooLarge(
                f"IMAP server announced {size} bytes, over the limit of {limit}"
            )
        return cast(bytes, self.file.read(size))


class ImapTransport(IncomingTransport):
    """Fetch the INBOX messages whose UID is above the last one seen.

    State: {"uidvalidity": int, "last_uid": int}. Message uids are
    "<uidvalidity>:<uid>", so they stay unique when the server renumbers.
    """

    def check(self) -> None:
        """Connect, log in and select INBOX read-only; raise TransportError."""
        with self._session() as conn:
            self._select_inbox(conn)

    def fetch_new(
        self,
        state: dict[str, Any],
        *,
        limit: int = 50,
        known: KnownMessageIds | None = None,
    ) -> FetchResult:
        """Return at most ``limit`` new INBOX messages and the state after them.

        When UIDVALIDITY changed, the folder is read as new (``reset``).
        ``known``, given Message-IDs, returns those already stored; it is asked
        about every batch, so a renumbered folder is not fetched again.
        """
        with self._session() as conn:
            uidvalidity = self._select_inbox(conn)
            reset = state.get("uidvalidity") not in (None, uidvalidity)
            last_uid = 0 if reset else int(state.get("last_uid", 0))
            if reset:
                logger.warning(
                    "UIDVALIDITY of %s@%s changed from %s to %s",
                    self.endpoint.username,
                    self.endpoint.host,
                    state.get("uidvalidity"),
                    uidvalidity,
                )

            with stage("imap-fetch", ValueError, *IMAP_ERRORS):
                uids = self._uids_after(conn, last_uid)
                batch = uids[:limit]
                summaries = self._summaries(conn, batch)
                ids = [s.message_id for s in summaries.values() if s.message_id]
                stored = set(known(ids)) if known and ids else set()
                result = FetchResult(
                    messages=[],
                    state={"uidvalidity": uidvalidity, "last_uid": last_uid},
                    more=len(uids) > limit,
                    reset=reset,
                )
                for uid in batch:
                    summary = summaries.get(uid, _Summary(0, None))
                    self._fetch_one(conn, uid, uidvalidity, summary, stored, result)
                    result.state["last_uid"] = uid
        return result

    def _fetch_one(
        self,
        conn: _BoundedIMAP4,
        uid: int,
        uidvalidity: int,
        summary: _Summary,
        stored: set[str],
        result: FetchResult,
    ) -> None:
        size, message_id = summary
        name = f"{uidvalidity}:{uid}"
        if message_id is not None and message_id in stored:
            logger.debug("skipping already stored message %s", name)
            return
        if size > self.limits.max_message_bytes:
            result.skipped.append(
                TransportError(
                    "imap-fetch",
                    f"Message UID {uid} is {size} bytes, over the limit of "
                    f"{self.limits.max_message_bytes} bytes",
                    exception_name=f"{__name__}.MessageTooLarge",
                )
            )
            return
        typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
        raw = _literal(data)
        if typ != "OK" or raw is None:
            raise TransportError(
                "imap-fetch", f"FETCH of UID {uid} failed: {_reply_text(data)}"
            )
        result.messages.append(FetchedMessage(name, raw, message_id))

    @contextmanager
    def _session(self) -> Iterator[_BoundedIMAP4]:
        endpoint = self.endpoint
        with stage("imap-connect", *IMAP_ERRORS):
            conn = _BoundedIMAP4(endpoint, self.limits)
        try:
            if endpoint.security == "starttls":
                with stage("tls", *IMAP_ERRORS):
                    conn.starttls(endpoint.ssl_context())
            with stage("imap-login", *IMAP_ERRORS):
                conn.login(endpoint.username, endpoint.password)
            yield conn
        finally:
            _logout(conn)

    def _select_inbox(self, conn: _BoundedIMAP4) -> int:
        with stage("imap-fetch", ValueError, *IMAP_ERRORS):
            typ, data = conn.select("INBOX", readonly=True)
            if typ != "OK":
                raise TransportError(
                    "imap-fetch", f"SELECT INBOX failed: {_reply_text(data)}"
                )
            _name, values = conn.response("UIDVALIDITY")
            if not values or values[-1] is None:
                raise TransportError("imap-fetch", "server sent no UIDVALIDITY")
            return int(values[-1])

    def _uids_after(self, conn: _BoundedIMAP4, last_uid: int) -> list[int]:
        typ, data = conn.uid("SEARCH", f"UID {last_uid + 1}:*")
        if typ != "OK":
            raise TransportError("imap-fetch", f"SEARCH failed: {_reply_text(data)}")
        found = b" ".join(item for item in data if isinstance(item, bytes)).split()
        # "n:*" always matches the highest UID, even when it is below n.
        return sorted(uid for uid in map(int, found) if uid > last_uid)

    def _summaries(self, conn: _BoundedIMAP4, uids: list[int]) -> dict[int, _Summary]:
        if not uids:
            return {}
        wanted = ",".join(map(str, uids))
        typ, data = conn.uid("FETCH", wanted, f"(UID RFC822.SIZE {_HEADER_FIELDS})")
        if typ != "OK":
            raise TransportError("imap-fetch", f"FETCH failed: {_reply_text(data)}")
        summaries: dict[int, _Summary] = {}
        for item in data:
            if not isinstance(item, tuple):
                continue
            uid_match = _UID_RE.search(item[0])
            size_match = _SIZE_RE.search(item[0])
            if uid_match is None:
                continue
            size = int(size_match.group(1)) if size_match else 0
            message_id = BytesHeaderParser().parsebytes(item[1]).get("Message-ID")
            summaries[int(uid_match.group(1))] = _Summary(
                size, str(message_id).strip() if message_id else None
            )
        return summaries


def _literal(data: list[Any]) -> bytes | None:
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return bytes(item[1])
    return None


def _reply_text(data: list[Any]) -> str:
    parts = [decode_reply(item) for item in data if isinstance(item, bytes | str)]
    return " ".join(parts) or "no reply text"


def _logout(conn: _BoundedIMAP4) -> None:
    try:
        conn.logout()
    except (OSError, EOFError, ResponseTooLarge, *IMAP_ERRORS) as exc:
        logger.debug("IMAP logout failed: %s", exc)
        try:
            conn.shutdown()
        except OSError:
            pass
