"""Where alerts go: an admin's own destinations, a connection's, and the on-call ones (the fallback
for a connection whose owner has none); a test send; an alert snooze on a connection. Audited."""
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...models import DESTINATION_KINDS, Connection, Notification, NotificationDestination, User, utcnow
from .. import DomainError, audit
from ..ingest import secrets
from ..mapping.csv_columns import EMAIL
from . import channels, delivery, messages
from .alerts import base_url

MAX_SNOOZE_HOURS = 24 * 14
KIND_NAMES = {"email": "Email", "slack": "Slack (incoming webhook)", "webhook": "Webhook (signed JSON)"}


def add(actor, kind, target, user=None, connection=None):
    """A new destination for user (their own), connection, or neither (on-call); (destination, the
    webhook's signing secret to show once, or None). DomainError saying what is wrong."""
    target = (target or "").strip()
    if kind not in DESTINATION_KINDS:
        raise DomainError(f"choose how: {', '.join(DESTINATION_KINDS)}")
    if user is not None and connection is not None:
        raise DomainError("a destination is an admin's, a connection's or on-call, not two of them")
    if kind == "email":
        if len(target) > 254 or not EMAIL.fullmatch(target):
            raise DomainError("enter an email address")
    elif problem := channels.url_problem(target):
        raise DomainError(problem)
    secret = channels.new_webhook_secret() if kind == "webhook" else None
    destination = NotificationDestination(
        user_id=getattr(user, "id", None), connection_id=getattr(connection, "id", None), kind=kind,
        target_encrypted=secrets.encrypt(target), target_shown=shown(kind, target),
        secret_encrypted=secrets.encrypt(secret) if secret else None, created_by_id=getattr(actor, "id", None),
        created_at=utcnow())
    db.session.add(destination)
    db.session.flush()
    audit.record(actor, "notification_destination.add", "notification_destination", destination.id, "", None,
                 {"kind": kind, "target": destination.target_shown, "scope": scope(destination)})
    db.session.commit()
    return destination, secret


def shown(kind, target):
    """What lists show: an email address whole, a URL's scheme and host only (its path may be a token)."""
    if kind == "email":
        return target[:255]
    parts = urlsplit(target)
    return f"{parts.scheme}://{parts.hostname or ''}/…"[:255]


def scope(destination):
    if destination.connection_id:
        return f"connection {destination.connection_id}"
    return f"user {destination.user_id}" if destination.user_id else "on-call"


def remove(destination, actor):
    audit.record(actor, "notification_destination.remove", "notification_destination", destination.id, "",
                 {"kind": destination.kind, "target": destination.target_shown, "scope": scope(destination)}, None)
    db.session.execute(Notification.__table__.update().where(
        Notification.__table__.c.destination_id == destination.id,
        Notification.__table__.c.status == "pending").values(status="not_sent", status_reason="destination removed"))
    db.session.execute(Notification.__table__.update().where(
        Notification.__table__.c.destination_id == destination.id).values(destination_id=None))
    db.session.delete(destination)
    db.session.commit()


def send_test(destination, actor):
    """Send a test message to the destination now; the notification (sent, not sent or retrying)."""
    message = messages.test_message(base_url())
    notification = Notification(kind="test", destination_id=destination.id, subject=message.subject,
                                body=message.body, link=message.link, facts={}, status="pending", due_at=utcnow(),
                                created_at=utcnow())
    db.session.add(notification)
    audit.record(actor, "notification_destination.test", "notification_destination", destination.id, "", None, None)
    db.session.commit()
    delivery.send_one(notification.id)
    return db.session.get(Notification, notification.id, populate_existing=True)


def send_test_email(to):
    """The CLI's notify-test: a test message to an address, logged; the notification."""
    if len(to) > 254 or not EMAIL.fullmatch(to or ""):
        raise DomainError("--to: enter an email address")
    message = messages.test_message(base_url())
    notification = Notification(kind="test", subject=message.subject, body=message.body, link=message.link,
                                facts={"to": to}, status="pending", due_at=utcnow(), created_at=utcnow())
    db.session.add(notification)
    db.session.commit()
    delivery.send_one(notification.id)
    return db.session.get(Notification, notification.id, populate_existing=True)


def listed(user=None):
    """Every destination, the given admin's first, then connections', then on-call."""
    rows = list(db.session.scalars(select(NotificationDestination).order_by(NotificationDestination.id)))
    return sorted(rows, key=lambda d: (d.user_id != getattr(user, "id", None), d.connection_id is None, d.id))


def snooze(connection, hours, reason, actor):
    """Hold the connection's alerts for some hours (logged as not sent), with a reason; audited."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("say why the alerts are snoozed")
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_SNOOZE_HOURS:
        raise DomainError(f"snooze for 1 to {MAX_SNOOZE_HOURS} hours")
    before = _snooze_state(connection)
    connection.alerts_snoozed_until, connection.alerts_snooze_reason = utcnow() + timedelta(hours=hours), reason[:500]
    audit.record(actor, "connection.snooze_alerts", "connection", connection.id, reason, before,
                 _snooze_state(connection))
    db.session.commit()


def unsnooze(connection, actor):
    before = _snooze_state(connection)
    connection.alerts_snoozed_until = connection.alerts_snooze_reason = None
    audit.record(actor, "connection.unsnooze_alerts", "connection", connection.id, "", before,
                 _snooze_state(connection))
    db.session.commit()


def _snooze_state(connection):
    until = connection.alerts_snoozed_until
    return {"alerts_snoozed_until": until.isoformat() if until else None,
            "alerts_snooze_reason": connection.alerts_snooze_reason}


def recent(status=None, before_id=None, limit=100):
    """The notification log, newest first (keyset by id)."""
    query = (select(Notification).options(selectinload(Notification.destination))
             .order_by(Notification.id.desc()).limit(limit))
    if status:
        query = query.where(Notification.status == status)
    if before_id:
        query = query.where(Notification.id < before_id)
    return list(db.session.scalars(query))


def recipient(notification):
    """Who a logged notification went (or goes) to, as lists show it."""
    if notification.destination is not None:
        return notification.destination.target_shown
    if notification.user_id:
        user = db.session.get(User, notification.user_id)
        return user.email if user else "a removed user"
    return (notification.facts or {}).get("to") or "nobody"


def notification_dict(notification):
    return {"id": notification.id, "kind": notification.kind, "status": notification.status,
            "status_reason": notification.status_reason, "subject": notification.subject,
            "to": recipient(notification), "count": notification.count, "attempts": notification.attempts,
            "connection_id": notification.connection_id, "client_id": notification.client_id,
            "created_at": notification.created_at.isoformat(),
            "sent_at": notification.sent_at.isoformat() if notification.sent_at else None}


def connection_or_fail(connection_id):
    connection = db.session.get(Connection, connection_id)
    if connection is None:
        raise DomainError(f"unknown connection {connection_id}")
    return connection
