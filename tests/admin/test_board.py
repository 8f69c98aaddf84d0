"""The health board: per-connection cards with last-24-hour stats, polling, filters, empty state."""
import re
import uuid
from datetime import timedelta

from markupsafe import escape
from sqlalchemy import event as sa_event

from tests.factories import deliver, make_client, make_connection, make_user, signed_delivery
from zarts.extensions import db
from zarts.models import WebhookEvent, utcnow
from zarts.services.console import board
from zarts.services.pipeline import failures, manual
from zarts.services.setup import lifecycle

HX = {"HX-Request": "true"}
POLL = 'hx-trigger="every 5s"'


def stat(html, name):
    """The number a card shows for one stat."""
    match = re.search(rf'data-stat="{name}">\s*([^<]+?)\s*<', html)
    assert match, f"no {name} stat in the card"
    return match.group(1)


def fresh(event_id):
    db.session.expire_all()
    return db.session.get(WebhookEvent, event_id)


def test_board_stats_for_a_known_mix_of_deliveries(app, client, admin):
    connection, secret = make_connection("stripe")
    other, other_secret = make_connection("stripe")
    ok_id = f"evt_{uuid.uuid4().hex}"
    assert deliver(client, connection, secret, msg_id=ok_id).status_code == 202               # normalized
    assert deliver(client, connection, secret).status_code == 202                             # normalized
    assert deliver(client, connection, secret, msg_id=ok_id).status_code == 200               # duplicate
    assert deliver(client, connection, secret, msg_id=ok_id).status_code == 200               # duplicate
    ignored = {"id": f"evt_{uuid.uuid4().hex}", "type": "account.updated", "data": {"object": {}}}
    assert deliver(client, connection, secret, payload=ignored).status_code == 202            # ignored
    broken = {"id": f"evt_{uuid.uuid4().hex}", "type": "charge.succeeded", "data": {"object": {}}}
    assert deliver(client, connection, secret, payload=broken).status_code == 202             # dead-lettered
    # A transient failure within the retry budget: retry_scheduled (a "failed" event).
    retrying = deliver(client, connection, secret).get_json()["event_id"]
    row = fresh(retrying)
    row.status, row.claim_token = "processing", "a-worker"
    db.session.flush()
    failures.fail(row, "upsert", RuntimeError("database went away"), transient=True, token="a-worker")
    db.session.commit()
    assert fresh(retrying).status == "retry_scheduled"
    # Older than 24 h: not counted. A manual update: not a delivery. Another connection: its own card.
    old = deliver(client, connection, secret).get_json()["event_id"]
    fresh(old).received_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    manual.manual_update(connection, admin, "phoned in", "payment", "pay_1")
    deliver(client, other, other_secret)
    body, headers = signed_delivery("stripe", "whsec_wrong")
    assert client.post(connection.ingest_path, data=body, headers=headers).status_code == 401

    stats = {c.connection.id: c.stats for c in board.cards()}
    mine = stats[connection.id]
    assert (mine.accepted, mine.normalized, mine.ignored, mine.failed, mine.dead_lettered, mine.duplicates) == (
        5, 2, 1, 1, 1, 2)
    assert mine.error_rate == 40.0
    assert stats[other.id].accepted == 1 and stats[other.id].error_rate == 0.0

    html = client.get(f"/admin/connections/{connection.id}/card", headers=HX).get_data(as_text=True)
    expected = {"accepted": "5", "normalized": "2", "ignored": "1", "failed": "1", "dead_lettered": "1",
                "duplicates": "2", "error_rate": "40.0%"}
    assert {name: stat(html, name) for name in expected} == expected
    assert "Rejected deliveries (all time): 1" in html and "no signature matched" in html
    db.session.expire_all()
    for text in (connection.client.name, "Stripe", connection.owner.display_name, connection.reason,
                 connection.health_reason, connection.lifecycle, f"badge health-{connection.health}"):
        assert str(escape(text)) in html, text


