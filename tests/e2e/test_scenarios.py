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
# every animation frame, so no state between two polls is missed.
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

# Where each item of the header is, and whether its text broke onto a second line: the
# brand, the navigation's links, the language switcher's controls, the account slot's.
HEADER_ITEMS = """() => {
  const header = document.querySelector(".site-header");
  const selector = ".brand, .site-nav a, .slot-language select, .slot-language button, "
    + ".slot-account .who, .slot-account .button";
  const lines = (element) => {
    if (element.matches("select")) return 1;
    const range = document.createRange();
    range.selectNodeContents(element);
    return new Set([...range.getClientRects()].map((rect) => Math.round(rect.bottom))).size;
  };
  const items = [...header.querySelectorAll(selector)]
    .filter((element) => element.getClientRects().length > 0)
    .map((element) => {
      const rect = element.getBoundingClientRect();
      return {
        name: element.matches("select") ? "language" : element.textContent.trim(),
        left: rect.left, right: rect.right, top: rect.top, bottom: rect.bottom,
        lines: lines(element),
      };
    });
  return {
    height: header.getBoundingClientRect().height,
    width: document.documentElement.clientWidth,
    viewportHeight: window.innerHeight,
    scrollWidth: document.documentElement.scrollWidth,
    items,
  };
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
# Dropped with them and refused before any byte moves: a type the locker does not take.
REFUSED = ("tool.exe", "application/x-msdownload", b"MZ not really a program")


def session_item(site, session_key):
    dynamodb = aws.client("dynamodb", endpoint=site.stack.url)
    return dynamodb.get_item(
        TableName=site.sessions_table,
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


def sign_in(site, page, path="/en/"):
    """Sign in with the local Cognito from the header's link on ``path``, back to it."""
    from playwright.sync_api import expect

    page.goto(site.url(path))
    page.locator(".slot-account a.button").click()
    page.fill("#id_username", DEMO_USERNAME)
    page.fill("#id_password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".slot-account .who")).to_have_text(DEMO_USERNAME)
    assert page.url == site.url(path), site.log_tail()


def rows_of(items, tolerance=6):
    """The header's items grouped into the rows they sit on (by vertical centre)."""
    rows = []
    for item in sorted(items, key=lambda item: item["top"] + item["bottom"]):
        centre = (item["top"] + item["bottom"]) / 2
        if rows and abs(centre - rows[-1]["centre"]) <= tolerance:
            rows[-1]["items"].append(item["name"])
        else:
            rows.append({"centre": centre, "items": [item["name"]]})
    return [row["items"] for row in rows]


def header_problems(page, width):
    """What is wrong with the header as the page shows it at ``width``: an item broken onto a
    second line of its own, outside the viewport or over another; at 1280 px more than one
    row, on a phone (rows by design) more than a quarter of the screen's height."""
    layout = page.evaluate(HEADER_ITEMS)
    items = layout["items"]
    where = f"{urlsplit(page.url).path} at {width} px"
    problems = []
    if layout["scrollWidth"] > layout["width"]:
        problems.append(f"{where}: the page scrolls sideways")
    for item in items:
        if item["lines"] != 1:
            problems.append(f"{where}: {item['name']!r} takes {item['lines']} lines")
        if item["left"] < 0 or item["right"] > layout["width"]:
            problems.append(f"{where}: {item['name']!r} is outside the viewport")
    for index, first in enumerate(items):
        for second in items[index + 1 :]:
            apart = (
                first["right"] <= second["left"] + 0.5
                or second["right"] <= first["left"] + 0.5
                or first["bottom"] <= second["top"] + 0.5
                or second["bottom"] <= first["top"] + 0.5
            )
            if not apart:
                problems.append(f"{where}: {first['name']!r} overlaps {second['name']!r}")
    rows = rows_of(items)
    if width >= 1280 and len(rows) > 1:
        problems.append(f"{where}: {len(rows)} rows, {rows}")
    if layout["height"] > layout["viewportHeight"] / 4:
        problems.append(f"{where}: the header is {layout['height']} px high, rows {rows}")
    return problems


def test_visit(site, page, screenshots):
    from playwright.sync_api import expect

    # Sign in with the local Cognito from the header's link, back to the page we were on.
    page.goto(site.url("/en/"))
    assert_static_files_from(site, page)
    sign_in(site, page)
    # The page says so, until dismissed (messages.js shows the button).
    signed_in = page.locator("#messages .message[role=status]", has_text=DEMO_USERNAME)
    expect(signed_in).to_be_visible()
    page.screenshot(path=str(screenshots / "signed-in.png"), timeout=10_000)
    signed_in.locator(".message-dismiss").click()
    expect(signed_in).to_have_count(0)
    session_key = cookie(page, "sessionid")
    assert session_key and session_item(site, session_key), "the session is in DynamoDB"

    # Three files dropped on the drop zone; each row's progress reaches "uploaded".
    page.locator(".site-nav a[href$='/files/']").click()
    zone = page.locator("#dropzone")
    expect(zone, f"uploader.js did not run: {page.problems}").to_be_visible()
    expect(page.locator("#fallback"), "the plain form is for pages without it").to_be_hidden()
    assert_static_files_from(site, page)
    uploaded_text = zone.get_attribute("data-text-uploaded")
    not_uploaded_text = zone.get_attribute("data-text-not-uploaded")
    files = [
        {"name": name, "type": kind, "data": base64.b64encode(data).decode()}
        for name, (kind, data) in [*UPLOADS.items(), (REFUSED[0], REFUSED[1:])]
    ]
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    page.evaluate(DROP_FILES, files)
    rows = page.wait_for_function(UPLOAD_ROWS, arg=len(files), polling="raf", timeout=60_000)
    states = {r["name"]: (r["state"], r["progress"]) for r in rows.json_value()}
    expected = {**dict.fromkeys(UPLOADS, (uploaded_text, 100)), REFUSED[0]: (not_uploaded_text, 0)}
    assert states == expected, (states, page.problems)

    # The list updates in place, without a reload: the three files are listed. The refusal
    # is a message across the page's width, there until dismissed.
    expect(page.locator("#files tbody tr[data-id]")).to_have_count(3, timeout=30_000)
    assert page.evaluate("window.sameDocument"), "the page reloaded"
    refusal = page.locator("#messages .message[role=alert]", has_text=REFUSED[0])
    expect(refusal).to_be_visible()
    assert refusal.bounding_box()["width"] >= page.locator("main h1").bounding_box()["width"] - 1
    page.screenshot(path=str(screenshots / "uploads.png"), timeout=10_000)
    page.wait_for_timeout(1500)
    expect(refusal).to_be_visible()
    refusal.locator(".message-dismiss").click()
    expect(refusal).to_have_count(0)

    # The two images get thumbnails (made by a background task: inline locally, a worker or
    # an invocation elsewhere), which the page shows once reloaded.
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

    # Delete one: the page after says so.
    row(page, "blue.png").locator("button", has_text="Delete").click()
    deleted = page.locator("#messages .message[role=status] .message-text")
    expect(deleted).to_have_text("Deleted blue.png.")
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


HEADER_WIDTHS = {1280: 800, 390: 844}  # a laptop, a phone: (width, height) in CSS pixels
HOME = {"en": "/en/", "fr": "/fr/", "de": "/de/"}
FILES = {"en": "/en/files/", "fr": "/fr/files/", "de": "/de/files/"}


def test_header_holds_in_every_language(site, page, screenshots):
    """The header at a laptop's and a phone's width, in English, French and German, signed
    out and signed in (the longest: the e-mail address and 'sign out' join it). Saved to look
    at: signed-out-<language>-<width>.png (home), signed-in-<language>-<width>.png (files)."""
    problems = []
    for width, height in HEADER_WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        for language, path in HOME.items():
            page.goto(site.url(path))
            page.screenshot(path=str(screenshots / f"signed-out-{language}-{width}.png"))
            problems += header_problems(page, width)
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(site, page)
    for width, height in HEADER_WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        for language in ("en", "fr", "de"):
            page.goto(site.url(HOME[language]))
            problems += header_problems(page, width)
            page.goto(site.url(FILES[language]))
            page.screenshot(path=str(screenshots / f"signed-in-{language}-{width}.png"))
            problems += header_problems(page, width)
    assert problems == []


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
