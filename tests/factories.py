"""Plain factory functions for test data, going through the same services as the app."""
import itertools

from zarts.extensions import db
from zarts.services.setup import accounts, connections

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def make_client(name=None):
    """A new client with a unique name."""
    client = accounts.create_client(name or f"Client {next(_seq)}")
    db.session.commit()
    return client


def make_user(role="admin", client=None, email=None, password=PASSWORD):
    """A new user; client users get a new client unless one is given."""
    if role == "client" and client is None:
        client = make_client()
    email = email or f"{role}{next(_seq)}@example.com"
    user = accounts.create_user(email, password, role, client.slug if client else None)
    db.session.commit()
    return user


def make_connection(provider_key="stripe", client=None, owner=None, reason="Feeds the revenue card", live=False):
    """A new connection; returns (connection, plaintext secret).

    It starts in draft, where everything it receives is test data; live=True puts it straight in
    active (the onboarding gate has tests of its own), so what it receives counts.
    """
    import secrets

    from zarts.providers import definition

    client = client or make_client()
    owner = owner or make_user("admin")
    pasted = None  # as the admin would: the secret the provider's dashboard shows, where it issues one
    if ((definition(provider_key) or {}).get("secret") or {}).get("issued_by") == "provider":
        pasted = "whsec_" + secrets.token_urlsafe(24) if provider_key == "stripe" else "shpss_" + secrets.token_hex(16)
    connection, secret = connections.create_connection(provider_key, client.slug, owner.email, reason, secret=pasted)
    secret = pasted or secret
    if live:
        connection.lifecycle = "active"
    db.session.commit()
    return connection, secret


EVENT_TYPE_HEADERS = {"github": "X-GitHub-Event", "shopify": "X-Shopify-Topic"}


def signed_delivery(provider_key, secret, event_type=None, payload=None, msg_id=None, timestamp=None):
    """(body bytes, headers) as the provider would send a sample event, signed with secret."""
    import copy
    import json
    import uuid

    from zarts.providers import definition
    from zarts.services.ingest import signatures

    shipped = definition(provider_key)
    event_type = event_type or next(iter(shipped["samples"]))
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    if payload is None:
        payload = copy.deepcopy(shipped["samples"][event_type])
        if provider_key == "stripe":
            payload["id"] = msg_id  # Stripe's dedupe key is the payload's event id
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = signatures.sign(shipped["signature_scheme"], body, secret, msg_id=msg_id, timestamp=timestamp)
    headers["Content-Type"] = "application/json"
    if provider_key in EVENT_TYPE_HEADERS:
        headers[EVENT_TYPE_HEADERS[provider_key]] = event_type
    return body, headers


def drain():
    """Run every queued job now: a real RQ SimpleWorker in burst mode when Redis is configured.

    Without Redis the pipeline already ran in-process when the event was handed over.
    """
    from rq import SimpleWorker

    from zarts.queues import get_queue

    queue = get_queue()
    if queue is not None:
        SimpleWorker([queue], connection=queue.connection).work(burst=True, logging_level="WARNING")


def deliver(client, connection, secret, event_type=None, payload=None, msg_id=None):
    """POST a signed sample (or payload) to the connection's endpoint and run the queued jobs."""
    body, headers = signed_delivery(connection.provider.key, secret, event_type, payload, msg_id)
    response = client.post(connection.ingest_path, data=body, headers=headers)
    drain()
    return response


def go_live(connection, admin=None, metric_name="revenue", activate=True):
    """Take a webhook connection through the real onboarding gate, on real evidence: access
    confirmed, a test event sent and its counts reviewed, a metric with its story published, then
    active (unless activate=False: ready to go live, not yet live). Returns the published metric."""
    from zarts.services.proof import metrics
    from zarts.services.setup import gate, lifecycle, onboarding

    admin = admin or connection.owner
    gate.confirm_access(connection, admin, "Checked the account, the provider's docs, its auth model and scopes")
    onboarding.send_test_event(connection, admin)
    drain()
    db.session.rollback()
    gate.review_test_data(connection, admin)
    metric = metrics.save_metric(connection.client, {
        "name": "Monthly revenue", "metric_name": metric_name, "connection_id": connection.id, "period": "month",
        "unit": "USD", "client_meaning": "What customers paid this month.", "aggregation": "sum",
        "baseline_value": "900", "next_action": "We review the month with you on the 1st."}, admin)
    metrics.publish(metric, admin)
    db.session.commit()
    if activate:
        lifecycle.transition(connection, "active", admin)
    return metric


def load_demo():
    """The demo data with every delivery worked and every card drawn (with Redis the demo only queues)."""
    from zarts.extensions import db
    from zarts.models import MetricDefinition
    from zarts.services.proof import outcomes
    from zarts.services.setup import demo

    assert demo.load()
    drain()
    for metric in db.session.scalars(db.select(MetricDefinition).filter_by(published=True)):
        outcomes.refresh_card(metric)
    db.session.commit()
