"""Scriptable proof: send a test event from a script, and see the cards exactly as the client does."""
import json

from tests.factories import drain, go_live, make_connection, make_user, signed_delivery
from zarts.extensions import db
from zarts.models import WebhookEvent


def run(runner, *args, input=None):
    return runner.invoke(args=["zarts", *args], input=input)


def test_send_test_event_prints_the_answers_and_the_test_counts(app, runner):
    connection, _ = make_connection("stripe")
    out = run(runner, "send-test-event", "--connection", str(connection.id), "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["statuses"] == [202, 200] and data["lifecycle"] == "testing"
    drain()
    db.session.rollback()
    event = db.session.get(WebhookEvent, data["event_id"])
    assert event.mode == "test" and event.status == "normalized"
    if not data["queued"]:
        assert data["review"]["created"] == 1 and data["review"]["duplicate"] == 1
    human = run(runner, "send-test-event", "--connection", str(connection.id))
    assert human.exit_code == 0 and "answered 202, then 200" in human.output


def test_send_test_event_refuses_a_live_connection_and_an_unknown_one(app, runner):
    connection, _ = make_connection("stripe", live=True)
    out = run(runner, "send-test-event", "--connection", str(connection.id))
    assert out.exit_code == 1 and out.output.startswith("error: test events are sent while a connection is in draft")
    assert run(runner, "send-test-event", "--connection", "999999").output.startswith("error: unknown connection")


def test_portal_json_shows_the_cards_as_the_client_sees_them(app, client, runner, login):
    connection, secret = make_connection("stripe")
    go_live(connection)
    body, headers = signed_delivery("stripe", secret)
    assert client.post(connection.ingest_path, data=body, headers=headers).status_code == 202
    drain()
    out = run(runner, "portal", "--client", connection.client.slug, "--json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    [card] = data["cards"]
    assert (card["title"], card["value"], card["unit"], card["value_text"]) == ("Monthly revenue", 1200.0, "USD",
                                                                                 "1,200 USD")
    assert card["baseline"] == 900.0 and card["change"] == 300.0 and card["status"] == "On track"
    assert card["next_action"] == "We review the month with you on the 1st." and card["freshness"].startswith("Up to date")
    login(make_user("client", client=connection.client))  # what the client's browser shows, the same words
    page = client.get("/portal/").get_data(as_text=True)
    for text in (card["title"], "1,200", card["status"], card["next_action"]):
        assert text in page
    other = run(runner, "portal", "--client", make_user("client").client.slug, "--json")
    assert json.loads(other.output)["cards"] == []  # another client sees none of it
    assert run(runner, "portal", "--client", "nobody").output.startswith("error: unknown client 'nobody'")
