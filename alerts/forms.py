from __future__ import annotations

from typing import Any

from django import forms

from alerts.models import AlertSettings


class AlertSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    """The settings ops edit: which alerts are written and how patient retries
    are."""

    class Meta:
        model = AlertSettings
        fields = [
            "write_errors",
            "write_warnings",
            "write_information",
            "notify_mailbox_owners_of_profile_errors",
            "email_notifications",
            "transient_attempts_before_permanent",
            "backoff_base_seconds",
            "backoff_cap_seconds",
            "retention_days",
            "notification_repeat_minutes",
        ]
        labels = {
            "write_errors": "Write error alerts",
            "write_warnings": "Write warning alerts",
            "write_information": "Write information alerts",
            "notify_mailbox_owners_of_profile_errors": (
                "Notify owners of affected mailboxes of profile errors"
            ),
            "email_notifications": "Email the people who must act",
            "transient_attempts_before_permanent": (
                "Transient failures in a row before permanent"
            ),
            "backoff_base_seconds": "First retry delay (seconds)",
            "backoff_cap_seconds": "Longest retry delay (seconds)",
            "retention_days": "Keep resolved alerts (days)",
            "notification_repeat_minutes": "Repeat a notification after (minutes)",
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        base, cap = data.get("backoff_base_seconds"), data.get("backoff_cap_seconds")
        if base is not None and cap is not None and cap < base:
            self.add_error(
                "backoff_cap_seconds", "The longest delay cannot be below the first."
            )
        if data.get("transient_attempts_before_permanent") == 0:
            self.add_error("transient_attempts_before_permanent", "Use at least 1.")
        return data

    def changes(self) -> dict[str, list[Any]]:
        """Return {field: [old, new]} for every changed field."""
        return {
            name: [self.initial.get(name), self.cleaned_data.get(name)]
            for name in self.changed_data
        }
