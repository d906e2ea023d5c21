"""What staff may do in the admin: the model permissions of the Django group named by
``COGNITO_STAFF_GROUP``, kept equal to what the apps declare after every ``migrate``.

Each app says what staff may do with its own models: its AppConfig's ``staff_permissions``,
codenames of its models' permissions (``["view_post", "change_post"]``); an app that says
nothing gives staff nothing. No app names another's.

Members of that Cognito group get ``is_staff`` and this Django group at each sign-in
(services.sync_user_groups); members of ``COGNITO_SUPERUSER_GROUP`` get every permission.
The group is synced on ``post_migrate`` rather than by a data migration: Django creates
permissions on ``post_migrate`` too, an app at a time, so a data migration would run before
the permissions of apps migrated after it exist. The sync runs after each app's permissions
are made, and sets the group's permissions to exactly the list: a permission added to the
group in the admin is removed again at the next ``migrate``, one taken off the list too.
"""

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_permission_codename
from django.contrib.auth.models import Group, Permission
from django.core.checks import Error, Tags, register
from django.db import DEFAULT_DB_ALIAS, router


def declared_staff_permissions():
    """``"app_label.codename"`` (as ``user.has_perm()`` spells them) of every installed
    app's ``staff_permissions``."""
    return sorted(
        f"{config.label}.{codename}"
        for config in apps.get_app_configs()
        for codename in getattr(config, "staff_permissions", ())
    )


def staff_permissions(using=DEFAULT_DB_ALIAS):
    """The ``Permission`` rows the apps declare for staff, of those that exist yet."""
    wanted = {tuple(name.split(".", 1)) for name in declared_staff_permissions()}
    candidates = Permission.objects.using(using).filter(
        codename__in={codename for _, codename in wanted}
    )
    return [
        permission
        for permission in candidates.select_related("content_type")
        if (permission.content_type.app_label, permission.codename) in wanted
    ]


def grant_staff_permissions(group, using=DEFAULT_DB_ALIAS):
    """Set ``group``'s permissions to exactly the staff set (writing only the difference)."""
    group.permissions.set(staff_permissions(using))


def sync_staff_group(using=DEFAULT_DB_ALIAS):
    """Create the staff group if it is missing and give it exactly the staff permissions."""
    group, _ = Group.objects.using(using).get_or_create(name=settings.COGNITO_STAFF_GROUP)
    grant_staff_permissions(group, using)
    return group


def sync_staff_group_after_migrate(sender, using=DEFAULT_DB_ALIAS, **kwargs):
    """``post_migrate`` receiver, for every app: the permissions of apps migrated so far."""
    if router.allow_migrate_model(using, Group):
        sync_staff_group(using)


def unknown_permissions(names):
    """The names in ``names`` that no installed model's permissions spell."""
    known: set[str] = set()
    for model in apps.get_models():
        opts = model._meta
        codenames = [get_permission_codename(action, opts) for action in opts.default_permissions]
        codenames += [codename for codename, _ in opts.permissions]
        known.update(f"{opts.app_label}.{codename}" for codename in codenames)
    return [name for name in names if name not in known]


@register(Tags.models)
def check_staff_permissions(app_configs, **kwargs):
    """A misspelt or removed permission would silently never be granted: say so at startup."""
    return [
        Error(
            f"staff_permissions names {name!r}, which no installed model has.",
            hint="List codenames of the app's own models' permissions in its AppConfig's "
            "staff_permissions, e.g. ['view_storedfile'].",
            obj="apps.accounts.staff",
            id="accounts.E004",
        )
        for name in unknown_permissions(declared_staff_permissions())
    ]
