from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tasks", "0001_initial"), ("core", "0002_move_idempotencykey_to_tasks")]

    operations = [
        migrations.AlterModelTable(name="idempotencykey", table=None),
    ]
