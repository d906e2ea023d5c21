"""Where benchmark results go, and the one way they are written (bench/report.py reads them)."""

import datetime
import json
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def write(path, result):
    """``result`` as indented JSON at ``path``, stamped with when it was written (UTC)."""
    written = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**result, "written": written}, indent=2) + "\n")
    return path
