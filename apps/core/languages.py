"""Which language a visitor gets: an explicit choice first, then Accept-Language, then default.

The parser is ours because Django's is lenient in ways that matter for redirects (it caches
per header, gives up on long headers at once, and has no notion of ``*``). It is bounded:
at most ``MAX_HEADER`` characters and ``MAX_ENTRIES`` entries are looked at.
"""

import re

from django.conf import settings

MAX_HEADER = 500
MAX_ENTRIES = 20
_ENTRY = re.compile(
    r"^(?P<tag>\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)(?:;\s*q=(?P<q>[0-9.]{1,5}))?$"
)


def parse_accept_language(header):
    """``[(tag, q), ...]`` best first (stable for equal q); malformed entries are skipped."""
    entries = []
    for index, raw in enumerate(header[:MAX_HEADER].split(",")[:MAX_ENTRIES]):
        match = _ENTRY.match(raw.strip())
        if not match:
            continue
        try:
            quality = float(match.group("q")) if match.group("q") is not None else 1.0
        except ValueError:
            continue
        if not 0 < quality <= 1:
            continue
        entries.append((-quality, index, match.group("tag").lower()))
    return [(tag, -negative_q) for negative_q, _, tag in sorted(entries)]


def supported():
    return [code for code, _ in settings.LANGUAGES]


def from_accept_language(header):
    """The best supported language for the header, or None."""
    available = supported()
    for tag, _quality in parse_accept_language(header or ""):
        if tag == "*":
            return settings.LANGUAGE_CODE
        if tag in available:
            return tag
        primary = tag.split("-", 1)[0]
        if primary in available:
            return primary
    return None


def for_request(request):
    """Cookie (an explicit choice), then Accept-Language, then LANGUAGE_CODE."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if chosen in supported():
        return chosen
    return from_accept_language(request.headers.get("Accept-Language", "")) or (
        settings.LANGUAGE_CODE
    )
