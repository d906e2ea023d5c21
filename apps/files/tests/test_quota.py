"""The per-user quota (apps/files/services.py): files and bytes, uploads in progress
included, on both upload paths, and two parallel starts for the last slot on PostgreSQL
and on SQLite.
"""

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.files import services
from apps.files.models import StoredFile
from apps.files.tests.uploads import start, upload
from deploy.tools.harness.postgres import PostgresDatabase
from deploy.tools.harness.processes import run_python, subprocess_env

pytestmark = pytest.mark.django_db


def start_text(client, name, size=5):
    """Declare a text file (not uploaded: it stays pending); the API's answer."""
    return start(client, data=b"x" * size, name=name, content_type="text/plain")


def test_file_count_includes_pending_uploads(signed_in, user, settings):
    settings.FILES_QUOTA_FILES = 2
    upload(signed_in, b"x" * 5, name="a.txt", content_type="text/plain")  # ready
    assert start_text(signed_in, "b.txt").status_code == 201  # pending
    refused = start_text(signed_in, "c.txt")
    assert refused.status_code == 400
    assert refused.json()["error"] == (
        "You have 2 files (uploads in progress included); the limit is 2. Delete some files first."
    )
    assert "upload" not in refused.json()
    assert StoredFile.objects.filter(owner=user).count() == 2


def test_rejected_and_deleted_files_free_their_slot(signed_in, settings):
    settings.FILES_QUOTA_FILES = 1
    _, completed = upload(signed_in, b"MZ\x90\x00", name="cat.png", content_type="image/png")
    assert completed.json()["file"]["status"] == "rejected"  # its object is gone: not counted
    file_id, _ = upload(signed_in, b"x" * 5, name="a.txt", content_type="text/plain")
    assert start_text(signed_in, "b.txt").status_code == 400
    assert signed_in.delete(f"/api/files/{file_id}").status_code == 204
    assert start_text(signed_in, "b.txt").status_code == 201


def test_bytes_include_pending_uploads_and_count_per_user(signed_in, client, settings):
    settings.FILES_QUOTA_BYTES = 1000
    assert start_text(signed_in, "a.txt", 600).status_code == 201
    refused = start_text(signed_in, "b.txt", 401)
    assert refused.status_code == 400
    assert refused.json()["error"] == (
        "Your files take 600\xa0bytes (uploads in progress included); this one would pass "
        "the limit of 1000\xa0bytes. Delete some files first."
    )
    assert start_text(signed_in, "c.txt", 400).status_code == 201  # exactly the limit
    other = get_user_model().objects.create_user(username="grace", sub=str(uuid.uuid4()))
    client.force_login(other)
    assert start_text(client, "d.txt", 1000).status_code == 201


def test_the_form_upload_is_refused_too(signed_in, user, settings):
    settings.FILES_QUOTA_FILES = 1
    upload(signed_in, b"x" * 5, name="a.txt", content_type="text/plain")
    response = signed_in.post(
        "/en/files/upload", {"file": SimpleUploadedFile("b.txt", b"hello\n", "text/plain")}
    )
    assert response.status_code == 302
    assert "the limit is 1" in signed_in.get("/en/files/").content.decode()
    assert not StoredFile.objects.filter(original_name="b.txt").exists()
    with pytest.raises(services.UploadRefused, match="the limit is 1"):
        services.file_upload_through_app(
            owner=user, uploaded=SimpleUploadedFile("c.txt", b"hello\n", "text/plain")
        )


# Two starts for the owner's last slot, made to overlap: the first waits after its count
# (in a pre_save receiver, before its INSERT) until the second has tried for a second.
RACE_PROBE = """
import json, threading
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.db.models.signals import pre_save
from django.contrib.auth import get_user_model
from apps.files import services
from apps.files.models import StoredFile

call_command("migrate", verbosity=0)
owner = get_user_model().objects.create_user(username="ada", sub="sub-ada")
counted, outcome = threading.Event(), {}

def hold_first(sender, instance, **kwargs):
    if threading.current_thread().name == "first":
        counted.set()
        second.join(1.0)

pre_save.connect(hold_first, sender=StoredFile)

def start(name):
    if name == "second":
        counted.wait(10)
    try:
        services.file_start_upload(owner=owner, name=name, size=1, content_type="text/plain")
        outcome[name] = "created"
    except services.UploadRefused as exc:
        outcome[name] = str(exc)
    except Exception as exc:
        outcome[name] = f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()

first = threading.Thread(target=start, args=("first",), name="first")
second = threading.Thread(target=start, args=("second",), name="second")
second.start(); first.start(); first.join(20); second.join(20)
print(json.dumps({**outcome, "files": StoredFile.objects.count()}))
"""


def race(database_url):
    result = run_python(
        RACE_PROBE,
        subprocess_env(
            DJANGO_SETTINGS_MODULE="project.settings.test",
            DATABASE_URL=database_url,
            FILES_QUOTA_FILES="1",
        ),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request, tmp_path):
    """A fresh database of each kind the targets use (the server's, the laptop's)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return
    database = PostgresDatabase(request.getfixturevalue("postgres_url"), prefix="amphibian_quota")
    yield database.url
    database.drop()


def test_parallel_starts_cannot_both_take_the_last_slot(database_url):
    """PostgreSQL: the second start waits for the owner's row lock. SQLite: for the write
    lock its IMMEDIATE transactions take. Either way it then counts the first's file."""
    assert race(database_url) == {
        "first": "created",
        "second": "You have 1 files (uploads in progress included); the limit is 1. "
        "Delete some files first.",
        "files": 1,
    }


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("fr", "Les fichiers de type 'application/x-msdownload' ne sont pas acceptés"),
        ("de", "Dateien vom Typ 'application/x-msdownload' werden nicht angenommen"),
    ],
)
def test_refusals_are_in_the_visitors_language(signed_in, language, text):
    signed_in.cookies["django_language"] = language  # the language switcher's choice
    refused = start(
        signed_in, name="tool.exe", data=b"MZ", content_type="application/x-msdownload"
    )
    assert refused.status_code == 400
    assert refused.json()["error"].startswith(text)
