"""One user's visit, in a real browser, on every target (``make e2e``).

The same test function runs against each target of ``site`` (conftest.py), so a difference
between the serverless and the server world shows up as a failure on one of them. Every wait
is bounded; nothing asserts on how long something took.
"""

import base64
import io
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from PIL import Image

from apps.core import aws
from apps.sessions.backends.dynamodb import KEY_ATTRIBUTE as SESSIONS_KEY_ATTRIBUTE

pytestmark = pytest.mark.e2e

DEMO_USERNAME = settings.LOCALAWS_DEMO_USERNAME
DEMO_PASSWORD = settings.LOCALAWS_DEMO_PASSWORD

# The uploader's rows, once every one has finished (ok or error); null until then. Polled
# every animation frame: the page reloads itself 0.6 s after the last upload.
UPLOAD_ROWS = """(count) => {
  const rows = [...document.querySelectorAll("#uploads .upload")];
  const finished = (row) => row.classList.contains("ok") || row.classList.contains("error");
  if (rows.length < count || !rows.every(finished)) return null;
  return rows.map((row) => ({
    name: row.querySelector(".upload-name").textContent,
    state: row.querySelector(".upload-state").textContent,
    progress: row.querySelector("progress").value,
  }));
}"""

# A real drag and drop as the page sees it: File objects in a DataTransfer, built in the page
# from the test's bytes, carried by dragenter, dragover and drop events on the drop zone.
DROP_FILES = """(files) => {
  const transfer = new DataTransfer();
  for (const file of files) {
    const bytes = Uint8Array.from(atob(file.data), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], file.name, { type: file.type }));
  }
  const zone = document.getElementById("dropzone");
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = { bubbles: true, cancelable: true, dataTransfer: transfer };
    zone.dispatchEvent(new DragEvent(type, init));
  }
}"""

