"""Email notifications go through Django's SMTP backend to a real server."""

from __future__ import annotations

import email

import pytest
from django.test import override_settings

from alerts import funnel
from alerts.choices import FailureSource
from alerts.models import AlertSettings
from alerts.notify import notify_alert
from tests.factories import make_mailbox, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.mailserver]

WRONG_PASSWORD = "NO [AUTHENTICATIONFAILED] Authentication failed."


def smtp_settings(server):
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST=server.host,
        EMAIL_PORT=server.port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
    )


def test_owner_who_must_act_gets_one_mail_per_repeat_interval(
    smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    AlertSettings.objects.update_or_create(pk=1, defaults={"email_notifications": True})
    owner = make_user(email="owner-notify@example.com")
    mailbox = make_mailbox(owner=owner)

    with smtp_settings(server), django_capture_on_commit_callbacks(execute=True):
        alert = funnel.report_failure(
            source=FailureSource.PROCESSING,
            stage="imap-login",
            text=WRONG_PASSWORD,
            mailbox=mailbox,
        )
        mailbox.resume()
        funnel.report_failure(
            source=FailureSource.PROCESSING,
            stage="imap-login",
            text=WRONG_PASSWORD,
            mailbox=mailbox,
        )
    with smtp_settings(server):
        assert notify_alert(alert.pk) == 0

    assert len(server.messages) == 1
    received = server.messages[0]
    assert received.recipients == ["owner-notify@example.com"]
    parsed = email.message_from_bytes(received.data)
    assert "Authentication failed" in parsed["Subject"]
    assert "AUTHENTICATIONFAILED" in parsed.get_payload(decode=True).decode()


def test_server_text_cannot_inject_headers(
    smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    AlertSettings.objects.update_or_create(pk=1, defaults={"email_notifications": True})
    owner = make_user(email="owner-inject@example.com")
    mailbox = make_mailbox(
        owner=owner, address="evil\r\nBcc: x@example.com@example.com"
    )

    with smtp_settings(server), django_capture_on_commit_callbacks(execute=True):
        funnel.report_failure(
            source=FailureSource.PROCESSING,
            stage="imap-login",
            text="NO [AUTHENTICATIONFAILED] bad\r\nBcc: victim@example.com\r\n",
            mailbox=mailbox,
        )

    assert len(server.messages) == 1
    received = server.messages[0]
    assert received.recipients == ["owner-inject@example.com"]
    parsed = email.message_from_bytes(received.data)
    assert parsed["Bcc"] is None


def test_no_mail_when_notifications_are_off(
    smtp_server, django_capture_on_commit_callbacks
):
    server = smtp_server()
    mailbox = make_mailbox(owner=make_user(email="quiet@example.com"))
    with smtp_settings(server), django_capture_on_commit_callbacks(execute=True):
        funnel.report_failure(
            source=FailureSource.PROCESSING,
            stage="imap-login",
            text=WRONG_PASSWORD,
            mailbox=mailbox,
        )
    assert server.messages == []
