"""Clients see health in plain words on their cards: up to date, waiting, or delayed since when."""
from datetime import datetime, timedelta, timezone

from tests.factories import deliver, make_connection, make_user, signed_delivery
from tests.health.conftest import set_active
from zarts.extensions import db
from zarts.models import Connection, WebhookEvent, utcnow
from zarts.services.health import checks
from zarts.services.proof import metrics, portal


def test_freshness_words_follow_what_clients_are_told():
    now = utcnow()
    conn = Connection(health="healthy", last_success_at=now - timedelta(hours=3))
    assert portal.freshness(conn) == ("Up to date, updated 3 h ago", "ok")
    assert portal.freshness(Connection(health="healthy", last_success_at=None)) == ("Waiting for the first update", "wait")
    late = Connection(health="stale", data_delayed=True,
                      last_success_at=datetime(2026, 11, 2, 8, 5, tzinfo=timezone.utc))
    assert portal.freshness(late) == ("Data delayed since Nov 02, 08:05 UTC", "late")
    assert portal.freshness(Connection(health="error", data_delayed=True, last_success_at=None)) == \
        ("Data delayed since setup", "late")
    rejected_only = Connection(health="error", data_delayed=False, last_success_at=now - timedelta(hours=3))
    assert portal.freshness(rejected_only) == ("Up to date, updated 3 h ago", "ok")  # the admin's business
    assert portal.freshness(None) == ("Entered by your ZartsAlgo team", "ok")


def test_the_portal_card_says_delayed_when_the_connection_goes_stale(app, client, login):
    connection, secret = make_connection("stripe")
    connection.expected_cadence_seconds = 3600
    set_active(connection)
    metric = metrics.save_metric(connection.client, {
        "name": "Monthly revenue", "metric_name": "revenue", "connection_id": connection.id, "period": "month",
        "unit": "USD", "client_meaning": "What customers paid this month.", "aggregation": "sum"}, connection.owner)
    metrics.publish(metric, connection.owner)
    db.session.commit()
    deliver(client, connection, secret)
    login(make_user("client", client=connection.client))
    page = client.get("/portal/").get_data(as_text=True)
    assert "Up to date, updated" in page and "delayed" not in page

    row = db.session.get(Connection, connection.id)
    row.last_success_at = row.last_event_at = utcnow() - timedelta(hours=3)
    row.created_at -= timedelta(hours=3)
    for event in db.session.scalars(db.select(WebhookEvent).filter_by(connection_id=connection.id)):
        event.received_at -= timedelta(hours=3)
    db.session.commit()
    checks.check()
    assert db.session.get(Connection, connection.id).health == "error"
    page = client.get("/portal/").get_data(as_text=True)
    since = row.last_success_at.strftime("%b %d, %H:%M UTC")
    assert f"Data delayed since {since}" in page
    for internal in ("error", "No successful update", "expected every", "stale"):
        assert internal not in page.split("<main", 1)[1], internal  # plain words only, never internals


def test_forged_deliveries_never_change_what_the_client_sees(app, client, login):
    """Five bad-signature POSTs (anyone can send them) make the connection an admin's error, with a
    task for its owner, but open no incident and leave the client's card up to date."""
    from zarts.models import AdminTask, Incident

    connection, secret = make_connection("stripe")
    set_active(connection)
    metric = metrics.save_metric(connection.client, {
        "name": "Monthly revenue", "metric_name": "revenue", "connection_id": connection.id, "period": "month",
        "unit": "USD", "client_meaning": "What customers paid this month.", "aggregation": "sum"}, connection.owner)
    metrics.publish(metric, connection.owner)
    db.session.commit()
    deliver(client, connection, secret)
    for event in db.session.scalars(db.select(WebhookEvent).filter_by(connection_id=connection.id)):
        event.received_at -= timedelta(minutes=10)  # the last real delivery came a while ago
    row = db.session.get(Connection, connection.id)
    row.last_event_at -= timedelta(minutes=10)
    row.last_success_at -= timedelta(minutes=10)
    db.session.commit()
    for _ in range(5):
        body, headers = signed_delivery("stripe", "whsec_wrong")
        assert client.post(connection.ingest_path, data=body, headers=headers).status_code == 401
    checks.check()
    row = db.session.get(Connection, connection.id)
    assert row.health == "error" and "bad signature" in row.health_reason and row.data_delayed is False
    assert db.session.scalar(db.select(db.func.count(Incident.id))) == 0
    assert db.session.scalar(db.select(AdminTask).filter_by(connection_id=connection.id, kind="health")) is not None
    login(make_user("client", client=connection.client))
    page = client.get("/portal/").get_data(as_text=True)
    assert "Up to date, updated" in page and "delayed" not in page
