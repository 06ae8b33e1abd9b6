"""Read the machine-readable part of RFC 3464 / RFC 6533 delivery reports."""

from __future__ import annotations

import re
from email.message import Message

from .message import decode_bytes, header_text, part_bytes

Block = dict[str, str]

_FIELD_RE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)\s*:\s*(.*)$")
_SPACE_RE = re.compile(r"\s+")
_RECIPIENT_FIELDS = {"final-recipient", "original-recipient", "action", "status"}


def parse_blocks(text: str) -> list[Block]:
    """Split delivery-status text into field blocks (lower-case names).

    Folded lines are unfolded; the first occurrence of a field in a block
    wins, as the per-recipient fields are single-valued.
    """
    blocks: list[Block] = []
    current: Block = {}
    last = ""
    for line in text.split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, ""
            continue
        if line[0] in " \t" and last:
            current[last] = current[last] + " " + line.strip()
            continue
        match = _FIELD_RE.match(line)
        if match is None:
            continue
        name = match.group(1).lower()
        if name in current and name in _RECIPIENT_FIELDS:
            # A new recipient group that no blank line separates.
            blocks.append(current)
            current = {}
        elif name in current:
            last = ""
            continue
        current[name] = match.group(2).strip()
        last = name
    if current:
        blocks.append(current)
    return blocks


def status_blocks(part: Message) -> list[Block]:
    """Return the field blocks of a (global-)delivery-status part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        chunks = []
        for sub in payload:
            if not isinstance(sub, Message):
                continue
            fields = (f"{name}: {header_text(value)}" for name, value in sub.items())
            chunks.append("\n".join(fields))
            tail = sub.get_payload()
            if isinstance(tail, str) and tail.strip():
                chunks.append(tail.replace("\r", ""))
        return parse_blocks("\n\n".join(chunks))
    return parse_blocks(decode_bytes(part_bytes(part), "utf-8").replace("\r", ""))


def strip_type(value: str | None) -> str:
    """Return a typed DSN value without its 'rfc822;' style prefix."""
    if not value:
        return ""
    head, sep, tail = value.partition(";")
    if sep and re.fullmatch(r"\s*[A-Za-z0-9-]+\s*", head):
        return tail.strip()
    return value.strip()


def is_recipient_block(block: Block) -> bool:
    """Tell whether a block describes one recipient."""
    return any(
        key in block
        for key in ("final-recipient", "original-recipient", "action", "status")
    ) and not ("reporting-mta" in block and "final-recipient" not in block)
