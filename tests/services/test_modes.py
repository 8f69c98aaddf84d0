"""Test deliveries never reach clients: test mode from the onboarding test event and from a
connection that is not live yet; stored and normalized for admins, but no metric, card or note."""
from tests.factories import drain, make_connection, make_user
from zarts.extensions import db
from zarts.models import MetricDefinition, MetricValue, NormalizedEvent, PortalCard, ReportNote, WebhookEvent
from zarts.services.proof import metrics, portal
from zarts.services.setup import gate, lifecycle, onboarding


def publish_revenue(connection):
    metric = metrics.save_metric(connection.client, {
        "name": "Monthly revenue", "metric_name": "revenue", "connection_id": connection.id, "period": "month",
        "unit": "USD", "client_meaning": "What customers paid this month.", "aggregation": "sum"}, connection.owner)
    metrics.publish(metric, connection.owner)
    db.session.commit()
    return metric


def go_live(connection, admin):
    """The gate on its evidence, the metric being already published."""
    gate.confirm_access(connection, admin, "Checked the account, docs, auth model and scopes")
    if not gate.test_review(connection)["total"]:
        onboarding.send_test_event(connection, admin)
        drain()
        db.session.rollback()
    gate.review_test_data(connection, admin)
    metric = db.session.scalar(db.select(MetricDefinition).filter_by(connection_id=connection.id))
    metric.baseline_value, metric.next_action = 900, "We review the month with you."
    db.session.commit()
    lifecycle.transition(connection, "active", admin)


def test_a_test_event_is_normalized_for_admins_and_reaches_no_client(app, client, login):
    admin = make_user("admin")
    connection, _ = make_connection("stripe", owner=admin)
    metric = publish_revenue(connection)
    result = onboarding.send_test_event(connection, admin)
    drain()  # with Redis the workers normalize it
    db.session.rollback()
    event = db.session.get(WebhookEvent, result["event_id"])
    assert event.mode == "test" and event.status == "normalized"
    record = db.session.get(NormalizedEvent, event.normalized_event_id)
    assert record.mode == "test" and record.object_type == "payment"  # admins see what it became
    assert db.session.scalar(db.select(db.func.count(MetricValue.id))) == 0
    go_live(connection, admin)  # activation carries nothing of the test over
    db.session.rollback()
    card = db.session.scalar(db.select(PortalCard).filter_by(metric_id=metric.id))
    assert card is None or card.current_value is None
    login(make_user("client", client=connection.client))
    page = client.get("/portal/").get_data(as_text=True)
    assert "No data yet" in page and "1,200" not in page and "On track" not in page
    assert db.session.scalar(db.select(db.func.count(ReportNote.id))) == 0


def test_deliveries_before_going_live_are_test_data(app, client):
    from tests.factories import deliver

    admin = make_user("admin")
    connection, secret = make_connection("stripe", owner=admin)
    publish_revenue(connection)
    assert deliver(client, connection, secret).status_code == 202
    db.session.rollback()
    [event] = db.session.scalars(db.select(WebhookEvent)).all()
    assert event.mode == "test" and event.status == "normalized"
    assert db.session.scalar(db.select(db.func.count(MetricValue.id))) == 0
    go_live(connection, admin)
    assert deliver(client, connection, secret).status_code == 202  # the same kind of event, live now
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(MetricValue.id)).where(MetricValue.name == "revenue")) == 1
    records = db.session.scalars(db.select(NormalizedEvent.mode)).all()
    assert sorted(records) == ["live", "test"]  # the test record and the live one never meet
    views = portal.card_views(connection.client_id)
    assert views[0].card.current_value is not None


def test_a_delivery_the_provider_marks_as_test_changes_nothing_a_client_sees(app, client, login):
    """On an active connection: Stripe's livemode false, Shopify's X-Shopify-Test header."""
    import copy

    from tests.factories import deliver, signed_delivery
    from zarts.models import AdminTask, Incident
    from zarts.providers import definition

    stripe, stripe_secret = make_connection("stripe", live=True)
    metric = publish_revenue(stripe)
    sample = copy.deepcopy(definition("stripe")["samples"]["charge.succeeded"])
    sample["livemode"] = False
    assert deliver(client, stripe, stripe_secret, payload=sample).status_code == 202
    shop, shop_secret = make_connection("shopify", live=True)
    body, headers = signed_delivery("shopify", shop_secret, "orders/create")
    headers["X-Shopify-Test"] = "true"
    assert client.post(shop.ingest_path, data=body, headers=headers).status_code == 202
    drain()
    db.session.rollback()
    assert sorted(db.session.scalars(db.select(WebhookEvent.mode))) == ["test", "test"]
    assert db.session.scalar(db.select(db.func.count(MetricValue.id))) == 0
    card = db.session.scalar(db.select(PortalCard).filter_by(metric_id=metric.id))
    assert card is None or card.current_value is None
    for model in (ReportNote, Incident):
        assert db.session.scalar(db.select(db.func.count(model.id))) == 0
    assert db.session.scalar(db.select(db.func.count(AdminTask.id)).where(AdminTask.kind == "threshold")) == 0
    login(make_user("client", client=stripe.client))
    assert "No data yet" in client.get("/portal/").get_data(as_text=True)
    sample["livemode"], sample["id"] = True, "evt_live_one"  # the same event in live mode does count
    deliver(client, stripe, stripe_secret, payload=sample)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(MetricValue.id)).where(MetricValue.name == "revenue")) == 1
