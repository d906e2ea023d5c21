from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.staticfiles import finders
from django.shortcuts import render
from django.utils import translation


def test_home_page_renders_the_base_layout(client):
    response = client.get("/en/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert 'href="/static/css/site.css"' in html
    for slot in ('class="slot-language inline"', 'class="slot-account"', '<main class="wrap"'):
        assert slot in html
    assert "One Django app, two worlds." in html


def test_stylesheet_is_vendored_and_served(client):
    assert finders.find("css/site.css")
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert b"--accent" in b"".join(response.streaming_content)


def test_home_sends_security_headers(client):
    response = client.get("/en/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_favicon_is_linked_and_favicon_ico_finds_it(client):
    assert finders.find("favicon.svg")
    html = client.get("/en/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
    assert "max-age=86400" in response["Cache-Control"]


def page_with_messages(rf, language, *added):
    """The home page as a view renders it after adding ``added`` (level, text) messages."""
    request = rf.get(f"/{language}/")
    request.user = AnonymousUser()
    request._messages = CookieStorage(request)
    for level, text in added:
        messages.add_message(request, level, text)
    with translation.override(language):
        return render(request, "pages/home.html").content.decode()


def test_messages_of_every_level_are_shown_with_their_role(rf):
    html = page_with_messages(
        rf,
        "en",
        (messages.SUCCESS, "Signed in as ada@example.com."),
        (messages.INFO, "For your information."),
        (messages.WARNING, "Careful."),
        (messages.ERROR, "That went wrong."),
    )
    area = html[html.index('<div class="messages" id="messages">') : html.index("<section")]
    for level, role, text in [
        ("success", "status", "Signed in as ada@example.com."),
        ("info", "status", "For your information."),
        ("warning", "alert", "Careful."),
        ("error", "alert", "That went wrong."),
    ]:
        assert f'<div class="message message-{level}" role="{role}">' in area
        assert f'<p class="message-text">{text}</p>' in area
    # Dismissed by static/js/messages.js (no inline script): hidden until it runs.
    assert area.count('<button type="button" class="message-dismiss" hidden>') == 4
    assert "<script" not in area


def test_message_text_is_escaped_and_the_dismiss_label_translated(rf):
    html = page_with_messages(rf, "fr", (messages.ERROR, "<b>x</b> refusé"))
    assert '<p class="message-text">&lt;b&gt;x&lt;/b&gt; refusé</p>' in html
    assert '<span class="visually-hidden">Fermer ce message</span>' in html


def test_no_messages_leaves_an_empty_area_for_scripts(client):
    html = client.get("/de/").content.decode()
    assert '<div class="messages" id="messages"></div>' in html
    assert '<template id="message-template">' in html  # what uploader.js clones
    assert '<script src="/static/js/messages.js" defer></script>' in html
