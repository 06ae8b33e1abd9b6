"""Read bounces that carry no delivery-status part: the text says it all.

The human-readable part of a non-standard bounce is split into the report
(before the returned message) and the returned headers; recipients are the
addresses the report names, each with the lines that follow it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .codes import find_reply_code, find_status

ADDR = (
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+"
)
_ADDR_RE = ADDRESS_RE = re.compile(ADDR)
# A line announcing that the returned message (or its headers) follows.
_SEPARATOR_RE = re.compile(
    r"copy of (?:the|your) (?:original )?message|original message follows"
    r"|^[\s>*=_-]*original message[\s:*=_-]*$|message headers follow"
    r"|unsent message follows|returned message|header of the original"
    r"|headers of (?:the|your) original|below (?:this line )?is a copy"
    r"|original message headers|^[\s-]*original mail|returned mail follows"
    r"|undelivered message (?:follows|headers)|^[\s>*=_-]*bounced e-?mail"
    r"|text of the original|original message (?:was|is) (?:attached|below)",
    re.I,
)
_HEADER_LINE_RE = re.compile(
    r"^(?:Received|Return-Path|Delivered-To|Message-ID|DKIM-Signature|From|To|"
    r"Subject|Date|MIME-Version|Content-Type|Reply-To|Authentication-Results|"
    r"ARC-[A-Za-z-]+|X-[A-Za-z0-9-]+|Content-Transfer-Encoding|Cc|References|"
    r"In-Reply-To|Sender|User-Agent)\s*:",
    re.I,
)
_ADDRESS_ONLY_RE = re.compile(
    rf"^\s*(?:[*\-\u2022]\s*)?[<\"']?({ADDR})[>\"']?\s*:?\s*$"
)
_LEADING_ADDRESS_RE = re.compile(rf"^\s*[<\"']?({ADDR})[>\"']?(?:[\s:,\[(]|$)")
_CONTEXT_ADDRESS_RE = re.compile(
    r"\b(?:rcpt to:?|recipient(?:\(s\))?:|recipient address:|address:"
    r"|addresses:|delivered to:?|deliver(?:ing)? (?:your )?(?:mail|message)?"
    r"\s*to|could not be delivered to:?|mail address:|failed recipient:?"
    r"|unknown user:?|user unknown:?|not delivered to|was not delivered to:?"
    r"|deliver to|mailbox:?|for)\s*\"?<?(?<![\w.+/#-])(" + ADDR + ")",
    re.I,
)
_NOISE_LOCALPARTS = {"mailer-daemon", "postmaster", "mail.delivery.system"}
_DELAY_RE = re.compile(
    r"will (?:continue|keep) (?:to )?try|will be retried|still (?:be )?trying"
    r"|not yet been delivered|has been delayed|delivery (?:has been|is) delayed"
    r"|delayed delivery|warning: message|will retry|retrying",
    re.I,
)
_GIVEN_UP_RE = re.compile(r"given up|permanent|will not be retried|failed", re.I)


@dataclass
class TextRecipient:
    """Describe what a text report says about one address."""

    address: str
    text: str
    status: str | None
    reply_code: int | None


def split_report(text: str) -> tuple[str, str | None]:
    """Return the report text and, when present, the returned message text."""
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if len(line) < 120 and _SEPARATOR_RE.search(line):
            if _ADDR_RE.search(line) and "follow" not in line.lower():
                continue
            return "\n".join(lines[:index]), "\n".join(lines[index + 1 :])
        if _starts_header_block(lines, index):
            return "\n".join(lines[:index]), "\n".join(lines[index:])
    return text, None


def _starts_header_block(lines: list[str], index: int) -> bool:
    """Tell whether a block of at least three header lines starts here."""
    if not _HEADER_LINE_RE.match(lines[index]):
        return False
    if index > 0 and lines[index - 1].strip() and not _is_rule(lines[index - 1]):
        return False
    count = 0
    for line in lines[index : index + 40]:
        if not line.strip():
            break
        if line[0] in " \t":
            continue
        if not _HEADER_LINE_RE.match(line) and not re.match(r"^[\w-]+:", line):
            return False
        count += 1
        if count >= 3:
            return True
    return False


def _is_rule(line: str) -> bool:
    return bool(re.fullmatch(r"[\s\-=*_#]+", line))


def find_recipients(report: str, exclude: set[str]) -> list[TextRecipient]:
    """Return the failed addresses that a report names, in order."""
    lines = report.split("\n")
    strong = _addresses(lines, exclude, weak=False)
    found = strong or _addresses(lines, exclude, weak=True)
    recipients = []
    for position, (address, start) in enumerate(found):
        end = found[position + 1][1] if position + 1 < len(found) else len(lines)
        block = "\n".join(lines[start : max(end, start + 1)])
        if len(found) == 1 and not _has_signal(block, address):
            block = report
        recipients.append(describe(address, block))
    return recipients


def _addresses(
    lines: list[str], exclude: set[str], weak: bool
) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if weak:
            candidates = _ADDR_RE.findall(line)
        else:
            candidates = [m.group(1) for m in _CONTEXT_ADDRESS_RE.finditer(line)]
            for pattern in (_ADDRESS_ONLY_RE, _LEADING_ADDRESS_RE):
                match = pattern.match(line)
                if match:
                    candidates.insert(0, match.group(1))
        for address in candidates:
            address = address.lower().strip(".")
            if address in seen or (weak and address in exclude):
                continue
            if weak and address.split("@")[0] in _NOISE_LOCALPARTS:
                continue
            seen.add(address)
            found.append((address, index))
    return found


def _has_signal(block: str, address: str) -> bool:
    rest = block.replace(address, "")
    return (
        bool(find_status(rest) or find_reply_code(rest))
        or len(re.sub(r"[\W\d_]+", "", rest.replace(address, ""))) > 25
    )


def describe(address: str, block: str) -> TextRecipient:
    """Return what ``block`` says about ``address``."""
    diagnostic = diagnostic_lines(block)
    status = find_status(diagnostic) or find_status(block)
    reply = find_reply_code(diagnostic, status[0] if status else None)
    if reply is None:
        reply = find_reply_code(diagnostic)
    return TextRecipient(address, diagnostic, status, reply)


def diagnostic_lines(block: str) -> str:
    """Return the lines of ``block`` that carry the remote server's words."""
    lines = [line.strip() for line in block.split("\n")]
    for index, line in enumerate(lines):
        if find_status(line) or find_reply_code(line):
            picked = []
            for follow in lines[index:]:
                if not follow:
                    break
                picked.append(follow)
            return _squeeze(" ".join(picked))
    return _squeeze(" ".join(line for line in lines if line))


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()[:1000]


def is_delayed(report: str) -> bool:
    """Tell whether a text report says the message is still being tried."""
    return bool(_DELAY_RE.search(report)) and not _GIVEN_UP_RE.search(report)


def header_block(text: str) -> dict[str, str]:
    """Return the header fields at the start of a returned-message text."""
    fields: dict[str, str] = {}
    last = ""
    started = False
    for line in text.split("\n"):
        if not line.strip():
            if started:
                break
            continue
        if line[0] in " \t" and started:
            if last:
                fields[last] += " " + line.strip()
            continue
        match = re.match(r"^([A-Za-z][A-Za-z0-9-]*)\s*:\s*(.*)$", line)
        if match is None:
            if started and not _is_rule(line):
                break
            continue
        started = True
        last = match.group(1).lower()
        if last in fields:
            last = ""
            continue
        fields[last] = match.group(2).strip()
    return fields
