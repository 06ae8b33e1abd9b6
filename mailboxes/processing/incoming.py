"""Fetch new mail of one mailbox, store it, and read the bounces among it.

Each batch is stored in one transaction together with the fetch state after
it and the failures its bounces report: a worker killed mid-batch leaves
nothing behind, and the next run fetches the same batch again. The unique
(mailbox, remote_uid) makes a repeat harmless even if the state was lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from email import policy
from email.parser import BytesParser
from email.utils import parseaddr

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerts.bounces import BounceReport, read_bounce
from alerts.choices import FailureSource
from alerts.funnel import report_failure
from mailboxes.choices import Direction, EmailStatus
from mailboxes.models import Email, Mailbox
from mailboxes.processing.endpoints import incoming_transport, report_transport_error
from mailboxes.transports import FetchedMessage, TransportError

logger = logging.getLogger(__name__)

BATCH_SIZE = 20
MAX_BATCHES_PER_RUN = 10
MAX_STORED_BYTES = 1024 * 1024
FAILING_ACTIONS = ("failed", "delayed")


def fetch_incoming(mailbox: Mailbox, renew: Callable[[], None]) -> int:
    """Fetch and store new messages in batches; return how many were stored.

    Raise TransportError when a session fails; what was stored before stays.
    """
    transport = incoming_transport(mailbox)
    state = dict(mailbox.fetch_state or {})
    stored = 0
    for _batch in range(MAX_BATCHES_PER_RUN):
        result = transport.fetch_new(
            state, limit=BATCH_SIZE, known=_known_message_ids(mailbox)
        )
        with transaction.atomic():
            for message in result.messages:
                stored += store_message(mailbox, message)
            Mailbox.objects.filter(pk=mailbox.pk).update(fetch_state=result.state)
        for error in result.skipped:
            report_transport_error(error, mailbox=mailbox)
        state = result.state
        renew()
        if not result.more:
            break
    mailbox.fetch_state = state
    return stored


def _known_message_ids(mailbox: Mailbox) -> Callable[[Collection[str]], set[str]]:
    def known(message_ids: Collection[str]) -> set[str]:
        return set(
            Email.objects.filter(
                mailbox=mailbox,
                direction=Direction.INCOMING,
                message_id__in=list(message_ids),
            ).values_list("message_id", flat=True)
        )

    return known


def store_message(mailbox: Mailbox, message: FetchedMessage) -> int:
    """Store one fetched message and report its bounce; return 1 if it was new."""
    headers = _headers(message.raw)
    email, created = Email.objects.get_or_create(
        mailbox=mailbox,
        remote_uid=message.uid[:200],
        defaults={
            "direction": Direction.INCOMING,
            "status": EmailStatus.RECEIVED,
            "message_id": (message.message_id or headers["message_id"])[:998],
            "sender": headers["sender"][:320],
            "recipients": headers["recipients"],
            "subject": headers["subject"][:998],
            "raw": message.raw[:MAX_STORED_BYTES],
            "received_at": timezone.now(),
        },
    )
    if not created:
        logger.debug("message %s of %s was stored before", message.uid, mailbox)
        return 0
    report = _read_bounce(message.raw)
    if report is not None and report.is_bounce:
        email.is_bounce = True
        email.save(update_fields=["is_bounce"])
        report_bounce(mailbox, report)
    return 1


def _headers(raw: bytes) -> dict[str, str]:
    """Return the sender, subject, recipients and Message-ID of a message."""
    found = {"sender": "", "subject": "", "message_id": "", "recipients": []}
    try:
        parsed = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
        found["sender"] = parseaddr(str(parsed.get("From", "")))[1]
        found["subject"] = str(parsed.get("Subject", "")).strip()
        found["message_id"] = str(parsed.get("Message-ID", "")).strip()
        found["recipients"] = [
            address
            for _name, address in (
                parseaddr(part) for part in str(parsed.get("To", "")).split(",")
            )
            if address
        ][:100]
    except Exception:  # untrusted bytes: a header the parser chokes on is skipped
        logger.warning("could not read the headers of a fetched message")
    return found  # type: ignore[return-value]


def _read_bounce(raw: bytes) -> BounceReport | None:
    try:
        return read_bounce(raw)
    except Exception:
        logger.exception("the bounce reader failed on a fetched message")
        return None


def report_bounce(mailbox: Mailbox, report: BounceReport) -> int:
    """Report each failed or delayed recipient of a bounce as a failure of the
    outgoing email it is about; return how many were reported."""
    original = find_original(mailbox, report.original_message_id)
    reported = 0
    for recipient in report.recipients:
        if recipient.action not in FAILING_ACTIONS:
            continue
        report_failure(
            source=FailureSource.BOUNCE,
            stage="dsn",
            text=recipient.diagnostic,
            status=recipient.status or "",
            reply_code=recipient.reply_code,
            recipient=recipient.recipient,
            email=original,
            mailbox=original.mailbox if original else mailbox,
        )
        reported += 1
    return reported


def normalized_message_ids(message_id: str) -> list[str]:
    """Return the spellings a Message-ID may be stored under."""
    bare = message_id.strip().strip("<>").strip()
    return [f"<{bare}>", bare] if bare else []


def find_original(mailbox: Mailbox, message_id: str | None) -> Email | None:
    """Return the outgoing email a bounce is about: first in this mailbox,
    then in any mailbox of the same owner."""
    spellings = normalized_message_ids(message_id or "")
    if not spellings:
        return None
    outgoing = Email.objects.filter(
        direction=Direction.OUTGOING, message_id__in=spellings
    ).select_related("mailbox")
    return (
        outgoing.filter(mailbox=mailbox).first()
        or outgoing.filter(Q(mailbox__owner_id=mailbox.owner_id)).first()
    )


__all__ = ["TransportError", "fetch_incoming", "find_original", "report_bounce"]
