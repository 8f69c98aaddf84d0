"""Manual fallback: a hand-entered update from the connection page becomes a normalized record, audited."""
import json
from decimal import Decimal

from tests.factories import make_connection
from zarts.extensions import db
from zarts.models import AdminAction, MetricValue, NormalizedEvent, WebhookEvent

HX = {"HX-Request": "true"}


def form(**extra):
    return {"object_type": "payment", "external_id": "pay_42", "status": "paid",
            "record_fields": "amount=120.00\nplan = pro", "metric_name": "revenue", "metric_value": "120",
            "metric_unit": "USD", "metric_period": "month", "reason": "Stripe outage; client emailed the receipt",
            **extra}


def test_manual_update_records_and_shows_the_result(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin, live=True)
    response = client.post(f"/admin/connections/{connection.id}/manual", data=form(), headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == json.dumps({"manual-update-saved": connection.id})
    assert 'id="manual"' in html and "<html" not in html and "Recorded" in html
    record = db.session.scalar(db.select(NormalizedEvent).filter_by(connection_id=connection.id))
    assert (record.source, record.object_type, record.external_id, record.status) == ("manual", "payment", "pay_42", "paid")
    assert record.fields == {"amount": "120.00", "plan": "pro"}
    [point] = db.session.scalars(db.select(MetricValue).filter_by(normalized_event_id=record.id)).all()
    assert (point.name, point.value, point.unit) == ("revenue", Decimal("120"), "USD")
    for text in ("pay_42", "created", "\"plan\": \"pro\"", "revenue = 120.0000 USD"):
        assert text in html, text
    event = db.session.scalar(db.select(WebhookEvent).filter_by(connection_id=connection.id))
    assert event.source == "manual" and event.status == "normalized"
    [row] = db.session.scalars(db.select(AdminAction).filter_by(action="manual.update")).all()
    assert row.actor_id == admin.id and row.reason == "Stripe outage; client emailed the receipt"
    assert row.target_id == str(connection.id)


def test_fields_as_json_and_no_metric(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    data = form(record_fields='{"amount": 99.5, "tags": ["a"]}', metric_name="", metric_value="")
    client.post(f"/admin/connections/{connection.id}/manual", data=data, headers=HX)
    record = db.session.scalar(db.select(NormalizedEvent).filter_by(connection_id=connection.id))
    assert record.fields == {"amount": 99.5, "tags": ["a"]}
    assert not db.session.scalars(db.select(MetricValue)).all()


def test_invalid_input_rerenders_the_form_with_errors(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    url = f"/admin/connections/{connection.id}/manual"
    cases = [
        (form(reason=""), "This field is required."),
        (form(record_fields="just words"), "line 1: write key=value"),
        (form(record_fields="[1, 2]"), "line 1: write key=value"),
        (form(record_fields="{not json"), "not valid JSON"),
        (form(metric_value=""), "a metric needs a numeric value"),
        (form(object_type="spaceship"), "Not a valid choice"),
        (form(external_id=""), "This field is required."),
    ]
    for data, error in cases:
        response = client.post(url, data=data, headers=HX)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and error in html, error
        assert "HX-Trigger" not in response.headers
    assert db.session.scalar(db.select(NormalizedEvent)) is None
    assert db.session.scalar(db.select(AdminAction).filter_by(action="manual.update")) is None


def test_without_htmx_it_redirects_back(app, client, admin):
    connection, _ = make_connection("stripe", owner=admin)
    response = client.post(f"/admin/connections/{connection.id}/manual", data=form())
    assert response.status_code == 302
    assert "Manual update recorded" in client.get(response.headers["Location"]).get_data(as_text=True)
