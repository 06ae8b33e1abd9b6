"""Helpers of the trust tests: private Redis and PostgreSQL servers, a real
Celery worker pointed at them, and a tally of how many inputs each test tried.

The machine's shared Redis (6379) and PostgreSQL (5432) serve other test runs
at the same time, so the tests that stop or restart a service start their own
copy on a free loopback port and stop only that one.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mailboxes.testservers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def tally(kind: str, tried: int, result: str) -> None:
    """Print one line of what a trust test tried (shown with ``pytest -s``)."""
    print(f"\nTRUST {kind}: tried {tried}; {result}")


def require(binary: str) -> str | None:
    """Return why a test cannot run without ``binary``, or None when it can."""
    if shutil.which(binary) or Path(binary).exists():
        return None
    return f"{binary} is not installed"


# -- Redis -----------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of our own on a free port, with nothing kept on disk:
    stopping it loses every queued task, as a crash of the broker would."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


# -- PostgreSQL --------------------------------------------------------------------


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a free port, owned by the postgres
    system user, which the test may stop and start at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="alertcenter-trust-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.folder.chmod(0o755)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/alertcenter"

    def _as_owner(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(
            command, check=True, capture_output=True, text=True, timeout=60
        )

    def init(self) -> None:
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._as_owner(
            str(POSTGRES_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()
        self._as_owner(
            str(POSTGRES_BIN / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-c",
            "CREATE DATABASE alertcenter",
        )

    def start(self) -> None:
        self._as_owner(
            str(POSTGRES_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off",
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._as_owner(
            str(POSTGRES_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"
        )

    def restart(self) -> None:
        """Stop the server (ending every connection) and start it again."""
        self.stop()
        self.start()

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)


# -- Celery workers: tests/celery_worker.py, shared with the end-to-end tests


def walk_patterns(
    patterns: list[Any] | None = None, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, Any]]:
    """Yield (route, name, pattern) of every leaf URL pattern of the project:
    the route as one string from the root, the name with its namespaces."""
    from django.urls import URLPattern, URLResolver, get_resolver

    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}{entry.namespace}:"
            yield from walk_patterns(entry.url_patterns, route, inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else ""
            yield route, name, entry


# -- a world of objects and the URLs that show them ------------------------------


# No NUL: PostgreSQL text cannot hold one (see test_trust_faults for NUL).
HOSTILE = (
    "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"
    "\r\nX-Injected: yes\r\n\x07\x1b[31m\u202e<svg onload=alert(3)>"
)
RAW_MARKUP = ("<script>alert", "<img src=x", "<svg onload")


class World:
    """One owner's objects, each carrying hostile text, plus the URL of every
    page and endpoint about them (by URL name)."""

    def __init__(self, owner: Any, text: str = "plain") -> None:
        from alertcenter.api.auth import issue_token
        from alerts.funnel import open_sync_prompt
        from alerts.tests.test_wall_helpers import make_alert
        from tests.factories import make_email, make_mailbox, make_profile

        self.profile = make_profile(
            owner=owner, name=f"{text} profile {owner.pk}", password="Prof-Secret-1"
        )
        self.mailbox = make_mailbox(
            owner=owner,
            profile=self.profile,
            address=f"box{owner.pk}@example.com",
            password="Box-Secret-2",
        )
        self.email = make_email(
            mailbox=self.mailbox,
            subject=text,
            sender=f"{text}@example.org",
            recipients=[f"{text}@example.net"],
            last_error=text,
        )
        self.alert = make_alert(
            [owner],
            mailbox=self.mailbox,
            profile=self.profile,
            email=self.email,
            message=text,
            detail=text,
            explanation=text,
            action=text,
        )
        self.prompt = open_sync_prompt(self.mailbox, "conflict", text, ["keep", text])
        self.token, self.raw_token = issue_token(owner, text[:100])

    def ids(self) -> dict[str, int]:
        """Return the object id each URL name with a <pk> takes."""
        alert, mailbox, profile = self.alert.pk, self.mailbox.pk, self.profile.pk
        return {
            "alerts:detail": alert,
            "alerts:delete": alert,
            "alerts:resolve": alert,
            "alerts:decide": self.prompt.alert_id,
            "mailboxes:detail": mailbox,
            "mailboxes:status": mailbox,
            "mailboxes:test": mailbox,
            "mailboxes:email": self.email.pk,
            "serverprofiles:detail": profile,
            "serverprofiles:status": profile,
            "serverprofiles:test": profile,
            "api:alert": alert,
            "api:mailbox": mailbox,
            "api:mailbox-test-and-enable": mailbox,
            "api:profile": profile,
            "api:token-revoke": self.token.pk,
        }


def page_urls(world: World) -> dict[str, str]:
    """Return a concrete URL for every named project URL outside the admin
    that takes no argument or one the world has."""
    from django.urls import reverse

    ids = world.ids()
    urls: dict[str, str] = {}
    for route, name, _pattern in walk_patterns():
        if not name or name.startswith("admin:"):
            continue
        args = [ids[name]] if "<" in route else []
        urls[name] = reverse(name, args=args)
    return urls
