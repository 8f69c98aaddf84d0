"""The setup guide on every connection page: in the provider's own terms, from its definition."""
from tests.factories import make_connection, make_user


def page(client, connection):
    return client.get(f"/admin/connections/{connection.id}").get_data(as_text=True)


def test_stripe_guide_says_where_to_add_the_endpoint_which_events_and_where_the_secret_is(app, client, login):
    login(make_user("admin"))
    connection, _ = make_connection("stripe")
    html = page(client, connection)
    assert "Set up Stripe" in html and f"http://localhost{connection.ingest_path}</code>" in html
    assert 'data-copy="ingest-url"' in html
    assert "Developers → Webhooks" in html and "Signing secret" in html and "Rotate secret" in html
    for event in ("charge.succeeded", "invoice.payment_failed", "customer.subscription.updated",
                  "checkout.session.completed"):
        assert f"<code>{event}</code>" in html  # the types the mapping covers, to subscribe
    assert "docs.stripe.com/webhooks" in html and "Access and scopes" in html
    assert "the one in use was pasted" in html  # make_connection pastes Stripe's secret, as an admin would


def test_a_secret_zarts_generated_is_offered_for_senders_that_take_one(app, client, login):
    login(make_user("admin"))
    connection, _ = make_connection("github")
    html = page(client, connection)
    assert "Settings → Webhooks" in html and "application/json" in html
    assert "give GitHub the secret zarts showed" in html and "<code>issues</code>" in html
    assert "<code>ping</code>" not in html  # ignored on purpose, so not listed to subscribe


def test_standard_webhooks_guide_says_any_type_becomes_a_record(app, client, login):
    login(make_user("admin"))
    connection, _ = make_connection("standard_webhooks")
    html = page(client, connection)
    assert "<code>lead.created</code>" in html and "any other type still becomes a record of its own type" in html


def test_a_pull_sync_connection_is_set_up_with_an_endpoint_and_credential_not_a_secret(app, client, login):
    login(make_user("admin"))
    connection, _ = make_connection("generic_http_sync")
    html = page(client, connection)
    guide = html.split('id="guide"')[1].split("</section>")[0]
    assert "sync settings" in guide and "credential" in guide
    assert "Ingest URL" not in guide and "Rotate secret" not in guide and "Events to subscribe" not in guide
