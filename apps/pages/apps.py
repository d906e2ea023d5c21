from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from apps.core.navigation import NavEntry


class PagesConfig(AppConfig):
    name = "apps.pages"
    label = "pages"
    verbose_name = "Pages"
    # Contact messages: staff read and remove them, attachment and all.
    staff_permissions = ["view_contactmessage", "delete_contactmessage"]
    navigation = [
        NavEntry("pages:how-it-works", _("How it works"), order=10),
        NavEntry("pages:about", _("About"), order=20),
        NavEntry("pages:contact", _("Contact"), order=30),
    ]
