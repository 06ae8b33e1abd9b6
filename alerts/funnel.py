"""The one funnel from failure to alert.

Processing, the bounce reader and the HTTP API all hand their failures to
this module, and nothing else writes alerts. A failure is stored first (as a
FailureRecord), then classified, escalated when a transient one keeps coming
back, applied to the state of what it concerns (suspend, back off, mark an
email failed) and finally grouped into an alert for the right people.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Q, QuerySet, Subquery, Value
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from alertcenter.access import is_admin
from alerts.choices import (
    AlertKind,
    AlertState,
    AuditAction,
    Level,
    Persistence,
    Scope,
    SyncPromptKind,
)
from alerts.classifier import Failure, classify
from alerts.classifier.reasons import REASON_LABELS, Reason
from alerts.models import (
    Alert,
    AlertRecipient,
    AlertSettings,
    AuditEntry,
    FailureRecord,
    SyncPrompt,
)
from mailboxes.choices import Direction, EmailStatus, ProcessingState
from mailboxes.models import Email, Mailbox
from serverprofiles.choices import ProfileState
from serverprofiles.models import ServerProfile

logger = logging.getLogger(__name__)

INCOMING_STAGE_PREFIXES = ("imap", "pop3")
OUTGOING_STAGE_PREFIXES = ("smtp",)
DETAIL_LIMIT = 4000
# Below this many alerts a DELETE is quick; above it, emptying the tables
# (when every alert goes) saves seconds.
TRUNCATE_FROM = 10_000


@dataclass
class Subject:
    """What one failure is about, completed from whatever was reported."""

    profile: ServerProfile | None
    mailbox: Mailbox | None
    email: Email | None


def stage_direction(stage: str) -> str | None:
    """Return the direction a stage belongs to, or None when it is generic."""
    if stage.startswith(INCOMING_STAGE_PREFIXES):
        return Direction.INCOMING
    if stage.startswith(OUTGOING_STAGE_PREFIXES):
        return Direction.OUTGOING
    return None


def backoff_delay(failures: int, settings: AlertSettings) -> timedelta:
    """Return the wait after the given number of consecutive transient failures:
    doubling from the base, capped."""
    exponent = min(max(failures - 1, 0), 20)
    seconds = min(
        settings.backoff_base_seconds * 2**exponent, settings.backoff_cap_seconds
    )
    return timedelta(seconds=seconds)


def digest(text: str) -> str:
    """Return a short fixed-length stand-in for free text in a group key."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def storable(text: str) -> str:
    """Return server text that every database accepts: PostgreSQL refuses NUL
    characters, and a failure must never be lost for the bytes it carries."""
    return text.replace("\x00", "\N{REPLACEMENT CHARACTER}")


# -- entry points ------------------------------------------------------------


def report_failure(
    *,
    source: str,
    stage: str,
    text: str = "",
    reply_code: int | None = None,
    status: str = "",
    exception: str = "",
    recipient: str = "",
    mailbox: Mailbox | None = None,
    profile: ServerProfile | None = None,
    email: Email | None = None,
    occurred_at: datetime | None = None,
    submitted_by: User | None = None,
) -> Alert | None:
    """Store one failure and run it through the funnel now; return its alert."""
    record = FailureRecord.objects.create(
        source=source,
        occurred_at=occurred_at or timezone.now(),
        stage=storable(stage)[:20],
        text=storable(text),
        reply_code=reply_code,
        status=storable(status or "")[:16],
        exception=storable(exception or "")[:200],
        recipient=storable(recipient)[:320],
        mailbox=mailbox,
        # As the API stores it: the batch then reads the profile with the
        # record, not once per record.
        profile_id=profile.pk if profile else mailbox and mailbox.profile_id,
        email=email,
        submitted_by=submitted_by,
    )
    return process_failure_record(record.pk)


def process_failure_record(record_id: int) -> Alert | None:
    """Classify one stored failure and apply it; do nothing if it was done.
    Return its alert, if processing it now wrote one."""
    alert_id = process_failure_records([record_id]).get(record_id)
    return Alert.objects.filter(pk=alert_id).first() if alert_id else None


def process_failure_records(record_ids: list[int]) -> dict[int, int | None]:
    """Classify stored failures and apply them, in the order they were stored.

    The result is the same as processing them one by one; the work is shared:
    each mailbox or profile is locked and saved once, and failures that land
    in the same alert raise its count in one statement. Records already
    processed are skipped, so running this twice changes nothing. Return the
    alert id of each record processed now (None where no alert was written).
    """
    with transaction.atomic():
        # Filtering on the primary key alone keeps the planner on it.
        records = [
            record
            for record in FailureRecord.objects.select_for_update(
                of=("self",), no_key=True
            )
            .filter(pk__in=record_ids)
            # The mailboxes and profiles are read again, locked; what is read
            # here only says which. Raw messages and passwords stay unread.
            .select_related("mailbox", "email", "profile", "submitted_by")
            .defer("email__raw", "mailbox__password", "profile__password")
            .order_by("pk")
            if record.processed_at is None
        ]
        if not records:
            return {}
        settings = AlertSettings.load()
        outcomes = _decide(records, settings)
        alert_ids = _write(outcomes, settings)
        for outcome in outcomes:
            outcome.record.classification = outcome.decision
            outcome.record.alert_id = alert_ids.get(outcome.key or "")
        _mark_processed([outcome.record for outcome in outcomes])
    return {outcome.record.pk: outcome.record.alert_id for outcome in outcomes}


