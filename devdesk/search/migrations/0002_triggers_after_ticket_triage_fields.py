"""Put back the sync triggers that SQLite loses when a migration copies the ticket
table (adding a NOT NULL column does: the triage fields of tickets 0006 and 0008).

Written by hand: whenever a tickets migration remakes the table on SQLite, a step
like this one must follow it (``devdesk search-reindex`` would also repair it).
Nothing to do on PostgreSQL, which alters the table in place.
"""

from django.db import migrations


def reinstall(apps, schema_editor):
    from devdesk.search.backends import backend_for

    backend = backend_for(schema_editor.connection)
    with schema_editor.connection.cursor() as cursor:
        if backend.missing_triggers(cursor):
            backend.install(cursor)


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0001_initial"),
        ("tickets", "0008_impact_and_effort"),
    ]

    operations = [
        migrations.RunPython(reinstall, migrations.RunPython.noop, elidable=False)
    ]
