from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from alertcenter.access import OwnedQuerySet
from alertcenter.crypto import EncryptedTextField
from mailboxes.choices import Direction, EmailStatus, ProcessingState
from serverprofiles.choices import TestStatus
from serverprofiles.models import ServerProfile


class MailboxQuerySet(OwnedQuerySet["Mailbox"]):
    """Mailboxes, seen and managed by the rules of alertcenter.access."""


class Mailbox(models.Model):
    """One address processed through a server profile, with its state."""

    address = models.EmailField(unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mailboxes"
    )
    profile = models.ForeignKey(
        ServerProfile, on_delete=models.PROTECT, related_name="mailboxes"
    )
    use_profile_credentials = models.BooleanField(default=False)
    username = models.CharField(max_length=255, blank=True)
    password = EncryptedTextField(blank=True, default="")
    incoming_enabled = models.BooleanField(default=True)
    outgoing_enabled = models.BooleanField(default=True)

    incoming_test = models.CharField(
        max_length=10, choices=TestStatus, default=TestStatus.NOT_RUN
    )
    incoming_tested_at = models.DateTimeField(null=True, blank=True)
    outgoing_test = models.CharField(
        max_length=10, choices=TestStatus, default=TestStatus.NOT_RUN
    )
    outgoing_tested_at = models.DateTimeField(null=True, blank=True)
    sync_test = models.CharField(
        max_length=10, choices=TestStatus, default=TestStatus.NOT_RUN
    )
    sync_tested_at = models.DateTimeField(null=True, blank=True)
    test_requested_at = models.DateTimeField(null=True, blank=True)

    processing_state = models.CharField(
        max_length=10, choices=ProcessingState, default=ProcessingState.IDLE
    )
    incoming_suspended = models.BooleanField(default=False)
    outgoing_suspended = models.BooleanField(default=False)
    suspended_reason = models.CharField(max_length=64, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    backoff_until = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failure_reason = models.CharField(max_length=64, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claimed_by = models.CharField(max_length=120, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    fetch_state = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MailboxQuerySet.as_manager()

    class Meta:
        ordering = ["address"]
        verbose_name_plural = "mailboxes"
        # The API finds a batch's mailboxes by address in any case.
        indexes = [models.Index(Lower("address"), name="mailbox_address_lower")]

    def __str__(self) -> str:
        return self.address

    def get_absolute_url(self) -> str:
        return reverse("mailboxes:detail", args=[self.pk])

    def test_overdue(self) -> bool:
        """Return whether a requested Test & Enable has waited longer than a
        worker would take to run it (two tries of both connections, and
        time to pick it up): most likely no worker is running."""
        if self.test_requested_at is None:
            return False
        patience = timedelta(seconds=4 * self.profile.timeout_seconds + 30)
        return timezone.now() - self.test_requested_at > patience

    @property
    def is_suspended(self) -> bool:
        """Return whether processing is stopped, by its own failure or its
        profile's."""
        return (
            self.incoming_suspended
            or self.outgoing_suspended
            or self.processing_state == ProcessingState.SUSPENDED
        )

    @property
    def suspension_text(self) -> str:
        """Return why processing is stopped, in words."""
        from alerts.classifier.reasons import label_of

        _, by_profile, code = self.suspended_reason.rpartition("profile: ")
        if by_profile:
            return f"its server profile failed: {label_of(code)}"
        return label_of(code)

    def credentials(self) -> tuple[str, str]:
        """Return the user name and password used to log in for this mailbox."""
        if self.use_profile_credentials:
            return self.profile.username, self.profile.password
        return self.username or self.address, self.password

    def suspend(self, reason: str, direction: str | None = None) -> None:
        """Stop processing in one direction (or both) until Test & Enable passes."""
        # Only the flags of this direction are written, so that a stale copy
        # of the mailbox never lifts the other direction's suspension.
        fields = ["processing_state", "suspended_reason", "suspended_at"]
        if direction in (None, Direction.INCOMING):
            self.incoming_suspended = True
            fields.append("incoming_suspended")
        if direction in (None, Direction.OUTGOING):
            self.outgoing_suspended = True
            fields.append("outgoing_suspended")
        self.processing_state = ProcessingState.SUSPENDED
        self.suspended_reason = reason
        self.suspended_at = timezone.now()
        self.save(update_fields=fields)

    def resume(self) -> None:
        """Clear suspension, backoff and the failure streak."""
        self.incoming_suspended = False
        self.outgoing_suspended = False
        self.processing_state = ProcessingState.IDLE
        self.suspended_reason = ""
        self.suspended_at = None
        self.backoff_until = None
        self.consecutive_failures = 0
        self.failure_reason = ""
        self.next_run_at = timezone.now()
        self.save(
            update_fields=[
                "incoming_suspended",
                "outgoing_suspended",
                "processing_state",
                "suspended_reason",
                "suspended_at",
                "backoff_until",
                "consecutive_failures",
                "failure_reason",
                "next_run_at",
            ]
        )


class EmailQuerySet(OwnedQuerySet["Email"]):
    """Emails belong to the owner of their mailbox."""

    owner_lookup = "mailbox__owner"

    def mark_failed(self, error: str) -> int:
        """Mark these emails failed, in one statement; nothing else stops."""
        return self.update(
            status=EmailStatus.FAILED,
            last_error=error[:2000],
            updated_at=timezone.now(),
        )


class Email(models.Model):
    """One message that processing handled, incoming or outgoing."""

    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.CASCADE, related_name="emails"
    )
    direction = models.CharField(max_length=10, choices=Direction)
    status = models.CharField(max_length=14, choices=EmailStatus)
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    sender = models.CharField(max_length=320, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    # Recipients the next attempt sends to, when a server took the message
    # for some and refused it for now to these; empty means all.
    pending_recipients = models.JSONField(default=list, blank=True)
    # Recipients a server refused for good (or past the retry limit) while
    # others took the message.
    refused_recipients = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    raw = models.BinaryField(blank=True, default=b"")
    remote_uid = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    is_bounce = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)

    objects = EmailQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "remote_uid"],
                condition=~models.Q(remote_uid=""),
                name="email_unique_remote_uid",
            )
        ]
        indexes = [models.Index(fields=["mailbox", "status"])]

    def __str__(self) -> str:
        return self.subject or self.message_id or f"email {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("mailboxes:email", args=[self.pk])
