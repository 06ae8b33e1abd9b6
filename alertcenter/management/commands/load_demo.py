"""Create the demo users, profiles, mailboxes and emails, then process them
once against the demo servers (``manage.py demo_servers``) so that the wall
shows alerts from real protocol sessions. Idempotent."""

from __future__ import annotations

import socket
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser

from alertcenter.access import ADMINS_GROUP, OPS_GROUP
from mailboxes.choices import Direction, EmailStatus
from mailboxes.management.commands import demo_servers as demo
from mailboxes.models import Email, Mailbox
from serverprofiles.models import ServerProfile

DEMO_USERS = [
    ("admin", "admin-demo-pass", ADMINS_GROUP, True),
    ("ops", "ops-demo-pass", OPS_GROUP, False),
    ("owner", "owner-demo-pass", None, False),
]

DEMO_TIMEOUT = 4
DEMO_POLLING = 60

# name: (incoming host, incoming port, outgoing host, outgoing port, security
# of the outgoing side)
PROFILES = {
    "Demo mail (local)": (demo.HOST, demo.IMAP_PORT, demo.HOST, demo.SMTP_PORT, "none"),
    "Demo relay on a block list": ("", 143, demo.HOST, demo.BLOCKED_SMTP_PORT, "none"),
    "Demo unknown host": ("mail.demo.invalid", 993, "mail.demo.invalid", 587, "none"),
    "Demo refused port": (
        demo.HOST,
        demo.REFUSED_PORT,
        demo.HOST,
        demo.REFUSED_PORT,
        "none",
    ),
    "Demo untrusted certificate": ("", 143, demo.HOST, demo.UNTRUSTED_TLS_PORT, "tls"),
}

# address: (profile, user name, password, incoming on, pending recipients)
MAILBOXES = {
    "good@demo.example": (
        "Demo mail (local)",
        demo.GOOD_USER,
        demo.GOOD_PASSWORD,
        True,
        [
            "colleague@remote.example",
            *demo.RECIPIENT_REPLIES,
        ],
    ),
    "locked@demo.example": (
        "Demo mail (local)",
        demo.LOCKED_USER,
        "an-old-password",
        True,
        ["colleague@remote.example"],
    ),
    "newsletter@demo.example": (
        "Demo relay on a block list",
        "",
        "",
        False,
        ["subscriber@remote.example"],
    ),
    "sales@demo.example": ("Demo unknown host", "sales", "demo", True, []),
    "support@demo.example": ("Demo refused port", "support", "demo", True, []),
    "billing@demo.example": (
        "Demo untrusted certificate",
        "",
        "",
        False,
        ["customer@remote.example"],
    ),
}


class Command(BaseCommand):
    help = "Create the demo data (idempotent) and process it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-process",
            action="store_true",
            help="Only create the data; the scheduler processes it later.",
        )

    def handle(self, *args: Any, no_process: bool = False, **options: Any) -> None:
        users = self._users()
        mailboxes = self._mail(users["admin"], users["owner"])
        self.stdout.write("Demo logins (user / password):")
        for username, password, _group, _superuser in DEMO_USERS:
            self.stdout.write(f"  {username} / {password}")
        if no_process:
            return
        if not _answers(demo.HOST, demo.SMTP_PORT):
            self.stdout.write(
                "The demo servers do not answer (manage.py demo_servers); "
                "the scheduler will process the demo mailboxes once they do."
            )
            return
        self._process(mailboxes)

    def _users(self) -> dict[str, User]:
        users = {}
        for username, password, group, superuser in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            if created:
                user.set_password(password)
                user.is_staff = superuser
                user.is_superuser = superuser
                user.save()
            if group:
                user.groups.add(Group.objects.get_or_create(name=group)[0])
            users[username] = user
        return users

    def _mail(self, admin: User, owner: User) -> list[Mailbox]:
        from mailboxes.testservers import dovecot_binary

        has_dovecot = dovecot_binary() is not None
        profiles = {}
        for name, (in_host, in_port, out_host, out_port, out_sec) in PROFILES.items():
            profiles[name], _ = ServerProfile.objects.update_or_create(
                name=name,
                defaults={
                    "owner": admin,
                    "incoming_protocol": "imap",
                    "incoming_host": in_host,
                    "incoming_port": in_port,
                    "incoming_security": "none",
                    "outgoing_host": out_host,
                    "outgoing_port": out_port,
                    "outgoing_security": out_sec,
                    "timeout_seconds": DEMO_TIMEOUT,
                    "polling_interval_seconds": DEMO_POLLING,
                },
            )
        mailboxes = []
        for address, (
            profile,
            username,
            password,
            incoming,
            pending,
        ) in MAILBOXES.items():
            local = profile == "Demo mail (local)"
            mailbox, created = Mailbox.objects.get_or_create(
                address=address,
                defaults={
                    "owner": owner,
                    "profile": profiles[profile],
                    "username": username,
                    "password": password,
                    "incoming_enabled": incoming and (has_dovecot or not local),
                },
            )
            mailboxes.append(mailbox)
            for n, recipient in enumerate(pending):
                Email.objects.get_or_create(
                    mailbox=mailbox,
                    message_id=f"<demo-{mailbox.pk}-{n}@alertcenter.demo>",
                    defaults={
                        "direction": Direction.OUTGOING,
                        "status": EmailStatus.PENDING_SEND,
                        "sender": address,
                        "recipients": [recipient],
                        "subject": f"Demo message to {recipient}",
                    },
                )
            if address == "good@demo.example":
                Email.objects.get_or_create(
                    mailbox=mailbox,
                    message_id=demo.BOUNCED_MESSAGE_ID,
                    defaults={
                        "direction": Direction.OUTGOING,
                        "status": EmailStatus.SENT,
                        "sender": address,
                        "recipients": ["left-the-company@remote.example"],
                        "subject": "Quarterly report",
                    },
                )
        return mailboxes

    def _process(self, mailboxes: list[Mailbox]) -> None:
        from mailboxes.processing import process_mailbox, run_test_and_enable

        good = next(m for m in mailboxes if m.address == "good@demo.example")
        for line in run_test_and_enable(good, None).lines():
            self.stdout.write(line)
        for mailbox in mailboxes:
            self.stdout.write(process_mailbox(mailbox.pk, worker="load_demo").line())


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
