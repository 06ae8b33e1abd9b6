"""Classify failure texts from the command line, one or many (JSON lines)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alerts.classifier import Failure, classify

MAX_LINE = 1_000_000


def _failure_from_record(record: Any) -> Failure:
    """Return a Failure built from one JSON object; raise ValueError if unfit."""
    if not isinstance(record, dict):
        raise ValueError("each line must be a JSON object")
    text = record.get("text", "")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ValueError("'text' must be a string")
    stage = record.get("stage") or "other"
    if not isinstance(stage, str):
        raise ValueError("'stage' must be a string")
    reply_code = record.get("reply_code")
    if reply_code is not None and (
        isinstance(reply_code, bool) or not isinstance(reply_code, int)
    ):
        raise ValueError("'reply_code' must be an integer")
    status = record.get("status")
    exception = record.get("exception")
    for name, value in (("status", status), ("exception", exception)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"'{name}' must be a string")
    return Failure(
        stage=stage,
        text=text,
        reply_code=reply_code,
        status=status,
        exception=exception,
    )


def classify_lines(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Yield one answer per non-blank input line, in order; never raise."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line) > MAX_LINE:
            yield {"line": number, "error": "line too long"}
            continue
        try:
            record = json.loads(line)
            failure = _failure_from_record(record)
        except (ValueError, RecursionError) as error:
            yield {"line": number, "error": str(error)[:200]}
            continue
        answer = classify(failure).as_dict()
        if isinstance(record.get("id"), str | int):
            answer = {"id": record["id"], **answer}
        yield answer


class Command(BaseCommand):
    help = (
        "Classify a failure text (persistence, scope, level, reason), or every"
        " JSON line of a file with --jsonl."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text", nargs="?", help="the failure text")
        parser.add_argument("--stage", default="other", help="e.g. smtp-send")
        parser.add_argument("--reply-code", type=int, default=None)
        parser.add_argument("--status", default=None, help="e.g. 5.1.1")
        parser.add_argument("--exception", default=None, help="e.g. socket.gaierror")
        parser.add_argument(
            "--jsonl",
            metavar="IN",
            help='read JSON lines ("text", "stage", ...) from a path, or "-" for'
            " standard input",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["jsonl"]:
            self._handle_jsonl(options["jsonl"])
            return
        if options["text"] is None:
            raise CommandError("give a failure text, or --jsonl IN")
        failure = Failure(
            stage=options["stage"],
            text=options["text"],
            reply_code=options["reply_code"],
            status=options["status"],
            exception=options["exception"],
        )
        self.stdout.write(json.dumps(classify(failure).as_dict(), ensure_ascii=False))

    def _handle_jsonl(self, source: str) -> None:
        if source == "-":
            self._write_all(sys.stdin)
            return
        try:
            with open(source, encoding="utf-8", errors="replace") as stream:
                self._write_all(stream)
        except OSError as error:
            raise CommandError(f"cannot read {source}: {error.strerror}") from error

    def _write_all(self, stream: TextIO) -> None:
        for answer in classify_lines(stream):
            self.stdout.write(json.dumps(answer, ensure_ascii=False))
