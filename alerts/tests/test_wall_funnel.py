"""Alerts written by the real funnel, seen through the wall."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts import funnel
from alerts.choices import FailureSource, SyncPromptKind
from tests.factories import make_mailbox

pytestmark = pytest.mark.django_db


def _auth_failure(mailbox):
    return funnel.report_failure(
        source=FailureSource.PROCESSING,
        stage="smtp-auth",
        text="535 5.7.8 Authentication credentials invalid",
        reply_code=535,
        status="5.7.8",
        mailbox=mailbox,
    )


def test_a_reported_failure_reaches_its_owner_with_code_and_advice(
    owner, other_owner
) -> None:
    mailbox = make_mailbox(owner)
    alert = _auth_failure(mailbox)
    client = Client()
    client.force_login(owner)

    page = client.get("/", {"level": "error"}).content.decode()

    assert alert.message in page
    assert "<code>535 5.7.8</code>" in page
    assert alert.explanation in page
    assert alert.action in page
    assert "Action required" in page
    client.force_login(other_owner)
    assert alert.message not in client.get("/").content.decode()


def test_a_deleted_alert_comes_back_when_the_cause_remains(owner) -> None:
    mailbox = make_mailbox(owner)
    alert = _auth_failure(mailbox)
    client = Client()
    client.force_login(owner)

    client.post(f"/alerts/{alert.pk}/delete/")
    assert alert.message not in client.get("/").content.decode()
    _auth_failure(mailbox)

    assert alert.message in client.get("/").content.decode()


def test_a_sync_prompt_is_decided_from_the_wall(owner) -> None:
    mailbox = make_mailbox(owner)
    prompt = funnel.open_sync_prompt(
        mailbox,
        SyncPromptKind.CONFLICT,
        "Board meeting, Monday 10:00",
        ["Save", "Skip"],
    )
    client = Client()
    client.force_login(owner)
    assert 'name="choice" value="Skip"' in client.get("/").content.decode()

    client.post(f"/alerts/{prompt.alert_id}/decide/", {"choice": "Skip"})

    prompt.refresh_from_db()
    assert (prompt.decision, prompt.decided_by) == ("Skip", owner)
    everything = client.get("/", {"state": "all"}).content.decode()
    assert "Decided: Skip" in everything
