"""The package's sizes, zipped and unzipped, against Lambda's limits."""

import zipfile

from . import ROOT

MAX_ZIPPED = 50 * 1024 * 1024  # Lambda: direct upload of a .zip
MAX_UNZIPPED = 250 * 1024 * 1024  # Lambda: the function and its layers, unzipped


class PackageTooLarge(SystemExit):
    pass


def sizes(package):
    """``(zipped, unzipped)`` bytes."""
    with zipfile.ZipFile(package) as archive:
        unzipped = sum(entry.file_size for entry in archive.infolist())
    return package.stat().st_size, unzipped


def check_limits(package):
    zipped, unzipped = sizes(package)
    print(f"{package.relative_to(ROOT)}: {mb(zipped)} zipped, {mb(unzipped)} unzipped")
    problems = []
    if zipped > MAX_ZIPPED:
        problems.append(f"{mb(zipped)} zipped is above Lambda's {mb(MAX_ZIPPED)}")
    if unzipped > MAX_UNZIPPED:
        problems.append(f"{mb(unzipped)} unzipped is above Lambda's {mb(MAX_UNZIPPED)}")
    if problems:
        raise PackageTooLarge(f"{package}: " + "; ".join(problems) + ".")
    return zipped, unzipped


def mb(size):
    return f"{size / 1024 / 1024:.1f} MiB"
