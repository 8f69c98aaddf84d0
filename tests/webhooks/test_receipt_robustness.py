"""Receipt under pressure: concurrent duplicates, Redis down, and random input."""
import os
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import strategies
from tests.factories import make_connection, signed_delivery
from zarts.extensions import db
from zarts.models import WebhookEvent

needs_mariadb = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs TEST_DATABASE_URL (real MariaDB) for true concurrency"
)


@needs_mariadb
def test_32_concurrent_deliveries_of_one_id_store_one_event(app):
    connection, secret = make_connection("standard_webhooks")
    body, headers = signed_delivery("standard_webhooks", secret, msg_id="msg_concurrent_1")
    path = connection.ingest_path
    start = threading.Barrier(32)
    answers = []

    def deliver():
        client = app.test_client()
        start.wait()
        response = client.post(path, data=body, headers=headers)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=deliver) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    codes = sorted(code for code, _ in answers)
    assert codes == [200] * 31 + [202]
    assert len({body["event_id"] for _, body in answers}) == 1
    db.session.rollback()  # end the snapshot taken before the deliveries (REPEATABLE READ)
    [event] = db.session.scalars(db.select(WebhookEvent).filter_by(connection_id=connection.id)).all()
    assert event.duplicate_count == 31


@pytest.fixture
def redis_down_config(app_config):
    app_config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    return app_config


def test_redis_down_still_accepts_and_leaves_the_event_received(redis_down_config, app, client):
    connection, secret = make_connection("stripe")
    body, headers = signed_delivery("stripe", secret)
    response = client.post(connection.ingest_path, data=body, headers=headers)
    assert response.status_code == 202
    event = db.session.get(WebhookEvent, response.get_json()["event_id"])
    assert event.status == "received"


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs TEST_REDIS_URL (real Redis)")
def test_accepted_event_is_handed_to_the_queue_after_commit(app, client):
    from zarts.queues import get_queue

    connection, secret = make_connection("github")
    body, headers = signed_delivery("github", secret)
    response = client.post(connection.ingest_path, data=body, headers=headers)
    event_id = response.get_json()["event_id"]
    assert db.session.get(WebhookEvent, event_id).status == "queued"
    jobs = get_queue().get_jobs()
    assert any(job.args == ([event_id],) for job in jobs)
    get_queue().empty()


header_names = st.sampled_from([
    "webhook-id", "webhook-timestamp", "webhook-signature", "Stripe-Signature", "X-Hub-Signature-256",
    "X-GitHub-Delivery", "X-GitHub-Event", "X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id",
    "X-Shopify-Topic", "Content-Type", "Content-Length", "X-Anything",
])
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    provider=st.sampled_from(["standard_webhooks", "stripe", "github", "shopify"]),
    body=st.binary(max_size=2048) | st.text(max_size=500).map(str.encode),
    headers=st.dictionaries(header_names, header_values, max_size=8),
    sign=st.booleans(),
)
def test_random_bodies_and_headers_never_get_a_5xx(app, provider, body, headers, sign):
    from zarts.services.ingest import signatures

    connection, secret = _fuzz_connection(app, provider)
    headers = {k: v for k, v in headers.items() if k != "Content-Length"}
    if sign:  # signed garbage must reach the parser and still never 5xx
        headers.update(signatures.sign(connection.provider.signature_scheme, body, secret))
        headers.setdefault("Content-Type", "application/json")
    response = app.test_client().post(connection.ingest_path, data=body, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json


def _fuzz_connection(app, provider):
    cache = app.extensions.setdefault("fuzz_connections", {})
    if provider not in cache:
        connection, secret = make_connection(provider)
        cache[provider] = (connection.id, secret)
    connection_id, secret = cache[provider]
    from zarts.models import Connection

    return db.session.get(Connection, connection_id), secret


any_text = strategies.any_text(40)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(provider=st.sampled_from(["standard_webhooks", "stripe"]), event_type=any_text, event_id=any_text,
       field=any_text)
def test_signed_json_with_any_text_in_its_fields_is_stored_or_refused_never_5xx(app, provider, event_type, event_id,
                                                                                field):
    import json

    from zarts.models import RawEvent
    from zarts.services.ingest import signatures

    connection, secret = _fuzz_connection(app, provider)
    body = json.dumps({"id": event_id, "type": event_type, "livemode": True, "data": {"id": field, "note": field}})
    body = body.encode()
    headers = signatures.sign(connection.provider.signature_scheme, body, secret)
    headers["Content-Type"] = "application/json"
    response = app.test_client().post(connection.ingest_path, data=body, headers=headers)
    assert response.status_code in (200, 202), response.get_data(as_text=True)
    db.session.rollback()
    raw = db.session.scalar(db.select(RawEvent).filter_by(webhook_event_id=response.get_json()["event_id"]))
    assert raw is not None and (bytes(raw.body) == body or response.status_code == 200)
