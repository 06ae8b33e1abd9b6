"""Pop3Transport against a real Dovecot and against misbehaving servers."""

from __future__ import annotations

import time
from typing import Any

import pytest

from mailboxes.testservers import DovecotServer
from mailboxes.transports import (
    Limits,
    Pop3Transport,
    ServerEndpoint,
    TransportError,
    transport_for,
)

pytestmark = pytest.mark.mailserver


def endpoint(
    dovecot: DovecotServer, user: tuple[str, str], security: str = "none", **extra: Any
) -> ServerEndpoint:
    return dovecot.endpoint("pop3", user, security, **extra)


def message(number: int, size: int = 0) -> bytes:
    body = b"x" * size + b"\r\n.leading dot\r\n"
    return (
        b"From: sender@example.com\r\nTo: rcpt@example.com\r\n"
        b"Subject: message %d\r\nMessage-ID: <pop-%d@example.com>\r\n\r\n%s"
        % (number, number, body)
    )


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_check_logs_in_with_each_security(
    dovecot: DovecotServer, dovecot_user: tuple[str, str], security: str
) -> None:
    Pop3Transport(endpoint(dovecot, dovecot_user, security)).check()


def test_wrong_password_fails_at_login_with_server_text(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    wrong = (dovecot_user[0], "not-the-password")

    with pytest.raises(TransportError) as caught:
        Pop3Transport(endpoint(dovecot, wrong)).check()

    error = caught.value
    assert error.stage == "pop3-login"
    assert error.text.startswith("-ERR [AUTH]")
    assert error.exception_name == "poplib.error_proto"
    assert error.to_failure().stage == "pop3-login"


def test_fetch_new_never_fetches_a_uidl_twice(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    transport = transport_for("pop3", endpoint(dovecot, dovecot_user))
    dovecot.deliver(dovecot_user[0], message(1))
    dovecot.deliver(dovecot_user[0], message(2))

    first = transport.fetch_new({})
    again = transport.fetch_new(first.state)
    dovecot.deliver(dovecot_user[0], message(3))
    third = transport.fetch_new(again.state)

    assert [m.message_id for m in first.messages] == [
        "<pop-1@example.com>",
        "<pop-2@example.com>",
    ]
    assert again.messages == []
    assert [m.message_id for m in third.messages] == ["<pop-3@example.com>"]
    assert len(third.state["seen_uids"]) == 3
    assert len({m.uid for m in first.messages + third.messages}) == 3


def test_fetched_message_keeps_its_bytes_and_undoes_dot_stuffing(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    dovecot.deliver(dovecot_user[0], message(1))

    result = Pop3Transport(endpoint(dovecot, dovecot_user, "tls")).fetch_new({})

    raw = result.messages[0].raw
    assert b"\r\nSubject: message 1\r\n" in raw
    assert b"\r\n.leading dot\r\n" in raw


def test_fetch_new_reads_in_bounded_batches(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    transport = Pop3Transport(endpoint(dovecot, dovecot_user))
    for number in (1, 2, 3):
        dovecot.deliver(dovecot_user[0], message(number))

    first = transport.fetch_new({}, limit=2)
    second = transport.fetch_new(first.state, limit=2)

    assert len(first.messages) == 2 and first.more
    assert len(second.messages) == 1 and not second.more
    assert {m.message_id for m in first.messages + second.messages} == {
        f"<pop-{n}@example.com>" for n in (1, 2, 3)
    }


def test_seen_uids_forget_messages_gone_from_the_server(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    transport = Pop3Transport(endpoint(dovecot, dovecot_user))
    dovecot.deliver(dovecot_user[0], message(1))

    result = transport.fetch_new({"seen_uids": ["deleted-long-ago"]})

    assert len(result.messages) == 1
    assert result.state["seen_uids"] == [result.messages[0].uid]


def test_message_over_size_limit_is_skipped_and_reported(
    dovecot: DovecotServer, dovecot_user: tuple[str, str]
) -> None:
    transport = Pop3Transport(
        endpoint(dovecot, dovecot_user), Limits(max_message_bytes=2000)
    )
    dovecot.deliver(dovecot_user[0], message(1, size=5000))
    dovecot.deliver(dovecot_user[0], message(2))

    result = transport.fetch_new({})

    assert [m.message_id for m in result.messages] == ["<pop-2@example.com>"]
    assert [e.stage for e in result.skipped] == ["pop3-fetch"]
    assert transport.fetch_new(result.state).skipped == []


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_certificate_that_does_not_verify_is_a_tls_failure(
    dovecot: DovecotServer, dovecot_user: tuple[str, str], security: str
) -> None:
    untrusting = endpoint(dovecot, dovecot_user, security, ca_file=None)

    with pytest.raises(TransportError) as caught:
        Pop3Transport(untrusting).check()

    assert caught.value.stage == "tls"
    assert caught.value.exception_name == "ssl.SSLCertVerificationError"


def test_name_that_does_not_resolve_is_a_dns_failure() -> None:
    nowhere = ServerEndpoint("nohost.invalid", 995, username="u", password="p")

    with pytest.raises(TransportError) as caught:
        Pop3Transport(nowhere).check()

    assert caught.value.stage == "dns"


def test_refused_port_is_a_tcp_failure(refused_port: int) -> None:
    closed = ServerEndpoint("127.0.0.1", refused_port, security="none")

    with pytest.raises(TransportError) as caught:
        Pop3Transport(closed).check()

    assert caught.value.stage == "tcp"


def test_silent_server_times_out_within_endpoint_timeout(raw_server: Any) -> None:
    server = raw_server("silent")
    silent = ServerEndpoint(server.host, server.port, security="none", timeout=0.5)

    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        Pop3Transport(silent).check()

    assert time.monotonic() - started < 3
    assert caught.value.stage == "pop3-connect"
    assert caught.value.exception_name == "TimeoutError"


def test_endless_line_fails_cleanly(raw_server: Any) -> None:
    server = raw_server("endless", prefix=b"+OK ")
    endless = ServerEndpoint(server.host, server.port, security="none", timeout=5)

    with pytest.raises(TransportError) as caught:
        Pop3Transport(endless, Limits(max_line_bytes=100_000)).check()

    assert caught.value.stage == "pop3-connect"
    assert "over 100000 bytes" in caught.value.text


def test_negative_greeting_is_a_connect_failure(raw_server: Any) -> None:
    server = raw_server("greeting", prefix=b"-ERR [SYS/TEMP] Server shutting down\r\n")
    refusing = ServerEndpoint(server.host, server.port, security="none", timeout=5)

    with pytest.raises(TransportError) as caught:
        Pop3Transport(refusing).check()

    assert caught.value.stage == "pop3-connect"
    assert "[SYS/TEMP]" in caught.value.text
