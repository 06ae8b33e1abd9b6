"""Attackers reach nothing: hostile text is inert on every page and in the
API, every POST form needs its CSRF token, logins are rate limited, the
deploy check passes, bad form values get a clear 4xx, and secrets never show
in logs, pages or API answers."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys

import pytest
from django.test import Client, override_settings

from alerts.models import AlertSettings
from mailboxes.models import Mailbox
from mailboxes.processing import process_mailbox
from mailboxes.testservers import closed_port
from serverprofiles.models import ServerProfile
from tests.trust_helpers import HOSTILE, RAW_MARKUP, ROOT, World, page_urls, tally

pytestmark = pytest.mark.django_db

ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
# Pages that show the hostile text and so must show it escaped.
SHOWS_TEXT = [
    "alerts:wall",
    "alerts:detail",
    "mailboxes:email",
    "serverprofiles:detail",
    "serverprofiles:list",
]


def _client(user: object, **kw: object) -> Client:
    client = Client(**kw)
    client.force_login(user)
    return client


def _get(client: Client, name: str, url: str, token: str) -> object:
    headers = {"Authorization": f"Bearer {token}"} if name.startswith("api:") else {}
    if name == "api:docs" or name == "api:tokens":
        headers = {}
    return client.get(url, headers=headers)


# -- hostile text ------------------------------------------------------------------


def test_hostile_server_text_is_inert_on_every_page_and_in_the_api(owner, admin_user):
    world = World(owner, HOSTILE)
    urls = page_urls(world)
    checked = 0

    for user in (owner, admin_user):
        client = _client(user)
        for name, url in urls.items():
            response = _get(client, name, url, world.raw_token)
            assert "X-Injected" not in response.headers, name
            if response.status_code != 200:
                continue
            checked += 1
            body = response.content.decode()
            if response["Content-Type"].startswith("text/html"):
                for markup in RAW_MARKUP:
                    assert markup not in body, f"{name} shows raw markup"
                if name in SHOWS_TEXT and user is owner:
                    assert ESCAPED_SCRIPT in body, f"{name} does not show the text"
            elif response["Content-Type"].startswith("application/json"):
                assert "\r" not in body and "\x00" not in body, name
                json.loads(body)

    alert = _client(owner).get(
        urls["api:alert"], headers={"Authorization": f"Bearer {world.raw_token}"}
    )
    assert alert["Content-Type"] == "application/json"
    assert alert["X-Content-Type-Options"] == "nosniff"
    assert alert.json()["message"] == HOSTILE[:300]
    tally(
        "hostile text (markup, CRLF, control characters) on pages and API",
        checked,
        "no raw markup on any page, no injected header, JSON escaped",
    )


# -- CSRF ----------------------------------------------------------------------------

FORM_RE = re.compile(r"<form\b[^>]*>.*?</form>", re.DOTALL | re.IGNORECASE)
ATTR_RE = re.compile(r'(\w[\w-]*)="([^"]*)"')
INPUT_RE = re.compile(r"<(?:input|button|select|textarea)\b[^>]*>", re.IGNORECASE)


def _post_forms(html: str) -> list[tuple[str, dict[str, str]]]:
    forms = []
    for form in FORM_RE.findall(html):
        attrs = dict(ATTR_RE.findall(form.split(">", 1)[0]))
        if attrs.get("method", "get").lower() != "post":
            continue
        fields = {}
        for tag in INPUT_RE.findall(form):
            field = dict(ATTR_RE.findall(tag))
            if "name" in field:
                fields[field["name"]] = field.get("value", "")
        forms.append((attrs.get("action", ""), fields))
    return forms


def test_every_post_form_fails_without_its_csrf_token(owner, ops_user, admin_user):
    world = World(owner)
    urls = page_urls(world)
    seen: set[str] = set()

    for user in (owner, ops_user, admin_user):
        client = _client(user, enforce_csrf_checks=True)
        for name, url in urls.items():
            if name.startswith("api:v1") or name in ("logout", "login"):
                continue
            response = client.get(url)
            if not response["Content-Type"].startswith("text/html"):
                continue
            for action, fields in _post_forms(response.content.decode()):
                assert "csrfmiddlewaretoken" in fields, f"{action} on {name}"
                fields.pop("csrfmiddlewaretoken")
                refused = client.post(action or url, fields)
                assert refused.status_code == 403, f"{action} on {name}"
                seen.add(action)

    anonymous = Client(enforce_csrf_checks=True)
    login = anonymous.get("/login/").content.decode()
    [(action, fields)] = _post_forms(login)
    fields.pop("csrfmiddlewaretoken")
    assert anonymous.post(action, fields).status_code == 403
    # Cookie-authenticated API writes need the token as well.
    session = _client(owner, enforce_csrf_checks=True)
    assert session.post("/api/v1/failures", {}).status_code == 403
    assert len(seen) >= 8, seen
    tally("POST forms without a CSRF token", len(seen) + 2, "all refused with 403")


# -- login attempts --------------------------------------------------------------------


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=5)
def test_login_attempts_are_limited(owner):
    client = Client()
    answers = [
        client.post("/login/", {"username": "owner", "password": f"wrong{n}"})
        for n in range(5)
    ]
    # The right password no longer opens the account.
    locked = client.post("/login/", {"username": "owner", "password": "pw-owner"})
    other_user_still_works = Client().post(
        "/login/", {"username": "someone-else", "password": "x"}
    )

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    assert other_user_still_works.status_code == 200
    tally("wrong passwords against one account", 6, "locked out after 5")


def _main(response: object) -> str:
    """Return the <main> of a page: the same for any visitor (no CSRF token)."""
    return response.content.decode().split("<main>", 1)[1].split("</main>", 1)[0]


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_the_lockout_page_is_ours_and_does_not_tell_who_exists(owner):
    def lock_out(username: str) -> object:
        client = Client()
        for n in range(3):
            answer = client.post("/login/", {"username": username, "password": n})
        return answer

    locked = lock_out("owner")
    nobody = lock_out("no-such-user")

    assert locked.status_code == nobody.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in locked.templates]
    page = locked.content.decode()
    assert '<a class="brand"' in page
    assert "Too many failed logins: after 3 wrong tries" in page
    assert "Wait 15 minutes without trying" in page
    assert "An administrator can unlock it sooner." in page
    assert "owner" not in _main(locked)
    assert _main(locked) == _main(nobody)


# -- deploy check ----------------------------------------------------------------------


# Warnings that may stay, and why:
# security.W021: HSTS preload is an operator's one-way commitment for the
#   whole domain; it is opt-in through SECURE_HSTS_PRELOAD.
# drf_spectacular.W001: names of enums in the generated API schema; nothing
#   about the safety of a deployment.
JUSTIFIED_WARNINGS = {"security.W021", "drf_spectacular.W001"}


def test_the_deploy_check_passes_with_production_settings():
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="alertcenter.settings",
        DEBUG="false",
        SECRET_KEY="k7$Qm2!vXr9pLw4@Zt8#Nc1^Hy6&Bd3*Fs5(Jg0)Ue-Ria_Oq=Pz+Mx~Yk",
        FIELD_ENCRYPTION_KEY="a-separate-field-key-of-enough-length-0123456789",
        DATABASE_URL="postgres://alertcenter:pw@127.0.0.1:5432/alertcenter",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        ALLOWED_HOSTS="alerts.example.com",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    found = set(re.findall(r"\(([\w.]+\.[EW]\d+)\)", output))
    assert found <= JUSTIFIED_WARNINGS, output


# -- bad form values -----------------------------------------------------------------

BAD_SETTINGS = [
    {"transient_attempts_before_permanent": "-1"},
    {"backoff_base_seconds": "abc"},
    {"retention_days": "9" * 40},
    {"backoff_cap_seconds": "1e9"},
    {"notification_repeat_minutes": "<script>"},
    {"retention_days": "\x00"},
    {"backoff_base_seconds": ""},
]


def test_the_settings_form_refuses_wrong_values_and_keeps_the_old(ops_user):
    before = AlertSettings.load()
    valid = {
        "write_errors": "on",
        "write_warnings": "on",
        "write_information": "on",
        "transient_attempts_before_permanent": "10",
        "backoff_base_seconds": "60",
        "backoff_cap_seconds": "3600",
        "retention_days": "30",
        "notification_repeat_minutes": "60",
    }
    client = _client(ops_user)

    answers = [client.post("/settings/", {**valid, **bad}) for bad in BAD_SETTINGS]

    assert [a.status_code for a in answers] == [400] * len(BAD_SETTINGS)
    after = AlertSettings.load()
    assert after.retention_days == before.retention_days
    assert after.backoff_base_seconds == before.backoff_base_seconds
    assert client.post("/settings/", valid).status_code == 302
    tally("wrong settings form values", len(BAD_SETTINGS), "all 400, nothing saved")


BAD_LOGINS = [
    {},
    {"username": "", "password": ""},
    {"username": "x" * 10_000, "password": "y"},
    {"username": "owner\x00", "password": "pw-owner"},
    {"username": "owner' OR '1'='1", "password": "' OR '1'='1"},
    {"username": ["a", "b"], "password": "x"},
    {"username": "<script>alert(1)</script>", "password": "x"},
]


def test_the_login_form_refuses_wrong_values(owner):
    client = Client()

    answers = [client.post("/login/", values) for values in BAD_LOGINS]

    assert [a.status_code for a in answers] == [200] * len(BAD_LOGINS)
    assert "_auth_user_id" not in client.session
    for answer in answers:
        assert "<script>alert" not in answer.content.decode()
    tally("wrong login form values", len(BAD_LOGINS), "all refused, no 500")


# -- secrets -------------------------------------------------------------------------


def test_passwords_and_tokens_never_show_in_logs_pages_or_api(
    owner, admin_user, caplog
):
    caplog.set_level(logging.DEBUG)
    world = World(owner)
    # A run against a closed port makes the transports and the funnel log.
    ServerProfile.objects.filter(pk=world.profile.pk).update(
        incoming_port=closed_port(), outgoing_port=closed_port(), timeout_seconds=2
    )
    process_mailbox(world.mailbox.pk)
    secrets = ["Prof-Secret-1", "Box-Secret-2", world.raw_token]
    seen: list[str] = []

    for user in (owner, admin_user):
        client = _client(user)
        for name, url in page_urls(world).items():
            response = _get(client, name, url, world.raw_token)
            seen.append(response.content.decode(errors="replace"))
            seen.append(str(response.headers))
        for url in (
            f"/admin/mailboxes/mailbox/{world.mailbox.pk}/change/",
            f"/admin/serverprofiles/serverprofile/{world.profile.pk}/change/",
        ):
            seen.append(client.get(url).content.decode(errors="replace"))
    logged = [caplog.text] + [repr(record.args) for record in caplog.records]

    for secret in secrets:
        for text in seen + logged:
            assert secret not in text
    stored = Mailbox.objects.filter(pk=world.mailbox.pk).values_list(
        "password", flat=True
    )
    assert Mailbox.objects.get(pk=world.mailbox.pk).password == "Box-Secret-2"
    assert stored.exists()
    tally(
        "responses and log records searched for 3 known secrets",
        len(seen) + len(caplog.records),
        "no secret found",
    )
