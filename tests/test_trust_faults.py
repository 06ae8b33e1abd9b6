"""Faults lose nothing: a broker that dies, a worker killed mid-task, a
database that restarts, and mail servers that stall or flood.

The broker and the database that these tests stop are private copies on free
loopback ports (tests/trust_helpers.py); the machine's shared Redis and
PostgreSQL are never touched. The worker is a real ``celery worker`` process.
SIGKILL in the middle of a processing run is covered by the processing
tests; here it is the funnel task that dies.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import psycopg2
import pytest
import redis
from django.db import connection
from django.utils import timezone

from alerts.choices import FailureSource
from alerts.funnel import report_failure
from alerts.models import Alert, FailureRecord
from alerts.tasks import TASK_CHUNK, process_failure, sweep_unprocessed
from mailboxes.models import Mailbox
from mailboxes.processing import Outcome, process_mailbox
from mailboxes.tests.test_processing_support import mailbox_for, message, profile_for
from tests.celery_worker import Worker, celery_on, database_url_of, wait_until
from tests.factories import make_mailbox
from tests.test_api_support import ApiClient, failure
from tests.trust_helpers import (
    POSTGRES_BIN,
    ROOT,
    PrivatePostgres,
    PrivateRedis,
    require,
    tally,
)

IN_CI = os.environ.get("CI") == "true"


def _need(binary: str) -> None:
    why = require(binary)
    if why:
        if IN_CI:
            pytest.fail(why)
        pytest.skip(why)


@pytest.fixture
def private_redis():
    _need("redis-server")
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


def _test_database_url() -> str:
    return database_url_of(connection.settings_dict)


def _backdate_all() -> None:
    FailureRecord.objects.update(received_at=timezone.now() - timedelta(minutes=5))


TEXTS = [
    "535 5.7.8 Authentication credentials invalid",
    "421 4.7.0 Too many connections, try later",
    "552 5.2.2 Mailbox full",
    "550 5.1.1 <x@example.net>: Recipient address rejected",
    "454 4.7.0 TLS not available due to local problem",
]


# -- the broker dies while failures arrive -----------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_failures_posted_around_a_broker_outage_are_each_processed_once(
    owner, private_redis, tmp_path
):
    box = make_mailbox(owner=owner)
    api = ApiClient(owner)
    before = [failure(box.address, text=text) for text in TEXTS]
    during = [failure(box.address, stage="smtp-send", text=text) for text in TEXTS]
    broker = redis.Redis(port=private_redis.port)

    with celery_on(private_redis.url):
        first = api.post("/api/v1/failures", {"failures": before})
        queued_before_the_crash = broker.llen("celery")
        # The broker dies with the tasks it held (nothing kept on disk).
        private_redis.stop()
        started = time.monotonic()
        second = api.post("/api/v1/failures", {"failures": during})
        answer_seconds = time.monotonic() - started
        private_redis.start()

        worker = Worker(
            tmp_path / "worker.log", private_redis.url, _test_database_url()
        )
        try:
            worker.wait_ready()
            _backdate_all()
            swept = sweep_unprocessed()
            wait_until(
                lambda: not FailureRecord.objects.filter(processed_at=None).exists(),
                60,
                "every stored failure to be processed",
            )
            assert sweep_unprocessed() == 0
            time.sleep(1)
        finally:
            worker.stop()

    assert (first.status_code, second.status_code) == (202, 202)
    # One task carries each chunk of a batch.
    assert queued_before_the_crash == -(-len(before) // TASK_CHUNK)
    assert answer_seconds < 10
    assert swept == len(before) + len(during)
    records = FailureRecord.objects.all()
    assert records.count() == len(before) + len(during)
    assert all(record.processed_at is not None for record in records)
    # Each processing adds one to an alert's count: the sum is one per failure.
    assert sum(Alert.objects.values_list("count", flat=True)) == records.count()
    tally(
        "Redis stopped while failures arrive through the API",
        records.count(),
        f"all answered 202 (outage answer {answer_seconds:.1f}s), "
        f"the task of {len(before)} queued failures lost with the broker, "
        "all processed once after the sweep",
    )


# -- a worker killed in the middle of a funnel task ----------------------------------


def _connect() -> psycopg2.extensions.connection:
    conf = connection.settings_dict
    return psycopg2.connect(
        dbname=conf["NAME"],
        user=conf.get("USER") or None,
        password=conf.get("PASSWORD") or None,
        host=conf.get("HOST") or "127.0.0.1",
        port=conf.get("PORT") or 5432,
    )


def _lock_waiters(cursor: psycopg2.extensions.cursor) -> list[int]:
    cursor.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    return [row[0] for row in cursor.fetchall()]


def _backend_alive(cursor: psycopg2.extensions.cursor, pid: int) -> bool:
    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
    return bool(cursor.fetchone()[0])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_funnel_task_killed_midway_is_redone_without_a_double_count(
    owner, private_redis, tmp_path
):
    box = make_mailbox(owner=owner)
    fields = {
        "source": FailureSource.API,
        "stage": "smtp-auth",
        "text": TEXTS[0],
        "reply_code": 535,
        "status": "5.7.8",
        "mailbox": box,
    }
    alert = report_failure(**fields)
    assert alert is not None and alert.count == 1
    record = FailureRecord.objects.create(occurred_at=timezone.now(), **fields)
    broker = redis.Redis(port=private_redis.port)
    locker, watcher = _connect(), _connect()
    watcher.autocommit = True  # statistics views are read afresh each query
    try:
        second = _kill_midway_then_redo(
            locker, watcher.cursor(), alert, record, broker, private_redis, tmp_path
        )
    finally:
        locker.close()
        watcher.close()

    log = second.output()
    assert log.count("alerts.tasks.process_failure") >= 2, log
    record.refresh_from_db()
    alert.refresh_from_db()
    assert record.processed_at is not None and record.alert_id == alert.pk
    assert alert.count == 2
    assert Alert.objects.count() == 1
    tally(
        "worker SIGKILLed inside a funnel task",
        2,
        "task redelivered (visibility timeout) and swept; processed once, count 2",
    )


def _kill_midway_then_redo(
    locker: psycopg2.extensions.connection,
    watch: psycopg2.extensions.cursor,
    alert: Alert,
    record: FailureRecord,
    broker: redis.Redis,
    private_redis: PrivateRedis,
    tmp_path: Path,
) -> Worker:
    """Kill a worker inside the funnel, check nothing half-done stayed, then
    let the task come back twice; return the worker that redid it."""
    # Holding the alert's row makes the worker stop inside the funnel's
    # transaction, after it has classified and locked the record, at the
    # moment it raises the alert's count.
    locker.cursor().execute(
        "SELECT id FROM alerts_alert WHERE id = %s FOR UPDATE", [alert.pk]
    )
    with celery_on(private_redis.url):
        first = Worker(tmp_path / "first.log", private_redis.url, _test_database_url())
        try:
            first.wait_ready()
            process_failure.delay(record.pk)
            wait_until(lambda: bool(_lock_waiters(watch)), 30, "the worker to block")
            [backend] = _lock_waiters(watch)
            first.kill()
        finally:
            first.stop()
            locker.rollback()
        wait_until(lambda: not _backend_alive(watch, backend), 30, "its backend")

        alert.refresh_from_db()
        record.refresh_from_db()
        assert (alert.count, record.processed_at) == (1, None)
        # Acknowledged late: the message waits in Redis's unacked set.
        assert broker.hlen("unacked") == 1

        # An hour later the broker hands it out again; the sweep queues the
        # same record once more. Both deliveries run; one of them counts.
        for tag in broker.zrange("unacked_index", 0, -1):
            broker.zadd("unacked_index", {tag: 0})
        _backdate_all()
        assert sweep_unprocessed() == 1
        second = Worker(
            tmp_path / "second.log", private_redis.url, _test_database_url()
        )
        try:
            second.wait_ready()
            wait_until(
                lambda: broker.llen("celery") == 0 and broker.hlen("unacked") == 0,
                30,
                "both deliveries to be consumed",
            )
            time.sleep(0.5)
        finally:
            second.stop()
    return second


# -- PostgreSQL restarts under a running worker ------------------------------------


INSERT_FAILURE = """
INSERT INTO alerts_failurerecord (source, occurred_at, received_at, stage, text,
    status, exception, recipient, classification)
