"""The settings page: ops and admins change what is written, with an audit."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.choices import AuditAction
from alerts.models import AlertSettings, AuditEntry

pytestmark = pytest.mark.django_db


def _form(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "write_errors": "on",
        "write_warnings": "on",
        "write_information": "on",
        "transient_attempts_before_permanent": 10,
        "backoff_base_seconds": 60,
        "backoff_cap_seconds": 3600,
        "retention_days": 30,
        "notification_repeat_minutes": 60,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("role", ["ops_user", "admin_user"])
def test_ops_and_admins_open_the_settings(role, request) -> None:
    client = Client()
    client.force_login(request.getfixturevalue(role))
    assert client.get("/settings/").status_code == 200


def test_owners_may_not_open_or_change_the_settings(owner) -> None:
    client = Client()
    client.force_login(owner)

    assert client.get("/settings/").status_code == 403
    assert client.post("/settings/", _form(write_warnings=None)).status_code == 403
    assert AlertSettings.load().write_warnings is True


def test_a_change_is_saved_and_audited(ops_user) -> None:
    client = Client()
    client.force_login(ops_user)

    response = client.post("/settings/", _form(write_warnings=None, retention_days=14))

    assert response.status_code == 302
    current = AlertSettings.load()
    assert current.write_warnings is False and current.retention_days == 14
    entry = AuditEntry.objects.get(action=AuditAction.SETTINGS)
    assert entry.actor == ops_user
    assert entry.details["changes"] == {
        "write_warnings": [True, False],
        "retention_days": [30, 14],
    }
    page = client.get("/settings/").content.decode()
    assert "write_warnings" in page and "Changed alert settings" in page


def test_saving_unchanged_settings_writes_no_audit(ops_user) -> None:
    client = Client()
    client.force_login(ops_user)
    client.post("/settings/", _form())
    assert not AuditEntry.objects.exists()


def test_bad_values_are_refused_and_nothing_changes(ops_user) -> None:
    client = Client()
    client.force_login(ops_user)

    response = client.post(
        "/settings/", _form(backoff_base_seconds=600, backoff_cap_seconds=60)
    )

    assert response.status_code == 400
    assert AlertSettings.load().backoff_cap_seconds == 3600
    assert not AuditEntry.objects.exists()
