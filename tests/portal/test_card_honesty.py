"""Cards that never overstate: no "On track" without a yardstick, freshness from the newest value
whatever brought it, units read as words, the source in the client's words, a trend from the start."""
import re
from datetime import timedelta
from decimal import Decimal

from tests.factories import deliver, load_demo, make_connection, make_user
from tests.portal.test_portal import card_of, charge, revenue_metric
from zarts.extensions import db
from zarts.models import MetricDefinition, PortalCard, utcnow
from zarts.services.pipeline import manual
from zarts.services.proof import metrics, notes, outcomes
from zarts.services.proof.portal import source_name
from zarts.templating import sparkline, unit_for


def portal(client, login, customer):
    login(make_user("client", client=customer))
    return client.get("/portal/").get_data(as_text=True)


def card_html(page, card_id):
    start = page.index(f'id="card-{card_id}"')
    return page[start:page.index("</article>", start)]


def test_a_card_with_nothing_to_compare_against_says_no_target_set(app, client, login):
    connection, secret = make_connection("stripe")
    metric = revenue_metric(connection, baseline_value="", baseline_label="")
    deliver(client, connection, secret, payload=charge(25000, "ch_plain"))
    card = card_of(metric)
    assert card.current_value == Decimal("250") and card.status == "no_target"
    html = card_html(portal(client, login, connection.client), card.id)
    assert "No target set" in html and "On track" not in html


def test_a_manual_update_makes_the_card_fresh_though_the_webhooks_are_older(app, client, login):
    connection, secret = make_connection("stripe")
    metric = revenue_metric(connection)
    deliver(client, connection, secret, payload=charge(120000, "ch_first"))
    connection.last_success_at = utcnow() - timedelta(hours=5)  # the last webhook was hours ago
    card = card_of(metric)
    card.value_changed_at = utcnow() - timedelta(hours=5)
    db.session.commit()
    manual.manual_update(connection, connection.owner, "phoned in", "payment", "pay_by_phone",
                         metrics=[{"name": "revenue", "value": "450", "unit": "USD", "period": "month"}])
    card = card_of(metric)
    assert card.current_value == Decimal("1650") and utcnow() - card.value_changed_at < timedelta(minutes=1)
    html = card_html(portal(client, login, connection.client), card.id)
    assert "1,650" in html and re.search(r"Up to date, updated (just now|\d+ s ago)", html), html


def test_a_value_that_did_not_change_keeps_its_time(app, client):
    connection, secret = make_connection("stripe")
    metric = revenue_metric(connection)
    deliver(client, connection, secret, payload=charge(120000, "ch_same"))
    card = card_of(metric)
    before = card.value_changed_at - timedelta(hours=1)
    card.value_changed_at = before
    db.session.commit()
    outcomes.refresh_card(db.session.get(MetricDefinition, metric.id))
    db.session.commit()
    assert card_of(metric).value_changed_at == before


def test_units_read_as_words():
    assert (unit_for(Decimal("1"), "leads"), unit_for(Decimal("2"), "leads"), unit_for(Decimal("1"), "count"),
            unit_for(Decimal("5"), "count"), unit_for(Decimal("1"), "USD"), unit_for(Decimal("1"), "")) == (
        "lead", "leads", "", "", "USD", "")


def test_the_source_is_named_in_the_clients_words(app, client, login):
    connection, secret = make_connection("stripe")
    plain = revenue_metric(connection)
    named = revenue_metric(connection, name="Café takings", source_name="Card machine at the café")
    manual_metric = metrics.save_metric(connection.client, {
        "name": "Referrals", "metric_name": "referrals", "period": "month", "unit": "referrals",
        "client_meaning": "Patients who came through a referral.", "connection_id": None}, connection.owner)
    db.session.commit()
    page = portal(client, login, connection.client)
    assert "<dt>Source</dt><dd>Online card payments</dd>" in card_html(page, card_of(plain).id)
    assert "<dt>Source</dt><dd>Card machine at the café</dd>" in card_html(page, card_of(named).id)
    assert ">Stripe<" not in page
    assert source_name(manual_metric) == "Entered by your ZartsAlgo team"