VALUES ('api', now(), now(), 'smtp-send', %s, '', '', '', '{}') RETURNING id
"""


def _processed(pg: PrivatePostgres, record_id: int) -> bool:
    try:
        with psycopg2.connect(pg.url, connect_timeout=2) as conn:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT processed_at IS NOT NULL FROM alerts_failurerecord "
                    "WHERE id = %s",
                    [record_id],
                )
                return bool(cursor.fetchone()[0])
    except psycopg2.OperationalError:
        return False


def _insert(pg: PrivatePostgres, text: str) -> int:
    with psycopg2.connect(pg.url) as conn:
        with conn.cursor() as cursor:
            cursor.execute(INSERT_FAILURE, [text])
            return int(cursor.fetchone()[0])


@pytest.fixture
def private_postgres():
    _need(str(POSTGRES_BIN / "initdb"))
    server = PrivatePostgres()
    try:
        server.init()
    except Exception:
        server.remove()
        raise
    yield server
    server.remove()


def test_a_worker_recovers_from_a_database_restart_on_its_own(
    private_postgres, private_redis, tmp_path
):
    import subprocess
    import sys

    env = dict(os.environ, DATABASE_URL=private_postgres.url)
    env["DJANGO_SETTINGS_MODULE"] = "alertcenter.settings"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    from alertcenter.celery import app

    worker = Worker(tmp_path / "worker.log", private_redis.url, private_postgres.url)
    try:
        worker.wait_ready()
        with celery_on(private_redis.url):
            before = _insert(private_postgres, TEXTS[1])
            app.send_task("alerts.tasks.process_failure", args=[before])
            wait_until(lambda: _processed(private_postgres, before), 30, "first")

            private_postgres.restart()

            after = [_insert(private_postgres, text) for text in TEXTS[2:4]]
            for record_id in after:
                app.send_task("alerts.tasks.process_failure", args=[record_id])
            wait_until(
                lambda: all(_processed(private_postgres, pk) for pk in after),
                30,
                "the failures sent after the restart:\n" + worker.output()[-3000:],
            )
        assert worker.alive()
    finally:
        worker.stop()
    assert "OperationalError" not in worker.output(), worker.output()[-3000:]
    tally(
        "PostgreSQL restarted under a running worker",
        len(after),
        "the same worker process handled every task after the restart",
    )


# -- mail servers that stall or flood ------------------------------------------------


@pytest.mark.mailserver
@pytest.mark.django_db
@pytest.mark.parametrize("behaviour", ["silent", "endless"])
@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_a_stalling_or_flooding_incoming_server_fails_the_run_in_bounded_time(
    raw_server, behaviour, protocol
):
    server = raw_server(behaviour)
    profile = profile_for(incoming_port=server.port, protocol=protocol)
    profile.timeout_seconds = 2
    profile.save()
    box = mailbox_for(profile, ("someone", "pw"), outgoing_enabled=False)

    started = time.monotonic()
    report = process_mailbox(box.pk)
    seconds = time.monotonic() - started

    assert report.outcome == Outcome.FAILED, report.line()
    assert seconds < 20
    box.refresh_from_db()
    assert (box.claimed_by, box.claimed_until) == ("", None)
    stored = FailureRecord.objects.get(mailbox=box)
    assert stored.processed_at is not None and stored.alert is not None
    tally(
        f"{behaviour} {protocol} server through processing",
        1,
        f"run failed in {seconds:.1f}s, claim released, alert '{stored.alert.message}'",
    )


@pytest.mark.mailserver
@pytest.mark.django_db
def test_a_stalling_smtp_server_fails_sending_in_bounded_time(raw_server):
    from tests.factories import make_email

    server = raw_server("silent")
    profile = profile_for(outgoing_port=server.port)
    profile.timeout_seconds = 2
    profile.save()
    box = mailbox_for(profile, incoming_enabled=False)
    make_email(mailbox=box)

    started = time.monotonic()
    report = process_mailbox(box.pk)
    seconds = time.monotonic() - started

    assert report.outcome == Outcome.FAILED, report.line()
    assert seconds < 20
    assert Mailbox.objects.get(pk=box.pk).claimed_until is None
    assert FailureRecord.objects.filter(mailbox=box).exists()


@pytest.mark.mailserver
@pytest.mark.django_db
def test_a_message_over_the_size_limit_is_reported_and_the_rest_stored(
    dovecot, dovecot_user
):
    profile = profile_for(incoming_port=dovecot.imap)
    box = mailbox_for(profile, dovecot_user, outgoing_enabled=False)
    huge = message("huge") + b"x" * (26 * 1024 * 1024) + b"\r\n"
    dovecot.deliver(dovecot_user[0], huge)
    dovecot.deliver(dovecot_user[0], message("small"))

    report = process_mailbox(box.pk)

    assert report.fetched == 1, report.line()
    subjects = list(box.emails.values_list("subject", flat=True))
    assert subjects == ["small"]
    stored = FailureRecord.objects.get(mailbox=box)
    assert "over the limit" in stored.text
    assert stored.alert is not None


# -- NUL in server text (PostgreSQL text cannot hold it) ---------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_failure_whose_server_text_holds_a_nul_is_still_stored(owner):
    box = make_mailbox(owner=owner)

    alert = report_failure(
        source=FailureSource.PROCESSING,
        stage="smtp-send",
        text="550 5.1.1 bad\x00user",
        reply_code=550,
        mailbox=box,
    )

    assert alert is not None
    assert FailureRecord.objects.get(mailbox=box).processed_at is not None


@pytest.mark.postgres
@pytest.mark.mailserver
@pytest.mark.django_db
def test_a_fetched_message_with_a_nul_in_its_headers_does_not_stop_the_mailbox(
    dovecot, dovecot_user
):
    profile = profile_for(incoming_port=dovecot.imap)
    box = mailbox_for(profile, dovecot_user, outgoing_enabled=False)
    poisoned = message("poison").replace(b"Subject: poison", b"Subject: poi\x00son")
    dovecot.deliver(dovecot_user[0], poisoned)
    dovecot.deliver(dovecot_user[0], message("after"))

    first = process_mailbox(box.pk)
    second = process_mailbox(box.pk)

    subjects = set(box.emails.values_list("subject", flat=True))
    assert "after" in subjects, (first.line(), second.line())
