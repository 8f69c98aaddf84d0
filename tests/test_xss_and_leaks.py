"""Provider data is hostile: it renders escaped everywhere, and secrets and raw values stay out of logs."""
import copy
import logging

import pytest

from tests.factories import deliver, make_connection, make_user
from tests.routes import route_urls
from zarts.extensions import db
from zarts.models import NormalizedEvent
from zarts.providers import definition
from zarts.services.proof import metrics

SCRIPT = "<script>alert('zx1')</script>"
IMG = '"><img src=x onerror=alert("zx2")>'


def hostile_charge(charge_id):
    payload = copy.deepcopy(definition("stripe")["samples"]["charge.succeeded"])
    payload["id"] = f"evt_{charge_id}"
    payload["type"] = "charge.succeeded"
    obj = payload["data"]["object"]
    obj.update(id=charge_id + SCRIPT, description=SCRIPT + IMG, currency=IMG, customer=IMG)
    return payload


def test_hostile_fields_render_escaped_on_every_admin_and_portal_page(app, client, login):
    connection, secret = make_connection("stripe")
    connection.lifecycle = "active"
    metric = metrics.save_metric(connection.client, {
        "name": "Revenue", "metric_name": "revenue", "connection_id": connection.id, "period": "month",
        "unit": "USD", "client_meaning": "Money in."}, connection.owner)
    metrics.publish(metric, connection.owner)
    db.session.commit()
    response = deliver(client, connection, secret, payload=hostile_charge("ch_x"))
    event_id = response.get_json()["event_id"]
    record = db.session.scalar(db.select(NormalizedEvent))
    assert SCRIPT in record.external_id  # the hostile value really is stored
    ids = {"event_id": event_id, "connection_id": connection.id, "client_id": connection.client_id,
           "metric_id": metric.id, "card_id": 1, "task_id": 1, "operation_id": 1, "import_id": 1}
    login(connection.owner)
    shown = 0
    for url in route_urls(app, "/admin", ids):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body, url
        shown += "&lt;script&gt;alert" in body or "&lt;img src=x" in body
    raw = client.post(f"/admin/events/{event_id}/raw", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<script>alert" not in raw and "&lt;script&gt;" in raw
    assert shown >= 1
    detail = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    assert "&lt;script&gt;alert" in detail  # shown, as text
    client.post("/logout")
    login(make_user("client", client=connection.client))
    for url in route_urls(app, "/portal", ids):
        body = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body, url


@pytest.mark.parametrize("provider", ["stripe", "github", "standard_webhooks", "shopify"])
def test_secrets_and_raw_values_never_reach_the_logs(app, client, caplog, provider):
    caplog.set_level(logging.DEBUG)
    connection, secret = make_connection(provider)
    payload = copy.deepcopy(next(iter(definition(provider)["samples"].values())))
    payload["password"] = "LOGMARKER-PW"
    payload["note"] = "LOGMARKER-NOTE"
    deliver(client, connection, secret, payload=payload)
    deliver(client, connection, "wrong-" + secret, payload=payload)  # a rejected one too
    logged = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    assert secret not in logged
    assert "LOGMARKER" not in logged
