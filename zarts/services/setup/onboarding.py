"""Onboarding step 4: send a signed sample through the real endpoint, then review what it became.

A test event is stored in test mode (like every delivery before the connection goes active), so
its record is one of the connection's test records and never feeds a metric; the review counts
the connection's test deliveries.
"""
import copy
import io
import json
import uuid

from ... import dispatch
from ...extensions import db
from ...providers import definition
from .. import DomainError, audit
from ..ingest import receipt, secrets, signatures
from ..ingest.handoff import hand_over
from . import lifecycle

TEST_PREFIX = "zarts_test_"
TESTABLE = ("draft", "testing")


def sample_for(connection):
    """(event type, payload) of the provider's first shipped sample, or DomainError."""
    shipped = definition(connection.provider.key) or {}
    samples = shipped.get("samples") or {}
    if not samples:
        raise DomainError(f"provider '{connection.provider.key}' ships no sample event")
    event_type = next(iter(samples))
    return event_type, copy.deepcopy(samples[event_type])


def send_test_event(connection, actor):
    """Deliver the first sample, signed with the connection's secret, to its ingest URL, twice.

    The repeat proves dedupe (it must come back as a duplicate). A draft connection moves to
    testing. Returns {"event_id", "statuses", "queued"}; with Redis, normalization is handed to
    the workers and the review counts fill in as they finish.
    """
    if connection.provider.kind != "webhook":
        raise DomainError("only webhook connections take test events: try a CSV dry run or a test sync")
    if connection.lifecycle not in TESTABLE:
        raise DomainError(f"test events are sent while a connection is in draft or testing, not {connection.lifecycle}"
                          " (so sample records never reach a live client's cards)")
    secret = secrets.decrypt(connection.secret_encrypted)
    if secret is None:
        raise DomainError("the connection's secret cannot be read with the current key: rotate it first")
    shipped = definition(connection.provider.key)
    event_type, payload = sample_for(connection)
    msg_id = f"{TEST_PREFIX}{uuid.uuid4().hex}"
    dedupe_path = (shipped.get("dedupe") or {}).get("path")
    if dedupe_path and "." not in dedupe_path and isinstance(payload, dict):
        payload[dedupe_path] = msg_id  # e.g. Stripe's event id: the payload carries the delivery id
    body = json.dumps(payload).encode()
    headers = signatures.sign(connection.provider.signature_scheme, body, secret, msg_id=msg_id)
    headers["Content-Type"] = "application/json"
    type_header = (shipped.get("event_type") or {}).get("header")
    if type_header:
        headers[type_header] = event_type
    if connection.lifecycle == "draft":
        lifecycle.transition(connection, "testing", actor, "test event sent")
    audit.record(actor, "connection.test_event", "connection", connection.id, "", None,
                 {"event_type": event_type, "delivery_id": msg_id})
    db.session.commit()  # receipt writes on its own connection: nothing of ours may be pending
    first, event_id = deliver(connection, body, headers, test=True)
    again, _ = deliver(connection, body, headers, test=True)
    return {"event_id": event_id, "statuses": [first, again], "queued": dispatch.queued()}


def deliver(connection, body, headers, test=False):
    """Put a signed body through the same receipt as a provider's delivery, without an HTTP round
    trip, and hand an accepted one over at once (without Redis: normalized before this returns).
    (status, event id or None)."""
    try:
        result = receipt.receive(connection.provider.key, connection.connection_key, headers,
                                 io.BytesIO(body).read, headers.get("Content-Type", "application/json"), len(body),
                                 test=test)
    except receipt.Rejection as rejection:
        return rejection.status, None
    if result.status == 202:
        hand_over([result.event_id])
    return result.status, result.event_id
