"""Server text is untrusted: every page shows it as text."""

from __future__ import annotations

import pytest
from django.test import Client

from alerts.tests.test_wall_helpers import make_alert
from tests.factories import make_email, make_mailbox

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"


def _assert_shown_as_text(html: str) -> None:
    assert ESCAPED in html
    assert "<script>alert" not in html
    assert "<img src=x" not in html


def test_wall_and_alert_page_escape_server_text(owner) -> None:
    mailbox = make_mailbox(owner)
    alert = make_alert([owner], mailbox=mailbox, detail=HOSTILE, message=HOSTILE)
    client = Client()
    client.force_login(owner)

    for path in ("/", f"/alerts/{alert.pk}/", f"/mailboxes/{mailbox.pk}/"):
        response = client.get(path)
        assert response.status_code == 200
        _assert_shown_as_text(response.content.decode())


def test_email_page_escapes_the_last_error(owner) -> None:
    email = make_email(make_mailbox(owner), last_error=HOSTILE, subject=HOSTILE)
    client = Client()
    client.force_login(owner)

    _assert_shown_as_text(client.get(f"/mailboxes/emails/{email.pk}/").content.decode())


def test_pages_carry_a_strict_content_security_policy(owner) -> None:
    client = Client()
    client.force_login(owner)
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
