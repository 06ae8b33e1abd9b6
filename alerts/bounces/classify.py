"""Thin adapter between the bounce reader and the shared classifier.

The bounce's own wording rules come first, the classifier's reading next,
the status code last; the DSN action then forces the persistence.
"""

from __future__ import annotations

import logging
from typing import Any

from alerts.classifier import classify
from alerts.classifier.reasons import Reason
from alerts.classifier.types import Failure

from .types import BounceRecipient
from .wording import (
    is_specific_status,
    names_sender,
    reason_from_status,
    reason_from_text,
    reason_from_weak_text,
)

logger = logging.getLogger(__name__)


def classify_recipient(recipient: BounceRecipient) -> None:
    """Fill reason, persistence and scope of ``recipient`` in place."""
    decision = _classifier_decision(recipient)
    text_reason = reason_from_text(recipient.diagnostic)
    classifier_reason = _reason_of(decision)
    status_reason = reason_from_status(recipient.status)
    specific = status_reason if is_specific_status(recipient.status) else None
    if recipient.action in ("delivered", "relayed", "expanded"):
        reason: Reason | None = Reason.NOTICE
    elif names_sender(recipient.status):
        reason = Reason.SENDER_REJECTED
    else:
        reason = (
            text_reason
            or classifier_reason
            or specific
            or reason_from_weak_text(recipient.diagnostic)
            or status_reason
        )
    recipient.reason = (reason or Reason.UNKNOWN).value
    recipient.scope = str(getattr(getattr(decision, "scope", None), "value", "email"))
    recipient.persistence = _persistence(recipient, decision)


def _classifier_decision(recipient: BounceRecipient) -> Any:
    failure = Failure(
        stage="dsn",
        text=recipient.diagnostic,
        reply_code=recipient.reply_code,
        status=recipient.status,
    )
    try:
        return classify(failure)
    except Exception:  # noqa: BLE001 - a classifier bug must not lose a bounce
        logger.warning("classifier failed on a bounce recipient", exc_info=True)
        return None


def _reason_of(decision: Any) -> Reason | None:
    value = getattr(decision, "reason", None)
    try:
        reason = Reason(getattr(value, "value", value))
    except ValueError:
        return None
    return None if reason is Reason.UNKNOWN else reason


def _persistence(recipient: BounceRecipient, decision: Any) -> str:
    if recipient.action == "delayed":
        return "transient"
    if recipient.action == "failed":
        return "permanent"
    value = getattr(getattr(decision, "persistence", None), "value", None)
    if value:
        return str(value)
    return "transient" if (recipient.status or "").startswith("4") else "permanent"
