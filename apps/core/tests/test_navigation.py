"""The navigation the installed apps declare on their AppConfig (apps.core.navigation)."""

import re
from types import SimpleNamespace

from django.apps import AppConfig
from django.test import modify_settings
from django.utils import translation

from apps.core import navigation
from apps.core.navigation import NavEntry

SIGNED_OUT = SimpleNamespace(is_authenticated=False)
SIGNED_IN = SimpleNamespace(is_authenticated=True)


class ExtraNavigation(AppConfig):
    """An app that adds a link, as a new app would: its AppConfig alone."""

    name = "apps.core.tests"
    label = "navigation_test"
    navigation = [
        NavEntry("robots-txt", "Robots", order=15),
        NavEntry("healthz", "Health", order=99, sign_in=True),
    ]


def nav_links(html):
    nav = re.search(r'<nav class="site-nav"[^>]*>(.*?)</nav>', html, re.S).group(1)
    return re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)


def labels(links):
    return [str(link.label) for link in links]


def test_apps_declare_the_site_navigation_in_order(rf):
    request = rf.get("/en/")
    with translation.override("en"):
        assert labels(navigation.links(request, SIGNED_OUT)) == [
            "How it works",
            "About",
            "Contact",
        ]
        signed_in = navigation.links(request, SIGNED_IN)
    assert labels(signed_in) == ["How it works", "About", "Contact", "My files"]
    assert signed_in[-1].url == "/en/files/"


def test_signed_out_pages_show_no_sign_in_entries(client):
    links = nav_links(client.get("/en/").content.decode())
    assert links == [
        ("/en/how-it-works/", "How it works"),
        ("/en/about/", "About"),
        ("/en/contact/", "Contact"),
    ]


def test_links_are_in_the_pages_language(client):
    links = nav_links(client.get("/de/").content.decode())
    assert links == [
        ("/de/so-funktioniert-es/", "So funktioniert es"),
        ("/de/ueber-uns/", "Über uns"),
        ("/de/kontakt/", "Kontakt"),
    ]


def test_the_current_page_is_marked(client):
    html = client.get("/fr/a-propos/").content.decode()
    assert '<a href="/fr/a-propos/" aria-current="page">À propos</a>' in html
    assert html.count('aria-current="page"') == 1


@modify_settings(INSTALLED_APPS={"append": "apps.core.tests.test_navigation.ExtraNavigation"})
def test_an_app_adds_its_entry_with_its_app_config(client, rf):
    links = nav_links(client.get("/en/").content.decode())
    assert ("/robots.txt", "Robots") in links
    assert [label for _url, label in links].index("Robots") == 1  # order 15: after 10
    assert ("/healthz", "Health") not in links  # sign_in=True, and nobody signed in
    with translation.override("en"):
        assert "Health" in labels(navigation.links(rf.get("/en/"), SIGNED_IN))


def test_pages_rendered_without_a_request_get_the_public_entries():
    with translation.override("en"):
        assert labels(navigation.links(None, None)) == ["How it works", "About", "Contact"]
