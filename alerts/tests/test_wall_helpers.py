"""Test data for the page tests: alerts written straight to the tables.

The funnel decides level and scope from real failures; page tests need
alerts of a chosen level, scope and recipient, so they write the rows.
TODO(move make_alert into tests/factories.py once its owner agrees).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from alerts.choices import Level, Persistence, Scope
from alerts.models import Alert, AlertRecipient

_seq = itertools.count(1)


def make_alert(
    recipients: list[User] | tuple[User, ...] = (),
    action_required: bool = True,
    seen: datetime | None = None,
    **kw: Any,
) -> Alert:
    """Return a saved alert addressed to the given users."""
    n = next(_seq)
    seen = seen or timezone.now() - timedelta(minutes=n)
    level = kw.get("level", Level.ERROR)
    fields: dict[str, Any] = {
        "level": level,
        "persistence": Persistence.PERMANENT
        if level == Level.ERROR
        else Persistence.TRANSIENT,
        "scope": Scope.MAILBOX,
        "reason": "auth_failed",
        "message": f"Alert number {n}",
        "stage": "smtp-auth",
        "reply_code": 535,
        "status_code": "5.7.8",
        "detail": "535 5.7.8 Authentication credentials invalid",
        "explanation": "5.7.8: the server refused the credentials.",
        "action": "Enter the right password, then run Test & Enable.",
        "group_key": f"test-{n}",
        "first_seen": seen,
        "last_seen": seen,
    }
    fields.update(kw)
    alert = Alert.objects.create(**fields)
    for user in recipients:
        AlertRecipient.objects.create(
            alert=alert, user=user, action_required=action_required
        )
    return alert
