"""End to end in Chromium: log in per role, filter, delete all, Test & Enable,
a profile's connection test, change a setting; screenshots of the main pages.

Playwright's sync API runs an event loop in this thread, so Django must be
told that its database calls from here are fine.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from alerts.choices import AlertState, Level, Persistence, Scope
from alerts.models import Alert, AlertSettings
from alerts.tests.test_wall_helpers import make_alert
from mailboxes import tasks
from mailboxes.choices import EmailStatus, ProcessingState
from serverprofiles.choices import TestStatus as Tested
from tests.factories import make_email, make_mailbox, make_profile, make_user

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
DOCS_SHOT = Path(settings.BASE_DIR) / "docs" / "screenshots" / "wall.png"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

if not CHROMIUM.exists() and os.environ.get("CI", "").lower() != "true":
    pytest.skip(
        "no Chromium at /usr/bin/chromium (install the chromium package)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
            headless=True,
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    problems: list[str] = []
    tab.on(
        "console",
        lambda msg: problems.append(msg.text) if msg.type == "error" else None,
    )
    tab.problems = problems
    yield tab
    context.close()
    # A blocked inline script or style would show here as a CSP report.
    assert not [p for p in problems if "Content Security Policy" in p], problems


def log_in(page: Any, live_server: Any, user: User) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", user.get_username())
    page.fill("input[name=password]", "pw-" + user.get_username())
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def shoot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def seed(owner: User) -> dict[str, Any]:
    """Write a small, realistic console: two profiles, three mailboxes, an
    email, alerts of every level."""
    now = timezone.now()
    relay = make_profile(owner, name="Office relay", incoming_port=9, outgoing_port=9)
    hosted = make_profile(owner, name="Hosted IMAP", timeout_seconds=3)
    sales = make_mailbox(
        owner,
        relay,
        address="sales@example.com",
        incoming_test=Tested.FAILURE,
        outgoing_test=Tested.SUCCESS,
        processing_state=ProcessingState.SUSPENDED,
        incoming_suspended=True,
    )
    support = make_mailbox(
        owner,
        hosted,
        address="support@example.com",
        incoming_test=Tested.SUCCESS,
        outgoing_test=Tested.SUCCESS,
        consecutive_failures=2,
        last_success_at=now - timedelta(hours=1),
    )
    make_mailbox(owner, hosted, address="billing@example.com")
    email = make_email(
        support,
        status=EmailStatus.FAILED,
        attempts=1,
        subject="Quote 2291",
        last_error="550 5.1.1 <nobody@example.net>: Recipient address rejected",
    )
    make_alert(
        [owner],
        mailbox=sales,
        profile=relay,
        message="sales@example.com: authentication failed",
        seen=now - timedelta(minutes=3),
        count=4,
    )
    make_alert(
        [owner],
        email=email,
        mailbox=support,
        profile=hosted,
        scope=Scope.EMAIL,
        reason="user_unknown",
        message="Quote 2291: recipient nobody@example.net does not exist",
        status_code="5.1.1",
        reply_code=550,
        stage="smtp-send",
        detail="550 5.1.1 <nobody@example.net>: Recipient address rejected",
        explanation="5.1.1: class 5 is permanent; 1.1 means the mailbox is unknown.",
        action="Check the address with the recipient and send again.",
        seen=now - timedelta(minutes=8),
    )
    for minutes, text in ((12, "Hosted IMAP: server busy"), (30, "4.7.0 greylisted")):
        make_alert(
            [owner],
            level=Level.WARNING,
            persistence=Persistence.TRANSIENT,
            profile=hosted,
            scope=Scope.PROFILE,
            reason="rate_limited",
            message=text,
            status_code="4.7.0",
            reply_code=451,
            detail="451 4.7.0 Try again later",
            seen=now - timedelta(minutes=minutes),
        )
    make_alert(
        [owner],
        level=Level.INFORMATION,
        persistence="",
        mailbox=support,
        reason="notice",
        message="Test & Enable passed: support@example.com",
        reply_code=None,
        status_code="",
        detail="",
        seen=now - timedelta(hours=2),
        state=AlertState.ACTIVE,
    )
    return {"sales": sales, "support": support, "relay": relay}


def test_owner_filters_the_wall_to_errors(page, live_server) -> None:
    owner = make_user("owner")
    seed(owner)
    log_in(page, live_server, owner)
    assert page.locator("article.alert").count() == 5
    shoot(page, "wall.png")
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        # Only on request: a test run must not change committed files.
        DOCS_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHOTS / "wall.png", DOCS_SHOT)

    page.click("label.chip.level-error")
    page.wait_for_url(re.compile(r"level=error"))
    page.wait_for_function(
        "document.querySelectorAll('article.alert:not(.level-error)').length === 0"
    )

    assert page.locator("article.alert.level-error").count() == 2
    assert page.locator("#count-warning").inner_text() == "2"
    page.locator("article.alert.level-error details summary").first.click()
    assert (
        "Enter the right password" in page.locator("article.alert").first.inner_text()
    )
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "wall-phone.png")

    page.goto(f"{live_server.url}/")
    page.fill("input[name=q]", "greylisted")
    page.wait_for_url(re.compile(r"q=greylisted"))
    page.wait_for_function("document.querySelectorAll('article.alert').length === 1")
    assert "4.7.0 greylisted" in page.locator("article.alert").inner_text()


def test_admin_deletes_all_warnings_after_confirming(page, live_server) -> None:
    owner = make_user("owner")
    seed(owner)
    admin = make_user("admin", role="admin")
    log_in(page, live_server, admin)

    page.click("label.chip.level-warning")
    page.wait_for_url(re.compile(r"level=warning"))
    page.click("text=Delete all alerts")
    page.wait_for_url(re.compile(r"/alerts/delete-all/"))
    assert "2 alerts" in page.locator("main").inner_text()
    page.click("button.danger")
    page.wait_for_url(re.compile(r"level=warning"))

    assert "Deleted 2 alerts." in page.locator(".flashes").inner_text()
    assert not Alert.objects.filter(level=Level.WARNING).exists()
    assert Alert.objects.filter(level=Level.ERROR).count() == 2


def test_owner_runs_test_and_enable_on_a_mailbox(page, live_server) -> None:
    owner = make_user("owner")
    boxes = seed(owner)
    log_in(page, live_server, owner)

    page.locator(".where a", has_text="sales@example.com").first.click()
    page.wait_for_url(re.compile(rf"/mailboxes/{boxes['sales'].pk}/"))
    shoot(page, "mailbox.png")
    with page.expect_response(re.compile(r"/test/$")) as answer:
        page.click("button:has-text('Test & Enable')")
    assert answer.value.status == 200

    # The worker runs at once in the test settings and port 9 refuses, so
    # the outgoing test, a success before, now shows a failure with its time.
    status = page.locator("#mailbox-status")
    outgoing = status.locator("tr", has_text="Outgoing")
    outgoing.locator(".test-failure").wait_for()
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", outgoing.inner_text())
    assert status.get_attribute("hx-trigger") is None
    shoot(page, "mailbox-tested.png")


def test_owner_sees_a_profile_test_in_progress_then_its_result(
    page, live_server, monkeypatch
) -> None:
    owner = make_user("owner")
    relay = seed(owner)["relay"]
    run_profile_test = tasks.test_profile_task
    queued: list[tuple[Any, ...]] = []
    # No worker takes the test until this test runs it, so the wait shows.
    monkeypatch.setattr(
        tasks, "test_profile_task", SimpleNamespace(delay=lambda *a: queued.append(a))
    )
    log_in(page, live_server, owner)

    page.goto(f"{live_server.url}/profiles/{relay.pk}/")
    with page.expect_response(re.compile(r"/test/$")) as answer:
        page.click("button:has-text('Test connection')")
    assert answer.value.status == 200
    status = page.locator("#profile-status")
    status.locator(".progress", has_text="Testing the connection").wait_for()
    assert status.locator("button:has-text('Test connection')").is_disabled()
    shoot(page, "profile-testing.png")

    [args] = queued
    run_profile_test(*args)
    # The next poll brings the result: port 9 refuses, so both fail.
    incoming = status.locator("dd", has=page.locator(".test-failure")).first
    incoming.wait_for()
    assert status.locator(".progress").count() == 0
    assert status.get_attribute("hx-trigger") is None
    assert status.locator("button:has-text('Test connection')").is_enabled()
    shoot(page, "profile-tested.png")


def test_admin_opens_the_dashboard(page, live_server) -> None:
    owner = make_user("owner")
    seed(owner)
    admin = make_user("admin", role="admin")
    log_in(page, live_server, admin)

    page.click("nav >> text=Dashboard")
    page.wait_for_url(f"{live_server.url}/dashboard/")

    assert page.locator("svg.chart rect.bar").count() >= 3
    page.click(".tile.health-suspended")
    page.wait_for_url(re.compile(r"health=suspended"))
    assert page.locator("table tbody tr").count() == 1
    page.goto(f"{live_server.url}/dashboard/")
    shoot(page, "dashboard.png")


def test_ops_switches_off_warning_alerts(page, live_server) -> None:
    ops = make_user("ops", role="ops")
    log_in(page, live_server, ops)

    page.click("nav >> text=Settings")
    page.uncheck("input[name=write_warnings]")
    page.click("button:has-text('Save settings')")
    page.wait_for_selector(".flash")

    assert "The settings were saved." in page.locator(".flashes").inner_text()
    assert AlertSettings.load().write_warnings is False
    assert "write_warnings" in page.locator("table").inner_text()
    shoot(page, "settings.png")


def test_owner_sees_no_settings_link_and_no_other_mailboxes(page, live_server) -> None:
    owner = make_user("owner")
    other = make_user("other")
    theirs = make_mailbox(other, address="private@example.org")
    log_in(page, live_server, owner)

    assert page.locator("nav >> text=Settings").count() == 0
    response = page.goto(f"{live_server.url}/mailboxes/{theirs.pk}/")
    assert response.status == 404