# An alert to write: its fields, first and last seen, and how many failures.
AlertRow = tuple[dict[str, Any], datetime, datetime, int]


@dataclass
class Outcome:
    """One failure's decision, the objects it concerns and its alert group."""

    record: FailureRecord
    decision: dict[str, Any]
    subject: Subject
    key: str | None = None
    may_stop_profile: bool = True


def _decide(records: list[FailureRecord], settings: AlertSettings) -> list[Outcome]:
    """Classify each failure, count transient ones on what they concern
    (escalating at the limit) and apply the state changes they bring."""
    outcomes = []
    for record in records:
        decision = classify(
            Failure(
                stage=record.stage,
                text=record.text,
                reply_code=record.reply_code,
                status=record.status or None,
                exception=record.exception or None,
            )
        ).as_dict()
        subject = _complete_subject(record, decision["scope"])
        outcome = Outcome(record, decision, subject)
        outcome.may_stop_profile = _may_stop_profile(record, subject.profile)
        outcomes.append(outcome)

    holders = _lock_holders(outcomes)
    counted: dict[tuple[str, int], Mailbox | ServerProfile] = {}
    for outcome in outcomes:
        _use_locked(outcome.subject, holders)
        profile_wide = outcome.decision["scope"] == Scope.PROFILE
        if profile_wide and not outcome.may_stop_profile:
            continue
        if outcome.decision["persistence"] == Persistence.TRANSIENT:
            target = _count_transient(outcome.subject, outcome.decision, settings)
            if target is not None:
                counted[(type(target).__name__, target.pk)] = target
    _save_streaks(list(counted.values()))

    done: set[tuple[str, ...]] = set()
    failing: dict[str, list[Email]] = {}
    for outcome in outcomes:
        if outcome.decision["scope"] != Scope.PROFILE or outcome.may_stop_profile:
            _change_state(
                outcome.subject, outcome.decision, outcome.record.stage, done, failing
            )
        if settings.writes_level(outcome.decision["level"]):
            outcome.key = _group_key(
                outcome.decision["scope"],
                outcome.subject,
                outcome.decision["reason"],
                outcome.decision["persistence"],
            )
    _fail_emails(failing)
    return outcomes


def _lock_holders(outcomes: list[Outcome]) -> dict[tuple[str, int], Any]:
    """Lock what the batch may change or whose alerts it writes: every
    mailbox it concerns, and a profile only where a failure is about the
    profile itself (or has no mailbox); a failure that may stop a profile
    also locks all of that profile's mailboxes. Every profile of every batch
    would make all workers queue behind each other, as there are few.

    Profiles are locked first, then mailboxes, each kind in id order in one
    statement, so that two workers may wait for each other but never
    deadlock; every failure of the batch then sees one copy of each locked
    row.
    """
    wanted: dict[str, set[int]] = {"mailbox": set(), "profile": set()}
    stoppable: set[int] = set()
    for outcome in outcomes:
        subject, scope = outcome.subject, outcome.decision["scope"]
        if subject.mailbox is not None:
            wanted["mailbox"].add(subject.mailbox.pk)
        if subject.profile is not None and (
            scope == Scope.PROFILE or subject.mailbox is None
        ):
            wanted["profile"].add(subject.profile.pk)
            if scope == Scope.PROFILE and outcome.may_stop_profile:
                stoppable.add(subject.profile.pk)
    if stoppable:
        of_profiles = Mailbox.objects.filter(profile__in=stoppable)
        wanted["mailbox"].update(of_profiles.values_list("pk", flat=True))

    locked: dict[tuple[str, int], Any] = {}
    for kind, model in (("profile", ServerProfile), ("mailbox", Mailbox)):
        if wanted[kind]:
            # NO KEY UPDATE: rows that merely point at a locked mailbox or
            # profile (new failures, alerts) can still be written meanwhile.
            locked_rows = model.objects.select_for_update(no_key=True).defer("password")
            rows = locked_rows.filter(pk__in=wanted[kind])
            for row in rows.order_by("pk"):
                locked[(kind, row.pk)] = row
    return locked


def _may_stop_profile(record: FailureRecord, profile: ServerProfile | None) -> bool:
    """Return whether this failure may back off or suspend its profile: the
    workers' own failures may, and so may an admin's or the profile owner's
    report; a mailbox owner's report through the API only raises an alert,
    so that nobody stops the mailboxes of others."""
    reporter = record.submitted_by
    if reporter is None or profile is None:
        return True
    return profile.owner_id == reporter.pk or is_admin(reporter)


