"""GET/DELETE alerts through the API, with the wall's filters."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from alerts.choices import AlertState, Level, Scope
from alerts.models import Alert, AlertRecipient
from tests.factories import make_mailbox
from tests.test_api_support import (
    ApiClient,
    fresh_rate_limits,  # noqa: F401
)

_n = iter(range(10**6))


def make_alert(user, mailbox=None, **kw) -> Alert:
    now = timezone.now()
    fields = {
        "level": Level.ERROR,
        "scope": Scope.MAILBOX,
        "reason": "auth_failed",
        "message": "Authentication failed",
        "group_key": f"test|{next(_n)}",
        "first_seen": now,
        "last_seen": now,
        "mailbox": mailbox,
    }
    fields.update(kw)
    alert = Alert.objects.create(**fields)
    AlertRecipient.objects.create(alert=alert, user=user, action_required=True)
    return alert


def test_an_owner_lists_their_alerts_only(owner, other_owner):
    mine = make_alert(owner, message="<b>mine</b>")
    make_alert(other_owner)

    body = ApiClient(owner).get("/api/v1/alerts").json()

    assert [row["id"] for row in body["results"]] == [mine.pk]
    assert body["results"][0]["message"] == "<b>mine</b>"


def test_the_wall_filters_apply(owner):
    error = make_alert(owner, level=Level.ERROR)
    make_alert(owner, level=Level.WARNING)
    make_alert(owner, level=Level.ERROR, state=AlertState.RESOLVED)

    body = ApiClient(owner).get("/api/v1/alerts", {"level": "error"}).json()

    assert [row["id"] for row in body["results"]] == [error.pk]


def test_a_mailbox_filter_on_another_owners_mailbox_is_a_400(owner, other_owner):
    theirs = make_mailbox(owner=other_owner)

    response = ApiClient(owner).get("/api/v1/alerts", {"mailbox": theirs.pk})

    assert response.status_code == 400
    assert "mailbox" in response.json()


def test_a_bad_filter_value_is_a_400(owner):
    response = ApiClient(owner).get("/api/v1/alerts", {"level": "catastrophic"})

    assert response.status_code == 400


def test_pages_follow_a_cursor_newest_first(owner):
    alerts = [make_alert(owner) for _ in range(5)]
    api = ApiClient(owner)

    first = api.get("/api/v1/alerts", {"page_size": 3}).json()
    second = api.client.get(first["next"], headers=api.headers).json()

    seen = [row["id"] for row in first["results"] + second["results"]]
    assert seen == [alert.pk for alert in reversed(alerts)]
    assert second["next"] is None


def test_one_alert_is_read_and_another_owners_is_404(owner, other_owner):
    mine = make_alert(owner)
    theirs = make_alert(other_owner)
    api = ApiClient(owner)

    assert api.get(f"/api/v1/alerts/{mine.pk}").json()["id"] == mine.pk
    assert api.get(f"/api/v1/alerts/{theirs.pk}").status_code == 404
    assert api.delete(f"/api/v1/alerts/{theirs.pk}").status_code == 404
    assert Alert.objects.filter(pk=theirs.pk).exists()


def test_an_owner_deletes_an_alert_from_their_wall(owner):
    alert = make_alert(owner)
    api = ApiClient(owner)

    assert api.delete(f"/api/v1/alerts/{alert.pk}").status_code == 204
    assert api.get(f"/api/v1/alerts/{alert.pk}").status_code == 404


def test_delete_all_takes_the_filters_and_a_confirmation(owner):
    old = make_alert(owner, last_seen=timezone.now() - timedelta(days=10))
    recent = make_alert(owner)
    api = ApiClient(owner)
    since = (timezone.now() - timedelta(days=1)).date().isoformat()

    refused = api.post(f"/api/v1/alerts/delete-all?since={since}", {})
    done = api.post(f"/api/v1/alerts/delete-all?since={since}", {"confirm": True})

    assert refused.status_code == 400
    assert done.json() == {"deleted": 1}
    remaining = [row["id"] for row in api.get("/api/v1/alerts").json()["results"]]
    assert remaining == [old.pk]
    assert recent.pk not in remaining


def test_delete_all_of_an_owner_leaves_other_walls_alone(owner, other_owner):
    shared = make_alert(owner)
    AlertRecipient.objects.create(alert=shared, user=other_owner)

    ApiClient(owner).post("/api/v1/alerts/delete-all", {"confirm": True})

    theirs = ApiClient(other_owner).get("/api/v1/alerts").json()["results"]
    assert [row["id"] for row in theirs] == [shared.pk]


def test_an_admin_deletes_for_everyone(admin_user, owner):
    alert = make_alert(owner)

    response = ApiClient(admin_user).delete(f"/api/v1/alerts/{alert.pk}")

    assert response.status_code == 204
    assert not Alert.objects.filter(pk=alert.pk).exists()
