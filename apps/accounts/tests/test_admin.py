"""The admin against the local stack's real Cognito: who gets in, what staff may do there."""

import uuid

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.sql import emit_post_migrate_signal

from apps.accounts import staff
from apps.accounts.cognito import ensure_user
from apps.accounts.services import sync_user_groups
from apps.core import aws

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-42"
MODEL_PAGES = {
    "Users": "/admin/accounts/user/",
    "Stored files": "/admin/files/storedfile/",
    "Contact messages": "/admin/pages/contactmessage/",
}


def new_cognito_user(settings, groups=()):
    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    ensure_user(
        aws.client("cognito-idp"), settings.COGNITO_USER_POOL_ID, email, PASSWORD, groups=groups
    )
    return email


def sign_in(client, username, password=PASSWORD):
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.content.decode()
    return get_user_model().objects.get(pk=client.session["_auth_user_id"])


@pytest.fixture
def staff_member(client, local_cognito):
    """A new user of the local pool in the Cognito staff group, signed in with its tokens."""
    return sign_in(client, new_cognito_user(local_cognito, [settings.COGNITO_STAFF_GROUP]))


@pytest.fixture
def member(client, local_cognito):
    """A new user of the local pool in no group, signed in."""
    return sign_in(client, new_cognito_user(local_cognito))


def stored_file(owner, key):
    StoredFile = apps.get_model("files", "StoredFile")  # another app's: by label, not import
    return StoredFile.objects.create(
        owner=owner,
        key=key,
        upload_key=key,
        original_name="report.pdf",
        declared_type="application/pdf",
        size=4,
        status="ready",
    )


def contact_message(**fields):
    ContactMessage = apps.get_model("pages", "ContactMessage")
    return ContactMessage.objects.create(
        name="Ada", email="ada@example.com", message="Hello", language="en", **fields
    )


# --- getting in -------------------------------------------------------------------------


def test_local_demo_user_is_in_the_staff_group(local_cognito):
    groups = aws.client("cognito-idp").admin_list_groups_for_user(
        UserPoolId=local_cognito.COGNITO_USER_POOL_ID, Username=settings.LOCALAWS_DEMO_USERNAME
    )["Groups"]
    assert [group["GroupName"] for group in groups] == [settings.COGNITO_STAFF_GROUP]


def test_demo_user_reaches_the_admin_and_sees_users_files_and_contact_messages(
    client, local_cognito
):
    demo = sign_in(client, settings.LOCALAWS_DEMO_USERNAME, settings.LOCALAWS_DEMO_PASSWORD)
    assert demo.is_staff and not demo.is_superuser
    index = client.get("/admin/")
    assert index.status_code == 200
    page = index.content.decode()
    for name, url in MODEL_PAGES.items():
        assert f'href="{url}"' in page and name in page
    assert f"<strong>{settings.LOCALAWS_DEMO_USERNAME}</strong>" in page  # "Welcome, ..."
    assert "/admin/auth/group/" not in page  # groups are Cognito's, not staff's to edit


def test_staff_member_opens_each_changelist_and_change_page(client, staff_member):
    message = contact_message()
    upload = stored_file(staff_member, f"files/{uuid.uuid4()}/report.pdf")
    for url in MODEL_PAGES.values():
        assert client.get(url).status_code == 200, url
    for url in (
        f"/admin/accounts/user/{staff_member.pk}/change/",
        f"/admin/files/storedfile/{upload.pk}/change/",
        f"/admin/pages/contactmessage/{message.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/auth/group/").status_code == 403


def test_signed_in_non_staff_gets_a_403_saying_why(client, member):
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    page = response.content.decode()
    assert f"You are signed in as {member.email}, but this account is not an administrator" in (
        page
    )
    assert f"<code>{settings.COGNITO_STAFF_GROUP}</code>" in page
    assert 'name="password"' not in page
    assert response.redirect_chain == [("/admin/login/?next=/admin/", 302)]
    assert client.get("/admin/login/").status_code == 403


def test_the_403_is_in_the_visitors_language(client, member):
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 403
    assert f"Vous êtes connecté en tant que {member.email}" in response.content.decode()


def test_anonymous_visitors_go_to_the_cognito_sign_in_and_back(client, local_cognito):
    response = client.get("/admin/files/storedfile/", follow=True)
    assert response.redirect_chain == [
        ("/admin/login/?next=/admin/files/storedfile/", 302),
        ("/accounts/login/?next=/admin/files/storedfile/", 302),
    ]
    assert client.get("/admin/login/")["Location"] == "/accounts/login/?next=/admin/"


def test_staff_on_the_admin_sign_in_go_to_the_index(client, staff_member):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_admin_sign_out_is_the_cognito_sign_out(client, staff_member):
    origin_jti = client.session["_cognito"]["origin_jti"]
    response = client.post("/admin/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    denied = aws.client("dynamodb").get_item(
        TableName=settings.TOKEN_DENYLIST_TABLE, Key={"jti": {"S": origin_jti}}
    )
    assert "Item" in denied


# --- the staff permissions --------------------------------------------------------------


def permission_names(group):
    return {
        f"{permission.content_type.app_label}.{permission.codename}"
        for permission in group.permissions.select_related("content_type")
    }