def _use_locked(subject: Subject, holders: dict[tuple[str, int], Any]) -> None:
    if subject.mailbox is not None:
        subject.mailbox = holders.get(("mailbox", subject.mailbox.pk), subject.mailbox)
    if subject.profile is not None:
        subject.profile = holders.get(("profile", subject.profile.pk), subject.profile)


def _write(outcomes: list[Outcome], settings: AlertSettings) -> dict[str, int]:
    """Write the alerts of the batch in a few statements: the counts of the
    alerts that exist rise together, the new ones are created, and their
    recipients are given their copies. Return the alert id of each group."""
    groups: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.key is not None:
            groups.setdefault(outcome.key, []).append(outcome)
    rows = {key: _alert_fields(members) for key, members in groups.items()}

    ids = _raise_counts(rows)
    ids.update(_create_alerts({k: row for k, row in rows.items() if k not in ids}))

    # A transient alert whose cause is now permanent is superseded.
    superseded = [
        _group_key(d["scope"], m[-1].subject, d["reason"], Persistence.TRANSIENT)
        for m in groups.values()
        if (d := m[-1].decision)["persistence"] == Persistence.PERMANENT
    ]
    if superseded:
        _resolve(
            Alert.objects.active().filter(group_key__in=superseded),
            None,
            "Escalated to permanent",
        )

    wanted: dict[tuple[int, int], bool] = {}
    for key, members in groups.items():
        decision = members[-1].decision
        for mailbox in {member.subject.mailbox for member in members}:
            subject = Subject(members[-1].subject.profile, mailbox, None)
            people = _wanted_recipients(
                subject, decision["scope"], decision["persistence"], settings
            )
            for user_id, action_required in people.items():
                pair = (ids[key], user_id)
                wanted[pair] = wanted.get(pair, False) or action_required
    _give_copies(wanted)
    for alert_id in ids.values():
        _queue_notification(alert_id, settings)
    return ids


def _create_alerts(rows: dict[str, AlertRow]) -> dict[str, int]:
    """Create the alerts of groups that had none, in one statement; return
    their ids. Should another worker have created one meanwhile, fall back
    to upsert_alert for each, which raises the count of the winner's alert.
    New alerts are written in key order, so that two workers meet in the
    unique index in the same order."""
    ordered = sorted(rows.items())
    alerts = [
        Alert(
            group_key=key,
            count=count,
            first_seen=first_seen,
            last_seen=last_seen,
            **fields,
        )
        for key, (fields, first_seen, last_seen, count) in ordered
    ]
    try:
        with transaction.atomic():
            created = Alert.objects.bulk_create(alerts)
    except IntegrityError:
        return {
            key: upsert_alert(key, fields, last_seen, count, first_seen).pk
            for key, (fields, first_seen, last_seen, count) in ordered
        }
    return {alert.group_key: alert.pk for alert in created}


def _raise_counts(rows: dict[str, AlertRow]) -> dict[str, int]:
    """Add each group's failures to its active alert, if it has one, in one
    statement; return the ids of the alerts that were raised."""
    if not rows:
        return {}
    values = []
    for key, (fields, first_seen, last_seen, count) in rows.items():
        seen = [
            connection.ops.adapt_datetimefield_value(t) for t in (first_seen, last_seen)
        ]
        values.append([key, count, *seen, fields["detail"], fields["level"]])
    # Late reports (the sweep, an API client's occurred_at) never move an
    # alert back in time.
    greatest, least = (
        ("GREATEST", "LEAST") if connection.vendor == "postgresql" else ("MAX", "MIN")
    )
    return dict(
        _update_from_values(
            Alert,
            "count = {t}.count + v.column2, "
            f"first_seen = {least}({{t}}.first_seen, v.column3), "
            f"last_seen = {greatest}({{t}}.last_seen, v.column4), "
            "detail = v.column5, level = v.column6",
            "{t}.group_key = v.column1 AND {t}.state = %s",
            ["text", "integer", "timestamptz", "timestamptz", "text", "text"],
            values,
            after=[AlertState.ACTIVE],
            returning="{t}.group_key, {t}.id",
        )
    )


