"""Calendar periods (UTC) for metrics: day, ISO week, month, quarter."""
from datetime import datetime, timedelta, timezone


def period_start(period, moment):
    """The start of the period containing moment (aware UTC)."""
    moment = moment.astimezone(timezone.utc)
    day = datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    raise ValueError(f"unknown period {period!r}")


def shift(period, start, count):
    """The start of the period `count` periods after (or before, if negative) start."""
    if period == "day":
        return start + timedelta(days=count)
    if period == "week":
        return start + timedelta(weeks=count)
    months = count * (3 if period == "quarter" else 1)
    index = start.year * 12 + (start.month - 1) + months
    return start.replace(year=index // 12, month=index % 12 + 1, day=1)


def label(period, start):
    """A short human label: 'Nov 27', 'Week of Nov 23', 'Nov 2026', 'Q4 2026'."""
    if period == "day":
        return start.strftime("%b %d")
    if period == "week":
        return "Week of " + start.strftime("%b %d")
    if period == "month":
        return start.strftime("%b %Y")
    return f"Q{(start.month - 1) // 3 + 1} {start.year}"
