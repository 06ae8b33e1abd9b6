"""Pytest fixtures that start real mail servers (see mailboxes/testservers.py).

Loaded from the root conftest with ``pytest_plugins = ["tests.fixtures_mail"]``.
Dovecot tests skip when Dovecot is not installed, except under CI=true,
where a missing Dovecot fails them.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from mailboxes.testservers import (
    Certificates,
    DovecotServer,
    RawServer,
    SmtpServer,
    closed_port,
    dovecot_binary,
    make_certificates,
    start_dovecot,
    start_raw_server,
    start_smtp_server,
)

_user_numbers = itertools.count(1)
_USER_POOL = [(f"user{number}", f"secret-{number}") for number in range(1, 101)]


@pytest.fixture(scope="session")
def mail_certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """Return the test PKI: a CA, a server pair it signs, an untrusted pair."""
    return make_certificates(tmp_path_factory.mktemp("mail-certificates"))


@pytest.fixture(scope="session")
def dovecot(mail_certificates: Certificates) -> Iterator[DovecotServer]:
    """Return a running private Dovecot (IMAP, IMAPS, POP3, POP3S)."""
    if dovecot_binary() is None:
        reason = (
            "dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)

    # Not under pytest's 0700 tmp folders: Dovecot's unprivileged processes
    # must be able to reach the maildirs and sockets.
    folder = Path(tempfile.mkdtemp(prefix="alertcenter-dovecot-"))
    users = {name: password for name, password in _USER_POOL}
    server = start_dovecot(folder, users, mail_certificates)
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def dovecot_user(dovecot: DovecotServer) -> tuple[str, str]:
    """Return (name, password) of a fresh Dovecot user with an empty INBOX."""
    # Users made at start are ready at once; a new user takes Dovecot up to a
    # second to see.
    number = next(_user_numbers)
    if number <= len(_USER_POOL):
        return _USER_POOL[number - 1]
    name, password = f"user{number}", f"secret-{number}"
    dovecot.add_user(name, password)
    return name, password


_Server = TypeVar("_Server", SmtpServer, RawServer)


@contextmanager
def _stopped_at_the_end(
    start: Callable[..., _Server],
) -> Iterator[Callable[..., _Server]]:
    """Wrap a server starter so that every server it started stops at the
    end of the block."""
    started: list[_Server] = []

    def start_and_remember(*args: Any, **kwargs: Any) -> _Server:
        server = start(*args, **kwargs)
        started.append(server)
        return server

    try:
        yield start_and_remember
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    """Return a starter of scripted SMTP servers (start_smtp_server's
    arguments); every server it started stops at teardown."""
    with _stopped_at_the_end(start_smtp_server) as start:
        yield start


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    """Return a starter of misbehaving servers ("silent", "endless",
    "greeting"); every server it started stops at teardown."""
    with _stopped_at_the_end(start_raw_server) as start:
        yield start


@pytest.fixture
def refused_port() -> int:
    """Return a 127.0.0.1 port where connections are refused."""
    return closed_port()
