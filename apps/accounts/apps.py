from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"
    # Users come from Cognito: staff see them and may deactivate one (the admin lets nobody
    # edit what Cognito owns, and staff cannot change a superuser). apps/accounts/staff.py.
    staff_permissions = ["view_user", "change_user"]

    def ready(self):
        # Importing registers the system checks (checks: the deploy ones; staff: its list).
        from apps.accounts import checks, staff  # noqa: F401 - checks is only imported

        # For every app, not only this one: apps after it in INSTALLED_APPS get their
        # permissions later in the same migrate (apps/accounts/staff.py).
        post_migrate.connect(
            staff.sync_staff_group_after_migrate, dispatch_uid="accounts.sync_staff_group"
        )
