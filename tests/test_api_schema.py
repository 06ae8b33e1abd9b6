"""The served OpenAPI schema, the docs page, and a schemathesis run against
the API: no server error, no answer that breaks the schema.

The run is bounded: SCHEMATHESIS_MAX_EXAMPLES examples per operation (25 by
default; CI may raise it to 50).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from alertcenter.api.auth import issue_token
from tests.factories import make_email, make_mailbox

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))

schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True)
)
application = get_wsgi_application()
schema.app = application


def test_the_schema_is_served_to_token_holders(owner):
    _, raw = issue_token(owner, "docs")
    client = Client()

    served = client.get(
        "/api/schema/?format=json", headers={"Authorization": f"Bearer {raw}"}
    )
    anonymous = client.get("/api/schema/")

    assert served.status_code == 200
    assert "/api/v1/failures" in served.json()["paths"]
    assert anonymous.status_code == 401


def test_the_docs_page_lists_every_operation(owner):
    client = Client()
    client.force_login(owner)

    page = client.get("/api/docs/").content.decode()

    for operation in ("POST /api/v1/failures", "GET /api/v1/alerts/{id}"):
        assert operation in page
    assert 'src="http' not in page  # nothing from a CDN


@pytest.fixture
def api_headers(owner, settings_override):
    box = make_mailbox(owner=owner, address="fuzz@example.com")
    make_email(mailbox=box, message_id="<fuzz@example.com>")
    _, raw = issue_token(owner, "schemathesis")
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def settings_override(settings):
    # The write limit would answer 429 to a fuzzer long before it is done.
    settings.API_WRITE_RATE = "1000000/minute"
    # The WSGI handler closes the connection after each request, which would
    # end the test's transaction; Django's test client does the same as this.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_api_honours_its_schema(case, api_headers):
    # Not checked, on purpose: that schema-valid input is accepted (a
    # reference to an object the user cannot see is rightly a 400, and no
    # schema can say which references exist), and that schema-violating
    # query input is refused (the wall's form sends empty filters, which mean
    # "any", and a bad page_size falls back to the default).
    case.call_and_validate(
        base_url="http://localhost",
        headers=api_headers,
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
    )
