"""Health transitions driven by real deliveries and time travel (timestamps moved back in the DB)."""
import uuid
from datetime import timedelta

from sqlalchemy import func, select, update

from tests.factories import deliver, go_live, make_connection, signed_delivery
from tests.health.conftest import set_active
from zarts.extensions import db
from zarts.models import (
    AdminAction,
    AdminTask,
    Connection,
    HealthChange,
    HealthSignal,
    Incident,
    SyncError,
    WebhookEvent,
    utcnow,
)
from zarts.services.health import checks
from zarts.services.pipeline import failures, replay
from zarts.services.setup import lifecycle

HOUR = 3600


def live(cadence=HOUR, **thresholds):
    """(connection, secret): an active Stripe connection expecting an event every `cadence` seconds."""
    connection, secret = make_connection("stripe")
    connection.expected_cadence_seconds, connection.health_thresholds = cadence, thresholds
    return set_active(connection), secret


def state(connection):
    db.session.expire_all()
    return db.session.get(Connection, connection.id)


def changes(connection):
    return [(c.from_health, c.to_health) for c in db.session.scalars(
        select(HealthChange).filter_by(connection_id=connection.id).order_by(HealthChange.id))]


def incidents(connection):
    return db.session.scalars(select(Incident).filter_by(connection_id=connection.id).order_by(Incident.id)).all()


def tasks(connection):
    return db.session.scalars(select(AdminTask).filter_by(connection_id=connection.id, kind="health")
                              .order_by(AdminTask.id)).all()


def travel(connection, seconds):
    """Move everything the connection has seen `seconds` into the past (row by row, any backend)."""
    back = timedelta(seconds=seconds)
    rows = [(db.session.get(Connection, connection.id), ("last_event_at", "last_success_at", "created_at"))]
    for model, names in ((WebhookEvent, ("received_at", "processed_at")), (HealthSignal, ("bucket_at",)),
                         (SyncError, ("created_at",))):
        rows += [(row, names) for row in db.session.scalars(select(model).filter_by(connection_id=connection.id))]
    for row, names in rows:
        for name in names:
            if getattr(row, name) is not None:
                setattr(row, name, getattr(row, name) - back)
    db.session.commit()


def broken(client, connection, secret):
    """A charge the mapping cannot place (no object id): dead-lettered at once."""
    payload = {"id": f"evt_{uuid.uuid4().hex}", "type": "charge.succeeded", "data": {"object": {}}}
    assert deliver(client, connection, secret, payload=payload).status_code == 202


def forged(client, connection, times=1):
    for _ in range(times):
        body, headers = signed_delivery("stripe", "whsec_not_the_secret")
        assert client.post(connection.ingest_path, data=body, headers=headers).status_code == 401


def test_a_new_connection_awaits_its_first_live_delivery_and_a_test_event_does_not_count(app, client):
    connection, _ = live()
    checks.check()
    assert (state(connection).health, state(connection).health_reason) == (
        "awaiting", "Awaiting the first live delivery")
    draft, draft_secret = make_connection("stripe")  # everything a draft receives is test data
    assert deliver(client, draft, draft_secret).status_code == 202
    checks.check()
    row = state(draft)
    assert row.health == "awaiting" and row.last_event_at is None and row.last_success_at is None


def test_stale_opens_one_incident_and_task_then_recovers_on_the_next_event(app, client):
    connection, secret = live()
    assert deliver(client, connection, secret).status_code == 202
    checks.check()
    assert state(connection).health == "healthy" and state(connection).last_event_at is not None

    travel(connection, 80 * 60)  # cadence 1 h + 15 min grace passed without an event
    checks.check()
    row = state(connection)
    assert row.health == "stale" and row.health_reason.startswith("No events since ")
    assert "expected every 1 h, plus 15 min grace" in row.health_reason and row.health_changed_at
    assert changes(connection) == [("awaiting", "healthy"), ("healthy", "stale")]
    [incident] = incidents(connection)
    assert incident.status == "open" and incident.health == "stale" and incident.reason == row.health_reason
    [task] = tasks(connection)
    assert task.status == "open" and task.assignee_id == connection.owner_id and task.open_key == f"health:{connection.id}"

    checks.check()  # checking again changes nothing: still one incident, one task, one change
    checks.check()
    assert len(incidents(connection)) == 1 and len(tasks(connection)) == 1 and len(changes(connection)) == 2

    assert deliver(client, connection, secret).status_code == 202  # the batch's health hook recovers it
    row = state(connection)
    assert row.health == "healthy" and changes(connection) == [("awaiting", "healthy"), ("healthy", "stale"), ("stale", "healthy")]
    [incident] = incidents(connection)
    assert incident.status == "resolved" and incident.open_key is None and incident.details["resolution"] == "recovered"
    [task] = tasks(connection)
    assert task.status == "resolved" and task.open_key is None and "Recovered on its own" in task.detail


def test_no_success_for_twice_the_cadence_is_an_error_and_a_new_incident_each_time(app, client):
    connection, secret = live()
    deliver(client, connection, secret)
    travel(connection, 80 * 60)
    checks.check()
    assert state(connection).health == "stale"
    travel(connection, 45 * 60)  # 2 h 5 min now
    checks.check()
    row = state(connection)
    assert row.health == "error" and row.health_reason.startswith("No successful update since ")
    assert changes(connection) == [("awaiting", "healthy"), ("healthy", "stale"), ("stale", "error")]
    [incident] = incidents(connection)  # the same incident, now saying error
    assert incident.status == "open" and incident.health == "error" and len(tasks(connection)) == 1
    deliver(client, connection, secret)
    assert state(connection).health == "healthy"
    travel(connection, 3 * HOUR)
    checks.check()
    assert [i.status for i in incidents(connection)] == ["resolved", "open"]  # a new problem, a new incident
    assert [t.status for t in tasks(connection)] == ["resolved", "open"]


