"""Personal API tokens: the console page, bearer authentication, revocation."""

from __future__ import annotations

import hashlib
import re

from django.test import Client

from alertcenter.api.auth import issue_token, revoke_token
from alerts.models import ApiToken
from tests.test_api_support import (
    ApiClient,
    fresh_rate_limits,  # noqa: F401
)

URL = "/api/v1/mailboxes"


def test_a_token_acts_as_its_user_and_notes_its_use(owner):
    token, raw = issue_token(owner, "script")

    response = ApiClient(raw_token=raw).get(URL)

    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_only_the_digest_and_a_prefix_are_stored(owner):
    token, raw = issue_token(owner, "script")

    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(token.prefix)
    assert len(token.prefix) < len(raw) - 20
    assert not ApiToken.objects.filter(digest=raw).exists()


def test_a_revoked_token_is_refused(owner):
    token, raw = issue_token(owner, "script")
    revoke_token(token)

    assert ApiClient(raw_token=raw).get(URL).status_code == 401


def test_a_wrong_token_is_refused_with_a_challenge(db):
    response = ApiClient(raw_token="ac_not-a-token").get(URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_no_credentials_is_a_401(db):
    assert ApiClient().get(URL).status_code == 401


def test_a_token_of_an_inactive_user_is_refused(owner):
    _, raw = issue_token(owner, "script")
    owner.is_active = False
    owner.save()

    assert ApiClient(raw_token=raw).get(URL).status_code == 401


def test_a_signed_in_session_may_read_the_api(owner):
    client = Client()
    client.force_login(owner)

    assert client.get(URL).status_code == 200


def test_the_page_shows_a_new_token_once(owner):
    client = Client()
    client.force_login(owner)

    created = client.post("/api/tokens/", {"name": "log shipper"})
    listed = client.get("/api/tokens/")

    raw = re.search(r"ac_[A-Za-z0-9_-]{30,}", created.content.decode()).group(0)
    assert created["Cache-Control"] == "no-store"
    assert raw not in listed.content.decode()
    assert "log shipper" in listed.content.decode()
    assert ApiClient(raw_token=raw).get(URL).status_code == 200


def test_the_page_revokes_a_token(owner):
    token, raw = issue_token(owner, "old")
    client = Client()
    client.force_login(owner)

    response = client.post(f"/api/tokens/{token.pk}/revoke")

    assert response.status_code == 302
    assert ApiClient(raw_token=raw).get(URL).status_code == 401


def test_nobody_revokes_another_users_token(owner, other_owner):
    token, raw = issue_token(other_owner, "theirs")
    client = Client()
    client.force_login(owner)

    response = client.post(f"/api/tokens/{token.pk}/revoke")

    assert response.status_code == 404
    assert ApiClient(raw_token=raw).get(URL).status_code == 200


def test_the_page_lists_only_ones_own_tokens(owner, other_owner):
    issue_token(other_owner, "their secret name")
    client = Client()
    client.force_login(owner)

    assert "their secret name" not in client.get("/api/tokens/").content.decode()


def test_the_page_needs_a_login(db):
    response = Client().get("/api/tokens/")

    assert response.status_code == 302
