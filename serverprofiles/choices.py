from django.db import models


class IncomingProtocol(models.TextChoices):
    IMAP = "imap", "IMAP"
    POP3 = "pop3", "POP3"


class Security(models.TextChoices):
    NONE = "none", "None (plain text)"
    STARTTLS = "starttls", "STARTTLS"
    TLS = "tls", "Implicit TLS"


class TestStatus(models.TextChoices):
    __test__ = False  # not a pytest test class, despite its name

    NOT_RUN = "not_run", "Not run"
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"


class ProfileState(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
