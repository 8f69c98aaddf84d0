"""Webhook receipt: check, verify, dedupe and durably store one delivery before acknowledging it."""
import hashlib
import json
from dataclasses import dataclass

import jmespath
from flask import current_app
from sqlalchemy import select, update

from ...extensions import db
from ...models import Connection, utcnow
from .. import storable_text
from ..health import signals
from . import group_commit, masking, signatures, summaries, targets, webhook_limits

JSON_TYPES = ("application/json",)
TEST_LIFECYCLES = ("draft", "testing")


class Rejection(Exception):
    """A delivery we refuse, with its HTTP status; counted per connection when `counted`."""

    def __init__(self, status, reason, connection_id=None, counted=False, retry_after=None):
        super().__init__(reason)
        self.status, self.reason = status, reason
        self.connection_id, self.counted, self.retry_after = connection_id, counted, retry_after


@dataclass(frozen=True)
class Receipt:
    status: int
    body: dict
    event_id: int | None = None


def receive(provider_key, connection_key, headers, read_body, content_type, content_length, test=False):
    """Answer one delivery. read_body(n) reads at most n bytes of the request body.

    test: an admin's test event (onboarding); the delivery is stored in test mode whatever else.
    """
    target = targets.lookup(provider_key, connection_key)
    if target is None:
        raise Rejection(404, "unknown provider or connection")
    if target.lifecycle == "disconnected":
        raise Rejection(410, "connection is disconnected", target.connection_id)
    limit = current_app.config["WEBHOOK_MAX_BYTES"]
    too_large = Rejection(413, f"body larger than {limit} bytes", target.connection_id, counted=True)
    if content_length is not None and content_length > limit:
        raise too_large
    if not _is_json(content_type):
        raise Rejection(415, "content type must be application/json", target.connection_id, counted=True)
    body = read_body(limit + 1)
    if len(body) > limit:
        raise too_large
    target = _verified(target, body, headers)
    try:  # after verification, so forged traffic cannot use up a provider's allowance
        webhook_limits.hit(target.connection_id, target.rate_limit_per_minute)
    except webhook_limits.Throttled as exc:
        raise Rejection(429, "rate limit exceeded", target.connection_id, counted=True,
                        retry_after=exc.retry_after) from exc

    payload, parse_error = _parse(body)
    event_type = _event_type(target, payload, headers)
    dedupe_key = _dedupe_key(target, payload, headers, body)
    summary = summaries.summarize(
        payload, event_type=event_type, object_id_paths=target.object_id_paths,
        sensitive_keys=current_app.config["PAYLOAD_SENSITIVE_KEYS"], body_size=len(body),
    )
    mode = "test" if test or is_test(target, payload, headers) else "live"
    event_id, duplicate = store(target, dedupe_key, event_type, summary, body, headers, content_type, parse_error,
                                mode)
    if parse_error:
        return Receipt(400, {"error": "body is not valid JSON", "event_id": event_id}, event_id)
    if duplicate:
        return Receipt(200, {"event_id": event_id, "status": "duplicate"}, event_id)
    return Receipt(202, {"event_id": event_id, "status": "accepted"}, event_id)


def _verified(target, body, headers):
    return verified(target, lambda t: signatures.verify(t.scheme, body, headers, t.valid_secrets()))


def verified(target, check):
    """The target whose secrets pass check(target) (which raises SignatureError); on failure the
    connection is re-read once, in case its secret just changed. Rejection 401 when neither passes."""
    try:
        check(target)
        return target
    except signatures.SignatureError as exc:
        fresh = targets.lookup(target.provider_key, target.connection_key, fresh=True)
        if fresh is None or fresh.valid_secrets() == target.valid_secrets():
            raise Rejection(401, exc.reason, target.connection_id, counted=True) from exc
    try:
        check(fresh)
        return fresh
    except signatures.SignatureError as exc:
        raise Rejection(401, exc.reason, fresh.connection_id, counted=True) from exc


def _is_json(content_type):
    mimetype = (content_type or "").split(";", 1)[0].strip().lower()
    return mimetype in JSON_TYPES or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def _parse(body):
    """(payload, None) for a JSON body, (None, reason) otherwise."""
    try:
        return json.loads(body), None
    except (ValueError, RecursionError) as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"


