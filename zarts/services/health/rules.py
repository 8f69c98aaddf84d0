"""Health rules: from a connection's recent signals to `healthy`, `degraded`, `stale` or `error`.

Pure functions (no database): the health check gathers Stats, evaluate() decides. First match
wins, in this order; the reason names every finding of the winning state:

error     the provider said its side went away (an app uninstalled) and nothing came after;
          dead letters piling up; a burst of 401s since the last accepted delivery (a wrong
          secret); the last sync failed for a reason a person must fix (credential, config);
          no success for error_cadence_factor x the expected cadence (active connections)
stale     no event within the expected cadence plus grace (active connections)
degraded  events waiting for a retry; failed attempts; dead letters below the error threshold;
          provider throttling (429); rejected deliveries above a threshold
awaiting  none of the above, and no live event yet (a test event never counts)
healthy   none of the above

What clients are told is decided apart (data_delayed): staleness and failures of accepted events
count, rejected deliveries never do, since anyone can send those.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .. import DomainError
from . import signals

DEFAULT_THRESHOLDS = {
    "stale_grace_seconds": None,          # None: a quarter of the cadence, at least 60 s
    "error_cadence_factor": 2,            # error after this many cadences without a success
    "window_seconds": 3600,               # failures, throttling and rejections are counted over this
    "failures_degraded": 3,               # failed attempts (sync errors) in the window
    "throttles_degraded": 1,              # 429s from a sync source in the window
    "rejections_degraded": 3,             # refused deliveries (any 4xx we count) in the window
    "auth_window_seconds": 900,           # 401s are counted over this (since the last accepted delivery)
    "auth_rejections_error": 5,
    "dead_letter_window_seconds": 86400,  # dead-lettered events still unresolved, by when they died
    "dead_letters_error": 3,
}
LIMITS = {  # key: (lowest, highest)
    "stale_grace_seconds": (0, 30 * 86400), "error_cadence_factor": (1, 100),
    "window_seconds": (60, 7 * 86400), "failures_degraded": (1, 100_000),
    "throttles_degraded": (1, 100_000), "rejections_degraded": (1, 100_000),
    "auth_window_seconds": (60, 7 * 86400), "auth_rejections_error": (1, 100_000),
    "dead_letter_window_seconds": (60, 30 * 86400), "dead_letters_error": (1, 100_000),
}
SILENCE_LIFECYCLES = ("active",)
AWAITING = {"webhook": "Awaiting the first live delivery", "sync": "Awaiting the first live sync",
            "csv": "Awaiting the first live import"}  # drafts and tests are not expected to receive anything yet
PERMANENT_SYNC_ERRORS = ("auth", "config")


@dataclass
class Stats:
    """What the health check found out about one connection."""

    lifecycle: str
    kind: str = "webhook"  # the provider's kind: webhook, sync or csv
    cadence: int | None = None
    last_event_at: datetime | None = None  # the newest provider event (manual updates excluded)
    last_success_at: datetime | None = None
    live_since: datetime | None = None  # the last activation or resume (else creation)
    dead_letters: int = 0
    retrying: int = 0
    failures: int = 0
    signals: list = field(default_factory=list)  # (kind, bucket_at, hits) rows
    last_rejection_reason: str | None = None
    sync_error: tuple | None = None  # (error_kind, error) of the last finished sync run, if it failed
    uninstalled_at: datetime | None = None  # the provider said its side went away (e.g. Shopify app/uninstalled)
    drift: list = field(default_factory=list)  # summaries of open schema drift findings


def thresholds(stored):
    """The defaults overlaid with a connection's valid overrides (invalid ones are ignored)."""
    merged = dict(DEFAULT_THRESHOLDS)
    for key, value in (stored or {}).items():
        if key in LIMITS and _valid(key, value):
            merged[key] = value
    return merged


def clean_thresholds(values):
    """Validated overrides (None drops one); DomainError naming every problem."""
    if values is not None and not isinstance(values, dict):
        raise DomainError("health thresholds must be an object of threshold names and whole numbers")
    cleaned, problems = {}, []
    for key, value in (values or {}).items():
        if key not in LIMITS:
            problems.append(f"unknown health threshold '{key}'")
        elif value is None:
            continue
        elif not _valid(key, value):
            low, high = LIMITS[key]
            problems.append(f"{key} must be a whole number from {low} to {high}")
        else:
            cleaned[key] = value
    if problems:
        raise DomainError("; ".join(problems))
    return cleaned


