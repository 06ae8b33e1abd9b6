"""The alerts funnel: grouping, escalation, state, recipients, lifecycle."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from alerts import funnel
from alerts.choices import AlertState, AuditAction, FailureSource, Level, Scope
from alerts.models import (
    Alert,
    AlertRecipient,
    AlertSettings,
    AuditEntry,
    FailureRecord,
)
from mailboxes.choices import EmailStatus, ProcessingState
from mailboxes.models import Mailbox
from serverprofiles.choices import ProfileState
from tests.factories import make_email, make_mailbox, make_profile, make_user

pytestmark = pytest.mark.django_db

WRONG_PASSWORD = "NO [AUTHENTICATIONFAILED] Authentication failed."
USER_UNKNOWN = (
    "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown"
)
REFUSED = "[Errno 111] Connection refused"


def report(**kw):
    kw.setdefault("source", FailureSource.PROCESSING)
    return funnel.report_failure(**kw)


def test_repeat_of_same_reason_groups_into_one_alert():
    mailbox = make_mailbox()
    first = report(stage="imap-login", text=WRONG_PASSWORD, mailbox=mailbox)
    mailbox.resume()
    second = report(stage="imap-login", text=WRONG_PASSWORD + " again", mailbox=mailbox)

    assert first.pk == second.pk
    second.refresh_from_db()
    assert second.count == 2
    assert second.detail.endswith("again")
    assert second.last_seen >= second.first_seen
    assert Alert.objects.count() == 1


def test_different_reasons_give_different_alerts():
    mailbox = make_mailbox()
    report(stage="imap-login", text=WRONG_PASSWORD, mailbox=mailbox)
    report(stage="imap-fetch", text="NO [OVERQUOTA] Quota exceeded", mailbox=mailbox)
    assert Alert.objects.count() == 2


def test_wrong_password_suspends_incoming_and_alerts_the_owner():
    owner = make_user()
    mailbox = make_mailbox(owner=owner)
    alert = report(stage="imap-login", text=WRONG_PASSWORD, mailbox=mailbox)

    mailbox.refresh_from_db()
    assert alert.level == Level.ERROR
    assert alert.scope == Scope.MAILBOX
    assert mailbox.incoming_suspended and not mailbox.outgoing_suspended
    assert mailbox.processing_state == ProcessingState.SUSPENDED
    copy = AlertRecipient.objects.get(alert=alert)
    assert copy.user == owner and copy.action_required


def test_user_unknown_fails_only_that_email():
    mailbox = make_mailbox()
    email = make_email(mailbox=mailbox, status=EmailStatus.SENDING)
    other = make_email(mailbox=mailbox)
    alert = report(stage="smtp-send", text=USER_UNKNOWN, email=email, reply_code=550)

    email.refresh_from_db()
    other.refresh_from_db()
    mailbox.refresh_from_db()
    assert alert.scope == Scope.EMAIL and alert.email == email
    assert email.status == EmailStatus.FAILED
    assert other.status == EmailStatus.PENDING_SEND
    assert not mailbox.is_suspended
    assert AlertRecipient.objects.get(alert=alert).user == mailbox.owner


def test_transient_failures_back_off_and_escalate_after_the_limit():
    AlertSettings.objects.update_or_create(
        pk=1, defaults={"transient_attempts_before_permanent": 3}
    )
    profile = make_profile()
    mailbox = make_mailbox(profile=profile)

    first = report(
        stage="tcp", text=REFUSED, mailbox=mailbox, exception="ConnectionRefusedError"
    )
    profile.refresh_from_db()
    assert first.level == Level.WARNING
    assert profile.consecutive_failures == 1
    assert profile.backoff_until > timezone.now()
    first_backoff = profile.backoff_until

    report(
        stage="tcp", text=REFUSED, mailbox=mailbox, exception="ConnectionRefusedError"
    )
    profile.refresh_from_db()
    assert profile.backoff_until > first_backoff
    assert profile.state == ProfileState.ACTIVE

    third = report(
        stage="tcp", text=REFUSED, mailbox=mailbox, exception="ConnectionRefusedError"
    )
    profile.refresh_from_db()
    mailbox.refresh_from_db()
    assert third.level == Level.ERROR and third.persistence == "permanent"
    assert third.scope == Scope.PROFILE
    assert "3 times in a row" in third.explanation
    assert profile.state == ProfileState.SUSPENDED
    assert mailbox.processing_state == ProcessingState.SUSPENDED
    first.refresh_from_db()
    assert first.state == AlertState.RESOLVED


def test_success_in_between_resets_the_count():
    AlertSettings.objects.update_or_create(
        pk=1, defaults={"transient_attempts_before_permanent": 2}
    )
    mailbox = make_mailbox()
    report(
        stage="tcp", text=REFUSED, mailbox=mailbox, exception="ConnectionRefusedError"
    )
    funnel.record_success(profile=mailbox.profile, mailbox=mailbox)
    alert = report(
        stage="tcp", text=REFUSED, mailbox=mailbox, exception="ConnectionRefusedError"
    )
    assert alert.level == Level.WARNING
    mailbox.profile.refresh_from_db()
    assert mailbox.profile.state == ProfileState.ACTIVE


def test_profile_error_reaches_mailbox_owners_only_when_the_setting_says_so():
    profile_owner, box_owner = make_user(), make_user()
    profile = make_profile(owner=profile_owner)
    mailbox = make_mailbox(owner=box_owner, profile=profile)
    certificate = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"

    alert = report(
        stage="tls",
        text=certificate,
        mailbox=mailbox,
        exception="ssl.SSLCertVerificationError",
    )
    assert alert.scope == Scope.PROFILE
    assert set(alert.recipients.values_list("user", "action_required")) == {
        (profile_owner.pk, True)
    }

    AlertSettings.objects.update_or_create(
        pk=1, defaults={"notify_mailbox_owners_of_profile_errors": True}
    )
    profile.resume()
    alert = report(
        stage="tls",
        text=certificate,
        mailbox=mailbox,
        exception="ssl.SSLCertVerificationError",
    )
    assert set(alert.recipients.values_list("user", "action_required")) == {
        (profile_owner.pk, True),
        (box_owner.pk, False),
    }


def test_admins_see_every_alert_and_owners_only_theirs():
    owner, stranger = make_user(), make_user()
    admin = make_user(role="admin")
    mailbox = make_mailbox(owner=owner)
    alert = report(stage="imap-login", text=WRONG_PASSWORD, mailbox=mailbox)

    assert list(Alert.objects.visible_to(admin)) == [alert]
    assert list(Alert.objects.visible_to(owner)) == [alert]
    assert list(Alert.objects.visible_to(stranger)) == []


def test_test_and_enable_resolves_and_writes_information():
    mailbox = make_mailbox()
    alert = report(stage="imap-login", text=WRONG_PASSWORD, mailbox=mailbox)
    tester = make_user(role="admin")

    funnel.resume_mailbox(mailbox, tester, "Test & Enable passed")

    alert.refresh_from_db()
    mailbox.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert alert.resolved_by == tester and alert.resolved_at is not None
    assert not mailbox.is_suspended
    notice = Alert.objects.get(level=Level.INFORMATION)
    assert "processing resumed" in notice.message
    assert notice.recipients.filter(user=mailbox.owner).exists()


def test_owner_delete_hides_their_copy_and_a_repeat_brings_it_back():
    owner = make_user()
    mailbox = make_mailbox(owner=owner)
    alert = report(stage="imap-login", text=WRONG_PASSWORD, mailbox=mailbox)

    funnel.delete_alert(alert, owner)
    assert not Alert.objects.visible_to(owner).exists()
    assert Alert.objects.filter(pk=alert.pk).exists()

    report(stage="imap-login", text=WRONG_PASSWORD, mailbox=mailbox)
    assert list(Alert.objects.visible_to(owner)) == [alert]


def test_admin_delete_all_removes_alerts_and_a_new_failure_brings_a_new_one():
    admin = make_user(role="admin")
    mailbox = make_mailbox()
    first = report(stage="imap-login", text=WRONG_PASSWORD, mailbox=mailbox)
    report(stage="smtp-send", text=USER_UNKNOWN, email=make_email(mailbox=mailbox))

    removed = funnel.delete_alerts(Alert.objects.visible_to(admin), admin)

    assert removed == 2
    assert not Alert.objects.exists() and not AlertRecipient.objects.exists()
    assert FailureRecord.objects.count() == 2
    again = report(stage="imap-login", text=WRONG_PASSWORD, mailbox=mailbox)
    assert again.pk != first.pk and again.count == 1
    entry = AuditEntry.objects.get(action=AuditAction.DELETE_ALL)
    assert entry.actor == admin and entry.details["count"] == 2


def test_switching_a_level_off_stops_alerts_but_not_state_changes():
    AlertSettings.objects.update_or_create(pk=1, defaults={"write_errors": False})
    mailbox = make_mailbox()
    alert = report(stage="imap-login", text=WRONG_PASSWORD, mailbox=mailbox)

    mailbox.refresh_from_db()
    assert alert is None
    assert not Alert.objects.exists()
    assert mailbox.incoming_suspended
    record = FailureRecord.objects.get()
    assert record.processed_at and record.classification["level"] == Level.ERROR


def test_processing_a_record_twice_counts_once():
    mailbox = make_mailbox()
    record = FailureRecord.objects.create(
        source=FailureSource.API,
        occurred_at=timezone.now(),
        stage="imap-login",
        text=WRONG_PASSWORD,
        mailbox=mailbox,
    )
    alert = funnel.process_failure_record(record.pk)
    assert funnel.process_failure_record(record.pk) is None
    alert.refresh_from_db()
    assert alert.count == 1


def test_sync_prompt_decision_is_recorded():
    owner = make_user()
    mailbox = make_mailbox(owner=owner)
    prompt = funnel.open_sync_prompt(
        mailbox, "conflict", "Meeting at 10:00", ["save anyway", "do not save"], "evt-1"
    )
    assert prompt.alert.level == Level.INFORMATION
    with pytest.raises(ValueError):
        funnel.decide_sync_prompt(prompt, "something else", owner)
    funnel.decide_sync_prompt(prompt, "save anyway", owner)
    prompt.refresh_from_db()
    assert prompt.decision == "save anyway" and prompt.decided_by == owner


def test_purge_deletes_only_old_resolved_alerts():
    from alerts.tasks import purge_resolved

    mailbox = make_mailbox()
    old = report(stage="imap-login", text=WRONG_PASSWORD, mailbox=mailbox)
    Alert.objects.filter(pk=old.pk).update(
        state=AlertState.RESOLVED,
        resolved_at=timezone.now() - timezone.timedelta(days=90),
    )
    fresh = report(
        stage="imap-fetch", text="NO [OVERQUOTA] Quota exceeded", mailbox=mailbox
    )
    assert purge_resolved() == 1
    assert list(Alert.objects.all()) == [fresh]


def _upsert_one(fields: dict) -> None:
    funnel.upsert_alert("race-key", fields, timezone.now())


def _create_in_batch(fields: dict) -> None:
    now = timezone.now()
    funnel._create_alerts({"race-key": (fields, now, now, 1)})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("write", [_upsert_one, _create_in_batch])
def test_two_workers_recording_the_same_failure_at_once_give_count_two(write):
    assert connection.vendor == "postgresql"
    mailbox = make_mailbox()
    fields = {
        "kind": "failure",
        "level": Level.WARNING,
        "persistence": "transient",
        "scope": Scope.MAILBOX,
        "reason": "timeout",
        "message": "Timeout",
        "detail": "timed out",
        "mailbox": mailbox,
        "profile": mailbox.profile,
        "email": None,
    }
    barrier = threading.Barrier(2)
    errors = []

    def worker() -> None:
        from django.db import connections, transaction

        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                write(fields)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    assert Alert.objects.filter(group_key="race-key").count() == 1
    assert Alert.objects.get(group_key="race-key").count == 2


def test_mailbox_queryset_only_shows_own_mailboxes():
    owner = make_user()
    mine = make_mailbox(owner=owner)
    make_mailbox()
    assert list(Mailbox.objects.visible_to(owner)) == [mine]


def _stored(mailbox, text, stage, **kw):
    return FailureRecord.objects.create(
        source=FailureSource.API,
        occurred_at=timezone.now(),
        stage=stage,
        text=text,
        mailbox=mailbox,
        **kw,
    ).pk


def _summary(profile):
    return sorted(
        Alert.objects.filter(profile=profile).values_list(
            "level", "scope", "reason", "count", "state"
        )
    )


def test_a_batch_gives_the_same_alerts_as_one_failure_at_a_time():
    AlertSettings.objects.update_or_create(
        pk=1, defaults={"transient_attempts_before_permanent": 3}
    )
    texts = [
        ("tcp", REFUSED, {"exception": "ConnectionRefusedError"}),
        ("imap-login", WRONG_PASSWORD, {}),
        ("smtp-send", USER_UNKNOWN, {"reply_code": 550}),
    ]
    profiles = []
    for batched in (False, True):
        profile = make_profile()
        mailbox = make_mailbox(profile=profile)
        ids = [
            _stored(mailbox, text, stage, **kw)
            for _ in range(5)
            for stage, text, kw in texts
        ]
        if batched:
            processed = funnel.process_failure_records(ids)
            assert len(processed) == len(ids)
        else:
            for record_id in ids:
                funnel.process_failure_record(record_id)
        profile.refresh_from_db()
        profiles.append(profile)

    one_by_one, batch = (_summary(profile) for profile in profiles)
    assert batch == one_by_one
    assert ("error", "profile", "connection_refused", 3, "active") in batch
    assert all(profile.state == ProfileState.SUSPENDED for profile in profiles)
    assert funnel.process_failure_records(ids) == {}


@pytest.mark.postgres
def test_deleting_every_alert_empties_the_tables_and_keeps_the_failures(
    monkeypatch,
):
    monkeypatch.setattr(funnel, "TRUNCATE_FROM", 1)
    admin = make_user(role="admin")
    mailbox = make_mailbox()
    report(stage="imap-login", text=WRONG_PASSWORD, mailbox=mailbox)
    funnel.open_sync_prompt(mailbox, "duplicate", "Contact Ann", ["merge", "keep"])

    assert funnel.delete_alerts(Alert.objects.all(), admin) == 2

    assert not Alert.objects.exists()
    assert not AlertRecipient.objects.exists()
    assert FailureRecord.objects.count() == 1


def test_deleting_some_alerts_keeps_the_others_and_their_copies(monkeypatch):
    monkeypatch.setattr(funnel, "TRUNCATE_FROM", 1)
    admin = make_user(role="admin")
    mailbox = make_mailbox()
    gone = report(stage="imap-login", text=WRONG_PASSWORD, mailbox=mailbox)
    kept = report(
        stage="imap-fetch", text="NO [OVERQUOTA] Quota exceeded", mailbox=mailbox
    )

    assert funnel.delete_alerts(Alert.objects.filter(pk=gone.pk), admin) == 1

    assert list(Alert.objects.all()) == [kept]
    assert list(AlertRecipient.objects.values_list("alert", flat=True)) == [kept.pk]


def test_one_batch_suspends_both_directions_of_a_mailbox():
    mailbox = make_mailbox()
    ids = [
        _stored(mailbox, WRONG_PASSWORD, "imap-login"),
        _stored(mailbox, "535 5.7.8 Authentication credentials invalid", "smtp-auth"),
    ]
    funnel.process_failure_records(ids)
    mailbox.refresh_from_db()
    assert mailbox.incoming_suspended and mailbox.outgoing_suspended


def test_an_owner_report_cannot_stop_a_profile_they_do_not_own():
    profile_owner, reporter = make_user(), make_user()
    profile = make_profile(owner=profile_owner)
    mine = make_mailbox(owner=reporter, profile=profile)
    theirs = make_mailbox(profile=profile)
    record = _stored(
        mine,
        "[Errno -2] Name or service not known",
        "dns",
        exception="socket.gaierror",
        submitted_by=reporter,
    )

    alert = funnel.process_failure_record(record)

    profile.refresh_from_db()
    theirs.refresh_from_db()
    assert alert.scope == Scope.PROFILE and alert.level == Level.ERROR
    assert profile.state == ProfileState.ACTIVE and profile.backoff_until is None
    assert theirs.processing_state != ProcessingState.SUSPENDED


def test_a_late_report_never_moves_an_alert_back_in_time():
    mailbox = make_mailbox()
    now = timezone.now()
    alert = report(stage="imap-login", text=WRONG_PASSWORD, mailbox=mailbox)
    mailbox.resume()
    report(
        stage="imap-login",
        text=WRONG_PASSWORD,
        mailbox=mailbox,
        occurred_at=now - timezone.timedelta(days=3),
    )
    alert.refresh_from_db()
    assert alert.count == 2
    assert alert.last_seen >= now
    assert alert.first_seen <= now - timezone.timedelta(days=3)


def test_long_external_ids_and_addresses_fit_the_group_key():
    mailbox = make_mailbox(address=("a" * 60) + "@" + ("b" * 180) + ".example.com")
    prompt = funnel.open_sync_prompt(
        mailbox, "duplicate", "Contact", ["merge", "keep"], external_id="x" * 200
    )
    assert len(prompt.alert.group_key) <= 200
    funnel.resume_mailbox(mailbox, None, "Test & Enable passed")
    assert Alert.objects.filter(level=Level.INFORMATION, kind="notice").exists()


def test_a_clean_direction_keeps_the_streak_of_a_failing_one():
    mailbox = make_mailbox()
    text = "454 4.7.0 Temporary authentication failure"
    report(stage="smtp-auth", text=text, mailbox=mailbox)
    funnel.record_success(mailbox=mailbox, direction="incoming", reset_streak=False)
    report(stage="smtp-auth", text=text, mailbox=mailbox)
    mailbox.refresh_from_db()
    assert mailbox.consecutive_failures == 2
    assert mailbox.backoff_until is not None


def test_an_email_alert_names_the_refused_recipient_not_our_mailbox():
    mailbox = make_mailbox(address="good@example.org")
    alert = report(
        stage="smtp-send", text=USER_UNKNOWN, mailbox=mailbox, reply_code=550
    )
    assert alert.message == "User unknown: nobody@example.com"


def test_an_escalated_alert_asks_for_action():
    AlertSettings.objects.update_or_create(
        pk=1, defaults={"transient_attempts_before_permanent": 2}
    )
    mailbox = make_mailbox()
    for _ in range(2):
        alert = report(stage="tcp", text=REFUSED, mailbox=mailbox)
    assert alert.level == Level.ERROR
    assert "Test & Enable" in alert.action


def _process_while_locked(row, record_ids) -> Exception | None:
    """Process the records in another thread while this connection holds the
    row lock of a profile or mailbox, as a worker busy with it would; return
    what the processing raised (it gives up after 2 s of waiting)."""
    from django.db import connections, transaction

    outcome: list[Exception | None] = []

    def worker() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '2s'")
                funnel.process_failure_records(record_ids)
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)
        finally:
            connections.close_all()

    with transaction.atomic():
        type(row).objects.select_for_update(no_key=True).get(pk=row.pk)
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(timeout=30)
    return outcome[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_failures_of_mailboxes_do_not_wait_for_their_profile():
    mailbox = make_mailbox()
    ids = [_stored(mailbox, WRONG_PASSWORD, "imap-login")]

    assert _process_while_locked(mailbox.profile, ids) is None
    assert FailureRecord.objects.get(pk=ids[0]).processed_at is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_failures_of_a_profile_wait_for_it():
    mailbox = make_mailbox()
    ids = [_stored(mailbox, REFUSED, "tcp", exception="ConnectionRefusedError")]

    raised = _process_while_locked(mailbox.profile, ids)

    assert raised is not None and "lock timeout" in str(raised)
    assert FailureRecord.objects.get(pk=ids[0]).processed_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failure_that_may_stop_a_profile_waits_for_its_other_mailboxes():
    mailbox = make_mailbox()
    busy = make_mailbox(profile=mailbox.profile)
    ids = [_stored(mailbox, REFUSED, "tcp", exception="ConnectionRefusedError")]

    raised = _process_while_locked(busy, ids)

    assert raised is not None and "lock timeout" in str(raised)
    assert FailureRecord.objects.get(pk=ids[0]).processed_at is None
