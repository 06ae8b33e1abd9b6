"""Turn the bytes of one incoming message into a BounceReport."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from . import dsn, ses, text
from .classify import classify_recipient
from .codes import find_reply_code, find_status, status_from_reply
from .message import (
    content_type,
    first_address,
    get_header,
    header_text,
    message_id,
    normalise_newlines,
    parse_bytes,
    part_text,
)
from .types import BounceRecipient, BounceReport

_MAX_DEPTH = 20
_DAEMON_RE = re.compile(
    r"mailer-daemon|postmaster|mail delivery|mail\.delivery|maildelivery"
    r"|mdaemon|no-?reply|bounce|ndr|daemon|admin",
    re.I,
)
_BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver|deliver(?:y|ed)? (?:status|failure|failed|notification|problem)"
    r"|returned mail|failure notice|mail delivery|could not be delivered"
    r"|non[- ]?deliver|bounce|rejected|mail system error|not delivered"
    r"|delivery fail|failed delivery|unzustellbar|error|warning|nicht zustellbar"
    r"|returned to sender|not member|message delivery|delayed|delivery report"
    r"|failure",
    re.I,
)
_BOUNCE_BODY_RE = re.compile(
    r"could not be delivered|couldn't be delivered|undeliver|delivery to the"
    r" following|permanent(?:ly)? (?:error|fail)|was not delivered|unable to"
    r" deliver|failed to deliver|delivery has failed|following address"
    r"|could not deliver|wasn't able to deliver|were not delivered|not reach"
    r"|delivery failed|returned to (?:the )?sender|rejected|mail delivery"
    r"|delivery problem|error|not be delivered|failure",
    re.I,
)
_AUTO_REPLY_SUBJECT_RE = re.compile(
    r"auto(?:matic)?[ -]?(?:reply|response|answer)|out of (?:the )?office"
    r"|\baway\b|vacation|abwesenheit|absence|autoreply|on leave",
    re.I,
)
_ORIGINAL_MID_RE = re.compile(r"(?im)^\s*(?:original-)?message-id\s*:\s*(<[^<>\s]+>)")
_EMBEDDED_STATUS_RE = re.compile(
    r"(?im)^content-type:\s*message/(?:global-)?delivery-status.*\n(?:\S.*\n)*\n"
)
_CORRELATION_FIELDS = ("in-reply-to", "references", "subject", "from", "to", "date")


@dataclass
class _Parts:
    """The interesting parts of one message, found in a single walk."""

    status: list[Message] = field(default_factory=list)
    feedback: list[Message] = field(default_factory=list)
    returned: Message | None = None
    returned_headers: dict[str, str] | None = None
    texts: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)


def read_bounce_file(path: str | Path) -> BounceReport:
    """Return the report for the message stored at ``path``."""
    return read_bounce(Path(path).read_bytes())


def read_bounce(data: bytes) -> BounceReport:
    """Return what ``data`` says as a bounce; never raise on any input."""
    try:
        return _read(bytes(data))
    except Exception as exc:  # noqa: BLE001 - every input gets an answer
        return BounceReport(
            is_bounce=False, kind="not-bounce", error=f"{type(exc).__name__}: {exc}"
        )


def _read(data: bytes) -> BounceReport:
    msg = parse_bytes(normalise_newlines(data))
    parts = _Parts()
    _walk(msg, parts, 0)
    body = "\n".join(parts.texts) or "\n".join(parts.html)
    report_text, returned_text = text.split_report(body)
    original = _original_headers(parts, returned_text)
    report = BounceReport(is_bounce=False, kind="not-bounce")
    report.subject = get_header(msg, "subject")
    report.correlation = _correlation(original)
    report.original_message_id = _original_message_id(original, report_text, msg)

    note = ses.parse_notification(body) if not parts.status else None
    embedded = _embedded_status(body) if not parts.status else []
    if parts.feedback or _report_type(msg) == "feedback-report":
        _fill_arf(report, parts, original)
    elif note is not None:
        ses.fill_report(report, note)
    elif embedded and _fill_dsn(report, parts, report_text, embedded):
        report.is_bounce, report.kind = True, "dsn"
    elif _is_complaint(msg, report, parts):
        _fill_arf(report, parts, original)
    elif parts.status and _fill_dsn(report, parts, report_text):
        report.is_bounce, report.kind = True, "dsn"
    elif _looks_like_bounce(msg, report, report_text, parts):
        _fill_text(report, msg, report_text, original)
    elif _looks_like_auto_reply(msg, report):
        _fill_auto_reply(report, msg)
    for recipient in report.recipients:
        classify_recipient(recipient)
    return report


def _walk(part: Message, parts: _Parts, depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    ctype = content_type(part)
    try:
        payload = part.get_payload()
    except ValueError:  # a charset parameter with a NUL in it
        payload = None
    if ctype in ("message/delivery-status", "message/global-delivery-status"):
        parts.status.append(part)
    elif ctype == "message/feedback-report":
        parts.feedback.append(part)
    elif ctype in ("message/rfc822", "message/global", "message/partial"):
        if parts.returned is None and isinstance(payload, list) and payload:
            if isinstance(payload[0], Message):
                parts.returned = payload[0]
    elif ctype in ("text/rfc822-headers", "message/global-headers"):
        if parts.returned_headers is None:
            parts.returned_headers = text.header_block(part_text(part))
    elif isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                _walk(sub, parts, depth + 1)
    elif ctype == "text/html":
        parts.html.append(part_text(part))
    elif part.get_content_maintype() in ("text", "multipart") or depth == 0:
        if _is_attachment(part) and depth > 0:
            return
        parts.texts.append(part_text(part))


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("content-disposition", "")).lower()
    return disposition.startswith("attachment") and not (
        part.get_content_maintype() == "text"
    )


def _report_type(msg: Message) -> str:
    try:
        return str(msg.get_param("report-type", "") or "").lower()
    except Exception:  # noqa: BLE001
        return ""


def _original_headers(parts: _Parts, returned_text: str | None) -> dict[str, str]:
    if parts.returned is not None:
        return {
            name.lower(): header_text(value)
            for name, value in reversed(parts.returned.items())
        }
    if parts.returned_headers:
        return parts.returned_headers
    if returned_text:
        return text.header_block(returned_text)
    return {}


def _correlation(original: dict[str, str]) -> dict[str, str]:
    found = {key: original[key] for key in _CORRELATION_FIELDS if original.get(key)}
    for name, value in original.items():
        if name.startswith("x-") and name.endswith("-id") and value:
            found[name] = value
    return found


def _original_message_id(
    original: dict[str, str], report_text: str, msg: Message
) -> str | None:
    found = message_id(original.get("message-id", ""))
    if found:
        return found
    own = message_id(get_header(msg, "message-id"))
    for match in _ORIGINAL_MID_RE.finditer(report_text):
        if match.group(1) != own:
            return match.group(1)
    return None


def _embedded_status(body: str) -> list[dsn.Block]:
    """Return delivery-status blocks pasted in a body that lost its MIME."""
    match = _EMBEDDED_STATUS_RE.search(body)
    if match is None:
        return []
    rest = body[match.end() :]
    end = re.search(r"(?m)^--\S", rest)
    return dsn.parse_blocks(rest[: end.start()] if end else rest)


def _is_complaint(msg: Message, report: BounceReport, parts: _Parts) -> bool:
    return parts.returned is not None and bool(
        re.search(r"complaint|abuse report", report.subject, re.I)
    )


def _fill_dsn(
    report: BounceReport,
    parts: _Parts,
    report_text: str,
    blocks: list[dsn.Block] | None = None,
) -> bool:
    if blocks is None:
        blocks = [b for part in parts.status for b in dsn.status_blocks(part)]
    per_message = blocks[0] if blocks else {}
    text_recipients = None
    for block in blocks:
        if not dsn.is_recipient_block(block):
            continue
        address = _clean_address(
            dsn.strip_type(block.get("final-recipient"))
            or dsn.strip_type(block.get("original-recipient"))
        )
        if not address:
            continue
        recipient = _dsn_recipient(address, block, per_message)
        if not recipient.diagnostic:
            if text_recipients is None:
                text_recipients = {
                    r.address: r for r in text.find_recipients(report_text, set())
                }
            found = text_recipients.get(address)
            if found is not None:
                recipient.diagnostic = found.text
                if found.reply_code and recipient.reply_code is None:
                    recipient.reply_code = found.reply_code
        report.recipients.append(recipient)
    if len(report.recipients) == 1 and not report.recipients[0].diagnostic:
        report.recipients[0].diagnostic = text.diagnostic_lines(report_text)
    return bool(report.recipients)


def _dsn_recipient(
    address: str, block: dsn.Block, per_message: dsn.Block
) -> BounceRecipient:
    diagnostic = dsn.strip_type(block.get("diagnostic-code"))
    status = find_status(block.get("status", ""))
    inferred = False
    from_text = find_status(diagnostic)
    # The remote server's own code in the diagnostic is more precise than
    # the reporting MTA's summary (X.0.0, X.4.7, or a guess from the reply).
    if from_text and (
        status is None or (from_text != status and from_text[0] == status[0])
    ):
        status, inferred = from_text, True
    reply = find_reply_code(diagnostic, status[0] if status else None)
    if status is None and reply is not None:
        status, inferred = status_from_reply(reply), True
    action = (block.get("action") or "").split(" ")[0].lower().strip()
    if action not in ("failed", "delayed", "delivered", "relayed", "expanded"):
        action = {"4": "delayed", "2": "delivered"}.get((status or "5")[0], "failed")
    original = _clean_address(dsn.strip_type(block.get("original-recipient")))
    return BounceRecipient(
        recipient=address,
        original_recipient=original or None,
        action=action,
        status=status,
        status_inferred=inferred,
        reply_code=reply,
        diagnostic=re.sub(r"\s+", " ", diagnostic).strip(),
        remote_mta=dsn.strip_type(block.get("remote-mta")) or None,
        last_attempt=block.get("last-attempt-date") or per_message.get("arrival-date"),
        will_retry_until=block.get("will-retry-until"),
    )


def _clean_address(value: str) -> str:
    value = value.strip().strip("<>").strip().strip('"')
    found = first_address(value)
    return found or value.lower()


def _looks_like_bounce(
    msg: Message, report: BounceReport, report_text: str, parts: _Parts
) -> bool:
    sender = get_header(msg, "from")
    daemon = (
        bool(_DAEMON_RE.search(sender))
        or get_header(msg, "return-path").replace(" ", "") == "<>"
    )
    subject = bool(_BOUNCE_SUBJECT_RE.search(report.subject))
    body = bool(_BOUNCE_BODY_RE.search(report_text) or find_status(report_text))
    if _AUTO_REPLY_SUBJECT_RE.search(report.subject) and not (subject and body):
        return False
    score = int(daemon) + int(subject) + int(body)
    return score >= 2


def _fill_text(
    report: BounceReport, msg: Message, report_text: str, original: dict[str, str]
) -> None:
    exclude = {
        a
        for a in (
            first_address(get_header(msg, "from")),
            first_address(get_header(msg, "to")),
            first_address(original.get("from", "")),
        )
        if a
    }
    found = text.find_recipients(report_text, exclude)
    failed = [
        a.lower()
        for a in text.ADDRESS_RE.findall(get_header(msg, "x-failed-recipients"))
    ]
    if failed:
        by_address = {item.address: item for item in found}
        found = [
            by_address.get(a) or text.describe(a, report_text)
            for a in dict.fromkeys(failed)
        ]
    if not found:
        address = first_address(original.get("to", ""))
        if address:
            found = [
                text.TextRecipient(
                    address,
                    text.diagnostic_lines(report_text),
                    find_status(report_text),
                    find_reply_code(report_text),
                )
            ]
    delayed = text.is_delayed(report_text)
    for item in found:
        status, inferred = item.status, True
        if status is None:
            status = status_from_reply(item.reply_code)
        action = "delayed" if delayed else "failed"
        report.recipients.append(
            BounceRecipient(
                recipient=item.address,
                action=action,
                status=status,
                status_inferred=inferred,
                reply_code=item.reply_code,
                diagnostic=item.text,
            )
        )
    report.is_bounce, report.kind = True, "non-standard"


def _fill_arf(report: BounceReport, parts: _Parts, original: dict[str, str]) -> None:
    fields: dict[str, str] = {}
    for part in parts.feedback:
        for block in dsn.status_blocks(part):
            for key, value in block.items():
                fields.setdefault(key, value)
    report.is_bounce, report.kind = False, "arf"
    report.feedback_type = (fields.get("feedback-type") or "other").lower()
    address = first_address(fields.get("original-rcpt-to", "")) or first_address(
        original.get("to", "")
    )
    if address:
        report.recipients.append(
            BounceRecipient(recipient=address, action="delivered", diagnostic="")
        )


def _looks_like_auto_reply(msg: Message, report: BounceReport) -> bool:
    auto = get_header(msg, "auto-submitted").lower()
    return (
        auto.startswith("auto-replied")
        or bool(_AUTO_REPLY_SUBJECT_RE.search(report.subject))
        or any(
            get_header(msg, name)
            for name in ("x-autoreply", "x-autorespond", "x-autoresponse")
        )
        or get_header(msg, "precedence").lower() == "auto_reply"
    )


def _fill_auto_reply(report: BounceReport, msg: Message) -> None:
    report.is_bounce, report.kind = False, "auto-reply"
    address = first_address(get_header(msg, "from"))
    if address:
        report.recipients.append(BounceRecipient(recipient=address, action="delivered"))
