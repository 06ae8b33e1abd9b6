from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from alerts.choices import (
    AlertKind,
    AlertState,
    AuditAction,
    FailureSource,
    Level,
    Persistence,
    Scope,
    SyncPromptKind,
)
from mailboxes.models import Email, Mailbox
from serverprofiles.models import ServerProfile


class AlertQuerySet(models.QuerySet["Alert"]):
    def visible_to(self, user: object) -> AlertQuerySet:
        """Return the alerts on the user's wall: every alert for admins and ops,
        else the alerts addressed to the user that they have not deleted."""
        from alertcenter.access import is_ops

        if is_ops(user):
            return self
        return self.filter(recipients__user=user, recipients__deleted_at__isnull=True)

    def active(self) -> AlertQuerySet:
        return self.filter(state=AlertState.ACTIVE)


class SearchText(models.Func):
    """The text the wall's search reads: an alert's message, server text and
    reason, joined by spaces (so a search may span the end of one and the
    start of the next). On PostgreSQL, migration 0005 indexes the UPPER of
    this very expression, which icontains compares. The three columns are
    NOT NULL: a nullable one would make the whole text NULL."""

    template = "(%(expressions)s)"
    arg_joiner = " || ' ' || "
    output_field = models.TextField()

    def __init__(self) -> None:
        super().__init__("message", "detail", "reason")


class Alert(models.Model):
    """What a person sees: a classified failure or a notice, grouped by cause."""

    kind = models.CharField(max_length=12, choices=AlertKind, default=AlertKind.FAILURE)
    level = models.CharField(max_length=12, choices=Level)
    persistence = models.CharField(max_length=10, choices=Persistence, blank=True)
    scope = models.CharField(max_length=8, choices=Scope)
    reason = models.CharField(max_length=64)
    message = models.CharField(max_length=300)
    stage = models.CharField(max_length=20, blank=True)
    status_code = models.CharField(max_length=16, blank=True)
    reply_code = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True, help_text="Latest server text (untrusted).")
    explanation = models.TextField(blank=True)
    action = models.TextField(blank=True)
    classifier_version = models.CharField(max_length=32, blank=True)

    # No single-column indexes on the links: the (link, -last_seen) indexes
    # below serve every lookup by link, and each index an alert carries slows
    # the funnel's updates of count and last_seen.
    profile = models.ForeignKey(
        ServerProfile,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
        db_index=False,
    )
    mailbox = models.ForeignKey(
        Mailbox,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
        db_index=False,
    )
    email = models.ForeignKey(
        Email,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
        db_index=False,
    )

    group_key = models.CharField(max_length=200)
    count = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    state = models.CharField(
        max_length=10, choices=AlertState, default=AlertState.ACTIVE
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    resolution = models.CharField(max_length=200, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group_key"],
                condition=models.Q(state="active"),
                name="alert_one_active_per_group",
            )
        ]
        indexes = [
            models.Index(fields=["-last_seen", "-id"], name="alert_wall"),
            models.Index(
                fields=["level", "-last_seen", "-id"], name="alert_level_wall"
            ),
            models.Index(fields=["profile", "-last_seen"], name="alert_profile"),
            # "Errors of one profile", the wall's usual drill-down, and its
            # level counts (read from the index alone).
            models.Index(
                fields=["profile", "level", "-last_seen", "-id"],
                name="alert_profile_level",
                condition=models.Q(state="active"),
            ),
            # The indexes below hold only the rows that have what they index:
            # a repeat of a failure updates its alert's row, and every index
            # that holds the row takes a new entry (last_seen changes), so
            # each index left out makes ingestion lighter.
            models.Index(
                fields=["mailbox", "-last_seen"],
                name="alert_mailbox",
                condition=models.Q(mailbox__isnull=False),
            ),
            models.Index(
                fields=["email", "-last_seen"],
                name="alert_email",
                condition=models.Q(email__isnull=False),
            ),
            # The purge of old resolved alerts.
            models.Index(
                fields=["resolved_at"],
                name="alert_resolved",
                condition=models.Q(state="resolved"),
            ),
            # Deleting a user clears what they resolved.
            models.Index(
                fields=["resolved_by"],
                name="alert_resolved_by",
                condition=models.Q(resolved_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.message

    def get_absolute_url(self) -> str:
        return reverse("alerts:detail", args=[self.pk])


class AlertRecipient(models.Model):
    """One person's copy of an alert: whether action is asked, and whether
    they deleted it from their wall."""

    # No database constraint: deleting a million alerts must not fire a
    # million constraint checks. alerts.funnel.remove_alerts deletes copies
    # with their alerts, and Django's own delete() still cascades.
    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, related_name="recipients", db_constraint=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_copies"
    )
    action_required = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "user"], name="recipient_once")
        ]
        indexes = [models.Index(fields=["user", "alert"], name="recipient_user")]

    def __str__(self) -> str:
        return f"{self.user} <- alert {self.alert_id}"


