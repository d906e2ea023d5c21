"""``make reset`` (``manage.py localaws --reset``): the local stack's saved state and the local
database's rows go together, so no user or file is left pointing at what the stack forgot."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from apps.files.models import StoredFile
from deploy.tools.harness.loopback import LoopbackServer, QuietHandler, free_port


def saved_state(tmp_path):
    state = tmp_path / "localaws"
    (state / "blobs").mkdir(parents=True)
    (state / "snapshot.json").write_text("{}")
    return state


def someone_with_a_file():
    ada = get_user_model().objects.create_user("ada@example.com", sub="sub-of-ada")
    StoredFile.objects.create(
        owner=ada,
        key="files/ada/1/notes.txt",
        upload_key="uploads/ada/1/notes.txt",
        original_name="notes.txt",
        declared_type="text/plain",
        size=5,
    )


def reset(state, port, *options):
    call_command("localaws", "--reset", "--port", str(port), "--state-dir", str(state), *options)


@pytest.mark.django_db(transaction=True)
def test_reset_deletes_the_state_and_the_rows_that_point_into_it(tmp_path):
    state = saved_state(tmp_path)
    someone_with_a_file()
    reset(state, free_port(), "--noinput")
    assert not state.exists()
    assert not get_user_model().objects.exists()
    assert not StoredFile.objects.exists()


@pytest.mark.django_db
def test_reset_is_refused_while_the_stack_runs(tmp_path):
    state = saved_state(tmp_path)
    someone_with_a_file()
    with LoopbackServer(QuietHandler) as running:
        port = running.server.server_address[1]
        with pytest.raises(CommandError) as refused:
            reset(state, port, "--noinput")
    assert str(refused.value).startswith(f"Something listens on 127.0.0.1:{port}; is the local")
    assert (state / "snapshot.json").exists()
    assert StoredFile.objects.exists()


@pytest.mark.django_db
def test_reset_asks_first(tmp_path, monkeypatch):
    state = saved_state(tmp_path)
    someone_with_a_file()
    prompts = []
    monkeypatch.setattr("builtins.input", lambda prompt: prompts.append(prompt) or "no")
    with pytest.raises(CommandError, match=r"^Reset cancelled\.$"):
        reset(state, free_port())
    assert f"the local AWS stack's state in {state} and every row of the database" in prompts[0]
    assert (state / "snapshot.json").exists()
    assert StoredFile.objects.exists()
