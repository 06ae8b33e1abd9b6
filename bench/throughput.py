"""Classifier and bounce reader throughput, the bounce reader beside the
Debian-packaged Sisimai (libsisimai-perl) on the same messages."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bench.report import Row, Table

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared/corpus/bounces"
CLASSIFIER_TARGET = 50_000.0
# Reads every message the way bench_bounces does (all .eml files, three
# rounds) and prints messages per second of Sisimai->make on one core.
SISIMAI = r"""
use strict; use warnings; use Sisimai; use Time::HiRes qw(time);
my @files = map { chomp; $_ } <STDIN>;
my ($count, $found) = (0, 0);
my $started = time;
for my $round (1 .. 3) {
    for my $path (@files) {
        my $data = Sisimai->make($path, 'delivered' => 1);
        $found += scalar @$data if $data;
        $count++;
    }
}
my $elapsed = time - $started;
printf "%d %.6f %d\n", $count, $elapsed, $found;
"""


def classifier_rows(table: Table) -> None:
    from bench import bench_classifier

    mix = bench_classifier.failures()
    stream = bench_classifier.rate(bench_classifier.classify, mix, 2.0)
    first = bench_classifier.rate(bench_classifier.first_sight, mix, 2.0)
    table.add(
        Row(
            "classifier, a stream of recurring failures",
            "failures/s",
            stream,
            "",
            None,
            None,
            f">= {CLASSIFIER_TARGET:,.0f}/s",
            stream >= CLASSIFIER_TARGET,
            f"bench_classifier.rate over {len(mix)} failures, one process",
        )
    )
    table.add(
        Row(
            "classifier, every failure new (no memory)",
            "failures/s",
            first,
            note="bench_classifier.first_sight",
        )
    )


def bounce_rows(table: Table) -> None:
    if not CORPUS.exists():
        table.add(Row("bounce reader", "messages/s", None, note=f"{CORPUS} absent"))
        return
    from bench import bench_bounces

    output = io.StringIO()
    saved = sys.argv
    sys.argv = ["bench_bounces.py", str(CORPUS)]
    try:
        with contextlib.redirect_stdout(output):
            bench_bounces.main()
    finally:
        sys.argv = saved
    match = re.search(r"([\d,]+) messages/s", output.getvalue())
    ours = float(match.group(1).replace(",", "")) if match else None
    peer, note = sisimai_rate()
    table.add(
        Row(
            "bounce reader, corpus messages",
            "messages/s",
            ours,
            "Sisimai (libsisimai-perl)",
            peer,
            ours / peer if ours and peer else None,
            "",
            None,
            note,
        )
    )


def sisimai_rate() -> tuple[float | None, str]:
    """Return Sisimai's messages per second on the same files, and a note."""
    if shutil.which("perl") is None:
        return None, "perl is not installed"
    probe = subprocess.run(
        ["perl", "-MSisimai", "-e", "print $Sisimai::VERSION"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return None, "Sisimai is not installed (apt-get install libsisimai-perl)"
    files = sorted(CORPUS.glob("**/*.eml"))
    done = subprocess.run(
        ["perl", "-e", SISIMAI],
        input="\n".join(str(path) for path in files) + "\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        return None, f"Sisimai failed: {done.stderr[-200:]}"
    count, elapsed, found = done.stdout.split()
    return (
        int(count) / float(elapsed),
        f"same {len(files)} .eml files x 3 rounds, one core each; Sisimai "
        f"{probe.stdout.strip()} found {int(found) // 3} bounce records per round",
    )


def measure(table: Table) -> None:
    classifier_rows(table)
    bounce_rows(table)
