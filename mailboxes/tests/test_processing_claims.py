"""One worker per mailbox, a profile's connection limit, the scheduler, and
the requests, tasks and commands around processing."""

from __future__ import annotations

import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from alerts.choices import AuditAction
from alerts.models import AuditEntry
from mailboxes.choices import EmailStatus
from mailboxes.models import Mailbox
from mailboxes.processing import (
    Outcome,
    claim,
    due_mailboxes,
    process_mailbox,
    release,
    request_test_and_enable,
)
from mailboxes.tasks import schedule_due_mailboxes
from mailboxes.tests.test_processing_support import mailbox_for, message, profile_for
from serverprofiles.choices import ProfileState
from serverprofiles.choices import TestStatus as Verdict
from tests.factories import make_email

pytestmark = pytest.mark.django_db


def test_a_claimed_mailbox_is_not_processed_by_a_second_worker(dovecot, dovecot_user):
    profile = profile_for(incoming_port=dovecot.imap)
    mailbox = mailbox_for(profile, dovecot_user, outgoing_enabled=False)
    dovecot.deliver(dovecot_user[0], message("held"))
    assert claim(mailbox.pk, "worker-a")

    second = process_mailbox(mailbox.pk, worker="worker-b")

    assert second.outcome == Outcome.BUSY
    assert not mailbox.emails.exists()
    mailbox.refresh_from_db()
    assert mailbox.claimed_by == "worker-a"
    release(mailbox.pk, "worker-a")
    assert process_mailbox(mailbox.pk, worker="worker-b").fetched == 1


def test_an_expired_claim_is_picked_up_and_its_sending_email_recovered(
    smtp_server,
):
    server = smtp_server()
    profile = profile_for(outgoing_port=server.port)
    mailbox = mailbox_for(profile, incoming_enabled=False, password="")
    email = make_email(mailbox, status=EmailStatus.SENDING, attempts=1)
    Mailbox.objects.filter(pk=mailbox.pk).update(
        claimed_by="dead-worker", claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert list(due_mailboxes()) == [mailbox]

    run = process_mailbox(mailbox.pk, worker="worker-b")

    email.refresh_from_db()
    assert (run.outcome, run.sent) == (Outcome.DONE, 1)
    assert (email.status, email.attempts) == (EmailStatus.SENT, 2)
    assert len(server.messages) == 1


def test_a_live_claim_is_not_due(smtp_server):
    profile = profile_for()
    mailbox = mailbox_for(profile)
    assert claim(mailbox.pk, "worker-a")
    assert not due_mailboxes().exists()
    release(mailbox.pk, "someone-else")
    assert not due_mailboxes().exists()
    release(mailbox.pk, "worker-a")
    assert due_mailboxes().exists()


def test_the_profile_connection_limit_holds_across_workers():
    profile = profile_for(max_connections=2)
    boxes = [mailbox_for(profile) for _ in range(3)]

    got = [claim(box.pk, f"worker-{n}") for n, box in enumerate(boxes)]

    assert got == [True, True, False]
    assert process_mailbox(boxes[2].pk).outcome == Outcome.BUSY
    release(boxes[0].pk, "worker-0")
    assert claim(boxes[2].pk, "worker-2")


def test_due_mailboxes_honours_suspension_backoff_and_schedule():
    now = timezone.now()
    profile = profile_for()
    due = mailbox_for(profile)
    mailbox_for(profile, incoming_suspended=True, outgoing_suspended=True)
    mailbox_for(profile, backoff_until=now + timedelta(minutes=5))
    mailbox_for(profile, next_run_at=now + timedelta(minutes=5))
    mailbox_for(profile, incoming_enabled=False, outgoing_enabled=False)
    late = mailbox_for(profile, next_run_at=now - timedelta(minutes=5))
    other = profile_for(state=ProfileState.SUSPENDED)
    mailbox_for(other)
    waiting = profile_for(backoff_until=now + timedelta(minutes=5))
    mailbox_for(waiting)

    assert set(due_mailboxes()) == {due, late}


def test_the_scheduler_queues_each_due_mailbox_once(
    django_capture_on_commit_callbacks, smtp_server
):
    server = smtp_server()
    profile = profile_for(outgoing_port=server.port)
    mailbox = mailbox_for(profile, incoming_enabled=False, password="")
    make_email(mailbox)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert schedule_due_mailboxes() == 1
        assert schedule_due_mailboxes() == 0

    assert len(callbacks) == 1
    mailbox.refresh_from_db()
    assert len(server.messages) == 1
    assert mailbox.next_run_at > timezone.now() + timedelta(seconds=50)


def test_request_test_and_enable_audits_and_runs_after_commit(
    django_capture_on_commit_callbacks, smtp_server, owner
):
    server = smtp_server()
    profile = profile_for(outgoing_port=server.port)
    mailbox = mailbox_for(profile, incoming_enabled=False, password="", owner=owner)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_test_and_enable(mailbox, owner)
    mailbox.refresh_from_db()
    assert mailbox.test_requested_at is not None
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor) == (AuditAction.TEST_AND_ENABLE, owner)

    callbacks[0]()

    mailbox.refresh_from_db()
    assert mailbox.test_requested_at is None
    assert mailbox.outgoing_test == Verdict.SUCCESS
    assert mailbox.incoming_test == Verdict.NOT_RUN


