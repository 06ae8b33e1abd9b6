"""Run one processing pass over the due mailboxes, synchronously."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from mailboxes.processing import due_mailboxes, process_mailbox


class Command(BaseCommand):
    help = "Process every due mailbox once, here and now, printing a line each."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="One pass over the due mailboxes (the only mode for now).",
        )
        parser.add_argument(
            "--all",
            action="store_true",
            help="Also process mailboxes that are not due yet.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"]:
            from mailboxes.models import Mailbox

            ids = list(Mailbox.objects.order_by("pk").values_list("pk", flat=True))
        else:
            ids = list(due_mailboxes().values_list("pk", flat=True))
        if not ids:
            self.stdout.write("No mailbox is due.")
        for mailbox_id in ids:
            self.stdout.write(process_mailbox(mailbox_id, worker="manage.py").line())
