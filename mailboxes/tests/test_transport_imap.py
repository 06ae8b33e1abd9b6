"""ImapTransport against a real Dovecot and against misbehaving servers."""

from __future__ import annotations

import time
from typing import Any

import pytest

from mailboxes.testservers import DovecotServer
from mailboxes.transports import (
    ImapTransport,
    Limits,
    ServerEndpoint,
    TransportError,
    transport_for,
)

pytestmark = pytest.mark.mailserver


def endpoint(
    dovecot: DovecotServer, user: tuple[str, str], security: str = "none", **extra: Any
) -> ServerEndpoint:
    return dovecot.endpoint("imap", user, security, **extra)


def message(number: int, size: int = 0) -> bytes:
    body = b"x" * size + b"\r\n"
    return (
        b"From: sender@example.com\r\nTo: rcpt@example.com\r\n"
        b"Subject: message %d\r\nMessage-ID: <msg-%d@example.com>\r\n\r\n%s"
        % (number, number, body)
    )


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_check_logs_in_with_each_security(
    dovecot: DovecotServer, dovecot_user: tuple[str, str], security: str
) -> None:
    ImapTransport(endpoint(dovecot, dovecot_user, security)).check()


def test_wrong_password_fails_at_login_with_server_text(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    wrong = (dovecot_user[0], "not-the-password")

    with pytest.raises(TransportError) as caught:
        ImapTransport(endpoint(dovecot, wrong)).check()

    error = caught.value
    assert error.stage == "imap-login"
    assert "[AUTHENTICATIONFAILED]" in error.text
    assert error.exception_name == "imaplib.IMAP4.error"
    failure = error.to_failure()
    assert failure.stage == "imap-login"
    assert failure.exception == "imaplib.IMAP4.error"
    assert "[AUTHENTICATIONFAILED]" in failure.text


def test_password_change_on_server_takes_effect(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    name, old = dovecot_user
    dovecot.set_password(name, "new-password")

    with pytest.raises(TransportError, match="AUTHENTICATIONFAILED"):
        ImapTransport(endpoint(dovecot, (name, old))).check()
    ImapTransport(endpoint(dovecot, (name, "new-password"))).check()


def test_fetch_new_returns_each_message_once_across_runs(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    transport = transport_for("imap", endpoint(dovecot, dovecot_user))
    dovecot.deliver(dovecot_user[0], message(1))
    dovecot.deliver(dovecot_user[0], message(2))

    first = transport.fetch_new({})
    again = transport.fetch_new(first.state)
    dovecot.deliver(dovecot_user[0], message(3))
    third = transport.fetch_new(again.state)

    assert [m.message_id for m in first.messages] == [
        "<msg-1@example.com>",
        "<msg-2@example.com>",
    ]
    assert b"Subject: message 1" in first.messages[0].raw
    assert again.messages == []
    assert [m.message_id for m in third.messages] == ["<msg-3@example.com>"]
    assert third.state["last_uid"] == 3
    assert not first.reset and not third.reset


def test_fetch_new_works_over_tls(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    dovecot.deliver(dovecot_user[0], message(1))

    result = ImapTransport(endpoint(dovecot, dovecot_user, "tls")).fetch_new({})

    assert [m.message_id for m in result.messages] == ["<msg-1@example.com>"]


def test_fetch_new_reads_in_bounded_batches(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    transport = ImapTransport(endpoint(dovecot, dovecot_user))
    for number in (1, 2, 3):
        dovecot.deliver(dovecot_user[0], message(number))

    first = transport.fetch_new({}, limit=2)
    second = transport.fetch_new(first.state, limit=2)

    assert len(first.messages) == 2 and first.more
    assert [m.message_id for m in second.messages] == ["<msg-3@example.com>"]
    assert not second.more
    uids = [m.uid for m in first.messages + second.messages]
    assert len(set(uids)) == 3


def test_uidvalidity_change_reads_folder_as_new_but_skips_stored_messages(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    transport = ImapTransport(endpoint(dovecot, dovecot_user))
    dovecot.deliver(dovecot_user[0], message(1))
    dovecot.deliver(dovecot_user[0], message(2))
    before = transport.fetch_new({})
    stored = {m.message_id for m in before.messages if m.message_id}
    asked: list[list[str]] = []

    def known(message_ids: Any) -> set[str]:
        asked.append(sorted(message_ids))
        return stored & set(message_ids)

    dovecot.set_uidvalidity(dovecot_user[0], 4242)
    dovecot.deliver(dovecot_user[0], message(3))
    after = transport.fetch_new(before.state, known=known)

    assert after.reset
    assert after.state["uidvalidity"] == 4242
    assert [m.message_id for m in after.messages] == ["<msg-3@example.com>"]
    assert after.messages[0].uid.startswith("4242:")
    assert asked == [[f"<msg-{n}@example.com>" for n in (1, 2, 3)]]
    assert transport.fetch_new(after.state).messages == []


def test_uidvalidity_change_without_known_returns_everything_to_dedupe(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    transport = ImapTransport(endpoint(dovecot, dovecot_user))
    dovecot.deliver(dovecot_user[0], message(1))
    before = transport.fetch_new({})

    dovecot.set_uidvalidity(dovecot_user[0], 5151)
    after = transport.fetch_new(before.state)

    assert after.reset
    assert [m.message_id for m in after.messages] == ["<msg-1@example.com>"]
    assert after.messages[0].uid != before.messages[0].uid


def test_message_over_size_limit_is_skipped_and_reported(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    transport = ImapTransport(
        endpoint(dovecot, dovecot_user), Limits(max_message_bytes=2000)
    )
    dovecot.deliver(dovecot_user[0], message(1, size=5000))
    dovecot.deliver(dovecot_user[0], message(2))

    result = transport.fetch_new({})

    assert [m.message_id for m in result.messages] == ["<msg-2@example.com>"]
    assert len(result.skipped) == 1
    assert result.skipped[0].stage == "imap-fetch"
    assert "over the limit" in result.skipped[0].text
    assert transport.fetch_new(result.state).skipped == []


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_certificate_that_does_not_verify_is_a_tls_failure(
    dovecot: DovecotServer, dovecot_user: tuple[str, str], security: str
) -> None:
    untrusting = endpoint(dovecot, dovecot_user, security, ca_file=None)

    with pytest.raises(TransportError) as caught:
        ImapTransport(untrusting).check()

    assert caught.value.stage == "tls"
    assert caught.value.exception_name == "ssl.SSLCertVerificationError"


def test_certificate_is_not_checked_when_verification_is_off(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    trusting = endpoint(
        dovecot, dovecot_user, "tls", ca_file=None, verify_certificates=False
    )

    ImapTransport(trusting).check()


def test_name_that_does_not_resolve_is_a_dns_failure() -> None:
    nowhere = ServerEndpoint("nohost.invalid", 993, username="u", password="p")

    with pytest.raises(TransportError) as caught:
        ImapTransport(nowhere).check()

    assert caught.value.stage == "dns"
    assert caught.value.exception_name == "socket.gaierror"


def test_refused_port_is_a_tcp_failure(refused_port: int) -> None:
    closed = ServerEndpoint("127.0.0.1", refused_port, security="none")

    with pytest.raises(TransportError) as caught:
        ImapTransport(closed).check()

    assert caught.value.stage == "tcp"
    assert caught.value.exception_name == "ConnectionRefusedError"


def test_silent_server_times_out_within_endpoint_timeout(raw_server: Any) -> None:
    server = raw_server("silent")
    silent = ServerEndpoint(server.host, server.port, security="none", timeout=0.5)

    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        ImapTransport(silent).check()

    assert time.monotonic() - started < 3
    assert caught.value.stage == "imap-connect"
    assert caught.value.exception_name == "TimeoutError"


def test_endless_line_fails_cleanly(raw_server: Any) -> None:
    server = raw_server("endless", prefix=b"* OK ")
    endless = ServerEndpoint(server.host, server.port, security="none", timeout=5)
    limits = Limits(max_line_bytes=100_000)

    with pytest.raises(TransportError) as caught:
        ImapTransport(endless, limits).check()

    assert caught.value.stage == "imap-connect"
    assert caught.value.exception_name == "mailboxes.transports.base.ResponseTooLarge"


def test_greeting_that_is_not_imap_is_a_connect_failure(raw_server: Any) -> None:
    server = raw_server("greeting", prefix=b"220 smtp.example.com ESMTP\r\n")
    wrong = ServerEndpoint(server.host, server.port, security="none", timeout=5)

    with pytest.raises(TransportError) as caught:
        ImapTransport(wrong).check()

    assert caught.value.stage == "imap-connect"


def test_empty_inbox_fetches_nothing_and_remembers_uidvalidity(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    result = ImapTransport(endpoint(dovecot, dovecot_user)).fetch_new({})

    assert result.messages == [] and not result.more
    assert result.state["last_uid"] == 0
    assert isinstance(result.state["uidvalidity"], int)


def test_literal_over_size_limit_fails_cleanly(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    # Even the Message-ID header literal is over this limit, so the bound on
    # what the server announces is what stops the read.
    transport = ImapTransport(
        endpoint(dovecot, dovecot_user), Limits(max_message_bytes=10)
    )
    dovecot.deliver(dovecot_user[0], message(1))

    with pytest.raises(TransportError) as caught:
        transport.fetch_new({})

    assert caught.value.stage == "imap-fetch"
    assert "over the limit of 10" in caught.value.text


def test_stopped_server_is_a_tcp_failure_until_it_starts_again(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    transport = ImapTransport(endpoint(dovecot, dovecot_user))

    dovecot.stop()
    try:
        with pytest.raises(TransportError) as caught:
            transport.check()
    finally:
        dovecot.start()
    transport.check()

    assert caught.value.stage == "tcp"
