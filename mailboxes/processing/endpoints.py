"""Build transports from profiles and mailboxes, and report their errors.

Passwords are decrypted here, at connect time, and go nowhere but into the
ServerEndpoint (whose repr hides them).
"""

from __future__ import annotations

from alerts.choices import FailureSource, Persistence
from alerts.classifier import classify
from alerts.funnel import report_failure
from alerts.models import Alert
from mailboxes.models import Email, Mailbox
from mailboxes.transports import (
    IncomingTransport,
    ServerEndpoint,
    SmtpTransport,
    TransportError,
    transport_for,
)
from serverprofiles.models import ServerProfile


def incoming_endpoint(
    profile: ServerProfile, username: str = "", password: str = ""
) -> ServerEndpoint:
    """Return the endpoint of the profile's incoming server."""
    return _endpoint(
        profile,
        profile.incoming_host,
        profile.incoming_port,
        profile.incoming_security,
        username,
        password,
    )


def outgoing_endpoint(
    profile: ServerProfile, username: str = "", password: str = ""
) -> ServerEndpoint:
    """Return the endpoint of the profile's SMTP server; AUTH only with a password."""
    return _endpoint(
        profile,
        profile.outgoing_host,
        profile.outgoing_port,
        profile.outgoing_security,
        username if password else "",
        password,
    )


def _endpoint(
    profile: ServerProfile,
    host: str,
    port: int,
    security: str,
    username: str,
    password: str,
) -> ServerEndpoint:
    """Return an endpoint of one of the profile's servers, with the settings
    its servers share (timeout, certificate checks)."""
    return ServerEndpoint(
        host=host,
        port=port,
        security=security,  # type: ignore[arg-type]
        username=username,
        password=password,
        timeout=float(profile.timeout_seconds or 30),
        verify_certificates=profile.verify_certificates,
        ca_file=profile.ca_file or None,
    )


def incoming_transport(mailbox: Mailbox) -> IncomingTransport:
    """Return the IMAP or POP3 transport of the mailbox, logged in as it."""
    username, password = mailbox.credentials()
    endpoint = incoming_endpoint(mailbox.profile, username, password)
    return transport_for(mailbox.profile.incoming_protocol, endpoint)


def outgoing_transport(mailbox: Mailbox) -> SmtpTransport:
    """Return the SMTP transport of the mailbox."""
    username, password = mailbox.credentials()
    return SmtpTransport(outgoing_endpoint(mailbox.profile, username, password))


def report_transport_error(
    error: TransportError,
    *,
    source: str = FailureSource.PROCESSING,
    mailbox: Mailbox | None = None,
    profile: ServerProfile | None = None,
    email: Email | None = None,
) -> Alert | None:
    """Hand one transport error to the alerts funnel."""
    return report_failure(
        source=source,
        stage=error.stage,
        text=error.text,
        reply_code=error.reply_code,
        status=error.status or "",
        exception=error.exception_name or "",
        recipient=error.recipient or "",
        mailbox=mailbox,
        profile=profile,
        email=email,
    )


def is_permanent(error: TransportError) -> bool:
    """Return whether the classifier calls this error permanent."""
    persistence = classify(error.to_failure()).persistence.value
    return str(persistence) == Persistence.PERMANENT


def scope_of(error: TransportError) -> str:
    """Return the scope the classifier gives this error (email, mailbox, profile)."""
    return str(classify(error.to_failure()).scope.value)
