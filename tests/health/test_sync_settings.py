"""Sync connector settings from the admin: endpoint, write-only credential, JSON overrides, cursor reset."""
import json

from sqlalchemy import select

from tests.factories import make_connection
from zarts.extensions import db
from zarts.models import AdminAction, Connection
from zarts.services.ingest import secrets

HX = {"HX-Request": "true"}


def form_for(**extra):
    return {"endpoint": "https://api.example.com/v1/leads", "credential": "", "reason": "new source",
            "settings_json": '{"page_size": 50, "records_path": "items"}', **extra}


def test_the_runs_page_shows_the_settings_form_without_the_credential(app, client, admin, sync_connection):
    html = client.get(f"/admin/connections/{sync_connection.id}/syncs").get_data(as_text=True)
    assert 'id="sync-settings"' in html and 'name="endpoint"' in html
    assert secrets.decrypt(sync_connection.secret_encrypted) not in html
    assert "Syncs cannot run yet" not in html and "every" in html
    assert "The defaults" in html and "next_cursor_path" in html


def test_saving_replaces_the_overrides_stores_the_credential_and_audits_without_it(app, client, admin):
    connection, _ = make_connection("generic_http_sync")
    response = client.post(f"/admin/connections/{connection.id}/sync-settings",
                           data=form_for(credential="sk_new_123"), headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and "Saved." in html
    assert json.loads(response.headers["HX-Trigger"]) == {"sync-settings-saved": connection.id}
    assert "sk_new_123" not in html
    fresh = db.session.get(Connection, connection.id)
    assert fresh.sync_config == {"endpoint": "https://api.example.com/v1/leads", "page_size": 50, "records_path": "items"}
    assert secrets.decrypt(fresh.secret_encrypted) == "sk_new_123"
    [row] = db.session.scalars(select(AdminAction).filter_by(action="connection.sync_configure")).all()
    assert row.after["credential_changed"] is True and "sk_new_123" not in json.dumps(row.after)

    # The textarea is the whole set: a key left out goes back to the default; the credential is kept.
    client.post(f"/admin/connections/{connection.id}/sync-settings", data=form_for(settings_json='{"page_size": 20}'),
                headers=HX)
    db.session.expire_all()
    fresh = db.session.get(Connection, connection.id)
    assert fresh.sync_config == {"endpoint": "https://api.example.com/v1/leads", "page_size": 20}
    assert secrets.decrypt(fresh.secret_encrypted) == "sk_new_123"


def test_bad_settings_are_form_errors_and_change_nothing(app, client, admin):
    connection, _ = make_connection("generic_http_sync")
    url = f"/admin/connections/{connection.id}/sync-settings"
    for data, message in ((form_for(settings_json="{nope"), "not valid JSON"),
                          (form_for(settings_json="[1, 2]"), "must be a JSON object"),
                          (form_for(endpoint="file:///etc/passwd"), "http or https"),
                          (form_for(settings_json='{"page_size": 0}'), "page_size: must be a whole number"),
                          (form_for(settings_json='{"surprise": 1}'), "unknown setting")):
        response = client.post(url, data=data, headers=HX)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and message in html and "Saved." not in html, message
        assert "HX-Trigger" not in response.headers
    db.session.expire_all()
    assert db.session.get(Connection, connection.id).sync_config == {}
    response = client.post(url, data=form_for(settings_json="{nope"))  # without htmx: back to the page
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/connections/{connection.id}/syncs")


def test_reset_cursor_from_the_form(app, client, admin, sync_connection):
    sync_connection.sync_cursor = "cur_42"
    db.session.commit()
    stored = dict(sync_connection.sync_config)
    data = {"endpoint": stored.pop("endpoint"), "settings_json": json.dumps(stored), "reset_cursor": "y"}
    response = client.post(f"/admin/connections/{sync_connection.id}/sync-settings", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Connection, sync_connection.id).sync_cursor is None


def test_webhook_connections_have_no_sync_settings(app, client, admin):
    connection, _ = make_connection("stripe")
    assert 'id="sync-settings"' not in client.get(f"/admin/connections/{connection.id}/syncs").get_data(as_text=True)
    response = client.post(f"/admin/connections/{connection.id}/sync-settings", data=form_for(), headers=HX)
    assert response.status_code == 200 and "not a sync connector" in response.get_data(as_text=True)
    assert db.session.get(Connection, connection.id).sync_config == {}


def test_clients_cannot_reach_sync_settings(app, client, sync_connection):
    from tests.factories import PASSWORD, make_user

    user = make_user("client", client=sync_connection.client)
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    response = client.post(f"/admin/connections/{sync_connection.id}/sync-settings", data=form_for())
    assert response.status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(Connection, sync_connection.id).sync_config.get("page_size") != 50
