"""A failure accepted is never lost: with no broker the API still answers 202,
and the periodic sweep later processes every stored failure exactly once."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from alertcenter.celery import app as celery_app
from alerts.models import Alert, FailureRecord
from alerts.tasks import sweep_unprocessed
from tests.factories import make_mailbox
from tests.test_api_support import (
    ApiClient,
    failure,
    fresh_rate_limits,  # noqa: F401
)

URL = "/api/v1/failures"


def test_accepted_while_the_broker_is_down_then_swept_once(
    owner, broker_down, django_capture_on_commit_callbacks, caplog
):
    box = make_mailbox(owner=owner)
    items = [
        failure(box.address, text="421 4.7.0 Too many connections, try later"),
        failure(box.address, stage="smtp-send", text="552 5.2.2 Mailbox full"),
        failure(box.address, idempotency_key="once"),
    ]
    api = ApiClient(owner)

    with caplog.at_level(logging.WARNING, logger="alertcenter.api.intake"):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(URL, {"failures": items})

    assert response.status_code == 202
    ids = response.json()["ids"]
    assert "broker refused" in caplog.text
    assert FailureRecord.objects.filter(pk__in=ids, processed_at=None).count() == 3

    # The broker is back; the sweep picks up what waited over a minute.
    celery_app.conf.task_always_eager = True
    old = timezone.now() - timedelta(minutes=5)
    FailureRecord.objects.filter(pk__in=ids).update(received_at=old)
    assert sweep_unprocessed() == 3

    records = FailureRecord.objects.filter(pk__in=ids)
    assert all(record.processed_at is not None for record in records)
    processed_at = {record.pk: record.processed_at for record in records}
    counts = dict(Alert.objects.values_list("pk", "count"))

    assert sweep_unprocessed() == 0
    again = {r.pk: r.processed_at for r in FailureRecord.objects.filter(pk__in=ids)}
    assert again == processed_at
    assert dict(Alert.objects.values_list("pk", "count")) == counts
    # Each processing adds one to its alert's count: once per record.
    linked = [r.alert_id for r in records if r.alert_id is not None]
    assert linked
    assert sum(counts[pk] for pk in set(linked)) == len(linked)
