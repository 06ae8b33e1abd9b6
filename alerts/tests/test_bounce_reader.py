"""Unit tests of the bounce reader on small synthetic messages."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.bounces import BounceReport, read_bounce

DSN = b"""\
From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: alerts@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="BOUND"

--BOUND
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--BOUND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Tue, 1 Dec 2026 10:00:00 +0000

Final-Recipient: rfc822; gone@example.com
Original-Recipient: rfc822;Gone@example.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 550 5.1.1 <gone@example.com>: Recipient address
    rejected: User unknown in virtual mailbox table
Last-Attempt-Date: Tue, 1 Dec 2026 10:00:01 +0000

Final-Recipient: rfc822; slow@example.com
Action: delayed
Status: 4.4.1
Diagnostic-Code: smtp; 421 4.4.1 Connection timed out
Will-Retry-Until: Fri, 4 Dec 2026 10:00:00 +0000

--BOUND
Content-Type: message/rfc822

Message-ID: <alert-42@alertcenter.example.org>
From: alerts@example.org
To: gone@example.com, slow@example.com
Subject: Disk nearly full
X-Alertcenter-Id: 42

Body.

--BOUND--
"""

QMAIL = b"""\
From: MAILER-DAEMON@mx4.example.jp
To: alerts@example.org
Subject: failure notice

Hi. This is the qmail-send program at mx4.example.jp.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<full@example.ne.jp>:
192.0.2.1 does not like recipient.
Remote host said: 552 5.2.2 Mailbox full
Giving up on 192.0.2.1.

--- Below this line is a copy of the message.

Message-ID: <pasted-7@alertcenter.example.org>
From: alerts@example.org
To: full@example.ne.jp
Subject: Hello

Hello
"""

EXIM = b"""\
From: Mail Delivery System <Mailer-Daemon@mx.example.org>
To: alerts@example.org
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: one@example.jp, two@example.jp

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  one@example.jp
    SMTP error from remote mail server after RCPT TO:<one@example.jp>:
    host mx.example.jp [192.0.2.153]: 550 5.1.1 <one@example.jp>... User Unknown
  two@example.jp
    SMTP error from remote mail server after RCPT TO:<two@example.jp>:
    host mx.example.jp [192.0.2.153]: 552 Mailbox quota exceeded

------ This is a copy of the message, including all the headers. ------

Message-Id: <exim-1@alertcenter.example.org>
From: alerts@example.org
Subject: test
"""

ARF = b"""\
From: abuse@isp.example
To: alerts@example.org
Subject: complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="B"

--B
Content-Type: text/plain

This is an abuse report.
--B
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: test/1.0
Version: 1
Original-Rcpt-To: <reader@isp.example>

--B
Content-Type: text/rfc822-headers

Message-ID: <sent-9@alertcenter.example.org>
From: alerts@example.org
To: reader@isp.example

--B--
"""

AUTO_REPLY = b"""\
From: person@example.com
To: alerts@example.org
Subject: Automatic reply: Disk nearly full
Auto-Submitted: auto-replied
In-Reply-To: <alert-42@alertcenter.example.org>

I am out of the office until Monday.
"""

PLAIN = b"""\
From: friend@example.com
To: alerts@example.org
Subject: lunch?
Message-ID: <x@example.com>