def _mark_processed(records: list[FailureRecord]) -> None:
    """Store each record's decision and alert and mark it processed, in one
    statement."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    _update_from_values(
        FailureRecord,
        "processed_at = %s, classification = v.column2, alert_id = v.column3",
        "{t}.id = v.column1",
        ["bigint", "jsonb", "bigint"],
        [[r.pk, json.dumps(r.classification), r.alert_id] for r in records],
        before=[now],
    )


def _update_from_values(
    model: type[models.Model],
    assignments: str,
    condition: str,
    types: list[str],
    rows: list[list[Any]],
    before: Sequence[Any] = (),
    after: Sequence[Any] = (),
    returning: str = "",
) -> list[tuple[Any, ...]]:
    """Update many rows with their own values in one statement:
    UPDATE table SET assignments FROM (VALUES rows) AS v WHERE condition.

    ``{t}`` in the SQL parts stands for the quoted table; the values are
    v.column1, v.column2, ... on both PostgreSQL and SQLite. PostgreSQL gets
    each value cast to its type in ``types``, since it cannot guess the type
    of a NULL. ``before`` and ``after`` are parameters of the SET and WHERE
    parts.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        row_sql = "(" + ", ".join(f"%s::{kind}" for kind in types) + ")"
    else:
        row_sql = "(" + ", ".join("%s" for _ in types) + ")"
    sql = (
        f"UPDATE {table} SET {assignments.format(t=table)} "
        f"FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v "
        f"WHERE {condition.format(t=table)}"
    )
    if returning:
        sql += f" RETURNING {returning.format(t=table)}"
    params = [*before, *(value for row in rows for value in row), *after]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if returning else []


def _complete_subject(record: FailureRecord, scope: str) -> Subject:
    email = record.email
    mailbox = record.mailbox or (email.mailbox if email else None)
    profile = record.profile or (mailbox.profile if mailbox else None)
    return Subject(profile, mailbox, email if scope == Scope.EMAIL else None)


# -- escalation and state ----------------------------------------------------


def _count_transient(
    subject: Subject, decision: dict[str, Any], settings: AlertSettings
) -> Mailbox | ServerProfile | None:
    """Count a transient failure on what it concerns; at the limit, record it
    as permanent with everything permanence brings. Return the mailbox or
    profile whose streak changed (unsaved), if any."""
    target = None
    limit = settings.transient_attempts_before_permanent
    reason = decision["reason"]
    if decision["scope"] == Scope.EMAIL and subject.email is not None:
        failures = subject.email.attempts
    else:
        target = _state_holder(subject, decision["scope"])
        if target is None:
            return None
        if target.failure_reason == reason:
            target.consecutive_failures += 1
        else:
            target.consecutive_failures = 1
            target.failure_reason = reason
        target.backoff_until = timezone.now() + backoff_delay(
            target.consecutive_failures, settings
        )
        if isinstance(target, Mailbox) and not target.is_suspended:
            target.processing_state = ProcessingState.BACKOFF
        failures = target.consecutive_failures

    if limit and failures >= limit:
        decision["persistence"] = Persistence.PERMANENT
        decision["level"] = Level.ERROR
        decision["escalated"] = True
        decision["explanation"] = (
            f"{decision['explanation']} It failed {failures} times in a row "
            f"(the limit is {limit}), so it is now treated as permanent."
        ).strip()
        decision["action"] = (
            "It no longer clears by itself: find out with the other side why it "
            "keeps failing (their limits, greylisting or filtering, or our "
            "settings), fix that, then run Test & Enable."
        )
    return target


def _save_streaks(targets: list[Mailbox | ServerProfile]) -> None:
    """Write the failure streaks of the batch, one statement per kind."""
    for model in (Mailbox, ServerProfile):
        rows = [
            [
                target.pk,
                target.consecutive_failures,
                target.failure_reason,
                connection.ops.adapt_datetimefield_value(target.backoff_until),
                getattr(target, "processing_state", ""),
            ]
            for target in targets
            if isinstance(target, model)
        ]
        if not rows:
            continue
        state = "processing_state = v.column5, " if model is Mailbox else ""
        _update_from_values(
            model,
            f"{state}consecutive_failures = v.column2, "
            "failure_reason = v.column3, backoff_until = v.column4",
            "{t}.id = v.column1",
            ["bigint", "integer", "text", "timestamptz", "text"],
            rows,
        )


def _state_holder(subject: Subject, scope: str) -> Mailbox | ServerProfile | None:
    if scope == Scope.PROFILE:
        return subject.profile
    return subject.mailbox or subject.profile


def _change_state(
    subject: Subject,
    decision: dict[str, Any],
    stage: str,
    done: set[tuple[str, ...]],
    failing: dict[str, list[Email]],
) -> None:
    """Apply what a failure means for processing: suspend, or mark failed.

    ``done`` remembers what this batch already suspended or failed; emails to
    mark failed are gathered in ``failing`` by error, for _fail_emails.
    """
    scope = decision["scope"]
    permanent = decision["persistence"] == Persistence.PERMANENT
    reason = decision["reason"]
    if not permanent:
        return

    if scope == Scope.EMAIL:
        if subject.email is not None and ("email", str(subject.email.pk)) not in done:
            done.add(("email", str(subject.email.pk)))
            error = _detail_line(decision, reason)
            failing.setdefault(error, []).append(subject.email)
        return
    if scope == Scope.MAILBOX and subject.mailbox is not None:
        direction = stage_direction(stage) or ""
        mark = ("mailbox", str(subject.mailbox.pk), direction, reason)
        if mark not in done:
            done.add(mark)
            subject.mailbox.suspend(reason, direction or None)
    elif scope == Scope.PROFILE and subject.profile is not None:
        mark = ("profile", str(subject.profile.pk), reason)
        if mark not in done:
            done.add(mark)
            subject.profile.suspend(reason)
            Mailbox.objects.filter(profile=subject.profile).update(
                processing_state=ProcessingState.SUSPENDED,
                suspended_reason=f"profile: {reason}",
                suspended_at=timezone.now(),
            )


