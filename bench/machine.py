"""What a benchmark ran on, recorded with every result (machines here are shared and noisy)."""

import os
import platform
import sys
from importlib.metadata import version


def describe(packages=()):
    """CPU, cores, Python and platform, plus the versions of ``packages``."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        **{package: version(package) for package in packages},
    }
