"""Shopify's app/uninstalled tells the connection's health that the provider side went away."""
from tests.providers import realworld
from zarts.extensions import db
from zarts.models import Connection, Incident
from zarts.services.health import checks


def state(connection):
    db.session.rollback()
    return db.session.get(Connection, connection.id)


def test_an_uninstalled_app_is_an_error_the_client_hears_of_until_events_come_again(app, client):
    connection, secret = realworld.live_connection("shopify")
    realworld.send(client, connection, secret, "shopify/docs__orders_create")
    checks.check()
    assert state(connection).health == "healthy"
    event = realworld.send(client, connection, secret, "shopify/docs__app_uninstalled")
    assert event.status == "normalized"
    checks.check()
    row = state(connection)
    assert row.health == "error" and "the app was uninstalled" in row.health_reason and row.data_delayed
    assert db.session.scalar(db.select(Incident).filter_by(connection_id=connection.id, status="open"))
    realworld.send(client, connection, secret, "shopify/docs__orders_updated")  # reinstalled: orders again
    checks.check()
    row = state(connection)
    assert row.health != "error" and not row.data_delayed
