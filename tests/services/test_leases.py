"""Leases that hold: a worker writes only what its claim still holds, admins compare-and-set."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.event import listen, remove
from sqlalchemy.exc import OperationalError

from tests.admin.helpers import HX, audit_rows
from tests.factories import deliver, drain, make_connection, make_user
from zarts import dispatch
from zarts.extensions import db
from zarts.jobs.normalize import end_abandoned_claims
from zarts.models import AdminTask, NormalizedEvent, SyncError, WebhookEvent, utcnow
from zarts.services.mapping import rules
from zarts.services.pipeline import claims, failures, normalize, records, replay, sweeper

SLOW = "slow-worker"


def waiting_event(client):
    """A delivered GitHub push that no worker has touched yet (its connection was paused)."""
    connection, secret = make_connection("github")
    connection.lifecycle = "paused"
    db.session.commit()
    event_id = deliver(client, connection, secret, "push").get_json()["event_id"]
    connection.lifecycle = "active"
    db.session.commit()
    assert db.session.get(WebhookEvent, event_id).status in ("received", "queued")
    return event_id


class SlowWorker:
    """normalize.process in a thread of its own that stops while planning until told to go on;
    with fail_write its write then fails as a database outage would (a transient failure)."""

    def __init__(self, app, monkeypatch, event_id, fail_write=True):
        self.inside, self.go_on, self.error = threading.Event(), threading.Event(), None
        apply, upsert = rules.apply, records.upsert

        def slow_apply(rule, payload):
            if threading.current_thread().name == SLOW:
                self.inside.set()
                assert self.go_on.wait(20), "the test never let the slow worker go on"
            return apply(rule, payload)

        def failing_upsert(pairs, now):
            if fail_write and threading.current_thread().name == SLOW and pairs:
                raise OperationalError("INSERT", {}, Exception("server has gone away"))
            return upsert(pairs, now)

        monkeypatch.setattr(rules, "apply", slow_apply)
        monkeypatch.setattr(records, "upsert", failing_upsert)
        self.thread = threading.Thread(target=self._run, args=(app, event_id), name=SLOW)

    def _run(self, app, event_id):
        try:
            with app.app_context():
                normalize.process([event_id])
        except Exception as exc:  # reported to the test
            self.error = exc

    def start(self):
        self.thread.start()
        assert self.inside.wait(20), "the slow worker never claimed the event"

    def finish(self):
        self.go_on.set()
        self.thread.join(30)
        assert not self.thread.is_alive() and self.error is None, self.error
        db.session.rollback()


def state(event_id):
    db.session.rollback()  # a fresh snapshot (REPEATABLE READ on MariaDB)
    return db.session.get(WebhookEvent, event_id)


def test_a_stale_worker_never_overwrites_the_worker_that_took_over(app, client, monkeypatch):
    event_id = waiting_event(client)
    slow = SlowWorker(app, monkeypatch, event_id)
    slow.start()
    table = WebhookEvent.__table__  # the slow worker's lease runs out; the sweeper hands the event on
    db.session.execute(update(table).where(table.c.id == event_id).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert normalize.process([event_id])["created"] == 1  # another worker takes it over
    assert state(event_id).status == "normalized"
    slow.finish()  # ... and the slow one wakes up to a failed write
    event = state(event_id)
    assert (event.status, event.outcome, event.attempts) == ("normalized", "created", 2)
    assert db.session.scalar(db.select(db.func.count(SyncError.id)).filter_by(webhook_event_id=event_id)) == 0
    assert db.session.scalar(db.select(db.func.count(AdminTask.id))) == 0


def test_an_admin_resolve_wins_over_the_worker_still_holding_the_event(app, client, monkeypatch):
    event_id = waiting_event(client)
    slow = SlowWorker(app, monkeypatch, event_id, fail_write=False)
    slow.start()
    assert state(event_id).status == "processing"
    replay.resolve_manually(state(event_id), make_user("admin"), "entered by hand from the provider's dashboard")
    slow.finish()
    event = state(event_id)
    assert event.status == "resolved_manually" and event.normalized_event_id is None
    assert db.session.scalar(db.select(db.func.count(NormalizedEvent.id))) == 0


def test_an_admin_action_on_a_status_that_changed_meanwhile_changes_nothing(app, client, login):
    event_id = waiting_event(client)
    login(make_user("admin"))
    table = WebhookEvent.__table__
    db.session.execute(update(table).where(table.c.id == event_id).values(status="dead_lettered"))
    db.session.commit()
    # The admin's page shows it dead-lettered; meanwhile a bulk retry sends it back to the queue.
    db.session.execute(update(table).where(table.c.id == event_id).values(status="retry_scheduled"))
    db.session.commit()
    response = client.post(f"/admin/events/{event_id}/ignore", headers=HX,
                           data={"reason": "a test delivery", "ctx": "row", "shown_status": "dead_lettered"})
    assert response.status_code == 200
    assert "changed from dead lettered to retry scheduled meanwhile" in response.get_data(as_text=True)
    assert state(event_id).status == "retry_scheduled"
    assert audit_rows("event.ignore", event_id) == []


def test_the_lease_outlasts_the_longest_normalize_job(app):
    assert claims.LEASE_SECONDS > dispatch.job("normalize_events").timeout


def refuse(*args, **kwargs):
    raise OperationalError("UPDATE", {}, Exception("Can't connect to MySQL server on '127.0.0.1'"))


def test_a_batch_cut_off_from_the_database_gives_its_claim_back_at_once(app, client, monkeypatch):
    event_id = waiting_event(client)
    with monkeypatch.context() as outage:  # the write fails, and so does recording the failure
        outage.setattr(records, "upsert", refuse)
        outage.setattr(failures, "fail", refuse)
        with pytest.raises(OperationalError):
            normalize.process([event_id])
    # The worker lives on and beats its heartbeat: only the end of the claim frees the event, not
    # the lease (15 minutes). Found by bench/chaos.py's db-outage run.
    assert sweeper.sweep()["handed_over"] == 1
    drain()
    event = state(event_id)
    assert (event.status, event.attempts) == ("normalized", 2)


def test_a_claim_given_up_while_the_database_is_away_ends_once_it_answers(app, client, monkeypatch):
    event_id = waiting_event(client)
    away = []
    upsert = records.upsert

    def going_away(pairs, now):
        away.append(True)  # from here on every statement fails, the claim's own end too
        return upsert(pairs, now)

    def refuse_while_away(*args):
        if away:
            refuse()

    monkeypatch.setattr(records, "upsert", going_away)
    listen(db.engine, "before_cursor_execute", refuse_while_away)
    try:
        with pytest.raises(OperationalError):
            normalize.process([event_id])
    finally:
        remove(db.engine, "before_cursor_execute", refuse_while_away)
        away.clear()
    monkeypatch.setattr(records, "upsert", upsert)
    assert state(event_id).status == "processing"
    assert sweeper.sweep()["handed_over"] == 0  # still held: its end could not be written
    assert end_abandoned_claims() == 1  # the periodic loop's next round, in the worker that held it
    assert sweeper.sweep()["handed_over"] == 1
    drain()
    assert state(event_id).status == "normalized"
