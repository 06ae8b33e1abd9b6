"""POST /api/v1/failures: validate all, store all, answer 202, queue after."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from alerts.choices import FailureSource
from alerts.models import FailureRecord
from tests.factories import make_email, make_mailbox, make_profile
from tests.test_api_support import (
    ApiClient,
    failure,
    fresh_rate_limits,  # noqa: F401
)

URL = "/api/v1/failures"


@pytest.fixture
def mailbox(owner: User):
    return make_mailbox(owner=owner)


@pytest.fixture
def api(owner: User) -> ApiClient:
    return ApiClient(owner)


def test_one_failure_is_stored_and_answered_with_its_id(api, mailbox, owner):
    response = api.post(URL, failure(mailbox.address, recipient="x@example.org"))

    assert response.status_code == 202
    (record_id,) = response.json()["ids"]
    record = FailureRecord.objects.get(pk=record_id)
    assert record.mailbox == mailbox
    assert record.profile == mailbox.profile
    assert record.source == FailureSource.API
    assert record.submitted_by == owner
    assert record.reply_code == 535
    assert record.status == "5.7.8"
    assert record.recipient == "x@example.org"
    assert record.processed_at is None


def test_a_batch_of_a_thousand_is_stored_in_order(
    api, mailbox, django_assert_max_num_queries
):
    items = [failure(mailbox.address, text=f"451 4.3.0 try {n}") for n in range(1000)]

    with django_assert_max_num_queries(40):
        response = api.post(URL, {"failures": items})

    assert response.status_code == 202
    ids = response.json()["ids"]
    assert len(ids) == 1000
    texts = dict(FailureRecord.objects.values_list("pk", "text"))
    assert [texts[pk] for pk in ids] == [item["text"] for item in items]
    assert response.json()["created"] == 1000


def test_a_plain_json_list_is_a_batch(api, mailbox):
    response = api.post(URL, [failure(mailbox.address), failure(mailbox.address)])

    assert response.status_code == 202
    assert len(response.json()["ids"]) == 2


def test_a_batch_over_a_thousand_is_refused_whole(api, mailbox):
    items = [failure(mailbox.address)] * 1001

    response = api.post(URL, {"failures": items})

    assert response.status_code == 400
    assert "failures" in response.json()
    assert FailureRecord.objects.count() == 0


def test_an_empty_batch_is_refused(api):
    assert api.post(URL, {"failures": []}).status_code == 400


def test_a_key_seen_before_returns_the_stored_record(api, mailbox):
    first = api.post(URL, failure(mailbox.address, idempotency_key="q-1"))
    again = api.post(URL, failure(mailbox.address, idempotency_key="q-1"))

    assert again.status_code == 202
    assert again.json()["ids"] == first.json()["ids"]
    assert again.json()["duplicates"] == 1
    assert FailureRecord.objects.count() == 1


def test_a_key_repeated_within_a_batch_is_stored_once(api, mailbox):
    items = [
        failure(mailbox.address, idempotency_key="a"),
        failure(mailbox.address),
        failure(mailbox.address, idempotency_key="a"),
    ]

    response = api.post(URL, items)

    ids = response.json()["ids"]
    assert ids[0] == ids[2] != ids[1]
    assert FailureRecord.objects.count() == 2


def test_keys_of_different_reporters_do_not_collide(api, mailbox, admin_user):
    mine = api.post(URL, failure(mailbox.address, idempotency_key="k"))
    theirs = ApiClient(admin_user).post(
        URL, failure(mailbox.address, idempotency_key="k")
    )

    assert theirs.json()["ids"] != mine.json()["ids"]
    assert FailureRecord.objects.count() == 2


def test_errors_are_given_per_item_index_and_nothing_is_stored(api, mailbox):
    items = [
        failure(mailbox.address),
        failure(mailbox.address, text=""),
        failure("nobody@example.com"),
        failure(mailbox.address, reply_code="five hundred"),
    ]

    response = api.post(URL, {"failures": items})

    assert response.status_code == 400
    errors = response.json()["failures"]
    assert set(errors) == {"1", "2", "3"}
    assert "text" in errors["1"]
    assert errors["2"] == {"mailbox": ["Unknown mailbox."]}
    assert "reply_code" in errors["3"]
    assert FailureRecord.objects.count() == 0


def test_a_lone_failure_gets_its_field_errors_at_the_top(api):
    body = {"stage": "warp-drive", "occurred_at": "yesterday"}

    response = api.post(URL, body)

    errors = response.json()
    assert response.status_code == 400
    assert {"stage", "occurred_at", "text"} <= set(errors)


def test_text_over_ten_thousand_characters_is_refused(api, mailbox):
    response = api.post(URL, failure(mailbox.address, text="x" * 10_001))

    assert response.status_code == 400
    assert "text" in response.json()


def test_a_mailbox_or_a_profile_is_required(api):
    body = failure("x@example.com")
    del body["mailbox"]

    response = api.post(URL, body)

    assert response.status_code == 400
    assert response.json()["non_field_errors"] == ["Give a mailbox or a profile."]


def test_another_owners_mailbox_is_unknown(api, other_owner):
    theirs = make_mailbox(owner=other_owner)

    response = api.post(URL, failure(theirs.address))

    assert response.status_code == 400
    assert response.json() == {"mailbox": ["Unknown mailbox."]}


def test_an_admin_may_report_for_any_mailbox(admin_user, mailbox):
    response = ApiClient(admin_user).post(URL, failure(mailbox.address))

    assert response.status_code == 202


def test_a_profile_is_found_by_name(api, owner):
    profile = make_profile(owner=owner)
    body = failure("", stage="dns", text="Name or service not known")
    del body["mailbox"]
    body["profile"] = profile.name

    response = api.post(URL, body)

    assert response.status_code == 202
    record = FailureRecord.objects.get()
    assert record.profile == profile
    assert record.mailbox is None


def test_a_profile_that_is_not_the_mailboxs_is_refused(api, mailbox, owner):
    other_profile = make_profile(owner=owner)

    response = api.post(URL, failure(mailbox.address, profile=other_profile.name))

    assert response.status_code == 400
    assert "profile" in response.json()


def test_an_email_is_resolved_by_message_id_within_the_mailbox(api, mailbox):
    email = make_email(mailbox=mailbox, message_id="<abc@example.com>")

    response = api.post(URL, failure(mailbox.address, email="abc@example.com"))

    assert response.status_code == 202
    assert FailureRecord.objects.get().email == email


def test_an_email_of_another_mailbox_is_not_found(api, mailbox, owner):
    make_email(mailbox=make_mailbox(owner=owner), message_id="<m@example.com>")

    response = api.post(URL, failure(mailbox.address, email="<m@example.com>"))

    assert response.status_code == 400
    assert "email" in response.json()


def test_invalid_json_is_a_400(api):
    response = api.post(URL, '{"failures": [')

    assert response.status_code == 400
    assert "detail" in response.json()


def test_a_json_scalar_is_a_400(api):
    assert api.post(URL, "42").status_code == 400


def test_another_content_type_is_a_415(api, mailbox):
    body = json.dumps(failure(mailbox.address))

    response = api.post(URL, body, content_type="text/plain")

    assert response.status_code == 415


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2048)
def test_a_body_over_the_limit_is_a_413(api, mailbox):
    response = api.post(URL, failure(mailbox.address, text="x" * 4000))

    assert response.status_code == 413
    assert FailureRecord.objects.count() == 0


def test_without_a_token_the_answer_is_401(mailbox):
    response = ApiClient().post(URL, failure(mailbox.address))

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@override_settings(API_WRITE_RATE="2/minute")
def test_writes_are_rate_limited(api, mailbox):
    codes = [api.post(URL, failure(mailbox.address)).status_code for _ in range(3)]

    assert codes == [202, 202, 429]
    assert api.get("/api/v1/mailboxes").status_code == 200


def test_stored_failures_are_processed_after_commit(
    api, mailbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api.post(URL, failure(mailbox.address))

    assert len(callbacks) == 1
    record = FailureRecord.objects.get(pk=response.json()["ids"][0])
    assert record.processed_at is not None
    assert record.alert is not None
    assert record.alert.mailbox == mailbox
