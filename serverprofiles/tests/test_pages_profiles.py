"""Server profile list and page, Test connection and Test & Enable all."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

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
