"""Helpers for the admin diagnostics tests: real deliveries that succeed or fail, and lookups."""
import uuid

from sqlalchemy import select

from tests.factories import deliver
from zarts.extensions import db
from zarts.models import AdminAction, SyncError, WebhookEvent

HX = {"HX-Request": "true"}
# Normalizes every charge.succeeded by the payload's own id, so a payload without data.object.id works.
FIXED_MAPPING = {"version": 1, "events": {"charge.succeeded": {"object_type": "payment", "external_id": "id"}}}


def deliver_ok(client, connection, secret, event_type=None, msg_id=None):
    """A shipped sample (the first, unless event_type says), delivered for real; returns the event id."""
    response = deliver(client, connection, secret, event_type, msg_id=msg_id)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["event_id"]


def deliver_broken(client, connection, secret, **extra):
    """A Stripe charge without data.object.id: the mapping cannot find the external id, so it is dead-lettered."""
    payload = {"id": f"evt_{uuid.uuid4().hex}", "type": "charge.succeeded", "data": {"object": {}}, **extra}
    response = deliver(client, connection, secret, payload=payload)
    assert response.status_code == 202, response.get_data(as_text=True)
    event_id = response.get_json()["event_id"]
    assert event(event_id).status == "dead_lettered"
    return event_id


def event(event_id):
    """The event as the database has it now."""
    db.session.expire_all()
    return db.session.get(WebhookEvent, event_id)


def audit_rows(action, target_id=None):
    """Audit rows of one action (optionally for one target), oldest first."""
    query = select(AdminAction).where(AdminAction.action == action).order_by(AdminAction.id)
    if target_id is not None:
        query = query.where(AdminAction.target_id == str(target_id))
    return list(db.session.scalars(query))


def sync_errors(event_id):
    """The event's failed attempts."""
    return list(db.session.scalars(select(SyncError).where(SyncError.webhook_event_id == event_id)))
