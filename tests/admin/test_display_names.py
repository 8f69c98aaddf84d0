"""One display name for a connection on every admin page: its client first, its own name once."""
import io
import re

from tests.factories import deliver, make_client, make_connection
from zarts.extensions import db
from zarts.models import WebhookEvent
from zarts.services.imports import csv_import


def pages(connection, event_id, import_id):
    c = connection.id
    return ["/admin/", "/admin/connections", f"/admin/connections/{c}", f"/admin/connections/{c}/edit",
            f"/admin/connections/{c}/syncs", f"/admin/connections/{c}/mapping", "/admin/events",
            f"/admin/events?connection={c}", f"/admin/events/{event_id}", "/admin/imports",
            f"/admin/imports/{import_id}", "/admin/tasks"]


def test_a_connection_is_named_once_with_its_client_everywhere(app, client, admin):
    northwind = make_client("Northwind Coffee")
    wholesale, secret = make_connection("stripe", client=northwind, owner=admin)
    wholesale.name = "Stripe (wholesale)"  # the admin's own name, without the client's
    csv, _ = make_connection("manual_csv_import", client=northwind, owner=admin)
    db.session.commit()
    assert deliver(client, wholesale, secret).status_code == 202
    event_id = db.session.scalar(db.select(WebhookEvent.id).filter_by(connection_id=wholesale.id))
    imp = csv_import.upload(csv.id, "leads.csv", io.BytesIO(b"id,value\n1,2\n"))
    assert wholesale.display_name == "Northwind Coffee · Stripe (wholesale)"
    assert csv.display_name == csv.name == "Northwind Coffee · Manual CSV Import"
    for url in pages(wholesale, event_id, imp.id):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert not re.search(r"Northwind Coffee · (Stripe · )?Northwind Coffee", html), url
        assert "Stripe · Northwind Coffee · Stripe" not in html, url
    for url in (f"/admin/connections/{wholesale.id}", "/admin/events", f"/admin/events/{event_id}", "/admin/connections"):
        assert "Northwind Coffee · Stripe (wholesale)" in client.get(url).get_data(as_text=True), url
