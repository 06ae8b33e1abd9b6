"""Send the emails of one mailbox that wait in "pending send".

An email is marked "sending" (attempts + 1) in its own commit before the
SMTP transaction, and its outcome (sent, refused recipients, back to pending)
is written in one transaction after it. A worker killed in between leaves the
email "sending"; the next claimant puts it back to "pending send", so it is
sent at least once (and, in that narrow window, possibly twice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from django.db import transaction
from django.utils import timezone

from alerts.choices import Scope
from alerts.funnel import record_success
from alerts.models import AlertSettings
from mailboxes.choices import Direction, EmailStatus
from mailboxes.models import Email, Mailbox
from mailboxes.processing.endpoints import (
    is_permanent,
    outgoing_transport,
    report_transport_error,
    scope_of,
)
from mailboxes.transports import OutgoingMessage, SendResult, TransportError

logger = logging.getLogger(__name__)

SEND_BATCH = 50


class SendingStopped(Exception):
    """Raised when a failure that is not an email's own stops the sending;
    the failure was already reported."""

    def __init__(self, error: TransportError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class SendSummary:
    """Count what one sending pass did."""

    sent: int = 0
    troubled: int = 0


def pending_emails(mailbox: Mailbox) -> list[Email]:
    """Return the next emails of the mailbox that wait to be sent, oldest first."""
    return list(
        mailbox.emails.filter(
            direction=Direction.OUTGOING, status=EmailStatus.PENDING_SEND
        ).order_by("created_at", "pk")[:SEND_BATCH]
    )


def recover_interrupted(mailbox: Mailbox) -> int:
    """Put emails left "sending" by a dead worker back to "pending send".

    Call only while holding the mailbox's claim: no live worker sends them.
    """
    return Email.objects.filter(
        mailbox=mailbox, direction=Direction.OUTGOING, status=EmailStatus.SENDING
    ).update(status=EmailStatus.PENDING_SEND, updated_at=timezone.now())


def send_pending(mailbox: Mailbox, renew: Callable[[], None]) -> SendSummary | None:
    """Send what waits; return what happened, None when nothing waited.

    Raise TransportError when the session cannot be opened (not reported
    yet), SendingStopped when a message failed for a reason that is not its
    own (reported; the email goes back to pending).
    """
    emails = pending_emails(mailbox)
    if not emails:
        return None
    summary = SendSummary()
    with outgoing_transport(mailbox) as smtp:
        for email in emails:
            renew()
            if not _mark_sending(email):
                continue
            message = outgoing_message(mailbox, email)
            try:
                result = smtp.send(message)
            except TransportError as error:
                _whole_message_failed(mailbox, email, error)
                summary.troubled += 1
                continue
            summary.sent += _record_result(mailbox, email, result)
            summary.troubled += bool(result.refused)
    return summary


def _mark_sending(email: Email) -> bool:
    changed = Email.objects.filter(pk=email.pk, status=EmailStatus.PENDING_SEND).update(
        status=EmailStatus.SENDING,
        attempts=email.attempts + 1,
        updated_at=timezone.now(),
    )
    email.attempts += 1
    email.status = EmailStatus.SENDING
    return changed == 1


def outgoing_message(mailbox: Mailbox, email: Email) -> OutgoingMessage:
    """Return the message to send for an email, built when it has no raw bytes.

    A built message carries the email's Message-ID (made and saved when it
    had none), so the bounces that come back can be linked to it.
    """
    sender = email.sender or mailbox.address
    if not email.message_id:
        email.message_id = make_msgid(domain=sender.rpartition("@")[2] or None)
        Email.objects.filter(pk=email.pk).update(message_id=email.message_id)
    raw = bytes(email.raw or b"")
    if not raw:
        built = EmailMessage()
        built["From"] = sender
        built["To"] = ", ".join(email.recipients)
        built["Subject"] = email.subject
        built["Date"] = formatdate(localtime=False)
        built["Message-ID"] = email.message_id
        built.set_content(f"{email.subject}\n")
        raw = built.as_bytes()
    return OutgoingMessage(
        sender=sender,
        recipients=list(email.pending_recipients or email.recipients),
        raw=raw,
        message_id=email.message_id,
    )


def _whole_message_failed(
    mailbox: Mailbox, email: Email, error: TransportError
) -> None:
    """Record a failure of the whole message; raise it again unless it is the
    email's own, so that the run stops sending through a failing server."""
    own = scope_of(error) == Scope.EMAIL
    with transaction.atomic():
        report_transport_error(error, mailbox=mailbox, email=email if own else None)
        # The funnel marks the email failed when the failure is permanent and
        # its own; anything else sends it again later.
        Email.objects.filter(pk=email.pk, status=EmailStatus.SENDING).update(
            status=EmailStatus.PENDING_SEND,
            last_error=str(error)[:2000],
            updated_at=timezone.now(),
        )
    if not own:
        raise SendingStopped(error)


def _record_result(mailbox: Mailbox, email: Email, result: SendResult) -> int:
    """Write the outcome of one sent message; return 1 if anyone accepted it.

    Recipients refused for now while others took the message are sent to
    again, alone, until the email has had as many attempts as a transient
    failure gets before it counts as permanent (the funnel's limit). An email
    that reached anyone ends sent, naming whom it never reached.
    """
    with transaction.atomic():
        for error in result.refused.values():
            report_transport_error(error, mailbox=mailbox, email=email)
        if not (result.accepted or email.pending_recipients):
            # Nobody has it: a permanent refusal made the funnel mark the email
            # failed; a transient one leaves it to be sent again.
            last = "; ".join(str(e) for e in result.refused.values())[:2000]
            Email.objects.filter(pk=email.pk, status=EmailStatus.SENDING).update(
                status=EmailStatus.PENDING_SEND,
                last_error=last,
                updated_at=timezone.now(),
            )
            return 0

        later = _to_retry(email, result)
        refused = sorted({*email.refused_recipients, *result.refused} - {*later})
        done = {
            "sent_at": email.sent_at or timezone.now(),
            "refused_recipients": refused,
            "pending_recipients": later,
            "last_error": _refusals(refused, later),
            "updated_at": timezone.now(),
        }
        status = EmailStatus.PENDING_SEND if later else EmailStatus.SENT
        Email.objects.filter(pk=email.pk).update(status=status, **done)
        if not later:
            # A refusal for good stays alerted; trouble that passed does not.
            record_success(email=email, resolution="Sent", transient_only=bool(refused))
    return int(bool(result.accepted))


def _refusals(refused: list[str], later: list[str]) -> str:
    parts = [f"Refused: {', '.join(refused)}"] if refused else []
    if later:
        parts.append(f"refused for now: {', '.join(later)}")
    return "; ".join(parts)[:2000]


def _to_retry(email: Email, result: SendResult) -> list[str]:
    """Return the recipients to send to again: those refused for now, while
    the email has attempts left."""
    for_now = sorted(
        recipient
        for recipient, error in result.refused.items()
        if not is_permanent(error)
    )
    if not for_now:
        return []
    limit = AlertSettings.load().transient_attempts_before_permanent
    return [] if limit and email.attempts >= limit else for_now
