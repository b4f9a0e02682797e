"""SQLite: one index row per message instead of one per ticket (see
``devdesk.search.backends.sqlite``), so a reply costs what indexing it costs however
long the conversation. The triggers are replaced and the index rebuilt in the new
layout. PostgreSQL keeps its documents as they are.
"""

from django.db import migrations


def relayout(apps, schema_editor):
    from devdesk.search.backends import backend_for

    if schema_editor.connection.vendor != "sqlite":
        return
    backend = backend_for(schema_editor.connection)
    with schema_editor.connection.cursor() as cursor:
        backend.install(cursor)
        backend.rebuild(cursor)


class Migration(migrations.Migration):
    dependencies = [("search", "0002_triggers_after_ticket_triage_fields")]

    operations = [
        migrations.RunPython(relayout, migrations.RunPython.noop, elidable=False)
    ]
