"""Store reported failures durably first; queue their processing after.

A failure accepted here is never lost: it is committed before the answer,
and when the broker cannot take the processing task, the periodic sweep
(`alerts.tasks.sweep_unprocessed`) queues it later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction

from alerts.choices import FailureSource
from alerts.models import FailureRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stored:
    """The outcome of one batch: the record of each item, in order."""

    ids: list[int]
    created: int
    duplicates: int


def stored_key(user: Any, key: str) -> str:
    """Return the key as stored: keys are namespaced per submitting user, so
    that one reporter's keys can never swallow another's failures."""
    return f"{user.pk}:{key}"


def _record(item: dict[str, Any], user: Any, key: str | None) -> FailureRecord:
    return FailureRecord(
        source=FailureSource.API,
        occurred_at=item["occurred_at"],
        stage=item["stage"],
        text=item["text"],
        reply_code=item.get("reply_code"),
        status=item.get("status", ""),
        exception=item.get("exception", ""),
        recipient=item.get("recipient", ""),
        mailbox=item["mailbox"],
        profile_id=item["profile_id"],
        email=item["email"],
        idempotency_key=key,
        submitted_by=user,
    )


def store_failures(items: Sequence[dict[str, Any]], user: Any) -> Stored:
    """Store validated failures in one transaction; queue the new ones on commit.

    A key seen before (in an earlier request, a concurrent one, or earlier in
    this batch) maps to the record that holds it and is not stored again.
    """
    keys = [
        stored_key(user, item["idempotency_key"])
        if item.get("idempotency_key")
        else None
        for item in items
    ]
    wanted = {key for key in keys if key}

    with transaction.atomic():
        known = dict(
            FailureRecord.objects.filter(idempotency_key__in=wanted).values_list(
                "idempotency_key", "pk"
            )
        )
        unkeyed: list[FailureRecord] = []
        keyed: dict[str, FailureRecord] = {}
        for item, key in zip(items, keys, strict=True):
            if key is None:
                unkeyed.append(_record(item, user, None))
            elif key not in known and key not in keyed:
                keyed[key] = _record(item, user, key)

        FailureRecord.objects.bulk_create(unkeyed, batch_size=500)
        # A concurrent request may store the same key between the select above
        # and this insert: the unique constraint skips it, the re-select below
        # finds the row that won.
        FailureRecord.objects.bulk_create(
            keyed.values(), batch_size=500, ignore_conflicts=True
        )
        by_key = dict(
            FailureRecord.objects.filter(idempotency_key__in=keyed).values_list(
                "idempotency_key", "pk"
            )
        )
        by_key.update(known)

        fresh = [record.pk for record in unkeyed]
        fresh += [by_key[key] for key in keyed]
        transaction.on_commit(partial(queue_processing, fresh), robust=True)

    unkeyed_ids = iter(record.pk for record in unkeyed)
    ids = [by_key[key] if key else next(unkeyed_ids) for key in keys]
    return Stored(ids=ids, created=len(fresh), duplicates=len(ids) - len(fresh))


def queue_processing(record_ids: Sequence[int]) -> bool:
    """Queue the processing of the records; return whether the broker took
    them. A broker that is down refuses them all: the sweep queues them
    later."""
    from alerts.tasks import queue_failures

    try:
        queue_failures(list(record_ids))
    except Exception as exc:
        logger.warning(
            "broker refused %s failures (the sweep will queue them): %s: %s",
            len(record_ids),
            exc.__class__.__name__,
            exc,
        )
        return False
    return True
