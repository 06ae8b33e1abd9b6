"""Deleting one alert, deleting all that a user sees, resolving, deciding."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from alerts.choices import AlertKind, AlertState, AuditAction, Level, SyncPromptKind
from alerts.models import Alert, AlertRecipient, AuditEntry, SyncPrompt
from alerts.tests.test_wall_helpers import make_alert

pytestmark = pytest.mark.django_db


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_owner_delete_hides_only_their_copy(owner, admin_user) -> None:
    alert = make_alert([owner], message="quota full")

    response = logged_in(owner).post(f"/alerts/{alert.pk}/delete/")

    assert response.status_code == 302
    assert "quota full" not in logged_in(owner).get("/").content.decode()
    assert Alert.objects.filter(pk=alert.pk).exists()
    assert "quota full" in logged_in(admin_user).get("/").content.decode()


def test_admin_delete_removes_the_alert(admin_user, owner) -> None:
    alert = make_alert([owner])

    logged_in(admin_user).post(f"/alerts/{alert.pk}/delete/")

    assert not Alert.objects.filter(pk=alert.pk).exists()
    assert AuditEntry.objects.filter(action=AuditAction.DELETE).exists()


def test_htmx_delete_answers_empty_so_the_row_goes(admin_user) -> None:
    alert = make_alert()
    response = logged_in(admin_user).post(
        f"/alerts/{alert.pk}/delete/", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.content == b""


def test_owner_cannot_delete_or_open_another_owners_alert(owner, other_owner) -> None:
    theirs = make_alert([other_owner])
    client = logged_in(owner)

    assert client.get(f"/alerts/{theirs.pk}/").status_code == 404
    assert client.post(f"/alerts/{theirs.pk}/delete/").status_code == 404
    assert client.post(f"/alerts/{theirs.pk}/resolve/").status_code == 404
    copy = AlertRecipient.objects.get(alert=theirs)
    assert copy.deleted_at is None


def test_delete_needs_post(admin_user) -> None:
    alert = make_alert()
    assert logged_in(admin_user).get(f"/alerts/{alert.pk}/delete/").status_code == 405


def test_delete_redirects_only_to_local_pages(admin_user) -> None:
    alert = make_alert()
    response = logged_in(admin_user).post(
        f"/alerts/{alert.pk}/delete/", {"next": "https://evil.example/"}
    )
    assert response.url == "/"


def test_delete_all_confirmation_counts_what_the_filters_show(admin_user) -> None:
    for _ in range(3):
        make_alert(level=Level.ERROR)
    make_alert(level=Level.WARNING)

    response = logged_in(admin_user).get("/alerts/delete-all/", {"level": "error"})

    assert response.status_code == 200
    assert response.context["count"] == 3
    page = response.content.decode()
    assert "Delete 3 alerts" in page
    assert '<input type="hidden" name="level" value="error">' in page
    assert Alert.objects.count() == 4


def test_delete_all_deletes_only_the_filtered_alerts(admin_user) -> None:
    for _ in range(3):
        make_alert(level=Level.ERROR)
    warning = make_alert(level=Level.WARNING)

    response = logged_in(admin_user).post(
        "/alerts/delete-all/", {"level": "error", "state": "active"}
    )

    assert response.status_code == 302
    assert response.url == "/?level=error&state=active"
    assert list(Alert.objects.all()) == [warning]
    assert AuditEntry.objects.filter(action=AuditAction.DELETE_ALL).exists()


def test_owner_delete_all_touches_only_their_own_copies(owner, other_owner) -> None:
    mine = make_alert([owner])
    shared = make_alert([owner, other_owner])
    theirs = make_alert([other_owner])

    logged_in(owner).post("/alerts/delete-all/")

    assert Alert.objects.count() == 3
    hidden = AlertRecipient.objects.filter(deleted_at__isnull=False)
    assert {(c.alert_id, c.user_id) for c in hidden} == {
        (mine.pk, owner.pk),
        (shared.pk, owner.pk),
    }
    other_wall = logged_in(other_owner).get("/").context["page"].alerts
    assert {a.pk for a in other_wall} == {shared.pk, theirs.pk}


def test_ops_delete_all_counts_only_their_copies(ops_user, owner) -> None:
    make_alert([owner])
    make_alert([ops_user])

    response = logged_in(ops_user).get("/alerts/delete-all/")

    assert response.context["count"] == 1


def test_delete_all_with_bad_filters_deletes_nothing(owner, other_owner) -> None:
    from tests.factories import make_mailbox

    theirs = make_mailbox(other_owner)
    make_alert([owner])

    response = logged_in(owner).post("/alerts/delete-all/", {"mailbox": theirs.pk})

    assert response.status_code == 400
    assert not AlertRecipient.objects.filter(deleted_at__isnull=False).exists()


def test_delete_all_needs_login(client) -> None:
    make_alert()
    response = client.post("/alerts/delete-all/")
    assert response.status_code == 302
    assert Alert.objects.count() == 1


def test_owner_asked_to_act_resolves(owner) -> None:
    alert = make_alert([owner], action_required=True)

    logged_in(owner).post(f"/alerts/{alert.pk}/resolve/")

    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert alert.resolved_by == owner


def test_owner_only_informed_cannot_resolve(owner) -> None:
    alert = make_alert([owner], action_required=False)

    response = logged_in(owner).post(f"/alerts/{alert.pk}/resolve/")

    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.state == AlertState.ACTIVE


def _prompt(owner: User) -> SyncPrompt:
    alert = make_alert(
        [owner], kind=AlertKind.SYNC_PROMPT, level=Level.INFORMATION, persistence=""
    )
    return SyncPrompt.objects.create(
        alert=alert,
        kind=SyncPromptKind.CONFLICT,
        item="Meeting on Monday 10:00",
        choices=["Save anyway", "Do not save"],
    )


def test_sync_prompt_offers_its_choices_as_buttons(owner) -> None:
    _prompt(owner)
    page = logged_in(owner).get("/").content.decode()
    assert 'name="choice" value="Save anyway"' in page
    assert 'name="choice" value="Do not save"' in page


def test_sync_prompt_decision_is_recorded(owner) -> None:
    prompt = _prompt(owner)

    response = logged_in(owner).post(
        f"/alerts/{prompt.alert_id}/decide/", {"choice": "Do not save"}
    )

    assert response.status_code == 302
    prompt.refresh_from_db()
    assert prompt.decision == "Do not save"
    assert prompt.decided_by == owner


def test_sync_prompt_refuses_a_choice_not_offered(owner) -> None:
    prompt = _prompt(owner)
    response = logged_in(owner).post(
        f"/alerts/{prompt.alert_id}/decide/", {"choice": "Delete everything"}
    )
    assert response.status_code == 400
    prompt.refresh_from_db()
    assert prompt.decision == ""


def test_another_owner_cannot_decide(owner, other_owner) -> None:
    prompt = _prompt(owner)
    response = logged_in(other_owner).post(
        f"/alerts/{prompt.alert_id}/decide/", {"choice": "Save anyway"}
    )
    assert response.status_code == 404