def _fail_emails(failing: dict[str, list[Email]]) -> None:
    """Mark the emails failed, one statement per error, and keep the objects
    the batch holds in step."""
    for error, emails in failing.items():
        Email.objects.filter(pk__in=[email.pk for email in emails]).mark_failed(error)
        for email in emails:
            email.status, email.last_error = EmailStatus.FAILED, error


def _detail_line(decision: dict[str, Any], reason: str) -> str:
    code = decision.get("status") or decision.get("reply_code") or ""
    return f"{REASON_LABELS.get(Reason(reason), reason)} {code}".strip()


# -- alerts ------------------------------------------------------------------


_ADDRESS = re.compile(r"<([^<>@\s]{1,64}@[^<>@\s]{1,255})>")


def _first_address(text: str) -> str:
    """Return the first <address> the server text names (the recipient a
    refusal is about), or ""."""
    found = _ADDRESS.search(text[:2000])
    return found.group(1) if found else ""


def _group_key(scope: str, subject: Subject, reason: str, persistence: str) -> str:
    if scope == Scope.EMAIL and subject.email is not None:
        about = f"email:{subject.email.pk}"
    elif scope in (Scope.EMAIL, Scope.MAILBOX) and subject.mailbox is not None:
        about = f"mailbox:{subject.mailbox.pk}"
    elif subject.profile is not None:
        about = f"profile:{subject.profile.pk}"
    else:
        about = "global"
    return f"{scope}|{about}|{reason}|{persistence}"


def _message(scope: str, subject: Subject, reason: str, record: FailureRecord) -> str:
    label = REASON_LABELS.get(Reason(reason), reason.replace("_", " ").capitalize())
    if scope == Scope.EMAIL:
        about = record.recipient or _first_address(record.text)
        about = about or (subject.email.subject if subject.email else "")
        if not about and subject.mailbox is not None:
            about = f"an email from {subject.mailbox.address}"
    elif scope == Scope.MAILBOX and subject.mailbox is not None:
        about = subject.mailbox.address
    elif subject.profile is not None:
        about = f"profile {subject.profile.name}"
    else:
        about = ""
    return f"{label}: {about}"[:300] if about else label


def _alert_fields(members: list[Outcome]) -> AlertRow:
    """Return the alert of one group: the latest failure gives its details,
    and the count rises by the number of failures in the group."""
    latest = members[-1]
    record, subject, decision = latest.record, latest.subject, latest.decision
    scope = decision["scope"]
    reason = decision["reason"]
    persistence = decision["persistence"]
    fields = {
        "kind": AlertKind.FAILURE,
        "level": decision["level"],
        "persistence": persistence,
        "scope": scope,
        "reason": reason,
        "message": _message(scope, subject, reason, record),
        "stage": record.stage[:20],
        "status_code": (decision.get("status") or "")[:16],
        "reply_code": decision.get("reply_code"),
        "detail": record.text[:DETAIL_LIMIT],
        "explanation": decision.get("explanation", ""),
        "action": decision.get("action", ""),
        "classifier_version": decision.get("classifier_version", ""),
        "profile": subject.profile,
        "mailbox": subject.mailbox,
        "email": subject.email,
    }
    seen = [member.record.occurred_at for member in members]
    return fields, min(seen), max(seen), len(members)


def upsert_alert(
    key: str,
    fields: dict[str, Any],
    seen_at: datetime,
    count: int = 1,
    first_seen: datetime | None = None,
) -> Alert:
    """Return the active alert of this group, created or with its count raised.

    The partial unique index on active group keys makes two workers that meet
    the same failure at once end with one alert and a count of two: the loser
    of the insert race falls back to the update.
    """
    repeat = {
        "count": F("count") + count,
        # Late reports (the sweep, an API client's occurred_at) never move
        # an alert back in time.
        "last_seen": Greatest(F("last_seen"), Value(seen_at)),
        "first_seen": Least(F("first_seen"), Value(first_seen or seen_at)),
        "detail": fields["detail"],
        "level": fields["level"],
    }
    for _attempt in range(5):
        active = Alert.objects.filter(group_key=key, state=AlertState.ACTIVE)
        if active.update(**repeat):
            return active.get()
        try:
            with transaction.atomic():
                return Alert.objects.create(
                    group_key=key,
                    count=count,
                    first_seen=first_seen or seen_at,
                    last_seen=seen_at,
                    **fields,
                )
        except IntegrityError:
            continue
    raise RuntimeError(f"could not write the alert of group {key}")


