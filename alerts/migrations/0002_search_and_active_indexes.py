"""Indexes for the wall at scale, on PostgreSQL only.

Trigram indexes serve the text search (Django's icontains reads
UPPER(column::text) LIKE UPPER(pattern), so the indexes are on that very
expression); partial indexes on active alerts serve the wall's default
view and its level counts. SQLite (the demo) has none of this and skips
every operation here; the model state does not change.
"""

from django.db import migrations

from alertcenter.migration_ops import PostgresOnlySQL, postgres_extension

INDEXES = {
    "alert_search_message": ("USING gin (UPPER((message)::text) gin_trgm_ops)"),
    "alert_search_detail": "USING gin (UPPER(detail) gin_trgm_ops)",
    "alert_search_reason": "USING gin (UPPER((reason)::text) gin_trgm_ops)",
    "alert_active_wall": "(last_seen DESC, id DESC) WHERE state = 'active'",
    "alert_active_level": ("(level, last_seen DESC, id DESC) WHERE state = 'active'"),
}


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [
        postgres_extension("pg_trgm"),
        *(
            PostgresOnlySQL(
                f"CREATE INDEX {name} ON alerts_alert {definition}",
                f"DROP INDEX IF EXISTS {name}",
            )
            for name, definition in INDEXES.items()
        ),
    ]
