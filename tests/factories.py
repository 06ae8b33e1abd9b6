"""Plain factories for test data: each returns a saved object."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth.models import Group, User

from alertcenter.access import ADMINS_GROUP, OPS_GROUP
from mailboxes.choices import Direction, EmailStatus
from mailboxes.models import Email, Mailbox
from serverprofiles.models import ServerProfile

_seq = itertools.count(1)


def make_user(username: str | None = None, role: str | None = None, **kw: Any) -> User:
    """Return a user; role "admin" or "ops" puts them in that group."""
    username = username or f"user{next(_seq)}"
    kw.setdefault("email", f"{username}@example.com")
    user = User.objects.create_user(username, password="pw-" + username, **kw)
    if role == "admin":
        user.groups.add(Group.objects.get_or_create(name=ADMINS_GROUP)[0])
    elif role == "ops":
        user.groups.add(Group.objects.get_or_create(name=OPS_GROUP)[0])
    return user


def make_profile(owner: User | None = None, **kw: Any) -> ServerProfile:
    n = next(_seq)
    fields: dict[str, Any] = {
        "name": f"profile-{n}",
        "incoming_host": "127.0.0.1",
        "outgoing_host": "127.0.0.1",
    }
    fields.update(kw)
    return ServerProfile.objects.create(owner=owner or make_user(), **fields)


def make_mailbox(
    owner: User | None = None, profile: ServerProfile | None = None, **kw: Any
) -> Mailbox:
    n = next(_seq)
    fields: dict[str, Any] = {"address": f"box{n}@example.com", "password": "secret"}
    fields.update(kw)
    return Mailbox.objects.create(
        owner=owner or make_user(), profile=profile or make_profile(), **fields
    )


def make_email(mailbox: Mailbox | None = None, **kw: Any) -> Email:
    n = next(_seq)
    fields: dict[str, Any] = {
        "direction": Direction.OUTGOING,
        "status": EmailStatus.PENDING_SEND,
        "message_id": f"<msg{n}@example.com>",
        "sender": "sender@example.com",
        "recipients": ["rcpt@example.com"],
        "subject": f"Test message {n}",
    }
    fields.update(kw)
    return Email.objects.create(mailbox=mailbox or make_mailbox(), **fields)
