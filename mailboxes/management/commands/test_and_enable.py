"""Run Test & Enable of one mailbox now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mailboxes.models import Mailbox
from mailboxes.processing import run_test_and_enable


class Command(BaseCommand):
    help = "Test the servers of a mailbox now; on success resume its processing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("address", help="The mailbox's address.")

    def handle(self, *args: Any, address: str, **options: Any) -> None:
        mailbox = Mailbox.objects.filter(address__iexact=address).first()
        if mailbox is None:
            raise CommandError(f"No mailbox has the address {address!r}.")
        outcome = run_test_and_enable(mailbox, None)
        for line in outcome.lines():
            self.stdout.write(line)
        if not outcome.passed:
            raise CommandError("Test & Enable failed; the mailbox stays as it was.")
        self.stdout.write(self.style.SUCCESS("Passed: processing resumes."))
