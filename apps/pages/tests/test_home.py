from django.contrib.staticfiles import finders


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
