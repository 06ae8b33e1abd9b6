"""Celery tasks of processing: ids in, plain functions inside, safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from mailboxes import processing
from mailboxes.models import Mailbox
from mailboxes.processing.claims import lease_for
from serverprofiles.models import ServerProfile

logger = logging.getLogger(__name__)

SCHEDULE_BATCH = 500


@shared_task(acks_late=True, bind=True)
def process_mailbox_task(self: object, mailbox_id: int) -> str:
    """Process one mailbox if no other worker holds it."""
    hostname = getattr(getattr(self, "request", None), "hostname", None) or ""
    try:
        report = processing.process_mailbox(mailbox_id, worker=hostname)
    except Exception:
        logger.exception("processing of mailbox %s failed", mailbox_id)
        raise
    logger.info("%s", report.line())
    return str(report.outcome)


@shared_task
def schedule_due_mailboxes() -> int:
    """Queue the mailboxes that are due; return how many were queued.

    Each queued mailbox's next run is moved one lease ahead, so the next tick
    does not queue it again while it waits; a run that never finishes (a
    killed worker) makes it due again once that time and its claim lapse.
    """
    now = timezone.now()
    queued = 0
    due = processing.due_mailboxes(now).select_related("profile")[:SCHEDULE_BATCH]
    for mailbox in due:
        hold = now + lease_for(mailbox.profile)
        taken = Mailbox.objects.filter(
            pk=mailbox.pk, next_run_at=mailbox.next_run_at
        ).update(next_run_at=hold)
        if taken != 1:
            continue
        mailbox_id = mailbox.pk
        transaction.on_commit(lambda i=mailbox_id: process_mailbox_task.delay(i))
        queued += 1
    if queued:
        logger.info("queued %s due mailboxes", queued)
    return queued


@shared_task(acks_late=True)
def test_and_enable_task(mailbox_id: int, user_id: int | None) -> bool:
    """Run Test & Enable of one mailbox; return whether it passed."""
    mailbox = Mailbox.objects.filter(pk=mailbox_id).first()
    if mailbox is None:
        return False
    user = User.objects.filter(pk=user_id).first() if user_id else None
    return processing.run_test_and_enable(mailbox, user).passed


@shared_task(acks_late=True)
def test_profile_task(
    profile_id: int, user_id: int | None, all_mailboxes: bool
) -> bool:
    """Test one profile (and its mailboxes if asked); return whether it passed."""
    profile = ServerProfile.objects.filter(pk=profile_id).first()
    if profile is None:
        return False
    user = User.objects.filter(pk=user_id).first() if user_id else None
    return processing.run_profile_test(profile, user, all_mailboxes).passed


__all__ = [
    "process_mailbox_task",
    "schedule_due_mailboxes",
    "test_and_enable_task",
    "test_profile_task",
]