def test_the_trend_shows_from_the_first_period_with_data():
    assert sparkline([None, None, 5.0]) == "117.0,16.0"  # one point: drawn as a dot
    assert len(sparkline([None, 3.0, 5.0]).split()) == 2
    assert sparkline([None, None]) == ""


def test_one_period_of_data_draws_a_dot_and_more_draw_a_line(app, client, login):
    connection, secret = make_connection("stripe")
    metric = revenue_metric(connection)
    deliver(client, connection, secret, payload=charge(25000, "ch_dot"))
    html = card_html(portal(client, login, connection.client), card_of(metric).id)
    assert "<circle" in html and "The first period with data" in html


def test_the_demo_cards_have_several_periods_to_draw(app, client, login):
    load_demo()
    cards = db.session.scalars(db.select(PortalCard)).all()
    assert cards and all(sum(v is not None for v in card.trend) >= 3 for card in cards)
    customer = cards[0].metric.client
    page = portal(client, login, customer)
    assert "<polyline" in page and "Trend over the last" in page


def marked_revenue(client, marker, charge_id):
    """(connection, metric) of a live Stripe revenue card fed one charge whose description is a raw marker."""
    connection, secret = make_connection("stripe")
    metric = revenue_metric(connection)
    payload = charge(25000, charge_id)
    payload["data"]["object"]["description"] = marker
    deliver(client, connection, secret, payload=payload)
    return connection, metric


def test_how_we_measure_this_speaks_plainly_and_only_to_the_cards_client(app, client, login):
    marker = "RAW_MARKER_4417"
    connection, metric = marked_revenue(client, marker, "ch_how")
    card = card_of(metric)
    login(make_user("client", client=connection.client))
    page = client.get("/portal/").get_data(as_text=True)
    assert f'hx-get="/portal/cards/{card.id}/how"' in page and "How we measure this" in page
    html = client.get(f"/portal/cards/{card.id}/how", headers={"HX-Request": "true"}).get_data(as_text=True)
    for text in ("Online card payments", "the total in USD, each calendar month", "What your patients paid this month.",
                 "made of 1 record", "Updated within minutes of each new record from online card payments.",
                 connection.owner.display_name, connection.owner.email):
        assert text in html, text
    for secret_thing in (marker, "ch_how", "Stripe", ">revenue<", "sum of", "evt_"):
        assert secret_thing not in html, secret_thing
    client.post("/logout")
    login(make_user("client"))  # another client
    assert client.get(f"/portal/cards/{card.id}/how").status_code == 404


def test_the_monthly_report_prints_each_card_with_how_it_is_measured_and_only_this_clients(app, client, login):
    marker = "RAW_MARKER_9031"
    connection, metric = marked_revenue(client, marker, "ch_report")
    other, other_secret = make_connection("stripe")
    other_metric = revenue_metric(other, name="Other clinic revenue")
    deliver(client, other, other_secret, payload=charge(77700, "ch_other"))
    notes.add_note(connection.client_id, "Card machine replaced", "Payments paused for an hour on the 3rd.")
    db.session.commit()
    login(make_user("client", client=connection.client))
    assert 'href="/portal/report"' in client.get("/portal/").get_data(as_text=True)
    html = client.get("/portal/report").get_data(as_text=True)
    card = card_of(metric)
    for text in (f'id="report-card-{card.id}"', "Monthly revenue", "250", "1,000", "How we measure this",
                 "Online card payments", "Card machine replaced", "print-button"):
        assert text in html, text
    assert marker not in html and "Other clinic revenue" not in html and "777" not in html
    assert f'id="report-card-{card_of(other_metric).id}"' not in html
    earlier = client.get("/portal/report?month=2020-01").get_data(as_text=True)
    assert "January 2020" in earlier and "Card machine replaced" not in earlier
    bad = client.get("/portal/report?month=soon")
    assert bad.status_code == 400 and "month must be YYYY-MM" in bad.get_data(as_text=True)
    client.post("/logout")
    login(make_user("admin"))
    preview = client.get(f"/admin/clients/{connection.client_id}/report").get_data(as_text=True)
    assert "Preview: this is exactly the report" in preview and "Monthly revenue" in preview
