"""Plain data types of the bounce reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("dsn", "non-standard", "arf", "auto-reply", "not-bounce")


@dataclass
class BounceRecipient:
    """Describe what one bounce report says about one recipient."""

    recipient: str
    original_recipient: str | None = None
    action: str = "failed"
    status: str | None = None
    status_inferred: bool = False
    reply_code: int | None = None
    diagnostic: str = ""
    remote_mta: str | None = None
    last_attempt: str | None = None
    will_retry_until: str | None = None
    reason: str = "unknown"
    persistence: str = "permanent"
    scope: str = "email"

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of this recipient."""
        return {
            "recipient": self.recipient,
            "original_recipient": self.original_recipient,
            "action": self.action,
            "status": self.status,
            "status_inferred": self.status_inferred,
            "reply_code": self.reply_code,
            "diagnostic": self.diagnostic,
            "remote_mta": self.remote_mta,
            "last_attempt": self.last_attempt,
            "will_retry_until": self.will_retry_until,
            "reason": self.reason,
            "persistence": self.persistence,
            "scope": self.scope,
        }


@dataclass
class BounceReport:
    """Describe one incoming message as the bounce reader understood it.

    ``kind`` is one of ``KINDS``. Feedback reports (ARF) and auto-replies are
    recognised but are not bounces: ``is_bounce`` is False for them.
    """

    is_bounce: bool
    kind: str
    original_message_id: str | None = None
    correlation: dict[str, str] = field(default_factory=dict)
    recipients: list[BounceRecipient] = field(default_factory=list)
    feedback_type: str | None = None
    subject: str = ""
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the report."""
        data: dict[str, Any] = {
            "is_bounce": self.is_bounce,
            "kind": self.kind,
            "original_message_id": self.original_message_id,
            "correlation": dict(self.correlation),
            "recipients": [r.as_dict() for r in self.recipients],
        }
        if self.feedback_type is not None:
            data["feedback_type"] = self.feedback_type
        if self.error is not None:
            data["error"] = self.error
        return data
