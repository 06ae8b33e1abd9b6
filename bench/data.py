"""Build the bench database in PostgreSQL with set-based SQL, and keep it.

The data is built once into a template database whose comment holds a
version (a hash of every migration, this file and the sizes); each run
clones the template (a file copy) into the working database, so that a
rerun is quick and every run starts from the same rows. Rows come from
generate_series in a few INSERT ... SELECT statements, never from the ORM
row by row.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2.extensions import connection as PgConnection

ROOT = Path(__file__).resolve().parent.parent
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
TEMPLATE_DB = "alertcenter_bench_tpl"
WORK_DB = "alertcenter_bench"
PASSWORD = "bench-password"
# Raise when fill() changes what it writes: the cached template is rebuilt.
BUILD_VERSION = 1


@dataclass(frozen=True)
class Sizes:
    """How much data the bench builds."""

    alerts: int = 1_000_000
    mailboxes: int = 10_000
    profiles: int = 200
    owners: int = 2_000
    profile_owners: int = 20
    spare_emails: int = 50_000
    failure_records: int = 200_000
    active_share: float = 0.7


SIZES = Sizes()
ADMIN_ID = 1


def owner_id(mailbox_id: int) -> int:
    """Return the user id of a mailbox's owner (mailboxes go five by five)."""
    per_owner = SIZES.mailboxes // SIZES.owners
    return 2 + SIZES.profile_owners + (mailbox_id - 1) // per_owner


# What processing really meets: (stage, text, reply code, status, weight).
# The classifier decides each one at build time, so the alerts in the
# database carry the very group keys that the funnel computes again when the
# same failure comes back through the API.
FAILURES: list[tuple[str, str, int | None, str | None, int]] = [
    (
        "smtp-send",
        "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in "
        "virtual mailbox table",
        550,
        "5.1.1",
        22,
    ),
    ("smtp-send", "552 5.2.2 <{rcpt}>: Mailbox full, quota exceeded", 552, "5.2.2", 8),
    (
        "smtp-send",
        "452 4.2.2 The email account that you tried to reach is over quota",
        452,
        "4.2.2",
        6,
    ),
    (
        "smtp-send",
        "552 5.3.4 Message size exceeds fixed maximum message size",
        552,
        "5.3.4",
        4,
    ),
    (
        "smtp-send",
        "450 4.7.1 <{rcpt}>: Recipient address rejected: Greylisted, see "
        "http://postgrey.example.com/",
        450,
        "4.7.1",
        6,
    ),
    (
        "smtp-send",
        "451 4.3.0 Temporary local problem, please try again",
        451,
        "4.3.0",
        3,
    ),
    (
        "dsn",
        "Delivery delayed: 4.4.1 connection timed out, will retry",
        None,
        "4.4.1",
        4,
    ),
    ("smtp-auth", "535 5.7.8 Username and Password not accepted", 535, "5.7.8", 6),
    ("smtp-auth", "454 4.7.0 Temporary authentication failure", 454, "4.7.0", 4),
    (
        "imap-login",
        "NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)",
        None,
        None,
        6,
    ),
    (
        "imap-login",
        "NO [UNAVAILABLE] Server is temporarily unavailable, try again later",
        None,
        None,
        5,
    ),
    ("imap-fetch", "NO [OVERQUOTA] Mailbox is over quota", None, None, 3),
    ("pop3-login", "-ERR [AUTH] Authentication failed", None, None, 2),
    ("pop3-login", "-ERR [IN-USE] Mailbox is locked by another session", None, None, 2),
    (
        "smtp-send",
        "550 5.7.1 Service unavailable; client host [192.0.2.{n}] blocked using "
        "zen.spamhaus.org",
        550,
        "5.7.1",
        2,
    ),
    (
        "smtp-send",
        "421 4.7.0 Too many messages from this sender, try again later",
        421,
        "4.7.0",
        2,
    ),
    ("dns", "[Errno -2] Name or service not known: mail{n}.example.net", None, None, 1),
    ("tcp", "[Errno 111] Connection refused", None, None, 1),
    ("tcp", "timed out", None, None, 1),
    (
        "tls",
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate "
        "has expired (_ssl.c:1006)",
        None,
        None,
        1,
    ),
    ("smtp-send", "550 5.4.1 Relay access denied", 550, "5.4.1", 1),
    (
        "smtp-send",
        "550 5.7.26 This mail is unauthenticated, which poses a security risk",
        550,
        "5.7.26",
        1,
    ),
]
# Good news: a mailbox passed Test & Enable (one in ten alerts).
NOTICE_WEIGHT = 10
RCPT_SQL = "'user' || (g.i % 40000) || '@example' || (g.i % 97) || '.net'"