def test_dead_letters_piling_up_are_an_error_until_resolved(app, client, login):
    connection, secret = live(cadence=None)
    broken(client, connection, secret)
    assert state(connection).health == "degraded"  # checked after the batch that dead-lettered it
    assert "1 event dead-lettered in the last 24 h" in state(connection).health_reason
    broken(client, connection, secret)
    broken(client, connection, secret)
    row = state(connection)
    assert row.health == "error" and row.health_reason.startswith("3 events dead-lettered in the last 24 h")
    assert len(incidents(connection)) == 1 and incidents(connection)[0].status == "open"

    dead = db.session.scalars(select(WebhookEvent).filter_by(connection_id=connection.id)).all()
    for event in dead:
        replay.resolve_manually(event, connection.owner, "entered by hand")
    checks.check()
    row = state(connection)
    assert row.health == "degraded" and "3 failed attempts in the last 1 h" in row.health_reason
    assert incidents(connection)[0].status == "resolved"
    travel(connection, 2 * HOUR)
    checks.check()
    assert state(connection).health == "healthy"


def test_a_burst_of_401s_from_a_wrong_secret_is_an_error(app, client):
    connection, secret = live(cadence=None)
    forged(client, connection, 4)
    checks.check()
    row = state(connection)
    assert row.health == "degraded" and "4 deliveries rejected in the last 1 h" in row.health_reason
    forged(client, connection)
    checks.check()
    row = state(connection)
    assert row.health == "error" and "5 deliveries rejected with a bad signature in the last 15 min" in row.health_reason
    assert "no signature matched" in row.health_reason and "check the signing secret" in row.health_reason
    # The owner hears of it; the client does not: anyone can send bad signatures (see test_freshness).
    assert incidents(connection) == [] and row.data_delayed is False
    assert [t.status for t in tasks(connection)] == ["open"]

    travel(connection, 120)  # the sender is fixed: the next delivery is accepted
    assert deliver(client, connection, secret).status_code == 202
    row = state(connection)
    assert row.health == "degraded" and [t.status for t in tasks(connection)] == ["resolved"]
    travel(connection, 2 * HOUR)
    checks.check()
    assert state(connection).health == "healthy"


def test_a_failure_within_the_retry_budget_is_degraded(app, client):
    connection, secret = live(cadence=None)
    event_id = deliver(client, connection, secret).get_json()["event_id"]
    event = db.session.get(WebhookEvent, event_id)
    event.status, event.claim_token = "processing", "a-worker"
    db.session.flush()
    failures.fail(event, "upsert", RuntimeError("database went away"), transient=True, token="a-worker")
    db.session.commit()
    checks.check()
    row = state(connection)
    assert row.health == "degraded" and "1 event failed and waiting to be retried" in row.health_reason
    assert incidents(connection) == [] and tasks(connection) == []


def test_thresholds_are_configurable_per_connection(app, client):
    strict, _ = live(cadence=None, auth_rejections_error=2)
    lenient, _ = live(cadence=None, rejections_degraded=50, auth_rejections_error=50)
    forged(client, strict, 2)
    forged(client, lenient, 2)
    checks.check()
    assert state(strict).health == "error" and state(lenient).health == "awaiting"


def test_drafts_are_checked_without_alerts_and_disconnected_ones_close_theirs(app, client):
    draft, _ = make_connection("stripe")
    forged(client, draft, 5)
    checks.check()
    assert state(draft).health == "error" and incidents(draft) == [] and tasks(draft) == []

    connection, secret = live()
    deliver(client, connection, secret)
    travel(connection, 3 * HOUR)
    checks.check()
    assert incidents(connection)[0].status == "open"
    lifecycle.transition(state(connection), "disconnected", connection.owner, "client left")
    checks.check()
    assert incidents(connection)[0].details["resolution"] == "disconnected"
    assert tasks(connection)[0].status == "resolved"


def test_paused_connections_are_not_checked(app, client):
    connection, secret = live()
    deliver(client, connection, secret)
    lifecycle.transition(state(connection), "paused", connection.owner, "client asked for a pause")
    travel(connection, 5 * HOUR)
    checks.check()
    assert state(connection).health == "healthy" and incidents(connection) == []


def test_silence_counts_from_going_live(app, client):
    connection, _ = make_connection("stripe")
    connection.expected_cadence_seconds = HOUR
    db.session.commit()
    travel(connection, 10 * HOUR)  # created long ago, still in draft: silence is expected
    checks.check()
    assert state(connection).health == "awaiting"
    connection = state(connection)
    go_live(connection)
    checks.check()
    assert state(connection).health == "awaiting"  # live for a moment only, and no live event yet
    actions = AdminAction.__table__
    db.session.execute(update(actions).where(actions.c.action == "connection.activate")
                       .values(created_at=utcnow() - timedelta(minutes=90)))
    db.session.commit()
    checks.check()
    row = state(connection)
    assert row.health == "stale" and "since going live on" in row.health_reason


def test_old_signal_counters_are_pruned(app, client):
    connection, _ = live(cadence=None)
    forged(client, connection, 3)
    assert db.session.scalar(select(func.sum(HealthSignal.hits))) == 3
    assert db.session.scalar(select(func.count()).select_from(HealthSignal)) <= 2  # a row a minute, not a request
    travel(connection, 8 * 24 * HOUR)
    checks.periodic()
    assert db.session.scalar(select(func.count()).select_from(HealthSignal)) == 0
