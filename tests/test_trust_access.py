"""Every URL of the project, as every role, against the owner's objects.

The table below says what each role gets from each URL pattern; the test
walks django.urls.get_resolver() recursively (pages, API, admin), so a new
URL without an entry makes it fail. Ids in the URLs are the owner's objects:
another owner gets 404 for them, never the object.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from alertcenter.api.auth import issue_token
from alerts.choices import AlertState
from alerts.models import Alert, AlertRecipient, ApiToken
from mailboxes.models import Mailbox
from tests.trust_helpers import World, tally, walk_patterns

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "owner", "other", "ops", "admin")
L = "login"  # a redirect to the login page
AL = "admin-login"  # a redirect to the admin's login page (no role is staff)


def each(anonymous: Any, owner: Any, other: Any, ops: Any, admin: Any) -> dict:
    return dict(zip(ROLES, (anonymous, owner, other, ops, admin), strict=True))


def everyone(anonymous: Any, rest: Any) -> dict:
    return each(anonymous, rest, rest, rest, rest)


OWNED_PAGE = each(L, 200, 404, 200, 200)  # owner, admins, and ops (who only look)
OWNED_API = each(401, 200, 404, 200, 200)  # ops see every object, act on none
POST_ONLY_PAGE = everyone(L, 405)
POST_ONLY_API = everyone(401, 405)

# What a GET answers, by URL name (or route for unnamed patterns).
GET = {
    "alerts:wall": everyone(L, 200),
    "alerts:delete_all": everyone(L, 200),  # the confirmation page
    "alerts:detail": each(L, 200, 404, 200, 200),  # ops see every alert
    "alerts:delete": POST_ONLY_PAGE,
    "alerts:resolve": POST_ONLY_PAGE,
    "alerts:decide": POST_ONLY_PAGE,
    "alerts:settings": each(L, 403, 403, 200, 200),
    "dashboard": everyone(L, 200),
    "mailboxes:list": everyone(L, 200),  # each sees their own rows
    "mailboxes:detail": OWNED_PAGE,
    "mailboxes:status": OWNED_PAGE,
    "mailboxes:test": POST_ONLY_PAGE,
    "mailboxes:email": OWNED_PAGE,
    "serverprofiles:list": everyone(L, 200),
    "serverprofiles:detail": OWNED_PAGE,
    "serverprofiles:status": OWNED_PAGE,
    "serverprofiles:test": POST_ONLY_PAGE,
    "api:failures": POST_ONLY_API,
    "api:sync-prompts": everyone(401, 200),
    "api:alerts": everyone(401, 200),
    "api:alerts-delete-all": POST_ONLY_API,
    "api:alert": each(401, 200, 404, 200, 200),
    "api:mailboxes": everyone(401, 200),
    "api:mailbox": OWNED_API,
    "api:mailbox-test-and-enable": POST_ONLY_API,
    "api:profiles": everyone(401, 200),
    "api:profile": OWNED_API,
    "api:schema": everyone(401, 200),
    "api:docs": everyone(L, 200),
    "api:tokens": everyone(L, 200),
    "api:token-revoke": POST_ONLY_PAGE,
    # Unknown API paths: 404 to anyone, which tells nothing.
    "api/^v1/": everyone(404, 404),
    "healthz": everyone(200, 200),
    "metrics": each(401, 403, 403, 200, 200),
    "login": everyone(200, 200),
    "logout": everyone(405, 405),
    "admin:login": everyone(200, 200),
    # The admin's logout answers a GET by sending to the admin's index.
    "admin:logout": everyone("/admin/", "/admin/"),
}
# Patterns that come in families: every model the admin registers.
GET_RULES = [
    (re.compile(r"^admin:"), everyone(AL, AL)),
    (re.compile(r"^admin/"), everyone(AL, AL)),  # unnamed admin redirects
]

# What a POST to an object of the owner answers to those who must not act on
# it; nothing may change.
POST_REFUSED = {
    "alerts:detail": each(L, None, 404, None, None),
    "alerts:delete": each(L, None, 404, None, None),
    "alerts:resolve": each(L, None, 404, None, None),
    "alerts:decide": each(L, None, 404, None, None),
    "mailboxes:test": each(L, None, 404, 404, None),
    "serverprofiles:test": each(L, None, 404, 404, None),
    "api:alert": each(401, None, 404, None, None),
    "api:mailbox": each(401, None, 404, 404, None),
    "api:mailbox-test-and-enable": each(401, None, 404, 404, None),
    "api:profile": each(401, None, 404, 404, None),
    "api:token-revoke": each(L, None, 404, 404, 404),
}

ADMIN_FILLERS = {
    "<path:content_type_id>": "1",
    "<path:object_id>": "1",
    "<id>": "1",
    "^(?P<app_label>auth|axes|serverprofiles|mailboxes|alerts)/$": "alerts/",
    "(?P<url>.*)$": "no-such-page/",
}


def expected_for(key: str) -> dict | None:
    if key in GET:
        return GET[key]
    for pattern, expected in GET_RULES:
        if pattern.search(key):
            return expected
    return None


def concrete_url(route: str, name: str, ids: dict[str, int]) -> str:
    if name and not name.startswith("admin:"):
        return reverse(name, args=[ids[name]] if "<" in route else [])
    url = "/" + route
    for marker, value in ADMIN_FILLERS.items():
        url = url.replace(marker, value)
    return url.replace("^", "").replace("$", "")


def clients(world: World, users: dict[str, Any]) -> dict[str, tuple[Client, dict]]:
    made: dict[str, tuple[Client, dict]] = {"anonymous": (Client(), {})}
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        _, raw = issue_token(user, f"access {role}")
        made[role] = (client, {"Authorization": f"Bearer {raw}"})
    return made


def status_of(response: Any) -> Any:
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith("/admin/login/"):
            return AL
        if location.startswith("/login/"):
            return L
        return location
    return response.status_code


def _call(method: str, name: str, url: str, client: Client, bearer: dict) -> Any:
    # The API is called with a bearer token, the pages with the session.
    api = name.startswith("api:") and name not in (
        "api:docs",
        "api:tokens",
        "api:token-revoke",
    )
    headers = bearer if api or url.startswith("/api/v1/") else {}
    if method == "get":
        return client.get(url, headers=headers)
    if api:
        return client.post(url, "{}", content_type="application/json", headers=headers)
    return client.post(url, {"choice": "keep"}, headers=headers)


def test_every_url_pattern_answers_each_role_as_the_table_says(
    owner, other_owner, ops_user, admin_user
):
    world = World(owner)
    World(other_owner)  # the other owner has objects of their own
    users = {"owner": owner, "other": other_owner, "ops": ops_user, "admin": admin_user}
    by_role = clients(world, users)
    ids = world.ids()
    missing: list[str] = []
    wrong: list[str] = []
    tried = 0

    for route, name, _pattern in walk_patterns():
        key = name or route
        expected = expected_for(key)
        if expected is None:
            missing.append(key)
            continue
        url = concrete_url(route, name, ids)
        for role in ROLES:
            client, bearer = by_role[role]
            got = status_of(_call("get", name, url, client, bearer))
            tried += 1
            if got != expected[role]:
                wrong.append(f"GET {url} as {role}: {got}, expected {expected[role]}")

    assert not missing, f"URL patterns without an entry in the table: {missing}"
    assert not wrong, "\n".join(wrong)
    tally("GET of every URL pattern x 5 roles", tried, "every answer as the table")


def test_a_refused_page_answers_with_the_consoles_own_403_page(owner):
    client = Client()
    client.force_login(owner)

    for response in (client.get("/settings/"), client.post("/settings/", {})):
        assert response.status_code == 403
        assert [t.name for t in response.templates][:2] == ["403.html", "base.html"]
        page = response.content.decode()
        assert '<a class="brand"' in page and "Not allowed" in page
        assert f'href="{reverse("alerts:wall")}">Back to the alerts</a>' in page
        # The reason given in the code is for the log, not for the page.
        assert "Only ops and admins" not in page


def test_a_form_without_its_csrf_token_answers_with_the_consoles_page(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post(reverse("alerts:settings"), {})

    assert response.status_code == 403
    assert [t.name for t in response.templates][:2] == ["403_csrf.html", "base.html"]
    page = response.content.decode()
    assert '<a class="brand"' in page and "Nothing was changed" in page


def test_nobody_acts_on_the_owners_objects_by_id(
    owner, other_owner, ops_user, admin_user
):
    world = World(owner)
    users = {"owner": owner, "other": other_owner, "ops": ops_user}
    users["admin"] = admin_user
    by_role = clients(world, users)
    ids = world.ids()
    wrong: list[str] = []
    tried = 0

    for name, expected in POST_REFUSED.items():
        url = reverse(name, args=[ids[name]])
        for role, status in expected.items():
            if status is None:
                continue
            client, bearer = by_role[role]
            api = url.startswith("/api/v1/")
            for method in ("post", "delete") if api else ("post",):
                if method == "delete":
                    response = client.delete(url, headers=bearer)
                    status = 401 if role == "anonymous" else 404
                else:
                    response = _call("post", name, url, client, bearer)
                tried += 1
                got = status_of(response)
                if got not in (status, 405):
                    wrong.append(f"{method.upper()} {url} as {role}: {got}")

    assert not wrong, "\n".join(wrong)
    alert = Alert.objects.get(pk=world.alert.pk)
    assert alert.state == AlertState.ACTIVE
    assert AlertRecipient.objects.filter(alert=alert, deleted_at=None).count() == 1
    assert world.prompt.__class__.objects.get(pk=world.prompt.pk).decision == ""
    assert Mailbox.objects.get(pk=world.mailbox.pk).test_requested_at is None
    assert ApiToken.objects.get(pk=world.token.pk).revoked_at is None
    tally("writes to the owner's objects by others", tried, "all refused, no change")


def test_lists_hold_only_what_the_role_may_see(owner, other_owner):
    mine, theirs = World(owner), World(other_owner)
    by_role = clients(mine, {"owner": owner})
    client, bearer = by_role["owner"]

    pages = "".join(
        client.get(url).content.decode()
        for url in ("/", "/mailboxes/", "/profiles/", "/dashboard/")
    )
    api = "".join(
        client.get(url, headers=bearer).content.decode()
        for url in ("/api/v1/alerts", "/api/v1/mailboxes", "/api/v1/profiles")
    )

    for text in (mine.mailbox.address, mine.profile.name):
        assert text in pages and text in api
    for text in (theirs.mailbox.address, theirs.profile.name):
        assert text not in pages and text not in api
