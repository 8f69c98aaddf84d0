"""Reliability proofs with real MariaDB, Redis and `worker.py` processes.

500 events are stored through the endpoint (300 provider objects, some with 2-3 events in shuffled
order, a few unmapped event types and duplicate deliveries). Two workers drain them exactly once;
and a worker killed with SIGKILL mid-run, with Redis wiped, still leaves nothing lost or doubled
once the sweeper and a new worker have run.
"""
import copy
import os
import random
import subprocess
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.factories import make_connection, signed_delivery
from tests.jobs.processes import kill
from zarts.extensions import db
from zarts.models import MetricValue, NormalizedEvent, WebhookEvent, utcnow
from zarts.models.events import FINAL_STATUSES
from zarts.providers import definition
from zarts.queues import get_queue
from zarts.services.ingest.handoff import hand_over
from zarts.services.pipeline import sweeper

pytestmark = [
    pytest.mark.mariadb, pytest.mark.redis,
    pytest.mark.skipif(
        not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL")),
        reason="reliability proofs need real MariaDB and Redis: set TEST_DATABASE_URL and TEST_REDIS_URL",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
OBJECTS, MAPPED, UNMAPPED, DUPLICATES = 300, 470, 30, 15
WORKER_TIMEOUT = 60
RECOVERY_SECONDS = 60
LEAD_STAGES = (("new", "new"), ("contacted", "working"), ("qualified", "qualified"))  # (stage, status)


def _sample(provider_key, event_type):
    return copy.deepcopy(definition(provider_key)["samples"][event_type])


def _object_event(i, k):
    """Event k (0-based, later k = newer) of provider object i: (provider, type, payload, expected state)."""
    kind = ("payment", "subscription", "lead")[i % 3]
    if kind == "lead":
        payload = _sample("standard_webhooks", "lead.created")
        stage, status = LEAD_STAGES[k]
        payload["data"].update(id=f"lead_rel_{i}", stage=stage, updated_at=f"2026-11-01T15:{k:02d}:00Z")
        return "standard_webhooks", "lead.created", payload, ("lead", payload["data"]["id"], status, {"leads": 1})
    if kind == "payment":
        event_type, payload = "charge.succeeded", _sample("stripe", "charge.succeeded")
        amount = 1000 * (i + 1) + k
        payload["data"]["object"].update(id=f"ch_rel_{i}", amount=amount)
        metrics, status = {"revenue": Decimal(amount) / 100, "payments": 1, "failed_payments": 0}, "paid"
    else:
        event_type = "customer.subscription.created" if k == 0 else "customer.subscription.deleted"
        payload = _sample("stripe", event_type)
        payload["data"]["object"]["id"] = f"sub_rel_{i}"
        status = "active" if k == 0 else "canceled"
        metrics = {"active_subscriptions": 1 if k == 0 else 0, "past_due_subscriptions": 0}
    payload["created"] = 1793541000 + 60 * k  # the mapping's version: newer k wins
    return "stripe", event_type, payload, (kind, payload["data"]["object"]["id"], status, metrics)


def workload(seed):
    """(deliveries in shuffled order, duplicates appended; expected newest state per object key)."""
    deliveries, expected = [], {}
    for i in range(OBJECTS):
        for k in range(3 if i < 40 else 2 if i < 130 else 1):  # 300 + 130 + 40 = 470 mapped events
            provider, event_type, payload, (object_type, external_id, status, metrics) = _object_event(i, k)
            deliveries.append((provider, event_type, payload))
            expected[(provider, object_type, external_id)] = (status, metrics)  # k ascends: newest wins
    for n in range(UNMAPPED):
        payload = _sample("stripe", "charge.succeeded")
        payload["type"] = "customer.tax_id.created"
        deliveries.append(("stripe", "customer.tax_id.created", payload))
    rng = random.Random(seed)
    rng.shuffle(deliveries)  # newer events of an object often arrive (and are worked) first
    deliveries = [(f"msg_rel_{n}", *d) for n, d in enumerate(deliveries)]
    return deliveries + rng.sample(deliveries, DUPLICATES), expected


def store_events(client, seed=7):
    """POST the workload to two connections; (ids of stored events, expected state by record key)."""
    connections = {key: make_connection(key, live=True) for key in ("stripe", "standard_webhooks")}
    deliveries, expected = workload(seed)
    ids = []
    for msg_id, provider, event_type, payload in deliveries:
        connection, secret = connections[provider]
        if provider == "stripe":
            payload["id"] = msg_id  # Stripe's dedupe key is the payload's event id
        body, headers = signed_delivery(provider, secret, event_type, payload, msg_id)
        response = client.post(connection.ingest_path, data=body, headers=headers)
        assert response.status_code in (200, 202), response.get_data(as_text=True)
        if response.status_code == 202:
            ids.append(response.get_json()["event_id"])
    assert len(ids) == MAPPED + UNMAPPED
    ids_of = {key: conn.id for key, (conn, _) in connections.items()}
    return ids, {(ids_of[p], t, x): state for (p, t, x), state in expected.items()}


def requeue_as_small_jobs(ids, size, singles=False):
    """Replace the outbox's jobs with jobs of `size` ids (each id also alone when singles is set)."""
    get_queue().empty()
    for start in range(0, len(ids), size):
        chunk = ids[start:start + size]
        hand_over(chunk)
        for event_id in chunk if singles else ():
            hand_over([event_id])  # the same event in two jobs: the claim decides
    db.session.commit()


def wait_for(proc, timeout=WORKER_TIMEOUT):
    """Wait for a burst worker to finish cleanly; its log tail in the failure message otherwise."""
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        kill(proc)
        code = "timeout"
    if code != 0:
        pytest.fail(f"worker ended with {code}:\n{Path(proc.log_path).read_text()[-3000:]}")


def statuses(ids):
    """Status counts of these events, as committed now (a new snapshot)."""
    db.session.rollback()  # end the session's REPEATABLE READ snapshot: workers wrote elsewhere
    return Counter(db.session.scalars(select(WebhookEvent.status).where(WebhookEvent.id.in_(ids))))


def assert_exactly_once(ids, expected):
    """Every event final; one record per provider object, holding its newest state and metrics."""
    assert statuses(ids) == {"normalized": MAPPED, "ignored": UNMAPPED}
    mine = {connection_id for connection_id, _, _ in expected}
    records = db.session.execute(select(
        NormalizedEvent.id, NormalizedEvent.connection_id, NormalizedEvent.object_type,
        NormalizedEvent.external_id, NormalizedEvent.status,
    ).where(NormalizedEvent.connection_id.in_(mine))).all()
    keys = Counter((r.connection_id, r.object_type, r.external_id) for r in records)
    assert len(records) == len(expected) == OBJECTS and set(keys) == set(expected)
    metrics = {}
    for record_id, name, value in db.session.execute(
            select(MetricValue.normalized_event_id, MetricValue.name, MetricValue.value)
            .where(MetricValue.connection_id.in_(mine))):
        assert (record_id, name) not in metrics
        metrics.setdefault(record_id, {})[name] = value
    assert sum(len(m) for m in metrics.values()) == sum(len(m) for _, m in expected.values())
    wrong = []
    for r in records:
        key = (r.connection_id, r.object_type, r.external_id)
        if expected[key] != (r.status, metrics.get(r.id)):
            wrong.append((key, (r.status, metrics.get(r.id)), expected[key]))
    assert wrong == [], f"{len(wrong)} record(s) not at their newest state, e.g. {wrong[:3]}"
    linked = db.session.scalar(select(func.count()).where(
        WebhookEvent.id.in_(ids), WebhookEvent.status == "normalized",
        WebhookEvent.normalized_event_id.in_([r.id for r in records])))
    assert linked == MAPPED


def test_two_workers_process_500_events_exactly_once(app, client, workers):
    ids, expected = store_events(client)
    requeue_as_small_jobs(ids, size=20, singles=True)
    pair = [workers("--burst"), workers("--burst")]
    for proc in pair:
        wait_for(proc)
    assert_exactly_once(ids, expected)
    assert sweeper.sweep(now=utcnow() + timedelta(hours=1))["handed_over"] == 0  # nothing stranded


def wipe_redis():
    """Do to this run's Redis state what FLUSHALL would: its queues, jobs, registries and workers go.

    Not FLUSHALL, nor even FLUSHDB: the test Redis db is shared with other runs (other engineers,
    CI), whose queued jobs must survive. For our keys the effect is the same: nothing is left.
    """
    from rq import Worker

    queue = get_queue()
    conn, marks = queue.connection, set()
    for registry in (queue.started_job_registry, queue.failed_job_registry, queue.finished_job_registry,
                     queue.scheduled_job_registry, queue.deferred_job_registry, queue.canceled_job_registry):
        marks.update(registry.get_job_ids())
    marks.update(queue.get_job_ids())
    marks.update(worker.name for worker in Worker.all(connection=conn, queue=queue))
    prefix = queue.name.rsplit(":", 1)[0]
    every = [key.decode() for key in conn.scan_iter(count=1000)]
    keys = [key for key in every if prefix in key or _names_any(key, marks)]
    for shared_set in ("rq:workers", "rq:queues"):
        stale = [m for m in conn.smembers(shared_set) if prefix in m.decode() or _names_any(m.decode(), marks)]
        if stale:
            conn.srem(shared_set, *stale)
    if keys:
        conn.delete(*keys)
    assert not [k for k in conn.scan_iter(count=1000) if prefix in k.decode()]


def _names_any(key, marks):
    """True when a segment of a Redis key is one of marks (a job id or a worker name)."""
    return not marks.isdisjoint(key.split(":"))


def test_a_killed_worker_and_a_flushed_redis_lose_nothing(app, client, workers):
    ids, expected = store_events(client, seed=11)
    requeue_as_small_jobs(ids, size=5)
    worker = workers()  # a long-running worker (with its sweeper), killed mid-run: with a batch
    deadline = time.monotonic() + WORKER_TIMEOUT  # claimed and being written, after some are done
    while worker.poll() is None and time.monotonic() < deadline:
        now_at = statuses(ids)
        if now_at["normalized"] >= 100 and now_at["processing"]:
            break
        time.sleep(0.005)
    kill(worker)
    at_kill = statuses(ids)
    done = sum(at_kill[s] for s in FINAL_STATUSES)
    assert 0 < done < len(ids) and at_kill["processing"], f"the kill did not land mid-batch: {at_kill}"
    wipe_redis()
    # No time travel: a new worker's sweeper finds the dead worker's claims (its heartbeat is gone)
    # and the queued events the flush lost (the queue holds no work), and all is done within a minute.
    lost_at = time.monotonic()
    workers()
    deadline = lost_at + RECOVERY_SECONDS
    while sum(statuses(ids)[s] for s in FINAL_STATUSES) < len(ids) and time.monotonic() < deadline:
        time.sleep(0.5)
    recovered = time.monotonic() - lost_at
    assert recovered < RECOVERY_SECONDS, f"not recovered within {RECOVERY_SECONDS} s: {statuses(ids)}"
    assert_exactly_once(ids, expected)
    attempts = Counter(db.session.scalars(select(WebhookEvent.attempts).where(WebhookEvent.id.in_(ids))))
    assert set(attempts) <= {1, 2} and attempts[2] == at_kill["processing"]
