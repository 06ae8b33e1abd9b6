"""Mailbox list and page, Test & Enable, and the email page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts.tests.test_wall_helpers import make_alert
from mailboxes.choices import EmailStatus, ProcessingState
from mailboxes.models import Mailbox
from serverprofiles.choices import TestStatus as Tested
from tests.factories import make_email, make_mailbox, make_profile

pytestmark = pytest.mark.django_db


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def listed(response) -> set[str]:
    return {m.address for m in response.context["page"].object_list}


def test_owner_lists_only_their_mailboxes(owner, other_owner) -> None:
    mine = make_mailbox(owner)
    make_mailbox(other_owner)

    assert listed(logged_in(owner).get("/mailboxes/")) == {mine.address}


def test_admin_lists_every_mailbox(admin_user, owner, other_owner) -> None:
    boxes = {make_mailbox(owner).address, make_mailbox(other_owner).address}
    assert listed(logged_in(admin_user).get("/mailboxes/")) == boxes


def test_list_filters_by_health_state_and_profile(admin_user, owner) -> None:
    profile = make_profile(owner)
    failing = make_mailbox(owner, profile, outgoing_test=Tested.FAILURE)
    suspended = make_mailbox(owner, processing_state=ProcessingState.SUSPENDED)
    untested = make_mailbox(owner)
    client = logged_in(admin_user)

    assert listed(client.get("/mailboxes/", {"health": "failing"})) == {failing.address}
    assert listed(client.get("/mailboxes/", {"health": "not_tested"})) == {
        untested.address
    }
    by_state = client.get("/mailboxes/", {"processing_state": "suspended"})
    assert listed(by_state) == {suspended.address}
    assert listed(client.get("/mailboxes/", {"profile": profile.pk})) == {
        failing.address
    }


def test_an_active_error_alert_makes_a_mailbox_failing(admin_user, owner) -> None:
    ok = {"incoming_test": Tested.SUCCESS, "outgoing_test": Tested.SUCCESS}
    box = make_mailbox(owner, **ok)
    make_mailbox(owner, **ok)
    make_alert([owner], mailbox=box)

    response = logged_in(admin_user).get("/mailboxes/", {"health": "failing"})

    assert listed(response) == {box.address}


def test_htmx_list_request_gets_the_table_only(admin_user) -> None:
    make_mailbox()
    response = logged_in(admin_user).get("/mailboxes/", HTTP_HX_REQUEST="true")
    assert "<html" not in response.content.decode()
    assert "<table" in response.content.decode()


def test_owner_cannot_open_another_owners_mailbox_or_email(owner, other_owner) -> None:
    theirs = make_mailbox(other_owner)
    email = make_email(theirs)
    client = logged_in(owner)

    assert client.get(f"/mailboxes/{theirs.pk}/").status_code == 404
    assert client.get(f"/mailboxes/{theirs.pk}/status/").status_code == 404
    assert client.post(f"/mailboxes/{theirs.pk}/test/").status_code == 404
    assert client.get(f"/mailboxes/emails/{email.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.test_requested_at is None


def test_ops_see_every_mailbox_but_cannot_test_it(ops_user, owner) -> None:
    theirs = make_mailbox(owner)
    client = logged_in(ops_user)

    page = client.get(f"/mailboxes/{theirs.pk}/")
    assert page.status_code == 200
    assert f'action="/mailboxes/{theirs.pk}/test/"' not in page.content.decode()
    assert client.post(f"/mailboxes/{theirs.pk}/test/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.test_requested_at is None


def test_mailbox_page_shows_settings_status_and_alerts_never_the_password(
    owner,
) -> None:
    box = make_mailbox(
        owner,
        password="hunter2-very-secret",
        incoming_test=Tested.SUCCESS,
        incoming_tested_at=timezone.now(),
        outgoing_test=Tested.FAILURE,
    )
    make_alert([owner], mailbox=box, message="Password refused by the server")

    page = logged_in(owner).get(f"/mailboxes/{box.pk}/").content.decode()

    assert "hunter2" not in page
    assert "set (never shown)" in page
    assert box.profile.name in page
    assert "Password refused by the server" in page
    assert 'class="test test-failure"' in page
    assert "Test &amp; Enable" in page


def test_test_and_enable_marks_the_mailbox_and_the_page_polls(owner) -> None:
    box = make_mailbox(owner)
    client = logged_in(owner)

    response = client.post(f"/mailboxes/{box.pk}/test/")

    assert response.status_code == 302
    box.refresh_from_db()
    assert box.test_requested_at is not None
    status = client.get(f"/mailboxes/{box.pk}/status/").content.decode()
    assert 'hx-trigger="every 2s"' in status
    assert "waiting for the result" in status


def test_a_test_no_worker_ran_says_so_while_it_waits(owner) -> None:
    box = make_mailbox(owner)
    client = logged_in(owner)
    client.post(f"/mailboxes/{box.pk}/test/")
    status_url = f"/mailboxes/{box.pk}/status/"
    assert "No worker has run it yet" not in client.get(status_url).content.decode()

    # Longer ago than both connections, tried twice, and a pick-up take.
    long_ago = timezone.now() - timedelta(seconds=4 * box.profile.timeout_seconds + 31)
    Mailbox.objects.filter(pk=box.pk).update(test_requested_at=long_ago)

    status = client.get(status_url).content.decode()
    assert "No worker has run it yet" in status
    assert 'hx-trigger="every 2s"' in status


def test_the_status_panel_stops_polling_when_the_test_is_done(owner) -> None:
    box = make_mailbox(owner, incoming_test=Tested.SUCCESS)
    status = logged_in(owner).get(f"/mailboxes/{box.pk}/status/").content.decode()
    assert "hx-trigger" not in status


def test_htmx_test_and_enable_answers_with_the_status_panel(owner) -> None:
    box = make_mailbox(owner)
    response = logged_in(owner).post(
        f"/mailboxes/{box.pk}/test/", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.startswith('<section class="card status-panel" id="mailbox-status"')
    assert 'hx-trigger="every 2s"' in html


def test_test_and_enable_needs_post(owner) -> None:
    box = make_mailbox(owner)
    assert logged_in(owner).get(f"/mailboxes/{box.pk}/test/").status_code == 405


def test_test_and_enable_runs_after_commit_and_records_the_result(
    owner, django_capture_on_commit_callbacks
) -> None:
    # Port 9 on this machine does not answer: the test must fail, not hang.
    profile = make_profile(owner, incoming_port=9, outgoing_port=9, timeout_seconds=3)
    box = make_mailbox(owner, profile)

    with django_capture_on_commit_callbacks(execute=True):
        logged_in(owner).post(f"/mailboxes/{box.pk}/test/")

    box = Mailbox.objects.get(pk=box.pk)
    assert box.test_requested_at is None
    assert box.incoming_test == Tested.FAILURE
    assert box.outgoing_test == Tested.FAILURE
    assert box.incoming_tested_at is not None


def test_email_page_shows_status_attempts_error_and_alerts(owner) -> None:
    email = make_email(
        make_mailbox(owner),
        status=EmailStatus.FAILED,
        attempts=3,
        last_error="550 5.1.1 user unknown",
    )
    make_alert([owner], email=email, message="Recipient does not exist")

    page = logged_in(owner).get(f"/mailboxes/emails/{email.pk}/").content.decode()

    assert "Failed" in page and "550 5.1.1 user unknown" in page
    assert "<dt>Attempts</dt><dd>3</dd>" in page
    assert "Recipient does not exist" in page


def test_a_finished_test_refreshes_the_alerts_section_too(owner) -> None:
    box = make_mailbox(owner)
    make_alert([owner], mailbox=box, message="Found by the test")
    client = logged_in(owner)

    done = client.get(f"/mailboxes/{box.pk}/status/", HTTP_HX_REQUEST="true")
    Mailbox.objects.filter(pk=box.pk).update(test_requested_at=timezone.now())
    pending = client.get(f"/mailboxes/{box.pk}/status/", HTTP_HX_REQUEST="true")

    assert 'id="alerts-section" hx-swap-oob="true"' in done.content.decode()
    assert "Found by the test" in done.content.decode()
    assert "alerts-section" not in pending.content.decode()


def test_mailbox_list_query_count_does_not_grow(admin_user, owner) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = logged_in(admin_user)
    for _ in range(2):
        make_mailbox(owner)
    with CaptureQueriesContext(connection) as few:
        client.get("/mailboxes/")
    for _ in range(20):
        make_mailbox(owner, outgoing_test=Tested.FAILURE)
    with CaptureQueriesContext(connection) as many:
        client.get("/mailboxes/")

    assert len(many) == len(few)
