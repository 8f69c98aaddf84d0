"""What happened to a connection, as notification rows for each place its alerts go.

Rows are added in the caller's transaction, so an alert exists exactly when the change that
caused it was committed; delivery sends them. A bad spell of a connection's health sends one
alert and one recovery. Dead letters and rate-limited syncs are grouped: the first opens a row due
at the end of the window, the rest only raise its count. A snoozed connection's alerts are kept in
the log as not sent, and so are alerts with nowhere to go.
"""
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from ...extensions import db
from ...models import Connection, Notification, NotificationDestination, WebhookEvent
from . import messages

BAD = ("error", "stale")
ALERTING = ("active",)
TESTING = ("draft", "testing")
GROUPED = ("dead_letters", "sync_throttled")
SNOOZED = "not sent: alerts snoozed"
NOWHERE = "not sent: no destination (add one on the Notifications page, or an on-call destination)"


def base_url():
    return current_app.config.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/")


def window_minutes():
    return int(current_app.config.get("NOTIFY_GROUP_WINDOW_MINUTES", 15))


def destinations(connection):
    """The connection's own destinations and its owner's; the on-call ones when it has neither."""
    table = NotificationDestination
    found = list(db.session.scalars(select(table).where(
        table.enabled.is_(True),
        or_(table.connection_id == connection.id, table.user_id == connection.owner_id)).order_by(table.id)))
    if not found:
        found = list(db.session.scalars(select(table).where(
            table.enabled.is_(True), table.connection_id.is_(None), table.user_id.is_(None)).order_by(table.id)))
    return found


def _snoozed(connection, now):
    return connection.alerts_snoozed_until is not None and connection.alerts_snoozed_until > now


def _add(kind, connection, message, now, group_key=None, due_at=None, facts=None):
    snoozed = _snoozed(connection, now)
    reason = (f"{SNOOZED} until {connection.alerts_snoozed_until:%Y-%m-%d %H:%M} UTC "
              f"({connection.alerts_snooze_reason or 'no reason given'})"[:500] if snoozed else None)
    targets = destinations(connection) or [None]
    for destination in targets:
        db.session.add(Notification(
            kind=kind, destination_id=destination.id if destination else None, connection_id=connection.id,
            client_id=connection.client_id, group_key=group_key, subject=message.subject[:255], body=message.body,
            link=message.link, facts=facts or {}, count=1, created_at=now, due_at=due_at or now,
            status="not_sent" if snoozed or destination is None else "pending",
            status_reason=reason or (NOWHERE if destination is None else None)))
    db.session.flush()  # so the next grouped alert in this transaction finds and counts into these rows


def health_changed(connection, before, after, bad_since, now):
    """A live connection's health moved: into error/stale (one alert) or out of it (one recovery)."""
    if connection.lifecycle not in ALERTING:
        return
    if after in BAD and before not in BAD:
        _add("health_bad", connection, messages.health_bad(connection, after, now, base_url()), now,
             facts={"health": after})
    elif before in BAD and after not in BAD:
        _add("recovered", connection, messages.recovered(connection, after, bad_since, now, base_url()), now,
             facts={"health": after, "was": before})


def dead_lettered(connection, now):
    """A live event was dead-lettered: counted into this window's message."""
    _grouped("dead_letters", connection, now)


def sync_throttled(connection, reason, now):
    """A sync run stopped on the source's rate limit: counted into this window's message."""
    _grouped("sync_throttled", connection, now, {"reason": messages.plain_reason(reason)})


def _grouped(kind, connection, now, facts=None):
    key = f"{kind}:{connection.id}"
    table = Notification.__table__
    # This window's rows count up: those waiting to be sent, or, while the connection is snoozed or has
    # nowhere to send, the one logged as not sent (a destination added meanwhile gets rows of its own).
    if _snoozed(connection, now):
        joining = (table.c.status == "not_sent") & table.c.status_reason.like(f"{SNOOZED}%")
    elif not destinations(connection):
        joining = (table.c.status == "not_sent") & table.c.destination_id.is_(None)
    else:
        joining = (table.c.status == "pending") & table.c.destination_id.is_not(None)
    joined = db.session.execute(update(table).where(table.c.group_key == key, table.c.due_at > now, joining)
                                .values(count=table.c.count + 1))
    if joined.rowcount:
        return
    minutes = window_minutes()
    message = messages.grouped_placeholder(kind, connection)
    _add(kind, connection, message, now, group_key=key, due_at=now + timedelta(minutes=minutes),
         facts={"first_at": now.isoformat(), "minutes": minutes, **(facts or {})})


def render_grouped(notification):
    """A grouped notification's words, from what the database says now (counts and the commonest reason)."""
    connection = notification.connection
    facts = notification.facts or {}
    minutes = facts.get("minutes", window_minutes())
    first_at = _moment(facts.get("first_at")) or notification.created_at
    if notification.kind == "sync_throttled":
        return messages.sync_throttled(connection, notification.count, minutes, facts.get("reason", ""), base_url())
    reasons = {}
    events = WebhookEvent.__table__.c
    for reason, n in db.session.execute(
            select(events.status_reason, db.func.count()).where(
                events.connection_id == connection.id, events.status == "dead_lettered", events.mode == "live",
                events.processed_at >= first_at).group_by(events.status_reason).limit(200)):
        plain = messages.plain_reason(reason)
        reasons[plain] = reasons.get(plain, 0) + n
    return messages.dead_letters(connection, notification.count, minutes, reasons, first_at, base_url())


def testing_too_long(now):
    """One alert for each connection left in draft or testing longer than the setting; the number sent."""
    days = int(current_app.config.get("NOTIFY_TESTING_TOO_LONG_DAYS", 14))
    told = select(Notification.connection_id).where(Notification.kind == "testing_too_long")
    stuck = list(db.session.scalars(select(Connection).where(
        Connection.lifecycle.in_(TESTING), Connection.created_at < now - timedelta(days=days),
        Connection.id.not_in(told))))
    for connection in stuck:
        _add("testing_too_long", connection, messages.testing_too_long(connection, days, base_url()), now)
    db.session.commit()
    return len(stuck)


def _moment(text):
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