def _wanted_recipients(
    subject: Subject, scope: str, persistence: str, settings: AlertSettings
) -> dict[int, bool]:
    """Return who must see an alert about this subject, and whether action
    is asked of them."""
    # Transient trouble asks nothing of anyone (it may clear by itself).
    act = persistence == Persistence.PERMANENT
    wanted: dict[int, bool] = {}
    if scope == Scope.PROFILE and subject.profile is not None:
        wanted[subject.profile.owner_id] = act
        if settings.notify_mailbox_owners_of_profile_errors:
            affected = Mailbox.objects.filter(profile=subject.profile)
            if persistence != Persistence.PERMANENT and subject.mailbox is not None:
                affected = affected.filter(pk=subject.mailbox.pk)
            for owner_id in affected.values_list("owner_id", flat=True).distinct():
                wanted.setdefault(owner_id, False)
    elif subject.mailbox is not None:
        wanted[subject.mailbox.owner_id] = act
    elif subject.profile is not None:
        wanted[subject.profile.owner_id] = act
    return wanted


def _give_copies(wanted: dict[tuple[int, int], bool]) -> None:
    """Give each (alert, user) its copy: create the missing ones, bring back
    deleted ones, and ask for action where it is now asked."""
    if not wanted:
        return
    alert_ids = {alert_id for alert_id, _user in wanted}
    existing = AlertRecipient.objects.filter(alert_id__in=alert_ids).values_list(
        "pk", "alert_id", "user_id", "action_required", "deleted_at"
    )
    undelete, promote, have = [], [], set()
    for pk, alert_id, user_id, action_required, deleted_at in existing:
        pair = (alert_id, user_id)
        if pair not in wanted:
            continue
        have.add(pair)
        if deleted_at is not None:
            undelete.append(pk)
        if wanted[pair] and not action_required:
            promote.append(pk)
    if undelete:
        AlertRecipient.objects.filter(pk__in=undelete).update(deleted_at=None)
    if promote:
        AlertRecipient.objects.filter(pk__in=promote).update(action_required=True)
    AlertRecipient.objects.bulk_create(
        [
            AlertRecipient(alert_id=alert_id, user_id=user_id, action_required=act)
            for (alert_id, user_id), act in wanted.items()
            if (alert_id, user_id) not in have
        ],
        ignore_conflicts=True,
    )


def write_notice(
    message: str,
    *,
    reason: str = Reason.NOTICE,
    scope: str = Scope.MAILBOX,
    mailbox: Mailbox | None = None,
    profile: ServerProfile | None = None,
    email: Email | None = None,
    detail: str = "",
    kind: str = AlertKind.NOTICE,
    group: str | None = None,
) -> Alert | None:
    """Write an information alert (good news or a notice) for the owners."""
    settings = AlertSettings.load()
    if not settings.writes_level(Level.INFORMATION):
        return None
    profile = profile or (mailbox.profile if mailbox else None)
    subject = Subject(profile, mailbox, email)
    key = group or _group_key(scope, subject, f"notice:{digest(message)}", "")
    alert = upsert_alert(
        key,
        {
            "kind": kind,
            "level": Level.INFORMATION,
            "persistence": "",
            "scope": scope,
            "reason": reason,
            "message": message[:300],
            "detail": detail[:DETAIL_LIMIT],
            "profile": profile,
            "mailbox": mailbox,
            "email": email,
        },
        timezone.now(),
    )
    owners = {m.owner_id for m in [mailbox] if m is not None}
    if profile is not None and mailbox is None:
        owners.add(profile.owner_id)
    for user_id in owners:
        AlertRecipient.objects.update_or_create(
            alert=alert, user_id=user_id, defaults={"deleted_at": None}
        )
    return alert


# -- success and resolution --------------------------------------------------


