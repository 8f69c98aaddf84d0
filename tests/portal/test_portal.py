"""The client portal: cards from real deliveries, thresholds, isolation, and nothing raw."""
import copy
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.factories import deliver, make_connection, make_user
from tests.routes import route_urls
from zarts.extensions import db
from zarts.models import AdminAction, AdminTask, Incident, MetricDefinition, PortalCard
from zarts.providers import definition
from zarts.services.proof import metrics, notes, outcomes


def charge(amount_cents, charge_id):
    payload = copy.deepcopy(definition("stripe")["samples"]["charge.succeeded"])
    payload["id"] = f"evt_{charge_id}"
    payload["data"]["object"].update(id=charge_id, amount=amount_cents)
    payload["created"] = payload["data"]["object"]["created"] = int(__import__("time").time())
    return payload


def revenue_metric(connection, **extra):
    connection.lifecycle = "active"  # only live sources reach the portal
    values = {"name": "Monthly revenue", "metric_name": "revenue", "connection_id": connection.id, "period": "month",
              "unit": "USD", "client_meaning": "What your patients paid this month.", "aggregation": "sum",
              "baseline_value": "1000", "baseline_label": "Average month before launch",
              "next_action": "We review pricing with you on the 1st.", **extra}
    metric = metrics.save_metric(connection.client, values, connection.owner)
    metrics.publish(metric, connection.owner)
    db.session.commit()
    return metric


def card_of(metric):
    db.session.expire_all()
    return db.session.scalar(db.select(PortalCard).filter_by(metric_id=metric.id))


def test_deliveries_move_the_card_and_its_status(app, client, login):
    connection, secret = make_connection("stripe")
    metric = revenue_metric(connection, watch_threshold="800", action_threshold="300")
    assert card_of(metric).status == "pending"
    deliver(client, connection, secret, payload=charge(25000, "ch_a"))
    card = card_of(metric)
    assert card.current_value == Decimal("250") and card.status == "needs_action"
    task = db.session.scalar(db.select(AdminTask).filter_by(kind="metric_threshold"))
    assert task.status == "open" and task.assignee_id == connection.owner_id
    deliver(client, connection, secret, payload=charge(40000, "ch_b"))
    assert card_of(metric).status == "watch"
    deliver(client, connection, secret, payload=charge(50000, "ch_c"))
    card = card_of(metric)
    assert card.current_value == Decimal("1150") and card.status == "on_track"
    assert db.session.get(AdminTask, task.id).status == "resolved"
    login(make_user("client", client=connection.client))
    page = client.get("/portal/").get_data(as_text=True)
    for text in ("Monthly revenue", "1,150", "1,000", "+150", "(+15.0%)", "Online card payments", "On track",
                 "What your patients paid this month.", "We review pricing with you on the 1st.", "Up to date"):
        assert text in page, text


def test_redelivery_does_not_double_count(app, client):
    connection, secret = make_connection("stripe")
    metric = revenue_metric(connection)
    payload = charge(10000, "ch_same")
    deliver(client, connection, secret, payload=payload)
    deliver(client, connection, secret, payload=payload)  # the same delivery again: a duplicate
    payload["id"] = "evt_another_event_about_the_same_charge"
    deliver(client, connection, secret, payload=payload)
    assert card_of(metric).current_value == Decimal("100")


