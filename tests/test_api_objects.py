"""GET mailboxes and profiles with their states; Test & Enable; isolation."""

from __future__ import annotations

from alerts.choices import AuditAction
from alerts.models import AuditEntry
from tests.factories import make_mailbox, make_profile
from tests.test_api_support import (
    ApiClient,
    fresh_rate_limits,  # noqa: F401
)


def test_an_owner_lists_only_their_mailboxes(owner, other_owner):
    mine = make_mailbox(owner=owner)
    make_mailbox(owner=other_owner)

    body = ApiClient(owner).get("/api/v1/mailboxes").json()

    assert [row["address"] for row in body["results"]] == [mine.address]
    row = body["results"][0]
    assert row["processing_state"] == "idle"
    assert row["profile"] == {"id": mine.profile_id, "name": mine.profile.name}


def test_no_password_or_login_name_leaves(owner):
    box = make_mailbox(owner=owner, username="login-name", password="hunter2")
    make_profile(owner=owner, username="shared-login", password="s3cret")

    api = ApiClient(owner)
    text = api.get("/api/v1/mailboxes").content.decode()
    text += api.get(f"/api/v1/mailboxes/{box.pk}").content.decode()
    text += api.get("/api/v1/profiles").content.decode()

    for secret in ("hunter2", "s3cret", "password", "login-name", "shared-login"):
        assert secret not in text


def test_another_owners_mailbox_and_profile_are_404(owner, other_owner):
    theirs = make_mailbox(owner=other_owner)
    api = ApiClient(owner)

    assert api.get(f"/api/v1/mailboxes/{theirs.pk}").status_code == 404
    assert api.get(f"/api/v1/profiles/{theirs.profile_id}").status_code == 404
    assert api.post(f"/api/v1/mailboxes/{theirs.pk}/test-and-enable").status_code == 404


def test_an_admin_sees_every_mailbox_and_profile(admin_user, owner, other_owner):
    make_mailbox(owner=owner)
    make_mailbox(owner=other_owner)
    api = ApiClient(admin_user)

    assert len(api.get("/api/v1/mailboxes").json()["results"]) == 2
    assert len(api.get("/api/v1/profiles").json()["results"]) == 2


def test_profiles_show_their_state(owner):
    profile = make_profile(owner=owner)
    profile.suspend("host_unknown")

    (row,) = ApiClient(owner).get("/api/v1/profiles").json()["results"]

    assert row["state"] == "suspended"
    assert row["suspended_reason"] == "host_unknown"
    assert row["is_suspended"] is True


def test_listing_takes_a_fixed_number_of_queries(owner, django_assert_num_queries):
    for _ in range(5):
        make_mailbox(owner=owner)
    api = ApiClient(owner)
    api.get("/api/v1/mailboxes")

    # token lookup, last-used (skipped: used just now), groups, page
    with django_assert_num_queries(3):
        assert api.get("/api/v1/mailboxes").status_code == 200


def test_an_unknown_id_is_404(owner):
    assert ApiClient(owner).get("/api/v1/mailboxes/999999999").status_code == 404


def test_test_and_enable_is_requested(owner, django_capture_on_commit_callbacks):
    box = make_mailbox(owner=owner)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = ApiClient(owner).post(f"/api/v1/mailboxes/{box.pk}/test-and-enable")

    assert response.status_code == 202
    assert response.json() == {"queued": True, "mailbox": box.pk}
    box.refresh_from_db()
    assert box.test_requested_at is not None
    assert len(callbacks) == 1
    assert AuditEntry.objects.filter(action=AuditAction.TEST_AND_ENABLE).count() == 1
