"""Recovery without a person: a backlog handed over once per grace, a flushed queue and a dead
worker noticed within a minute, workers that ride out a Redis outage, and /healthz saying so.

Each test runs its own redis-server (tests/jobs/conftest.py), so they run on both backends and
may stop Redis without touching anyone else's.
"""
import time
from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import update

from tests.factories import make_connection, make_user, signed_delivery
from tests.jobs.processes import kill
from zarts.extensions import db
from zarts.models import WebhookEvent, utcnow
from zarts.queues import get_queue, queue_name
from zarts.services.pipeline import claims, sweeper

pytestmark = pytest.mark.usefixtures("redis_app_config")


def stored_events(app, n=3):
    """n deliveries to a new Stripe connection, as the endpoint stores and queues them; their ids."""
    connection, secret = make_connection("stripe")
    client = app.test_client()
    ids = []
    for _ in range(n):
        body, headers = signed_delivery("stripe", secret)
        response = client.post(connection.ingest_path, data=body, headers=headers)
        assert response.status_code == 202
        ids.append(response.get_json()["event_id"])
    return ids


def set_events(ids, **values):
    table = WebhookEvent.__table__
    db.session.execute(update(table).where(table.c.id.in_(ids)).values(**values))
    db.session.commit()


def statuses(ids):
    db.session.rollback()
    return sorted(db.session.scalars(db.select(WebhookEvent.status).where(WebhookEvent.id.in_(ids))))


def test_stored_events_wait_queued_with_the_time_they_are_due_again(app):
    ids = stored_events(app)
    assert statuses(ids) == ["queued"] * 3
    due = {db.session.get(WebhookEvent, i).next_attempt_at for i in ids}
    assert all(utcnow() + timedelta(seconds=500) < d < utcnow() + timedelta(seconds=700) for d in due)


def test_a_long_backlog_is_handed_over_once_per_grace_not_every_sweep(app):
    ids = stored_events(app)
    an_hour_ago = utcnow() - timedelta(hours=1)  # long queued behind a backlog that workers still work
    set_events(ids, received_at=an_hour_ago)
    assert sweeper.sweep()["handed_over"] == 0  # handed over minutes ago: not yet due again
    set_events(ids, next_attempt_at=utcnow() - timedelta(seconds=1))
    jobs_before = get_queue().count
    assert sweeper.sweep()["handed_over"] == 3
    assert sweeper.sweep()["handed_over"] == 0  # not again on the next round ...
    assert sweeper.sweep(now=utcnow() + timedelta(minutes=9))["handed_over"] == 0  # ... nor within the grace
    assert sweeper.sweep(now=utcnow() + timedelta(minutes=11))["handed_over"] == 3
    assert get_queue().count == jobs_before + 2


def test_after_a_redis_flush_the_queued_events_are_handed_over_within_a_minute(app):
    ids = stored_events(app)
    set_events(ids, next_attempt_at=utcnow() + timedelta(seconds=600 - 31))  # handed over 31 s ago
    assert sweeper.sweep()["handed_over"] == 0  # their jobs are still in the queue: nothing is lost
    get_queue().connection.flushdb()  # Redis loses everything
    assert sweeper.sweep()["handed_over"] == 3
    assert get_queue().count == 1 and statuses(ids) == ["queued"] * 3


def test_a_dead_workers_claims_end_with_its_heartbeat_not_its_lease(app):
    dead, alive = stored_events(app, 2)
    lease = utcnow() + timedelta(seconds=claims.LEASE_SECONDS)
    set_events([dead], status="processing", claim_token="t-dead", claimed_by="host:1:dead", lease_expires_at=lease)
    set_events([alive], status="processing", claim_token="t-live", claimed_by="host:2:live", lease_expires_at=lease)
    get_queue().connection.set(queue_name("worker:host:2:live"), "1", ex=20)  # only this one still beats
    get_queue().empty()
    result = sweeper.sweep()
    assert result == {"handed_over": 1, "dead_claims": 1}
    db.session.rollback()
    assert db.session.get(WebhookEvent, alive).lease_expires_at == lease
    assert [job.args for job in get_queue().get_jobs()] == [([dead],)]


def test_a_worker_rides_out_a_redis_outage_and_carries_on(app, private_redis, workers):
    worker = workers()
    Queue(queue_name(), connection=Redis.from_url(private_redis.url)).enqueue(
        "tests.jobs.blip.shut_redis_down", private_redis.url)  # Redis goes down while the worker is busy
    deadline = time.monotonic() + 20
    while private_redis.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert private_redis.proc.poll() is not None, "the job never took Redis down"
    time.sleep(2)  # the outage lasts a moment
    assert worker.poll() is None, f"the worker died with Redis:\n{Path(worker.log_path).read_text()[-2000:]}"
    private_redis.start()
    ids = stored_events(app, 2)  # new deliveries, queued once Redis is back
    deadline = time.monotonic() + 45
    while statuses(ids) != ["normalized"] * 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert statuses(ids) == ["normalized"] * 2, Path(worker.log_path).read_text()[-3000:]
    assert worker.poll() is None
    kill(worker)


def test_healthz_and_the_board_say_when_no_worker_has_been_seen(app, client, login, workers):
    answer = client.get("/healthz").get_json()
    assert answer["status"] == "degraded" and answer["workers"]["ok"] is False
    login(make_user("admin"))
    assert "No worker has been seen yet" in client.get("/admin/").get_data(as_text=True)
    worker = workers()
    deadline = time.monotonic() + 30
    while client.get("/healthz").get_json()["status"] != "ok" and time.monotonic() < deadline:
        time.sleep(0.2)
    answer = client.get("/healthz").get_json()
    assert answer["status"] == "ok" and answer["workers"]["alive"] == 1
    assert "No worker has been seen" not in client.get("/admin/").get_data(as_text=True)
    kill(worker)
