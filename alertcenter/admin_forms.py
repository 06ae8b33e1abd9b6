"""Admin forms whose password fields are write-only."""

from __future__ import annotations

from typing import Any

from django import forms


class SecretFieldForm(forms.ModelForm):
    """Show the password field empty; an empty submission keeps the stored one."""

    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current password.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["password"] = ""

    def clean_password(self) -> str:
        new = self.cleaned_data.get("password") or ""
        if not new and self.instance.pk:
            return str(self.instance.password or "")
        return new
