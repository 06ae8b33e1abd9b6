"""Set up Django for the bench: PostgreSQL and Redis, plain HTTP, no throttle."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROKER_URL = "redis://127.0.0.1:6379/9"

# What the web side and the workers share.
BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "alertcenter.settings",
    "DEBUG": "false",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "LOG_LEVEL": "WARNING",
    "CELERY_BROKER_URL": BROKER_URL,
    "ALERTCENTER_VAR_DIR": "/tmp/alertcenter-bench-var",
    # A benchmark posts far more than a person: lift the API write throttle.
    "API_WRITE_RATE": "1000000/second",
}


def setup() -> None:
    """Configure the environment and Django once, pointing at the bench DB."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bench.data import database_url

    os.environ.update(BENCH_ENV)
    os.environ["DATABASE_URL"] = database_url()
    import django
    from django.conf import settings

    django.setup()
    settings.DATABASES["default"]["CONN_MAX_AGE"] = None
