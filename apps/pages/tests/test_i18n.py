"""Translations, hreflang, sitemap, localized error pages, the language switcher."""

import re
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from django.utils import translation
from django.views.defaults import server_error

PAGES = {
    "home": {"en": "/en/", "fr": "/fr/", "de": "/de/"},
    "about": {"en": "/en/about/", "fr": "/fr/a-propos/", "de": "/de/ueber-uns/"},
    "how": {
        "en": "/en/how-it-works/",
        "fr": "/fr/fonctionnement/",
        "de": "/de/so-funktioniert-es/",
    },
    "contact": {"en": "/en/contact/", "fr": "/fr/contact/", "de": "/de/kontakt/"},
}
HEADINGS = {"en": "How it works", "fr": "Fonctionnement", "de": "So funktioniert es"}


def alternates(html):
    return dict(re.findall(r'<link rel="alternate" hreflang="([^"]+)" href="([^"]+)">', html))


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_every_page_in_every_language_with_reciprocal_hreflang(client, page, language):
    response = client.get(PAGES[page][language])
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert f'<link rel="canonical" href="http://testserver{PAGES[page][language]}">' in html
    expected = {code: f"http://testserver{path}" for code, path in PAGES[page].items()}
    expected["x-default"] = expected["en"]
    assert alternates(html) == expected  # the same set from every language: reciprocal


@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_navigation_is_translated(client, language):
    html = client.get(PAGES["home"][language]).content.decode()
    assert HEADINGS[language] in html


def test_sitemap_lists_every_page_with_alternates(client):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = ET.fromstring(response.content)  # noqa: S314 - our own sitemap
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    urls = root.findall("s:url", ns)
    locations = {url.find("s:loc", ns).text for url in urls}
    assert locations == {
        f"http://testserver{path}" for page in PAGES.values() for path in page.values()
    }
    for url in urls:
        links = {link.get("hreflang") for link in url.findall("x:link", ns)}
        assert links == {"en", "fr", "de", "x-default"}


def test_robots_txt_points_at_the_sitemap(client):
    body = client.get("/robots.txt").content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in body
    assert "Disallow: /admin/" in body


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/en/nope/", "This page does not exist"),
        ("/fr/nope/", "Cette page n'existe pas"),
        ("/de/nope/", "Diese Seite gibt es nicht"),
    ],
)
def test_404_in_the_language_of_the_url(client, path, title):
    response = client.get(path)
    assert response.status_code == 404
    assert title in response.content.decode()
    assert 'class="site-header"' in response.content.decode()


def test_404_outside_pages_uses_the_visitors_language(client):
    response = client.get("/api/nope", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 404
    assert "Diese Seite gibt es nicht" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "title"),
    [
        ("en", "Something went wrong"),
        ("fr", "Une erreur s'est produite"),
        ("de", "Etwas ist schiefgelaufen"),
    ],
)
def test_500_page_renders_without_the_database(rf, django_assert_num_queries, language, title):
    with translation.override(language), django_assert_num_queries(0):
        response = server_error(rf.get(f"/{language}/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert title in html and f'<html lang="{language}">' in html


def test_language_switcher_keeps_the_page_and_sets_the_cookie(client):
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/fr/a-propos/"})
    assert response.status_code == 302
    assert response["Location"] == "/de/ueber-uns/"
    assert response.cookies["django_language"].value == "de"
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="fr")["Location"].endswith("/de/")


def test_switcher_is_on_every_page(client):
    html = client.get("/fr/a-propos/").content.decode()
    assert 'action="/i18n/setlang/"' in html
    assert '<option value="fr" lang="fr" selected>Français</option>' in html


@pytest.mark.parametrize(
    ("path", "label"),
    [("/en/", "Change language"), ("/fr/", "Changer de langue"), ("/de/", "Sprache wechseln")],
)
def test_switcher_button_says_change_language(client, path, label):
    """Not the admin's "Go" (Envoyer, Ausführen: send, execute), which won over ours."""
    html = client.get(path).content.decode()
    assert f'<button type="submit" class="button button-quiet">{label}</button>' in html


def test_csrf_failure_page_in_the_right_language():
    response = Client(enforce_csrf_checks=True).post("/fr/contact/", {"name": "x"})
    assert response.status_code == 403
    assert "Formulaire expiré" in response.content.decode()


def test_language_switcher_keeps_the_api_gateway_stage(client):
    """Under API Gateway's /dev/ stage the switcher's next is the path inside the app."""
    page = client.get("/en/about/", SCRIPT_NAME="/dev").content.decode()
    assert '<input type="hidden" name="next" value="/en/about/">' in page
    response = client.post(
        "/i18n/setlang/", {"language": "fr", "next": "/en/about/"}, SCRIPT_NAME="/dev"
    )
    assert response["Location"] == "/dev/fr/a-propos/"
