"""settings.SCHEDULES on servers: a systemd oneshot service and timer per job.

The units run ``manage.py runschedule NAME`` from the install paths of ``install.sh``;
``manage.py schedules --write`` writes them into deploy/ec2/systemd/.
"""

import re

from django.core.exceptions import ImproperlyConfigured

from apps.tasks import schedules

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")

SERVICE_TEMPLATE = """\
# Generated from settings.SCHEDULES by `manage.py schedules --write`; do not edit.
[Unit]
Description=Amphibian scheduled job {name}
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
User=amphibian
Group=amphibian
WorkingDirectory=/opt/amphibian/app
EnvironmentFile=/etc/amphibian/amphibian.env
ExecStart=/opt/amphibian/venv/bin/python manage.py runschedule {name}
"""

TIMER_TEMPLATE = """\
# Generated from settings.SCHEDULES by `manage.py schedules --write`; do not edit.
[Unit]
Description=Run Amphibian job {name} on schedule {schedule}

[Timer]
{timing}
# A job missed while the machine was off runs once at boot; spread jobs of many machines.
Persistent=true
RandomizedDelaySec=60

[Install]
WantedBy=timers.target
"""


def systemd_units():
    """``{filename: content}`` for every job: a oneshot service and its timer."""
    units = {}
    for name, job in sorted(schedules.jobs_for("server").items()):
        units[f"amphibian-job-{name}.service"] = SERVICE_TEMPLATE.format(name=name)
        units[f"amphibian-job-{name}.timer"] = TIMER_TEMPLATE.format(
            name=name, schedule=job["schedule"], timing=on_calendar(job["schedule"])
        )
    return units


_DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
_DAY_NAMES = {day.upper(): day for day in _DAYS}


def on_calendar(expression):
    """The systemd ``[Timer]`` lines equivalent to an EventBridge schedule expression.

    ``rate(N unit)`` becomes a monotonic timer; ``cron(min hour dom month dow year)``
    becomes ``OnCalendar`` (numbers, ``*``, ``?``, lists, ranges and ``/`` steps; the
    ``L``, ``W`` and ``#`` forms have no systemd equivalent and are refused).
    """
    rate = _RATE.match(expression)
    if rate:
        count, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if count < 1:
            raise ImproperlyConfigured(f"{expression}: the rate must be at least 1.")
        span = {"minute": "min", "hour": "h", "day": "d"}[unit]
        return f"OnBootSec={count}{span}\nOnUnitActiveSec={count}{span}"
    cron = _CRON.match(expression)
    if not cron:
        raise ImproperlyConfigured(f"{expression!r} is neither rate(...) nor cron(...).")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise ImproperlyConfigured(f"{expression}: cron() takes six fields.")
    minute, hour, day, month, weekday, year = fields
    if any(mark in field for field in fields for mark in "LW#"):
        raise ImproperlyConfigured(f"{expression}: L, W and # have no systemd equivalent.")
    if "?" not in (day, weekday):
        raise ImproperlyConfigured(f"{expression}: one of day-of-month, day-of-week must be ?.")
    date = f"{_calendar(year)}-{_calendar(month)}-{_calendar(day)}"
    time = f"{_calendar(hour)}:{_calendar(minute)}:00"
    days = "" if weekday in ("?", "*") else _weekdays(weekday) + " "
    return f"OnCalendar={days}{date} {time}"


def _calendar(field):
    if field in ("*", "?"):
        return "*"
    return ",".join(_step(part) for part in field.split(","))


def _step(part):
    base, _, step = part.partition("/")
    base = "..".join(base.split("-")) if "-" in base else base
    if base == "*" and step:
        base = "0"
    return f"{base}/{step}" if step else base


def _weekdays(field):
    """EventBridge day-of-week (1-7 = SUN-SAT, or names) in systemd's names."""

    def name(value):
        if value.upper() in _DAY_NAMES:
            return _DAY_NAMES[value.upper()]
        number = int(value)
        if not 1 <= number <= 7:
            raise ImproperlyConfigured(f"day-of-week {value}: use 1-7 or SUN-SAT.")
        return _DAYS[number - 1]

    days = []
    for part in field.split(","):
        first, _, last = part.partition("-")
        days.append(f"{name(first)}..{name(last)}" if last else name(first))
    return ",".join(days)