def _valid(key, value):
    low, high = LIMITS[key]
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def grace_seconds(limits, cadence):
    """The stale grace: as configured, else a quarter of the cadence (at least 60 s)."""
    if limits["stale_grace_seconds"] is not None:
        return limits["stale_grace_seconds"]
    return max(60, (cadence or 0) // 4)


def evaluate(stats, limits, now):
    """(health, reason) for one connection; first match wins (see the module docstring)."""
    for health, findings in (("error", _error(stats, limits, now)), ("stale", _stale(stats, limits, now)),
                             ("degraded", _degraded(stats, limits, now))):
        if findings:
            return health, "; ".join(findings)
    if stats.last_event_at is None and stats.last_success_at is None:
        return "awaiting", AWAITING.get(stats.kind, AWAITING["webhook"])
    return "healthy", "Working normally: no failures, rejections or throttling" + (
        ", and events arrive within the expected cadence" if stats.cadence else "")


def data_delayed(stats, limits, now):
    """Whether clients are told their data is delayed: it is stale, accepted events fail, or a sync
    cannot run. Rejected deliveries (maybe forged) never make a client's card say so."""
    return bool(_error(stats, limits, now, rejections=False) or _stale(stats, limits, now))


def _error(stats, limits, now, rejections=True):
    found = []
    if stats.uninstalled_at and (stats.last_event_at is None or stats.uninstalled_at >= stats.last_event_at):
        found.append(f"The provider says the app was uninstalled on {stamp(stats.uninstalled_at)}: nothing more will "
                     "arrive until it is installed again (or disconnect this connection)")
    if stats.dead_letters >= limits["dead_letters_error"]:
        found.append(f"{_count(stats.dead_letters, 'event')} dead-lettered in the last "
                     f"{span(limits['dead_letter_window_seconds'])}: fix the cause, then retry them")
    auth = _auth_rejections(stats, limits, now) if rejections else 0
    if auth >= limits["auth_rejections_error"] and rejections:
        last = f" ({stats.last_rejection_reason})" if stats.last_rejection_reason else ""
        found.append(f"{_count(auth, 'delivery', 'deliveries')} rejected with a bad signature in the last "
                     f"{span(limits['auth_window_seconds'])}{last}: check the signing secret")
    if stats.sync_error and stats.sync_error[0] in PERMANENT_SYNC_ERRORS:
        found.append(f"The last sync failed: {stats.sync_error[1]}")
    since = _latest(stats.last_success_at, stats.live_since)
    if _silent(stats) and since is not None:
        allowed = stats.cadence * limits["error_cadence_factor"]
        if (now - since).total_seconds() > allowed:
            what = "since " + stamp(since) if stats.last_success_at else "since going live on " + stamp(since)
            found.append(f"No successful update {what} (expected every {span(stats.cadence)})")
    return found


def _stale(stats, limits, now):
    since = _latest(stats.last_event_at, stats.live_since) or stats.last_success_at
    if not _silent(stats) or since is None:
        return []
    grace = grace_seconds(limits, stats.cadence)
    if (now - since).total_seconds() <= stats.cadence + grace:
        return []
    what = "since " + stamp(since) if stats.last_event_at else "since going live on " + stamp(since)
    return [f"No events {what} (expected every {span(stats.cadence)}, plus {span(grace)} grace)"]


def _degraded(stats, limits, now):
    found = []
    window = now - timedelta(seconds=limits["window_seconds"])
    if stats.retrying:
        found.append(f"{_count(stats.retrying, 'event')} failed and waiting to be retried")
    if stats.failures >= limits["failures_degraded"]:
        found.append(f"{_count(stats.failures, 'failed attempt')} in the last {span(limits['window_seconds'])}")
    if 0 < stats.dead_letters < limits["dead_letters_error"]:
        found.append(f"{_count(stats.dead_letters, 'event')} dead-lettered in the last "
                     f"{span(limits['dead_letter_window_seconds'])}")
    throttled = signals.total(stats.signals, ("throttled",), window)
    if throttled >= limits["throttles_degraded"]:
        found.append(f"The provider throttled us (HTTP 429) {_count(throttled, 'time')} in the last "
                     f"{span(limits['window_seconds'])}")
    rejected = signals.total(stats.signals, ("rejected", "auth_rejected"), window)
    if rejected >= limits["rejections_degraded"]:
        last = f" (last: {stats.last_rejection_reason})" if stats.last_rejection_reason else ""
        found.append(f"{_count(rejected, 'delivery', 'deliveries')} rejected in the last "
                     f"{span(limits['window_seconds'])}{last}")
    if stats.sync_error and stats.sync_error[0] not in PERMANENT_SYNC_ERRORS:
        found.append(f"The last sync did not finish: {stats.sync_error[1]}")
    found += [f"Schema drift: {summary}" for summary in stats.drift]
    return found


def _auth_rejections(stats, limits, now):
    """401s in the auth window, counting only minutes after the last accepted delivery."""
    since = now - timedelta(seconds=limits["auth_window_seconds"])
    if stats.last_event_at is not None:
        since = max(since, stats.last_event_at.replace(second=0, microsecond=0) + timedelta(minutes=1))
    return signals.total(stats.signals, ("auth_rejected",), since)


def _silent(stats):
    """Whether the silence rules apply: an active connection with an expected cadence."""
    return stats.lifecycle in SILENCE_LIFECYCLES and bool(stats.cadence)


def _latest(*moments):
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def span(seconds):
    """90 -> '2 min', 3600 -> '1 h', 86400 -> '24 h', 172800 -> '2 d'."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    if seconds <= 86400 or seconds % 86400:
        hours = seconds / 3600
        return f"{hours:g} h" if hours < 10 else f"{round(hours)} h"
    return f"{seconds // 86400} d"


def stamp(moment):
    """'Nov 27, 01:00 UTC'."""
    return moment.strftime("%b %d, %H:%M UTC")


def _count(n, word, plural=None):
    return f"{n} {word if n == 1 else (plural or word + 's')}"
