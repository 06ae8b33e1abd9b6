"""System checks that warn when production settings are unsafe."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_production_settings(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """Return warnings for settings that are fine for a demo but not for production."""
    from alertcenter.settings import DEV_SECRET_KEY

    found: list[Warning] = []
    if settings.SECRET_KEY == DEV_SECRET_KEY:
        found.append(
            Warning("SECRET_KEY is the development key.", id="alertcenter.W001")
        )
    if not settings.FIELD_ENCRYPTION_KEY:
        found.append(
            Warning(
                "FIELD_ENCRYPTION_KEY is unset: passwords are encrypted with a key "
                "derived from SECRET_KEY, so rotating SECRET_KEY loses them.",
                id="alertcenter.W002",
            )
        )
    if "*" in settings.ALLOWED_HOSTS:
        found.append(Warning("ALLOWED_HOSTS accepts any host.", id="alertcenter.W003"))
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        found.append(
            Warning(
                "SQLite is the demo database; set DATABASE_URL.", id="alertcenter.W004"
            )
        )
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        found.append(
            Warning(
                "The filesystem broker serves one machine; set CELERY_BROKER_URL.",
                id="alertcenter.W005",
            )
        )
    return found