Shall we have lunch? No error here.
"""


def test_dsn_recipients_in_order_with_fields() -> None:
    report = read_bounce(DSN)

    assert report.is_bounce and report.kind == "dsn"
    assert report.original_message_id == "<alert-42@alertcenter.example.org>"
    assert report.correlation["x-alertcenter-id"] == "42"
    assert report.correlation["subject"] == "Disk nearly full"
    first, second = report.recipients
    assert first.recipient == "gone@example.com"
    assert first.original_recipient == "gone@example.com"
    assert (first.action, first.status, first.reply_code) == ("failed", "5.1.1", 550)
    assert "virtual mailbox table" in first.diagnostic  # the folded line is kept
    assert first.remote_mta == "mx.example.com"
    assert first.status_inferred is False
    assert first.reason == "user_unknown"
    assert first.persistence == "permanent"
    assert second.action == "delayed" and second.persistence == "transient"
    assert second.will_retry_until == "Fri, 4 Dec 2026 10:00:00 +0000"


def test_dsn_groups_without_blank_line_are_split() -> None:
    data = DSN.replace(
        b"+0000\n\nFinal-Recipient: rfc822; slow",
        b"+0000\nFinal-Recipient: rfc822; slow",
    )

    report = read_bounce(data)

    assert [r.recipient for r in report.recipients] == [
        "gone@example.com",
        "slow@example.com",
    ]


def test_global_delivery_status_is_read() -> None:
    data = DSN.replace(b"message/delivery-status", b"message/global-delivery-status")

    report = read_bounce(data)

    assert report.kind == "dsn"
    assert [r.status for r in report.recipients] == ["5.1.1", "4.4.1"]


def test_qmail_text_bounce() -> None:
    report = read_bounce(QMAIL)

    assert report.is_bounce and report.kind == "non-standard"
    assert report.original_message_id == "<pasted-7@alertcenter.example.org>"
    (recipient,) = report.recipients
    assert recipient.recipient == "full@example.ne.jp"
    assert (recipient.status, recipient.reply_code) == ("5.2.2", 552)
    assert recipient.status_inferred is True
    assert recipient.reason == "mailbox_full"


def test_exim_text_bounce_two_recipients() -> None:
    report = read_bounce(EXIM)

    assert [r.recipient for r in report.recipients] == [
        "one@example.jp",
        "two@example.jp",
    ]
    assert report.recipients[0].status == "5.1.1"
    assert report.recipients[1].status == "5.0.0"  # derived from the 552
    assert report.recipients[1].reply_code == 552
    assert report.recipients[1].reason == "mailbox_full"
    assert report.original_message_id == "<exim-1@alertcenter.example.org>"


def test_arf_is_recognised_but_not_a_bounce() -> None:
    report = read_bounce(ARF)

    assert (report.is_bounce, report.kind) == (False, "arf")
    assert report.feedback_type == "abuse"
    assert report.original_message_id == "<sent-9@alertcenter.example.org>"
    assert [r.recipient for r in report.recipients] == ["reader@isp.example"]


def test_auto_reply_is_not_a_bounce() -> None:
    report = read_bounce(AUTO_REPLY)

    assert (report.is_bounce, report.kind) == (False, "auto-reply")


def test_plain_mail_is_not_a_bounce() -> None:
    report = read_bounce(PLAIN)

    assert (report.is_bounce, report.kind) == (False, "not-bounce")
    assert report.recipients == []


def test_crlf_and_cr_only_line_endings_read_alike() -> None:
    expected = read_bounce(DSN).as_dict()

    assert read_bounce(DSN.replace(b"\n", b"\r\n")).as_dict() == expected
    assert read_bounce(DSN.replace(b"\n", b"\r")).as_dict() == expected


def test_broken_boundary_still_finds_text_recipient() -> None:
    data = DSN.replace(b'boundary="BOUND"', b'boundary="OTHER"')

    report = read_bounce(data)

    assert report.is_bounce
    assert report.error is None


def test_unknown_charset_and_8bit_headers() -> None:
    data = QMAIL.replace(
        b"Subject: failure notice",
        b"Subject: \xe9chec de remise \xff\n"
        b"Content-Type: text/plain; charset=x-nonsense",
    )

    report = read_bounce(data)

    assert report.is_bounce
    assert report.recipients[0].recipient == "full@example.ne.jp"
    assert "chec de remise" in report.subject


def test_truncated_message_gives_an_answer() -> None:
    for cut in (0, 10, 200, 700, len(DSN) - 30):
        report = read_bounce(DSN[:cut])
        assert isinstance(report, BounceReport)
        assert report.kind in ("dsn", "non-standard", "arf", "auto-reply", "not-bounce")


def test_as_dict_has_the_documented_keys() -> None:
    data = read_bounce(DSN).as_dict()

    assert {"is_bounce", "kind", "original_message_id", "recipients"} <= data.keys()
    keys = {"recipient", "action", "status", "reply_code", "diagnostic", "reason"}
    assert keys | {"persistence", "scope"} <= data["recipients"][0].keys()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_never_raise(data: bytes) -> None:
    report = read_bounce(data)

    assert isinstance(report, BounceReport)
    report.as_dict()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=0, max_value=len(DSN)))
def test_mangled_dsn_never_raises(noise: bytes, position: int) -> None:
    report = read_bounce(DSN[:position] + noise + DSN[position:])

    assert isinstance(report, BounceReport)
