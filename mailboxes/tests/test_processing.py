"""Processing against real servers: Dovecot (IMAP, POP3) and aiosmtpd."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.choices import AlertState, Level, Persistence, Scope
from alerts.models import Alert, AlertRecipient, AlertSettings, FailureRecord
from mailboxes.choices import Direction, EmailStatus, ProcessingState
from mailboxes.models import Email, Mailbox
from mailboxes.processing import Outcome, process_mailbox, run_test_and_enable
from mailboxes.tests.test_processing_support import (
    dsn,
    mailbox_for,
    message,
    profile_for,
)
from mailboxes.testservers import SmtpReplies
from serverprofiles.choices import ProfileState
from serverprofiles.choices import TestStatus as Verdict
from serverprofiles.models import ServerProfile
from tests.factories import make_email, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.mailserver]

UNKNOWN = "550 5.1.1 <nobody@example.net>: Recipient address rejected: User unknown"


def incoming(mailbox: Mailbox) -> list[Email]:
    return list(mailbox.emails.filter(direction=Direction.INCOMING).order_by("pk"))


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_new_mail_is_stored_once_across_runs(dovecot, dovecot_user, protocol):
    port = dovecot.imap if protocol == "imap" else dovecot.pop3
    profile = profile_for(incoming_port=port, protocol=protocol)
    mailbox = mailbox_for(profile, dovecot_user, outgoing_enabled=False)
    for n in range(3):
        dovecot.deliver(dovecot_user[0], message(f"first {n}"))

    first = process_mailbox(mailbox.pk)
    dovecot.deliver(dovecot_user[0], message("second"))
    second = process_mailbox(mailbox.pk)
    third = process_mailbox(mailbox.pk)

    assert (first.outcome, first.fetched) == (Outcome.DONE, 3)
    assert (second.fetched, third.fetched) == (1, 0)
    stored = incoming(mailbox)
    assert [e.subject for e in stored] == ["first 0", "first 1", "first 2", "second"]
    assert len({e.remote_uid for e in stored}) == 4
    assert all(e.status == EmailStatus.RECEIVED and e.raw for e in stored)
    assert stored[0].sender == "someone@example.org"
    mailbox.refresh_from_db()
    assert mailbox.fetch_state
    assert mailbox.next_run_at > timezone.now() + timedelta(seconds=50)
    assert mailbox.claimed_by == "" and mailbox.claimed_until is None


def test_lost_fetch_state_does_not_store_a_message_twice(dovecot, dovecot_user):
    profile = profile_for(incoming_port=dovecot.imap)
    mailbox = mailbox_for(profile, dovecot_user, outgoing_enabled=False)
    dovecot.deliver(dovecot_user[0], message("only"))
    process_mailbox(mailbox.pk)
    Mailbox.objects.filter(pk=mailbox.pk).update(fetch_state={})

    again = process_mailbox(mailbox.pk)

    assert again.fetched == 0
    assert len(incoming(mailbox)) == 1


def test_wrong_password_suspends_the_mailbox_until_test_and_enable(
    dovecot, dovecot_user
):
    name, password = dovecot_user
    profile = profile_for(incoming_port=dovecot.imap)
    mailbox = mailbox_for(profile, (name, "wrong"), outgoing_enabled=False)
    dovecot.deliver(name, message("waiting"))

    failed = process_mailbox(mailbox.pk)

    assert failed.outcome == Outcome.FAILED
    mailbox.refresh_from_db()
    assert mailbox.incoming_suspended
    alert = Alert.objects.get(mailbox=mailbox, scope=Scope.MAILBOX)
    assert (alert.level, alert.persistence) == (Level.ERROR, Persistence.PERMANENT)
    assert alert.reason == "authentication_failed"
    copy = AlertRecipient.objects.get(alert=alert)
    assert copy.user_id == mailbox.owner_id and copy.action_required
    assert process_mailbox(mailbox.pk).outcome == Outcome.SKIPPED

    mailbox.password = password
    mailbox.save()
    outcome = run_test_and_enable(mailbox, mailbox.owner)

    assert outcome.passed
    mailbox.refresh_from_db()
    alert.refresh_from_db()
    assert not mailbox.is_suspended
    assert mailbox.incoming_test == Verdict.SUCCESS
    assert mailbox.incoming_tested_at is not None
    assert mailbox.test_requested_at is None
    assert alert.state == AlertState.RESOLVED
    assert Alert.objects.filter(
        mailbox=mailbox, level=Level.INFORMATION, state=AlertState.ACTIVE
    ).exists()
    assert process_mailbox(mailbox.pk).fetched == 1


def test_failing_test_and_enable_records_the_failure(dovecot, dovecot_user):
    profile = profile_for(incoming_port=dovecot.imap)
    mailbox = mailbox_for(profile, (dovecot_user[0], "wrong"), outgoing_enabled=False)

    outcome = run_test_and_enable(mailbox, mailbox.owner)

    assert not outcome.passed
    mailbox.refresh_from_db()
    assert mailbox.incoming_test == Verdict.FAILURE
    assert mailbox.incoming_suspended
    assert FailureRecord.objects.get(mailbox=mailbox).source == "test"


def test_refused_connection_backs_off_then_suspends_the_whole_profile(refused_port):
    AlertSettings.objects.update_or_create(
        pk=1,
        defaults={
            "transient_attempts_before_permanent": 3,
            "notify_mailbox_owners_of_profile_errors": True,
        },
    )
    profile = profile_for(incoming_port=refused_port, outgoing_port=refused_port)
    first_box = mailbox_for(profile)
    second_box = mailbox_for(profile, owner=make_user())

    run = process_mailbox(first_box.pk)

    profile.refresh_from_db()
    assert run.outcome == Outcome.FAILED
    assert profile.state == ProfileState.ACTIVE
    assert profile.backoff_until > timezone.now()
    warning = Alert.objects.get(profile=profile, state=AlertState.ACTIVE)
    assert (warning.level, warning.scope) == (Level.WARNING, Scope.PROFILE)
    assert process_mailbox(first_box.pk).outcome == Outcome.SKIPPED
    delays = [profile.backoff_until - timezone.now()]

    for _attempt in range(2):
        # The backoff passes.
        ServerProfile.objects.filter(pk=profile.pk).update(
            backoff_until=timezone.now() - timedelta(seconds=1)
        )
        process_mailbox(first_box.pk)
        profile.refresh_from_db()
        delays.append(profile.backoff_until - timezone.now())

    assert delays[1] > delays[0]
    assert profile.state == ProfileState.SUSPENDED
    error = Alert.objects.get(profile=profile, state=AlertState.ACTIVE)
    assert (error.level, error.scope) == (Level.ERROR, Scope.PROFILE)
    assert error.persistence == Persistence.PERMANENT
    copies = {c.user_id: c.action_required for c in error.recipients.all()}
    assert copies == {
        profile.owner_id: True,
        first_box.owner_id: False,
        second_box.owner_id: False,
    }
    for box in (first_box, second_box):
        box.refresh_from_db()
        assert box.processing_state == ProcessingState.SUSPENDED
        assert process_mailbox(box.pk).outcome == Outcome.SKIPPED


def test_unknown_recipient_fails_that_email_while_the_next_is_sent(smtp_server):
    server = smtp_server(SmtpReplies(rcpt={"nobody@example.net": UNKNOWN}))
    profile = profile_for(outgoing_port=server.port)
    mailbox = mailbox_for(profile, incoming_enabled=False, password="")
    refused = make_email(mailbox, recipients=["nobody@example.net"])
    accepted = make_email(mailbox, recipients=["friend@example.net"])

    run = process_mailbox(mailbox.pk)

    refused.refresh_from_db()
    accepted.refresh_from_db()
    assert run.sent == 1
    assert (refused.status, refused.attempts) == (EmailStatus.FAILED, 1)
    assert accepted.status == EmailStatus.SENT and accepted.sent_at
    assert [m.recipients for m in server.messages] == [["friend@example.net"]]
    assert accepted.message_id.encode() in server.messages[0].data
    alert = Alert.objects.get(email=refused)
    assert (alert.scope, alert.level, alert.reason) == (
        Scope.EMAIL,
        Level.ERROR,
        "user_unknown",
    )
    mailbox.refresh_from_db()
    assert not mailbox.is_suspended


def test_accepted_recipients_count_as_sent_when_another_is_refused(smtp_server):
    server = smtp_server(SmtpReplies(rcpt={"nobody@example.net": UNKNOWN}))
    profile = profile_for(outgoing_port=server.port)
    mailbox = mailbox_for(profile, incoming_enabled=False, password="")
    email = make_email(mailbox, recipients=["nobody@example.net", "a@example.net"])

    process_mailbox(mailbox.pk)

    email.refresh_from_db()
    assert email.status == EmailStatus.SENT
    assert "nobody@example.net" in email.last_error
    assert server.messages[0].recipients == ["a@example.net"]
    assert Alert.objects.get(email=email).reason == "user_unknown"


def test_greylisted_email_waits_and_is_sent_later(smtp_server):
    greylist = "451 4.7.1 <a@example.net>: Recipient address rejected: Greylisted"
    server = smtp_server(SmtpReplies(rcpt={"a@example.net": greylist}))
    profile = profile_for(outgoing_port=server.port)
    mailbox = mailbox_for(profile, incoming_enabled=False, password="")
    email = make_email(mailbox, recipients=["a@example.net"])

    process_mailbox(mailbox.pk)
    email.refresh_from_db()
    warning = Alert.objects.get(email=email)
    assert (email.status, warning.level) == (EmailStatus.PENDING_SEND, Level.WARNING)

    server.replies.rcpt.clear()
    server._handler.rcpt.clear()
    process_mailbox(mailbox.pk)

    email.refresh_from_db()
    warning.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 2)
    assert warning.state == AlertState.RESOLVED


def test_a_recipient_refused_for_now_is_sent_to_again_alone(smtp_server):
    greylist = "451 4.7.1 <b@example.net>: Recipient address rejected: Greylisted"
    server = smtp_server(SmtpReplies(rcpt={"b@example.net": greylist}))
    profile = profile_for(outgoing_port=server.port)
    mailbox = mailbox_for(profile, incoming_enabled=False, password="")
    email = make_email(mailbox, recipients=["a@example.net", "b@example.net"])

    assert process_mailbox(mailbox.pk).sent == 1
    email.refresh_from_db()
    warning = Alert.objects.get(email=email)
    assert (email.status, email.pending_recipients) == (
        EmailStatus.PENDING_SEND,
        ["b@example.net"],
    )
    assert warning.level == Level.WARNING

    server.replies.rcpt.clear()
    server._handler.rcpt.clear()
    process_mailbox(mailbox.pk)

    email.refresh_from_db()
    warning.refresh_from_db()
    assert [m.recipients for m in server.messages] == [
        ["a@example.net"],
        ["b@example.net"],
    ]
    assert (email.status, email.pending_recipients, email.attempts) == (
        EmailStatus.SENT,
        [],
        2,
    )
    assert warning.state == AlertState.RESOLVED


def test_a_recipient_refused_for_now_is_not_retried_past_the_limit(smtp_server):
    AlertSettings.objects.update_or_create(
        pk=1, defaults={"transient_attempts_before_permanent": 2}
    )
    greylist = "451 4.7.1 <b@example.net>: Recipient address rejected: Greylisted"
    server = smtp_server(SmtpReplies(rcpt={"b@example.net": greylist}))
    profile = profile_for(outgoing_port=server.port)
    mailbox = mailbox_for(profile, incoming_enabled=False, password="")
    email = make_email(mailbox, recipients=["a@example.net", "b@example.net"])

    process_mailbox(mailbox.pk)
    process_mailbox(mailbox.pk)

    email.refresh_from_db()
    # a has it, so the email is sent; b is named as never reached.
    assert (email.status, email.pending_recipients, email.attempts) == (
        EmailStatus.SENT,
        [],
        2,
    )
    assert email.refused_recipients == ["b@example.net"] and email.sent_at
    assert email.last_error == "Refused: b@example.net"
    assert [m.recipients for m in server.messages] == [["a@example.net"]]


def test_a_retry_keeps_the_recipient_refused_for_good_alerted(smtp_server):
    greylist = "451 4.7.1 <b@example.net>: Recipient address rejected: Greylisted"
    server = smtp_server(
        SmtpReplies(rcpt={"b@example.net": greylist, "c@example.net": UNKNOWN})
    )
    profile = profile_for(outgoing_port=server.port)
    mailbox = mailbox_for(profile, incoming_enabled=False, password="")
    recipients = ["a@example.net", "b@example.net", "c@example.net"]
    email = make_email(mailbox, recipients=recipients)

    process_mailbox(mailbox.pk)
    email.refresh_from_db()
    assert email.last_error == (
        "Refused: c@example.net; refused for now: b@example.net"
    )

    server.replies.rcpt.pop("b@example.net")
    server._handler.rcpt.pop("b@example.net")
    process_mailbox(mailbox.pk)

    email.refresh_from_db()
    assert (email.status, email.refused_recipients, email.last_error) == (
        EmailStatus.SENT,
        ["c@example.net"],
        "Refused: c@example.net",
    )
    assert [m.recipients for m in server.messages][-1] == ["b@example.net"]
    alerts = Alert.objects.filter(email=email)
    assert {(a.reason, a.state) for a in alerts} == {
        ("user_unknown", AlertState.ACTIVE),
        (alerts.get(level=Level.WARNING).reason, AlertState.RESOLVED),
    }


def test_bounce_in_the_inbox_is_linked_to_the_email_it_is_about(dovecot, dovecot_user):
    profile = profile_for(incoming_port=dovecot.imap)
    mailbox = mailbox_for(profile, dovecot_user, outgoing_enabled=False)
    other_box = mailbox_for(profile, owner=mailbox.owner, incoming_enabled=False)
    original = make_email(
        other_box,
        status=EmailStatus.SENT,
        message_id="<hello-42@example.com>",
        recipients=["gone@example.net"],
    )
    dovecot.deliver(
        dovecot_user[0],
        dsn("<hello-42@example.com>", "gone@example.net", "5.1.1", UNKNOWN),
    )

    process_mailbox(mailbox.pk)

    original.refresh_from_db()
    bounce = incoming(mailbox)[0]
    assert bounce.is_bounce
    assert original.status == EmailStatus.FAILED
    alert = Alert.objects.get(email=original)
    assert (alert.scope, alert.stage, alert.reason) == (
        Scope.EMAIL,
        "dsn",
        "user_unknown",
    )
    record = FailureRecord.objects.get(email=original)
    assert (record.source, record.recipient) == ("bounce", "gone@example.net")


def test_unverified_certificate_is_a_permanent_profile_error(
    smtp_server, mail_certificates
):
    server = smtp_server(security="tls", certificates=mail_certificates, trusted=False)
    profile = profile_for(outgoing_port=server.port, outgoing_security="tls")
    mailbox = mailbox_for(profile, incoming_enabled=False, password="")
    email = make_email(mailbox)

    process_mailbox(mailbox.pk)

    profile.refresh_from_db()
    email.refresh_from_db()
    assert profile.state == ProfileState.SUSPENDED
    alert = Alert.objects.get(profile=profile, scope=Scope.PROFILE)
    assert (alert.level, alert.reason) == (Level.ERROR, "certificate_invalid")
    assert email.status == EmailStatus.PENDING_SEND
    assert server.messages == []


def test_trusted_certificate_with_the_profile_ca_file_sends(
    smtp_server, mail_certificates
):
    server = smtp_server(security="tls", certificates=mail_certificates)
    profile = profile_for(
        outgoing_port=server.port,
        outgoing_security="tls",
        ca_file=str(mail_certificates.ca_file),
    )
    mailbox = mailbox_for(profile, incoming_enabled=False, password="")
    make_email(mailbox)

    assert process_mailbox(mailbox.pk).sent == 1
    assert len(server.messages) == 1
