"""Tolerant helpers over Python's email package (policy compat32).

Everything here answers something for any input: broken MIME, unknown
charsets, 8-bit headers and truncated parts never raise out of this module.
"""

from __future__ import annotations

import codecs
import email
import email.header
import re
from email.message import Message
from email.policy import compat32

ADDRESS_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+"
)
_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"[ \t]+")
_HTML_BREAK_RE = re.compile(r"<(?:br|/p|/div|/tr|/li|/h\d)\b[^>]*>", re.I)
_ENTITIES = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"'}


def normalise_newlines(data: bytes) -> bytes:
    """Return ``data`` with CRLF and lone CR line endings turned into LF."""
    if b"\r" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def parse_bytes(data: bytes) -> Message:
    """Return the parsed message; the parser itself tolerates broken MIME."""
    return email.message_from_bytes(data, policy=compat32)


def decode_bytes(raw: bytes, charset: str | None) -> str:
    """Decode ``raw`` with ``charset``, falling back to UTF-8 then Latin-1."""
    if charset:
        name = charset.strip().strip('"').lower()
        try:
            codecs.lookup(name)
        except (LookupError, ValueError):  # unknown, or a NUL in the name
            name = ""
        if name:
            try:
                return raw.decode(name)
            except (UnicodeDecodeError, LookupError, ValueError):
                pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def header_text(value: object) -> str:
    """Return a header value as readable text (RFC 2047 and raw 8-bit)."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        try:
            return str(value)
        except (UnicodeError, LookupError):
            return value.encode()
    text = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        raw = text.encode("ascii", "surrogateescape")
        text = decode_bytes(raw, "utf-8")
    if "=?" in text:
        try:
            parts = email.header.decode_header(text)
            text = "".join(
                part if isinstance(part, str) else decode_bytes(part, charset)
                for part, charset in parts
            )
        except (ValueError, LookupError, UnicodeError, AssertionError):
            pass
    return _SPACE_RE.sub(" ", text.replace("\n", " ")).strip()


def get_header(msg: Message, name: str) -> str:
    """Return the first ``name`` header of ``msg`` as text, or ''."""
    try:
        return header_text(msg.get(name))
    except Exception:  # noqa: BLE001 - a broken header must not stop reading
        return ""


def content_type(msg: Message) -> str:
    """Return the lower-case content type, 'text/plain' when unreadable."""
    try:
        return msg.get_content_type()
    except Exception:  # noqa: BLE001
        return "text/plain"


def part_bytes(part: Message) -> bytes:
    """Return the transfer-decoded body of a leaf part."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def part_text(part: Message) -> str:
    """Return the decoded text of a leaf part."""
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001
        charset = None
    text = decode_bytes(part_bytes(part), charset)
    if content_type(part) == "text/html":
        text = html_to_text(text)
    return normalise_text(text)


def normalise_text(text: str) -> str:
    """Return ``text`` with LF line endings only."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def html_to_text(html: str) -> str:
    """Return a rough plain-text rendering of an HTML body."""
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    html = _HTML_BREAK_RE.sub("\n", html)
    text = _TAG_RE.sub(" ", html)
    for entity, char in _ENTITIES.items():
        text = text.replace(entity, char)
    return "\n".join(_SPACE_RE.sub(" ", line).strip() for line in text.split("\n"))


def first_address(value: str) -> str | None:
    """Return the first e-mail address in ``value``, lower-cased."""
    match = ADDRESS_RE.search(value or "")
    return match.group(0).lower() if match else None


def message_id(value: str) -> str | None:
    """Return a Message-ID value in angle brackets, or None."""
    value = (value or "").strip()
    match = re.search(r"<[^<>\s]+>", value)
    if match:
        return match.group(0)
    token = value.split()[0] if value.split() else ""
    return f"<{token}>" if "@" in token else None
