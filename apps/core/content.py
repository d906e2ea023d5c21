"""What a file really is: safe keys from user names, and types sniffed from the first bytes."""

import re
import unicodedata

SNIFF_BYTES = 64 * 1024

# Signatures of the types the site accepts (FILES_ALLOWED_TYPES chooses among them).
_SIGNATURES = (
    ("image/png", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    ("image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff")),
    ("image/gif", lambda head: head[:6] in (b"GIF87a", b"GIF89a")),
    ("image/webp", lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
    ("application/pdf", lambda head: head.startswith(b"%PDF-")),
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name, max_length=100):
    """An ASCII file name that is safe as the last part of an S3 key (and in a URL)."""
    name = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # no directories, whoever's separator
    name = _UNSAFE.sub("-", name).strip(".-_")
    if len(name) > max_length:
        stem, dot, extension = name.rpartition(".")
        extension = extension[:10] if dot else ""
        name = (stem if dot else name)[: max_length - len(extension) - 1].rstrip(".-_")
        name = f"{name}.{extension}" if extension else name
    return name or "file"


def sniff(head):
    """The content type the first bytes prove, or None."""
    for content_type, matches in _SIGNATURES:
        if matches(head):
            return content_type
    if _looks_like_text(head):
        return "text/plain"
    return None


def _looks_like_text(head):
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True
