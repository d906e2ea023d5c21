# IdempotencyKey now belongs to apps.tasks (tasks.0001 adopts the table): state only.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("tasks", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotencyKey")],
            database_operations=[],
        ),
    ]
