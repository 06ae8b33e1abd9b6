"""Ingestion end to end: POST /api/v1/failures to the API served by gunicorn
(as docker-compose.yml serves it), two Celery workers on Redis, every
failure stored, classified, grouped and written; beside it the raw insert
rate of PostgreSQL for the same rows (COPY)."""

from __future__ import annotations

import cProfile
import http.client
import io
import json
import os
import pstats
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.data import ADMIN_ID, ROOT, WORK_DB, database_url, pg_connect
from bench.env import BENCH_ENV, BROKER_URL
from bench.report import Row, Table

BATCHED = 10_000
BATCH_SIZE = 500
SINGLES = 1_000
NEW_SHARE = 0.1
TARGET_RATE = 2_000.0
WORKERS = 2
CONCURRENCY = 2
WEB_WORKERS = 2
WEB_PORT = 18931
# Processors report concurrently: this many clients post at once.
CLIENTS = 2
DRAIN_TIMEOUT = 240.0
PROFILED = 500  # 12 statements each stay under Django's 9,000 query log


def failure_mix(count: int, seed: int) -> list[dict[str, Any]]:
    """Return failures as an external processor reports them: most repeat an
    active alert (same mailbox, same server reply), the rest are new bounces
    of emails that have no alert yet."""
    from django.db import connection

    rng = random.Random(seed)
    repeats = count - int(count * NEW_SHARE)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.stage, a.detail, a.reply_code, a.status_code, m.address,
                   e.message_id
            FROM alerts_alert a
            JOIN mailboxes_mailbox m ON m.id = a.mailbox_id
            LEFT JOIN mailboxes_email e ON e.id = a.email_id
            WHERE a.state = 'active' AND a.kind = 'failure'
              AND a.id %% 31 = %s
            LIMIT %s
            """,
            [seed % 31, repeats],
        )
        active = cursor.fetchall()
        cursor.execute(
            """
            SELECT m.address, e.message_id FROM mailboxes_email e
            JOIN mailboxes_mailbox m ON m.id = e.mailbox_id
            WHERE e.status = 'sent' ORDER BY e.id DESC LIMIT %s OFFSET %s
            """,
            [count - repeats, seed * 7],
        )
        spare = cursor.fetchall()

    now = time.time()
    items = []
    for stage, detail, reply_code, status, address, message_id in active:
        item = {"stage": stage, "text": detail, "mailbox": address}
        if reply_code:
            item["reply_code"] = reply_code
        if status:
            item["status"] = status
        if message_id:
            item["email"] = message_id
        items.append(item)
    for n, (address, message_id) in enumerate(spare):
        rcpt = f"gone{seed}.{n}@example.org"
        items.append(
            {
                "stage": "smtp-send",
                "text": f"550 5.1.1 <{rcpt}>: Recipient address rejected: "
                "User unknown in virtual mailbox table",
                "reply_code": 550,
                "status": "5.1.1",
                "recipient": rcpt,
                "mailbox": address,
                "email": message_id,
            }
        )
    rng.shuffle(items)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + "Z"
    for item in items:
        item["occurred_at"] = stamp
    return items


# -- workers -------------------------------------------------------------------


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(BENCH_ENV)
    env["DATABASE_URL"] = database_url(WORK_DB)
    return env


def start_workers() -> list[subprocess.Popen[bytes]]:
    """Start the Celery workers and wait until both answer a ping."""
    import redis

    from alertcenter.celery import app

    redis.Redis.from_url(BROKER_URL).flushdb()
    celery = str(Path(ROOT, ".venv", "bin", "celery"))
    logs = Path("/tmp/alertcenter-bench-var")
    logs.mkdir(parents=True, exist_ok=True)
    workers = []
    for n in range(1, WORKERS + 1):
        log = (logs / f"worker{n}.log").open("wb")
        workers.append(
            subprocess.Popen(
                [
                    celery,
                    "-A",
                    "alertcenter",
                    "worker",
                    "-n",
                    f"bench{n}@%h",
                    "--concurrency",
                    str(CONCURRENCY),
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=ROOT,
                env=_worker_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1.0) or []) >= WORKERS:
            return workers
    raise RuntimeError("the Celery workers did not answer within a minute")


def start_web() -> subprocess.Popen[bytes]:
    """Serve the console with gunicorn and wait until it answers."""
    env = _worker_env()
    log = Path("/tmp/alertcenter-bench-var/web.log").open("wb")
    web = subprocess.Popen(
        [
            str(Path(ROOT, ".venv", "bin", "gunicorn")),
            "alertcenter.wsgi",
            "--bind",
            f"127.0.0.1:{WEB_PORT}",
            "--workers",
            str(WEB_WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", WEB_PORT, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return web
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within a minute")


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split()
        found += [int(child) for child in children]
    return found


def rss_mb(pid: int) -> float:
    """Return the resident memory of a process and its children, in MB."""
    total = 0
    for one in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


# -- sending -------------------------------------------------------------------


def api_token() -> str:
    from django.contrib.auth.models import User

    from alertcenter.api.auth import issue_token

    _token, raw = issue_token(User.objects.get(pk=ADMIN_ID), "bench")
    return raw


def api_client() -> Any:
    """Return a test Client (the API in this process) with a bearer token."""
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Bearer {api_token()}")


def post_http(token: str, items: list[dict[str, Any]], size: int) -> list[int]:
    """Post the failures to the served API in requests of `size`, from
    CLIENTS threads at once; return the stored ids."""
    bodies = [
        json.dumps(chunk if size > 1 else chunk[0]).encode()
        for chunk in chunks(items, size)
    ]
    answers: list[list[int]] = [[] for _ in bodies]
    failures: list[str] = []
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
    }

    def client(first: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", WEB_PORT, timeout=120)
        for index in range(first, len(bodies), CLIENTS):
            conn.request("POST", "/api/v1/failures", bodies[index], headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 202:
                failures.append(f"{response.status}: {body[:300]!r}")
                return
            answers[index] = json.loads(body)["ids"]

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"the API answered {failures[0]}")
    return [pk for ids in answers for pk in ids]


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def post_all(client: Any, items: list[dict[str, Any]], size: int) -> list[int]:
    """Post the failures in requests of `size`; return the stored ids."""
    ids: list[int] = []
    for chunk in chunks(items, size):
        body = chunk if size > 1 else chunk[0]
        response = client.post(
            "/api/v1/failures", json.dumps(body), content_type="application/json"
        )
        if response.status_code != 202:
            raise RuntimeError(
                f"the API answered {response.status_code}: {response.content[:300]!r}"
            )
        ids += response.json()["ids"]
    return ids


def wait_processed(ids: list[int]) -> float:
    """Wait until every record was processed; return when that happened."""
    from alerts.models import FailureRecord

    low, high = min(ids), max(ids)
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline:
        left = FailureRecord.objects.filter(
            pk__gte=low, pk__lte=high, processed_at__isnull=True
        ).count()
        if not left:
            return time.perf_counter()
        time.sleep(0.05)
    raise RuntimeError(f"{left} failures were still unprocessed after the timeout")


def end_to_end(
    token: str, items: list[dict[str, Any]], size: int
) -> tuple[float, float]:
    """Return (accepted per second, processed per second end to end)."""
    started = time.perf_counter()
    ids = post_http(token, items, size)
    accepted = time.perf_counter()
    finished = wait_processed(ids)
    return len(ids) / (accepted - started), len(ids) / (finished - started)


# -- the physical limit ----------------------------------------------------------


def copy_rate(items: list[dict[str, Any]]) -> float:
    """Return rows per second of COPY of the same failures into the failure
    table (one transaction, committed), the physical write limit here."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, lower(address) FROM mailboxes_mailbox")
        boxes = {address: pk for pk, address in cursor.fetchall()}
    buffer = io.StringIO()
    for item in items:
        fields = [
            "api",
            item["occurred_at"],
            item["occurred_at"],
            item["stage"],
            item["text"],
            str(item.get("reply_code") or "\\N"),
            item.get("status", ""),
            "",
            item.get("recipient", ""),
            str(boxes[item["mailbox"].lower()]),
            "{}",
        ]
        buffer.write("\t".join(field.replace("\t", " ") for field in fields) + "\n")
    columns = (
        "source, occurred_at, received_at, stage, text, reply_code, status, "
        "exception, recipient, mailbox_id, classification"
    )
    conn = pg_connect(WORK_DB)
    conn.autocommit = False
    try:
        with conn.cursor() as cursor:
            buffer.seek(0)
            started = time.perf_counter()
            cursor.copy_expert(
                f"COPY alerts_failurerecord ({columns}) FROM STDIN", buffer
            )
            conn.commit()
            elapsed = time.perf_counter() - started
            cursor.execute(
                "DELETE FROM alerts_failurerecord WHERE source = 'api' "
                "AND processed_at IS NULL AND submitted_by_id IS NULL"
            )
            conn.commit()
    finally:
        conn.close()
    return len(items) / elapsed


