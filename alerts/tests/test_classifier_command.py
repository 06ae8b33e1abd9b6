"""manage.py classify: one text, or JSON lines in and out."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from alerts.classifier import CLASSIFIER_VERSION

KEYS = {
    "persistence",
    "scope",
    "level",
    "reason",
    "status",
    "explanation",
    "action",
    "classifier_version",
}


def run(*args: str, stdin: str | None = None) -> list[str]:
    out = io.StringIO()
    if stdin is None:
        call_command("classify", *args, stdout=out)
    else:
        import sys

        saved, sys.stdin = sys.stdin, io.StringIO(stdin)
        try:
            call_command("classify", *args, stdout=out)
        finally:
            sys.stdin = saved
    return out.getvalue().splitlines()


def test_one_text_prints_one_json_object() -> None:
    lines = run(
        "--stage",
        "smtp-send",
        "550 5.1.1 <user@example.com>: Recipient address rejected",
    )

    assert len(lines) == 1
    answer = json.loads(lines[0])
    assert KEYS <= answer.keys()
    assert (answer["persistence"], answer["scope"], answer["reason"]) == (
        "permanent",
        "email",
        "user_unknown",
    )
    assert answer["classifier_version"] == CLASSIFIER_VERSION


def test_given_codes_are_passed_on() -> None:
    answer = json.loads(
        run("--stage", "smtp-send", "--reply-code", "452", "--status", "4.2.2", "x")[0]
    )

    assert (answer["reply_code"], answer["status"]) == (452, "4.2.2")


def test_jsonl_answers_every_line_in_order_and_reports_bad_ones(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps(
                    {"stage": "dns", "text": "[Errno -2] Name or service not known"}
                ),
                "{not json",
                json.dumps(["a list"]),
                json.dumps({"stage": "smtp-send", "text": 5}),
                "",
                json.dumps(
                    {
                        "id": "x-1",
                        "stage": "smtp-send",
                        "text": "boom",
                        "reply_code": 554,
                        "status": "5.7.1",
                        "exception": "SMTPDataError",
                    }
                ),
            ]
        ),
        encoding="utf-8",
    )

    answers = [json.loads(line) for line in run("--jsonl", str(source))]

    assert len(answers) == 5
    assert answers[0]["reason"] == "host_unknown"
    assert KEYS <= answers[0].keys()
    assert [("error" in answer) for answer in answers] == [
        False,
        True,
        True,
        True,
        False,
    ]
    assert answers[4]["id"] == "x-1"
    assert (answers[4]["reply_code"], answers[4]["status"]) == (554, "5.7.1")


def test_jsonl_reads_standard_input() -> None:
    lines = run("--jsonl", "-", stdin='{"stage": "tcp", "text": "connect ETIMEDOUT"}\n')

    assert json.loads(lines[0])["reason"] == "timeout"


def test_missing_input_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        run()
    with pytest.raises(CommandError):
        run("--jsonl", str(tmp_path / "absent.jsonl"))