class FailureRecord(models.Model):
    """One raw failure as it was reported, kept apart from its classification
    so that it can be classified again by a newer classifier."""

    source = models.CharField(max_length=12, choices=FailureSource)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    stage = models.CharField(max_length=20)
    text = models.TextField(blank=True)
    reply_code = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, blank=True)
    exception = models.CharField(max_length=200, blank=True)
    recipient = models.CharField(max_length=320, blank=True)
    profile = models.ForeignKey(
        ServerProfile, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    email = models.ForeignKey(
        Email,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    classification = models.JSONField(default=dict, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # The alert this failure went into when it was processed. Alerts are
    # deleted without touching the stored failures, so the id may outlive
    # its alert: read it as a reference, not a guarantee.
    alert = models.ForeignKey(
        Alert,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        # Every index here is written when a failure is stored and again when
        # it is processed: the optional links are indexed only where set, and
        # nothing looks failures up by alert.
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="failure_idempotency_key",
            )
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(processed_at__isnull=True),
                name="failure_unprocessed",
            ),
            models.Index(
                fields=["email"],
                condition=models.Q(email__isnull=False),
                name="failure_email",
            ),
            models.Index(
                fields=["submitted_by"],
                condition=models.Q(submitted_by__isnull=False),
                name="failure_submitted_by",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stage}: {self.text[:60]}"


class SyncPrompt(models.Model):
    """A decision a sync engine asks of a mailbox owner, shown as an alert."""

    alert = models.OneToOneField(
        Alert, on_delete=models.CASCADE, related_name="prompt", db_constraint=False
    )
    kind = models.CharField(max_length=20, choices=SyncPromptKind)
    external_id = models.CharField(max_length=200, blank=True)
    item = models.TextField()
    choices = models.JSONField(default=list)
    decision = models.CharField(max_length=100, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.item[:60]}"


class AlertSettings(models.Model):
    """The one row of settings that ops edit: which alerts are written and how
    patient retries are."""

    write_errors = models.BooleanField(default=True)
    write_warnings = models.BooleanField(default=True)
    write_information = models.BooleanField(default=True)
    notify_mailbox_owners_of_profile_errors = models.BooleanField(default=False)
    email_notifications = models.BooleanField(default=False)
    transient_attempts_before_permanent = models.PositiveIntegerField(default=10)
    backoff_base_seconds = models.PositiveIntegerField(default=60)
    backoff_cap_seconds = models.PositiveIntegerField(default=3600)
    retention_days = models.PositiveIntegerField(default=30)
    notification_repeat_minutes = models.PositiveIntegerField(default=60)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "alert settings"

    def __str__(self) -> str:
        return "Alert settings"

    def save(self, *args: object, **kwargs: object) -> None:
        self.pk = 1
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def load(cls) -> AlertSettings:
        """Return the settings row, creating it with defaults the first time."""
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    def writes_level(self, level: str) -> bool:
        return {
            Level.ERROR: self.write_errors,
            Level.WARNING: self.write_warnings,
            Level.INFORMATION: self.write_information,
        }.get(level, True)


class AuditEntry(models.Model):
    """Who did what and when: deletes, settings changes, tests."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(max_length=20, choices=AuditAction)
    target = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.get_action_display()}"

    @classmethod
    def record(
        cls, actor: object, action: str, target: str = "", **details: object
    ) -> AuditEntry:
        """Write one audit entry; anonymous or system actors are stored as None."""
        user = actor if getattr(actor, "is_authenticated", False) else None
        return cls.objects.create(
            actor=user, action=action, target=target[:300], details=details
        )


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 hash is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}...)"
