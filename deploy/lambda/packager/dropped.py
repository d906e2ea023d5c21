"""What the rewrite removes from Zappa's zip, and why; what must not be in it at all.

Zappa's name patterns (the stage's ``exclude``) cannot reach these: tests inside
packages, locales the site does not offer, .po sources, packages' static sources,
wheel RECORD files, Zappa's deploy-side modules, and native code nothing here loads.
"""

from . import normalize

SITE_LANGUAGES = {"en", "fr", "de"}  # settings.LANGUAGES; other catalogs are never loaded
# Zappa's deploy side (troposphere, click...) and its own handler (werkzeug), which is not
# the function's: deploy.lambda.handler is. ``zappa.asynchronous`` and its utilities stay.
ZAPPA_UNUSED = (
    "zappa/cli.py",
    "zappa/core.py",
    "zappa/letsencrypt.py",
    "zappa/policies",
    "zappa/handler.py",
    "zappa/middleware.py",
    "handler.py",
    "django_zappa_app.py",
    # A build id and time nobody reads; it alone would make every build's zip differ.
    "package_info.json",
)
# Native code and modules nothing here loads: GeoDjango (not installed), Pillow's AVIF
# decoder (its plugin reports AVIF unsupported without it; an AVIF upload gets no
# thumbnail), its font rendering and Tk bindings, with the libraries only they link.
NEVER_LOADED = (
    "django/contrib/gis",
    "PIL/_avif.",
    "PIL/_imagingft.",
    "PIL/_imagingtk.",
    "pillow.libs/libavif-",
    "pillow.libs/libfreetype-",
    "pillow.libs/libharfbuzz-",
    "pillow.libs/libbrotli",
    "pillow.libs/libpng16-",
)
# Must not be in the function: Zappa's CLI-only distributions, and what the python3.13
# runtime already provides (the AWS SDK, its runtime interface client and SnapStart's
# snapshot_restore_py). Kept out by the stage's ``exclude``; checked here.
NOT_SHIPPED = {
    "argcomplete", "awslambdaric", "boto3", "botocore", "certifi", "cfn_flip",
    "charset_normalizer", "click", "gunicorn", "hjson", "idna", "jmespath", "kappa",
    "markupsafe", "pip", "placebo", "python_dateutil", "python_slugify", "pyyaml", "redis",
    "requests", "s3transfer", "setuptools", "six", "snapshot_restore_py", "text_unidecode",
    "toml", "tqdm", "troposphere", "urllib3", "werkzeug", "wheel",
}  # fmt: skip


def removal_reason(path, static_storage="whitenoise"):
    parts = path.parts
    if "tests" in parts[:-1] or (path.name == "tests" and len(parts) > 1):
        return "tests"
    if "locale" in parts[:-2]:
        # Files inside locale/<language>/; locale/__init__.py (Django's LANG_INFO) stays.
        language = parts[parts.index("locale") + 1]
        if language[0].isalpha() and language.split("_")[0] not in SITE_LANGUAGES:
            return "locales"
    if path.suffix == ".po":
        return "locales"  # catalogs' sources: gettext reads the compiled .mo
    if "static" in parts[1:-1] and parts[0] not in ("static", "var"):
        # Packages' static sources: collectstatic copied them into var/staticfiles.
        return "app static sources"
    if parts[0] == "static" and len(parts) > 1 and static_storage == "s3":
        return "app static sources"  # in the static bucket; only the manifest ships
    if path.name == "RECORD" and parts[0].endswith(".dist-info"):
        # The wheel's installed-files list, wrong once files are removed; never read.
        return "wheel records"
    text = str(path)
    if any(text == item or text.startswith(item + "/") for item in ZAPPA_UNUSED):
        return "zappa, unused"
    if text.startswith(NEVER_LOADED):
        return "never loaded"
    return None


def not_shipped(tree):
    """Distributions of NOT_SHIPPED found in the tree (by their .dist-info)."""
    found = set()
    for info in tree.glob("*.dist-info"):
        name = normalize(info.name.rsplit("-", 1)[0])
        if name in NOT_SHIPPED:
            found.add(name)
    return found