def test_migrate_gives_the_staff_group_exactly_the_staff_permissions():
    group = Group.objects.get(name=settings.COGNITO_STAFF_GROUP)
    assert permission_names(group) == set(staff.declared_staff_permissions())
    assert permission_names(group) == {
        "accounts.view_user",
        "accounts.change_user",
        "files.view_storedfile",
        "files.delete_storedfile",
        "pages.view_contactmessage",
        "pages.delete_contactmessage",
    }


def test_every_migrate_puts_the_rule_back():
    group = Group.objects.get(name=settings.COGNITO_STAFF_GROUP)
    group.permissions.add(Permission.objects.get(codename="delete_user"))
    group.permissions.remove(Permission.objects.get(codename="view_storedfile"))
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert permission_names(group) == set(staff.declared_staff_permissions())

    group.delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    group = Group.objects.get(name=settings.COGNITO_STAFF_GROUP)
    assert permission_names(group) == set(staff.declared_staff_permissions())


@pytest.mark.parametrize("group_name", ["admins", "operators"])
def test_a_staff_group_first_made_at_sign_in_has_the_permissions(settings, group_name):
    settings.COGNITO_STAFF_GROUP = group_name
    Group.objects.filter(name=group_name).delete()
    user = get_user_model().objects.create_user(username="u1", sub="s1", email="u1@example.com")
    sync_user_groups(user, [group_name, "editors"])
    assert user.is_staff
    made = Group.objects.get(name=group_name)
    assert permission_names(made) == set(staff.declared_staff_permissions())
    assert permission_names(Group.objects.get(name="editors")) == set()
    assert user.has_perm("files.delete_storedfile") and not user.has_perm("accounts.delete_user")


def test_the_staff_permissions_are_checked_at_startup():
    assert staff.check_staff_permissions(None) == []
    assert staff.unknown_permissions(
        ["files.view_storedfile", "files.fly_storedfile", "nope.view_user", "view_user"]
    ) == ["files.fly_storedfile", "nope.view_user", "view_user"]


# --- the User admin ---------------------------------------------------------------------


def test_users_show_by_their_email():
    User = get_user_model()
    sub = str(uuid.uuid4()).upper()
    user = User(username=sub, sub=sub, email="ada@example.com")
    assert str(user) == user.get_short_name() == "ada@example.com"
    assert User(username="local-admin", first_name="Grace").get_short_name() == "Grace"
    assert str(User(username="local-admin")) == "local-admin"


def test_user_list_shows_email_groups_and_last_login(client, staff_member):
    get_user_model().objects.create_user(username="u2", sub="s2", email="u2@example.com")
    page = client.get("/admin/accounts/user/").content.decode()
    assert staff_member.email in page and "u2@example.com" in page
    assert f'<td class="field-group_names">{settings.COGNITO_STAFF_GROUP}</td>' in page
    for column in ("email address", "groups", "last login", "date joined", "staff status"):
        assert column in page.lower()
    found = client.get("/admin/accounts/user/", {"q": staff_member.email}).content.decode()
    assert "1 result" in found and "u2@example.com" not in found


def test_user_change_page_edits_is_active_only(client, staff_member):
    page = client.get(f"/admin/accounts/user/{staff_member.pk}/change/").content.decode()
    assert staff_member.sub in page
    assert 'name="is_active"' in page
    for field in ("password", "email", "username", "is_staff", "is_superuser", "groups"):
        assert f'name="{field}"' not in page
    assert client.get("/admin/accounts/user/add/").status_code == 403


def test_staff_deactivate_a_user_but_cannot_change_a_superuser(client, staff_member):
    User = get_user_model()
    other = User.objects.create_user(username="u2", sub="s2", email="u2@example.com")
    response = client.post(f"/admin/accounts/user/{other.pk}/change/", {})
    assert response.status_code == 302
    other.refresh_from_db()
    assert not other.is_active
    history = client.get(f"/admin/accounts/user/{other.pk}/history/").content.decode()
    assert f"<td>{staff_member.email}</td>" in history

    boss = User.objects.create_user(
        username="u3", sub="s3", email="boss@example.com", is_superuser=True, is_staff=True
    )
    assert client.post(f"/admin/accounts/user/{boss.pk}/change/", {}).status_code == 403
    boss.refresh_from_db()
    assert boss.is_active
    assert client.get(f"/admin/accounts/user/{boss.pk}/change/").status_code == 200  # to view
    deleted = client.post(f"/admin/accounts/user/{other.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403


# --- what staff delete goes from S3 too -------------------------------------------------


def test_deleting_a_file_in_the_admin_removes_its_object(client, staff_member):
    key = f"files/{uuid.uuid4()}/report.pdf"
    default_storage.save(key, ContentFile(b"%PDF"))
    upload = stored_file(staff_member, key)
    response = client.post(f"/admin/files/storedfile/{upload.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not apps.get_model("files", "StoredFile").objects.filter(pk=upload.pk).exists()
    assert not default_storage.exists(key)


def test_deleting_contact_messages_removes_their_attachments(client, staff_member):
    key = default_storage.save(f"contact/{uuid.uuid4()}/cv.pdf", ContentFile(b"%PDF"))
    message = contact_message(attachment_key=key, attachment_name="cv.pdf")
    response = client.post(
        "/admin/pages/contactmessage/",
        {"action": "delete_selected", "_selected_action": [message.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not apps.get_model("pages", "ContactMessage").objects.exists()
    assert not default_storage.exists(key)