def pg_connect(dbname: str = "postgres") -> PgConnection:
    """Return an autocommit connection to a database of the bench server."""
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname)
    conn.autocommit = True
    return conn


def database_url(dbname: str = WORK_DB) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"


def schema_version() -> str:
    """Return a hash of everything the built data depends on."""
    digest = hashlib.sha256(repr(SIZES).encode())
    for path in sorted(ROOT.glob("*/migrations/0*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(f"{BUILD_VERSION} {FAILURES!r} {NOTICE_WEIGHT}".encode())
    return digest.hexdigest()[:16]


def use_database(name: str) -> None:
    """Point Django's default connection at another database."""
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = name


def _database_comment(cursor: Any, name: str) -> str | None:
    cursor.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
        "WHERE datname = %s",
        [name],
    )
    row = cursor.fetchone()
    return None if row is None else (row[0] or "")


def _drop(cursor: Any, name: str) -> None:
    if _database_comment(cursor, name) is not None:
        cursor.execute(f"ALTER DATABASE {name} IS_TEMPLATE false")
    cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def ensure_template(log: Callable[[str], None]) -> float:
    """Build the template database unless a current one exists; return the
    seconds spent building (0 when the cache was used)."""
    version = schema_version()
    with closing(pg_connect()) as conn, conn.cursor() as cursor:
        if _database_comment(cursor, TEMPLATE_DB) == f"bench {version}":
            log(f"using the cached bench data ({TEMPLATE_DB}, version {version})")
            return 0.0
        log(f"building the bench data into {TEMPLATE_DB} (version {version})")
        _drop(cursor, TEMPLATE_DB)
        cursor.execute(f"CREATE DATABASE {TEMPLATE_DB}")

    started = time.perf_counter()
    from django.core.management import call_command
    from django.db import connection

    use_database(TEMPLATE_DB)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        fill(cursor.cursor, log)
    use_database(WORK_DB)
    with closing(pg_connect(TEMPLATE_DB)) as conn, conn.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    with closing(pg_connect()) as conn, conn.cursor() as cursor:
        cursor.execute(f"COMMENT ON DATABASE {TEMPLATE_DB} IS %s", [f"bench {version}"])
        cursor.execute(f"ALTER DATABASE {TEMPLATE_DB} IS_TEMPLATE true")
    elapsed = time.perf_counter() - started
    log(f"built in {elapsed:.0f} s")
    return elapsed


def clone_working() -> float:
    """Copy the template into a fresh working database; return the seconds."""
    started = time.perf_counter()
    use_database(TEMPLATE_DB)  # closes Django's connections first
    with closing(pg_connect()) as conn, conn.cursor() as cursor:
        _drop(cursor, WORK_DB)
        cursor.execute(
            f"CREATE DATABASE {WORK_DB} TEMPLATE {TEMPLATE_DB} STRATEGY FILE_COPY"
        )
    use_database(WORK_DB)
    return time.perf_counter() - started


def drop_working() -> None:
    use_database(TEMPLATE_DB)
    with closing(pg_connect()) as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {WORK_DB} WITH (FORCE)")


# -- filling -------------------------------------------------------------------


def _default_sql(cursor: Any, field: Any) -> str:
    """Return an SQL literal for a field the builder does not set itself."""
    from django.db import connection

    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return "now()"
    if field.null and not field.has_default():
        return "NULL"
    value = field.get_default()
    if value is None and not field.null:
        raise ValueError(f"the builder must set {field.model.__name__}.{field.name}")
    prepared = field.get_db_prep_save(value, connection)
    return str(cursor.mogrify("%s", [prepared]).decode())


def insert_select(cursor: Any, model: Any, values: dict[str, str], source: str) -> int:
    """INSERT INTO the model's table SELECT the given expressions FROM source;
    columns not given take the field's default, so the builder survives new
    fields with defaults."""
    columns, expressions = [], []
    for field in model._meta.concrete_fields:
        if field.attname in values:
            expression = values[field.attname]
        elif field.primary_key:
            continue
        else:
            expression = _default_sql(cursor, field)
        columns.append(f'"{field.column}"')
        expressions.append(expression)
    unknown = set(values) - {f.attname for f in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} {source}"
    )
    return int(cursor.rowcount)


