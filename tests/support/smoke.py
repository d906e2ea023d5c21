"""One visit a deployed server target must get through: pages, health, sign-in, a session
round trip and a direct upload. Run on gunicorn (test_server_target.py) and on the image
(test_container.py).
"""

import http.client
import urllib.parse

from deploy.tools.harness.browser import multipart


def smoke_scenario(browser, username, password):
    """Home, health, readiness, login, a session round trip and an upload; returns what it saw."""
    home = browser.get("/")
    if home.status in (301, 302):  # a language prefix: at most one redirect, same host
        location = urllib.parse.urlsplit(home.headers["Location"])
        assert location.netloc in ("", browser.host), home.headers["Location"]
        home = browser.get(location.path)
    assert home.status == 200, (home.status, home.headers)
    assert browser.get("/healthz").json() == {"status": "ok"}
    ready = browser.get("/readyz")
    assert ready.status == 200, ready.text
    assert set(ready.json()["checks"].values()) == {"ok"}

    login = browser.login(username, password)
    assert login.status == 302, login.text[:2000]
    assert "sessionid" in browser.cookies
    me = browser.get("/accounts/me/")  # the session, read back from DynamoDB
    assert me.status == 200, me.text
    assert me.json()["email"] == username

    data = b"hello from the server target\n"
    started = browser.post_json(
        "/api/files/", {"name": "hello.txt", "size": len(data), "content_type": "text/plain"}
    )
    assert started.status == 201, started.text
    upload = started.json()["upload"]
    body, content_type = multipart(upload["fields"], "file", "hello.txt", data)
    s3 = urllib.parse.urlsplit(upload["url"])
    connection = http.client.HTTPConnection(s3.hostname, s3.port, timeout=30)
    connection.request("POST", s3.path or "/", body=body, headers={"Content-Type": content_type})
    assert connection.getresponse().status in (200, 201, 204)
    connection.close()
    completed = browser.post(started.json()["file"]["complete_url"])
    assert completed.status == 200, completed.text
    assert completed.json()["file"]["status"] == "ready"
    return {"me": me.json(), "file": completed.json()["file"]}
