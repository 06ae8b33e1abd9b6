"""Server profile list and page, Test connection and Test & Enable all."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts.choices import Scope
from alerts.tests.test_wall_helpers import make_alert
from mailboxes.models import Mailbox
from serverprofiles.choices import TestStatus as Tested
from tests.factories import make_mailbox, make_profile

pytestmark = pytest.mark.django_db


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_owner_lists_only_their_profiles(owner, other_owner) -> None:
    mine = make_profile(owner)
    theirs = make_profile(other_owner)

    page = logged_in(owner).get("/profiles/").content.decode()

    assert mine.name in page and theirs.name not in page


def test_list_counts_failing_mailboxes(admin_user, owner) -> None:
    profile = make_profile(owner)
    make_mailbox(owner, profile, incoming_test=Tested.FAILURE)
    make_mailbox(owner, profile)

    rows = logged_in(admin_user).get("/profiles/").context["rows"]

    assert [(r["profile"], r["mailboxes"], r["failing"]) for r in rows] == [
        (profile, 2, 1)
    ]


def test_owner_cannot_open_or_test_another_owners_profile(owner, other_owner) -> None:
    theirs = make_profile(other_owner)
    box = make_mailbox(other_owner, theirs)
    client = logged_in(owner)

    assert client.get(f"/profiles/{theirs.pk}/").status_code == 404
    assert client.get(f"/profiles/{theirs.pk}/status/").status_code == 404
    response = client.post(f"/profiles/{theirs.pk}/test/", {"all_mailboxes": "on"})
    assert response.status_code == 404
    box.refresh_from_db()
    assert box.test_requested_at is None


def test_profile_page_shows_settings_mailboxes_and_alerts(owner) -> None:
    profile = make_profile(owner, username="relay", password="s3cret-profile-pass")
    box = make_mailbox(owner, profile)
    make_alert([owner], profile=profile, scope=Scope.PROFILE, message="Host unknown")

    page = logged_in(owner).get(f"/profiles/{profile.pk}/").content.decode()

    assert "s3cret" not in page
    assert "set (never shown)" in page
    assert box.address in page
    assert "Host unknown" in page
    assert "Test connection" in page and "Test &amp; Enable all mailboxes" in page


def test_test_and_enable_all_marks_every_mailbox_and_polls(owner) -> None:
    profile = make_profile(owner)
    boxes = [make_mailbox(owner, profile) for _ in range(2)]
    client = logged_in(owner)

    response = client.post(f"/profiles/{profile.pk}/test/", {"all_mailboxes": "on"})

    assert response.status_code == 302
    assert all(
        m.test_requested_at
        for m in Mailbox.objects.filter(pk__in=[b.pk for b in boxes])
    )
    status = client.get(f"/profiles/{profile.pk}/status/").content.decode()
    assert 'hx-trigger="every 2s"' in status


def test_test_connection_leaves_the_mailboxes_alone(owner) -> None:
    profile = make_profile(owner)
    box = make_mailbox(owner, profile)

    response = logged_in(owner).post(f"/profiles/{profile.pk}/test/")

    assert response.status_code == 302
    box.refresh_from_db()
    assert box.test_requested_at is None


def test_without_javascript_test_connection_redirects_with_a_message(owner) -> None:
    profile = make_profile(owner)
    client = logged_in(owner)
    page = client.get(f"/profiles/{profile.pk}/").content.decode()
    action = f'method="post" action="/profiles/{profile.pk}/test/"'

    response = client.post(f"/profiles/{profile.pk}/test/", follow=True)

    assert action in page
    assert response.redirect_chain == [(f"/profiles/{profile.pk}/", 302)]
    assert "The connection test was queued." in response.content.decode()


def test_htmx_test_connection_shows_testing_until_the_result_comes(
    owner, django_capture_on_commit_callbacks
) -> None:
    # Port 9 on this machine does not answer: the test fails at once.
    profile = make_profile(
        owner,
        incoming_port=9,
        outgoing_port=9,
        timeout_seconds=3,
        incoming_test=Tested.SUCCESS,
        tested_at=timezone.now() - timedelta(days=1),
    )
    client = logged_in(owner)

    with django_capture_on_commit_callbacks() as worker:
        asked = client.post(f"/profiles/{profile.pk}/test/", HTTP_HX_REQUEST="true")
    html = asked.content.decode()
    poll = re.search(r'hx-get="([^"]+)" hx-trigger="every 2s"', html)[1]
    waiting = client.get(poll, HTTP_HX_REQUEST="true").content.decode()
    [run_the_test] = worker
    run_the_test()
    done = client.get(poll, HTTP_HX_REQUEST="true").content.decode()

    assert html.startswith('<div id="profile-status"')
    assert poll.startswith(f"/profiles/{profile.pk}/status/?since=")
    for panel in (html, waiting):
        assert "Testing the connection to its servers" in panel
        assert 'class="secondary" disabled>Test connection' in panel
        assert "alerts-section" not in panel
    assert "Testing the connection" not in done and "hx-trigger" not in done
    incoming = '<dt>Incoming server</dt><dd><span class="test test-failure">'
    assert incoming in done
    assert 'id="alerts-section" hx-swap-oob="true"' in done


def test_a_profile_never_tested_is_awaited_too(owner) -> None:
    profile = make_profile(owner)

    asked = logged_in(owner).post(
        f"/profiles/{profile.pk}/test/", HTTP_HX_REQUEST="true"
    )

    url = f"/profiles/{profile.pk}/status/?since=never"
    assert f'hx-get="{url}" hx-trigger="every 2s"' in asked.content.decode()


def test_a_status_poll_with_a_stale_or_made_up_mark_stops_polling(owner) -> None:
    profile = make_profile(owner, tested_at=timezone.now())
    client = logged_in(owner)

    for mark in ("never", "<b>made-up</b>"):
        status = client.get(f"/profiles/{profile.pk}/status/", {"since": mark})
        html = status.content.decode()
        assert "hx-trigger" not in html and "Testing the connection" not in html
        assert "made-up" not in html
