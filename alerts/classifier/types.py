"""Plain data types shared by the classifier, the bounce reader and processing.

Nothing here imports Django: the classifier must run anywhere.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass, field, fields
from typing import Any


class Persistence(str, enum.Enum):  # noqa: UP042 - str() must stay the member name
    PERMANENT = "permanent"
    TRANSIENT = "transient"


class Scope(str, enum.Enum):  # noqa: UP042 - str() must stay the member name
    EMAIL = "email"
    MAILBOX = "mailbox"
    PROFILE = "profile"


class Level(str, enum.Enum):  # noqa: UP042 - str() must stay the member name
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"


class Stage(str, enum.Enum):  # noqa: UP042 - str() must stay the member name
    TCP = "tcp"
    DNS = "dns"
    TLS = "tls"
    SMTP_CONNECT = "smtp-connect"
    SMTP_AUTH = "smtp-auth"
    SMTP_SEND = "smtp-send"
    IMAP_CONNECT = "imap-connect"
    IMAP_LOGIN = "imap-login"
    IMAP_FETCH = "imap-fetch"
    IMAP_APPEND = "imap-append"
    POP3_CONNECT = "pop3-connect"
    POP3_LOGIN = "pop3-login"
    POP3_FETCH = "pop3-fetch"
    DSN = "dsn"
    EWS = "ews"
    OTHER = "other"
    SMTP = "smtp"
    IMAP = "imap"
    POP3 = "pop3"


@dataclass(frozen=True)
class Failure:
    """Describe one raw processing failure, as processing saw it.

    ``exception`` is a Python exception class name ("SMTPRecipientsRefused",
    "socket.gaierror", "ssl.SSLCertVerificationError", ...). ``reply_code`` is
    an SMTP reply code; ``status`` an RFC 3463 enhanced status code.
    """

    stage: str
    text: str = ""
    reply_code: int | None = None
    status: str | None = None
    exception: str | None = None


@dataclass(frozen=True)
class Classification:
    """Describe the decision the classifier took about one failure."""

    persistence: Persistence
    scope: Scope
    level: Level
    reason: str
    status: str | None
    reply_code: int | None
    explanation: str
    action: str
    classifier_version: str
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the decision."""
        # A shallow copy: asdict() deep-copies the facts, which costs more
        # than the classification itself.
        data = {name: getattr(self, name) for name in _FIELD_NAMES}
        for key in ("persistence", "scope", "level"):
            data[key] = data[key].value
        data["facts"] = (
            copy.deepcopy(self.facts) if _nested(self.facts) else dict(self.facts)
        )
        return data


_FIELD_NAMES = tuple(item.name for item in fields(Classification))


def _nested(facts: dict[str, Any]) -> bool:
    return any(isinstance(value, dict | list | set) for value in facts.values())