def record_success(
    *,
    mailbox: Mailbox | None = None,
    profile: ServerProfile | None = None,
    email: Email | None = None,
    direction: str | None = None,
    resolution: str = "Succeeded again",
    user: User | None = None,
    reset_streak: bool = True,
    transient_only: bool = False,
) -> int:
    """Note that something works again: reset its failure streak and resolve
    the alerts it fixes (with transient_only, an email's transient ones: a
    recipient refused for good stays alerted). Return how many alerts were
    resolved."""
    now = timezone.now()
    alerts = Alert.objects.active().filter(kind=AlertKind.FAILURE)
    resolved = 0
    if email is not None:
        of_email = alerts.filter(email=email)
        if transient_only:
            of_email = of_email.filter(persistence=Persistence.TRANSIENT)
        resolved += _resolve(of_email, user, resolution)
    if mailbox is not None:
        Mailbox.objects.filter(pk=mailbox.pk).update(last_success_at=now)
        if reset_streak:
            Mailbox.objects.filter(pk=mailbox.pk, failure_reason__gt="").update(
                consecutive_failures=0, failure_reason="", backoff_until=None
            )
            Mailbox.objects.filter(
                pk=mailbox.pk, processing_state=ProcessingState.BACKOFF
            ).update(processing_state=ProcessingState.IDLE)
        mine = alerts.filter(mailbox=mailbox, scope=Scope.MAILBOX)
        prefixes = {
            Direction.INCOMING: INCOMING_STAGE_PREFIXES,
            Direction.OUTGOING: OUTGOING_STAGE_PREFIXES,
        }.get(direction or "")
        if prefixes:
            mine = mine.filter(_stage_filter(prefixes))
        resolved += _resolve(mine, user, resolution)
        # Transient email-level trouble of this mailbox is over too.
        resolved += _resolve(
            alerts.filter(
                mailbox=mailbox, scope=Scope.EMAIL, persistence=Persistence.TRANSIENT
            ).filter(_stage_filter(prefixes or ("",))),
            user,
            resolution,
        )
    if profile is not None:
        ServerProfile.objects.filter(pk=profile.pk).update(
            consecutive_failures=0, failure_reason="", backoff_until=None
        )
        resolved += _resolve(
            alerts.filter(profile=profile, scope=Scope.PROFILE), user, resolution
        )
    return resolved


def _stage_filter(prefixes: tuple[str, ...]) -> Q:
    condition = Q()
    for prefix in prefixes:
        condition |= Q(stage__startswith=prefix)
    return condition


def _resolve(alerts: QuerySet[Alert], user: User | None, resolution: str) -> int:
    return alerts.update(
        state=AlertState.RESOLVED,
        resolved_at=timezone.now(),
        resolved_by=user,
        resolution=resolution[:200],
    )


def resume_mailbox(mailbox: Mailbox, user: User | None, how: str) -> None:
    """Lift a mailbox's suspension after a passing test and say so."""
    mailbox.refresh_from_db()
    was_suspended = mailbox.is_suspended or mailbox.processing_state in (
        ProcessingState.SUSPENDED,
        ProcessingState.BACKOFF,
    )
    mailbox.resume()
    record_success(mailbox=mailbox, user=user, resolution=how)
    write_notice(
        f"{how}: {mailbox.address}"
        + (" — processing resumed" if was_suspended else ""),
        mailbox=mailbox,
        reason=Reason.NOTICE,
    )


def resume_profile(profile: ServerProfile, user: User | None, how: str) -> None:
    """Lift a profile's suspension (and its mailboxes') after a passing test."""
    profile.refresh_from_db()
    was_suspended = profile.state == ProfileState.SUSPENDED
    profile.resume()
    Mailbox.objects.filter(
        profile=profile, suspended_reason__startswith="profile:"
    ).update(
        processing_state=ProcessingState.IDLE,
        suspended_reason="",
        suspended_at=None,
        next_run_at=timezone.now(),
    )
    record_success(profile=profile, user=user, resolution=how)
    write_notice(
        f"{how}: profile {profile.name}"
        + (" — processing resumed" if was_suspended else ""),
        scope=Scope.PROFILE,
        profile=profile,
    )


def resolve_alert(alert: Alert, user: User) -> None:
    """Resolve one alert by hand."""
    _resolve(Alert.objects.filter(pk=alert.pk), user, f"Resolved by {user}")
    AuditEntry.record(user, AuditAction.RESOLVE, alert.message, alert=alert.pk)


def delete_alert(alert: Alert, user: User) -> None:
    """Delete one alert: an admin removes it, anyone else hides their copy."""
    delete_alerts(Alert.objects.filter(pk=alert.pk), user, audit=False)
    AuditEntry.record(user, AuditAction.DELETE, alert.message, alert=alert.pk)


def delete_alerts(alerts: QuerySet[Alert], user: User, audit: bool = True) -> int:
    """Delete the given alerts as this user sees them, without loading rows.

    Admins remove the alerts with their recipients; anyone else removes only
    their own copies. Return how many alerts left the user's wall.
    """
    if is_admin(user):
        count = remove_alerts(alerts)
    else:
        count = AlertRecipient.objects.filter(
            user=user,
            alert__in=Subquery(alerts.order_by().values("pk")),
            deleted_at__isnull=True,
        ).update(deleted_at=timezone.now())
    if audit:
        AuditEntry.record(user, AuditAction.DELETE_ALL, f"{count} alerts", count=count)
    return count


