"""Pull-sync against a real local HTTP source: paging, 429/Retry-After, 5xx backoff, crash resume."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import drain
from tests.health.conftest import TOKEN, set_active
from zarts.extensions import db
from zarts.models import (
    Connection,
    HealthSignal,
    NormalizedEvent,
    SyncError,
    SyncRun,
    WebhookEvent,
    utcnow,
)
from zarts.services.sync import pull, runs, settings


def count(model, **where):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def fresh(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def run_once(connection):
    """A manual run, normalized in-process; then any queued jobs (Redis) are worked off."""
    run = pull.run_now(connection)
    drain()
    return fresh(SyncRun, run.id)


def test_pages_through_five_pages_and_creates_each_record_once(app, fake_source, sync_connection):
    set_active(sync_connection)  # live data: it stamps the connection's last success
    run = run_once(sync_connection)
    assert run.status == "succeeded", run.error
    assert (run.pages, run.fetched, run.stored, run.duplicate) == (5, 23, 23, 0)
    assert run.counts["created"] == 23 and run.cursor_before is None
    cursors = [query.get("cursor") for _, query, _ in fake_source.requests]
    assert cursors[0] is None and all(cursors[1:]) and fake_source.statuses() == [200] * 5
    assert count(NormalizedEvent, connection_id=sync_connection.id) == 23
    assert count(WebhookEvent, connection_id=sync_connection.id, source="sync", status="normalized") == 23
    connection = fresh(Connection, sync_connection.id)
    assert connection.sync_cursor == run.cursor_after and connection.sync_cursor.endswith("|rec_023")
    assert connection.last_success_at is not None and connection.health == "healthy"

    again = run_once(connection)  # nothing new since the saved cursor: one empty page
    assert (again.status, again.pages, again.fetched, again.stored) == ("succeeded", 1, 0, 0)
    assert again.cursor_before == run.cursor_after

    fake_source.change("rec_004", status="qualified")  # records change between runs
    fake_source.change("rec_017", amount=999)
    fake_source.add("rec_024", name="Record 24", status="new", amount=124)
    third = run_once(connection)
    assert (third.status, third.fetched, third.stored) == ("succeeded", 3, 3)
    assert third.counts == {"claimed": 3, "created": 1, "updated": 2}
    assert count(NormalizedEvent, connection_id=connection.id) == 24
    record = db.session.scalar(select(NormalizedEvent).filter_by(connection_id=connection.id, external_id="rec_004"))
    assert record.status == "qualified" and record.action == "updated"


def test_reading_the_same_records_again_stores_nothing_new(app, fake_source, sync_connection):
    run_once(sync_connection)
    settings.reset_cursor(fresh(Connection, sync_connection.id), None, "re-read everything")
    run = run_once(fresh(Connection, sync_connection.id))
    assert (run.status, run.pages, run.fetched, run.stored, run.duplicate) == ("succeeded", 5, 23, 0, 23)
    assert count(WebhookEvent, connection_id=sync_connection.id) == 23
    assert db.session.scalar(select(func.sum(WebhookEvent.duplicate_count))) == 23


def test_backs_off_on_429_for_the_given_retry_after(app, fake_source, sync_connection):
    set_active(sync_connection)
    fake_source.records = dict(list(fake_source.records.items())[:10])  # two pages
    original = fake_source.answer
    calls = []

    def throttle_second_page(query, authorization):
        calls.append(query)
        if len(calls) == 2:  # the second page: "slow down, come back in 1 s"
            fake_source.plan(429, **{"Retry-After": "1"})
        return original(query, authorization)

    fake_source.answer = throttle_second_page
    run = run_once(sync_connection)
    assert run.status == "succeeded" and (run.pages, run.stored, run.throttled) == (2, 10, 1)
    times = [t for t, _, _ in fake_source.requests]
    assert fake_source.statuses() == [200, 429, 200]
    assert 0.95 <= times[2] - times[1] < 4, "the retry waits the Retry-After (1 s), not less, not much more"
    assert fake_source.requests[2][1] == fake_source.requests[1][1]  # the same page asked again
    assert db.session.scalar(select(func.sum(HealthSignal.hits)).filter_by(
        connection_id=sync_connection.id, kind="throttled")) == 1
    connection = fresh(Connection, sync_connection.id)
    assert connection.health == "degraded" and "throttled us (HTTP 429) 1 time" in connection.health_reason


def test_a_retry_after_beyond_the_cap_ends_the_run_until_then(app, fake_source, sync_connection):
    set_active(sync_connection)
    fake_source.plan(429, **{"Retry-After": "120"})  # the cap in these tests is 5 s
    started = utcnow()
    run = run_once(sync_connection)
    assert run.status == "throttled" and run.error_kind == "throttled" and "wait 120 s" in run.error
    assert started + timedelta(seconds=115) < run.retry_at < utcnow() + timedelta(seconds=121)
    assert (run.seconds or 0) < 5 and fake_source.statuses() == [429]
    assert runs.due() == []  # not before the source lets us back in
    run.retry_at = run.started_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    assert [c.id for c in runs.due()] == [sync_connection.id]


def test_5xx_answers_are_retried_with_backoff(app, fake_source, sync_connection):
    fake_source.plan(500, times=2)
    run = run_once(sync_connection)
    assert run.status == "succeeded" and run.retried == 2 and run.stored == 23
    assert fake_source.statuses()[:3] == [500, 500, 200]
    times = [t for t, _, _ in fake_source.requests]
    assert times[1] - times[0] >= 0.03 and times[2] - times[1] >= 0.07  # 0.05 s, then 0.1 s (+-25%)
    errors = db.session.scalars(select(SyncError).filter_by(connection_id=sync_connection.id)).all()
    assert len(errors) == 2 and all(e.stage == "sync" and e.transient for e in errors)
    assert all("HTTP 500" in e.message and TOKEN not in e.message and "?" not in e.message for e in errors)


def test_a_source_that_keeps_failing_fails_the_run_and_the_next_run_resumes(app, fake_source, sync_connection):
    original = fake_source.answer
    calls = []

    def fail_from_the_third_page(query, authorization):
        calls.append(query)
        if len(calls) == 3:
            fake_source.plan(503, times=4)  # max_retries is 3: four failures end the run
        return original(query, authorization)

    fake_source.answer = fail_from_the_third_page
    run = run_once(sync_connection)
    assert run.status == "failed" and run.error_kind == "http" and "HTTP 503, 4 attempts" in run.error
    assert (run.pages, run.stored) == (2, 10)
    saved = fresh(Connection, sync_connection.id).sync_cursor
    assert saved == run.cursor_after and saved.endswith("|rec_010")
    fake_source.answer = original
    resumed = run_once(fresh(Connection, sync_connection.id))
    assert resumed.status == "succeeded" and resumed.cursor_before == saved
    assert (resumed.pages, resumed.stored, resumed.duplicate) == (3, 13, 0)
    assert count(NormalizedEvent, connection_id=sync_connection.id) == 23


class SimulatedCrash(BaseException):
    """Like a killed worker: no except-Exception cleanup runs."""


def test_resumes_after_a_crash_from_the_saved_cursor(app, fake_source, sync_connection, monkeypatch):
    real_store = pull._store_page
    stored_pages = []

    def crash_on_the_third_page(*args, **kwargs):
        if len(stored_pages) == 2:
            raise SimulatedCrash()
        stored_pages.append(1)
        return real_store(*args, **kwargs)

    monkeypatch.setattr(pull, "_store_page", crash_on_the_third_page)
    with pytest.raises(SimulatedCrash):
        pull.run_now(sync_connection)
    db.session.rollback()
    drain()
    crashed = db.session.scalar(select(SyncRun).filter_by(connection_id=sync_connection.id))
    assert crashed.status == "running" and crashed.open_key == sync_connection.id  # its lease still holds
    saved = fresh(Connection, sync_connection.id).sync_cursor
    assert saved.endswith("|rec_010") and count(WebhookEvent, connection_id=sync_connection.id) == 10

    monkeypatch.setattr(pull, "_store_page", real_store)
    with pytest.raises(runs.AlreadyRunning):  # never two runs at once, even after a crash...
        pull.run_now(fresh(Connection, sync_connection.id))
    crashed.lease_expires_at = utcnow() - timedelta(seconds=1)  # ...until the lease runs out
    db.session.commit()
    resumed = run_once(fresh(Connection, sync_connection.id))
    assert resumed.status == "succeeded" and resumed.cursor_before == saved
    assert (resumed.pages, resumed.fetched, resumed.stored, resumed.duplicate) == (3, 13, 13, 0)
    assert fake_source.requests[3][1]["cursor"] == saved  # the first request after the crash
    abandoned = fresh(SyncRun, crashed.id)
    assert abandoned.status == "abandoned" and abandoned.open_key is None and "resumes" in abandoned.error
    assert count(WebhookEvent, connection_id=sync_connection.id) == 23
    assert count(NormalizedEvent, connection_id=sync_connection.id) == 23


def test_one_run_at_a_time_per_connection(app, fake_source, sync_connection):
    first = runs.start(sync_connection, "scheduled")
    with pytest.raises(runs.AlreadyRunning, match=f"run #{first.id}"):
        runs.start(sync_connection, "manual")
    token = runs.claim(first.id, 60)
    assert token and runs.claim(first.id, 60) is None  # a second worker cannot take it
    assert runs.extend(first.id, "not-the-token", 60) is False
    assert runs.finish(first.id, token, "succeeded")
    assert runs.start(sync_connection, "manual").status == "queued"


def test_updated_since_pagination(app, fake_source, sync_connection):
    settings.configure(sync_connection, {"pagination": "updated_since"}, None)
    run = run_once(sync_connection)
    # Inclusive pages overlap by their boundary record, which dedupe recognises: 6 pages, 23 stored.
    assert run.status == "succeeded" and (run.pages, run.stored, run.duplicate) == (6, 23, 5)
    assert run.cursor_after == fake_source.records["rec_023"]["updated_at"]
    assert fake_source.requests[1][1]["updated_since"] == fake_source.records["rec_005"]["updated_at"]
    fake_source.change("rec_002", status="won")
    again = run_once(fresh(Connection, sync_connection.id))
    # The source is inclusive (>=): the last record comes again and is known by id + updated-at.
    assert (again.fetched, again.stored, again.duplicate) == (2, 1, 1)
    assert again.counts["updated"] == 1


def test_a_wrong_credential_fails_the_run_and_sets_error_health(app, fake_source, sync_connection):
    set_active(sync_connection)
    settings.configure(sync_connection, {}, None, credential="wrong")
    run = run_once(sync_connection)
    assert run.status == "failed" and run.error_kind == "auth" and "HTTP 401" in run.error
    assert "wrong" not in run.error
    connection = fresh(Connection, sync_connection.id)
    assert connection.health == "error" and "check the credential" in connection.health_reason


def test_scheduled_syncs_run_as_jobs_when_due(app, fake_source, sync_connection):
    set_active(sync_connection)
    assert [c.id for c in runs.due()] == [sync_connection.id]
    started = pull.schedule()
    drain()
    run = fresh(SyncRun, started[0])
    assert run.mode == "scheduled" and run.status == "succeeded" and run.stored == 23
    assert pull.schedule() == []  # the schedule (the cadence, else hourly) has not come round again
    run.started_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    assert len(pull.schedule()) == 1


def test_a_scheduled_run_of_a_connection_paused_since_is_skipped(app, fake_source, sync_connection):
    set_active(sync_connection)
    run = runs.start(sync_connection, "scheduled")
    sync_connection.lifecycle, sync_connection.paused_reason = "paused", "client asked"
    db.session.commit()
    done = pull.execute(run.id)
    assert (done.status, done.error_kind, done.open_key) == ("failed", "skipped", None)
    assert fake_source.requests == [] and done.error == "skipped: the connection is paused"
