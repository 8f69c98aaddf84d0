"""(b) The naive reference: HMAC check + one INSERT + one RQ enqueue per request.

This is the obvious implementation the real endpoint is measured against: it verifies the
Standard Webhooks signature, commits one row to its own simple table and enqueues one RQ job per
request, inline, before answering. No dedupe, no raw/summary split, no outbox.

Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_QUEUE, BENCH_SECRET (the whsec_ secret).
It uses the same engine options as zarts (zarts.config.engine_options) so the two differ only in
what they do per request, not in pool settings.
"""
import base64
import hashlib
import hmac
import json
import os
import time
from datetime import datetime, timezone

from flask import Flask, jsonify, request
from redis import Redis
from rq import Queue
from sqlalchemy import BigInteger, Column, DateTime, Integer, LargeBinary, MetaData, String, Table, create_engine
from sqlalchemy.dialects import mysql

from zarts.config import engine_options

TOLERANCE_SECONDS = 300

metadata = MetaData()
naive_events = Table(
    "bench_naive_events", metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("webhook_id", String(255), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("body", LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb"), nullable=False),
    Column("received_at", DateTime, nullable=False),
)


def create_table(url):
    """Create the naive endpoint's table (called by the driver before the run)."""
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()


def create_app():
    """The naive endpoint, configured from the environment."""
    url = os.environ["BENCH_DATABASE_URL"]
    engine = create_engine(url, **engine_options(url))
    queue = Queue(os.environ["BENCH_QUEUE"], connection=Redis.from_url(os.environ["BENCH_REDIS_URL"]))
    key = base64.b64decode(os.environ["BENCH_SECRET"].removeprefix("whsec_"))
    app = Flask(__name__)

    @app.post("/webhooks/<provider_key>/<connection_key>")
    def webhook_receive(provider_key, connection_key):
        """Verify, insert, enqueue, answer."""
        body = request.get_data()
        msg_id = request.headers.get("webhook-id", "")
        ts = request.headers.get("webhook-timestamp", "")
        expected = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest())
        given = [s.partition(",")[2].encode() for s in request.headers.get("webhook-signature", "").split()]
        if not any(hmac.compare_digest(expected, g) for g in given):
            return jsonify({"error": "bad signature"}), 401
        if not ts.isdigit() or abs(time.time() - int(ts)) > TOLERANCE_SECONDS:
            return jsonify({"error": "stale"}), 401
        payload = json.loads(body)
        with engine.begin() as conn:
            event_id = conn.execute(naive_events.insert().values(
                webhook_id=msg_id, event_type=str(payload.get("type", ""))[:255], body=body,
                received_at=datetime.now(timezone.utc).replace(tzinfo=None),
            )).inserted_primary_key[0]
        queue.enqueue("bench.naive_app.process_event", event_id, result_ttl=0)
        return jsonify({"event_id": event_id, "status": "accepted"}), 202

    @app.get("/")
    def ready():
        """Readiness probe for the bench driver."""
        return "ok"

    return app


def process_event(event_id):
    """Never run by the bench (no worker); the queue is emptied afterwards."""


app = create_app() if "BENCH_DATABASE_URL" in os.environ else None