def remove_alerts(alerts: QuerySet[Alert]) -> int:
    """Delete alerts with their copies and prompts in a few statements, and
    return how many alerts were deleted.

    Stored failures keep the id of the alert they went into. When the alerts
    are every alert there is, PostgreSQL empties the three tables at once.
    """
    with transaction.atomic():
        if connection.vendor != "postgresql":
            ids = Subquery(alerts.order_by().values("pk"))
            # Raw deletes skip Django's row-by-row cascade: the rows below
            # are every row that must go with an alert.
            AlertRecipient.objects.filter(alert__in=ids)._raw_delete("default")
            SyncPrompt.objects.filter(alert__in=ids)._raw_delete("default")
            return Alert.objects.filter(pk__in=ids)._raw_delete("default")

        tables = {
            model: connection.ops.quote_name(model._meta.db_table)
            for model in (Alert, AlertRecipient, SyncPrompt)
        }
        with connection.cursor() as cursor:
            # New alerts wait until this is done: nothing the user did not
            # see can go with what they saw.
            cursor.execute(f"LOCK TABLE {tables[Alert]} IN SHARE ROW EXCLUSIVE MODE")
            count = alerts.order_by().count()
            if count >= TRUNCATE_FROM and count == Alert.objects.count():
                # Checks deferred by this transaction must run before
                # PostgreSQL lets the tables be emptied.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"TRUNCATE {', '.join(tables.values())}")
                return count
            chosen, params = alerts.order_by().values("pk").query.sql_with_params()
            # One statement, so that the copies and prompts deleted are
            # exactly those of the alerts deleted.
            cursor.execute(
                f"WITH gone AS (DELETE FROM {tables[Alert]} WHERE id IN ({chosen}) "
                "RETURNING id), "
                f"copies AS (DELETE FROM {tables[AlertRecipient]} "
                "WHERE alert_id IN (SELECT id FROM gone)), "
                f"prompts AS (DELETE FROM {tables[SyncPrompt]} "
                "WHERE alert_id IN (SELECT id FROM gone)) "
                "SELECT count(*) FROM gone",
                params,
            )
            return int(cursor.fetchone()[0])


# -- sync prompts --------------------------------------------------------------


def open_sync_prompt(
    mailbox: Mailbox,
    kind: str,
    item: str,
    choices: list[str],
    external_id: str = "",
    user: User | None = None,
) -> SyncPrompt:
    """Ask the mailbox owner to decide about a sync situation."""
    label = SyncPromptKind(kind).label
    alert = upsert_alert(
        f"prompt|{mailbox.pk}|{kind}|{digest(external_id or item)}",
        {
            "kind": AlertKind.SYNC_PROMPT,
            "level": Level.INFORMATION,
            "persistence": "",
            "scope": Scope.MAILBOX,
            "reason": Reason.SYNC_PROMPT,
            "message": f"{label}: {item}"[:300],
            "detail": item[:DETAIL_LIMIT],
            "action": "Choose: " + ", ".join(choices),
            "profile": mailbox.profile,
            "mailbox": mailbox,
            "email": None,
        },
        timezone.now(),
    )
    AlertRecipient.objects.get_or_create(
        alert=alert, user_id=mailbox.owner_id, defaults={"action_required": True}
    )
    prompt, _ = SyncPrompt.objects.get_or_create(
        alert=alert,
        defaults={
            "kind": kind,
            "item": item,
            "choices": choices,
            "external_id": external_id,
        },
    )
    return prompt


def decide_sync_prompt(prompt: SyncPrompt, choice: str, user: User) -> None:
    """Record the owner's decision; the engine reads it through the API."""
    if choice not in prompt.choices:
        raise ValueError(f"{choice!r} is not one of the offered choices")
    prompt.decision = choice
    prompt.decided_by = user
    prompt.decided_at = timezone.now()
    prompt.save(update_fields=["decision", "decided_by", "decided_at"])
    _resolve(Alert.objects.filter(pk=prompt.alert_id), user, f"Decided: {choice}")
    AuditEntry.record(
        user,
        AuditAction.SYNC_DECISION,
        prompt.item[:200],
        prompt=prompt.pk,
        choice=choice,
    )


# -- notifications -------------------------------------------------------------


def _queue_notification(alert_id: int, settings: AlertSettings) -> None:
    if not settings.email_notifications:
        return
    from alerts.tasks import notify_alert

    transaction.on_commit(lambda: _safe_delay(notify_alert, alert_id))


def _safe_delay(task: Any, *args: Any) -> None:
    try:
        task.delay(*args)
    except Exception:
        logger.warning("could not queue %s; the periodic sweep will retry", task.name)


def unprocessed_failures(older_than: timedelta) -> QuerySet[FailureRecord]:
    """Return the stored failures that nobody has processed for a while."""
    return FailureRecord.objects.filter(
        processed_at__isnull=True, received_at__lt=timezone.now() - older_than
    ).order_by("received_at")


__all__ = [
    "decide_sync_prompt",
    "delete_alert",
    "delete_alerts",
    "open_sync_prompt",
    "process_failure_record",
    "record_success",
    "report_failure",
    "resolve_alert",
    "resume_mailbox",
    "resume_profile",
    "upsert_alert",
    "write_notice",
]
