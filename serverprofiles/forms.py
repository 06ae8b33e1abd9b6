from __future__ import annotations

from django import forms


class ProfileTestForm(forms.Form):
    """Which test of a profile to run: its connection only, or Test & Enable
    of every mailbox that uses it."""

    all_mailboxes = forms.BooleanField(required=False)
