"""The site's navigation, declared by the apps whose pages it leads to.

An app lists its entries on its AppConfig, with labels translated lazily (the language is
the request's, not the one active when apps load)::

    from django.utils.translation import gettext_lazy as _

    from apps.core.navigation import NavEntry

    class FilesConfig(AppConfig):
        navigation = [NavEntry("files:list", _("My files"), order=40, sign_in=True)]

base.html shows the entries of every installed app (``{% site_navigation %}``), by
``order`` then by the app's place in INSTALLED_APPS. apps.core knows no app: it only reads
the attribute.
"""

from dataclasses import dataclass
from operator import attrgetter

from django.apps import apps
from django.urls import reverse
from django.utils.functional import Promise


@dataclass(frozen=True)
class NavEntry:
    """One link of the site's navigation."""

    url_name: str  # reversed for each request: the language prefix and the stage come along
    label: str | Promise  # gettext_lazy: translated when the page renders
    order: int = 100
    sign_in: bool = False  # shown to signed-in users only


@dataclass(frozen=True)
class NavLink:
    """A NavEntry for one request: where it leads, and whether that is the page shown."""

    url: str
    label: str | Promise
    current: bool


def entries():
    """Every installed app's NavEntry, in the order the navigation shows them (the sort is
    stable: equal orders keep INSTALLED_APPS' order)."""
    declared = [
        entry for config in apps.get_app_configs() for entry in getattr(config, "navigation", ())
    ]
    return sorted(declared, key=attrgetter("order"))


def links(request, user):
    """The navigation for ``request``: entries ``user`` may follow, each with its URL."""
    signed_in = bool(user and user.is_authenticated)
    path = request.path if request is not None else None
    shown = []
    for entry in entries():
        if entry.sign_in and not signed_in:
            continue
        url = reverse(entry.url_name)
        shown.append(NavLink(url=url, label=entry.label, current=url == path))
    return shown
