from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from apps.core.navigation import NavEntry


class FilesConfig(AppConfig):
    name = "apps.files"
    label = "files"
    verbose_name = "Files"
    # Files arrive by upload only: staff may look and remove (the bytes go too).
    staff_permissions = ["view_storedfile", "delete_storedfile"]
    navigation = [NavEntry("files:list", _("My files"), order=40, sign_in=True)]
