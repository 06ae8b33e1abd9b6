"""Sync prompts: an engine asks, the owner decides, the engine reads back."""

from __future__ import annotations

from alerts.choices import AlertKind, Level
from alerts.funnel import decide_sync_prompt
from alerts.models import Alert, SyncPrompt
from tests.factories import make_mailbox
from tests.test_api_support import (
    ApiClient,
    fresh_rate_limits,  # noqa: F401
)

URL = "/api/v1/sync-prompts"


def prompt_body(address: str, **fields) -> dict:
    body = {
        "kind": "conflict",
        "mailbox": address,
        "item": "Meeting with ACME, Tuesday 10:00",
        "choices": ["Save anyway", "Do not save"],
        "external_id": "evt-42",
    }
    body.update(fields)
    return body


def test_a_prompt_becomes_an_information_alert_for_the_owner(owner, admin_user):
    box = make_mailbox(owner=owner)

    response = ApiClient(admin_user).post(URL, prompt_body(box.address))

    assert response.status_code == 201
    prompt = SyncPrompt.objects.get(pk=response.json()["id"])
    assert prompt.alert.kind == AlertKind.SYNC_PROMPT
    assert prompt.alert.level == Level.INFORMATION
    wall = ApiClient(owner).get("/api/v1/alerts").json()["results"]
    assert wall[0]["prompt"]["choices"] == ["Save anyway", "Do not save"]


def test_choices_default_by_kind(owner):
    box = make_mailbox(owner=owner)
    body = prompt_body(box.address, kind="previously_linked")
    del body["choices"]

    response = ApiClient(owner).post(URL, body)

    assert response.json()["choices"] == ["Link again", "Do not link"]


def test_decisions_are_read_back_by_the_engine(owner):
    box = make_mailbox(owner=owner)
    api = ApiClient(owner)
    decided_id = api.post(URL, prompt_body(box.address)).json()["id"]
    api.post(URL, prompt_body(box.address, external_id="evt-43"))
    decide_sync_prompt(SyncPrompt.objects.get(pk=decided_id), "Save anyway", owner)

    rows = api.get(URL, {"decided": "true"}).json()["results"]
    open_rows = api.get(URL, {"decided": "false"}).json()["results"]

    assert [(r["id"], r["decision"], r["decided_by"]) for r in rows] == [
        (decided_id, "Save anyway", owner.username)
    ]
    assert [r["external_id"] for r in open_rows] == ["evt-43"]


def test_another_owners_mailbox_is_unknown_and_their_prompts_hidden(owner, other_owner):
    theirs = make_mailbox(owner=other_owner)
    ApiClient(other_owner).post(URL, prompt_body(theirs.address))
    api = ApiClient(owner)

    refused = api.post(URL, prompt_body(theirs.address))

    assert refused.status_code == 400
    assert refused.json() == {"mailbox": ["Unknown mailbox."]}
    assert api.get(URL).json()["results"] == []


def test_bad_prompts_get_field_errors(owner):
    box = make_mailbox(owner=owner)
    body = prompt_body(box.address, kind="argument", choices=["a", "a"], item="")

    response = ApiClient(owner).post(URL, body)

    assert response.status_code == 400
    assert {"kind", "choices", "item"} <= set(response.json())
    assert not Alert.objects.exists()


def test_decided_takes_true_or_false(owner):
    assert ApiClient(owner).get(URL, {"decided": "maybe"}).status_code == 400
