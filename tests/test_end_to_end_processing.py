"""End to end: processing through a real Celery worker on Redis, against real
Dovecot and aiosmtpd servers, on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from django.test import override_settings

from alerts.choices import AlertState, Level, Scope
from alerts.models import Alert, FailureRecord
from mailboxes.choices import Direction, EmailStatus
from mailboxes.models import Email, Mailbox
from mailboxes.processing import request_test_and_enable
from mailboxes.tasks import process_mailbox_task, schedule_due_mailboxes
from mailboxes.tests.test_processing_support import (
    dsn,
    mailbox_for,
    message,
    profile_for,
)
from mailboxes.testservers import SmtpReplies, free_port
from serverprofiles.choices import TestStatus as Verdict
from tests.celery_worker import Worker, tasks_through_redis, wait_until
from tests.factories import make_email

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.mailserver,
    pytest.mark.django_db(transaction=True),
]

UNKNOWN = "550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown"


@pytest.fixture
def redis_tasks() -> Iterator[None]:
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False), tasks_through_redis():
        yield


@pytest.fixture
def start_worker(tmp_path: Path, redis_tasks: None) -> Iterator[object]:
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(tmp_path / f"worker{len(started)}.log")
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


def outgoing(mailbox: Mailbox) -> list[Email]:
    return list(mailbox.emails.filter(direction=Direction.OUTGOING).order_by("pk"))


def test_worker_processes_due_mailboxes_and_test_and_enable(
    start_worker, dovecot, dovecot_user, smtp_server
):
    name, password = dovecot_user
    server = smtp_server(SmtpReplies(rcpt={"nobody@example.net": UNKNOWN}))
    profile = profile_for(incoming_port=dovecot.imap, outgoing_port=server.port)
    good = mailbox_for(profile, dovecot_user)
    # SMTP without AUTH: the sending mailbox has no password of its own.
    sender = mailbox_for(profile, incoming_enabled=False, password="")
    locked = mailbox_for(profile, (name, "wrong"), outgoing_enabled=False)
    original = make_email(sender, recipients=["nobody@example.net"])
    fine = make_email(sender, recipients=["friend@example.net"])
    dovecot.deliver(name, message("hello"))
    dovecot.deliver(
        name, dsn("<bounced-1@example.com>", "gone@example.net", "5.1.1", UNKNOWN)
    )
    bounced = make_email(
        good, status=EmailStatus.SENT, message_id="<bounced-1@example.com>"
    )
    start_worker()

    assert schedule_due_mailboxes() == 3
    wait_until(
        lambda: (
            Email.objects.filter(mailbox=good, direction="incoming").count() == 2
            and Mailbox.objects.get(pk=locked.pk).incoming_suspended
            and not Email.objects.filter(status=EmailStatus.PENDING_SEND).exists()
        ),
        30,
        "the three mailboxes to be processed",
    )

    original.refresh_from_db()
    fine.refresh_from_db()
    bounced.refresh_from_db()
    assert (original.status, fine.status) == (EmailStatus.FAILED, EmailStatus.SENT)
    assert bounced.status == EmailStatus.FAILED
    assert Alert.objects.get(email=bounced).stage == "dsn"
    error = Alert.objects.get(mailbox=locked, scope=Scope.MAILBOX)
    assert error.level == Level.ERROR

    locked.password = password
    locked.save()
    request_test_and_enable(locked, locked.owner)
    wait_until(
        lambda: Mailbox.objects.get(pk=locked.pk).incoming_test == Verdict.SUCCESS,
        30,
        "Test & Enable to pass",
    )
    locked.refresh_from_db()
    error.refresh_from_db()
    assert not locked.is_suspended
    assert error.state == AlertState.RESOLVED
    assert Alert.objects.filter(mailbox=locked, level=Level.INFORMATION).exists()


class SlowHandler:
    """Accept mail slowly (a second per message), refusing some recipients."""

    def __init__(self, refused: dict[str, str]) -> None:
        self.refused = refused
        self.received: list[bytes] = []

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address in self.refused:
            return self.refused[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(1.0)
        self.received.append(envelope.original_content or b"")
        return "250 2.0.0 Ok: queued"


@pytest.fixture
def slow_smtp() -> Iterator[tuple[SlowHandler, int]]:
    handler = SlowHandler({"nobody@example.net": UNKNOWN})
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=lambda *args: AuthResult(success=True),
        auth_require_tls=False,
    )
    controller.start()
    yield handler, port
    controller.stop()


def test_a_worker_killed_mid_run_loses_nothing_and_counts_nothing_twice(
    start_worker, dovecot, dovecot_user, slow_smtp
):
    handler, port = slow_smtp
    name, _password = dovecot_user
    profile = profile_for(
        incoming_port=dovecot.imap, outgoing_port=port, timeout_seconds=2
    )
    mailbox = mailbox_for(profile, dovecot_user)
    for n in range(5):
        dovecot.deliver(name, message(f"incoming {n}"))
    for n in range(5):
        recipient = "nobody@example.net" if n == 2 else f"friend{n}@example.net"
        make_email(mailbox, recipients=[recipient], subject=f"outgoing {n}")
    first = start_worker()

    process_mailbox_task.delay(mailbox.pk)
    wait_until(
        lambda: mailbox.emails.filter(status=EmailStatus.SENT).exists(),
        30,
        "the first email to be sent",
    )
    first.kill()

    held = Mailbox.objects.get(pk=mailbox.pk)
    assert held.claimed_by.startswith(first.name)
    assert Email.objects.filter(mailbox=mailbox, direction="incoming").count() == 5
    assert mailbox.emails.filter(status=EmailStatus.PENDING_SEND).exists()
    assert schedule_due_mailboxes() == 0  # the dead worker's claim still holds

    start_worker()
    wait_until(
        lambda: schedule_due_mailboxes() > 0,
        40,
        "the dead worker's claim to lapse",
    )
    wait_until(
        lambda: (
            not mailbox.emails.filter(
                status__in=[EmailStatus.PENDING_SEND, EmailStatus.SENDING]
            ).exists()
        ),
        30,
        "the second worker to finish the sending",
    )

    incoming = Email.objects.filter(mailbox=mailbox, direction="incoming")
    assert incoming.count() == 5
    assert len(set(incoming.values_list("remote_uid", flat=True))) == 5
    statuses = [e.status for e in outgoing(mailbox)]
    assert statuses == ["sent", "sent", "failed", "sent", "sent"]
    refused = outgoing(mailbox)[2]
    assert FailureRecord.objects.filter(email=refused).count() == 1
    assert Alert.objects.get(email=refused).count == 1
    delivered = b"".join(handler.received)
    for email in outgoing(mailbox):
        if email.status == EmailStatus.SENT:
            assert email.message_id.encode() in delivered
