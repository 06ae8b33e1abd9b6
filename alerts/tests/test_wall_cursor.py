"""A malformed page cursor is a clear 400, never a server error."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "cursor",
    ["99999999999999999999.1", "-99999999999999999999.1", "1.x", "9" * 80 + ".1"],
)
def test_a_malformed_cursor_answers_400(client, owner, cursor):
    client.force_login(owner)
    response = client.get("/", {"after": cursor})
    assert response.status_code == 400
