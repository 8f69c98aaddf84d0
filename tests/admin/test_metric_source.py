"""A metric reads its own client's data only: its source must be one of that client's connections."""
from decimal import Decimal

import pytest

from tests.factories import deliver, make_connection, make_user
from tests.portal.test_portal import card_of, charge, revenue_metric
from zarts.admin.metric_forms import MetricForm, choices
from zarts.extensions import db
from zarts.models import AdminAction, MetricDefinition, PortalCard
from zarts.services import DomainError
from zarts.services.mapping import versions
from zarts.services.proof import metrics

OTHER_AMOUNT = 9876500  # cents: 98,765 on a card that wrongly sums the other client's charges


def form(connection_id, **extra):
    """A complete metric form, as the browser would post it."""
    return {"name": "Monthly revenue", "connection_id": str(connection_id), "metric_name": "revenue",
            "period": "month", "unit": "USD", "client_meaning": "Money in.", "aggregation": "sum",
            "baseline_mode": "fixed", "direction": "higher", **extra}


def stored():
    """(metric rows, metric.save audit rows) as the database has them."""
    db.session.expire_all()
    return (db.session.scalars(db.select(MetricDefinition).order_by(MetricDefinition.id)).all(),
            db.session.scalars(db.select(AdminAction).filter_by(action="metric.save")).all())


def portal_of(client, login, customer):
    """The portal page as one of the customer's users sees it."""
    client.post("/logout")
    login(make_user("client", client=customer))
    return client.get("/portal/").get_data(as_text=True)


def test_the_form_offers_only_the_clients_own_connections(app, client, admin):
    own, _ = make_connection("stripe")
    other, _ = make_connection("stripe")
    html = client.get(f"/admin/clients/{own.client_id}/metrics/new").get_data(as_text=True)
    assert f'<option value="{own.id}"' in html and f'<option value="{other.id}"' not in html


def test_the_form_itself_refuses_a_connection_it_did_not_offer(app):
    with app.test_request_context(method="POST", data=form(987654)):
        metric_form = MetricForm()
        metric_form.connection_id.choices = choices([("", "— choose —"), (1, "Stripe")])
        assert not metric_form.validate()
        assert metric_form.connection_id.errors == ["choose one of this client's connections"]


def test_a_crafted_post_cannot_give_a_new_metric_another_clients_source(app, client, login, admin):
    own, _ = make_connection("stripe")
    other, other_secret = make_connection("stripe")
    response = client.post(f"/admin/clients/{own.client_id}/metrics/new", data=form(other.id))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "choose one of" in html  # the form or the service says which
    assert stored() == ([], [])
    deliver(client, other, other_secret, payload=charge(OTHER_AMOUNT, "ch_other"))
    assert db.session.scalar(db.select(PortalCard).filter_by(client_id=own.client_id)) is None
    assert "98,765" not in portal_of(client, login, own.client)


def test_a_crafted_edit_cannot_point_a_card_at_another_clients_data(app, client, login, admin):
    own, own_secret = make_connection("stripe")
    other, other_secret = make_connection("stripe")
    metric = revenue_metric(own)
    deliver(client, own, own_secret, payload=charge(12300, "ch_own"))
    metrics_before, audits_before = stored()
    response = client.post(f"/admin/metrics/{metric.id}", data=form(other.id))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "choose one of" in html  # the form or the service says which
    metrics_after, audits_after = stored()
    assert [m.connection_id for m in metrics_after] == [own.id] and len(audits_after) == len(audits_before)
    deliver(client, other, other_secret, payload=charge(OTHER_AMOUNT, "ch_other"))
    assert card_of(metric).current_value == Decimal("123")
    page = portal_of(client, login, own.client)
    assert "Monthly revenue" in page and "123" in page and "98,765" not in page


@pytest.mark.parametrize("existing", [False, True], ids=["create", "edit"])
def test_the_service_refuses_another_clients_connection_whoever_calls_it(app, existing):
    own, _ = make_connection("stripe")
    other, _ = make_connection("stripe")
    metric = None
    if existing:
        metric = metrics.save_metric(own.client, {"name": "Revenue", "metric_name": "revenue",
                                                  "connection_id": own.id}, own.owner)
        db.session.commit()
    before = stored()
    values = {"name": "Revenue", "metric_name": "revenue", "connection_id": other.id}
    with pytest.raises(DomainError, match="belongs to another client"):
        metrics.save_metric(own.client, values, own.owner, metric)
    db.session.rollback()
    assert [(m.id, m.connection_id) for m in stored()[0]] == [(m.id, m.connection_id) for m in before[0]]
    with pytest.raises(DomainError, match="does not exist"):
        metrics.save_metric(own.client, {**values, "connection_id": 987654}, own.owner, metric)
    db.session.rollback()


def test_the_metric_name_is_offered_from_the_chosen_connections_mapping(app, client, admin):
    own, _ = make_connection("stripe")
    other, _ = make_connection("manual_csv_import")  # another client's: its names are not offered
    html = client.get(f"/admin/clients/{own.client_id}/metrics/new").get_data(as_text=True)
    assert 'list="metric-name-options"' in html and "Choose the source connection" in html
    assert f'hx-get="/admin/clients/{own.client_id}/metrics/names"' in html
    names = client.get(f"/admin/clients/{own.client_id}/metrics/names?connection_id={own.id}",
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<option value="revenue">' in names and "<html" not in names and "writes: " in names
    foreign = client.get(f"/admin/clients/{own.client_id}/metrics/names?connection_id={other.id}").get_data(as_text=True)
    assert "<option" not in foreign and "leads" not in foreign
    # An edit form offers its own connection's names straight away.
    response = client.post(f"/admin/clients/{own.client_id}/metrics/new", data=form(own.id, metric_name="nope", name=""))
    assert '<option value="revenue">' in response.get_data(as_text=True)


def test_a_connection_whose_mapping_writes_no_metric_says_so(app, client, admin):
    own, _ = make_connection("stripe")
    mapping = versions.effective_mapping(own)
    stripped = {**mapping, "events": {t: {k: v for k, v in rule.items() if k != "metrics"}
                                      for t, rule in mapping["events"].items()}}
    versions.save_mapping(own, stripped, admin, "no metrics yet")
    db.session.commit()
    names = client.get(f"/admin/clients/{own.client_id}/metrics/names?connection_id={own.id}").get_data(as_text=True)
    assert "writes no metric yet" in names and f"/admin/connections/{own.id}/mapping" in names
