"""Celery tasks of the alerts funnel: thin wrappers around plain functions."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from alerts import funnel, notify
from alerts.choices import AlertState
from alerts.models import Alert, AlertSettings, FailureRecord

logger = logging.getLogger(__name__)

SWEEP_AFTER = timedelta(seconds=60)
SWEEP_BATCH = 5000
TASK_CHUNK = 200


# A deadlock (or a database that went away) rolls a batch back whole; it is
# run again shortly, and the sweep catches whatever still falls through.
FUNNEL_RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 2,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(acks_late=True, **FUNNEL_RETRY)
def process_failure(record_id: int) -> int | None:
    """Run one stored failure through the funnel (safe to run twice)."""
    return funnel.process_failure_records([record_id]).get(record_id)


@shared_task(acks_late=True, **FUNNEL_RETRY)
def process_failures(record_ids: list[int]) -> int:
    """Run a batch of stored failures through the funnel (safe to run twice);
    return how many were processed now."""
    return len(funnel.process_failure_records(record_ids))


def queue_failures(record_ids: list[int]) -> None:
    """Queue stored failures for processing, a chunk per task, so that the
    funnel shares its work within a chunk and workers share the chunks.
    Raise what the broker raises when it refuses."""
    for start in range(0, len(record_ids), TASK_CHUNK):
        process_failures.delay(list(record_ids[start : start + TASK_CHUNK]))


@shared_task
def sweep_unprocessed() -> int:
    """Queue the stored failures that were never processed (a broker outage)."""
    ids = list(
        funnel.unprocessed_failures(SWEEP_AFTER).values_list("pk", flat=True)[
            :SWEEP_BATCH
        ]
    )
    queue_failures(ids)
    if ids:
        logger.warning("sweep queued %s unprocessed failures", len(ids))
    return len(ids)


@shared_task(acks_late=True)
def notify_alert(alert_id: int) -> int:
    """Email the people who must act on one alert."""
    return notify.notify_alert(alert_id)


@shared_task
def purge_resolved() -> int:
    """Delete resolved alerts, and processed failures, older than the
    retention period; return how many alerts went."""
    limit = timezone.now() - timedelta(days=AlertSettings.load().retention_days)
    FailureRecord.objects.filter(processed_at__lt=limit)._raw_delete("default")
    old = Alert.objects.filter(state=AlertState.RESOLVED, resolved_at__lt=limit)
    return funnel.remove_alerts(old)
