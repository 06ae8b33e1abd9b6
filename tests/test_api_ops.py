"""/healthz and /metrics."""

from __future__ import annotations

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from alertcenter.api.metrics import observe_processing_run
from alerts.choices import Level
from alerts.models import Alert
from tests.factories import make_mailbox
from tests.test_api_support import (
    ApiClient,
    fresh_rate_limits,  # noqa: F401
)


def test_healthz_answers_ok_without_login(db):
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok"},
    }


def test_healthz_is_503_when_the_broker_is_down(db, broker_down):
    response = Client().get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "error"}


def _families(text: str) -> dict[str, dict[tuple, float]]:
    found: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            found.setdefault(sample.name, {})[key] = sample.value
    return found


def test_metrics_count_alerts_and_mailboxes(ops_user, owner):
    make_mailbox(owner=owner)
    box = make_mailbox(owner=owner)
    box.suspend("auth_failed")
    Alert.objects.create(
        level=Level.ERROR,
        scope="mailbox",
        reason="x",
        message="m",
        group_key="g",
        first_seen=box.created_at,
        last_seen=box.created_at,
    )

    response = ApiClient(ops_user).get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    metrics = _families(response.content.decode())
    alerts = metrics["alertcenter_alerts"]
    assert alerts[(("level", "error"), ("state", "active"))] == 1
    assert alerts[(("level", "warning"), ("state", "active"))] == 0
    boxes = metrics["alertcenter_mailboxes"]
    assert boxes[(("processing_state", "suspended"),)] == 1
    assert boxes[(("processing_state", "idle"),)] == 1
    assert "alertcenter_failures_received" in metrics
    assert "alertcenter_failures_processed" in metrics


def test_metrics_show_processing_run_durations(ops_user):
    api = ApiClient(ops_user)
    before = _families(api.get("/metrics").content.decode())
    observe_processing_run("test", 1.5)

    after = _families(api.get("/metrics").content.decode())

    key = (("kind", "test"),)
    runs = after["alertcenter_processing_run_seconds_count"][key]
    previous = before.get("alertcenter_processing_run_seconds_count", {}).get(key, 0)
    assert runs == previous + 1


def test_metrics_need_an_ops_token(owner, db):
    assert Client().get("/metrics").status_code == 401
    assert ApiClient(owner).get("/metrics").status_code == 403
