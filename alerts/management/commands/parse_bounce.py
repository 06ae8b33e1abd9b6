"""Print what the bounce reader makes of each given message file."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alerts.bounces import read_bounce


class Command(BaseCommand):
    help = "Read bounce messages and print one JSON object per file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", help="message files (.eml)")

    def handle(self, *args: Any, **options: Any) -> None:
        unreadable = 0
        for name in options["files"]:
            try:
                with open(name, "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                unreadable += 1
                line: dict[str, Any] = {"file": name, "error": str(exc)}
            else:
                report = read_bounce(data).as_dict()
                line = {"file": name, **report}
            self.stdout.write(json.dumps(line, ensure_ascii=False))
        if unreadable:
            # Every file still got its line; the exit status tells scripts.
            raise CommandError(f"{unreadable} file(s) could not be read")