def test_board_reads_stats_with_one_grouped_query(app, client, admin):
    for _ in range(4):
        connection, secret = make_connection("stripe")
        deliver(client, connection, secret)
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        cards = board.cards()
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    assert len(cards) == 4 and all(c.stats.accepted == 1 for c in cards)
    assert len(statements) == 2, statements  # the connections (with joins) and one grouped stats query
    assert "GROUP BY" in statements[1]


def test_cards_poll_their_own_url_and_update_in_place(app, client, admin):
    connection, secret = make_connection("stripe")
    page = client.get("/admin/").get_data(as_text=True)
    assert f'id="connection-{connection.id}"' in page
    fragment = client.get(f"/admin/connections/{connection.id}/card", headers=HX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html
    assert f'id="connection-{connection.id}"' in html
    assert f'hx-get="/admin/connections/{connection.id}/card"' in html
    assert POLL in html and 'hx-swap="outerHTML"' in html
    assert stat(html, "accepted") == "0" and stat(html, "error_rate") == "—"
    deliver(client, connection, secret)
    html = client.get(f"/admin/connections/{connection.id}/card", headers=HX).get_data(as_text=True)
    assert stat(html, "accepted") == "1" and stat(html, "normalized") == "1"
    # Without htmx it is the board of the connection's client, at the card (not a board of one card).
    full = client.get(f"/admin/connections/{connection.id}/card")
    assert full.status_code == 302
    assert full.headers["Location"] == f"/admin/?client={connection.client_id}#connection-{connection.id}"
    board = client.get(full.headers["Location"]).get_data(as_text=True)
    assert f'id="connection-{connection.id}"' in board and 'class="board-filters"' in board


def test_a_disconnected_card_stops_polling(app, client, admin):
    connection, _ = make_connection("stripe")
    lifecycle.transition(connection, "disconnected", admin)
    html = client.get(f"/admin/connections/{connection.id}/card", headers=HX).get_data(as_text=True)
    assert "disconnected" in html and "hx-trigger" not in html


def test_unknown_card_is_404(app, client, admin):
    assert client.get("/admin/connections/999999/card", headers=HX).status_code == 404


def test_filters_come_from_the_url(app, client, admin):
    acme, globex = make_client("Acme Filter"), make_client("Globex Filter")
    other_admin = make_user("admin")
    a, _ = make_connection("stripe", client=acme, owner=admin)
    b, _ = make_connection("github", client=globex, owner=other_admin)
    b.health, b.health_reason = "error", "Dead letters are piling up"
    db.session.commit()

    def shown(query):
        html = client.get(f"/admin/{query}").get_data(as_text=True)
        return {cid for cid in (a.id, b.id) if f'id="connection-{cid}"' in html}

    assert shown("") == {a.id, b.id}
    assert shown(f"?client={acme.id}") == {a.id}
    assert shown("?provider=github") == {b.id}
    assert shown("?health=error") == {b.id}
    assert shown(f"?owner={admin.id}") == {a.id}
    assert shown(f"?client={acme.id}&provider=github") == set()
    assert "No connection matches these filters" in client.get("/admin/?health=stale").get_data(as_text=True)
    assert shown("?health=nonsense&client=abc") == {a.id, b.id}  # unknown values are ignored


def test_empty_board_explains_how_to_start(app, client, admin):
    html = client.get("/admin/").get_data(as_text=True)
    assert "No connections yet" in html and "/admin/connections/new" in html


def test_open_task_count_in_the_header(app, client, admin):
    connection, secret = make_connection("stripe", owner=admin)
    assert "0 open tasks" in client.get("/admin/").get_data(as_text=True)
    broken = {"id": f"evt_{uuid.uuid4().hex}", "type": "charge.succeeded", "data": {"object": {}}}
    deliver(client, connection, secret, payload=broken)
    assert "1 open task<" in client.get("/admin/").get_data(as_text=True)
