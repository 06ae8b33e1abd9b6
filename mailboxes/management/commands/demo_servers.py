"""Run the demo's local mail servers until stopped (``make run`` starts it).

aiosmtpd servers on fixed loopback ports answer with the real failure replies
of real servers, and, when Dovecot is installed, a private Dovecot serves an
IMAP/POP3 mailbox that works and one whose demo password is wrong. The server
code is shared with the test suite (mailboxes/testservers.py).
"""

from __future__ import annotations

import hashlib
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

HOST = "127.0.0.1"
SMTP_PORT = 2525  # AUTH, scripted recipient failures
BLOCKED_SMTP_PORT = 2526  # refuses the sender: block list
UNTRUSTED_TLS_PORT = 2527  # implicit TLS with a self-signed certificate
REFUSED_PORT = 2529  # nothing listens here
IMAP_PORT, IMAPS_PORT, POP3_PORT, POP3S_PORT = 2143, 2993, 2110, 2995

GOOD_USER, GOOD_PASSWORD = "demo-good", "demo-good-pass"
LOCKED_USER, LOCKED_PASSWORD = "demo-locked", "demo-locked-real-pass"

RECIPIENT_REPLIES = {
    "unknown@remote.example": "550 5.1.1 <unknown@remote.example>: Recipient "
    "address rejected: User unknown in virtual mailbox table",
    "full@remote.example": "452 4.2.2 <full@remote.example>: Mailbox full, "
    "try again later",
    "overquota@remote.example": "552 5.2.2 <overquota@remote.example>: "
    "Mailbox full: quota exceeded",
    "greylisted@remote.example": "451 4.7.1 <greylisted@remote.example>: "
    "Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/",
}
BLOCKED_REPLY = (
    "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using "
    "zen.spamhaus.org"
)
BOUNCED_MESSAGE_ID = "<demo-bounced-1@alertcenter.demo>"


def demo_folder() -> Path:
    return Path(settings.VAR_DIR) / "demo-servers"


def dovecot_home() -> Path:
    """Return where the demo Dovecot lives: under the system's temporary
    folder, because Dovecot's unprivileged users must reach it and the
    project folder may sit below a private one (mode 0700)."""
    tag = hashlib.sha1(str(settings.VAR_DIR).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"alertcenter-demo-{tag}" / "dovecot"


class Command(BaseCommand):
    help = "Run the demo's local SMTP (and Dovecot) servers until stopped."

    def handle(self, *args: Any, **options: Any) -> None:
        from mailboxes.testservers import (
            DovecotServer,
            SmtpReplies,
            dovecot_binary,
            make_certificates,
            start_smtp_server,
        )

        folder = demo_folder()
        certificates = make_certificates(folder / "certs")
        stops = [
            start_smtp_server(
                SmtpReplies(rcpt=dict(RECIPIENT_REPLIES)),
                port=SMTP_PORT,
                users={GOOD_USER: GOOD_PASSWORD, LOCKED_USER: LOCKED_PASSWORD},
                hostname="smtp.demo.local",
            ).stop,
            start_smtp_server(
                SmtpReplies(mail_from=BLOCKED_REPLY),
                port=BLOCKED_SMTP_PORT,
                hostname="relay.demo.local",
            ).stop,
            start_smtp_server(
                port=UNTRUSTED_TLS_PORT,
                security="tls",
                certificates=certificates,
                trusted=False,
                hostname="tls.demo.local",
            ).stop,
        ]
        self.stdout.write(
            f"demo SMTP servers on {HOST}:{SMTP_PORT}, {BLOCKED_SMTP_PORT}, "
            f"{UNTRUSTED_TLS_PORT}"
        )
        if dovecot_binary():
            home = dovecot_home()
            home.parent.mkdir(mode=0o755, exist_ok=True)
            shutil.rmtree(home / "run", ignore_errors=True)
            dovecot = DovecotServer(
                home,
                {GOOD_USER: GOOD_PASSWORD, LOCKED_USER: LOCKED_PASSWORD},
                certificates,
            )
            dovecot.imap, dovecot.imaps = IMAP_PORT, IMAPS_PORT
            dovecot.pop3, dovecot.pop3s = POP3_PORT, POP3S_PORT
            dovecot.start()
            stops.append(dovecot.stop)
            _fill_inbox(dovecot)
            self.stdout.write(f"demo Dovecot: IMAP {IMAP_PORT}, POP3 {POP3_PORT}")
        else:
            self.stdout.write("Dovecot is not installed: no demo IMAP/POP3 mailbox")

        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        signal.signal(signal.SIGINT, lambda *_: stopped.set())
        stopped.wait()
        for stop in reversed(stops):
            stop()


def _fill_inbox(dovecot: Any) -> None:
    """Drop a welcome message and a bounce into the working mailbox, once."""
    maildir = dovecot.maildir(GOOD_USER)
    if any((maildir / "new").iterdir()) or any((maildir / "cur").iterdir()):
        return
    dovecot.deliver(
        GOOD_USER,
        b"From: Alice <alice@remote.example>\r\nTo: good@demo.example\r\n"
        b"Subject: Welcome to the demo\r\n"
        b"Message-ID: <demo-welcome@remote.example>\r\n\r\nHello!\r\n",
    )
    dovecot.deliver(GOOD_USER, _bounce())


def _bounce() -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.remote.example>\r\n"
        "To: good@demo.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <demo-dsn-1@mx.remote.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"'
        "\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        "Your message could not be delivered.\r\n\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.remote.example\r\n\r\n"
        "Final-Recipient: rfc822; left-the-company@remote.example\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <left-the-company@remote.example>: "
        "Recipient address rejected: User unknown\r\n\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "From: good@demo.example\r\nTo: left-the-company@remote.example\r\n"
        f"Subject: Quarterly report\r\nMessage-ID: {BOUNCED_MESSAGE_ID}\r\n\r\n"
        "--b--\r\n"
    ).encode()
