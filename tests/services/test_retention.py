"""Raw bodies are kept for a retention period, then emptied; everything else stays."""
from datetime import timedelta

from sqlalchemy import update

from tests.admin.helpers import HX, deliver_broken, deliver_ok
from tests.factories import make_connection, make_user
from zarts.extensions import db
from zarts.jobs import periodic
from zarts.models import AdminAction, NormalizedEvent, RawEvent, WebhookEvent, utcnow
from zarts.services.pipeline import retention


def age(event_ids, days):
    """Make these events (and their raw bodies) `days` old."""
    when = utcnow() - timedelta(days=days)
    for table, key in ((WebhookEvent.__table__, "id"), (RawEvent.__table__, "webhook_event_id")):
        db.session.execute(update(table).where(table.c[key].in_(event_ids)).values(received_at=when))
    db.session.commit()


def raw_of(event_id):
    db.session.rollback()
    return db.session.scalar(db.select(RawEvent).filter_by(webhook_event_id=event_id))


def test_finished_bodies_past_the_retention_are_purged_and_nothing_else(app, client):
    connection, secret = make_connection("stripe")
    old, recent = deliver_ok(client, connection, secret), deliver_ok(client, connection, secret)
    dead = deliver_broken(client, connection, secret)  # may still be retried: kept whatever its age
    age([old, dead], 31)
    age([recent], 29)
    summary = db.session.get(WebhookEvent, old).payload_summary
    assert retention.purge_raw_bodies() == 1
    purged = raw_of(old)
    assert bytes(purged.body) == b"" and purged.purged_at is not None and purged.headers
    assert bytes(raw_of(recent).body) and raw_of(recent).purged_at is None
    assert bytes(raw_of(dead).body) and raw_of(dead).purged_at is None
    event = db.session.get(WebhookEvent, old)
    assert event.payload_summary == summary and event.status == "normalized"
    assert db.session.get(NormalizedEvent, event.normalized_event_id) is not None
    assert retention.purge_raw_bodies() == 0  # nothing twice


def test_a_connection_may_keep_its_bodies_shorter_or_forever(app, client):
    short, short_secret = make_connection("stripe")
    forever, forever_secret = make_connection("github")
    short.raw_retention_days, forever.raw_retention_days = 7, 0
    db.session.commit()
    a = deliver_ok(client, short, short_secret)
    b = deliver_ok(client, forever, forever_secret)
    age([a], 8)
    age([b], 400)
    assert retention.purge_raw_bodies() == 1
    assert raw_of(a).purged_at is not None and raw_of(b).purged_at is None


def test_purging_goes_batch_by_batch(app, client):
    connection, secret = make_connection("stripe")
    ids = [deliver_ok(client, connection, secret) for _ in range(5)]
    age(ids, 60)
    assert retention.purge_raw_bodies(batch=2, max_batches=2) == 4  # one round does at most 4
    assert retention.purge_raw_bodies(batch=2) == 1


def test_the_event_page_says_the_body_was_purged_and_replay_says_why_not(app, client, login):
    connection, secret = make_connection("stripe")
    event_id = deliver_ok(client, connection, secret)
    age([event_id], 31)
    retention.purge_raw_bodies()
    login(make_user("admin"))
    page = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    assert "The raw body was purged" in page and "Show raw" not in page
    html = client.post(f"/admin/events/{event_id}/replay", headers=HX, data={"ctx": "row"}).get_data(as_text=True)
    assert "raw body was purged" in html
    assert db.session.scalar(db.select(AdminAction).filter_by(action="event.replay")) is None
    raw = client.post(f"/admin/events/{event_id}/raw", headers=HX).get_data(as_text=True)
    assert "The raw body was purged" in raw


def test_the_periodic_round_purges(app, client, monkeypatch):
    connection, secret = make_connection("stripe")
    event_id = deliver_ok(client, connection, secret)
    age([event_id], 31)
    monkeypatch.setattr(periodic, "_due", lambda app, name, every: name == "retention")
    periodic._paced_tasks(app)
    assert raw_of(event_id).purged_at is not None


def test_the_retention_is_set_on_the_connection_form_and_audited(app, client, login):
    connection, _ = make_connection("stripe")
    login(make_user("admin"))
    form = {"name": connection.name, "owner_id": connection.owner_id, "reason": connection.reason,
            "retry_max_attempts": 5, "retry_base_seconds": 120, "raw_retention_days": 7, "portal_visible": "y"}
    client.post(f"/admin/connections/{connection.id}/edit", data=form)
    db.session.rollback()
    assert db.session.get(type(connection), connection.id).raw_retention_days == 7
    action = db.session.scalar(db.select(AdminAction).filter_by(action="connection.update"))
    assert action.after["raw_retention_days"] == 7
