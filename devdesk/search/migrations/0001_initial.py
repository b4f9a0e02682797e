"""The ticket index and the triggers that keep it in sync, for the database in use.

Existing tickets are indexed here too, so a desk that upgrades can search at once.
"""

from django.db import migrations


def install(apps, schema_editor):
    from devdesk.search.backends import backend_for

    backend = backend_for(schema_editor.connection)
    with schema_editor.connection.cursor() as cursor:
        backend.install(cursor)
        backend.rebuild(cursor)


def uninstall(apps, schema_editor):
    from devdesk.search.backends import backend_for

    with schema_editor.connection.cursor() as cursor:
        backend_for(schema_editor.connection).uninstall(cursor)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0002_message_notified_at")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
