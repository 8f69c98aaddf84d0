"""Jinja filters shared by every blueprint's templates."""
from datetime import datetime, timezone

from markupsafe import Markup, escape


def time_ago(value, now=None):
    """'3 min ago', 'in 2 h', or 'never'."""
    if value is None:
        return "never"
    now = now or datetime.now(timezone.utc)
    seconds = (now - value).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    for limit, size, unit in ((60, 1, "s"), (3600, 60, "min"), (86400, 3600, "h"), (86400 * 60, 86400, "d")):
        if seconds < limit:
            text = f"{int(seconds // size)} {unit}"
            break
    else:
        text = value.strftime("%Y-%m-%d")
        return text
    return f"in {text}" if future else f"{text} ago"


def utc(value, fmt="%Y-%m-%d %H:%M:%S UTC"):
    """A timestamp in UTC, for titles and tables."""
    return value.astimezone(timezone.utc).strftime(fmt) if value else "—"


def when(value):
    """A <time> element: relative text, exact UTC time on hover."""
    if value is None:
        return Markup('<span class="muted">never</span>')
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        value.isoformat(), utc(value), time_ago(value)
    )


def number(value, places=0):
    """1,204 or 1,204.50."""
    if value is None:
        return "—"
    return f"{value:,.{places}f}"


def amount(value):
    """1,204 for whole numbers, 1,204.50 otherwise."""
    if value is None:
        return "—"
    return number(value, 0 if value == int(value) else 2)


def signed(value, places=0):
    """+1,204 / -3.5 / 0."""
    if value is None:
        return "—"
    return f"{value:+,.{places}f}"


def sparkline(trend, width=120, height=32, pad=3):
    """SVG polyline points for a trend (None gaps skipped); one known value is a single point at its
    place (drawn as a dot), none is ''."""
    known = [(i, v) for i, v in enumerate(trend or []) if v is not None]
    if not known:
        return ""
    low, high = min(v for _, v in known), max(v for _, v in known)
    span, step = (high - low) or 1, (width - 2 * pad) / max(len(trend) - 1, 1)
    middle = len(known) == 1  # nothing to compare with: the middle of the height
    return " ".join(
        f"{pad + i * step:.1f},{height / 2 if middle else height - pad - (v - low) / span * (height - 2 * pad):.1f}"
        for i, v in known
    )


COUNTING_UNITS = ("count", "number", "#")


def unit_for(value, unit):
    """A unit as read after its value: '1 lead', '2 leads', '3' (a bare count), 'USD' as given."""
    unit = (unit or "").strip()
    if unit.lower() in COUNTING_UNITS:
        return ""
    if value == 1 and unit.islower() and unit.endswith("s") and len(unit) > 2:
        return unit[:-1]
    return unit


def init_app(app):
    """Register the filters."""
    app.jinja_env.filters.update(time_ago=time_ago, utc=utc, when=when, number=number, amount=amount, signed=signed,
                                 sparkline=sparkline, unit_for=unit_for)
    app.jinja_env.globals.update(escape=escape)
