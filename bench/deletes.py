"""Delete alerts as an admin: the funnel's set-based delete beside Django's
QuerySet.delete(), which loads every alert and cascades in Python."""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.data import ADMIN_ID
from bench.report import Row, Table

PEER_SIZE = 100_000
TARGET_SECONDS = 3.0


class Rollback(Exception):
    """Raised to undo a measured delete."""


def timed_then_undone(delete: Callable[[], int]) -> tuple[float, int]:
    """Return the seconds and row count of a delete run in a transaction that
    is rolled back afterwards, so that the next measurement sees the rows."""
    from django.db import transaction

    outcome: list[tuple[float, int]] = []
    try:
        with transaction.atomic():
            started = time.perf_counter()
            count = delete()
            outcome.append((time.perf_counter() - started, count))
            raise Rollback
    except Rollback:
        pass
    return outcome[0]


def measure_slice(table: Table) -> None:
    """Delete the same 100,000 alerts both ways, each undone after."""
    from django.contrib.auth.models import User

    from alerts import funnel
    from alerts.models import Alert

    admin = User.objects.get(pk=ADMIN_ID)

    def first_alerts() -> object:
        return Alert.objects.filter(pk__lte=PEER_SIZE)

    peer, _ = timed_then_undone(lambda: first_alerts().delete()[0])
    ours, count = timed_then_undone(
        lambda: funnel.delete_alerts(first_alerts(), admin)  # type: ignore[arg-type]
    )
    table.add(
        Row(
            f"delete {count:,} alerts with recipients, as admin",
            "s",
            ours,
            "QuerySet.delete()",
            peer,
            peer / ours,
            "",
            None,
            "same rows both ways, each in a transaction rolled back after",
        )
    )


def measure_all(table: Table) -> None:
    """Delete every alert through the funnel, committed (the last step)."""
    from django.contrib.auth.models import User

    from alerts import funnel
    from alerts.models import Alert, AlertRecipient

    admin = User.objects.get(pk=ADMIN_ID)
    recipients = AlertRecipient.objects.count()
    started = time.perf_counter()
    count = funnel.delete_alerts(Alert.objects.all(), admin)
    ours = time.perf_counter() - started
    table.add(
        Row(
            f"delete all {count:,} alerts ({recipients:,} recipients), as admin",
            "s",
            ours,
            "",
            None,
            None,
            f"< {TARGET_SECONDS:.0f} s",
            ours < TARGET_SECONDS,
            "funnel.delete_alerts, committed; the peer row above is at "
            f"{PEER_SIZE:,} (it loads every alert into Python)",
        )
    )
