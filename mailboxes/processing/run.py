"""Process one mailbox: claim it, fetch, send, report, schedule the next run."""

from __future__ import annotations

import enum
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from alertcenter.api.metrics import observe_processing_run
from alerts.funnel import record_success
from mailboxes.choices import Direction, ProcessingState
from mailboxes.models import Mailbox
from mailboxes.processing import claims
from mailboxes.processing.endpoints import report_transport_error
from mailboxes.processing.incoming import fetch_incoming
from mailboxes.processing.outgoing import (
    SendingStopped,
    recover_interrupted,
    send_pending,
)
from mailboxes.transports import TransportError
from serverprofiles.choices import ProfileState

logger = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    DONE = "done"
    FAILED = "failed"
    BUSY = "busy"
    SKIPPED = "skipped"
    MISSING = "missing"
    LOST = "lost claim"


@dataclass
class RunReport:
    """Say what one run of one mailbox did."""

    mailbox_id: int
    address: str = ""
    outcome: Outcome = Outcome.DONE
    detail: str = ""
    fetched: int = 0
    sent: int = 0
    failures: list[str] = field(default_factory=list)

    def line(self) -> str:
        """Return the one-line summary that the management command prints."""
        parts = [f"{self.address or self.mailbox_id}: {self.outcome}"]
        if self.outcome in (Outcome.DONE, Outcome.FAILED):
            parts.append(f"fetched {self.fetched}, sent {self.sent}")
        if self.detail:
            parts.append(self.detail)
        parts.extend(self.failures)
        return "; ".join(parts)


def default_worker() -> str:
    """Return a name for this process, shown in claimed_by."""
    return f"{socket.gethostname()}:{os.getpid()}"


def due_mailboxes(now: datetime | None = None) -> QuerySet[Mailbox]:
    """Return the mailboxes to process now: enabled in a direction that is not
    suspended, profile active, not backing off, due, and not claimed."""
    now = now or timezone.now()
    usable = Q(incoming_enabled=True, incoming_suspended=False) | Q(
        outgoing_enabled=True, outgoing_suspended=False
    )
    return (
        Mailbox.objects.filter(usable, profile__state=ProfileState.ACTIVE)
        .exclude(processing_state=ProcessingState.DISABLED)
        .filter(Q(backoff_until__isnull=True) | Q(backoff_until__lte=now))
        .filter(
            Q(profile__backoff_until__isnull=True) | Q(profile__backoff_until__lte=now)
        )
        .filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_run_at", "pk")
    )


def process_mailbox(mailbox_id: int, worker: str = "") -> RunReport:
    """Run one processing pass of a mailbox if this worker can claim it."""
    # One token per run: two runs of the same process never share a claim.
    token = f"{worker or default_worker()}/{uuid.uuid4().hex[:8]}"
    if not claims.claim(mailbox_id, token):
        exists = Mailbox.objects.filter(pk=mailbox_id).exists()
        return RunReport(
            mailbox_id, outcome=Outcome.BUSY if exists else Outcome.MISSING
        )
    started = time.monotonic()
    try:
        with claims.heartbeat(mailbox_id, token):
            return _run(mailbox_id, token)
    except claims.LostClaim as lost:
        logger.warning("run of mailbox %s stopped: %s", mailbox_id, lost)
        return RunReport(mailbox_id, outcome=Outcome.LOST, detail=str(lost))
    finally:
        claims.release(mailbox_id, token)
        observe_processing_run("mailbox", time.monotonic() - started)


def skip_reason(mailbox: Mailbox, now: datetime) -> str:
    """Return why the mailbox must not be processed now, or ""."""
    profile = mailbox.profile
    if profile.state == ProfileState.SUSPENDED:
        return f"profile {profile.name} is suspended"
    if mailbox.processing_state == ProcessingState.DISABLED:
        return "processing is disabled"
    if not (_wants(mailbox, Direction.INCOMING) or _wants(mailbox, Direction.OUTGOING)):
        return "suspended or disabled in both directions"
    if mailbox.backoff_until and mailbox.backoff_until > now:
        return f"backing off until {mailbox.backoff_until:%H:%M:%S}"
    if profile.backoff_until and profile.backoff_until > now:
        return f"profile backing off until {profile.backoff_until:%H:%M:%S}"
    return ""


def _wants(mailbox: Mailbox, direction: str) -> bool:
    if direction == Direction.INCOMING:
        return mailbox.incoming_enabled and not mailbox.incoming_suspended
    return mailbox.outgoing_enabled and not mailbox.outgoing_suspended


def _run(mailbox_id: int, token: str) -> RunReport:
    mailbox = Mailbox.objects.select_related("profile").get(pk=mailbox_id)
    report = RunReport(mailbox_id, address=mailbox.address)
    why = skip_reason(mailbox, timezone.now())
    if why:
        report.outcome, report.detail = Outcome.SKIPPED, why
        return report

    def renew() -> None:
        claims.renew(mailbox, token)

    recover_interrupted(mailbox)
    Mailbox.objects.filter(
        pk=mailbox.pk,
        processing_state__in=[ProcessingState.IDLE, ProcessingState.BACKOFF],
    ).update(processing_state=ProcessingState.RUNNING)
    clean: list[str] = []
    if _wants(mailbox, Direction.INCOMING):
        if _incoming(mailbox, report, renew):
            clean.append(Direction.INCOMING)
    if report.failures:
        # A failure may have suspended the mailbox or set a backoff: the
        # outgoing side waits for it like the scheduler would.
        mailbox = Mailbox.objects.select_related("profile").get(pk=mailbox_id)
    if not skip_reason(mailbox, timezone.now()) and _wants(mailbox, Direction.OUTGOING):
        if _outgoing(mailbox, report, renew):
            clean.append(Direction.OUTGOING)

    for direction in clean:
        # The failure streak belongs to the run: one clean direction must not
        # wipe the streak (and backoff) that the other direction is building.
        record_success(
            mailbox=mailbox, direction=direction, reset_streak=not report.failures
        )
    if clean and not report.failures:
        record_success(profile=mailbox.profile)
    if report.failures:
        report.outcome = Outcome.FAILED
    _schedule_next(mailbox)
    return report


def _incoming(mailbox: Mailbox, report: RunReport, renew: Callable[[], None]) -> bool:
    """Fetch new mail; return whether the direction worked."""
    try:
        report.fetched = fetch_incoming(mailbox, renew)
    except TransportError as error:
        report_transport_error(error, mailbox=mailbox)
        report.failures.append(f"incoming {error}")
        return False
    return True


def _outgoing(mailbox: Mailbox, report: RunReport, renew: Callable[[], None]) -> bool:
    """Send pending mail; return whether the direction worked without trouble
    (False also when nothing waited: no session, nothing learned)."""
    try:
        summary = send_pending(mailbox, renew)
    except TransportError as error:
        report_transport_error(error, mailbox=mailbox)
        report.failures.append(f"outgoing {error}")
        return False
    except SendingStopped as stopped:
        report.failures.append(f"outgoing {stopped.error}")
        return False
    if summary is None:
        return False
    report.sent = summary.sent
    return summary.troubled == 0


def _schedule_next(mailbox: Mailbox) -> None:
    now = timezone.now()
    interval = timedelta(seconds=max(mailbox.profile.polling_interval_seconds, 1))
    Mailbox.objects.filter(pk=mailbox.pk).update(
        next_run_at=now + interval, last_run_at=now
    )
    Mailbox.objects.filter(
        pk=mailbox.pk, processing_state=ProcessingState.RUNNING
    ).update(processing_state=ProcessingState.IDLE)
