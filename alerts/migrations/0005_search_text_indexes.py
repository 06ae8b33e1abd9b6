"""One search expression instead of three, and fewer indexes to write.

The wall searches message, server text and reason as one text (SearchText).
On PostgreSQL one trigram index serves every state, and a partial one on
active alerts also holds the level (btree_gin), so that each level's count
under a search reads only that level's matches. The single-column indexes of
the links go: the (link, -last_seen) indexes serve the same lookups.
"""

import django.db.models.deletion
from importlib import import_module

from django.db import migrations, models

from alertcenter.migration_ops import PostgresOnlySQL, postgres_extension

SEARCH = "UPPER((message || ' ' || detail || ' ' || reason)::text)"
# The three indexes of 0002 that SearchText's index replaces.
OLD_INDEXES = {
    name: definition
    for name, definition in import_module(
        "alerts.migrations.0002_search_and_active_indexes"
    ).INDEXES.items()
    if name.startswith("alert_search_")
}
NEW_INDEXES = {
    "alert_search": f"USING gin ({SEARCH} gin_trgm_ops)",
    "alert_active_search": (
        f"USING gin (level, {SEARCH} gin_trgm_ops) WHERE state = 'active'"
    ),
}


def create(name, definition):
    return f"CREATE INDEX {name} ON alerts_alert {definition}"


def drop(name):
    return f"DROP INDEX IF EXISTS {name}"


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0004_profile_level_index"),
        ("mailboxes", "0001_initial"),
        ("serverprofiles", "0001_initial"),
    ]

    operations = [
        postgres_extension("btree_gin"),
        *(
            PostgresOnlySQL(drop(name), create(name, definition))
            for name, definition in OLD_INDEXES.items()
        ),
        *(
            PostgresOnlySQL(create(name, definition), drop(name))
            for name, definition in NEW_INDEXES.items()
        ),
        migrations.AlterField(
            model_name="alert",
            name="email",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="alerts",
                to="mailboxes.email",
            ),
        ),
        migrations.AlterField(
            model_name="alert",
            name="mailbox",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="alerts",
                to="mailboxes.mailbox",
            ),
        ),
        migrations.AlterField(
            model_name="alert",
            name="profile",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="alerts",
                to="serverprofiles.serverprofile",
            ),
        ),
    ]
