"""GET /healthz: is the database reachable, is the broker? No login.

Each check runs in its own thread with a deadline, so that a server that
does not answer makes the probe fail fast instead of hanging it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as Deadline

from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from alertcenter.celery import app as celery_app

logger = logging.getLogger(__name__)

DEADLINE_SECONDS = 3.0
OK = "ok"


def check_database() -> None:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # The check ran in a worker thread that owns this connection.
        connections.close_all()


def check_broker() -> None:
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(
            max_retries=1, interval_start=0, timeout=DEADLINE_SECONDS
        )


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
}


def run_checks() -> dict[str, str]:
    """Return each check's outcome: "ok", "timeout" or "error"."""
    outcomes: dict[str, str] = {}
    pool = ThreadPoolExecutor(max_workers=len(CHECKS))
    futures = {name: pool.submit(check) for name, check in CHECKS.items()}
    for name, future in futures.items():
        try:
            future.result(timeout=DEADLINE_SECONDS)
            outcomes[name] = OK
        except Deadline:
            logger.warning("health check %s did not answer in time", name)
            outcomes[name] = "timeout"
        except Exception as exc:
            logger.warning("health check %s failed: %s", name, exc.__class__.__name__)
            outcomes[name] = "error"
    # A hung check must not hold the answer: its thread is left to finish.
    pool.shutdown(wait=False)
    return outcomes


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    healthy = all(outcome == OK for outcome in checks.values())
    return JsonResponse(
        {"status": OK if healthy else "error", "checks": checks},
        status=200 if healthy else 503,
    )
