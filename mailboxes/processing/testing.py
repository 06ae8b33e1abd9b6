"""Test & Enable: connect now, record the outcome, resume on success.

The request functions write what was asked (time, audit entry) and queue the
task when the transaction commits; the run functions do the work and are
what the task and the management commands call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from alerts.choices import AuditAction, FailureSource
from alerts.funnel import resume_mailbox, resume_profile
from alerts.models import AuditEntry
from mailboxes.choices import Direction
from mailboxes.models import Mailbox
from mailboxes.processing.endpoints import (
    incoming_endpoint,
    incoming_transport,
    outgoing_endpoint,
    outgoing_transport,
    report_transport_error,
)
from mailboxes.transports import (
    ServerEndpoint,
    SmtpTransport,
    TransportError,
    transport_for,
)
from mailboxes.transports.base import open_socket
from serverprofiles.choices import TestStatus
from serverprofiles.models import ServerProfile

logger = logging.getLogger(__name__)


@dataclass
class TestOutcome:
    """Say how each tested direction went: None when passed, else the error."""

    target: str
    results: dict[str, TransportError | None] = field(default_factory=dict)
    mailboxes: list[TestOutcome] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(e is None for e in self.results.values())

    def lines(self) -> list[str]:
        """Return one line per direction (and per tested mailbox)."""
        lines = []
        if not self.results:
            lines.append(f"{self.target}: nothing to test (both directions off)")
        for direction, error in self.results.items():
            verdict = "success" if error is None else f"failure: {error}"
            lines.append(f"{self.target} {direction}: {verdict}")
        for outcome in self.mailboxes:
            lines.extend("  " + line for line in outcome.lines())
        return lines


# -- requests ------------------------------------------------------------------


def request_test_and_enable(mailbox: Mailbox, user: User | None) -> None:
    """Ask for a Test & Enable of the mailbox, run by a worker after commit."""
    from mailboxes.tasks import test_and_enable_task

    Mailbox.objects.filter(pk=mailbox.pk).update(test_requested_at=timezone.now())
    AuditEntry.record(
        user, AuditAction.TEST_AND_ENABLE, mailbox.address, mailbox=mailbox.pk
    )
    mailbox_id, user_id = mailbox.pk, user.pk if user else None
    transaction.on_commit(lambda: test_and_enable_task.delay(mailbox_id, user_id))


def request_profile_test(
    profile: ServerProfile, user: User | None, all_mailboxes: bool
) -> None:
    """Ask for a test of the profile (and Test & Enable of its mailboxes)."""
    from mailboxes.tasks import test_profile_task

    if all_mailboxes:
        Mailbox.objects.filter(profile=profile).update(test_requested_at=timezone.now())
    AuditEntry.record(
        user,
        AuditAction.TEST_PROFILE,
        profile.name,
        profile=profile.pk,
        all_mailboxes=all_mailboxes,
    )
    profile_id, user_id = profile.pk, user.pk if user else None
    transaction.on_commit(
        lambda: test_profile_task.delay(profile_id, user_id, all_mailboxes)
    )


# -- runs ------------------------------------------------------------------------


def run_test_and_enable(mailbox: Mailbox, user: User | None) -> TestOutcome:
    """Test the mailbox's enabled directions now; resume it when all pass."""
    mailbox = Mailbox.objects.select_related("profile").get(pk=mailbox.pk)
    outcome = TestOutcome(mailbox.address)
    now = timezone.now()
    fields: dict[str, object] = {"test_requested_at": None}
    if mailbox.incoming_enabled:
        error = _check(lambda: incoming_transport(mailbox).check())
        outcome.results[Direction.INCOMING] = error
        fields["incoming_test"] = _status(error)
        fields["incoming_tested_at"] = now
    if mailbox.outgoing_enabled:
        error = _check(lambda: outgoing_transport(mailbox).check())
        outcome.results[Direction.OUTGOING] = error
        fields["outgoing_test"] = _status(error)
        fields["outgoing_tested_at"] = now
    Mailbox.objects.filter(pk=mailbox.pk).update(**fields)

    if outcome.passed:
        resume_mailbox(mailbox, user, "Test & Enable passed")
    for error in outcome.results.values():
        if error is not None:
            report_transport_error(error, source=FailureSource.TEST, mailbox=mailbox)
    return outcome


def run_profile_test(
    profile: ServerProfile, user: User | None, all_mailboxes: bool = False
) -> TestOutcome:
    """Test the profile's servers now; resume it when both pass; then, if
    asked, run Test & Enable on each of its mailboxes."""
    profile = ServerProfile.objects.get(pk=profile.pk)
    outcome = TestOutcome(f"profile {profile.name}")
    sample = _credentials_holder(profile)
    username, password = _credentials(profile, sample)
    if profile.incoming_host:
        endpoint = incoming_endpoint(profile, username, password)
        if password:
            transport = transport_for(profile.incoming_protocol, endpoint)
            error = _check(transport.check)
        else:
            # Nobody to log in as: test that the server answers (and its TLS).
            error = _check(lambda: _connect_only(endpoint))
        outcome.results[Direction.INCOMING] = error
        profile.incoming_test = _status(error)
    if profile.outgoing_host:
        smtp = SmtpTransport(outgoing_endpoint(profile, username, password))
        error = _check(smtp.check)
        outcome.results[Direction.OUTGOING] = error
        profile.outgoing_test = _status(error)
    profile.tested_at = timezone.now()
    profile.save(update_fields=["incoming_test", "outgoing_test", "tested_at"])

    if outcome.passed:
        resume_profile(profile, user, "Profile test passed")
    for error in outcome.results.values():
        if error is not None:
            report_transport_error(
                error, source=FailureSource.TEST, profile=profile, mailbox=sample
            )
    if all_mailboxes:
        for mailbox in Mailbox.objects.filter(profile=profile).order_by("address"):
            outcome.mailboxes.append(run_test_and_enable(mailbox, user))
    return outcome


def _credentials_holder(profile: ServerProfile) -> Mailbox | None:
    """Return a mailbox whose credentials the profile test may log in with,
    when the profile has none of its own."""
    if profile.password:
        return None
    return (
        Mailbox.objects.filter(profile=profile, use_profile_credentials=False)
        .exclude(password="")
        .order_by("pk")
        .first()
    )


def _credentials(profile: ServerProfile, sample: Mailbox | None) -> tuple[str, str]:
    if sample is not None:
        return sample.credentials()
    return profile.username, profile.password


def _connect_only(endpoint: ServerEndpoint) -> None:
    sock = open_socket(endpoint, implicit_tls=endpoint.security == "tls")
    sock.close()


def _check(connect: Callable[[], None]) -> TransportError | None:
    try:
        connect()
    except TransportError as error:
        return error
    return None


def _status(error: TransportError | None) -> str:
    return TestStatus.SUCCESS if error is None else TestStatus.FAILURE