# An inline script slipped into the page, as an injection would: the policy must refuse it.
INJECT_SCRIPT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.injectedRan = true;";
  document.head.append(script);
}"""

THUMBNAILS_LOADED = """(count) => {
  const images = [...document.querySelectorAll("#files td.thumb img")];
  return images.length === count && images.every((img) => img.complete && img.naturalWidth > 0);
}"""


def png(color):
    out = io.BytesIO()
    Image.new("RGB", (96, 64), color).save(out, "PNG")
    return out.getvalue()


UPLOADS = {
    "red.png": ("image/png", png((200, 30, 30))),
    "blue.png": ("image/png", png((30, 30, 200))),
    "notes.txt": ("text/plain", b"Amphibian end to end: the same bytes back.\n" * 20),
}


def session_item(site, session_key):
    dynamodb = aws.client("dynamodb", endpoint=site.stack.url)
    return dynamodb.get_item(
        TableName=settings.SESSIONS_TABLE,
        Key={SESSIONS_KEY_ATTRIBUTE: {"S": session_key}},
        ConsistentRead=True,
    ).get("Item")


def cookie(page, name):
    return next((c["value"] for c in page.context.cookies() if c["name"] == name), None)


def row(page, name):
    return page.locator("#files tbody tr", has_text=name)


def assert_static_files_from(site, page):
    """The page's stylesheets and scripts are where the target serves static files from
    (the static bucket on Lambda), and answer there."""
    urls = page.eval_on_selector_all(
        "link[rel=stylesheet], script[src]", "(elements) => elements.map((e) => e.href || e.src)"
    )
    assert urls, "the page links static files"
    for url in urls:
        assert url.startswith(site.static_url), (url, site.static_url)
        assert page.request.get(url).status == 200, url


def test_visit(site, page, screenshots):
    from playwright.sync_api import expect

    # Sign in with the local Cognito from the header's link, back to the page we were on.
    page.goto(site.url("/en/"))
    assert_static_files_from(site, page)
    page.locator(".slot-account a.button").click()
    page.fill("#id_username", DEMO_USERNAME)
    page.fill("#id_password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".slot-account .who")).to_have_text(DEMO_USERNAME)
    assert page.url == site.url("/en/"), site.log_tail()
    session_key = cookie(page, "sessionid")
    assert session_key and session_item(site, session_key), "the session is in DynamoDB"

    # Three files dropped on the drop zone; each row's progress reaches "uploaded".
    page.locator(".site-nav a[href$='/files/']").click()
    zone = page.locator("#dropzone")
    expect(zone, f"uploader.js did not run: {page.problems}").to_be_visible()
    assert_static_files_from(site, page)
    uploaded_text = zone.get_attribute("data-text-uploaded")
    files = [
        {"name": name, "type": kind, "data": base64.b64encode(data).decode()}
        for name, (kind, data) in UPLOADS.items()
    ]
    page.evaluate(DROP_FILES, files)
    rows = page.wait_for_function(UPLOAD_ROWS, arg=len(files), polling="raf", timeout=60_000)
    states = {r["name"]: (r["state"], r["progress"]) for r in rows.json_value()}
    assert states == dict.fromkeys(UPLOADS, (uploaded_text, 100)), (states, page.problems)

    # The page reloads itself: the three files are listed, the two images with thumbnails
    # (made by a background task: inline locally, a worker or an invocation elsewhere).
    expect(page.locator("#files tbody tr[data-id]")).to_have_count(3, timeout=30_000)
    for _attempt in range(15):
        if page.locator("#files td.thumb img").count() == 2:
            break
        page.wait_for_timeout(1000)
        page.reload()
    page.wait_for_function(THUMBNAILS_LOADED, arg=2, timeout=20_000)
    for name in UPLOADS:
        expect(row(page, name)).to_have_class("status-ready")
    # The most telling page of the visit (the README shows one): the viewport, kept small.
    page.screenshot(path=str(screenshots / "files.png"), timeout=10_000)

    # Download one: the bytes that come back are the bytes that went up.
    with page.expect_download() as download_info:
        row(page, "notes.txt").locator("a", has_text="Download").click()
    download = download_info.value
    assert download.suggested_filename == "notes.txt"
    assert Path(download.path()).read_bytes() == UPLOADS["notes.txt"][1]

    # Delete one.
    row(page, "blue.png").locator("button", has_text="Delete").click()
    expect(page.locator("#files tbody tr[data-id]")).to_have_count(2)
    expect(row(page, "blue.png")).to_have_count(0)
    expect(page.locator("#files td.thumb img")).to_have_count(1)

    # The language switcher keeps the page: /en/about/ -> /fr/a-propos/.
    page.goto(site.url("/en/about/"))
    page.select_option("#language", "fr")
    page.locator("form.slot-language button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert page.url == site.url("/fr/a-propos/")

    # The contact form, in French, with an attachment.
    page.locator(".site-nav a[href$='/contact/']").click()
    assert page.url == site.url("/fr/contact/")
    page.fill("#id_name", "Ada")
    page.fill("#id_email", "ada@example.com")
    page.fill("#id_message", "Bonjour depuis le navigateur.")
    page.set_input_files(
        "#id_attachment",
        {"name": "note.txt", "mimeType": "text/plain", "buffer": b"une piece jointe\n"},
    )
    page.locator("main form button[type=submit]").click()
    expect(page.locator("main h1")).to_have_text("Merci")

    # A 404 in French.
    response = page.goto(site.url("/fr/nope/"))
    assert response.status == 404
    expect(page.locator("main h1")).to_have_text("Cette page n'existe pas")

    # Sign out: signed out in the browser, and the session item is gone from DynamoDB.
    page.locator(".slot-account button[type=submit]").click()
    expect(page.locator(".slot-account a.button")).to_be_visible()
    assert session_item(site, session_key) is None
    assert cookie(page, "sessionid") is None


def test_policy_refuses_and_reports_an_injected_script(site, page):
    """The policy is on, and what test_visit is checked for is seen: an inline script added
    to a page does not run, the page sees the violation and the target logs its report."""
    response = page.goto(site.url("/en/about/"))
    header = response.headers["content-security-policy"]
    policy = {name: " ".join(sources) for name, *sources in map(str.split, header.split(";"))}
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    # Under the stage prefix on the Lambda gateway, where the function's URLs live.
    assert policy["report-uri"] == urlsplit(site.base_url).path + "/csp-report"
    page.evaluate(INJECT_SCRIPT)
    page.wait_for_timeout(200)
    assert page.evaluate("window.injectedRan") is None
    assert [v.get("directive") for v in page.csp_violations if "directive" in v] == [
        "script-src-elem"
    ], page.csp_violations
    deadline = time.monotonic() + 20
    while not (reported := site.csp_reports(page.csp_log_since)):
        assert time.monotonic() < deadline, f"no report logged: {site.log_tail()}"
        time.sleep(0.2)
    assert "script-src-elem" in reported[0], reported
    page.csp_violations.clear()
    page.csp_log_since = site.log_sizes()
