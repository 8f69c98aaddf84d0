"""Alerts reach people: one per bad spell plus one recovery, dead letters grouped, retries, and no raw payload."""
import json
import uuid
from datetime import timedelta

from tests.factories import deliver, make_connection, make_user
from tests.health.test_health import forged, live, state, travel
from zarts.extensions import db
from zarts.models import AdminAction, Notification, NotificationDestination, utcnow
from zarts.services.health import checks
from zarts.services.notify import alerts, delivery, destinations

MARKER = "RAW_PAYLOAD_MARKER_8842"


def email_to_owner(connection, address="owner@agency.example"):
    destination, _ = destinations.add(connection.owner, "email", address, user=connection.owner)
    return destination


def log(kind=None):
    db.session.expire_all()
    query = db.select(Notification).order_by(Notification.id)
    return list(db.session.scalars(query.where(Notification.kind == kind) if kind else query))


def marked_dead_letter(client, connection, secret):
    """A charge whose time is text the mapping cannot read (the marker): dead-lettered, its reason quoting it."""
    payload = {"id": f"evt_{uuid.uuid4().hex}", "type": "charge.succeeded", "created": MARKER,
               "data": {"object": {"id": f"ch_{uuid.uuid4().hex[:12]}", "amount": 1200, "currency": "usd",
                                   "created": MARKER, "description": MARKER, "status": "succeeded"}}}
    assert deliver(client, connection, secret, payload=payload).status_code == 202


def test_a_connection_going_to_error_sends_one_alert_and_one_recovery(app, client, smtp_server):
    connection, secret = live(cadence=None)
    email_to_owner(connection)
    forged(client, connection, 5)
    checks.check()
    checks.check()  # still in error: nothing new
    assert state(connection).health == "error"
    delivery.flush()
    assert [m.subject for m in smtp_server.messages] == [f"[zarts] {connection.display_name} is error"]
    first = smtp_server.messages[0]
    assert first.to == "owner@agency.example" and "rejected with a bad signature" in first.text
    assert f"/admin/connections/{connection.id}" in first.text and "Likely cause:" in first.text

    forged(client, connection, 3)  # more of the same while it is in error
    checks.check()
    travel(connection, 120)
    assert deliver(client, connection, secret).status_code == 202  # fixed: accepted again
    checks.check()
    travel(connection, 7200)
    checks.check()
    delivery.flush()
    assert [m.subject.split(":")[0] for m in smtp_server.messages] == [
        f"[zarts] {connection.display_name} is error", "[zarts] Recovered"]
    assert "after" in smtp_server.messages[1].subject
    assert [n.status for n in log()] == ["sent", "sent"]


def test_fifty_dead_letters_in_a_window_send_one_grouped_message_without_payload_values(
        app, client, smtp_server, http_receiver):
    connection, secret = live(cadence=None)
    email_to_owner(connection)
    hook, signing = destinations.add(connection.owner, "webhook", http_receiver.url, connection=connection)
    destinations.add(connection.owner, "slack", http_receiver.url + "/slack", user=connection.owner)
    for _ in range(50):
        marked_dead_letter(client, connection, secret)
    rows = log("dead_letters")
    assert len(rows) == 3 and {r.count for r in rows} == {50}  # one row per destination, counted
    # The dead letters put the connection in error: that alert goes at once; theirs waits for the window.
    assert delivery.flush() == {"sent": 3}
    assert {n.kind for n in log() if n.status == "sent"} == {"health_bad"}
    smtp_server.messages.clear()
    http_receiver.requests.clear()
    outcomes = delivery.flush(utcnow() + timedelta(minutes=16))
    assert outcomes == {"sent": 3}
    [mail] = smtp_server.messages
    assert mail.subject == f"[zarts] 50 events dead-lettered on {connection.display_name}"
    assert "in the last 15 min" in mail.text and "Most common reason (50 of 50): " in mail.text
    assert "is not a unix time" in mail.text
    webhook, slack = sorted(http_receiver.requests, key=lambda r: r.path)
    assert webhook.json()["type"] == "zarts.dead_letters" and webhook.json()["count"] == 50
    from standardwebhooks.webhooks import Webhook

    Webhook(signing).verify(webhook.body, webhook.headers)
    assert slack.path.endswith("/slack") and "50 events dead-lettered" in slack.json()["text"]
    everything = [mail.subject, mail.text, mail.html or "", webhook.body.decode(), slack.body.decode()]
    everything += [n.subject + n.body for n in log()]
    assert not [text for text in everything if MARKER in text]

    marked_dead_letter(client, connection, secret)  # after the window: a new one
    assert [r.count for r in log("dead_letters") if r.status == "pending"] == [1, 1, 1]


