"""Every app's catalogs are complete: the apps and languages are the ones `make messages`
extracts (``manage.py messages``), so a new app's strings are checked once it is installed."""

import gettext
import io
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.fixtures import require

# Where an app marks a string for translation: gettext and its variants in Python, the i18n
# tags in templates.
TRANSLATABLE = re.compile(
    r"\b\w*gettext\w*\b|{%\s*(?:trans|translate|blocktrans|blocktranslate)\b"
)


def translated_apps():
    """The app directories `make messages` extracts: every installed app under apps/."""
    listing = io.StringIO()
    call_command("messages", "--list", stdout=listing)
    return listing.getvalue().split()


def languages():
    """The languages translated into, as `make messages` has them: LANGUAGES but the source."""
    return [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def marks_strings(app_dir):
    """Whether the app's code or templates (not its tests) mark any string for translation."""
    sources = (
        path
        for path in app_dir.rglob("*")
        if path.suffix in (".py", ".html", ".txt")
        and "tests" not in path.relative_to(app_dir).parts
    )
    return any(TRANSLATABLE.search(path.read_text()) for path in sources)


@pytest.mark.parametrize("app", translated_apps())
@pytest.mark.parametrize("language", languages())
def test_every_string_is_translated_and_compiled(app, language):
    """The committed .mo holds every msgid of the .po: nothing untranslated, fuzzy or stale."""
    app_dir = Path(settings.BASE_DIR) / app
    messages = app_dir / "locale" / language / "LC_MESSAGES"
    if not (messages / "django.po").exists():
        assert not marks_strings(app_dir), f"{app} has no {language} catalog: run make messages"
        return
    po = (messages / "django.po").read_text()
    entries = po.split("\n\n")[1:]  # the first block is the header, fuzzy by convention
    assert not [entry for entry in entries if "#, fuzzy" in entry]
    msgids = po.count("\nmsgid ") - 1  # minus the header entry
    with open(messages / "django.mo", "rb") as mo:
        catalog = gettext.GNUTranslations(mo)._catalog
    # A plural's forms are keyed (msgid, n): one msgid of the .po.
    translated = {key[0] if isinstance(key, tuple) else key for key, value in catalog.items()}
    assert len(translated - {""}) == msgids


def test_the_catalogs_hold_what_the_code_marks_today():
    """Extracted afresh (into a copy of each app): every string the code and templates mark
    is in the catalogs and translated, and nothing they hold is gone from the code. Without
    this, a string added since the last `make messages` shows untranslated unnoticed."""
    if not shutil.which("xgettext"):
        require(False, "xgettext (gettext)", "apt-get install gettext (make messages does it)")
    call_command("messages", "--check")
