"""The dashboard: mailbox health tiles, alerts per day, top failing profiles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from alerts.choices import Level
from alerts.tests.test_wall_helpers import make_alert
from mailboxes.choices import ProcessingState
from serverprofiles.choices import TestStatus as Tested
from tests.factories import make_mailbox, make_profile

pytestmark = pytest.mark.django_db


def _health(response) -> dict[str, int]:
    return {value: n for value, _, n in response.context["health"]}


def test_health_tiles_count_each_kind_of_mailbox(admin_user, owner) -> None:
    ok = {"incoming_test": Tested.SUCCESS, "outgoing_test": Tested.SUCCESS}
    make_mailbox(owner, **ok)
    make_mailbox(owner, **ok, consecutive_failures=2)
    make_mailbox(owner, incoming_test=Tested.FAILURE)
    make_mailbox(owner, incoming_suspended=True, incoming_test=Tested.FAILURE)
    make_mailbox(owner)
    client = Client()
    client.force_login(admin_user)

    response = client.get("/dashboard/")

    assert _health(response) == {
        "healthy": 1,
        "warning": 1,
        "failing": 1,
        "suspended": 1,
        "not_tested": 1,
    }
    assert 'href="/mailboxes/?health=failing"' in response.content.decode()


def test_owner_dashboard_counts_only_their_mailboxes(owner, other_owner) -> None:
    make_mailbox(owner)
    make_mailbox(other_owner, processing_state=ProcessingState.SUSPENDED)
    client = Client()
    client.force_login(owner)

    assert _health(client.get("/dashboard/")) == {
        "healthy": 0,
        "warning": 0,
        "failing": 0,
        "suspended": 0,
        "not_tested": 1,
    }


def test_chart_stacks_alerts_per_day_by_level(admin_user) -> None:
    now = timezone.now()
    make_alert(level=Level.ERROR, first_seen=now, seen=now)
    make_alert(level=Level.ERROR, first_seen=now, seen=now)
    make_alert(level=Level.WARNING, first_seen=now, seen=now)
    old = now - timedelta(days=3)
    make_alert(level=Level.INFORMATION, first_seen=old, seen=old)
    make_alert(level=Level.ERROR, first_seen=now - timedelta(days=40))
    client = Client()
    client.force_login(admin_user)

    response = client.get("/dashboard/")

    chart = response.context["chart"]
    assert chart.peak == 3
    assert sorted(b.level for b in chart.bars) == ["error", "information", "warning"]
    assert "<svg" in response.content.decode()
    assert "style=" not in response.content.decode()


def test_top_profiles_rank_by_failing_mailboxes(admin_user, owner) -> None:
    worst, better = make_profile(owner, name="worst"), make_profile(owner, name="ok")
    for _ in range(3):
        make_mailbox(owner, worst, incoming_test=Tested.FAILURE)
    make_mailbox(owner, better, incoming_test=Tested.FAILURE)
    client = Client()
    client.force_login(admin_user)

    top = client.get("/dashboard/").context["top_profiles"]

    assert [(p.name, n) for p, n in top] == [("worst", 3), ("ok", 1)]
