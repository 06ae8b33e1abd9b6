"""Start a real Celery worker on Redis against the test database, and point
the test process's Celery app at the same broker.

Used by the end-to-end tests: the worker is a separate process (``celery -A
alertcenter worker --pool solo``), so tasks really travel through Redis and
run with their own database connection.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from alertcenter.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
_names = itertools.count(1)


def current_database_url() -> str:
    """Return a DATABASE_URL for the database the tests run on right now."""
    conf = connection.settings_dict
    user = quote(conf.get("USER") or "")
    password = quote(conf.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = conf.get("HOST") or "127.0.0.1"
    port = conf.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{conf['NAME']}"


class Worker:
    """One worker process; stop() ends it politely, kill() with SIGKILL."""

    def __init__(self, log: Path) -> None:
        self.name = f"e2e{next(_names)}-{os.getpid()}@localhost"
        env = dict(os.environ)
        env.update(
            CELERY_BROKER_URL=settings.REDIS_URL,
            DATABASE_URL=current_database_url(),
            DJANGO_SETTINGS_MODULE="alertcenter.settings",
            CELERY_TASK_ALWAYS_EAGER="false",
            LOG_LEVEL="INFO",
        )
        self.log = log
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "alertcenter",
                "worker",
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
                "-n",
                self.name,
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until the worker says it is ready; raise with its log if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"ready." in self.log.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"the worker did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """End the worker at once, as a crash or an OOM kill would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log_file.close()

    def stop(self) -> None:
        """End the worker with SIGTERM, then SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if not self._log_file.closed:
            self._log_file.close()


@contextmanager
def tasks_through_redis() -> Iterator[None]:
    """Send tasks from this process through Redis instead of running them here."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_transport_options)
    conf.task_always_eager = False
    conf.broker_url = settings.REDIS_URL
    conf.broker_transport_options = {"visibility_timeout": 3600}
    _forget_pools()
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    try:
        yield
    finally:
        _forget_pools()
        conf.task_always_eager, conf.broker_url, conf.broker_transport_options = saved


def _forget_pools() -> None:
    # Kombu keeps one pool per broker URL; dropping the app's references makes
    # it take the pool of the URL now configured.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` until it is true; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)
