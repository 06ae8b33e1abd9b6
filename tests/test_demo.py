"""The demo: its servers answer with real failures and load_demo turns them
into errors, warnings and information alerts, again and again."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from alerts.models import Alert
from mailboxes.management.commands import demo_servers as demo
from mailboxes.models import Email, Mailbox
from mailboxes.testservers import wait_for_port

pytestmark = [pytest.mark.django_db, pytest.mark.mailserver]

ROOT = Path(__file__).resolve().parent.parent


def _port_in_use(port: int) -> bool:
    try:
        wait_for_port(port, timeout=0.2)
    except TimeoutError:
        return False
    return True


@pytest.fixture
def demo_servers() -> Iterator[None]:
    if _port_in_use(demo.SMTP_PORT):
        pytest.skip(f"port {demo.SMTP_PORT} is taken (is `make run` running?)")
    # Not under pytest's 0700 folders: Dovecot's own processes must get in.
    folder = tempfile.mkdtemp(prefix="alertcenter-demo-")
    os.chmod(folder, 0o755)
    env = dict(os.environ, ALERTCENTER_VAR_DIR=folder)
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "demo_servers"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(demo.SMTP_PORT, timeout=20)
        if _dovecot_wanted():
            wait_for_port(demo.IMAP_PORT, timeout=20)
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)


def _dovecot_wanted() -> bool:
    from mailboxes.testservers import dovecot_binary

    return dovecot_binary() is not None


def test_load_demo_fills_the_wall_from_real_sessions_and_can_run_twice(
    demo_servers,
):
    call_command("load_demo", stdout=StringIO())
    emails = Email.objects.count()
    call_command("load_demo", stdout=StringIO())

    levels = set(Alert.objects.values_list("level", flat=True))
    reasons = set(Alert.objects.values_list("reason", flat=True))
    assert levels == {"error", "warning", "information"}
    assert {
        "host_unknown",
        "connection_refused",
        "certificate_invalid",
        "blocked",
        "user_unknown",
        "authentication_failed",
        "greylisted",
        "mailbox_full",
    } <= reasons
    assert Email.objects.count() == emails
    assert Mailbox.objects.filter(address__endswith="@demo.example").count() == 6
    if _dovecot_wanted():
        good = Mailbox.objects.get(address="good@demo.example")
        assert good.emails.filter(direction="incoming", is_bounce=True).exists()
