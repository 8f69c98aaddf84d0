"""Onboarding step 4: send a signed sample through the real endpoint, then review what it became.

Test deliveries carry a delivery id starting with TEST_PREFIX, which becomes their dedupe key, so
the review can count exactly this connection's test events without a schema change.
"""
import copy
import io
import json
import uuid

from sqlalchemy import func

from ... import dispatch
from ...extensions import db
from ...models import WebhookEvent
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
    statuses, event_id = [], None
    for _ in range(2):  # through the same receipt as a provider's delivery, without an HTTP round trip
        try:
            result = receipt.receive(connection.provider.key, connection.connection_key, headers,
                                     io.BytesIO(body).read, headers["Content-Type"], len(body))
        except receipt.Rejection as rejection:
            statuses.append(rejection.status)
            continue
        statuses.append(result.status)
        event_id = event_id or result.event_id
    if event_id and statuses[0] == 202:
        hand_over([event_id])  # now; without Redis it is normalized before we answer
    return {"event_id": event_id, "statuses": statuses, "queued": dispatch.queued()}


def test_review(connection):
    """Counts of this connection's test deliveries by result: created, updated, unchanged, failed,
    duplicate, ignored, plus pending (not processed yet) and total. One grouped query.
    """
    rows = db.session.execute(
        db.select(WebhookEvent.status, WebhookEvent.outcome, func.count(),
                  func.coalesce(func.sum(WebhookEvent.duplicate_count), 0))
        .where(WebhookEvent.connection_id == connection.id,
               WebhookEvent.dedupe_key.startswith(TEST_PREFIX, autoescape=True))
        .group_by(WebhookEvent.status, WebhookEvent.outcome)
    )
    counts = dict.fromkeys(("created", "updated", "unchanged", "failed", "duplicate", "ignored", "pending",
                            "total"), 0)
    for status, outcome, count, duplicates in rows:
        count = int(count)
        counts["total"] += count
        counts["duplicate"] += int(duplicates)
        if status == "normalized":
            # "stale" (older than the stored record) changed nothing either
            counts["created" if outcome == "created" else "updated" if outcome == "updated" else "unchanged"] += count
        elif status in ("retry_scheduled", "dead_lettered"):
            counts["failed"] += count
        elif status == "ignored":
            counts["ignored"] += count
        elif status in ("received", "queued", "processing"):
            counts["pending"] += count
    return counts
