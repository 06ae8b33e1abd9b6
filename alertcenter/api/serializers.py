"""What the API reads and writes. Passwords and usernames never leave."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models.functions import Lower
from rest_framework import serializers

from alerts.choices import SyncPromptKind
from alerts.classifier.types import Stage
from alerts.models import Alert, SyncPrompt
from mailboxes.choices import Direction
from mailboxes.models import Email, Mailbox
from serverprofiles.models import ServerProfile

MAX_BATCH = 1000
MAX_TEXT = 10_000
MAX_KEY = 180
MAX_LOOKUP = 998
STAGES = [stage.value for stage in Stage]
STATUS_PATTERN = r"^[245]\.\d{1,3}\.\d{1,3}$"

DEFAULT_CHOICES = {
    SyncPromptKind.DUPLICATE: ["Save anyway", "Do not save"],
    SyncPromptKind.CONFLICT: ["Save anyway", "Do not save"],
    SyncPromptKind.PREVIOUSLY_LINKED: ["Link again", "Do not link"],
}


def normalise_message_id(value: str) -> str:
    """Return a Message-ID in angle brackets, as emails store it."""
    value = value.strip()
    if not value.startswith("<"):
        value = f"<{value}>"
    return value


def _storable(value: str) -> bool:
    """Return whether a database query may carry this text (no NUL, no lone
    surrogate); anything else fails validation later anyway."""
    if "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _strings(items: Iterable[Any], field: str) -> set[str]:
    """Return the lookup values a raw batch gives for a field."""
    found = set()
    for item in items:
        value = item.get(field) if isinstance(item, dict) else None
        if isinstance(value, str) and value.strip() and _storable(value):
            found.add(value.strip()[:MAX_LOOKUP])
    return found


class FailureLookups:
    """The mailboxes, profiles and emails a batch names, fetched in three
    queries and limited to what the user may see."""

    def __init__(self, user: Any, items: list[Any]) -> None:
        # Only what validation reads: not the passwords (which would be
        # decrypted for nothing), nor the raw messages.
        addresses = {a.lower() for a in _strings(items, "mailbox")}
        boxes = (
            Mailbox.objects.managed_by(user)
            .only("id", "address", "profile_id")
            .annotate(lower=Lower("address"))
        )
        self.mailboxes = {box.lower: box for box in boxes.filter(lower__in=addresses)}

        names = _strings(items, "profile")
        profiles = ServerProfile.objects.managed_by(user).filter(name__in=names)
        self.profiles = {profile.name: profile for profile in profiles.only("name")}

        message_ids = {normalise_message_id(m) for m in _strings(items, "email")}
        emails = (
            Email.objects.filter(
                mailbox__in=list(self.mailboxes.values()), message_id__in=message_ids
            )
            .only("id", "mailbox_id", "message_id", "direction")
            .order_by("created_at")
        )
        self.emails: dict[tuple[int, str], Email] = {}
        for email in emails:
            key = (email.mailbox_id, email.message_id)
            # Bounces concern what was sent: an outgoing copy wins.
            if key not in self.emails or email.direction == Direction.OUTGOING:
                self.emails[key] = email


class FailureSerializer(serializers.Serializer[dict[str, Any]]):
    """One failure as an external processor reports it."""

    occurred_at = serializers.DateTimeField()
    mailbox = serializers.CharField(
        required=False, max_length=254, help_text="Address of the mailbox."
    )
    profile = serializers.CharField(
        required=False, max_length=120, help_text="Name of the server profile."
    )
    email = serializers.CharField(
        required=False,
        max_length=998,
        help_text="Message-ID of an email of that mailbox.",
    )
    stage = serializers.ChoiceField(choices=STAGES)
    text = serializers.CharField(max_length=MAX_TEXT, help_text="The server's reply.")
    reply_code = serializers.IntegerField(
        required=False, allow_null=True, min_value=200, max_value=599
    )
    status = serializers.RegexField(
        STATUS_PATTERN,
        required=False,
        allow_blank=True,
        max_length=16,
        help_text="Enhanced status code, e.g. 5.1.1.",
    )
    exception = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Class name."
    )
    recipient = serializers.CharField(required=False, allow_blank=True, max_length=320)
    idempotency_key = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=MAX_KEY,
        help_text="A failure whose key was seen before is not recorded again.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        lookups: FailureLookups = self.context["lookups"]
        address = attrs.pop("mailbox", "").strip()
        name = attrs.pop("profile", "").strip()
        message_id = attrs.pop("email", "").strip()
        if not address and not name:
            raise serializers.ValidationError("Give a mailbox or a profile.")

        mailbox = profile = email = None
        if address:
            mailbox = lookups.mailboxes.get(address.lower())
            if mailbox is None:
                raise serializers.ValidationError({"mailbox": "Unknown mailbox."})
        if name:
            profile = lookups.profiles.get(name)
            if profile is None:
                raise serializers.ValidationError({"profile": "Unknown profile."})
            if mailbox is not None and mailbox.profile_id != profile.pk:
                raise serializers.ValidationError(
                    {"profile": "This is not the profile of that mailbox."}
                )
        if message_id:
            if mailbox is None:
                raise serializers.ValidationError(
                    {"email": "An email is looked up within a mailbox: give one."}
                )
            key = (mailbox.pk, normalise_message_id(message_id))
            email = lookups.emails.get(key)
            if email is None:
                raise serializers.ValidationError(
                    {"email": "No email with this Message-ID in that mailbox."}
                )

        attrs["mailbox"] = mailbox
        attrs["profile_id"] = profile.pk if profile else mailbox and mailbox.profile_id
        attrs["email"] = email
        return attrs


class FailureBatchSerializer(serializers.Serializer[dict[str, Any]]):
    """A batch of failures: {"failures": [...]}."""

    failures = FailureSerializer(many=True, min_length=1, max_length=MAX_BATCH)


class FailuresAcceptedSerializer(serializers.Serializer[dict[str, Any]]):
    ids = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The stored failure of each item, in the order given.",
    )
    created = serializers.IntegerField(help_text="Failures recorded now.")
    duplicates = serializers.IntegerField(
        help_text="Items whose idempotency key was seen before."
    )


class SyncPromptCreateSerializer(serializers.Serializer[dict[str, Any]]):
    """A decision a sync engine asks of the owner of a mailbox."""

    kind = serializers.ChoiceField(choices=SyncPromptKind.choices)
    mailbox = serializers.CharField(max_length=254, help_text="Address.")
    item = serializers.CharField(
        max_length=2000, help_text="Description of the item concerned."
    )
    choices = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        min_length=1,
        max_length=10,
        help_text="The choices offered; a default pair for the kind if omitted.",
    )
    external_id = serializers.CharField(
        required=False, allow_blank=True, max_length=200, default=""
    )

    def validate_mailbox(self, value: str) -> Mailbox:
        user = self.context["request"].user
        boxes = Mailbox.objects.managed_by(user).annotate(lower=Lower("address"))
        mailbox = boxes.filter(lower=value.strip().lower()).first()
        if mailbox is None:
            raise serializers.ValidationError("Unknown mailbox.")
        return mailbox

    def validate_choices(self, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Choices must differ.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("choices"):
            attrs["choices"] = list(DEFAULT_CHOICES[SyncPromptKind(attrs["kind"])])
        return attrs


class SyncPromptSerializer(serializers.ModelSerializer[SyncPrompt]):
    mailbox = serializers.SerializerMethodField()
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    choices = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = SyncPrompt
        fields = [
            "id",
            "alert",
            "kind",
            "mailbox",
            "item",
            "choices",
            "external_id",
            "decision",
            "decided_by",
            "decided_at",
        ]
        read_only_fields = fields

    def get_mailbox(self, prompt: SyncPrompt) -> str | None:
        mailbox = prompt.alert.mailbox
        return mailbox.address if mailbox else None


class AlertSerializer(serializers.ModelSerializer[Alert]):
    prompt = SyncPromptSerializer(read_only=True, allow_null=True, default=None)

    class Meta:
        model = Alert
        fields = [
            "id",
            "kind",
            "level",
            "persistence",
            "scope",
            "reason",
            "message",
            "stage",
            "status_code",
            "reply_code",
            "detail",
            "explanation",
            "action",
            "classifier_version",
            "profile",
            "mailbox",
            "email",
            "count",
            "first_seen",
            "last_seen",
            "state",
            "resolved_at",
            "resolution",
            "prompt",
        ]
        read_only_fields = fields


class DeleteAllSerializer(serializers.Serializer[dict[str, Any]]):
    confirm = serializers.BooleanField(
        help_text="Must be true: every alert matching the filters is deleted."
    )

    def validate_confirm(self, value: bool) -> bool:
        if not value:
            raise serializers.ValidationError("Confirm with true.")
        return value


class DeletedSerializer(serializers.Serializer[dict[str, Any]]):
    deleted = serializers.IntegerField()


class ProfileRefSerializer(serializers.ModelSerializer[ServerProfile]):
    class Meta:
        model = ServerProfile
        fields = ["id", "name"]
        read_only_fields = fields


class MailboxSerializer(serializers.ModelSerializer[Mailbox]):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    profile = ProfileRefSerializer(read_only=True)
    is_suspended = serializers.BooleanField(read_only=True)

    class Meta:
        model = Mailbox
        fields = [
            "id",
            "address",
            "owner",
            "profile",
            "incoming_enabled",
            "outgoing_enabled",
            "incoming_test",
            "incoming_tested_at",
            "outgoing_test",
            "outgoing_tested_at",
            "sync_test",
            "sync_tested_at",
            "test_requested_at",
            "processing_state",
            "is_suspended",
            "incoming_suspended",
            "outgoing_suspended",
            "suspended_reason",
            "suspended_at",
            "backoff_until",
            "consecutive_failures",
            "failure_reason",
            "last_success_at",
            "last_run_at",
            "next_run_at",
        ]
        read_only_fields = fields


class ProfileSerializer(serializers.ModelSerializer[ServerProfile]):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    is_suspended = serializers.BooleanField(read_only=True)

    class Meta:
        model = ServerProfile
        fields = [
            "id",
            "name",
            "owner",
            "incoming_protocol",
            "incoming_host",
            "incoming_port",
            "incoming_security",
            "outgoing_host",
            "outgoing_port",
            "outgoing_security",
            "verify_certificates",
            "timeout_seconds",
            "polling_interval_seconds",
            "max_connections",
            "state",
            "is_suspended",
            "suspended_reason",
            "suspended_at",
            "consecutive_failures",
            "failure_reason",
            "backoff_until",
            "incoming_test",
            "outgoing_test",
            "tested_at",
        ]
        read_only_fields = fields


class TestQueuedSerializer(serializers.Serializer[dict[str, Any]]):
    queued = serializers.BooleanField()
    mailbox = serializers.IntegerField()


class HealthSerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.CharField()
    checks = serializers.DictField(child=serializers.CharField())
