from django.db import models


class Level(models.TextChoices):
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"
    INFORMATION = "information", "Information"


class Persistence(models.TextChoices):
    PERMANENT = "permanent", "Permanent"
    TRANSIENT = "transient", "Transient"


class Scope(models.TextChoices):
    EMAIL = "email", "Email"
    MAILBOX = "mailbox", "Mailbox"
    PROFILE = "profile", "Server profile"


class AlertState(models.TextChoices):
    ACTIVE = "active", "Active"
    RESOLVED = "resolved", "Resolved"


class AlertKind(models.TextChoices):
    FAILURE = "failure", "Failure"
    NOTICE = "notice", "Notice"
    SYNC_PROMPT = "sync_prompt", "Sync prompt"


class FailureSource(models.TextChoices):
    PROCESSING = "processing", "Processing"
    BOUNCE = "bounce", "Bounce report"
    API = "api", "HTTP API"
    TEST = "test", "Test & Enable"


class SyncPromptKind(models.TextChoices):
    DUPLICATE = "duplicate", "Duplicate records found"
    CONFLICT = "conflict", "Scheduling conflict"
    PREVIOUSLY_LINKED = "previously_linked", "Items linked before"


class AuditAction(models.TextChoices):
    DELETE = "delete", "Deleted an alert"
    DELETE_ALL = "delete_all", "Deleted all alerts"
    RESOLVE = "resolve", "Resolved an alert"
    SETTINGS = "settings", "Changed alert settings"
    TEST_AND_ENABLE = "test_and_enable", "Ran Test & Enable"
    TEST_PROFILE = "test_profile", "Tested a server profile"
    SYNC_DECISION = "sync_decision", "Decided a sync prompt"
    TOKEN = "token", "Managed an API token"
