"""Test a server profile now, and optionally every mailbox of it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailboxes.processing import run_profile_test
from serverprofiles.models import ServerProfile


class Command(BaseCommand):
    help = "Test the servers of a profile now; on success resume its processing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The profile's name.")
        parser.add_argument(
            "--all-mailboxes",
            action="store_true",
            help="Also run Test & Enable on every mailbox of the profile.",
        )

    def handle(self, *args: Any, name: str, all_mailboxes: bool, **kw: Any) -> None:
        profile = ServerProfile.objects.filter(name=name).first()
        if profile is None:
            raise CommandError(f"No server profile is named {name!r}.")
        outcome = run_profile_test(profile, None, all_mailboxes)
        for line in outcome.lines():
            self.stdout.write(line)
        if not outcome.passed:
            raise CommandError("The profile test failed.")
        failed = [box.target for box in outcome.mailboxes if not box.passed]
        if failed:
            raise CommandError(
                f"The profile passed; {len(failed)} mailbox(es) failed: "
                + ", ".join(failed)
            )
        self.stdout.write(self.style.SUCCESS("Passed."))