def _event_type(target, payload, headers):
    rule = target.event_type_rule
    if "header" in rule:
        value = headers.get(rule["header"], "")
    else:
        value = _search(rule.get("path"), payload)
    return storable_text(str(value)[:255]) if isinstance(value, (str, int)) else ""


def _dedupe_key(target, payload, headers, body):
    """The scheme's delivery id (header or payload path); SHA-256 of the body when there is none."""
    rule = target.dedupe_rule
    value = headers.get(rule["header"]) if "header" in rule else _search(rule.get("path"), payload)
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        value = str(value).strip()
        if len(value) <= 200 and storable_text(value) == value:
            return value
        # Too long, or text the database cannot store (a lone surrogate): a hash of it still dedupes.
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return "sha256:" + hashlib.sha256(body).hexdigest()



def _search(path, payload):
    if not path or not isinstance(payload, (dict, list)):
        return None
    try:
        return jmespath.search(path, payload)
    except jmespath.exceptions.JMESPathError:
        return None


def lifecycle_mode(lifecycle):
    """The mode of data a connection takes in while in this lifecycle: test until it goes active."""
    return "test" if lifecycle in TEST_LIFECYCLES else "live"


def is_test(target, payload, headers):
    """A test delivery: the connection is not live yet (draft or testing), or the provider marks
    it, as its definition's test_marker says (Stripe `livemode: false`, Shopify `X-Shopify-Test`)."""
    if target.lifecycle in TEST_LIFECYCLES:
        return True
    marker = target.test_marker
    if "header" in marker:
        value = headers.get(marker["header"])
        return value is not None and value.strip().lower() == str(marker["equals"]).lower()
    if "path" in marker and isinstance(payload, dict):
        return _search(marker["path"], payload) is marker["equals"] if isinstance(marker["equals"], bool) \
            else _search(marker["path"], payload) == marker["equals"]
    return False


def store(target, dedupe_key, event_type, summary, body, headers, content_type, parse_error=None, mode="live"):
    """Insert webhook event + raw event (+ parse error) in one committed transaction; (event_id, duplicate).

    Dedupe is race-safe: the unique (connection_id, dedupe_key) constraint decides, and a losing
    insert bumps the original's duplicate count instead of adding a row. Concurrent deliveries
    share one transaction and commit (see ingest_store).
    """
    now = utcnow()
    delivery = group_commit.Delivery(
        event={
            "connection_id": target.connection_id, "source": "webhook", "mode": mode, "dedupe_key": dedupe_key,
            "event_type": event_type, "status": "dead_lettered" if parse_error else "received",
            "status_reason": parse_error, "attempts": 0, "payload_summary": summary,
            "body_sha256": hashlib.sha256(body).hexdigest(), "duplicate_count": 0,
            "received_at": now, "processed_at": now if parse_error else None,
        },
        raw={
            "connection_id": target.connection_id, "content_type": content_type[:255],
            "headers": masking.mask_headers(dict(headers)), "body": body, "received_at": now,
        },
        error=None if not parse_error else {
            "connection_id": target.connection_id, "stage": "parse", "error_class": "InvalidJSON",
            "message": parse_error, "attempt": 0, "transient": False, "created_at": now,
        },
    )
    if db.session.registry.has() and db.session().in_transaction():
        # The rows are written on the group's own connection; end this session's transaction as a
        # single-session store would, so what it reads next (REPEATABLE READ) includes them.
        db.session.commit()
    event_id, duplicate = group_commit.store(delivery)
    if event_id is None:  # the insert failed for another reason, e.g. the connection is gone
        raise Rejection(404, "unknown provider or connection")
    return event_id, duplicate


def count_rejection(connection_id, reason, status):
    """Record a refused delivery on its connection (never the body), and in this minute's health
    counter (a 401, a bad or missing signature, counts apart from other rejections)."""
    table, now = Connection.__table__, utcnow()
    db.session.execute(update(table).where(table.c.id == connection_id).values(
        rejection_count=table.c.rejection_count + 1, last_rejection_reason=reason[:255],
        last_rejection_at=now, updated_at=table.c.updated_at,
    ))
    signals.bump(connection_id, "auth_rejected" if status == 401 else "rejected", now)
    number = db.session.scalar(select(table.c.rejection_count).where(table.c.id == connection_id))
    if number is not None:
        signals.remember_rejection(connection_id, number, status, reason, now)
    db.session.commit()
