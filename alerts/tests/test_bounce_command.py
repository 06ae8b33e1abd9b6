"""Tests of the parse_bounce management command."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from alerts.tests.test_bounce_reader import DSN, PLAIN


def test_prints_one_json_line_per_file_and_carries_on(tmp_path: Path) -> None:
    bounce = tmp_path / "bounce.eml"
    bounce.write_bytes(DSN)
    plain = tmp_path / "plain.eml"
    plain.write_bytes(PLAIN)
    missing = tmp_path / "missing.eml"
    out = StringIO()

    with pytest.raises(CommandError, match="1 file"):
        call_command("parse_bounce", str(bounce), str(missing), str(plain), stdout=out)

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["file"] for line in lines] == [str(bounce), str(missing), str(plain)]
    assert lines[0]["is_bounce"] is True and lines[0]["kind"] == "dsn"
    assert lines[0]["recipients"][0]["status"] == "5.1.1"
    assert "error" in lines[1]
    assert lines[2]["is_bounce"] is False
