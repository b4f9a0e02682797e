"""Put the search index's triggers back on SQLite, where adding the ticket's
scope and cool-down columns (tickets 0006) copied the table and dropped them
(see devdesk/search/__init__.py). Written by hand; keep it when regenerating."""

from django.db import migrations


def reinstall(apps, schema_editor):
    from devdesk.search.backends import backend_for

    backend = backend_for(schema_editor.connection)
    with schema_editor.connection.cursor() as cursor:
        if backend.missing_triggers(cursor):
            backend.install(cursor)


class Migration(migrations.Migration):
    dependencies = [
        ("triage", "0003_scope_and_cooldown"),
        ("tickets", "0006_scope_and_cooldown"),
        ("search", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(reinstall, migrations.RunPython.noop, elidable=False)
    ]