def test_test_and_enable_command(dovecot, dovecot_user):
    profile = profile_for(incoming_port=dovecot.imap)
    mailbox = mailbox_for(profile, dovecot_user, outgoing_enabled=False)
    out = StringIO()

    call_command("test_and_enable", mailbox.address.upper(), stdout=out)

    assert "incoming: success" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("test_and_enable", "nobody@nowhere.example", stdout=out)


def test_test_profile_command_with_all_mailboxes(dovecot, dovecot_user, smtp_server):
    server = smtp_server()
    profile = profile_for(incoming_port=dovecot.imap, outgoing_port=server.port)
    good = mailbox_for(profile, dovecot_user)
    bad = mailbox_for(profile, (dovecot_user[0], "wrong"))
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("test_profile", profile.name, "--all-mailboxes", stdout=out)

    text = out.getvalue()
    profile.refresh_from_db()
    assert f"profile {profile.name} incoming: success" in text
    assert f"{bad.address} incoming: failure" in text
    assert profile.incoming_test == Verdict.SUCCESS and profile.tested_at
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.incoming_test == Verdict.SUCCESS
    assert bad.incoming_test == Verdict.FAILURE and bad.incoming_suspended


def test_process_mailboxes_once_prints_a_line_per_mailbox(dovecot, dovecot_user):
    profile = profile_for(incoming_port=dovecot.imap)
    mailbox = mailbox_for(profile, dovecot_user, outgoing_enabled=False)
    dovecot.deliver(dovecot_user[0], message("one"))
    out = StringIO()

    call_command("process_mailboxes", "--once", stdout=out)
    call_command("process_mailboxes", "--once", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines == [
        f"{mailbox.address}: done; fetched 1, sent 0",
        "No mailbox is due.",
    ]


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_a_slow_run_claimed_and_stops_with_it():
    from mailboxes.processing import claims
    from tests.factories import make_mailbox

    mailbox = make_mailbox()
    assert claim(mailbox.pk, "slow-worker")
    soon = timezone.now() + timedelta(milliseconds=300)
    Mailbox.objects.filter(pk=mailbox.pk).update(claimed_until=soon)

    with claims.heartbeat(mailbox.pk, "slow-worker", every=0.1):
        # A step slower than the lease that was left.
        time.sleep(0.6)
        renewed = Mailbox.objects.get(pk=mailbox.pk).claimed_until
        assert renewed > timezone.now() + claims.lease_for(mailbox.profile) / 2
        assert not claim(mailbox.pk, "second-worker")

    Mailbox.objects.filter(pk=mailbox.pk).update(claimed_until=soon)
    time.sleep(0.3)
    assert Mailbox.objects.get(pk=mailbox.pk).claimed_until == soon


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_never_renews_a_claim_another_worker_took():
    from mailboxes.processing import claims
    from tests.factories import make_mailbox

    mailbox = make_mailbox()
    assert claim(mailbox.pk, "second-worker")
    mine = Mailbox.objects.get(pk=mailbox.pk).claimed_until

    with claims.heartbeat(mailbox.pk, "first-worker", every=0.05):
        time.sleep(0.3)

    mailbox.refresh_from_db()
    assert (mailbox.claimed_by, mailbox.claimed_until) == ("second-worker", mine)


@pytest.mark.django_db(transaction=True)
def test_a_run_slower_than_its_lease_keeps_its_claim(smtp_server, monkeypatch):
    import threading

    from django.db import connections

    from mailboxes.processing import claims
    from mailboxes.testservers import SmtpReplies

    # A one-second lease, and a server that takes three seconds over DATA.
    monkeypatch.setattr(claims, "LEASE_TIMEOUTS", 0)
    monkeypatch.setattr(claims, "LEASE_MARGIN_SECONDS", 1)
    server = smtp_server(SmtpReplies(data_delay=3.0))
    profile = profile_for(outgoing_port=server.port, timeout_seconds=10)
    mailbox = mailbox_for(profile, incoming_enabled=False, password="")
    make_email(mailbox, recipients=["a@example.net"])
    runs = []

    def worker() -> None:
        try:
            runs.append(process_mailbox(mailbox.pk))
        finally:
            connections.close_all()

    run = threading.Thread(target=worker)

    run.start()
    time.sleep(2.0)
    taken_over = claim(mailbox.pk, "second-worker")
    run.join(timeout=30)

    assert not taken_over
    assert runs[0].outcome == Outcome.DONE and runs[0].sent == 1
