"""Sending the notifications that are due, by a job (in-process without Redis).

Each row is claimed first (its due time pushed past a lease), so two workers never send it twice.
A failed attempt is retried with backoff (30 s, 2 min, 8 min, ...) up to NOTIFY_MAX_ATTEMPTS, then
the row is failed and its destination marked failing with the last error; the next success clears
that. A destination that has had NOTIFY_RATE_PER_HOUR messages in the last hour holds the rest.
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from ...extensions import db
from ...models import Notification, User, utcnow
from .. import audit
from ..ingest import secrets
from . import alerts, channels

CLAIM_SECONDS = 120
BACKOFF_SECONDS, BACKOFF_FACTOR = 30, 4


def flush(now=None, limit=200):
    """Send every notification that is due (oldest first); {outcome: count}."""
    now = now or utcnow()
    ids = list(db.session.scalars(select(Notification.id).where(
        Notification.status == "pending", Notification.due_at <= now).order_by(Notification.due_at).limit(limit)))
    db.session.commit()
    outcomes = {}
    for notification_id in ids:
        outcome = send_one(notification_id, now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def send_one(notification_id, now=None):
    """Claim, send and record one notification: "sent", "retry", "failed", "not_sent", "held" or "skipped"."""
    now = now or utcnow()
    table = Notification.__table__
    claimed = db.session.execute(update(table).where(
        table.c.id == notification_id, table.c.status == "pending", table.c.due_at <= now,
    ).values(due_at=now + timedelta(seconds=CLAIM_SECONDS)))
    db.session.commit()
    if claimed.rowcount != 1:
        return "skipped"
    notification = db.session.get(Notification, notification_id)
    destination = notification.destination
    if notification.kind in alerts.GROUPED and notification.group_key:  # a resent copy keeps its words
        _merge_twins(notification)
        message = alerts.render_grouped(notification)
        notification.subject, notification.body, notification.link = message.subject[:255], message.body, message.link
    if destination is not None and _over_rate(destination.id, now):
        notification.due_at = now + timedelta(minutes=10)
        notification.status_reason = (f"held: this destination had {_rate_limit()} messages in the last hour; "
                                      "sending again in 10 min")
        db.session.commit()
        return "held"
    try:
        _deliver(notification, destination)
    except channels.NotConfigured as exc:
        notification.status, notification.status_reason = "not_sent", exc.reason[:500]
        outcome = "not_sent"
    except channels.ChannelError as exc:
        outcome = _failed(notification, destination, exc, now)
    else:
        notification.status, notification.sent_at, notification.status_reason = "sent", now, None
        notification.attempts += 1
        if destination is not None:
            destination.failing, destination.last_sent_at = False, now
        outcome = "sent"
    db.session.commit()
    return outcome


def _failed(notification, destination, exc, now):
    notification.attempts += 1
    if destination is not None:
        destination.last_error, destination.last_error_at = exc.reason[:500], now
    if exc.transient and notification.attempts < int(current_app.config.get("NOTIFY_MAX_ATTEMPTS", 4)):
        delay = BACKOFF_SECONDS * BACKOFF_FACTOR ** (notification.attempts - 1)
        notification.due_at = now + timedelta(seconds=delay)
        notification.status_reason = f"attempt {notification.attempts} failed: {exc.reason}; retrying"[:500]
        return "retry"
    notification.status = "failed"
    notification.status_reason = f"failed after {notification.attempts} attempt(s): {exc.reason}"[:500]
    if destination is not None:
        destination.failing = True
    return "failed"


def _merge_twins(notification):
    """Fold other pending rows of the same window and destination (two workers opened one at once) into this."""
    twins = list(db.session.scalars(select(Notification).where(
        Notification.group_key == notification.group_key, Notification.status == "pending",
        Notification.destination_id == notification.destination_id, Notification.id != notification.id)))
    for twin in twins:
        notification.count += twin.count
        twin.status, twin.status_reason = "not_sent", f"merged into notification #{notification.id}"


def _rate_limit():
    return int(current_app.config.get("NOTIFY_RATE_PER_HOUR", 30))


def _over_rate(destination_id, now):
    sent = db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.destination_id == destination_id, Notification.status == "sent",
        Notification.sent_at > now - timedelta(hours=1)))
    return sent >= _rate_limit()


def _deliver(notification, destination):
    if notification.kind == "digest":
        user = db.session.get(User, notification.user_id)
        url = (notification.facts or {}).get("unsubscribe_url")
        headers = {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"} if url else {}
        channels.send_email(user.email, notification.subject, notification.body, notification.html, headers=headers)
        return
    if destination is None and (notification.facts or {}).get("to"):  # the CLI's test to an address
        channels.send_email(notification.facts["to"], notification.subject, notification.body)
        return
    if destination is None:
        raise channels.NotConfigured(alerts.NOWHERE)
    target = secrets.decrypt(destination.target_encrypted)
    if destination.kind == "email":
        channels.send_email(target, notification.subject, notification.body)
    elif destination.kind == "slack":
        channels.send_slack(target, f"*{notification.subject}*\n{notification.body}")
    else:
        channels.send_webhook(target, secrets.decrypt(destination.secret_encrypted), payload(notification),
                              msg_id=f"ntf_{notification.id}")


def payload(notification):
    """The JSON a webhook destination receives (what the message says, never a payload value)."""
    return {"type": f"zarts.{notification.kind}", "id": f"ntf_{notification.id}", "subject": notification.subject,
            "text": notification.body, "link": notification.link, "count": notification.count,
            "connection_id": notification.connection_id, "created_at": notification.created_at.isoformat()}


def resend(notification, actor):
    """Send a logged notification again, as a new row due now (audited); the new row."""
    copy = Notification(
        kind=notification.kind, destination_id=notification.destination_id, user_id=notification.user_id,
        connection_id=notification.connection_id, client_id=notification.client_id, subject=notification.subject,
        body=notification.body, html=notification.html, link=notification.link, facts=notification.facts,
        count=notification.count, status="pending", due_at=utcnow(), created_at=utcnow())
    db.session.add(copy)
    db.session.flush()
    audit.record(actor, "notification.resend", "notification", notification.id, "", None, {"copy": copy.id})
    db.session.commit()
    return copy