def _analyze_failures() -> None:
    conn = pg_connect(WORK_DB)
    with conn.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) alerts_failurerecord")
    conn.close()


# -- where the time goes ----------------------------------------------------------


def profile_funnel(items: list[dict[str, Any]], table: Table) -> None:
    """Run failures through the funnel in this process under cProfile and
    note the time and the queries per failure."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from alertcenter.api.intake import store_failures
    from alerts import funnel
    from alerts.models import FailureRecord
    from alerts.tasks import TASK_CHUNK

    client = api_client()
    ids = []
    with _no_queueing():
        ids = post_all(client, items, BATCH_SIZE)
    assert User.objects.filter(pk=ADMIN_ID).exists()
    profiler = cProfile.Profile()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        profiler.enable()
        # The same chunks the workers get from the API.
        for start in range(0, len(ids), TASK_CHUNK):
            funnel.process_failure_records(ids[start : start + TASK_CHUNK])
        profiler.disable()
        elapsed = time.perf_counter() - started
    left = FailureRecord.objects.filter(pk__in=ids, processed_at__isnull=True).count()
    per = elapsed / len(ids) * 1000
    sql = sum(float(q["time"]) for q in queries.captured_queries) / len(ids) * 1000
    stats = io.StringIO()
    pstats.Stats(profiler, stream=stats).sort_stats("tottime").print_stats(8)
    table.notes.append(
        f"Funnel profile (cProfile, in-process, one core, {len(ids)} failures of "
        f"the same mix, {left} left unprocessed): {per:.2f} ms per failure, of "
        f"which {sql:.2f} ms waiting on {len(queries.captured_queries) / len(ids):.1f}"
        " SQL statements per failure."
    )
    table.notes.append(
        "Top of the profile by own time:\n\n```\n"
        + "\n".join(_profile_lines(stats.getvalue()))
        + "\n```"
    )
    del store_failures


def _profile_lines(text: str) -> list[str]:
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith("ncalls"):
            return [f"  {row}" for row in lines[index : index + 9]]
    return lines[-9:]


class _no_queueing:
    """Store failures through the API without queueing their processing."""

    def __enter__(self) -> None:
        from alertcenter.api import intake

        self.original = intake.queue_processing
        intake.queue_processing = lambda record_ids: 0

    def __exit__(self, *exc: object) -> None:
        from alertcenter.api import intake

        intake.queue_processing = self.original


# -- the measurement ---------------------------------------------------------------


def measure(table: Table) -> None:
    token = api_token()
    batched = failure_mix(BATCHED, seed=1)
    singles = failure_mix(SINGLES, seed=2)
    profiled = failure_mix(PROFILED, seed=3)

    peer = copy_rate(batched)
    _analyze_failures()
    workers = start_workers()
    web = start_web()
    try:
        rss_start = rss_mb(workers[0].pid)
        accepted, batched_rate = end_to_end(token, batched, BATCH_SIZE)
        single_accepted, single_rate = end_to_end(token, singles, 1)
        rss_end = rss_mb(workers[0].pid)
    finally:
        stop_workers([*workers, web])

    setup = (
        f"gunicorn x {WEB_WORKERS}, {CLIENTS} clients posting at once; "
        f"{WORKERS} Celery workers x {CONCURRENCY} processes"
    )
    table.add(
        Row(
            f"ingestion end to end, batches of {BATCH_SIZE} "
            f"({len(batched):,} failures)",
            "failures/s",
            batched_rate,
            "PostgreSQL COPY, same rows",
            peer,
            batched_rate / peer,
            f">= {TARGET_RATE:,.0f}/s",
            batched_rate >= TARGET_RATE,
            f"{setup}; {1 - NEW_SHARE:.0%} repeat active alerts; API accepted "
            f"{accepted:,.0f}/s",
        )
    )
    table.add(
        Row(
            f"ingestion end to end, one failure per request ({len(singles):,})",
            "failures/s",
            single_rate,
            "PostgreSQL COPY, same rows",
            peer,
            single_rate / peer,
            "",
            None,
            f"{setup}; API accepted {single_accepted:,.0f} requests/s",
        )
    )
    table.add(
        Row(
            "worker RSS at start of the ingestion run",
            "MB",
            rss_start,
            note="worker 1: main process and its pool processes",
        )
    )
    table.add(
        Row(
            "worker RSS at end of the ingestion run",
            "MB",
            rss_end,
            "RSS at start",
            rss_start,
            rss_start / rss_end,
            "flat (within 10 %)",
            rss_end <= rss_start * 1.1,
        )
    )
    profile_funnel(profiled, table)
