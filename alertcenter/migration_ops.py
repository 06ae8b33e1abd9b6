"""Migration operations shared by the apps' migrations."""

from django.db import migrations


class PostgresOnlySQL(migrations.RunSQL):
    """Run the SQL on PostgreSQL and do nothing elsewhere (the SQLite demo
    goes without the indexes that only PostgreSQL can build)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def postgres_extension(name: str) -> PostgresOnlySQL:
    """Create a PostgreSQL extension if missing; going back leaves it, as
    other objects may use it (and SQLite has none to drop)."""
    return PostgresOnlySQL(
        f"CREATE EXTENSION IF NOT EXISTS {name}", migrations.RunSQL.noop
    )
