"""Settings for the test suite.

PostgreSQL and Redis are used when they answer (at the addresses from
DATABASE_URL / CELERY_BROKER_URL, or on their default local ports). When one
does not answer, the tests that need it skip, except under CI=true, where
the run stops with a clear error instead.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault(
    "SECRET_KEY", "test-secret-key-for-the-suite-only-0123456789abcdef"
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/alertcenter"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def _answers(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


_db_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
POSTGRES_AVAILABLE = _db_url.startswith("postgres") and _answers(_db_url, 5432)
_redis_url = os.environ.get("CELERY_BROKER_URL") or DEFAULT_REDIS_URL
REDIS_AVAILABLE = _redis_url.startswith("redis") and _answers(_redis_url, 6379)
IN_CI = os.environ.get("CI", "").lower() == "true"

if IN_CI and not (POSTGRES_AVAILABLE and REDIS_AVAILABLE):
    raise RuntimeError(
        "CI=true but PostgreSQL or Redis does not answer "
        f"(postgres: {POSTGRES_AVAILABLE}, redis: {REDIS_AVAILABLE})"
    )
if POSTGRES_AVAILABLE:
    os.environ["DATABASE_URL"] = _db_url
else:
    os.environ.pop("DATABASE_URL", None)

from alertcenter.settings import *  # noqa: E402,F403
from alertcenter.settings import BASE_DIR, DATABASES  # noqa: E402

if POSTGRES_AVAILABLE:
    # One test database per run, so that parallel runs do not collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_alertcenter_{os.getpid()}"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"]["NAME"] = BASE_DIR / "var" / "test.sqlite3"

REDIS_URL = _redis_url
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
AXES_ENABLED = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
