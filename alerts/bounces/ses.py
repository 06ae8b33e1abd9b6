"""Read Amazon SES notifications (JSON bodies sent through SNS e-mail)."""

from __future__ import annotations

import json
from typing import Any

from .codes import find_reply_code, find_status
from .dsn import strip_type
from .types import BounceRecipient, BounceReport


def parse_notification(body: str) -> dict[str, Any] | None:
    """Return the SES notification object in ``body``, or None."""
    start = body.find("{")
    if start < 0 or '"notificationType"' not in body and '"eventType"' not in body:
        return None
    found: Any = None
    for candidate in (body[start:], body[start:].replace("\n", "")):
        try:
            found, _ = json.JSONDecoder().raw_decode(candidate)
            break
        except ValueError:
            continue
    return found if isinstance(found, dict) else None


def fill_report(report: BounceReport, note: dict[str, Any]) -> None:
    """Fill ``report`` from an SES Bounce, Complaint or Delivery notification."""
    kind = str(note.get("notificationType") or note.get("eventType") or "").lower()
    mail = note.get("mail") if isinstance(note.get("mail"), dict) else {}
    headers = mail.get("commonHeaders") if isinstance(mail, dict) else None
    if isinstance(headers, dict) and headers.get("messageId"):
        report.original_message_id = "<" + str(headers["messageId"]).strip("<>") + ">"
    if kind == "bounce":
        report.is_bounce, report.kind = True, "non-standard"
        for item in _items(note, "bounce", "bouncedRecipients"):
            report.recipients.append(_bounced(item))
    elif kind == "complaint":
        report.is_bounce, report.kind = False, "arf"
        details = note.get("complaint") or {}
        report.feedback_type = str(details.get("complaintFeedbackType") or "abuse")
        for item in _items(note, "complaint", "complainedRecipients"):
            address = str(item.get("emailAddress", "")).lower()
            report.recipients.append(BounceRecipient(address, action="delivered"))
    elif kind == "delivery":
        report.is_bounce, report.kind = False, "not-bounce"
        details = note.get("delivery") or {}
        response = str(details.get("smtpResponse") or "")
        for address in details.get("recipients") or []:
            report.recipients.append(
                BounceRecipient(
                    str(address).lower(),
                    action="delivered",
                    status=find_status(response),
                    reply_code=find_reply_code(response),
                    diagnostic=response,
                )
            )


def _items(note: dict[str, Any], section: str, key: str) -> list[dict[str, Any]]:
    details = note.get(section)
    items = details.get(key) if isinstance(details, dict) else None
    return [i for i in items or [] if isinstance(i, dict)]


def _bounced(item: dict[str, Any]) -> BounceRecipient:
    diagnostic = strip_type(str(item.get("diagnosticCode") or ""))
    status = find_status(str(item.get("status") or "")) or find_status(diagnostic)
    action = str(item.get("action") or "failed").lower()
    return BounceRecipient(
        recipient=str(item.get("emailAddress", "")).lower(),
        action=action,
        status=status,
        status_inferred="status" not in item,
        reply_code=find_reply_code(diagnostic, status[0] if status else None),
        diagnostic=diagnostic,
    )