def test_a_failing_destination_is_retried_with_backoff_then_shown_failing(app, client, login, http_receiver):
    connection, _ = live(cadence=None)
    destination, _ = destinations.add(connection.owner, "webhook", http_receiver.url, user=connection.owner)
    http_receiver.status = 503
    now = utcnow()
    alerts.health_changed(connection, "healthy", "error", None, now)
    db.session.commit()
    outcomes = [delivery.flush(now + timedelta(seconds=s)) for s in (0, 31, 31 + 121, 31 + 121 + 481)]
    assert outcomes == [{"retry": 1}, {"retry": 1}, {"retry": 1}, {"failed": 1}]
    assert len(http_receiver.requests) == 4
    [notification] = log("health_bad")
    db.session.refresh(destination)
    assert notification.status == "failed" and "the destination answered 503" in notification.status_reason
    assert destination.failing and destination.last_error == "the destination answered 503"
    assert http_receiver.url not in notification.status_reason
    login(connection.owner)
    page = client.get("/admin/notifications").get_data(as_text=True)
    assert "Failing: Webhook (signed JSON) http://127.0.0.1/…" in page and "answered 503" in page

    http_receiver.status = 200  # fixed: resend from the log
    response = client.post(f"/admin/notifications/{notification.id}/resend", headers={"HX-Request": "true"})
    assert response.status_code == 200 and ">sent<" in response.get_data(as_text=True)
    db.session.refresh(destination)
    assert destination.failing is False and len(http_receiver.requests) == 5
    assert db.session.scalar(db.select(AdminAction).filter_by(action="notification.resend")) is not None


def test_without_a_mail_server_alerts_are_logged_as_not_sent(app, client, login):
    app.config["MAIL_SERVER"] = None
    connection, _ = live(cadence=None)
    email_to_owner(connection)
    alerts.health_changed(connection, "healthy", "stale", None, utcnow())
    db.session.commit()
    assert delivery.flush() == {"not_sent": 1}
    [notification] = log()
    assert notification.status_reason == "not sent: no mail server configured"
    login(make_user("admin"))
    assert "not sent: no mail server configured" in client.get("/admin/notifications").get_data(as_text=True)


def test_alerts_go_to_the_on_call_list_when_the_owner_has_none_and_are_logged_when_nowhere(app, smtp_server):
    connection, _ = live(cadence=None)
    alerts.health_changed(connection, "healthy", "error", None, utcnow())
    db.session.commit()
    [nowhere] = log()
    assert nowhere.status == "not_sent" and nowhere.status_reason.startswith("not sent: no destination")
    destinations.add(None, "email", "oncall@agency.example")
    alerts.health_changed(connection, "error", "healthy", utcnow() - timedelta(minutes=42), utcnow())
    db.session.commit()
    delivery.flush()
    [mail] = smtp_server.messages
    assert mail.to == "oncall@agency.example" and "(after 42 min)" in mail.subject


def test_a_snoozed_connection_logs_its_alerts_as_not_sent_and_the_snooze_is_audited(app, client, login, smtp_server):
    connection, _ = live(cadence=None)
    email_to_owner(connection)
    login(connection.owner)
    response = client.post(f"/admin/connections/{connection.id}/snooze",
                           data={"hours": "4", "reason": "Stripe maintenance window"})
    assert response.status_code == 302
    alerts.health_changed(state(connection), "healthy", "error", None, utcnow())
    db.session.commit()
    assert delivery.flush() == {} and smtp_server.messages == []
    [held] = log()
    assert held.status == "not_sent" and "snoozed until" in held.status_reason and "maintenance" in held.status_reason
    audit = db.session.scalar(db.select(AdminAction).filter_by(action="connection.snooze_alerts"))
    assert audit.reason == "Stripe maintenance window" and audit.actor_id == connection.owner_id
    assert client.post(f"/admin/connections/{connection.id}/snooze", data={"hours": "4", "reason": ""}
                       ).status_code == 302  # refused with a message: a reason is required
    page = client.get(f"/admin/connections/{connection.id}").get_data(as_text=True)
    assert "Snoozed until" in page and "Wake alerts now" in page


def test_a_destination_gets_no_more_than_its_hourly_rate(app, smtp_server):
    app.config["NOTIFY_RATE_PER_HOUR"] = 2
    connection, _ = live(cadence=None)
    email_to_owner(connection)
    for before, after in (("healthy", "error"), ("error", "healthy"), ("healthy", "stale")):
        alerts.health_changed(connection, before, after, utcnow(), utcnow())
    db.session.commit()
    assert delivery.flush() == {"sent": 2, "held": 1}
    held = [n for n in log() if n.status == "pending"]
    assert len(held) == 1 and held[0].status_reason.startswith("held: this destination had 2 messages")


