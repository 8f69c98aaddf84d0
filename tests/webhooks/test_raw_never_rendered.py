"""Raw payload values never reach an admin or portal page unless an admin asks for them."""

from tests.factories import make_connection, make_user, signed_delivery
from tests.routes import route_urls

MARKER = "RAWMARKER7731"


def deliver_marked_events(client):
    """Plant the marker where only the raw bytes hold it: under sensitive keys and past truncation."""
    connection, secret = make_connection("stripe")
    payload = {
        "type": "charge.succeeded",
        "data": {"object": {"id": "ch_marked", "billing_details": {"email": f"{MARKER}@example.com",
                                                                   "address": {"line1": MARKER}},
                            "card": {"last4": MARKER}, "description": "x" * 300 + MARKER}},
        "api_token": MARKER,
    }
    body, headers = signed_delivery("stripe", secret, payload=payload)
    response = client.post(connection.ingest_path, data=body, headers=headers)
    assert response.status_code == 202
    return connection, response.get_json()["event_id"]


def test_no_admin_page_shows_raw_values(app, client, login):
    connection, event_id = deliver_marked_events(client)
    login(make_user("admin"))
    urls = route_urls(app, "/admin", {"event_id": event_id, "connection_id": connection.id, "id": event_id})
    assert urls
    for url in urls:
        response = client.get(url)
        assert MARKER not in response.get_data(as_text=True), url
        response = client.get(url, headers={"HX-Request": "true"})
        assert MARKER not in response.get_data(as_text=True), url


def test_no_portal_page_shows_raw_values(app, client, login):
    connection, event_id = deliver_marked_events(client)
    login(make_user("client", client=connection.client))
    for url in route_urls(app, "/portal", {"event_id": event_id, "connection_id": connection.id, "id": event_id}):
        assert MARKER not in client.get(url).get_data(as_text=True), url


def test_cli_events_output_shows_no_raw_values(app, client, runner):
    deliver_marked_events(client)
    result = runner.invoke(args=["zarts", "events", "--json"])
    assert result.exit_code == 0
    assert MARKER not in result.output
