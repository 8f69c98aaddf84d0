"""The admin side of sync connectors: the test-sync fragment (nothing stored) and the runs page."""
import re

from sqlalchemy import func, select

from tests.factories import make_connection
from tests.health.conftest import TOKEN
from zarts.extensions import db
from zarts.models import AdminAction, Connection, NormalizedEvent, SyncRun, WebhookEvent
from zarts.services.sync import preview, pull, runs, settings

HX = {"HX-Request": "true"}


def counts(html):
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', html)}


def rows(model, **where):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def test_test_sync_counts_one_page_and_stores_nothing(app, client, admin, fake_source, sync_connection):
    response = client.post(f"/admin/connections/{sync_connection.id}/test-sync", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="sync-result"' in html and "<html" not in html
    assert counts(html) == {"created": 5, "updated": 0, "unchanged": 0, "failed": 0, "duplicate": 0, "ignored": 0}
    assert "Nothing was stored" in html and response.headers["HX-Trigger"]
    assert rows(WebhookEvent) == 0 and rows(NormalizedEvent) == 0
    connection = db.session.get(Connection, sync_connection.id)
    assert connection.sync_cursor is None and connection.lifecycle == "testing"  # a draft moves to testing
    run = db.session.scalar(select(SyncRun))
    assert (run.mode, run.status, run.pages, run.fetched, run.stored) == ("test", "succeeded", 1, 5, 0)
    audit = db.session.scalar(select(AdminAction).filter_by(action="connection.test_sync"))
    assert audit.actor_id == admin.id and audit.after["created"] == 5


def test_test_sync_sees_each_kind_of_outcome(app, fake_source, sync_connection):
    pull.run_now(sync_connection)
    old = {key: dict(record) for key, record in fake_source.records.items()}
    fake_source.records = {
        "rec_001": old["rec_001"],                                                       # stored: duplicate
        "rec_002": {**old["rec_002"], "status": "won", "updated_at": "2026-12-01T00:00:00Z"},  # updated
        "rec_003": {**old["rec_003"], "updated_at": "2026-10-01T00:00:00Z"},  # older than stored: unchanged
        "rec_new": {**old["rec_004"], "id": "rec_new"},                                  # created
        "no_id": {k: v for k, v in old["rec_005"].items() if k != "id"},                 # no id: failed
    }
    before = (rows(WebhookEvent), rows(NormalizedEvent))
    result = preview.test_sync(db.session.get(Connection, sync_connection.id))
    assert result["status"] == "succeeded" and result["fetched"] == 5
    assert {k: result[k] for k in ("created", "updated", "unchanged", "failed", "duplicate", "ignored")} == {
        "created": 1, "updated": 1, "unchanged": 1, "failed": 1, "duplicate": 1, "ignored": 0}
    assert (rows(WebhookEvent), rows(NormalizedEvent)) == before
    record = db.session.scalar(select(NormalizedEvent).filter_by(external_id="rec_002"))
    assert record.status == "new"  # the test changed nothing

    settings.configure(db.session.get(Connection, sync_connection.id), {"event_type": "unmapped"}, None)
    result = preview.test_sync(db.session.get(Connection, sync_connection.id))
    assert (result["ignored"], result["failed"], result["duplicate"]) == (3, 1, 1)


def test_a_failed_test_sync_says_why(app, client, admin, fake_source, sync_connection):
    fake_source.plan(403)
    html = client.post(f"/admin/connections/{sync_connection.id}/test-sync", headers=HX).get_data(as_text=True)
    assert "Test sync failed: HTTP 403" in html and "check the credential" in html and TOKEN not in html


def test_test_sync_refuses_a_webhook_connection(app, client, admin):
    connection, _ = make_connection("stripe")
    html = client.post(f"/admin/connections/{connection.id}/test-sync", headers=HX).get_data(as_text=True)
    assert "not a sync connector" in html and rows(SyncRun) == 0


def test_without_htmx_the_test_sync_redirects_to_the_runs_page(app, client, admin, fake_source, sync_connection):
    response = client.post(f"/admin/connections/{sync_connection.id}/test-sync")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/connections/{sync_connection.id}/syncs")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Test sync read 5 record(s): 5 new" in page


def test_runs_page_lists_runs_with_counts_cursor_and_health_reason(app, client, admin, fake_source, sync_connection):
    fake_source.plan(500)
    pull.run_now(sync_connection)
    page = client.get(f"/admin/connections/{sync_connection.id}/syncs").get_data(as_text=True)
    run = db.session.scalar(select(SyncRun))
    assert f'id="sync-run-{run.id}"' in page and "succeeded" in page and "(start)" in page
    assert run.cursor_after in page
    connection = db.session.get(Connection, sync_connection.id)
    assert connection.health == "healthy" and connection.health_reason in page and "Run test sync" in page
    fragment = client.get(f"/admin/connections/{sync_connection.id}/syncs",
                          headers={**HX, "HX-Target": "sync-runs"}).get_data(as_text=True)
    assert 'id="sync-runs"' in fragment and "<html" not in fragment
    assert "every 5s" not in fragment  # nothing running: no polling


def test_runs_fragment_polls_while_a_run_is_open(app, client, admin, sync_connection):
    run = runs.start(sync_connection, "scheduled")
    fragment = client.get(f"/admin/connections/{sync_connection.id}/syncs",
                          headers={**HX, "HX-Target": "sync-runs"}).get_data(as_text=True)
    assert 'hx-trigger="every 5s' in fragment and f'id="sync-run-{run.id}"' in fragment and "queued" in fragment