def _plain_indexes(cursor: Any, tables: list[str]) -> list[tuple[str, str]]:
    """Return (name, definition) of the indexes that back no constraint."""
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        """,
        [tables],
    )
    return list(cursor.fetchall())


def _kinds(cursor: Any) -> None:
    """Write the failure kinds, as the classifier decides them, to a table."""
    from alerts.classifier import REASON_LABELS, Failure, Reason, classify

    cursor.execute(
        """
        CREATE TEMP TABLE kinds (
            k int PRIMARY KEY, stage text, text text, reply_code int,
            status text, scope text, persistence text, level text, reason text,
            label text, explanation text, action text, version text, weight int
        )
        """
    )
    rows = []
    for k, (stage, text, reply_code, status, weight) in enumerate(FAILURES, 1):
        sample = text.replace("{rcpt}", "someone@example.net").replace("{n}", "7")
        decision = classify(
            Failure(stage=stage, text=sample, reply_code=reply_code, status=status)
        )
        label = REASON_LABELS.get(Reason(decision.reason), decision.reason)
        rows.append(
            (
                k,
                stage,
                text,
                reply_code,
                status or "",
                decision.scope.value,
                decision.persistence.value,
                decision.level.value,
                decision.reason,
                label,
                decision.explanation,
                decision.action,
                decision.classifier_version,
                weight,
            )
        )
    rows.append(
        (0, "", "", None, "", "mailbox", "", "information", "notice", "", "", "", "")
        + (NOTICE_WEIGHT,)
    )
    cursor.executemany(
        "INSERT INTO kinds VALUES ({})".format(", ".join(["%s"] * 14)),
        rows,
    )
    # One slot per unit of weight: an alert picks a slot at random.
    cursor.execute(
        """
        CREATE TEMP TABLE slots AS
        SELECT row_number() OVER () AS s, k FROM kinds, generate_series(1, weight)
        """
    )


def fill(cursor: Any, log: Callable[[str], None]) -> None:
    """Fill an empty, migrated database with the bench data."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User

    from alerts.models import Alert, AlertRecipient, AlertSettings, FailureRecord
    from mailboxes.models import Email, Mailbox
    from serverprofiles.models import ServerProfile

    s = SIZES
    cursor.execute("SET session_replication_role = replica")  # no FK triggers
    cursor.execute("SET maintenance_work_mem = '1GB'")
    cursor.execute("SET work_mem = '256MB'")
    cursor.execute("SET synchronous_commit = off")
    cursor.execute("SELECT setseed(0.42)")
    tables = [
        Alert._meta.db_table,
        AlertRecipient._meta.db_table,
        Email._meta.db_table,
        FailureRecord._meta.db_table,
    ]
    indexes = _plain_indexes(cursor, tables)
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    step = time.perf_counter()

    def done(what: str) -> None:
        nonlocal step
        log(f"  {what}: {time.perf_counter() - step:.1f} s")
        step = time.perf_counter()

    password = cursor.mogrify("%s", [make_password(PASSWORD)]).decode()
    first_owner = 2 + s.profile_owners
    users = first_owner + s.owners - 1
    insert_select(
        cursor,
        User,
        {
            "id": "g.i",
            "password": password,
            "username": f"""CASE WHEN g.i = {ADMIN_ID} THEN 'bench-admin'
                WHEN g.i < {first_owner} THEN 'profile-owner-' || g.i
                ELSE 'owner-' || g.i END""",
            "email": "'user' || g.i || '@bench.example.com'",
            "is_superuser": f"g.i = {ADMIN_ID}",
            "is_staff": f"g.i = {ADMIN_ID}",
            "is_active": "true",
            "date_joined": "now()",
        },
        f"FROM generate_series(1, {users}) AS g(i)",
    )
    insert_select(
        cursor,
        ServerProfile,
        {
            "id": "g.i",
            "name": "'profile-' || lpad(g.i::text, 3, '0')",
            "owner_id": f"2 + (g.i - 1) % {s.profile_owners}",
            "incoming_host": "'imap.p' || g.i || '.example.net'",
            "outgoing_host": "'smtp.p' || g.i || '.example.net'",
        },
        f"FROM generate_series(1, {s.profiles}) AS g(i)",
    )
    per_owner = s.mailboxes // s.owners
    insert_select(
        cursor,
        Mailbox,
        {
            "id": "g.i",
            "address": f"'box' || g.i || '@corp' || ((g.i - 1) % {s.profiles} + 1)"
            " || '.example.com'",
            "owner_id": f"{first_owner} + (g.i - 1) / {per_owner}",
            "profile_id": f"(g.i - 1) % {s.profiles} + 1",
            "incoming_test": "'success'",
            "outgoing_test": "'success'",
        },
        f"FROM generate_series(1, {s.mailboxes}) AS g(i)",
    )
    AlertSettings.objects.get_or_create(pk=1)
    done(f"{users} users, {s.profiles} profiles, {s.mailboxes} mailboxes")

    _kinds(cursor)
    cursor.execute("SELECT count(*) FROM slots")
    (slots,) = cursor.fetchone()
    cursor.execute(
        f"""
        CREATE TEMP TABLE gen AS
        WITH pick AS (SELECT array_agg(k ORDER BY s) AS ks FROM slots)
        SELECT g.i,
               pick.ks[1 + floor(random() * {slots})::int] AS k,
               1 + (random() * {s.mailboxes - 1})::int AS m,
               now() - random() * interval '30 days' AS last_seen,
               {RCPT_SQL} AS rcpt
        FROM generate_series(1, {s.alerts}) AS g(i), pick
        """
    )
    cursor.execute(
        f"""
        ALTER TABLE gen ADD COLUMN p int, ADD COLUMN e int, ADD COLUMN scope text,
            ADD COLUMN group_key text, ADD COLUMN active boolean;
        UPDATE gen SET p = (m - 1) % {s.profiles} + 1, scope = kinds.scope
        FROM kinds WHERE kinds.k = gen.k;
        UPDATE gen SET e = x.e FROM (
            SELECT i, row_number() OVER (ORDER BY i) AS e FROM gen
            WHERE scope = 'email'
        ) x WHERE x.i = gen.i
        """
    )
    cursor.execute(
        """
        UPDATE gen SET group_key = CASE
            WHEN kinds.k = 0 THEN 'mailbox|mailbox:' || gen.m
                || '|notice:Test & Enable passed: box' || gen.m || '|'
            WHEN gen.scope = 'email' THEN 'email|email:' || gen.e
                || '|' || kinds.reason || '|' || kinds.persistence
            WHEN gen.scope = 'mailbox' THEN 'mailbox|mailbox:' || gen.m
                || '|' || kinds.reason || '|' || kinds.persistence
            ELSE 'profile|profile:' || gen.p
                || '|' || kinds.reason || '|' || kinds.persistence END
        FROM kinds WHERE kinds.k = gen.k
        """
    )
    # The newest alert of each group may be active (one in ten of them was
    # resolved by a success); older alerts of the group were resolved.
    cursor.execute(
        f"""
        UPDATE gen SET active = x.rn = 1 AND random() < {s.active_share}
        FROM (
            SELECT i, row_number() OVER (
                PARTITION BY group_key ORDER BY last_seen DESC) AS rn
            FROM gen
        ) x WHERE x.i = gen.i
        """
    )
    cursor.execute("CREATE INDEX ON gen (e)")
    cursor.execute("ANALYZE gen")
    done("alert plan")

    cursor.execute("SELECT coalesce(max(e), 0) FROM gen")
    (emails,) = cursor.fetchone()
    insert_select(
        cursor,
        Email,
        {
            "id": "g.i",
            "mailbox_id": f"coalesce(gen.m, 1 + g.i % {s.mailboxes})",
            "direction": "'outgoing'",
            "status": "CASE WHEN gen.i IS NULL THEN 'sent' ELSE 'failed' END",
            "message_id": "'<bench.' || g.i || '@corp.example.com>'",
            "sender": "'box' || coalesce(gen.m, 1) || '@corp.example.com'",
            "subject": "'Quarterly report ' || g.i",
            "recipients": "jsonb_build_array(coalesce(gen.rcpt, 'x@example.net'))",
            "attempts": "1",
        },
        f"FROM generate_series(1, {emails + s.spare_emails}) AS g(i) "
        "LEFT JOIN gen ON gen.e = g.i",
    )
    done(f"{emails + s.spare_emails} emails")

    detail = (
        "replace(replace(kinds.text, '{rcpt}', gen.rcpt), '{n}', (gen.i % 250)::text)"
    )
    about = """CASE WHEN gen.scope = 'email' THEN gen.rcpt
        WHEN gen.scope = 'mailbox' THEN mailbox.address
        ELSE 'profile ' || profile.name END"""
    insert_select(
        cursor,
        Alert,
        {
            "id": "gen.i",
            "kind": "CASE WHEN kinds.k = 0 THEN 'notice' ELSE 'failure' END",
            "level": "kinds.level",
            "persistence": "kinds.persistence",
            "scope": "gen.scope",
            "reason": "kinds.reason",
            "message": f"""CASE WHEN kinds.k = 0
                THEN 'Test & Enable passed: ' || mailbox.address
                    || ' — processing resumed'
                ELSE kinds.label || ': ' || {about} END""",
            "stage": "kinds.stage",
            "status_code": "kinds.status",
            "reply_code": "kinds.reply_code",
            "detail": f"CASE WHEN kinds.k = 0 THEN '' ELSE {detail} END",
            "explanation": "kinds.explanation",
            "action": "kinds.action",
            "classifier_version": "kinds.version",
            "profile_id": "gen.p",
            "mailbox_id": "gen.m",
            "email_id": "gen.e",
            "group_key": "gen.group_key",
            "count": "1 + (power(random(), 4) * 200)::int",
            "first_seen": "gen.last_seen - random() * interval '3 days'",
            "last_seen": "gen.last_seen",
            "state": "CASE WHEN gen.active THEN 'active' ELSE 'resolved' END",
            "resolved_at": "CASE WHEN gen.active THEN NULL "
            "ELSE gen.last_seen + random() * interval '1 day' END",
            "resolution": "CASE WHEN gen.active THEN '' ELSE 'Succeeded again' END",
        },
        "FROM gen JOIN kinds ON kinds.k = gen.k "
        "JOIN mailboxes_mailbox mailbox ON mailbox.id = gen.m "
        "JOIN serverprofiles_serverprofile profile ON profile.id = gen.p",
    )
    done(f"{s.alerts} alerts")

    insert_select(
        cursor,
        AlertRecipient,
        {
            "alert_id": "a.id",
            "user_id": f"""CASE WHEN a.scope = 'profile' THEN profile.owner_id
                ELSE {first_owner} + (a.mailbox_id - 1) / {per_owner} END""",
            "action_required": "a.level <> 'information'",
            "deleted_at": "CASE WHEN random() < 0.05 THEN a.last_seen END",
        },
        "FROM alerts_alert a "
        "JOIN serverprofiles_serverprofile profile ON profile.id = a.profile_id",
    )
    done("recipients")

    insert_select(
        cursor,
        FailureRecord,
        {
            "source": "'processing'",
            "occurred_at": "a.last_seen",
            "received_at": "a.last_seen",
            "stage": "a.stage",
            "text": "a.detail",
            "reply_code": "a.reply_code",
            "status": "a.status_code",
            "profile_id": "a.profile_id",
            "mailbox_id": "a.mailbox_id",
            "email_id": "a.email_id",
            "processed_at": "a.last_seen",
            "alert_id": "a.id",
        },
        f"FROM alerts_alert a WHERE a.kind = 'failure' "
        f"ORDER BY a.last_seen DESC LIMIT {s.failure_records}",
    )
    done(f"{s.failure_records} failure records")

    for table in ("auth_user", "serverprofiles_serverprofile", "mailboxes_mailbox"):
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT max(id) FROM {table}))"
        )
    for model in (Alert, Email):
        table = model._meta.db_table
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT max(id) FROM {table}))"
        )
    for _name, definition in indexes:
        cursor.execute(definition)
    cursor.execute("SET session_replication_role = DEFAULT")
    done(f"{len(indexes)} indexes")
