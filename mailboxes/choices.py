from django.db import models


class ProcessingState(models.TextChoices):
    IDLE = "idle", "Idle"
    RUNNING = "running", "Running"
    BACKOFF = "backoff", "Backing off"
    SUSPENDED = "suspended", "Suspended"
    DISABLED = "disabled", "Disabled"


class Direction(models.TextChoices):
    INCOMING = "incoming", "Incoming"
    OUTGOING = "outgoing", "Outgoing"


class EmailStatus(models.TextChoices):
    PENDING_SEND = "pending_send", "Pending send"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    RECEIVED = "received", "Received"


class Health(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    WARNING = "warning", "With warnings"
    FAILING = "failing", "Failing"
    SUSPENDED = "suspended", "Suspended"
    NOT_TESTED = "not_tested", "Not tested"
