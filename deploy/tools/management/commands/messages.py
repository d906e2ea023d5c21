"""``manage.py messages`` (``make messages``): re-extract and compile the translation catalogs
of every app of ours, so a new app's strings are extracted as soon as it is installed.

Django's makemessages and compilemessages work on the directory they run in; this runs them
in each app's directory in turn, as one would by hand, into the app's own ``locale/``.

``--check`` extracts into a copy of each app instead and says which strings the committed
catalogs lack (marked in the code but never extracted, untranslated or fuzzy) or still hold
(no longer in the code): what ``make messages`` would change.
"""

import contextlib
import re
import shutil
import tempfile
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

# One msgid or msgstr (msgstr[N] of a plural) of a .po entry, continuation lines included.
PO_FIELD = re.compile(r'^(msgid|msgstr(?:\[\d+\])?) ((?:"(?:[^"\\]|\\.)*"\s*)+)', re.MULTILINE)


def translated_apps():
    """Our apps, in INSTALLED_APPS order: every installed app whose code is under apps/."""
    root = Path(settings.BASE_DIR) / "apps"
    return [config for config in apps.get_app_configs() if Path(config.path).is_relative_to(root)]


def catalog_languages():
    """The languages the catalogs translate into: LANGUAGES but the source, LANGUAGE_CODE."""
    return [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


class Command(BaseCommand):
    help = (
        "Re-extract the translatable strings of every installed app under apps/ into its "
        "locale/ (one catalog per language of LANGUAGES) and compile the catalogs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing: fail naming what `make messages` would add or remove.",
        )
        parser.add_argument(
            "--list",
            action="store_true",
            dest="list_apps",
            help="Print the apps' directories (relative to BASE_DIR); extract nothing.",
        )

    def handle(self, *args, list_apps, check, **options):
        if check:
            problems = [
                problem for config in translated_apps() for problem in self.changes(config)
            ]
            if problems:
                raise CommandError("Run `make messages`, then translate:\n" + "\n".join(problems))
            return
        for config in translated_apps():
            app_dir = Path(config.path)
            if list_apps:
                self.stdout.write(str(app_dir.relative_to(settings.BASE_DIR)))
            else:
                self.extract_and_compile(app_dir)

    def extract_and_compile(self, app_dir):
        locale = app_dir / "locale"
        created = not locale.exists()
        locale.mkdir(exist_ok=True)  # makemessages writes only into an existing locale/
        with contextlib.chdir(app_dir):
            call_command(
                "makemessages",
                locale=catalog_languages(),
                no_obsolete=True,
                ignore_patterns=["tests/*"],
                verbosity=0,
            )
            if created and not any(locale.iterdir()):
                locale.rmdir()  # nothing to translate in this app
                return
            call_command("compilemessages", verbosity=0)

    def changes(self, config):
        """What ``make messages`` would change in ``config``'s catalogs, one line each."""
        app_dir = Path(config.path)
        relative = app_dir.relative_to(settings.BASE_DIR)
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / app_dir.name
            shutil.copytree(app_dir, copy, ignore=shutil.ignore_patterns("tests", "__pycache__"))
            (copy / "locale").mkdir(exist_ok=True)
            with contextlib.chdir(copy):
                call_command(
                    "makemessages", locale=catalog_languages(), no_obsolete=True, verbosity=0
                )
            for language in catalog_languages():
                path = Path("locale") / language / "LC_MESSAGES" / "django.po"
                fresh = po_entries(copy / path)
                kept = po_entries(app_dir / path)
                for msgid, (translated, fuzzy) in fresh.items():
                    if msgid not in kept or not translated or fuzzy:
                        yield f"  {relative / path}: not translated: {msgid!r}"
                for msgid in kept.keys() - fresh.keys():
                    yield f"  {relative / path}: no longer in the code: {msgid!r}"


def po_entries(path):
    """``{msgid: (translated, fuzzy)}`` of a .po file (the header left out); {} if none.

    An entry is translated when it has a msgstr and every one (each plural form) is filled.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    entries = {}
    for block in text.split("\n\n"):
        fields = [(name, _unquote(value)) for name, value in PO_FIELD.findall(block)]
        msgid = next((value for name, value in fields if name == "msgid"), "")
        if msgid:
            translations = [value for name, value in fields if name.startswith("msgstr")]
            entries[msgid] = (bool(translations) and all(translations), "#, fuzzy" in block)
    return entries


def _unquote(value):
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', value))
