"""Separate the key a browser may POST to (``upload_key``) from the file's bytes (``key``).

Every existing row keeps its ``uploads/`` key as its upload key. A pending row's ``key``
moves to ``files/`` (where its completion will copy the upload to); a settled row's bytes
stay where they are, at its upload key, so pre-existing files still download. The
prefixes are spelled out here, not imported: a migration must not change with the code.
"""

from django.db import migrations, models

UPLOADS_PREFIX = "uploads/"
FILES_PREFIX = "files/"


def split_keys(apps, schema_editor):
    StoredFile = apps.get_model("files", "StoredFile")
    for stored in StoredFile.objects.only("key", "status").iterator():
        stored.upload_key = stored.key
        if stored.status == "pending" and stored.key.startswith(UPLOADS_PREFIX):
            stored.key = FILES_PREFIX + stored.key.removeprefix(UPLOADS_PREFIX)
        stored.save(update_fields=["key", "upload_key"])


def join_keys(apps, schema_editor):
    """Pending rows get their upload key back; settled rows keep the key their bytes are at."""
    StoredFile = apps.get_model("files", "StoredFile")
    for stored in StoredFile.objects.filter(status="pending").only("upload_key").iterator():
        stored.key = stored.upload_key
        stored.save(update_fields=["key"])


class Migration(migrations.Migration):
    dependencies = [
        ("files", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="storedfile",
            name="upload_key",
            field=models.CharField(max_length=512, null=True),
        ),
        migrations.RunPython(split_keys, join_keys),
        migrations.AlterField(
            model_name="storedfile",
            name="upload_key",
            field=models.CharField(max_length=512, unique=True),
        ),
    ]