@pytest.mark.parametrize("missing,label", [
    ("connection_id", "source"), ("period", "period"), ("unit", "unit"), ("client_meaning", "client meaning"),
])
def test_publishing_without_a_required_part_names_the_gap(app, client, login, missing, label):
    connection, _ = make_connection("stripe")
    values = {"name": "Revenue", "metric_name": "revenue", "connection_id": connection.id, "period": "month",
              "unit": "USD", "client_meaning": "Money in.", missing: None}
    metric = metrics.save_metric(connection.client, values, connection.owner)
    db.session.commit()
    login(connection.owner)
    response = client.post(f"/admin/metrics/{metric.id}/publish", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert f"missing {label}" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(MetricDefinition, metric.id).published


def test_admin_can_hide_a_card_and_view_the_portal_as_the_client(app, client, login):
    connection, secret = make_connection("stripe")
    metric = revenue_metric(connection)
    card = card_of(metric)
    login(connection.owner)
    preview = client.get(f"/admin/clients/{connection.client_id}/portal").get_data(as_text=True)
    assert "Monthly revenue" in preview and "Read-only" in preview
    assert db.session.scalar(db.select(AdminAction).filter_by(action="portal.view_as_client"))
    response = client.post(f"/admin/cards/{card.id}/visibility", data={"visible": "0"}, headers={"HX-Request": "true"})
    assert "Show card" in response.get_data(as_text=True)
    assert not card_of(metric).visible
    assert db.session.scalar(db.select(AdminAction).filter_by(action="card.visibility")).after == {"visible": False}
    client.post("/logout")
    login(make_user("client", client=connection.client))
    assert "Monthly revenue" not in client.get("/portal/").get_data(as_text=True)


def test_report_notes_and_shown_incidents_reach_the_portal(app, client, login):
    connection, _ = make_connection("stripe")
    notes.add_note(connection.client_id, "Leads file imported", "1,204 rows, 3 need attention")
    connection.health, connection.health_reason, connection.data_delayed = "stale", "no event for 2 days", True
    incident = outcomes.sync_incident(connection)
    db.session.commit()
    login(make_user("client", client=connection.client))
    page = client.get("/portal/").get_data(as_text=True)
    assert "Leads file imported" in page and "1,204 rows, 3 need attention" in page
    assert "delayed" not in page  # an incident is shown only when the admin chooses to
    incident.show_to_client = True
    db.session.commit()
    page = client.get("/portal/").get_data(as_text=True)
    assert "Updates from Stripe are delayed" in page and "no event for 2 days" not in page
    connection.health, connection.data_delayed = "healthy", False
    outcomes.sync_incident(connection)
    db.session.commit()
    assert db.session.get(Incident, incident.id).status == "resolved"


MARKER = "PLANTED7Q"


def mark_everything(value, path="m"):
    """Put a unique marker in every string and number of a payload, keeping its shape."""
    if isinstance(value, dict):
        return {k: mark_everything(v, f"{path}{i}") for i, (k, v) in enumerate(value.items())}
    if isinstance(value, list):
        return [mark_everything(v, f"{path}{i}") for i, v in enumerate(value)]
    if isinstance(value, str):
        return f"{MARKER}{path}"
    return value


def test_no_portal_response_contains_any_raw_payload_value(app, client, login):
    connection, secret = make_connection("stripe")
    metric = revenue_metric(connection)
    for event_type in ("charge.succeeded", "charge.refunded", "invoice.paid"):
        payload = mark_everything(copy.deepcopy(definition("stripe")["samples"][event_type]))
        payload["type"] = event_type
        if event_type == "charge.succeeded":
            payload["data"]["object"]["amount"] = 4200
        deliver(client, connection, secret, payload=payload)
    assert card_of(metric).current_value == Decimal("42")
    login(make_user("client", client=connection.client))
    urls = route_urls(app, "/portal", {"card_id": card_of(metric).id})
    assert len(urls) >= 3
    for url in urls:
        for headers in ({}, {"HX-Request": "true"}):
            body = client.get(url, headers=headers).get_data(as_text=True)
            assert MARKER not in body, url


def test_empty_portal_explains_what_is_coming(app, client, login):
    login(make_user("client"))
    page = client.get("/portal/").get_data(as_text=True)
    assert "Your cards are on their way" in page and "No notes yet" in page


@pytest.mark.parametrize("lifecycle,visible,shown", [
    ("draft", True, False), ("testing", True, False), ("active", True, True), ("paused", True, True),
    ("disconnected", True, False), ("active", False, False),
])
def test_only_live_visible_sources_reach_the_portal(app, client, login, lifecycle, visible, shown):
    connection, _ = make_connection("stripe")
    revenue_metric(connection)
    connection.lifecycle, connection.portal_visible = lifecycle, visible
    db.session.commit()
    login(make_user("client", client=connection.client))
    assert ("Monthly revenue" in client.get("/portal/").get_data(as_text=True)) == shown


def test_busy_connections_refresh_cards_a_few_times_a_minute_and_catch_up(app, client):
    app.config["CARD_REFRESH_SECONDS"] = 60
    connection, secret = make_connection("stripe")
    metric = revenue_metric(connection)
    deliver(client, connection, secret, payload=charge(10000, "ch_1"))  # first value: computed at once
    deliver(client, connection, secret, payload=charge(20000, "ch_2"))  # within the minute: deferred
    assert card_of(metric).current_value == Decimal("100")
    connection = db.session.get(type(connection), connection.id)
    assert outcomes.refresh_due() == 1
    db.session.commit()
    assert card_of(metric).current_value == Decimal("300")
    card = card_of(metric)
    card.value_updated_at += timedelta(seconds=5)  # time passes with no new success
    db.session.commit()
    assert outcomes.refresh_due() == 0
