from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from alertcenter.access import OwnedQuerySet
from alertcenter.crypto import EncryptedTextField
from serverprofiles.choices import IncomingProtocol, ProfileState, Security, TestStatus


class ServerProfileQuerySet(OwnedQuerySet["ServerProfile"]):
    """Profiles, seen and managed by the rules of alertcenter.access."""


class ServerProfile(models.Model):
    """How to reach one mail service: incoming and outgoing servers and limits."""

    name = models.CharField(max_length=120, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="profiles"
    )

    incoming_protocol = models.CharField(
        max_length=8, choices=IncomingProtocol, default=IncomingProtocol.IMAP
    )
    incoming_host = models.CharField(max_length=255, blank=True)
    incoming_port = models.PositiveIntegerField(default=993)
    incoming_security = models.CharField(
        max_length=10, choices=Security, default=Security.TLS
    )
    outgoing_host = models.CharField(max_length=255, blank=True)
    outgoing_port = models.PositiveIntegerField(default=587)
    outgoing_security = models.CharField(
        max_length=10, choices=Security, default=Security.STARTTLS
    )
    username = models.CharField(
        max_length=255, blank=True, help_text="Used by mailboxes without their own."
    )
    password = EncryptedTextField(blank=True, default="")
    verify_certificates = models.BooleanField(default=True)
    ca_file = models.CharField(
        max_length=500, blank=True, help_text="Extra CA bundle to trust (a path)."
    )
    timeout_seconds = models.PositiveIntegerField(default=30)
    polling_interval_seconds = models.PositiveIntegerField(default=300)
    max_connections = models.PositiveIntegerField(default=4)

    state = models.CharField(
        max_length=10, choices=ProfileState, default=ProfileState.ACTIVE
    )
    suspended_reason = models.CharField(max_length=64, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failure_reason = models.CharField(max_length=64, blank=True)
    backoff_until = models.DateTimeField(null=True, blank=True)
    incoming_test = models.CharField(
        max_length=10, choices=TestStatus, default=TestStatus.NOT_RUN
    )
    outgoing_test = models.CharField(
        max_length=10, choices=TestStatus, default=TestStatus.NOT_RUN
    )
    tested_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ServerProfileQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("serverprofiles:detail", args=[self.pk])

    @property
    def is_suspended(self) -> bool:
        return self.state == ProfileState.SUSPENDED

    @property
    def suspension_text(self) -> str:
        """Return why processing is stopped, in words."""
        from alerts.classifier.reasons import label_of

        return label_of(self.suspended_reason)

    def suspend(self, reason: str) -> None:
        """Stop processing of every mailbox of this profile until it is tested."""
        self.state = ProfileState.SUSPENDED
        self.suspended_reason = reason
        self.suspended_at = timezone.now()
        self.save(update_fields=["state", "suspended_reason", "suspended_at"])

    def resume(self) -> None:
        """Clear the suspension and the failure streak of this profile."""
        self.state = ProfileState.ACTIVE
        self.suspended_reason = ""
        self.suspended_at = None
        self.consecutive_failures = 0
        self.failure_reason = ""
        self.backoff_until = None
        self.save(
            update_fields=[
                "state",
                "suspended_reason",
                "suspended_at",
                "consecutive_failures",
                "failure_reason",
                "backoff_until",
            ]
        )
