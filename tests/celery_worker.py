"""Real Celery workers for the tests, and a way to send this process's tasks
through a real broker (or to one that is down: the broker_down fixture,
loaded from the root conftest).

A worker is a separate process (``celery -A alertcenter worker --pool solo``),
so tasks really travel through the broker and run with their own database
connection. The end-to-end tests use the suite's Redis and test database; the
fault tests give a private Redis or PostgreSQL.
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
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from alertcenter.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
# A port where no broker listens.
DEAD_BROKER = "redis://127.0.0.1:1/0"
_names = itertools.count(1)


def database_url_of(settings_dict: dict[str, Any]) -> str:
    """Return a DATABASE_URL for a Django connection's settings."""
    user = quote(str(settings_dict.get("USER") or ""))
    password = quote(str(settings_dict.get("PASSWORD") or ""))
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def current_database_url() -> str:
    """Return a DATABASE_URL for the database the tests run on right now."""
    return database_url_of(connection.settings_dict)


class Worker:
    """One worker process; stop() ends it politely, kill() with SIGKILL, as a
    crash or an OOM kill would."""

    def __init__(
        self,
        log: Path,
        broker_url: str | None = None,
        database_url: str | None = None,
    ) -> None:
        self.name = f"w{next(_names)}-{os.getpid()}@localhost"
        env = dict(os.environ)
        env.update(
            CELERY_BROKER_URL=broker_url or settings.REDIS_URL,
            DATABASE_URL=database_url or current_database_url(),
            DJANGO_SETTINGS_MODULE="alertcenter.settings",
            CELERY_TASK_ALWAYS_EAGER="false",
            DEBUG="false",
            LOG_LEVEL="INFO",
        )
        self.log = log
        self._log_file = log.open("ab")
        command = [sys.executable, "-m", "celery", "-A", "alertcenter", "worker"]
        command += ["--pool", "solo", "--loglevel", "INFO", "-n", self.name]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, timeout: float = 40.0) -> None:
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
        """End the worker at once."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log_file.close()

    def stop(self) -> None:
        """End the worker with SIGTERM, then SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if not self._log_file.closed:
            self._log_file.close()


@contextmanager
def celery_on(broker_url: str) -> Iterator[None]:
    """Send this process's tasks through the given broker, not eagerly."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_transport_options)
    conf.task_always_eager = False
    conf.broker_url = broker_url
    conf.broker_transport_options = {"visibility_timeout": 3600}
    _forget_connections()
    try:
        yield
    finally:
        _forget_connections()
        conf.task_always_eager, conf.broker_url, conf.broker_transport_options = saved


@pytest.fixture
def broker_down() -> Iterator[None]:
    """Send this process's tasks to a broker that does not answer."""
    with celery_on(DEAD_BROKER):
        yield


@contextmanager
def tasks_through_redis() -> Iterator[None]:
    """Send tasks through the suite's Redis, starting from an empty queue."""
    with celery_on(settings.REDIS_URL):
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge("celery")
        yield


def _forget_connections() -> None:
    # Kombu pools producers per broker URL in a global registry: clear it,
    # or a pool of the previous URL is handed out again.
    from kombu import pools

    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    pools.reset()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` until it is true; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)
