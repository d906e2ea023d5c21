"""``manage.py messages`` (``make messages``): re-extract and compile the translation catalogs
of every app of ours, so a new app's strings are extracted as soon as it is installed.

Django's makemessages and compilemessages work on the directory they run in; this runs them
in each app's directory in turn, as one would by hand, into the app's own ``locale/``.
"""

import contextlib
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


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
            "--list",
            action="store_true",
            dest="list_apps",
            help="Print the apps' directories (relative to BASE_DIR); extract nothing.",
        )

    def handle(self, *args, list_apps, **options):
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
