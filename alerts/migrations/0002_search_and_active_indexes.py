"""Indexes for the wall at scale, on PostgreSQL only.

Trigram indexes serve the text search (Django's icontains reads
UPPER(column::text) LIKE UPPER(pattern), so the indexes are on that very
expression); partial indexes on active alerts serve the wall's default
view and its level counts. SQLite (the demo) has none of this and skips
every operation here; the model state does not change.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "alert_search_message": ("USING gin (UPPER((message)::text) gin_trgm_ops)"),
    "alert_search_detail": "USING gin (UPPER(detail) gin_trgm_ops)",
    "alert_search_reason": "USING gin (UPPER((reason)::text) gin_trgm_ops)",
    "alert_active_wall": "(last_seen DESC, id DESC) WHERE state = 'active'",
    "alert_active_level": ("(level, last_seen DESC, id DESC) WHERE state = 'active'"),
}


class PostgresOnlySQL(migrations.RunSQL):
    """Run the SQL on PostgreSQL and do nothing elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [
        TrigramExtension(),
        *(
            PostgresOnlySQL(
                f"CREATE INDEX {name} ON alerts_alert {definition}",
                f"DROP INDEX IF EXISTS {name}",
            )
            for name, definition in INDEXES.items()
        ),
    ]
