"""Why a card's number is what it is: counted lines add up to the card, left-out lines say why."""
import json
from decimal import Decimal

from tests.factories import deliver, load_demo, make_connection, make_user
from tests.imports.conftest import HEADER, import_file, leads
from tests.portal.test_portal import card_of, charge, revenue_metric
from zarts.extensions import db
from zarts.models import PortalCard, utcnow
from zarts.services.ingest import targets
from zarts.services.pipeline import manual
from zarts.services.proof import metrics, periods, provenance


def current(metric):
    return provenance.explain(metric, periods.period_start(metric.period, utcnow()))


def test_every_demo_card_is_the_sum_of_its_counted_lines_in_every_period(app):
    load_demo()
    for card in db.session.scalars(db.select(PortalCard)):
        found = current(card.metric)
        assert found["total"] == found["counted_total"] == found["card_value"] == card.current_value, card.title
        start = periods.period_start(card.metric.period, utcnow())
        for back in range(1, 4):  # the demo's earlier months
            earlier = provenance.explain(card.metric, periods.shift(card.metric.period, start, -back))
            assert earlier["counted_count"] and earlier["total"] == earlier["counted_total"], (card.title, back)
            assert Decimal(str(card.trend[-1 - back])) == earlier["total"]


def test_webhooks_and_a_manual_update_add_up_and_what_was_left_out_says_why(app, client):
    connection, secret = make_connection("stripe")  # in draft: what it receives is test data
    assert deliver(client, connection, secret, payload=charge(99900, "ch_test")).status_code == 202
    metric = revenue_metric(connection)  # live from here on
    targets.forget_all()  # the endpoint caches a connection (and so its lifecycle) for up to 5 s
    ok = charge(25000, "ch_one")
    assert deliver(client, connection, secret, payload=ok).status_code == 202
    assert deliver(client, connection, secret, payload=ok).status_code == 200  # a repeat
    deliver(client, connection, secret, payload=charge(40000, "ch_two"))
    deliver(client, connection, secret, payload={"id": "evt_odd", "type": "customer.tax_id.created", "data": {}})
    manual.manual_update(connection, connection.owner, "paid at the desk", "payment", "desk_1",
                         metrics=[{"name": "revenue", "value": "12.50", "unit": "USD", "period": "month"}])
    found = current(metric)
    assert card_of(metric).current_value == found["card_value"] == found["total"] == found["counted_total"] == \
        Decimal("662.50")
    assert sorted(line.source for line in found["counted"]) == ["manual", "webhook", "webhook"]
    reasons = " | ".join(line.reason for line in found["excluded"])
    for why in ("test data: never counted", "1 repeated delivery of this event: counted once", "ignored: "):
        assert why in reasons, reasons
    assert all(line.reason for line in found["excluded"])


def test_csv_rows_and_a_manual_update_add_up(app):
    connection = make_connection("manual_csv_import", live=True)[0]
    metric = metrics.save_metric(connection.client, {
        "name": "New leads", "metric_name": "leads", "connection_id": connection.id, "period": "month",
        "unit": "leads", "client_meaning": "Leads from your CRM export.", "aggregation": "sum"}, connection.owner)
    metrics.publish(metric, connection.owner)
    db.session.commit()
    today = utcnow().strftime("%Y-%m-%d")  # rows of this month, whenever the test runs
    import_file(connection, (HEADER + leads(3).replace("2026-11-01", today)).encode())
    manual.manual_update(connection, connection.owner, "a lead by phone", "lead", "L-phone",
                         metrics=[{"name": "leads", "value": "1", "unit": "count", "period": "month"}])
    found = current(metric)
    assert found["total"] == found["counted_total"] == card_of(metric).current_value
    assert sorted(line.source for line in found["counted"]) == ["csv", "csv", "csv", "manual"]


def test_the_cli_prints_the_same_and_refuses_bad_input(app, client, runner):
    connection, secret = make_connection("stripe")
    metric = revenue_metric(connection)
    deliver(client, connection, secret, payload=charge(25000, "ch_cli"))
    card = card_of(metric)
    result = runner.invoke(args=["zarts", "explain", "--card", str(card.id), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total"] == data["counted_total"] == 250.0 and data["counted"][0]["external_id"] == "ch_cli"
    text = runner.invoke(args=["zarts", "explain", "--card", str(card.id)]).output
    assert text.startswith("Monthly revenue, ") and "+ 250" in text
    for args, message in ((["--card", "999999"], "unknown card 999999"),
                          (["--card", str(card.id), "--period", "last month"], "period must be YYYY-MM")):
        bad = runner.invoke(args=["zarts", "explain", *args])
        assert bad.exit_code != 0 and message in bad.output and "Traceback" not in bad.output


def test_the_admin_drill_down_shows_the_totals_and_links_each_line_to_its_event(app, client, login):
    connection, secret = make_connection("stripe")
    metric = revenue_metric(connection)
    event_id = deliver(client, connection, secret, payload=charge(25000, "ch_page")).get_json()["event_id"]
    login(make_user("admin"))
    html = client.get(f"/admin/metrics/{metric.id}/explain").get_data(as_text=True)
    assert 'id="explain-total">250.00 USD' in html and 'id="explain-card">250.00' in html
    assert f'href="/admin/events/{event_id}"' in html and "ch_page" in html
    assert "Why this number" in client.get("/admin/metrics").get_data(as_text=True)
    bad = client.get(f"/admin/metrics/{metric.id}/explain?period=soon")
    assert bad.status_code == 200 and "period must be YYYY-MM" in bad.get_data(as_text=True)


def test_a_full_period_lists_its_newest_lines_and_still_counts_and_totals_all_of_it(app, client, login, monkeypatch):
    monkeypatch.setattr(provenance, "LINES_SHOWN", 2)
    connection, secret = make_connection("stripe")
    metric = revenue_metric(connection)
    for n, cents in enumerate((1000, 2000, 3000)):
        deliver(client, connection, secret, payload=charge(cents, f"ch_many_{n}"))
    found = current(metric)
    assert (found["counted_count"], len(found["counted"]), found["total"]) == (3, 2, Decimal("60"))
    assert found["counted_total"] is None and [line.external_id for line in found["counted"]] == ["ch_many_2", "ch_many_1"]
    assert found["totals_as_of"] == card_of(metric).value_updated_at  # from the card's pre-aggregates, not a scan
    login(make_user("admin"))
    html = client.get(f"/admin/metrics/{metric.id}/explain").get_data(as_text=True)
    assert "more lines than listed: the newest 2 of 3 are below" in html and "as of the card's refresh" in html
