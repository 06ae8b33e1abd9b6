"""Email notifications to the people who must act on an alert."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from alerts.models import Alert, AlertRecipient, AlertSettings

logger = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def header_safe(text: str, limit: int = 150) -> str:
    """Return text fit for a mail header: control characters (CR, LF, ...)
    become spaces, so server text can never add a header."""
    return _CONTROL.sub(" ", text).strip()[:limit]


def notification_body(alert: Alert) -> str:
    """Return the plain-text body of a notification (server text stays text)."""
    lines = [
        f"{alert.get_level_display()} ({alert.get_scope_display()}): {alert.message}",
        "",
        f"Why: {alert.explanation}" if alert.explanation else "",
        f"What to do: {alert.action}" if alert.action else "",
        f"Server said: {_CONTROL.sub(' ', alert.detail)[:1000]}"
        if alert.detail
        else "",
        f"Seen {alert.count} time(s), last at {alert.last_seen:%Y-%m-%d %H:%M %Z}.",
    ]
    return "\n".join(line for line in lines if line)


def notify_alert(alert_id: int) -> int:
    """Email the recipients who must act, at most once per repeat interval.

    Return how many messages were sent.
    """
    alert = Alert.objects.filter(pk=alert_id).first()
    settings_row = AlertSettings.load()
    if alert is None or not settings_row.email_notifications:
        return 0
    quiet_since = timezone.now() - timedelta(
        minutes=settings_row.notification_repeat_minutes
    )
    due = (
        AlertRecipient.objects.filter(
            alert=alert, action_required=True, deleted_at__isnull=True
        )
        .filter(Q(notified_at__isnull=True) | Q(notified_at__lt=quiet_since))
        .select_related("user")
    )
    sent = 0
    subject = header_safe(f"[alertcenter] {alert.get_level_display()}: {alert.message}")
    body = notification_body(alert)
    for copy in due:
        address = header_safe(copy.user.email, 320)
        if not address:
            continue
        # Claim the copy first, so that two workers never send the same mail.
        claimed = AlertRecipient.objects.filter(
            pk=copy.pk, notified_at=copy.notified_at
        ).update(notified_at=timezone.now())
        if not claimed:
            continue
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
        sent += 1
    if sent:
        Alert.objects.filter(pk=alert.pk).update(last_notified_at=timezone.now())
    return sent