def test_test_data_and_connections_in_testing_do_not_alert_but_testing_too_long_does(app, client, smtp_server):
    connection, secret = make_connection("stripe")  # draft: test data
    email_to_owner(connection)
    marked_dead_letter(client, connection, secret)
    assert log("dead_letters") == []
    assert alerts.testing_too_long(utcnow()) == 0
    assert alerts.testing_too_long(utcnow() + timedelta(days=15)) == 1
    assert alerts.testing_too_long(utcnow() + timedelta(days=16)) == 0  # once
    delivery.flush(utcnow() + timedelta(days=15))
    assert "Still in draft after 14 days" in smtp_server.messages[0].subject


def test_rate_limited_syncs_are_grouped(app, smtp_server):
    connection, _ = live(cadence=None)
    email_to_owner(connection)
    for _ in range(3):
        alerts.sync_throttled(connection, "still throttled (HTTP 429) after 5 tries", utcnow())
    db.session.commit()
    delivery.flush(utcnow() + timedelta(minutes=16))
    [mail] = smtp_server.messages
    assert mail.subject == f"[zarts] Sync rate-limited: {connection.display_name}" and "3 sync runs" in mail.text


def test_destinations_from_the_admin_page(app, client, login):
    admin = make_user("admin")
    login(admin)
    assert client.get("/admin/notifications").status_code == 200
    response = client.post("/admin/notifications/destinations",
                           data={"kind": "email", "target": "me@agency.example", "scope": "me"})
    assert response.status_code == 302
    response = client.post("/admin/notifications/destinations",
                           data={"kind": "webhook", "target": "https://hooks.agency.example/zarts/t0ken", "scope": "oncall"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Copy this signing secret now" in page and "whsec_" in page
    assert "t0ken" not in client.get("/admin/notifications").get_data(as_text=True)  # the URL's path is not shown
    refused = client.post("/admin/notifications/destinations",
                          data={"kind": "slack", "target": "http://169.254.169.254/latest/meta-data", "scope": "me"})
    assert refused.status_code == 400 and "internal" in refused.get_data(as_text=True)
    assert [d.kind for d in db.session.scalars(db.select(NotificationDestination))] == ["email", "webhook"]
    client.post("/logout")
    login(make_user("client", client=make_connection("stripe")[0].client))
    assert client.get("/admin/notifications").status_code == 403


def test_the_cli_sends_a_test_and_lists_the_log(app, runner, smtp_server):
    result = runner.invoke(args=["zarts", "notify-test", "--to", "ops@agency.example", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "sent" and smtp_server.messages[0].to == "ops@agency.example"
    app.config["MAIL_SERVER"] = None
    result = runner.invoke(args=["zarts", "notify-test", "--to", "ops@agency.example", "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["status_reason"] == "not sent: no mail server configured"
    listed = json.loads(runner.invoke(args=["zarts", "notifications", "--status", "sent", "--json"]).output)
    assert [n["to"] for n in listed["notifications"]] == ["ops@agency.example"]
    bad = runner.invoke(args=["zarts", "notify-test", "--to", "nope", "--json"])
    assert bad.exit_code == 1 and bad.output == "error: --to: enter an email address\n"
    admin = make_user("admin")
    added = runner.invoke(args=["zarts", "add-destination", "--kind", "email", "--target", "a@agency.example",
                                "--user", admin.email, "--json"])
    assert added.exit_code == 0 and json.loads(added.output)["for"] == f"user {admin.id}"


def test_dead_letters_with_nowhere_to_go_are_one_logged_row_per_window(app, client):
    connection, secret = live(cadence=None)
    for _ in range(3):
        marked_dead_letter(client, connection, secret)
    [row] = log("dead_letters")
    assert (row.status, row.count) == ("not_sent", 3) and row.status_reason.startswith("not sent: no destination")


def test_a_destination_added_within_a_window_gets_the_next_dead_letters(app, client, smtp_server):
    connection, secret = live(cadence=None)
    marked_dead_letter(client, connection, secret)  # nowhere to go yet: logged as not sent
    email_to_owner(connection)
    marked_dead_letter(client, connection, secret)
    rows = log("dead_letters")
    assert [(r.status, r.count, r.destination_id is not None) for r in rows] == [("not_sent", 1, False),
                                                                              ("pending", 1, True)]
    delivery.flush(utcnow() + timedelta(minutes=16))
    assert [m.subject for m in smtp_server.messages if "dead-lettered" in m.subject] == [
        f"[zarts] 1 event dead-lettered on {connection.display_name}"]
