"""Create the demo users (and, through processing, the demo data)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

from alertcenter.access import ADMINS_GROUP, OPS_GROUP

DEMO_USERS = [
    ("admin", "admin-demo-pass", ADMINS_GROUP, True),
    ("ops", "ops-demo-pass", OPS_GROUP, False),
    ("owner", "owner-demo-pass", None, False),
]


class Command(BaseCommand):
    help = "Create the demo users (idempotent) and print their logins."

    def handle(self, *args: Any, **options: Any) -> None:
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
        self.stdout.write("Demo logins (user / password):")
        for username, password, _group, _superuser in DEMO_USERS:
            self.stdout.write(f"  {username} / {password}")
